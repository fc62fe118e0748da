{#- A hash of the code that computes a node: dbt's checksum of its file, and the text of every
    macro of this project it calls, directly or through other macros, each with the versions
    adapter.dispatch may pick for it here (<adapter>__<name>, default__<name>). A stored row
    computed under another hash was computed by code the user has since edited
    (input_rules_fingerprint, customer_totals_summed_by, scoring_spec). dbt's own macros are not
    in it. -#}
{% macro code_checksum(node) -%}
    {%- if not execute or node is not mapping or not node.get('checksum') -%}{{ return('') }}{%- endif -%}
    {%- set parts = [node.unique_id ~ '=' ~ node.checksum.checksum] -%}
    {%- set names = [] -%}
    {%- set queue = node.get('depends_on', {}).get('macros', []) | list -%}
    {#- a breadth-first walk: the loop also visits the macros appended to the queue -#}
    {%- for unique_id in queue -%}
        {%- set id_parts = unique_id.split('.') -%}
        {%- if id_parts[1] == project_name and id_parts[2] not in names -%}
            {%- for name in [id_parts[2], adapter.type() ~ '__' ~ id_parts[2], 'default__' ~ id_parts[2]] -%}
                {%- set found = context.get(name) -%}
                {%- if name not in names and found is not none and found.macro is defined -%}
                    {%- do names.append(name) -%}
                    {%- do parts.append(name ~ '=' ~ found.macro.macro_sql) -%}
                    {%- do queue.extend(found.macro.depends_on.macros) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(local_md5(parts | sort | join('\n'))) }}
{%- endmacro %}
