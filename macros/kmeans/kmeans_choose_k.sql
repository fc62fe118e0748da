{#- The choice of k, exactly as segmentation.kmeans.choose_k: a fixed segment_count wins; a
    single k is that k; with three or more k the knee of log inertia (a port of kneed 0.9.0's
    KneeLocator(curve='convex', direction='decreasing', online=False), float for float); no
    knee (or two k): the best silhouette of k >= 2, the smaller k on a tie. -#}

{% macro kmeans_choose_k(ks, log_inertias, silhouettes, segment_count) -%}
    {%- if segment_count is not none -%}
        {{ return({'k': segment_count, 'chosen_by': 'segment_count'}) }}
    {%- endif -%}
    {%- if ks | length == 1 -%}
        {{ return({'k': ks[0], 'chosen_by': 'only k in range'}) }}
    {%- endif -%}
    {%- if ks | length >= 3 -%}
        {%- set knee = kmeans_find_knee(ks, log_inertias) -%}
        {%- if knee is not none -%}
            {{ return({'k': knee, 'chosen_by': 'elbow'}) }}
        {%- endif -%}
    {%- endif -%}
    {%- set best = namespace(k=none, silhouette=none) -%}
    {%- for i in range(ks | length) if ks[i] >= 2 -%}
        {%- set s = silhouettes[i] -%}
        {%- if best.k is none or (s is not none and (best.silhouette is none or s > best.silhouette)) -%}
            {%- set best.k = ks[i] -%}
            {%- set best.silhouette = s -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({'k': best.k, 'chosen_by': 'silhouette (no elbow found)'}) }}
{%- endmacro %}

{#- numpy's pairwise summation (what np.mean adds with), so the port's threshold is bit-equal. -#}
{% macro kmeans_numpy_sum(values) -%}
    {%- set n = values | length -%}
    {%- if n < 8 -%}
        {%- set total = namespace(value=0.0) -%}
        {%- for v in values %}{% set total.value = total.value + v %}{% endfor -%}
        {{ return(total.value) }}
    {%- elif n <= 128 -%}
        {%- set acc = namespace(r=values[:8]) -%}
        {%- set blocks = n - n % 8 -%}
        {%- for start in range(8, blocks, 8) -%}
            {%- set added = [] -%}
            {%- for j in range(8) %}{% do added.append(acc.r[j] + values[start + j]) %}{% endfor -%}
            {%- set acc.r = added -%}
        {%- endfor -%}
        {%- set r = acc.r -%}
        {%- set total = namespace(value=((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))) -%}
        {%- for i in range(blocks, n) %}{% set total.value = total.value + values[i] %}{% endfor -%}
        {{ return(total.value) }}
    {%- else -%}
        {%- set half = (n // 2) - (n // 2) % 8 -%}
        {{ return(kmeans_numpy_sum(values[:half]) + kmeans_numpy_sum(values[half:])) }}
    {%- endif -%}
{%- endmacro %}

{#- kneed's offline knee of a convex, decreasing curve (xs ascending), or none. -#}
{% macro kmeans_find_knee(xs, ys) -%}
    {%- set n = xs | length -%}
    {%- set x_min = (xs | min) * 1.0 -%}
    {%- set x_max = (xs | max) * 1.0 -%}
    {%- set y_min = ys | min -%}
    {%- set y_max = ys | max -%}
    {%- if y_max == y_min -%}
        {#- kneed divides 0 by 0: a NaN difference curve has no local maximum -#}
        {{ return(none) }}
    {%- endif -%}
    {%- set x_norm = [] -%}
    {%- set y_norm = [] -%}
    {%- for i in range(n) -%}
        {%- do x_norm.append((xs[i] * 1.0 - x_min) / (x_max - x_min)) -%}
        {%- do y_norm.append((ys[i] - y_min) / (y_max - y_min)) -%}
    {%- endfor -%}
    {%- set y_norm_max = y_norm | max -%}
    {%- set diff = [] -%}
    {%- for i in range(n) -%}
        {%- do diff.append((y_norm_max - y_norm[i]) - x_norm[i]) -%}
    {%- endfor -%}
    {#- scipy argrelextrema, order 1, mode clip: the ends compare with themselves -#}
    {%- set maxima = [] -%}
    {%- set minima = [] -%}
    {%- for i in range(n) -%}
        {%- set after = diff[[i + 1, n - 1] | min] -%}
        {%- set before = diff[[i - 1, 0] | max] -%}
        {%- if diff[i] >= after and diff[i] >= before %}{% do maxima.append(i) %}{% endif -%}
        {%- if diff[i] <= after and diff[i] <= before %}{% do minima.append(i) %}{% endif -%}
    {%- endfor -%}
    {%- if maxima | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set steps = [] -%}
    {%- for i in range(n - 1) %}{% do steps.append(x_norm[i + 1] - x_norm[i]) %}{% endfor -%}
    {%- set allowance = 1.0 * ((kmeans_numpy_sum(steps) / (steps | length)) | abs) -%}
    {%- set state = namespace(threshold=none, threshold_index=none, maxima_seen=0, active=true, knee=none, done=false) -%}
    {%- for i in range(n) if not state.done and i >= maxima[0] -%}
        {%- if i == n - 1 -%}
            {%- set state.done = true -%}
        {%- else -%}
            {%- if i in maxima -%}
                {%- set state.threshold = diff[i] - allowance -%}
                {%- set state.threshold_index = i -%}
                {%- set state.active = true -%}
            {%- endif -%}
            {%- if i in minima -%}
                {%- set state.threshold = 0.0 -%}
                {%- set state.active = false -%}
            {%- endif -%}
            {%- if state.active and diff[i + 1] < state.threshold -%}
                {%- set state.knee = xs[state.threshold_index] -%}
                {%- set state.done = true -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(state.knee) }}
{%- endmacro %}

{#- For the tests: each case's knee and choice of k, logged as one JSON line; a case is
    {k: [...], log_inertia: [...], silhouette: [...], segment_count: n or null}. -#}
{% macro kmeans_check_choices(cases) -%}
    {%- set results = [] -%}
    {%- for case in cases -%}
        {%- set choice = kmeans_choose_k(case['k'], case['log_inertia'], case['silhouette'], case.get('segment_count')) -%}
        {%- do results.append({'knee': kmeans_find_knee(case['k'], case['log_inertia']) if case['k'] | length >= 2 else none,
                               'k': choice.k, 'chosen_by': choice.chosen_by}) -%}
    {%- endfor -%}
    {%- do log('kmeans_check_choices: ' ~ tojson(results), info=true) -%}
{%- endmacro %}
