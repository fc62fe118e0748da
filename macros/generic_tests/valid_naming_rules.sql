{#- The naming rules (`model`, one row per rule) and their conditions (`conditions`, one row per
    condition, keyed by rule_id) checked before any segment is named. A broken rule set does not
    name segments wrongly in silence: the test stops the build (dbt build skips the naming and
    everything after it) with one line listing every problem. The seeds are a few rows, so they
    are read once and checked here rather than in SQL, the same on every adapter. -#}
{% test valid_naming_rules(model, conditions) %}
    {%- if execute and load_relation(model) is not none and load_relation(conditions) is not none -%}
        {%- set problems = naming_rule_problems(model, conditions) -%}
        {%- if problems -%}
            {{ exceptions.raise_compiler_error("segment naming rules are invalid: " ~ problems | join('; ')) }}
        {%- endif -%}
    {%- endif %}

select rule_id from {{ model }} where 1 = 0

{% endtest %}

{#- Every problem of a naming rule set, as sentences: a rule defined by more than one row (its
    rows could disagree on name, priority or action), a missing name, action or priority, two
    rules with one priority, a condition of an unknown rule, an unknown feature, statistic,
    operator or comparison, a missing threshold, and not exactly one fallback rule (a rule
    without conditions, which must come last). Empty when the rules are sound. -#}
{% macro naming_rule_problems(rules_relation, conditions_relation) -%}
    {%- set statistics = ['mean', 'median'] -%}
    {%- set operators = ['>=', '<=', '>', '<'] -%}
    {%- set comparisons = ['value', 'overall_mean', 'overall_median'] -%}
    {%- set condition_columns = ['feature', 'statistic', 'operator', 'compare_to', 'threshold'] -%}
    {%- set problems = [] -%}
    {%- set rules = run_query('select * from ' ~ rules_relation) -%}
    {%- set conditions = run_query('select * from ' ~ conditions_relation) -%}

    {#- the old layout (conditions as columns of the rules) would split a rule again -#}
    {%- set stray = [] -%}
    {%- for column in rules.column_names if column | lower in condition_columns -%}
        {%- do stray.append(column | lower) -%}
    {%- endfor -%}
    {%- if stray -%}
        {%- do problems.append("segment_naming_rules has condition columns (" ~ stray | join(', ') ~ "): a rule is one row there, its conditions are rows of segment_naming_conditions") -%}
    {%- endif -%}

    {#- rules: one row each, complete, one priority each -#}
    {%- set rows_by_rule = {} -%}
    {%- set rule_order = [] -%}
    {%- for row in rules.rows -%}
        {%- set rule_id = row['rule_id'] -%}
        {%- if rule_id is none or rule_id | string | trim == '' -%}
            {%- do problems.append("a row of segment_naming_rules has no rule_id (segment_name '" ~ row['segment_name'] ~ "')") -%}
        {%- else -%}
            {%- if rule_id not in rows_by_rule -%}
                {%- do rows_by_rule.update({rule_id: []}) -%}
                {%- do rule_order.append(rule_id) -%}
            {%- endif -%}
            {%- do rows_by_rule[rule_id].append(row) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set rule_by_priority = {} -%}
    {%- for rule_id in rule_order -%}
        {%- set rows = rows_by_rule[rule_id] -%}
        {%- if rows | length > 1 -%}
            {%- set disagreements = [] -%}
            {%- for column in ['segment_name', 'priority', 'suggested_action'] -%}
                {%- set values = [] -%}
                {%- for row in rows if row[column] | string not in values -%}
                    {%- do values.append(row[column] | string) -%}
                {%- endfor -%}
                {%- if values | length > 1 -%}
                    {%- do disagreements.append(column ~ " ('" ~ values | join("' / '") ~ "')") -%}
                {%- endif -%}
            {%- endfor -%}
            {%- do problems.append("rule " ~ rule_id ~ " has " ~ rows | length ~ " rows in segment_naming_rules"
                ~ (" that disagree on " ~ disagreements | join(' and ') if disagreements else "")
                ~ ": give a rule one row, and its conditions rows of segment_naming_conditions") -%}
        {%- endif -%}
        {%- set row = rows[0] -%}
        {%- for column in ['segment_name', 'suggested_action', 'priority'] -%}
            {%- if row[column] is none or row[column] | string | trim == '' -%}
                {%- do problems.append("rule " ~ rule_id ~ " has no " ~ column) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if row['priority'] is not none -%}
            {%- set priority = row['priority'] | int -%}
            {%- if priority in rule_by_priority and rule_by_priority[priority] != rule_id -%}
                {%- do problems.append("rules " ~ rule_by_priority[priority] ~ " and " ~ rule_id ~ " share priority " ~ priority ~ ": which one names a segment both match would be arbitrary; give each rule its own priority") -%}
            {%- else -%}
                {%- do rule_by_priority.update({priority: rule_id}) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}

    {#- conditions: of a known rule, on a known feature, with known statistic, operator, comparison -#}
    {%- set conditioned = [] -%}
    {%- for row in conditions.rows -%}
        {%- set rule_id = row['rule_id'] -%}
        {%- set where = "rule " ~ rule_id ~ ", condition on " ~ row['feature'] -%}
        {%- if rule_id not in rows_by_rule -%}
            {%- do problems.append("segment_naming_conditions has a condition (on " ~ row['feature'] ~ ") for rule " ~ rule_id ~ ", which segment_naming_rules does not define") -%}
        {%- elif rule_id not in conditioned -%}
            {%- do conditioned.append(rule_id) -%}
        {%- endif -%}
        {%- if row['feature'] not in customer_features() -%}
            {%- do problems.append("rule " ~ rule_id ~ " names unknown feature '" ~ row['feature'] ~ "' (known features: " ~ customer_features() | join(', ') ~ ")") -%}
        {%- endif -%}
        {%- if row['statistic'] not in statistics -%}
            {%- do problems.append(where ~ ": statistic '" ~ row['statistic'] ~ "' is not one of " ~ statistics | join(', ')) -%}
        {%- endif -%}
        {%- if row['operator'] not in operators -%}
            {%- do problems.append(where ~ ": operator '" ~ row['operator'] ~ "' is not one of " ~ operators | join(' ')) -%}
        {%- endif -%}
        {%- if row['compare_to'] not in comparisons -%}
            {%- do problems.append(where ~ ": compare_to '" ~ row['compare_to'] ~ "' is not one of " ~ comparisons | join(', ')) -%}
        {%- endif -%}
        {%- if row['threshold'] is none -%}
            {%- do problems.append(where ~ ": no threshold") -%}
        {%- endif -%}
    {%- endfor -%}

    {#- exactly one fallback (a rule without conditions), last: it matches every segment -#}
    {%- set fallbacks = [] -%}
    {%- for rule_id in rule_order if rule_id not in conditioned -%}
        {%- do fallbacks.append(rule_id) -%}
    {%- endfor -%}
    {%- if fallbacks | length == 0 -%}
        {%- do problems.append("no fallback rule: add a rule without conditions (like regulars) with the largest priority, so that every segment gets a name and an action") -%}
    {%- elif fallbacks | length > 1 -%}
        {%- do problems.append("rules " ~ fallbacks | join(', ') ~ " all have no conditions: keep one fallback rule") -%}
    {%- else -%}
        {%- set fallback = rows_by_rule[fallbacks[0]][0] -%}
        {%- if fallback['priority'] is not none -%}
            {%- set shadowed = [] -%}
            {%- for rule_id in rule_order if rule_id != fallbacks[0] -%}
                {%- set other = rows_by_rule[rule_id][0]['priority'] -%}
                {%- if other is not none and other | int > fallback['priority'] | int -%}
                    {%- do shadowed.append(rule_id) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if shadowed -%}
                {%- do problems.append("fallback rule " ~ fallbacks[0] ~ " (priority " ~ fallback['priority'] | int ~ ") matches every segment, so rules after it (" ~ shadowed | join(', ') ~ ") never name one: give the fallback the largest priority") -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(problems) }}
{%- endmacro %}
