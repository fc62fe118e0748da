{#- Var segmentation_mode: fit (default; sweep, fit, match ids, score) or score (assign
    customers with the latest stored model, in SQL only). -#}
{% macro segmentation_mode() -%}
    {%- set modes = ['fit', 'score'] -%}
    {%- if var('segmentation_mode') not in modes -%}
        {{ exceptions.raise_compiler_error("var segmentation_mode must be one of " ~ modes | join(', ') ~ ", got '" ~ var('segmentation_mode') ~ "'") }}
    {%- endif -%}
    {{ return(var('segmentation_mode')) }}
{%- endmacro %}

{#- Var currency: the code of the currency every money value is in (net spending, revenue),
    named in the report's money columns and in the run registry. Checked to be 1 to 8 letters
    or currency symbols, so it is plain text wherever it is shown. -#}
{% macro currency() -%}
    {%- set code = var('currency') | string -%}
    {%- if not modules.re.fullmatch('[A-Za-z$€£¥₹]{1,8}', code) -%}
        {{ exceptions.raise_compiler_error("var currency must be a currency code such as GBP or EUR (1 to 8 letters), got '" ~ code ~ "'") }}
    {%- endif -%}
    {{ return(code) }}
{%- endmacro %}

{#- The stored model history readers may use, as a subquery: the fits of accepted builds (and,
    in fit mode, this build's own fit) of the model in fit mode, of the same table read as a
    source in score mode (where the fitting models are disabled). A rejected, failed or killed
    build's fit is never read (docs/reliability.md "Lifecycle"). Score mode fails with a clear
    message when no accepted model is stored, or when it was fitted on other features,
    transforms or impute rules (feature:transform:impute) than configured; the impute value is
    the stored one. -#}
{% macro stored_model_history() -%}
    {%- set history = stored_history('int_segment_centroid_history') -%}
    {%- set visible = "(select * from " ~ history ~ " where run_id in " ~ visible_run_ids() ~ ")" -%}
    {%- if execute and segmentation_mode() == 'score' -%}
        {%- if 'impute' not in adapter.get_columns_in_relation(history) | map(attribute='name') | map('lower') | list -%}
            {{ exceptions.raise_compiler_error("the stored model in " ~ history ~ " predates impute rules (no column impute): run a build in fit mode first") }}
        {%- endif -%}
        {%- set stored = run_query("select feature || ':' || transform || ':' || coalesce(impute, 'none') from " ~ visible ~ " as accepted where fit_number = (select max(fit_number) from " ~ visible ~ " as latest) group by 1 order by 1").columns[0].values() | list -%}
        {%- if not stored -%}
            {{ exceptions.raise_compiler_error("segmentation_mode score needs a stored model, and " ~ history ~ " holds no fit of an accepted build (every stored fit was rejected, failed or interrupted): run a build in fit mode first") }}
        {%- endif -%}
        {%- set configured = [] -%}
        {%- for feature in model_features() -%}{%- do configured.append(feature.name ~ ':' ~ feature.get('transform', 'none') ~ ':' ~ feature.get('impute', 'none')) -%}{%- endfor -%}
        {%- if stored != configured | sort -%}
            {{ exceptions.raise_compiler_error("the stored model was fitted on " ~ stored | join(', ') ~ " but var segmentation_features asks for " ~ configured | join(', ') ~ ": run a fit build, or set the features back") }}
        {%- endif -%}
    {%- endif -%}
    {{ return(visible ~ " as model_history") }}
{%- endmacro %}

{#- An append-only history a fit build writes: the model in fit mode, the same table read back
    as a source of segment_store in score mode; a clear error when no fit build wrote it. -#}
{% macro stored_history(name) -%}
    {%- if segmentation_mode() == 'fit' -%}
        {{ return(ref(name)) }}
    {%- endif -%}
    {%- set history = source('segment_store', name) -%}
    {%- if execute and adapter.get_relation(history.database, history.schema, history.identifier) is none -%}
        {{ exceptions.raise_compiler_error("segmentation_mode score needs a stored model, and " ~ history ~ " does not exist: run a build in fit mode first") }}
    {%- endif -%}
    {{ return(history) }}
{%- endmacro %}
