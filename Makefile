# The two front-door commands: `make build` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DBT := $(BIN)/dbt
DEMO_DATA := data/demo/order_lines.parquet
DEMO_CUSTOMERS ?= 25000
DEMO_SEED ?= 42
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: build build-spark test test-unit bench install install-dev install-spark install-dashboard dashboard dashboard-serve chromium demo-data lint clean

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
# the target fails when either fails. Both print their slowest tests. The three installs (the
# project's environment, Superset's, Chromium) run side by side first.
TEST_WORKERS ?= 2
test:
	$(MAKE) --no-print-directory -j3 install-dev install-dashboard chromium
	mkdir -p build
	$(BIN)/pytest -m spark --basetemp build/pytest-spark --durations=15 > build/test-spark.log 2>&1 & spark=$$!; \
	$(BIN)/pytest -m "not spark" -n $(TEST_WORKERS) --dist loadgroup --durations=40; others=$$?; \
	wait $$spark; spark_status=$$?; \
	echo "---- Spark suite (pytest -m spark) ----"; cat build/test-spark.log; \
	test $$others -eq 0 && test $$spark_status -eq 0
	$(BIN)/ruff check segmentation tests dashboard

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

lint: install-dev
	$(BIN)/ruff check segmentation tests dashboard

clean:
	rm -rf target logs data/demo data/bench build/bench build/spark build/dashboard published segmentation.duckdb segmentation.duckdb.wal segmentation.duckdb.lock
