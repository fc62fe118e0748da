"""Which customer features are amounts of money, in the run's currency (var currency): the
report and the dashboards label and format them with it. No imports, so the dashboards'
Superset environment can read it too."""

MONEY_FEATURES = frozenset({"gross_spending", "net_spending", "avg_order_value", "returned_value"})
