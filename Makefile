# loadcluster: `make help` lists the targets.
# Scenario targets run a real master and workers: as containers on Docker Compose when a Docker engine
# answers, else as local processes (RUNTIME=local|compose to choose). Settings pass through to the CLI as
# LOADCLUSTER_* variables, e.g. `make spike WORKERS=8`, `make stress SUITE=agent-mitra`.
# Scenario targets are the catalogue's scenario names (locust/scenarios.yaml; a test checks they match).
# make exits 2 on any failure; the verdict of the last run is in results/latest/summary.json.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BASELINE ?=
CURRENT ?=
QUICK ?=
AIRGAP_BASE := loadcluster/base:bookworm

# Each variable below is a row of the option table (src/loadcluster/options.py), which holds its
# default; empty means "not given", and a LOADCLUSTER_* variable already set is kept.
# tests/test_options.py keeps this list and the table in step.
SUITE ?= $(LOADCLUSTER_SUITE)
WORKERS ?= $(LOADCLUSTER_WORKERS)
USERS ?= $(LOADCLUSTER_USERS)
SPAWN_RATE ?= $(LOADCLUSTER_SPAWN_RATE)
DURATION ?= $(LOADCLUSTER_DURATION)
TIME_SCALE ?= $(LOADCLUSTER_TIME_SCALE)
HOST ?= $(LOADCLUSTER_HOST)
LOCUSTFILE ?= $(LOADCLUSTER_LOCUSTFILE)
RESULTS ?= $(LOADCLUSTER_RESULTS)
RUNTIME ?= $(LOADCLUSTER_RUNTIME)
MONITORING ?= $(LOADCLUSTER_MONITORING)
IMAGE ?= $(LOADCLUSTER_IMAGE)
BASE_IMAGE ?= $(LOADCLUSTER_BASE_IMAGE)
export LOADCLUSTER_SUITE := $(SUITE)
export LOADCLUSTER_WORKERS := $(WORKERS)
export LOADCLUSTER_USERS := $(USERS)
export LOADCLUSTER_SPAWN_RATE := $(SPAWN_RATE)
export LOADCLUSTER_DURATION := $(DURATION)
export LOADCLUSTER_TIME_SCALE := $(TIME_SCALE)
export LOADCLUSTER_HOST := $(HOST)
export LOADCLUSTER_LOCUSTFILE := $(LOCUSTFILE)
export LOADCLUSTER_RESULTS := $(RESULTS)
export LOADCLUSTER_RUNTIME := $(RUNTIME)
export LOADCLUSTER_MONITORING := $(MONITORING)
export LOADCLUSTER_IMAGE := $(IMAGE)
export LOADCLUSTER_BASE_IMAGE := $(BASE_IMAGE)

RUN := $(BIN)/loadcluster run --scenario

.DEFAULT_GOAL := help
.PHONY: help install install-dev run test lint bench scenarios smoke sustained stress spike \
	basic moderate heavy peak endurance multiple target compare clean image base-image up down docker-check

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  variables: SUITE WORKERS USERS SPAWN_RATE DURATION TIME_SCALE HOST LOCUSTFILE RESULTS (make spike WORKERS=8)"
	@echo "             RUNTIME=auto|local|compose MONITORING=1 (Grafana) IMAGE BASE_IMAGE"
	@echo "  \`.venv/bin/loadcluster run --help\` for every option, each also a LOADCLUSTER_* variable"

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

run: install ## the first run: a distributed smoke test, local processes against the bundled demo target
	$(BIN)/loadcluster run --runtime local --scenario smoke

test: install-dev lint ## lint, type-check and run the whole test suite (Compose tests need Docker)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: install-dev ## ruff and mypy
	$(BIN)/ruff check src tests locust bench
	$(BIN)/ruff format --check src tests locust bench
	$(BIN)/mypy src

scenarios: install ## the scenario catalogue as a table
	$(BIN)/loadcluster scenarios

smoke: install ## customer-success smoke (`make scenarios` shows every preset's figures)
	$(RUN) smoke

sustained: install ## customer-success sustained
	$(RUN) sustained

stress: install ## customer-success stress (SUITE=agent-mitra for its own)
	$(RUN) stress

spike: install ## customer-success spike
	$(RUN) spike

basic: install ## agent-mitra basic
	$(RUN) basic

moderate: install ## agent-mitra moderate
	$(RUN) moderate

heavy: install ## agent-mitra heavy
	$(RUN) heavy

peak: install ## agent-mitra peak
	$(RUN) peak

endurance: install ## agent-mitra endurance
	$(RUN) endurance

multiple: install ## the suite's scenario sequence with a combined summary
	$(BIN)/loadcluster run --multiple

target: install ## serve the demo target on http://127.0.0.1:8080
	$(BIN)/loadcluster target

compare: install ## compare two runs: make compare BASELINE=results/a CURRENT=results/b
	@test -n "$(BASELINE)" -a -n "$(CURRENT)" || { echo "set BASELINE=<run dir> and CURRENT=<run dir>"; exit 2; }
	$(BIN)/loadcluster compare $(BASELINE) $(CURRENT)

docker-check:
	@command -v docker >/dev/null || { echo "docker not found: install Docker (or use RUNTIME=local)"; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "Docker is installed but its daemon does not answer: start it"; exit 1; }

image: install docker-check ## build the loadcluster image if the source changed (BASE_IMAGE=... for its base)
	$(BIN)/loadcluster image

base-image: docker-check ## air-gapped: build the base and a Prometheus image from Debian packages (root)
	deploy/base-image/build.sh $(AIRGAP_BASE)
	docker build -q -f deploy/base-image/prometheus.Dockerfile -t loadcluster/prometheus:bookworm deploy/base-image

up: install docker-check ## interactive stack on Compose: demo target, workers, Locust web UI on :8089
	$(BIN)/loadcluster up

down: install docker-check ## remove the interactive stack
	$(BIN)/loadcluster down

bench: install ## benchmarks, run alone (a few minutes; needs nginx and wrk): results/bench-*/bench.md; QUICK=1 for a smoke run
	$(BIN)/python bench/run.py $(if $(QUICK),--quick)

clean: ## remove the virtualenv, caches and results
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache results

# --- Kubernetes: the Helm chart (helm/) and the plain manifests generated from it (deploy/k8s) ---
CHECKOV_VENV ?= .venv-checkov
.PHONY: chart k8s checkov-venv

chart: install-dev ## lint and render the Helm chart: every preset, every helm/ci/*-values.yaml, Kubernetes schemas
	$(BIN)/python -m pytest -q tests/test_chart.py

k8s: install-dev ## regenerate deploy/k8s (kustomize base and one overlay per scenario) from the Helm chart
	$(BIN)/python helm/generate_k8s.py deploy/k8s

$(CHECKOV_VENV)/bin/checkov:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or newer"; exit 1; }
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet checkov

checkov-venv: $(CHECKOV_VENV)/bin/checkov ## install checkov in its own virtualenv (its pins clash with ours); `make chart` then runs it
