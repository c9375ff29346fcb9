# loadcluster: `make help` lists the targets.
# Scenario targets run a real master and workers as local processes; settings pass through to the
# CLI as LOADCLUSTER_* variables, e.g. `make spike WORKERS=8`, `make stress SUITE=agent-mitra`.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUITE ?=
WORKERS ?=
USERS ?=
SPAWN_RATE ?=
DURATION ?=
TIME_SCALE ?=
HOST ?=
RESULTS ?= results
BASELINE ?=
CURRENT ?=

export LOADCLUSTER_SUITE = $(SUITE)
export LOADCLUSTER_WORKERS = $(WORKERS)
export LOADCLUSTER_USERS = $(USERS)
export LOADCLUSTER_SPAWN_RATE = $(SPAWN_RATE)
export LOADCLUSTER_DURATION = $(DURATION)
export LOADCLUSTER_TIME_SCALE = $(TIME_SCALE)
export LOADCLUSTER_HOST = $(HOST)
export LOADCLUSTER_RESULTS = $(RESULTS)

RUN := $(BIN)/loadcluster run --scenario

.DEFAULT_GOAL := help
.PHONY: help install install-dev run test lint scenarios smoke sustained stress spike \
	basic moderate heavy peak endurance multiple target compare clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  variables: SUITE WORKERS USERS SPAWN_RATE DURATION TIME_SCALE HOST RESULTS (e.g. make spike WORKERS=8)"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed ## create .venv and install loadcluster into it

install-dev: $(VENV)/.installed-dev ## install with the test and lint tools

run: smoke ## the first run: a distributed smoke test against the bundled demo target

test: install-dev lint ## lint, type-check and run the whole test suite
	$(BIN)/python -m pytest

lint: install-dev ## ruff and mypy
	$(BIN)/ruff check src tests locust
	$(BIN)/ruff format --check src tests locust
	$(BIN)/mypy src

scenarios: install ## the scenario catalogue as a table
	$(BIN)/loadcluster scenarios

smoke: install ## customer-success smoke: 10 users, 1 min
	$(RUN) smoke

sustained: install ## customer-success sustained: 100 users, 1 h
	$(RUN) sustained

stress: install ## stress: 500 users, 10 min (SUITE=agent-mitra: 200 users)
	$(RUN) stress

spike: install ## customer-success spike: 1000 users at 200/s, 5 min
	$(RUN) spike

basic: install ## agent-mitra basic: 10 users, 1 min
	$(RUN) basic

moderate: install ## agent-mitra moderate: 50 users, 2 min
	$(RUN) moderate

heavy: install ## agent-mitra heavy: 100 users, 3 min
	$(RUN) heavy

peak: install ## agent-mitra peak: 100 users in steps, 5 min
	$(RUN) peak

endurance: install ## agent-mitra endurance: 50 users, 30 min
	$(RUN) endurance

multiple: install ## the suite's scenario sequence with a combined summary
	$(BIN)/loadcluster run --multiple

target: install ## serve the demo target on http://127.0.0.1:8080
	$(BIN)/loadcluster target

compare: install ## compare two runs: make compare BASELINE=results/a CURRENT=results/b
	@test -n "$(BASELINE)" -a -n "$(CURRENT)" || { echo "set BASELINE=<run dir> and CURRENT=<run dir>"; exit 2; }
	$(BIN)/loadcluster compare $(BASELINE) $(CURRENT)

clean: ## remove the virtualenv, caches and results
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache results
