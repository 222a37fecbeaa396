# Two entry points: `make demo` runs the pipeline on the bundled demo organisation and
# `make test` runs the test suite. Both create .venv and install on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/licpipe demo --dir var/demo

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff format --check licpipe tests
	$(BIN)/ruff check licpipe tests

bench: $(STAMP)
	$(BIN)/python scripts/benchmark.py

clean:
	rm -rf var dbt_project/target dbt_project/logs
