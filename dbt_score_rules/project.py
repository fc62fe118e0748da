"""Rules for what this project promises (README "Tests"): every model and source documented,
a grain test on every model, enforced contracts on the public marts, marts named dim_/fct_ (old
names kept as views of them), no mart read by a model before it in the DAG (the marts are the
end of the line: only other marts, the old names' views and the publish step read them)."""

from dbt_score import Model, RuleViolation, Severity, Source, rule

# Tests that state a model's grain: one row per key (a column's `unique`, or the combination of
# columns in the project's generic test macros/generic_tests/unique_combination_of_columns.sql).
GRAIN_TESTS = {"unique", "unique_combination_of_columns"}
MARTS = "models/marts/"
# The naming rule of the marts: dim_<things>, one row per thing as the latest build sees it (a
# customer, a segment, a segment's feature); fct_<events>, one row per event or measurement.
MART_PREFIXES = ("dim_", "fct_")
# Views that keep the marts' names from before that rule working for BI tools.
OLD_NAMES = "models/old_names/"
# Who may read a mart: the marts themselves (e.g. fct_segment_monthly_revenue reads dim_customers),
# the old names' views and the publish step, which copies them out.
MART_READERS = (MARTS, OLD_NAMES, "models/publish/")


@rule(severity=Severity.CRITICAL)
def model_has_description(model: Model) -> RuleViolation | None:
    """A model has a description."""
    if not (model.description or "").strip():
        return RuleViolation(message=f"{model.name} has no description.")


@rule(severity=Severity.CRITICAL)
def source_has_description(source: Source) -> RuleViolation | None:
    """A source table has a description."""
    if not (source.description or "").strip():
        return RuleViolation(message=f"source {source.source_name}.{source.name} has no description.")


@rule(severity=Severity.CRITICAL)
def model_has_grain_test(model: Model) -> RuleViolation | None:
    """A model has a test of its grain: `unique` on its key column, or
    `unique_combination_of_columns` on its key columns."""
    if _grain_tests(model):
        return None
    mart = _renamed_mart(model)
    if mart is not None and _grain_tests(mart):
        return None  # an old name's view: `select *` of a mart with a grain test
    meta = model.config.get("meta") or model.meta or {}
    checked_by = meta.get("grain_checked_by")
    if checked_by:
        # a view whose grain a model built from it tests (a test on the view would re-read its input)
        children = {child.name: child for child in model.children if isinstance(child, Model)}
        if checked_by in children and _grain_tests(children[checked_by]):
            return None
        return RuleViolation(message=f"{model.name}: grain_checked_by {checked_by} is not a model "
                                     "built from it with a grain test.")
    return RuleViolation(message=f"{model.name} has no grain test ({' or '.join(sorted(GRAIN_TESTS))}).")


def _grain_tests(model: Model) -> set[str]:
    return {test.get("test_metadata", {}).get("name") for test in model._raw_test_values} & GRAIN_TESTS


def _renamed_mart(model: Model) -> Model | None:
    """The mart an old name's view reads (None for any other model, or a view of no single mart)."""
    parents = [parent for parent in model.parents if isinstance(parent, Model)]
    if not model.original_file_path.startswith(OLD_NAMES) or len(parents) != 1:
        return None
    return parents[0] if parents[0].original_file_path.startswith(MARTS) else None


@rule(severity=Severity.CRITICAL)
def mart_is_named_dim_or_fct(model: Model) -> RuleViolation | None:
    """A mart is named dim_<things> (one row per thing, as the latest build sees it) or
    fct_<events> (one row per event or measurement)."""
    if model.original_file_path.startswith(MARTS) and not model.name.startswith(MART_PREFIXES):
        return RuleViolation(message=f"mart {model.name} is named neither dim_... nor fct_....")


@rule(severity=Severity.CRITICAL)
def old_name_is_a_view_of_its_mart(model: Model) -> RuleViolation | None:
    """A model in models/old_names/ keeps a renamed mart's old name: a view of that one mart,
    named as the mart without its dim_/fct_ prefix, with a deprecation date."""
    if not model.original_file_path.startswith(OLD_NAMES):
        return None
    mart = _renamed_mart(model)
    if mart is None or mart.name.split("_", 1)[1] != model.name:
        return RuleViolation(message=f"{model.name} is not a view of the one mart dim_/fct_{model.name}.")
    if model.config.get("materialized") != "view":
        return RuleViolation(message=f"{model.name} is not a view (a copy of {mart.name} would go stale).")
    if not model._raw_values.get("deprecation_date"):
        return RuleViolation(message=f"{model.name} has no deprecation_date.")


@rule(severity=Severity.CRITICAL)
def public_model_has_enforced_contract(model: Model) -> RuleViolation | None:
    """A mart is public, and a public model has an enforced contract (its columns' names and
    types are checked when it is built)."""
    in_marts = model.original_file_path.startswith(MARTS)
    if in_marts and model.access != "public":
        return RuleViolation(message=f"mart {model.name} is not `access: public`.")
    if model.access == "public" and not (model.config.get("contract") or {}).get("enforced"):
        return RuleViolation(message=f"public model {model.name} has no enforced contract.")


@rule(severity=Severity.CRITICAL)
def no_model_reads_a_mart_before_it(model: Model) -> RuleViolation | None:
    """Only marts and the publish step read a mart: a staging, intermediate or segmentation model
    that reads one is a back edge (mart → intermediate)."""
    if model.original_file_path.startswith(MART_READERS):
        return None
    marts = sorted(parent.name for parent in model.parents
                   if isinstance(parent, Model) and parent.original_file_path.startswith(MARTS))
    if marts:
        return RuleViolation(message=f"{model.name} reads the mart(s) {', '.join(marts)}.")
