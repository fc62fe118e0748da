# The two front-door commands: `make build` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DBT := $(BIN)/dbt
DEMO_DATA := data/demo/order_lines.parquet
DEMO_CUSTOMERS ?= 25000
DEMO_SEED ?= 42
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: build build-spark test test-unit bench install install-dev install-spark install-dashboard dashboard dashboard-serve chromium demo-data lint lint-python lint-sql lint-dbt clean

build: install $(DEMO_DATA)
	$(BIN)/python -m segmentation.cli.build build --profiles-dir .
	$(BIN)/python -m segmentation.cli.summary
	$(BIN)/python -m segmentation.cli.report

# The same project on a local Apache Spark (docs/spark.md): Spark's
# warehouse, metastore and logs go to $(SPARK_DIR).
SPARK_DIR ?= build/spark
build-spark: install-spark $(DEMO_DATA)
	SEGMENTATION_SPARK_DIR=$(SPARK_DIR) $(DBT) build --profiles-dir . --target spark

# The Spark suite spends most of its time in Spark's single-threaded query planning, so it runs
# beside the rest (its report follows), which itself runs on TEST_WORKERS pytest-xdist workers;
# the target fails when either fails. Both print their slowest tests. `make lint` runs beside them
# too (on one process; its log follows the Spark suite's) and fails the target on a violation. The three installs (the
# project's environment, Superset's, Chromium) run side by side first.
TEST_WORKERS ?= 2
test:
	$(MAKE) --no-print-directory -j3 install-dev install-dashboard chromium
	mkdir -p build
	$(BIN)/pytest -m spark --basetemp build/pytest-spark --durations=15 > build/test-spark.log 2>&1 & spark=$$!; \
	$(MAKE) --no-print-directory -k lint LINT_PROCESSES=1 > build/test-lint.log 2>&1 & lint=$$!; \
	$(BIN)/pytest -m "not spark" -n $(TEST_WORKERS) --dist loadgroup --durations=40; others=$$?; \
	wait $$spark; spark_status=$$?; wait $$lint; lint_status=$$?; \
	echo "---- Spark suite (pytest -m spark) ----"; cat build/test-spark.log; \
	echo "---- Lint (make lint) ----"; cat build/test-lint.log; \
	test $$others -eq 0 && test $$spark_status -eq 0 && test $$lint_status -eq 0

# The package's unit tests alone (tests/python/unit: no dbt run, a minute or so); `make test` runs
# them with the tests that run dbt (tests/python/dbt).
test-unit: install-dev
	$(BIN)/pytest tests/python/unit

# The scale benchmark (not part of `make test`): writes docs/benchmarks.md and its chart, then
# the daily-build benchmark its "Daily builds" section (reusing the notebook times just measured).
# Demo data is generated once into data/bench/; e.g. `make bench BENCH_SIZES=25000,1000000`.
BENCH_SIZES ?= 25000,1000000,10000000
bench: install-dev
	$(BIN)/python -m segmentation.benchmark.scale --sizes $(BENCH_SIZES) --command "make bench BENCH_SIZES=$(BENCH_SIZES)"
	$(BIN)/python -m segmentation.benchmark.daily --sizes $(BENCH_SIZES) --notebook-from build/bench/results.json \
		--command "make bench BENCH_SIZES=$(BENCH_SIZES)"

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
install-spark: $(VENV)/.installed-spark

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# The tests include the Spark suite, so they install the Spark extras too.
$(VENV)/.installed-dev: $(VENV)/.installed-spark requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

$(VENV)/.installed-spark: $(VENV)/.installed requirements-spark.txt
	$(BIN)/python -m pip install --quiet -r requirements-spark.txt
	touch $@

# The dashboards: Apache Superset in its own environment (it pins SQLAlchemy 1.4 and Flask
# versions the project does not share), reading the last build's published/segmentation.duckdb.
SUPERSET_VENV := .venv-superset
SUPERSET := SUPERSET_CONFIG_PATH=$(CURDIR)/dashboard/superset_config.py $(SUPERSET_VENV)/bin
PUBLISH_DIR ?= $(or $(SEGMENTATION_PUBLISH_DIR),published)
DASHBOARD_PORT ?= 8088
install-dashboard: $(SUPERSET_VENV)/.installed

$(SUPERSET_VENV)/.installed: dashboard/requirements.txt
	test -x $(SUPERSET_VENV)/bin/python || $(PYTHON) -m venv $(SUPERSET_VENV)
	$(SUPERSET_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SUPERSET_VENV)/bin/python -m pip install --quiet -r dashboard/requirements.txt
	touch $@

dashboard: install-dashboard
	$(SUPERSET)/python dashboard/build_dashboard.py --published $(PUBLISH_DIR)

dashboard-serve: dashboard
	$(SUPERSET)/superset run -h 127.0.0.1 -p $(DASHBOARD_PORT) --with-threads

# The report test opens the report in Debian's headless Chromium.
chromium:
	command -v chromium >/dev/null || { $(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

demo-data: $(DEMO_DATA)
$(DEMO_DATA): segmentation/demo/data.py | install
	$(BIN)/python -m segmentation.demo.data --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED) --out $@

# The linters (`make lint`; `make test` runs them too), each for a habit the project keeps:
# - ruff: the Python (pyproject.toml [tool.ruff]).
# - sqlfluff with the dbt templater (.sqlfluff, after dbt-labs/jaffle-shop's): every model's SQL
#   as dbt renders it, in the house style (lower case, leading `with`, a `final` CTE, trailing
#   commas), so a model reads like the others. Some models read tables at compile time (the
#   orders file's columns, the features int_customers_featurized and int_segment_feature_scaling
#   hold, the SQL sweep's tables): it lints against a scratch database where those are built from
#   a 300-customer demo file. A second pass lints the models the default vars
#   disable (the SQL fit path, the Online Retail staging model; .sqlfluff-other-paths). A model
#   dbt cannot compile is a failure, not a skipped file.
# - dbt-score with the project's rules (dbt_score_rules/), on `dbt parse`'s manifest (both var
#   sets, as above): every model and source documented, a grain test (unique /
#   unique_combination_of_columns) on every model, enforced contracts on the public marts, no
#   mart read by a model before it (marts are read only by marts and the publish step).
# Full parses (--no-partial-parse): dbt's partial parsing loses track of a disabled fit path's
# models when their files change ("depends on ... which is not in the graph").
# SQL lint takes ~2 minutes with 2 processes, most of it dbt compiling each model; LINT_PROCESSES=1
# when it shares the machine with the tests.
LINT_DIR := build/lint
LINT_DB := $(CURDIR)/$(LINT_DIR)/lint.duckdb
LINT_PROCESSES ?= 2
OTHER_PATHS_VARS := {segmentation_fit_engine: sql, orders_format: online_retail}
LINT_DBT := SEGMENTATION_DB_PATH=$(LINT_DB) $(DBT)
LINT_DBT_ARGS := --profiles-dir . --log-path $(LINT_DIR)/logs --quiet --no-use-colors --no-partial-parse

lint: lint-python lint-sql lint-dbt

lint-python: install-dev
	$(BIN)/ruff check segmentation tests dashboard dbt_score_rules

# The orders file .sqlfluff's context names (orders_path).
$(LINT_DIR)/order_lines.parquet: segmentation/demo/data.py | install
	$(BIN)/python -m segmentation.demo.data --customers 300 --seed 1 --out $@

lint-sql: install-dev $(LINT_DIR)/order_lines.parquet
	rm -f $(LINT_DB) $(LINT_DB).wal
	$(LINT_DBT) build $(LINT_DBT_ARGS) --target-path $(LINT_DIR)/target-build \
		--select +int_customers_featurized +int_segment_feature_scaling --resource-type model seed \
		--vars '{orders_path: $(LINT_DIR)/order_lines.parquet}'
	SEGMENTATION_DB_PATH=$(LINT_DB) $(BIN)/sqlfluff lint models --processes $(LINT_PROCESSES) \
		> $(LINT_DIR)/sqlfluff.log 2>&1; status=$$?; \
	$(LINT_DBT) build $(LINT_DBT_ARGS) --target-path $(LINT_DIR)/target-build-other-paths \
		--select +int_kmeans_sweep_customers +int_kmeans_sweep_metrics --resource-type model seed \
		--vars '{orders_path: $(LINT_DIR)/order_lines.parquet, segmentation_fit_engine: sql, segmentation_k_max: 2, segmentation_sql_kmeans_iterations: 1}' \
		> $(LINT_DIR)/build-other-paths.log || { cat $(LINT_DIR)/build-other-paths.log; status=1; }; \
	SEGMENTATION_DB_PATH=$(LINT_DB) $(BIN)/sqlfluff lint models/segmentation/fit/fit_sql \
		models/staging/online_retail --config .sqlfluff-other-paths --processes $(LINT_PROCESSES) \
		>> $(LINT_DIR)/sqlfluff.log 2>&1 || status=1; \
	cat $(LINT_DIR)/sqlfluff.log; \
	if grep -A3 'raised a fatal exception' $(LINT_DIR)/sqlfluff.log > /dev/null; then \
		echo "sqlfluff skipped a model it could not compile (above): lint fails"; status=1; fi; \
	exit $$status

lint-dbt: install-dev
	$(LINT_DBT) parse $(LINT_DBT_ARGS) --target-path $(LINT_DIR)/parse
	$(BIN)/dbt-score lint --manifest $(LINT_DIR)/parse/manifest.json
	$(LINT_DBT) parse $(LINT_DBT_ARGS) --target-path $(LINT_DIR)/parse-other-paths --vars '$(OTHER_PATHS_VARS)'
	$(BIN)/dbt-score lint --manifest $(LINT_DIR)/parse-other-paths/manifest.json

clean:
	rm -rf target logs data/demo data/bench build/bench build/spark build/dashboard published segmentation.duckdb segmentation.duckdb.wal segmentation.duckdb.lock
