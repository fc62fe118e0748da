{#- Casting helpers for staging: a value that does not parse becomes null and is named in
    the line's unparseable_columns, so validation can reject the line with a reason. Every value
    is read as written: only unambiguous forms are accepted, nothing is rounded or guessed. -#}

{% macro orders_format() -%}
    {%- set formats = ['demo', 'canonical', 'online_retail'] -%}
    {%- if var('orders_format') not in formats -%}
        {{ exceptions.raise_compiler_error("var orders_format must be one of " ~ formats | join(', ') ~ ", got '" ~ var('orders_format') ~ "'") }}
    {%- endif -%}
    {{ return(var('orders_format')) }}
{%- endmacro %}

{#- `expression` as text without leading or trailing whitespace of any kind: spaces, tabs,
    line breaks and other control characters, no-break and other Unicode spaces, zero-width
    spaces and the byte order mark. SQL's trim() removes spaces only, so a tab-padded id would
    become a second customer. -#}
{% macro trim_whitespace(expression) -%}
    {{ return(adapter.dispatch('trim_whitespace', 'segmentation')(expression)) }}
{%- endmacro %}

{#- The replace runs only on the few values that need it: a match is as cheap as trim(), a
    replace on every value made staging half again as slow. -#}
{% macro default__trim_whitespace(expression) -%}
    {%- set text = 'cast(' ~ expression ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    {%- set space -%}[\p{Cc}\p{Z}\x{200B}-\x{200D}\x{2060}\x{FEFF}]{%- endset -%}
    case
        when regexp_matches({{ text }}, '^{{ space }}|{{ space }}$')
            then regexp_replace({{ text }}, '^{{ space }}+|{{ space }}+$', '', 'g')
        else {{ text }}
    end
{%- endmacro %}

{#- The same pattern; Spark's string literals take a backslash as an escape, so it is doubled. -#}
{% macro spark__trim_whitespace(expression) -%}
    {%- set text = 'cast(' ~ expression ~ ' as string)' -%}
    {%- set space -%}[\\p{Cc}\\p{Z}\\x{200B}-\\x{200D}\\x{2060}\\x{FEFF}]{%- endset -%}
    case
        when {{ text }} rlike '^{{ space }}|{{ space }}$'
            then regexp_replace({{ text }}, '^{{ space }}+|{{ space }}+$', '')
        else {{ text }}
    end
{%- endmacro %}

{#- True when the text `expression` matches the regular expression `pattern` somewhere (anchor
    it with ^ and $). Patterns here avoid backslashes, so the same text works on both engines. -#}
{% macro matches(expression, pattern) -%}
    {{ return(adapter.dispatch('matches', 'segmentation')(expression, pattern)) }}
{%- endmacro %}

{% macro default__matches(expression, pattern) -%}
    regexp_matches({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__matches(expression, pattern) -%}
    ({{ expression }} rlike '{{ pattern }}')
{%- endmacro %}

{#- An identifier as trimmed text (see trim_whitespace); empty, and the placeholders exports
    write for a missing value (null, none, nan in any case), become null. -#}
{% macro clean_id(expression) -%}
    case
        when lower({{ trim_whitespace(expression) }}) not in ('', 'null', 'none', 'nan')
            then {{ trim_whitespace(expression) }}
    end
{%- endmacro %}

{#- The text forms values are read in, in one place (regular expressions without backslashes,
    so the same text works on both engines). Numbers: a whole number is digits with an optional
    sign; a decimal is plain notation (1, 1.5, .5, -2.50). Exponents (1e3), digit separators
    (1_000, 1,000) and comma decimals are not numbers here: each is read differently by some
    tool. Dates: see parse_timestamp. -#}
{% macro value_pattern(name) -%}
    {%- set patterns = {
        'whole_number': '^[+-]?[0-9]+$',
        'plain_decimal': '^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$',
        'iso_date_time': '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?',
    } -%}
    {%- do patterns.update({
        'local_date_time': '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$|^' ~ patterns.iso_date_time ~ '$',
        'date_time_with_offset': '^' ~ patterns.iso_date_time ~ ' *(Z|UTC|[+-][0-9]{2}(:?[0-9]{2})?)$',
        'date_time_with_zone_name': '^' ~ patterns.iso_date_time ~ ' +[A-Za-z]+(/[A-Za-z0-9_+-]+)+$',
        'month_first_date_time': '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4} [0-9]{1,2}:[0-9]{2}$',
    }) -%}
    {{ return(patterns[name]) }}
{%- endmacro %}

{#- True when `source_type` (the input column's type, from orders_input_columns) is text, or
    unknown: then the value is parsed from its text. -#}
{% macro is_text_type(source_type) -%}
    {{ return(source_type is none or source_type == '' or source_type.startswith('varchar') or source_type.startswith('string') or source_type.startswith('char') or source_type == 'text') }}
{%- endmacro %}

{#- The scale of a decimal type written 'decimal(p,s)'. -#}
{% macro decimal_scale(type) -%}
    {{ return(type.split(',')[1].rstrip(')').strip()) }}
{%- endmacro %}

{#- `expression` cast to `type`, or null when it does not parse. `source_type` is the input
    column's type: a column that already has the type is passed through untouched. A decimal
    `type` holds a value exactly or not at all: a value with more decimals than the type's
    scale is null (unparseable_flag names it), never rounded. -#}
{% macro parse_as(expression, type, source_type=none) -%}
    {%- set text = trim_whitespace(expression) -%}
    {%- if source_type is not none and source_type == type | lower -%}
        {{ expression }}
    {%- elif type == 'timestamp' -%}
        {{ adapter.dispatch('parse_timestamp', 'segmentation')(text, month_first=(orders_format() == 'online_retail')) }}
    {%- elif type == 'integer' and is_text_type(source_type) -%}
        case when {{ matches(text, value_pattern('whole_number')) }} then try_cast({{ text }} as integer) end
    {%- elif type == 'integer' -%}
        {#- A typed number: a fraction does not round to a whole unit, 2.5 is unparseable, not 3. -#}
        case when {{ expression }} = floor({{ expression }}) then try_cast({{ expression }} as integer) end
    {%- elif type.startswith('decimal') and is_text_type(source_type) -%}
        {#- Plain notation with at most `scale` decimals, then any trailing zeros. -#}
        {%- set scale = decimal_scale(type) -%}
        case
            when {{ matches(text, '^[+-]?([0-9]+([.][0-9]{0,' ~ scale ~ '}0*)?|[.][0-9]{1,' ~ scale ~ '}0*)$') }}
                then try_cast({{ text }} as {{ type }})
        end
    {%- elif type.startswith('decimal') -%}
        {#- A typed number (double, wider decimal): kept only when the type holds it exactly;
            the comparison is made in the wider of the two types. -#}
        case
            when try_cast({{ expression }} as {{ type }}) = {{ expression }}
                then try_cast({{ expression }} as {{ type }})
        end
    {%- else -%}
        try_cast({{ expression }} as {{ type }})
    {%- endif -%}
{%- endmacro %}

{#- Accepted, in both layouts: ISO 8601 dates and date-times (space or T), taken as UTC as
    written; a date-time followed by a UTC offset (Z, UTC, +02, +0200, +02:00) or by an IANA
    zone name (Europe/Berlin, America/New_York), converted to UTC. Zone abbreviations (PST,
    CEST) and GMT+2 / UTC+02:00 are unparseable: abbreviations are ambiguous (IST is India,
    Ireland or Israel), and the sign of GMT+2 means opposite things in POSIX and in common use.
    With month_first (the UCI export's layout only): its 'm/d/Y H:M' form with a four-digit
    year. The canonical layout does not read it: 05/06/2025 is 6 May to some exporters and
    5 June to others, and a day-first file would be half misdated instead of rejected. -#}
{% macro duckdb__parse_timestamp(text, month_first=false) -%}
    case
        when {{ matches(text, value_pattern('local_date_time')) }}
            then try_cast({{ text }} as timestamp)
        when {{ matches(text, value_pattern('date_time_with_offset')) }}
            or {{ matches(text, value_pattern('date_time_with_zone_name')) }}
            then try_cast({{ text }} as timestamptz) at time zone 'UTC'
        {%- if month_first %}
        when {{ matches(text, value_pattern('month_first_date_time')) }}
            then try_strptime({{ text }}, '%m/%d/%Y %H:%M')
        {%- endif %}
    end
{%- endmacro %}

{#- The same on Spark (session time zone UTC, see profiles.yml). Spark's cast reads a zone
    name only after seconds, so the date-time is first normalised to full seconds. -#}
{% macro spark__parse_timestamp(text, month_first=false) -%}
    case
        when {{ matches(text, value_pattern('local_date_time')) }}
            then try_cast({{ text }} as timestamp)
        when {{ matches(text, value_pattern('date_time_with_offset')) }}
            then try_cast({{ text }} as timestamp)
        when {{ matches(text, value_pattern('date_time_with_zone_name')) }}
            then try_cast(concat(
                date_format(try_cast(regexp_replace({{ text }}, ' +[^ ]+$', '') as timestamp), 'yyyy-MM-dd HH:mm:ss.SSSSSS'),
                ' ',
                regexp_extract({{ text }}, '([^ ]+)$', 1)
            ) as timestamp)
        {%- if month_first %}
        when {{ matches(text, value_pattern('month_first_date_time')) }}
            then try_to_timestamp({{ text }}, 'M/d/yyyy H:mm')
        {%- endif %}
    end
{%- endmacro %}

{#- 'name' when the raw value is present but did not parse, else null (for concat_ws). For a
    decimal `type`, a number that parses but has more decimals than the type holds is named
    'name (more than N decimals)', so its reason says why. -#}
{% macro unparseable_flag(raw, parsed, name, type=none, source_type=none) -%}
    case
        when {{ parsed }} is null and {{ trim_whitespace(raw) }} <> ''
            then
            {%- if type is not none and type.startswith('decimal') %}
                {%- set scale = decimal_scale(type) %}
                {%- if is_text_type(source_type) %}
                {%- set number = trim_whitespace(raw) %}
                {%- set fits = matches(trim_whitespace(raw), value_pattern('plain_decimal')) %}
                {%- else %}
                {%- set number = raw %}
                {%- set fits = 'true' %}
                {%- endif %}
                case
                    when {{ fits }} and try_cast({{ number }} as {{ type }}) is not null
                        then '{{ name }} (more than {{ scale }} decimals)'
                    else '{{ name }}'
                end
            {%- else %} '{{ name }}'
            {%- endif %}
    end
{%- endmacro %}
