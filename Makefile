# Two commands do all set-up on a fresh clone (Python 3.11+, pip and make only):
#   make demo   set up, then run a complete mock election and verify its record
#   make test   set up, then run lint, types, import contracts and every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test suite lint types contracts protos protos-check pytest bench clean

PROTOS := $(wildcard protos/evote/wire/v1/*.proto)
PROTOC := PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m grpc_tools.protoc -I protos

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("evote needs Python 3.11 or newer" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf records/demo
	$(BIN)/evote mock-election --transport grpc --voters 300 --record records/demo --no-verify
	$(BIN)/evote verify records/demo

test: lint types contracts protos-check pytest

lint: $(STAMP)
	$(BIN)/ruff format --check evote tests simulations ceremonies
	$(BIN)/ruff check evote tests simulations ceremonies

types: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

# Regenerate the committed gRPC code from protos/.
protos: $(STAMP)
	$(PROTOC) --python_out=. --mypy_out=. --grpc_python_out=. --mypy_grpc_out=. $(PROTOS)

# Regenerate into a scratch folder and fail on any difference with the committed code.
protos-check: $(STAMP)
	rm -rf .protos-check && mkdir .protos-check
	$(PROTOC) --python_out=.protos-check --mypy_out=.protos-check --grpc_python_out=.protos-check --mypy_grpc_out=.protos-check $(PROTOS) > /dev/null
	diff -r -x __init__.py -x __pycache__ .protos-check/evote/wire/v1 evote/wire/v1 || (echo "generated code is stale: run make protos" && rm -rf .protos-check && exit 1)
	rm -rf .protos-check

pytest: $(STAMP)
	$(BIN)/pytest -q

# The reliability and security suite in full form (faults, fuzzing, adversaries, load);
# `make test` runs the same tests in small form.
suite: $(STAMP)
	EVOTE_SUITE=full HYPOTHESIS_PROFILE=thorough $(BIN)/pytest -q tests/suite

bench: $(STAMP)
	$(BIN)/evote bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache .protos-check
