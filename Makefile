# The two front-door commands: `make build` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DBT := $(BIN)/dbt
DEMO_DATA := data/demo/order_lines.parquet
DEMO_CUSTOMERS ?= 25000
DEMO_SEED ?= 42

.PHONY: build test install install-dev demo-data lint clean

build: install $(DEMO_DATA)
	$(BIN)/python -m segmentation.build build --profiles-dir .
	$(BIN)/python -m segmentation.summary

test: install-dev
	$(BIN)/pytest
	$(BIN)/ruff check segmentation tests

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

demo-data: $(DEMO_DATA)
$(DEMO_DATA): | install
	$(BIN)/python -m segmentation.demo_data --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED) --out $@

lint: install-dev
	$(BIN)/ruff check segmentation tests

clean:
	rm -rf target logs data/demo segmentation.duckdb segmentation.duckdb.wal segmentation.duckdb.lock
