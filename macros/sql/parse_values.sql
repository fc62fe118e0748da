{#- Casting helpers for staging: a value that does not parse becomes null and is named in
    the line's unparseable_columns, so validation can reject the line with a reason. -#}

{% macro orders_format() -%}
    {%- set formats = ['demo', 'canonical', 'online_retail'] -%}
    {%- if var('orders_format') not in formats -%}
        {{ exceptions.raise_compiler_error("var orders_format must be one of " ~ formats | join(', ') ~ ", got '" ~ var('orders_format') ~ "'") }}
    {%- endif -%}
    {{ return(var('orders_format')) }}
{%- endmacro %}

{#- An identifier as trimmed text; empty, and the placeholders exports write for a missing
    value (null, none, nan in any case), become null. -#}
{% macro clean_id(expression) -%}
    case
        when lower(trim(cast({{ expression }} as {{ dbt.type_string() }}))) not in ('', 'null', 'none', 'nan')
            then trim(cast({{ expression }} as {{ dbt.type_string() }}))
    end
{%- endmacro %}

{#- `expression` cast to `type`, or null when it does not parse. `source_type` is the input
    column's type: a column that already has the type is passed through untouched. -#}
{% macro parse_as(expression, type, source_type=none) -%}
    {%- if source_type is not none and source_type == type | lower -%}
        {{ expression }}
    {%- elif type == 'timestamp' -%}
        {{ adapter.dispatch('parse_timestamp', 'segmentation')(expression) }}
    {%- elif type == 'integer' -%}
        {#- A fraction does not round to a whole unit: 2.5 is unparseable, not 3. -#}
        case
            when try_cast({{ expression }} as double) = floor(try_cast({{ expression }} as double))
                then try_cast(try_cast({{ expression }} as double) as integer)
        end
    {%- else -%}
        try_cast({{ expression }} as {{ type }})
    {%- endif -%}
{%- endmacro %}

{#- Accepted: ISO 8601 dates and date-times (space or T), and the UCI export's month-first
    'm/d/Y H:M'. A date-time with a UTC offset (Z, UTC, +02, +02:00) is converted to UTC; one
    without is taken as written. Anything else (e.g. day-first 31.12.2025) does not parse. -#}
{% macro duckdb__parse_timestamp(expression) -%}
    case
        when regexp_matches(trim(cast({{ expression }} as varchar)), '\d:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|UTC|[+-]\d{2}(:?\d{2})?)$')
            then try_cast(trim(cast({{ expression }} as varchar)) as timestamptz) at time zone 'UTC'
        else coalesce(
            try_cast({{ expression }} as timestamp),
            try_strptime(cast({{ expression }} as varchar), '%m/%d/%Y %H:%M')
        )
    end
{%- endmacro %}

{#- The same on Spark (session time zone UTC, see profiles.yml): an ISO text through Spark's
    cast, which applies a UTC offset, and the UCI form through an explicit pattern. -#}
{% macro spark__parse_timestamp(expression) -%}
    coalesce(
        case
            when trim(cast({{ expression }} as string)) rlike '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?[ ]*(Z|UTC|[+-][0-9]{2}(:?[0-9]{2})?)?$'
                then try_cast(trim(cast({{ expression }} as string)) as timestamp)
        end,
        try_to_timestamp(trim(cast({{ expression }} as string)), 'M/d/yyyy H:mm')
    )
{%- endmacro %}

{#- 'name' when the raw value is present but did not parse, else null (for concat_ws). -#}
{% macro unparseable_flag(raw, parsed, name) -%}
    case
        when {{ parsed }} is null and nullif(trim(cast({{ raw }} as {{ dbt.type_string() }})), '') is not null
            then '{{ name }}'
    end
{%- endmacro %}
