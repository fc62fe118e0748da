{#- Daily builds of int_customers_scored (DuckDB): a customer scored by the same model with the
    same model feature values keeps the stored segment and distance (scoring is a pure function
    of the two), so a build scores only the customers that are new or whose model features
    changed. Everyone is scored again when the model is not the one the stored scores used (every
    fit), or var segmentation_features (names, transforms, impute rules) is not the one they were
    scored with. -#}

{#- The pre-hook: the stored scores that no longer hold leave the table first (all of them when
    the model or the model features differ), as do customers gone from int_customers_featurized
    (all their lines rejected since), so the model appends exactly the customers to score. -#}
{% macro drop_stale_scores() -%}
    {%- if is_incremental() -%}
        {%- if not stored_scores_fit_model(this) %}
        delete from {{ this }}
        {%- else %}
        delete from {{ this }} as stored
        where stored.model_run_id <> (select max(run_id) from {{ ref('int_segment_model_current') }})
            or stored.scoring_spec <> {{ scoring_spec() }}
            or not exists (
                select 1
                from {{ ref('int_customers_featurized') }} as customers
                where customers.customer_id = stored.customer_id
                    {%- for feature in model_features() %}
                    and customers.{{ feature.name }} is not distinct from stored.{{ feature.name }}
                    {%- endfor %}
            )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Whether the stored table has a column for every model feature and no other feature column
    (its other columns are customer_id, segment_id, distance_to_centroid, model_run_id,
    scored_at and scoring_spec): else the model features changed and no stored score is kept. -#}
{% macro stored_scores_fit_model(relation) -%}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set stored = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- if column.name | lower not in ['customer_id', 'segment_id', 'distance_to_centroid', 'model_run_id',
                                           'scored_at', 'scoring_spec'] -%}
            {%- do stored.append(column.name | lower) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set wanted = [] -%}
    {%- for feature in model_features() -%}{%- do wanted.append(feature.name | lower) -%}{%- endfor -%}
    {{ return(stored | sort == wanted | sort) }}
{%- endmacro %}

{#- Var segmentation_features as scoring reads it, and a hash of the scoring model's file and
    the macros it calls (code_checksum), as a SQL string literal: the scores stored under another
    value (other features, or computed by code the user has since edited) are not kept. -#}
{% macro scoring_spec() -%}
    {%- set spec = {'features': model_features(), 'code': code_checksum(model)} -%}
    '{{ tojson(spec, sort_keys=true) | replace("'", "''") }}'
{%- endmacro %}
