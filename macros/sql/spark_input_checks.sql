{#- What Spark's readers would otherwise get silently wrong, checked before staging reads: a
    literal path with glob characters, Parquet files that disagree on types, a CSV quote never
    closed, bytes the declared encoding does not define. DuckDB's counterparts are in
    orders_input.sql. -#}

{#- A value as a Spark SQL string literal: Spark reads backslash escapes in literals. -#}
{% macro spark_string(value) -%}
    {{ return("'" ~ (value | string | replace('\\', '\\\\') | replace("'", "\\'")) ~ "'") }}
{%- endmacro %}

{#- A file as Spark names it (file:/abs/path, or file:///abs/path from input_file_name()),
    without the scheme of the local file system. -#}
{% macro spark_file_name(uri) -%}
    {{ return(modules.re.sub('^file:/+', '/', uri)) }}
{%- endmacro %}

{#- A path with every glob character escaped by a backslash: Hadoop's glob then matches it
    literally. -#}
{% macro spark_glob_escape(path) -%}
    {{ return(modules.re.sub('([*?\\[\\]{}\\\\])', '\\\\\\1', path)) }}
{%- endmacro %}

{#- Spark globs every path it is given: an existing file whose name holds glob characters
    (orders[12].parquet) would read orders1.parquet beside it. The file's directory is listed
    (binaryFile lists without reading content) and an existing file is escaped. -#}
{% macro spark__orders_read_path(path) -%}
    {%- set is_glob = modules.re.search('[*?\\[\\]{}]', path) is not none -%}
    {%- set parent, slash, name = path.rpartition('/') -%}
    {%- if is_glob and not modules.re.search('[*?\\[\\]{}]', parent) -%}
        {%- set listed = run_query("select path from binaryFile.`" ~ (parent or '.') ~ "`").columns[0].values() -%}
        {%- for found in listed if found.endswith('/' ~ name) -%}
            {%- set literal = spark_glob_escape(path) -%}
            {{ return({'path': literal, 'one_file': true, 'sql': spark_string(literal)}) }}
        {%- endfor -%}
    {%- endif -%}
    {{ return({'path': path, 'one_file': not is_glob and not path.endswith('.parquet/'), 'sql': spark_string(path)}) }}
{%- endmacro %}

{#- Spark reads every file of a glob (or a directory of parts) with one file's schema: a later
    file with quantity as double would be cast or fail deep in the build. Each file's columns and
    types must equal the first's; the first that differs is named. -#}
{% macro spark_assert_parquet_files_agree(read_path) -%}
    {%- set files = run_query("select path from binaryFile.`" ~ read_path.path ~ "` where path like '%.parquet' order by path").columns[0].values() -%}
    {%- if files | length < 2 -%}{{ return(none) }}{%- endif -%}
    {%- set schemas = [] -%}
    {%- for file in files -%}
        {%- set described = run_query("describe query select * from parquet.`" ~ spark_glob_escape(file) ~ "`") -%}
        {%- set columns = [] -%}
        {%- for row in described.rows -%}{%- do columns.append(row[0] ~ ' ' ~ row[1]) -%}{%- endfor -%}
        {%- if schemas and columns != schemas[0] -%}
            {%- set differing = [] -%}
            {%- for column in columns if column not in schemas[0] -%}{%- do differing.append(column) -%}{%- endfor -%}
            {%- for column in schemas[0] if column not in columns -%}{%- do differing.append('no ' ~ column) -%}{%- endfor -%}
            {{ exceptions.raise_compiler_error("orders files disagree on columns or types: '" ~ spark_file_name(file) ~ "' has " ~ (differing | join(', ') or 'its columns in another order') ~ ", unlike '" ~ spark_file_name(files[0]) ~ "' (" ~ schemas[0] | join(', ') ~ "). Spark reads every file of var orders_path with one schema: write the files with the same columns and types.") }}
        {%- endif -%}
        {%- do schemas.append(columns) -%}
    {%- endfor -%}
{%- endmacro %}

{#- Encodings whose bytes below 0x80 are ASCII: a quote is one byte there, and a file can be read
    line by line as text to count its quotes. -#}
{% macro spark_encoding_is_ascii_compatible(encoding) -%}
    {{ return(not (encoding.startswith('utf-16') or encoding.startswith('utf-32') or encoding.startswith('utf16') or encoding.startswith('utf32'))) }}
{%- endmacro %}

{#- The CSV checks, before staging reads. 1. Bytes the encoding does not define: Spark's CSV
    reader turns them into U+FFFD (a silently changed value); for UTF-8 every line is checked as
    read (is_valid_utf8), for other encodings the decoded values are searched for U+FFFD, which
    none of them can write otherwise. 2. Quotes (when they are escaped by doubling): a quote opened
    and never closed makes the reader take the rest of the file as one value; every well-formed
    file has an even count, and the line that opens the unclosed quote is named. -#}
{% macro spark_assert_csv_readable(read_path, relation) -%}
    {%- set dialect = orders_csv_dialect() -%}
    {%- set by_line = spark_encoding_is_ascii_compatible(dialect.encoding) -%}
    {%- set counts_quotes = dialect.quote and dialect.escape in ['', dialect.quote] and dialect.quote.encode('utf-8') | length == 1 -%}
    {%- set q = spark_string(dialect.quote or '"') -%}
    {#- Lines as read, and numbered within their file (only where a line must be named). -#}
    {%- set raw = "select _metadata.file_path as file, _metadata.file_block_start as block, monotonically_increasing_id() as id, value,"
        ~ " octet_length(value) - octet_length(replace(value, " ~ q ~ ", '')) as quotes from text.`" ~ read_path.path ~ "`" -%}
    {%- set numbered = "select file, value, quotes, row_number() over (order by block, id) as line_number from (" ~ raw ~ ") where file = " -%}
    {%- if not by_line -%}
        {#- UTF-16/32 cannot be read line by line as text: each file is decoded whole. -#}
        {%- set raw = "select path as file, pos + 1 as line_number, line as value, length(line) - length(replace(line, " ~ q ~ ", '')) as quotes"
            ~ " from (select path, posexplode(split(decode(content, " ~ spark_string(dialect.encoding | upper) ~ "), '\\n')) as (pos, line) from binaryFile.`" ~ read_path.path ~ "`)" -%}
        {%- set numbered = "select * from (" ~ raw ~ ") where file = " -%}
    {%- endif -%}
    {%- if dialect.encoding != 'utf-8' and dialect.encoding != 'latin-1' -%}
        {%- set found = run_query("select input_file_name(), concat_ws(',', *) from " ~ relation ~ " where concat_ws(',', *) like '%\\ufffd%' limit 1").rows -%}
        {%- if found -%}
            {{ exceptions.raise_compiler_error("orders file '" ~ spark_file_name(found[0][0]) ~ "' is not " ~ dialect.encoding ~ " text: a line holds bytes " ~ dialect.encoding ~ " does not define (shown as \ufffd): " ~ (found[0][1] | string)[:200] ~ " (set var orders_encoding to the file's encoding)") }}
        {%- endif -%}
    {%- endif -%}
    {%- if not by_line and not counts_quotes -%}{{ return(none) }}{%- endif -%}
    {%- set files = run_query("select file, count_if(not is_valid_utf8(value)), sum(quotes) % 2 from (" ~ raw ~ ") group by file order by file").rows -%}
    {%- if dialect.encoding == 'utf-8' -%}
        {%- for file, invalid, odd in files if invalid > 0 -%}
            {%- set found = run_query("select line_number, make_valid_utf8(value) from (" ~ numbered ~ spark_string(file) ~ ") where not is_valid_utf8(value) order by line_number limit 1").rows[0] -%}
            {{ exceptions.raise_compiler_error("orders file '" ~ spark_file_name(file) ~ "' is not utf-8 text: line " ~ found[0] ~ " of the file (the header is line 1) holds bytes utf-8 does not define (shown as \ufffd): " ~ (found[1] | string)[:200] ~ " (set var orders_encoding: latin-1, windows-1252, utf-16, ...)") }}
        {%- endfor -%}
    {%- endif -%}
    {%- if not counts_quotes -%}{{ return(none) }}{%- endif -%}
    {%- for file, invalid, odd in files if odd == 1 -%}
        {%- set found = run_query("select max_by(value, line_number), max(line_number) from (select *, sum(quotes) over (order by line_number rows between unbounded preceding and current row) as so_far from ("
            ~ numbered ~ spark_string(file) ~ ")) where so_far % 2 = 1 and (so_far - quotes) % 2 = 0").rows[0] -%}
        {{ exceptions.raise_compiler_error("orders file '" ~ spark_file_name(file) ~ "' has an unterminated quote: its " ~ dialect.quote ~ " characters do not pair up, and the last line that opens a quote never closed is line " ~ found[1] ~ " of the file: " ~ (found[0] | string)[:300] ~ " (close the quote, or set var orders_csv_quote to '' for a file that does not quote fields)") }}
    {%- endfor -%}
{%- endmacro %}

{#- Spark's checks of the input files (see the macros above). -#}
{% macro spark__assert_orders_file_readable(path) -%}
    {%- set read_path = orders_read_path() -%}
    {%- if path.endswith('.csv') -%}
        {%- do spark_assert_csv_readable(read_path, spark__read_orders_file(path)) -%}
    {%- else -%}
        {%- do spark_assert_parquet_files_agree(read_path) -%}
    {%- endif -%}
{%- endmacro %}
