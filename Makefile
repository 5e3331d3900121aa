# Haven Pre-Screen. The two front-door commands are `make run` and `make test`; each sets up what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV          := .venv
SERVICES_VENV := .venv-services
PY            := $(VENV)/bin/python
SPY           := $(SERVICES_VENV)/bin/python
# Through services.quiet: library deprecation notices and Rasa's expected FAQ warnings stay off the console.
RASA          := RASA_TELEMETRY_ENABLED=false $(PY) -m services.quiet rasa
MODEL         := models/current.tar.gz
TRAIN_TIME    := models/current.train.json
TRAINING_DATA := data/nlu data/rules data/stories
TRAINING_INPUTS := config.yml domain.yml $(shell find data/nlu data/rules data/stories rasa_ext -name '*.yml' -o -name '*.py' 2>/dev/null)

export RASA_TELEMETRY_ENABLED := false
export PYTHONPATH := $(CURDIR)

.PHONY: help setup train run test lint eval bench clean purge

help:
	@echo "make run    set up, train if needed, and start the whole stack (Ctrl-C stops it)"
	@echo "make test   set up, train if needed, and run every test"
	@echo "make lint   ruff (lint, format) and mypy; part of make test"
	@echo "make eval   crisis-detection, NLU and clinic-question evaluation reports in reports/"
	@echo "make purge  delete conversations idle for RETENTION_DAYS and delivered outbox events, once"
	@echo "make bench  latency and throughput under 1, 10, 50 concurrent visitors: reports/bench.md (docs/bench.md)"

setup: $(VENV)/.installed $(SERVICES_VENV)/.installed

# The Rasa environment: Python 3.10 ($$PYTHON, then python3.10 on PATH, then pyenv).
$(VENV)/.installed: requirements.txt constraints.txt
	@py=$$(scripts/find_python.sh PYTHON 3.10) || exit 1; \
	  [ -x $(PY) ] || $$py -m venv $(VENV); \
	  $(PY) -m pip install -q -r requirements.txt -c constraints.txt
	@touch $@

# The services environment (staff inbox, deliverer): a current Python and a current, patched aiohttp; every
# package pinned by constraints-services.txt (as constraints.txt pins the Rasa environment).
$(SERVICES_VENV)/.installed: requirements-services.txt constraints-services.txt
	@py=$$(scripts/find_python.sh SERVICES_PYTHON 3.12 3.13 3.11 3.10) || exit 1; \
	  [ -x $(SPY) ] || $$py -m venv $(SERVICES_VENV); \
	  $(SPY) -m pip install -q -r requirements-services.txt -c constraints-services.txt
	@touch $@

train: $(MODEL)

# The training's duration (validation included) goes to $(TRAIN_TIME) beside the model: `make bench` reports it.
$(MODEL): $(VENV)/.installed $(TRAINING_INPUTS)
	@mkdir -p models && date +%s > models/.train-started
	$(RASA) data validate --data $(TRAINING_DATA) --fail-on-warnings
	$(RASA) train --data $(TRAINING_DATA) --out models --fixed-model-name current
	@touch $@
	@started=$$(cat models/.train-started) && rm -f models/.train-started && \
	  printf '{"seconds": %d, "finished": "%s", "cores": %d}\n' $$(( $$(date +%s) - started )) \
	    "$$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$$(nproc)" > $(TRAIN_TIME)

# The launcher is standard library + bot/settings.py: it runs in the services environment and starts each child
# with its own environment's python (actions and Rasa in .venv, inbox and deliverer in .venv-services).
run: setup train
	$(SPY) -m services.launcher

test: setup train lint
	@scripts/ensure_chromium.sh
	@scripts/ensure_axe.sh
	@scripts/ensure_nginx.sh
	$(PY) -m pytest -q tests --ignore=tests/services --ignore=tests/deploy
	$(SPY) -m pytest -q tests/services tests/bot/handoff tests/deploy

# Lint and format (ruff) over the tree, types (mypy) on bot/, services/, rasa_ext/ and actions/; settings in
# pyproject.toml. Both tools live in the services environment; Rasa and rasa-sdk ship no types, so mypy needs
# nothing from the Rasa environment.
lint: $(SERVICES_VENV)/.installed
	$(SPY) -m ruff check .
	$(SPY) -m ruff format --check .
	$(SPY) -m mypy

# The retention job once (`make run` runs it every PURGE_INTERVAL_MINUTES in the deliverer): counts, no identifiers.
purge: $(SERVICES_VENV)/.installed
	$(SPY) -m services.purge

eval: setup train
	$(PY) scripts/evaluate.py
	$(PY) scripts/eval_faq.py

# The real stack on free loopback ports, 1 then 2 instances on PostgreSQL and Redis (BENCH_PROFILE=embedded: 1
# instance on the default stores), screenings against the floor; bounded in time (docs/bench.md).
bench: setup train
	$(PY) scripts/bench.py

clean:
	rm -rf models results reports/tmp
