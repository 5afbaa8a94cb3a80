# Two entry points for a fresh machine: `make serve` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCKS := requirements
# Installs are from the hashed locks (requirements/lock.sh, `make lock`): every machine gets the
# same versions, and a changed file on the index is refused. The lock is complete, so --no-deps.
PIP_LOCKED := $(BIN)/pip install --quiet --require-hashes --no-deps -r
STALE := echo "pyproject.toml asks for what $(LOCKS)/*.txt lacks: run make lock" >&2; exit 1

.PHONY: setup setup-dev serve lint test lock compose-test compose-ops-test

# Serving needs no torch; only training and the model tests do.
$(VENV)/.installed: pyproject.toml $(LOCKS)/runtime.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(PIP_LOCKED) $(LOCKS)/runtime.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check || { $(STALE); }
	touch $@

# torch comes from requirements/torch.txt (a local CPU wheel where there is one), outside the
# hashed lock; its dependencies are in dev.txt.
$(VENV)/.installed-dev: $(VENV)/.installed $(LOCKS)/dev.txt $(LOCKS)/torch.txt
	$(PIP_LOCKED) $(LOCKS)/dev.txt
	$(BIN)/pip install --quiet --no-deps -r $(LOCKS)/torch.txt
	$(BIN)/pip check || { $(STALE); }
	touch $@

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

# After a change to the dependencies in pyproject.toml; LOCK_UPGRADE=1 make lock to move on.
lock:
	PY=$(PY) bash $(LOCKS)/lock.sh

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

# The operations checks: TLS proxy, two workers on one shared data volume, backup and restore
# into a fresh stack, a wrong database password, compose commands without variables.
compose-ops-test: setup
	bash docker/compose-ops-test.sh
