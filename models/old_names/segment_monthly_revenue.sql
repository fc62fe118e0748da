select * from {{ ref('fct_segment_monthly_revenue') }}
