# Comment Classifier: `make` or `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The folder of public corpora that `make train` imports (see ../shared/data/SOURCES.md).
DATA_DIR ?= ../shared/data
# Optional: your own labelled CSV/TSV/JSONL file (text,label[,source,group]).
DATA ?=
# CORPORA=0 trains on DATA alone; FORCE=1 promotes the new version even if the gate refuses it.
CORPORA ?= 1
FORCE ?= 0
TRAIN_ARGS ?=
# make soak: seconds of mixed load and client threads (each a kept-alive connection).
SOAK_SECONDS ?= 180
SOAK_CLIENTS ?= 4
# The SQLite file of moderators' feedback, and where `make feedback-export` writes it as JSONL.
FEEDBACK_DB ?= var/feedback.sqlite3
FEEDBACK_OUT ?= var/feedback.jsonl
FEEDBACK_BACKUP ?= var/backups/feedback-$(shell date -u +%Y%m%dT%H%M%SZ).$(if $(COMMENT_CLASSIFIER_DATABASE_URL),dump,sqlite3)
# The model store (versions plus a pointer to the current one): `make train`/`make retrain` add to it,
# `make run`, `make report`, `make bench` and the CLI read its current version; model/ is only the seed.
MODELS ?= var/models
# Feedback in PostgreSQL instead of FEEDBACK_DB when set (postgresql://user@host:port/db): the
# store every replica shares; retrain, feedback-export and feedback-backup then use it.
COMMENT_CLASSIFIER_DATABASE_URL ?=
FEEDBACK_STORE = $(or $(COMMENT_CLASSIFIER_DATABASE_URL),$(FEEDBACK_DB))
# make topology: its folder (database, model store, logs), nginx's port and the replicas' ports.
TOPOLOGY_RUN ?= var/topology
TOPOLOGY_PORT ?= 8100
TOPOLOGY_REPLICA_PORTS ?= 8101,8102
TOPOLOGY_PG_PORT ?= 8132

.PHONY: help install install-dev run openapi test test-all train bench bench-production soak soak-production report clean feedback-export feedback-backup retrain ship models rollback topology topology-stop

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed ## create .venv and install the service

install-dev: $(VENV)/.installed-dev ## create .venv and install with the dev extra

run: $(VENV)/.installed ## serve the current model in MODELS (seeded from the shipped model) on HOST:PORT
	$(BIN)/python -m model.store init --store "$(MODELS)"
	HOST=$(HOST) PORT=$(PORT) COMMENT_CLASSIFIER_MODEL_DIR="$(MODELS)" COMMENT_CLASSIFIER_FEEDBACK_DB="$(FEEDBACK_DB)" \
	  $(BIN)/gunicorn -c service/gunicorn.conf.py service.wsgi:app

openapi: $(VENV)/.installed ## regenerate service/openapi.json from the request models (service/schemas.py) and its template
	$(BIN)/python -m service.openapi

# make test: the fast suite (unit, API, real data); nothing installed, no server, no browser, no fuzzing.
# make test-all: everything, after installing chromium, nginx and PostgreSQL where missing (as root).
FAST_TESTS := not live and not browser and not fuzz
PYTEST_ARGS ?=

test: $(VENV)/.installed-dev ## the fast test suite: unit, API and real-data tests (a few minutes)
	$(BIN)/python -m pytest -m "$(FAST_TESTS)" $(PYTEST_ARGS)

test-all: $(VENV)/.installed-dev ## every test: the fast suite plus live servers, the browser and fuzzing (installs what they need)
	bash tests/install-browser.sh
	bash tests/install-servers.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# make train and make retrain are one command (python -m training) with one gate, writing to MODELS;
# retrain adds the moderators' feedback in FEEDBACK_DB.
TRAIN = $(BIN)/python -m training --store "$(MODELS)" \
	  $(if $(filter 1,$(CORPORA)),--data-dir "$(DATA_DIR)",--no-corpora) \
	  $(if $(DATA),--data "$(DATA)") $(if $(filter 1,$(FORCE)),--force) $(TRAIN_ARGS)

train: $(VENV)/.installed ## train on DATA_DIR (and DATA=file); add to MODELS, promote if the gate passes (FORCE=1)
	@if [ "$(CORPORA)" = 1 ] && [ ! -d "$(DATA_DIR)" ]; then \
	  echo "make $@: data folder '$(DATA_DIR)' not found: set DATA_DIR=path/to/corpora (or CORPORA=0 DATA=your-file.csv)" >&2; exit 2; fi
	$(BIN)/python -m model.store init --store "$(MODELS)"
	$(TRAIN)

retrain: $(VENV)/.installed ## make train plus the moderators' feedback (FEEDBACK_DB, or the database URL)
	@if [ "$(CORPORA)" = 1 ] && [ ! -d "$(DATA_DIR)" ]; then \
	  echo "make $@: data folder '$(DATA_DIR)' not found: set DATA_DIR=path/to/corpora (or CORPORA=0 DATA=your-file.csv)" >&2; exit 2; fi
	$(BIN)/python -m model.store init --store "$(MODELS)"
	$(TRAIN) --feedback "$(FEEDBACK_STORE)"

ship: $(VENV)/.installed ## publish MODELS' current version as the shipped seed in model/ (what make run seeds from)
	$(BIN)/python -m model.store export --store "$(MODELS)" --to model

models: $(VENV)/.installed ## list the model versions in MODELS with their metrics (* = current)
	$(BIN)/python -m model.store list --store "$(MODELS)"

rollback: $(VENV)/.installed ## make the previous model version in MODELS current again
	$(BIN)/python -m model.store rollback --store "$(MODELS)"

# make bench measures production's sync workers; WORKER_CLASS=gthread make bench measures make run's.
bench: $(VENV)/.installed-dev ## benchmark the service (current model in MODELS) under gunicorn against a hello-world floor
	WORKER_CLASS=$(or $(WORKER_CLASS),sync) $(BIN)/python -m bench $(if $(filter-out var/models,$(MODELS)),--model "$(MODELS)")
	$(BIN)/python -m bench.adversarial

bench-production: $(VENV)/.installed-dev ## production's topology (nginx, then sync or threaded gunicorn workers) under load, alternating
	$(BIN)/python -m bench.production $(if $(filter-out var/models,$(MODELS)),--model "$(MODELS)")

soak: $(VENV)/.installed ## mixed load on 127.0.0.1 for SOAK_SECONDS: errors by kind, p99 over time, worker memory
	$(BIN)/python -m bench.soak --seconds $(SOAK_SECONDS) --clients $(SOAK_CLIENTS)

soak-production: $(VENV)/.installed ## the same, as production runs: sync workers behind nginx (needs nginx)
	$(BIN)/python -m bench.soak --production --seconds $(SOAK_SECONDS) --clients $(SOAK_CLIENTS)

report: $(VENV)/.installed-dev ## write reports/ (plots and a summary) for the current model in MODELS
	$(BIN)/python -m training.report --data-dir "$(DATA_DIR)" $(if $(filter-out var/models,$(MODELS)),--model "$(MODELS)") --out reports

feedback-export: $(VENV)/.installed ## write the stored feedback (FEEDBACK_DB, or the database URL) as JSONL to FEEDBACK_OUT
	$(BIN)/python -m feedback export --db "$(FEEDBACK_STORE)" --out "$(FEEDBACK_OUT)"

feedback-backup: $(VENV)/.installed ## copy FEEDBACK_DB (or pg_dump the database URL) consistently, safe while serving, to FEEDBACK_BACKUP
	$(BIN)/python -m feedback backup --db "$(FEEDBACK_STORE)" --out "$(FEEDBACK_BACKUP)"

clean: ## remove the virtualenv and caches (keeps the shipped model)
	rm -rf $(VENV) .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

topology: $(VENV)/.installed ## nginx on TOPOLOGY_PORT before two replicas and PostgreSQL (apt-get install nginx postgresql)
	bash tests/install-servers.sh
	$(BIN)/python -m deploy.replicas.topology start --run "$(TOPOLOGY_RUN)" --port $(TOPOLOGY_PORT) \
	  --replica-ports $(TOPOLOGY_REPLICA_PORTS) --pg-port $(TOPOLOGY_PG_PORT)

topology-stop: $(VENV)/.installed ## stop what make topology started (its data stays in TOPOLOGY_RUN)
	$(BIN)/python -m deploy.replicas.topology stop --run "$(TOPOLOGY_RUN)"
