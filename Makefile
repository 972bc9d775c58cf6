# The two commands of the quickstart: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test install install-test system-deps lint bench eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install -q -e .

install-test: $(BIN)/python system-deps
	$(BIN)/python -m pip install -q -e ".[test,spark]"

system-deps:
	bash scripts/system-deps.sh

demo: install
	$(BIN)/socialcrm demo

test: install-test
	$(BIN)/ruff check $(wildcard src tests bench eval)
	$(BIN)/python -m pytest -n 2

lint: install-test
	$(BIN)/ruff check $(wildcard src tests bench eval)
	$(BIN)/ruff format --check $(wildcard src tests bench eval)

bench: install-test
	$(BIN)/python bench/ingest.py

eval: install-test
	$(BIN)/python -m pytest -m slow

clean:
	rm -rf $(VENV) socialcrm.duckdb socialcrm.duckdb.wal test-output
