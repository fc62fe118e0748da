"""The project's own dbt-score rules (`make lint`): what the project promises of its models.

dbt-score loads every rule of this package (pyproject.toml [tool.dbt-score] names it as the one
rule namespace, so dbt-score's generic rules do not apply). Each rule is CRITICAL: one violation
scores its model 0 and fails `make lint`.
"""
