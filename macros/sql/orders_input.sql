{#- Where the raw order lines come from: a table declared as the source orders.order_lines
    when var orders_table is set, otherwise the file at var orders_path. Only staging models
    call these macros. -#}

{% macro orders_path() -%}
    {%- set path = var('orders_path') | string -%}
    {#- A directory may be named with its trailing slash: orders.parquet/ -#}
    {%- set path = path[:-1] if path.endswith('/') and path | length > 1 else path -%}
    {%- if not (path.endswith('.parquet') or path.endswith('.csv')) -%}
        {{ exceptions.raise_compiler_error("var orders_path must name a .parquet or .csv file, got '" ~ path ~ "'") }}
    {%- endif -%}
    {{ return(path) }}
{%- endmacro %}

{#- var orders_table as [schema.]table of plain identifiers: the source quotes what it is given,
    and a name it cannot split that way (a database part, a dot in a name) is refused by name. -#}
{% macro orders_table() -%}
    {%- set name = var('orders_table') | string -%}
    {%- if not modules.re.fullmatch('([A-Za-z_][A-Za-z0-9_]*[.])?[A-Za-z_][A-Za-z0-9_]*', name) -%}
        {{ exceptions.raise_compiler_error("var orders_table must be <schema>.<table> or <table>, each letters, digits and _, got '" ~ name ~ "'") }}
    {%- endif -%}
    {{ return(name) }}
{%- endmacro %}

{#- var orders_table set to an empty or blank string (an unset environment variable in
    `--vars`, say) names no table: it stops the build by name instead of quietly reading
    orders_path. Unset (null) reads orders_path. -#}
{% macro check_orders_table_not_blank() -%}
    {%- set name = var('orders_table') -%}
    {%- if name is string and name.strip() == '' -%}
        {{ exceptions.raise_compiler_error("var orders_table is '" ~ name ~ "', which names no table: set it to <schema>.<table>, or leave it unset (null) to read orders_path") }}
    {%- endif -%}
{%- endmacro %}

{#- numbered=true: staging's read, which may add the reader's own line numbers (see
    input_line_number); other callers see the input's columns only. -#}
{% macro orders_relation(numbered=false) -%}
    {%- do check_orders_table_not_blank() -%}
    {%- if var('orders_table') -%}
        {%- do orders_table() -%}
        {%- if numbered and orders_load_column() -%}
            {{ return(duckdb_read_orders_loads()) }}
        {%- endif -%}
        {{ return(source('orders', 'order_lines')) }}
    {%- else -%}
        {{ return(adapter.dispatch('read_orders_file', 'segmentation')(orders_path(), numbered)) }}
    {%- endif -%}
{%- endmacro %}

{#- True when the input is Parquet (one file or several, not a table or a CSV) without a column
    of its own named file_row_number: then DuckDB numbers each file's lines itself, in parallel,
    with file_row_number. -#}
{% macro orders_parquet_is_numbered_by_reader() -%}
    {%- if var('orders_table') or not orders_path().endswith('.parquet') -%}{{ return(false) }}{%- endif -%}
    {{ return('file_row_number' not in orders_input_columns()) }}
{%- endmacro %}

{#- A value as a SQL string literal, single quotes doubled: how a var's text reaches SQL. -#}
{% macro sql_string(value) -%}
    {{ return("'" ~ (value | string | replace("'", "''")) ~ "'") }}
{%- endmacro %}

{#- What the reader is given for var orders_path, as {path, one_file}: a path naming an existing
    file is taken literally even when it holds glob characters (orders[12].parquet must not read
    orders1.parquet); a path matching no file is a glob (exports/orders_*.parquet); a directory
    ending in .parquet (Spark's output) is read as its *.parquet parts. -#}
{% macro orders_read_path() -%}
    {%- set path = orders_path() -%}
    {%- if not execute -%}{{ return({'path': path, 'one_file': false, 'sql': sql_string(path)}) }}{%- endif -%}
    {{ return(adapter.dispatch('orders_read_path', 'segmentation')(path)) }}
{%- endmacro %}

{#- Elsewhere (Spark) the path goes to the engine as given: it reads a directory itself. -#}
{% macro default__orders_read_path(path) -%}
    {{ return({'path': path, 'one_file': not modules.re.search('[*?\\[{]', path), 'sql': sql_string(path)}) }}
{%- endmacro %}

{#- The files var orders_path names on DuckDB, as {'path': a DuckDB glob, 'one_file': bool}; none
    when it matches no file. -#}
{% macro duckdb_orders_files(path) -%}
    {#- DuckDB's glob reads [x] as the character x: escaping every glob character makes a literal. -#}
    {%- set literal = duckdb_glob_literal(path) -%}
    {%- if literal != path and glob_count(literal) == 1 -%}
        {{ return({'path': literal, 'one_file': true}) }}
    {%- elif glob_count(path) > 0 -%}
        {{ return({'path': path, 'one_file': literal == path}) }}
    {%- elif path.endswith('.parquet') and glob_count(literal ~ '/*.parquet') > 0 -%}
        {{ return({'path': literal ~ '/*.parquet', 'one_file': false}) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{% macro duckdb__orders_read_path(path) -%}
    {%- set found = duckdb_orders_files(path) -%}
    {%- if found is none -%}
        {{ exceptions.raise_compiler_error("orders file not found: '" ~ path ~ "' (var orders_path; a relative path is read from the directory dbt runs in). Run `make build` to generate the demo data, or pass --vars '{orders_path: <your file>}'.") }}
    {%- endif -%}
    {%- set bytes = run_query("select coalesce(sum(size), 0) from read_blob(" ~ sql_string(found.path) ~ ")").columns[0].values()[0] -%}
    {%- if bytes == 0 -%}
        {{ exceptions.raise_compiler_error("orders file is empty (0 bytes): '" ~ path ~ "'; expected a header line and order lines.") }}
    {%- endif -%}
    {%- do found.update({'sql': sql_string(found.path)}) -%}
    {#- A build reads the files it found when it started (snapshot_input_files): one that arrives
        while it runs is left for the next build. A daily build reads only those no build has
        read (docs/daily_builds.md). -#}
    {%- set at_start = input_files_at_start_rows() -%}
    {%- set at_start = none if at_start is none else at_start | map(attribute=0) | list -%}
    {%- set new_files = orders_new_files(found.path, at_start) -%}
    {%- do found.update({'daily': new_files is not none}) -%}
    {%- set to_read = new_files if new_files is not none else files_found_at_start(found.path, at_start) -%}
    {%- set only_new = '' -%}
    {%- if to_read is not none and to_read | length == 0 -%}
        {%- do found.update({'nothing_new': true}) -%}
    {%- elif to_read is not none -%}
        {%- set literals = [] -%}
        {%- set names = [] -%}
        {%- for file in to_read -%}
            {%- do literals.append(sql_string(duckdb_glob_literal(file))) -%}
            {%- do names.append(sql_string(file)) -%}
        {%- endfor -%}
        {%- do found.update({'sql': '[' ~ literals | join(', ') ~ ']', 'one_file': false}) -%}
        {%- set only_new = ' where file in (' ~ names | join(', ') ~ ')' -%}
    {%- endif -%}
    {%- if path.endswith('.csv') and orders_csv_dialect().transcoded and not found.get('nothing_new') -%}
        {#- Read through UTF-8 copies, in the glob's order (segmentation/duckdb_plugin.py). -#}
        {%- set made = run_query("select file, segmentation_utf8_copy(file, " ~ sql_string(orders_csv_dialect().encoding) ~ ") from glob(" ~ sql_string(found.path) ~ ")" ~ only_new ~ " order by file").rows -%}
        {%- for original, copy in made if copy.startswith('!') -%}
            {{ exceptions.raise_compiler_error(copy[1:]) }}
        {%- endfor -%}
        {%- set quoted = [] -%}
        {%- set copied = {} -%}
        {%- for original, copy in made -%}
            {%- do quoted.append(sql_string(copy)) -%}
            {%- do copied.update({copy: original}) -%}
        {%- endfor -%}
        {%- do found.update({'sql': '[' ~ quoted | join(', ') ~ ']', 'copies': copied}) -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}

{#- The files a glob matches now that it matched when the build started (`at_start`, from
    snapshot_input_files), in name order, when it now matches one more (it arrived while the
    build ran); none when it matches no other file, or no snapshot was taken (`at_start` none). -#}
{% macro files_found_at_start(pattern, at_start) -%}
    {%- if at_start is none -%}{{ return(none) }}{%- endif -%}
    {%- set now = run_query("select file from glob(" ~ sql_string(pattern) ~ ") order by file").columns[0].values() -%}
    {%- set arrived = now | reject('in', at_start) | list -%}
    {{ return(now | select('in', at_start) | list if arrived else none) }}
{%- endmacro %}

{#- How many files DuckDB's glob matches. -#}
{% macro glob_count(pattern) -%}
    {{ return(run_query("select count(*) from glob(" ~ sql_string(pattern) ~ ")").columns[0].values()[0]) }}
{%- endmacro %}

{#- The CSV dialect, from vars, never sniffed: DuckDB's sniffer looks at the first 20,480 lines
    only, so a quoted field after them kept its quotes, and one malformed line made it give up. -#}
{% macro orders_csv_dialect() -%}
    {%- set dialect = {} -%}
    {%- for name in ['delimiter', 'quote', 'escape'] -%}
        {%- set value = var('orders_csv_' ~ name) -%}
        {%- do dialect.update({name: '' if value is none else value | string}) -%}
    {%- endfor -%}
    {%- if dialect.delimiter | length != 1 or dialect.delimiter in ['\n', '\r', dialect.quote] -%}
        {{ exceptions.raise_compiler_error("var orders_csv_delimiter must be one character, not a line end or the quote, got '" ~ dialect.delimiter ~ "'") }}
    {%- endif -%}
    {%- for name in ['quote', 'escape'] -%}
        {%- if dialect[name] | length > 1 or dialect[name] in ['\n', '\r'] -%}
            {{ exceptions.raise_compiler_error("var orders_csv_" ~ name ~ " must be one character, or empty for none, got '" ~ dialect[name] ~ "'") }}
        {%- endif -%}
    {%- endfor -%}
    {#- DuckDB reads these itself; any other encoding Python's codecs know (windows-1252,
        iso-8859-15, shift_jis, ...) is read through a UTF-8 copy (segmentation/transcode.py). -#}
    {%- set encodings = {'utf-8': 'utf-8', 'utf8': 'utf-8', 'utf-16': 'utf-16', 'utf16': 'utf-16',
                         'latin-1': 'latin-1', 'latin1': 'latin-1', 'iso-8859-1': 'latin-1'} -%}
    {%- set encoding = (var('orders_encoding') | string | lower | replace('_', '-')) -%}
    {%- if not modules.re.fullmatch('[a-z0-9][a-z0-9.-]*', encoding) -%}
        {{ exceptions.raise_compiler_error("var orders_encoding must name an encoding (utf-8, utf-16, latin-1, windows-1252, ...), got '" ~ var('orders_encoding') ~ "'") }}
    {%- endif -%}
    {%- do dialect.update({'encoding': encodings.get(encoding, encoding), 'transcoded': encoding not in encodings}) -%}
    {%- do dialect.update({'read_encoding': 'utf-8' if dialect.transcoded else dialect.encoding}) -%}
    {{ return(dialect) }}
{%- endmacro %}

{#- read_csv's options for the dialect: nothing detected, every value as text. An empty field is
    '' and only a field the line lacks is null (nullstr is a character no CSV holds), so the
    reader's padding of a short line can be told from an empty value. -#}
{% macro duckdb_read_csv_options(dialect) -%}
    auto_detect = false, header = false, delim = {{ sql_string(dialect.delimiter) }},
    quote = {{ sql_string(dialect.quote) }}, escape = {{ sql_string(dialect.escape) }},
    encoding = {{ sql_string(dialect.read_encoding) }}, null_padding = true, nullstr = chr(1),
    {#- null_padding with quoted newlines needs the single-threaded reader. -#}
    parallel = false
{%- endmacro %}

{#- The CSV input's fields as named by its header line, plus spare fields that take what a line
    has beyond the header (counted, then rejected as a wrong number of fields). The header is read
    leniently: a malformed line further on is assert_csv_lines_parse's to name. -#}
{% macro orders_csv_fields() -%}
    {%- if not execute -%}{{ return({'names': [], 'spare': []}) }}{%- endif -%}
    {%- set dialect = orders_csv_dialect() -%}
    {%- set names = [] -%}
    {%- for value in csv_header(orders_read_path().sql, dialect) -%}
        {%- if '\x00' in value or '\ufffd' in value -%}
            {{ exceptions.raise_compiler_error("orders file '" ~ orders_path() ~ "' does not read as " ~ dialect.encoding ~ " text (its header holds NUL or undecodable characters): set var orders_encoding (utf-8, utf-16, latin-1, windows-1252, ...)") }}
        {%- endif -%}
        {%- set name = value if value and value not in names else 'column' ~ loop.index -%}
        {%- do names.append(name) -%}
    {%- endfor -%}
    {%- set spare = [] -%}
    {%- for i in range(1, names | length + 17) -%}{%- do spare.append('segmentation_spare_field_' ~ i) -%}{%- endfor -%}
    {{ return({'names': names, 'spare': spare}) }}
{%- endmacro %}

{#- The first line of `files` (a DuckDB path or list; of a glob, its first file) as the text of
    each field, up to 500; empty when there is no line. -#}
{% macro csv_header(files, dialect) -%}
    {%- set probe = [] -%}
    {%- for i in range(1, 501) -%}{%- do probe.append("'c" ~ i ~ "': 'varchar'") -%}{%- endfor -%}
    {%- set header = run_query("select * from read_csv(" ~ files ~ ", " ~ duckdb_read_csv_options(dialect) ~ ", strict_mode = false, columns = {" ~ probe | join(', ') ~ "}) limit 1") -%}
    {{ return((header.rows[0] if header.rows else []) | reject('none') | map('string') | list) }}
{%- endmacro %}

{#- The CSV files of a glob are read column by column under the first file's header: stop,
    naming the file and both headers, when another file's header differs (its values would be
    read under the wrong names). Names are compared as staging finds columns, ignoring case and
    surrounding blanks. An empty file has no header and no lines: it is left alone. -#}
{% macro assert_csv_headers_agree(read_path, dialect) -%}
    {%- if read_path.one_file -%}{{ return(none) }}{%- endif -%}
    {%- set files = run_query("select filename from read_blob(" ~ read_path.sql ~ ")").columns[0].values() -%}
    {%- set copies = read_path.get('copies', {}) -%}
    {%- set state = {} -%}
    {%- for file in files -%}
        {%- set header = csv_header(sql_string(duckdb_glob_literal(file)), dialect) -%}
        {%- if header and 'first' not in state -%}
            {%- do state.update({'first': file, 'header': header}) -%}
        {%- elif header and header | map('trim') | map('lower') | list != state.header | map('trim') | map('lower') | list -%}
            {{ exceptions.raise_compiler_error(csv_header_mismatch(copies.get(file, file), header,
                copies.get(state.first, state.first), state.header, dialect)) }}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- The one line that stops a build when a CSV file's header (`header`, its fields) is not the
    first file's (assert_csv_headers_agree on DuckDB, spark_csv_header on Spark). -#}
{% macro csv_header_mismatch(file, header, first_file, first_header, dialect) -%}
    {{ return("orders file '" ~ file ~ "' has another header than '" ~ first_file
        ~ "', the first file var orders_path matches: " ~ header | join(dialect.delimiter) ~ " instead of "
        ~ first_header | join(dialect.delimiter)
        ~ ". The files are read column by column in the first file's order, so this file's values would be read under other names: write every file with the same columns in the same order.") }}
{%- endmacro %}

{#- A quote that is opened and never closed makes the reader take the rest of the file as one
    value (DuckDB then drops the lines after it without an error): stop and name the line. Only
    when quotes are doubled to escape them, so that every well-formed file has an even count. -#}
{% macro assert_csv_quotes_pair(files, dialect) -%}
    {%- if not dialect.quote or dialect.escape not in ['', dialect.quote] -%}{{ return(none) }}{%- endif -%}
    {%- set quote = sql_string(dialect.quote) -%}
    {%- set found = run_query(
        "with lines as (select line, row_number() over () as line_number from read_csv(" ~ files
        ~ ", auto_detect = false, header = false, delim = chr(1), quote = '', escape = '', strict_mode = false,"
        ~ " null_padding = true, encoding = " ~ sql_string(dialect.read_encoding) ~ ", columns = {'line': 'varchar'})),"
        ~ " counted as (select line, line_number, length(line) - length(replace(line, " ~ quote ~ ", '')) as quotes from lines),"
        ~ " running as (select *, sum(quotes) over (order by line_number rows unbounded preceding) as quotes_so_far from counted)"
        ~ " select sum(quotes) % 2, arg_max(line, line_number) filter (where quotes_so_far % 2 = 1 and (quotes_so_far - quotes) % 2 = 0) from running"
    ).rows[0] -%}
    {%- if found[0] == 1 -%}
        {{ exceptions.raise_compiler_error("orders file '" ~ orders_path() ~ "' has an unterminated quote: its " ~ dialect.quote ~ " characters do not pair up, and the last line that opens a quote never closed is: " ~ found[1][:300] ~ " (close the quote, or set var orders_csv_quote to '' for a file that does not quote fields)") }}
    {%- endif -%}
{%- endmacro %}

{#- Null for a well-formed line; for a CSV line with more or fewer fields than its header,
    'wrong number of fields: <found>, expected <header's>'. Validation rejects the line with it. -#}
{% macro input_malformed_reason() -%}
    {{ return(adapter.dispatch('input_malformed_reason', 'segmentation')()) }}
{%- endmacro %}

{% macro default__input_malformed_reason() -%}
    cast(null as {{ dbt.type_string() }})
{%- endmacro %}

{% macro duckdb__input_malformed_reason() -%}
    {%- if var('orders_table') or not orders_path().endswith('.csv') or not execute -%}
        {{ return(default__input_malformed_reason()) }}
    {%- endif -%}
    {%- set fields = orders_csv_fields() -%}
    {%- set counted = [] -%}
    {%- for name in fields.names + fields.spare -%}
        {%- do counted.append('cast(' ~ adapter.quote(name) ~ ' is not null as integer)') -%}
    {%- endfor -%}
    case
        when ({{ counted | join(' + ') }}) <> {{ fields.names | length }}
            then 'wrong number of fields: ' || cast(({{ counted | join(' + ') }}) as varchar) || ', expected {{ fields.names | length }}'
    end
{%- endmacro %}

{#- numbered=true: staging's read, which adds segmentation_source_file (the file each line came
    from, as matched) and segmentation_line_number (the line's position within that file). -#}
{% macro duckdb__read_orders_file(path, numbered=false) -%}
    {%- set read_path = orders_read_path() -%}
    {%- if read_path.get('nothing_new') -%}
        {#- A daily build with no new file: the read's columns, no lines. -#}
        {{ return('(select * from ' ~ duckdb_read_orders_relation(path, numbered, read_path) ~ ' limit 0) as nothing_new') }}
    {%- endif -%}
    {{ return(duckdb_read_orders_relation(path, numbered, read_path)) }}
{%- endmacro %}

{#- duckdb__read_orders_file's reader over read_path (see there). -#}
{% macro duckdb_read_orders_relation(path, numbered, read_path) -%}
    {%- set quoted = read_path.sql -%}
    {%- set named = ", filename = 'segmentation_source_file'" if numbered else '' -%}
    {%- if path.endswith('.csv') -%}
        {%- set fields = orders_csv_fields() -%}
        {%- set columns = [] -%}
        {%- for name in fields.names + fields.spare -%}
            {%- do columns.append(sql_string(name) ~ ": 'varchar'") -%}
        {%- endfor -%}
        {#- Everything as text: staging casts, and a value that does not parse is flagged, not fatal. -#}
        {%- set reader = 'read_csv(' ~ quoted ~ ', ' ~ duckdb_read_csv_options(orders_csv_dialect()) ~ ', skip = 1, columns = {' ~ columns | join(', ') ~ '}' ~ named ~ ')' -%}
    {%- elif numbered and orders_parquet_is_numbered_by_reader() -%}
        {#- The reader numbers each file's lines itself, in parallel (4.7 s against 9.3 s for
            row_number() over () to stage 13.2M lines from one file). -#}
        {{ return('(select *, file_row_number + 1 as segmentation_line_number from read_parquet(' ~ quoted
            ~ ', file_row_number = true' ~ ('' if read_path.one_file else ', union_by_name = true') ~ named ~ ')) as numbered_input') }}
    {%- elif read_path.one_file -%}
        {%- set reader = 'read_parquet(' ~ quoted ~ named ~ ')' -%}
    {%- else -%}
        {#- Several files: each column gets the type that holds every file's values (an integer
            quantity in one file and a double in another are read as double, so 1.5 stays 1.5). -#}
        {%- set reader = 'read_parquet(' ~ quoted ~ ', union_by_name = true' ~ named ~ ')' -%}
    {%- endif -%}
    {%- if not numbered -%}{{ return(reader) }}{%- endif -%}
    {#- DuckDB keeps insertion order and reads the files in the glob's order, so row_number()
        over () numbers the lines as read; each file's count restarts at its first line. -#}
    {%- set source_file = 'segmentation_read_file' -%}
    {%- if read_path.get('copies') -%}
        {#- A transcoded CSV is read through UTF-8 copies: name the file as matched, not the copy. -#}
        {%- set cases = [] -%}
        {%- for copy, original in read_path.copies.items() -%}
            {%- do cases.append('when ' ~ sql_string(copy) ~ ' then ' ~ sql_string(original)) -%}
        {%- endfor -%}
        {%- set source_file = 'case segmentation_read_file ' ~ cases | join(' ') ~ ' end' -%}
    {%- endif -%}
    {#- One file: the position is the line number, without a second window over every line. -#}
    {%- set first_position = '1' if read_path.one_file else 'min(segmentation_input_position) over (partition by segmentation_read_file)' -%}
    {{ return('(select * exclude (segmentation_input_position, segmentation_read_file), ' ~ source_file ~ ' as segmentation_source_file,'
        ~ ' segmentation_input_position - ' ~ first_position ~ ' + 1 as segmentation_line_number'
        ~ ' from (select * rename (segmentation_source_file as segmentation_read_file), row_number() over () as segmentation_input_position from '
        ~ reader ~ ')) as numbered_input') }}
{%- endmacro %}

{#- Spark reads a Parquet file (or a directory of parts) by path; a CSV file through an external
    table over the file, made afresh at run time, since a view cannot read a CSV by path. The CSV
    is read with the dialect of the vars, every field as text, in PERMISSIVE mode: a line whose
    field count differs from the header's keeps its raw text in segmentation_malformed_line
    (column pruning off, else Spark tokenizes only the fields a query selects and cannot count). -#}
{% macro spark__read_orders_file(path, numbered=false) -%}
    {%- set read_path = orders_read_path() -%}
    {%- if path.endswith('.csv') -%}
        {%- set table = target.schema ~ '.orders_input_csv' -%}
        {%- if execute -%}
            {%- set dialect = orders_csv_dialect() -%}
            {%- set spark_encoding = {'latin-1': 'ISO-8859-1'}.get(dialect.encoding, dialect.encoding | upper) -%}
            {#- Spark's own error for a name Java does not know is its stack: ask Java first. -#}
            {%- if run_query("select try_reflect('java.nio.charset.Charset', 'isSupported', " ~ spark_string(spark_encoding) ~ ")").columns[0].values()[0] != 'true' -%}
                {{ exceptions.raise_compiler_error("unknown encoding '" ~ var('orders_encoding') ~ "' (var orders_encoding)") }}
            {%- endif -%}
            {%- set options = "path " ~ read_path.sql ~ ", sep " ~ sql_string(dialect.delimiter) ~ ", quote " ~ sql_string(dialect.quote) ~ ", escape " ~ sql_string(dialect.escape) ~ ", encoding " ~ sql_string(spark_encoding) ~ ", inferSchema 'false', multiLine 'true'" -%}
            {%- do run_query('create schema if not exists ' ~ target.schema) -%}
            {%- do run_query('set spark.sql.csv.parser.columnPruning.enabled = false') -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query('create table ' ~ table ~ ' using csv options (' ~ options ~ ", header 'false')") -%}
            {%- set header = spark_csv_header(table, read_path, dialect) -%}
            {%- set fields = [] -%}
            {%- for raw in header -%}
                {%- set name = (raw | string | replace('\ufeff', '')) if raw is not none else '' -%}
                {%- set name = name if name and name not in fields else 'column' ~ loop.index -%}
                {%- do fields.append(name) -%}
            {%- endfor -%}
            {%- set schema = [] -%}
            {%- for name in fields + ['segmentation_malformed_line'] -%}
                {%- do schema.append('`' ~ name | replace('`', '``') ~ '` string') -%}
            {%- endfor -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query('create table ' ~ table ~ ' (' ~ schema | join(', ') ~ ') using csv options (' ~ options ~ ", header 'true', mode 'PERMISSIVE', columnNameOfCorruptRecord 'segmentation_malformed_line')") -%}
        {%- endif -%}
        {{ table }}
    {%- else -%}
        parquet.`{{ read_path.path }}`
    {%- endif -%}
{%- endmacro %}

{#- The header of a CSV input read by Spark as `table` (every line a row, header 'false'), as
    field values. A glob or directory of files is read under one schema, by position, as DuckDB
    does: the first line of each file (multiLine reads a file in one task, in order) must be the
    first file's, else the build stops naming the file and both headers (assert_csv_headers_agree). -#}
{% macro spark_csv_header(table, read_path, dialect) -%}
    {%- if read_path.one_file -%}
        {%- set rows = run_query('select * from ' ~ table ~ ' limit 1').rows -%}
        {{ return(rows[0] | list if rows else []) }}
    {%- endif -%}
    {%- set firsts = run_query("select * from (select *, row_number() over (partition by segmentation_file order by segmentation_id) as segmentation_n"
        ~ " from (select input_file_name() as segmentation_file, monotonically_increasing_id() as segmentation_id, * from " ~ table ~ "))"
        ~ " where segmentation_n = 1 order by segmentation_file").rows -%}
    {%- if not firsts -%}{{ return([]) }}{%- endif -%}
    {%- set headers = [] -%}
    {%- for row in firsts -%}
        {%- set values = row[2:-1] | list -%}
        {%- do headers.append((spark_file_name(row[0]), values, values | reject('none') | map('string') | map('replace', '\ufeff', '') | list)) -%}
    {%- endfor -%}
    {%- for file, values, shown in headers[1:] if shown | map('trim') | map('lower') | list != headers[0][2] | map('trim') | map('lower') | list -%}
        {{ exceptions.raise_compiler_error(csv_header_mismatch(file, shown, headers[0][0], headers[0][2], dialect)) }}
    {%- endfor -%}
    {{ return(headers[0][1]) }}
{%- endmacro %}

{#- Spark's count of a malformed line's fields: its raw text split at each delimiter outside
    quotes (one followed by an even number of quotes to the end of the line). -#}
{% macro spark__input_malformed_reason() -%}
    {%- if var('orders_table') or not orders_path().endswith('.csv') or not execute -%}
        {{ return(default__input_malformed_reason()) }}
    {%- endif -%}
    {%- set dialect = orders_csv_dialect() -%}
    {%- set q = dialect.quote or '"' -%}
    {%- set expected = orders_input_columns() | length -%}
    case
        when segmentation_malformed_line is not null
            then concat('wrong number of fields: ', cast(size(split(regexp_replace(segmentation_malformed_line, '[\r\n]+$', ''), {{ sql_string('[' ~ dialect.delimiter ~ '](?=(?:[^' ~ q ~ ']*[' ~ q ~ '][^' ~ q ~ ']*[' ~ q ~ '])*[^' ~ q ~ ']*$)') }}, -1)) as string), ', expected {{ expected }}')
    end
{%- endmacro %}

{#- The input's columns as a dict of lower-cased name -> (name as written, type), at run time.
    A missing file is reported by name before DuckDB's own error. -#}
{% macro orders_input_columns() -%}
    {%- if not execute -%}{{ return({}) }}{%- endif -%}
    {%- if not var('orders_table') -%}
        {%- do adapter.dispatch('assert_orders_file_readable', 'segmentation')(orders_path()) -%}
    {%- endif -%}
    {%- set described = run_query(describe_query(orders_relation())) -%}
    {%- set columns = {} -%}
    {%- for row in described.rows if not row[0].startswith('segmentation_spare_field_') and row[0] != 'segmentation_malformed_line' -%}
        {%- do columns.update({row[0] | lower: (row[0], row[1] | lower)}) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{#- Elsewhere the engine's own error names the missing path. -#}
{% macro default__assert_orders_file_readable(path) -%}
{%- endmacro %}

{#- Missing and empty files are named by orders_read_path; a CSV must decode and its quotes
    must pair up. -#}
{% macro duckdb__assert_orders_file_readable(path) -%}
    {%- set read_path = orders_read_path() -%}
    {%- if path.endswith('.csv') and not read_path.get('nothing_new') -%}
        {%- set dialect = orders_csv_dialect() -%}
        {%- if dialect.encoding == 'utf-8' -%}
            {#- DuckDB's own error here is a page of reader settings; one line names the var. -#}
            {%- set undecodable = run_query("select min(filename) from read_blob(" ~ read_path.sql ~ ") where try(decode(content)) is null").columns[0].values()[0] -%}
            {%- if undecodable -%}
                {{ exceptions.raise_compiler_error("orders file '" ~ undecodable ~ "' is not utf-8 text: set var orders_encoding (utf-8, utf-16, latin-1, windows-1252, ...)") }}
            {%- endif -%}
        {%- endif -%}
        {%- do assert_csv_quotes_pair(read_path.sql, dialect) -%}
        {%- do assert_csv_headers_agree(read_path, dialect) -%}
        {%- do assert_csv_lines_parse(read_path.sql, dialect) -%}
    {%- endif -%}
{%- endmacro %}

{#- A line DuckDB's strict reader cannot parse makes it fail with a page of its settings: parse
    the file once with its rejects stored instead, and stop with one line naming the first. A line
    with the wrong number of fields within the spare fields is no error here (it is quarantined). -#}
{% macro assert_csv_lines_parse(files, dialect) -%}
    {%- set fields = orders_csv_fields() -%}
    {%- set columns = [] -%}
    {%- for name in fields.names + fields.spare -%}
        {%- do columns.append(sql_string(name) ~ ": 'varchar'") -%}
    {%- endfor -%}
    {%- do run_query("drop table if exists segmentation_csv_rejects; drop table if exists segmentation_csv_scans") -%}
    {%- do run_query("select count(*) from read_csv(" ~ files ~ ", " ~ duckdb_read_csv_options(dialect) ~ ", skip = 1, columns = {" ~ columns | join(', ')
        ~ "}, store_rejects = true, rejects_table = 'segmentation_csv_rejects', rejects_scan = 'segmentation_csv_scans', rejects_limit = 100)") -%}
    {%- set found = run_query("select r.line, r.error_type, r.csv_line, r.error_message, s.file_path"
        ~ " from segmentation_csv_rejects r join segmentation_csv_scans s using (scan_id, file_id)"
        ~ " order by s.file_path, r.line limit 1").rows -%}
    {%- do run_query("drop table if exists segmentation_csv_rejects; drop table if exists segmentation_csv_scans") -%}
    {%- if found -%}
        {%- set line, kind, text, detail, file = found[0] -%}
        {%- set hints = {
            'TOO MANY COLUMNS': "has more than " ~ (fields.names + fields.spare) | length ~ " fields (the header has " ~ fields.names | length ~ "; lines with up to " ~ (fields.names + fields.spare) | length ~ " are quarantined as a wrong number of fields): fix or remove the line, or check var orders_csv_delimiter",
            'UNQUOTED VALUE': "has a quote inside a quoted value that is not doubled (write \"\" inside quotes), or a quote where the file does not quote: fix the line, or set vars orders_csv_quote / orders_csv_escape to the file's dialect",
            'INVALID ENCODING': "is not " ~ dialect.encoding ~ " text: set var orders_encoding",
            'LINE SIZE OVER MAXIMUM': "is longer than the reader's 2 MB limit: check vars orders_csv_quote and orders_csv_delimiter"} -%}
        {%- set shown = (text | string | replace('\n', '\\n') | replace('\r', '\\r'))[:200] -%}
        {%- set file = file if not dialect.transcoded else orders_path() ~ "' (its UTF-8 copy '" ~ file -%}
        {{ exceptions.raise_compiler_error("orders file '" ~ file ~ "': line " ~ line ~ " of the file (the header is line 1) " ~ hints.get(kind, "cannot be read as CSV (" ~ (detail | string | replace('\n', ' ')) ~ ")") ~ ". The line: " ~ shown) }}
    {%- endif -%}
{%- endmacro %}

{#- Fail with the list of what is missing, and what was found, when a required column is absent. -#}
{% macro require_columns(columns, required, layout) -%}
    {%- if execute -%}
        {%- set missing = [] -%}
        {%- for name in required -%}
            {%- if name | lower not in columns -%}{%- do missing.append(name) -%}{%- endif -%}
        {%- endfor -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error("order lines (" ~ layout ~ " layout, " ~ (var('orders_table') or var('orders_path')) ~ ") miss required column(s): " ~ missing | join(', ') ~ ". Found: " ~ columns.values() | map('first') | join(', ')) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- A column of the input, quoted as written (a parse-time placeholder before execution). -#}
{% macro input_column(columns, name) -%}
    {%- if name | lower in columns -%}
        {{ adapter.quote(columns[name | lower][0]) }}
    {%- else -%}
        cast(null as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}
