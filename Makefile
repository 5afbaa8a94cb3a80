# Two entry points for a fresh machine: `make serve` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup serve test compose-test

$(BIN)/tps: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[train,dev]'
	touch $(BIN)/tps

setup: $(BIN)/tps

serve: setup
	$(BIN)/tps serve --host 127.0.0.1 --port 8000

test: setup
	$(BIN)/python -m pytest
