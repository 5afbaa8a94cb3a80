# Two entry points for a fresh machine: `make serve` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup setup-dev serve lint test

# Serving needs no torch; only training and the model tests do.
$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[train,dev]'
	touch $@

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

serve: setup
	$(BIN)/tps serve --host 127.0.0.1 --port 8000

# ruff over everything, mypy --strict over every package (tests are left untyped),
# then lint-imports for the package layering in pyproject.toml [tool.importlinter]
lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/mypy -p model -p jobs -p scoring -p worker -p service -p synth -p tps -p benchmarks
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

# The whole docker-compose stack on this machine (CPU worker): minutes, not for every CI run.
compose-test: setup
	bash docker/compose-test.sh
