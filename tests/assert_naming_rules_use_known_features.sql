{#- Every naming rule condition names a customer feature that profiles carry. -#}
select rule_id, feature
from {{ ref('segment_naming_rules') }}
where feature is not null
    and feature not in ('{{ customer_features() | join("', '") }}')
