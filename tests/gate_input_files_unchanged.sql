{#- Input files unchanged while read: fails the build right after validation, before anything is
    segmented, published or registered, when an input file's size or modification time changed
    since the build found it (a file still being written when the build read it), naming the file
    (macro input_files_changed_during_build); raised here so dbt prints the one line alone. It
    returns no rows. -#}
{%- set changed = input_files_changed_during_build() -%}
{%- if changed -%}
    {{ exceptions.raise_compiler_error(changed) }}
{%- endif %}

select source_line_number
from {{ ref('int_order_lines_validated') }}
where 1 = 0
