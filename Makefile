# Two commands do all set-up on a fresh clone (Python 3.11+, pip and make only):
#   make demo   set up, then run a complete mock election and verify its record
#   make test   set up, then run lint, types, import contracts and every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint types contracts pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("evote needs Python 3.11 or newer" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf records/demo
	$(BIN)/evote mock-election --voters 300 --record records/demo --no-verify
	$(BIN)/evote verify records/demo

test: lint types contracts pytest

lint: $(STAMP)
	$(BIN)/ruff format --check evote tests simulations ceremonies
	$(BIN)/ruff check evote tests simulations ceremonies

types: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/evote bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
