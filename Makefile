# SignalFlow: `make demo` runs the whole system offline on bundled data; `make test` runs the suite.
SHELL := /bin/bash
PYTHON_BIN ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: install lock services services-stop migrate lint format test bench demo run clean

install: $(STAMP)  ## build or refresh .venv from requirements.txt

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-*; touch $@

lock:  ## re-resolve requirements.in into the pinned requirements.txt
	rm -rf /tmp/signalflow-lock && $(PYTHON_BIN) -m venv /tmp/signalflow-lock
	/tmp/signalflow-lock/bin/pip install --quiet -r requirements.in
	{ echo "# Pinned lock for Python 3.11, generated from requirements.in by 'make lock'. Do not edit by hand."; \
	  /tmp/signalflow-lock/bin/pip freeze | sed -e 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > requirements.txt

services: install  ## start PostgreSQL, Redis and Tansu on loopback (idempotent) and create topics
	./scripts/services.sh up

services-stop:  ## stop only what `make services` started
	./scripts/services.sh down

migrate: services
	$(PY) manage.py migrate --no-input

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: install lint services  ## ruff, then the whole suite against the real services
	$(VENV)/bin/pytest --create-db $(PYTEST_ARGS)  # a fresh test database: nothing left over from an earlier run

bench: migrate  ## throughput, latency and memory; results go to docs/benchmarks.md by hand
	$(PY) -m bench $(BENCH_ARGS)

demo: migrate  ## offline demo on the bundled corpus: every process, URLs and a login printed
	./scripts/run_stack.sh demo

run: migrate  ## the live sources (Hacker News and Bluesky need no credentials)
	./scripts/run_stack.sh live

clean:
	rm -rf var/ .run/ .pytest_cache .ruff_cache
