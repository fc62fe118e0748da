{#- The rejected-share gate: fails the build, naming the reasons, when more order lines are
    rejected than vars max_rejected_line_share / max_missing_customer_share allow (macro
    rejected_share_violation); raised here, not in the macro, so dbt prints the one line alone.
    It returns no rows. -#}
{%- set violation = rejected_share_violation(ref('int_order_lines_validated')) -%}
{%- if violation -%}
    {{ exceptions.raise_compiler_error(violation) }}
{%- endif %}

select source_line_number
from {{ ref('int_order_lines_validated') }}
where 1 = 0
