# The whole set-up on a fresh machine is two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
HOST ?= 127.0.0.1
PORT ?= 8000
# The site's own address, for the demo (its Slack sandbox, --send-invoice): the port it is
# served on (`make run PORT=8123`), reached on loopback when HOST listens everywhere.
SITE_HOST := $(if $(filter 0.0.0.0 :: [::],$(HOST)),127.0.0.1,$(HOST))
AUTOMATE_SITE_URL ?= http://$(SITE_HOST):$(PORT)
export PYTHONPATH := $(CURDIR)/backend:$(CURDIR)

.PHONY: run test install install-dev install-bench lint migrate demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Each sentinel is rebuilt when the dependency list or the pins change.
$(VENV)/.installed-run: pyproject.toml requirements/constraints.txt | $(PY)
	$(PIP) install --quiet -c requirements/constraints.txt -e .
	touch $@

# The example connector package (examples/automate-connector-example) is installed too:
# it registers by entry point and `make test` runs its own tests (tier connector-example).
$(VENV)/.installed-dev: pyproject.toml requirements/constraints.txt examples/automate-connector-example/pyproject.toml | $(PY)
	$(PIP) install --quiet -c requirements/constraints.txt -e ".[dev]"
	$(PIP) install --quiet --no-deps -e examples/automate-connector-example
	touch $@ $(VENV)/.installed-run

# The benchmarks' peers (procrastinate for bench/drain.py): never needed by `make test`.
$(VENV)/.installed-bench: pyproject.toml requirements/constraints.txt | $(PY)
	$(PIP) install --quiet -c requirements/constraints.txt -e ".[bench]"
	touch $@ $(VENV)/.installed-run

# The studio's front-end packages (AntV X6, dagre, htmx) come from the npm registry.
node_modules/.installed: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

install: $(VENV)/.installed-run node_modules/.installed
install-dev: $(VENV)/.installed-dev node_modules/.installed
install-bench: $(VENV)/.installed-bench

migrate: install
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput

demo: migrate
	DJANGO_DEBUG=1 AUTOMATE_SITE_URL=$(AUTOMATE_SITE_URL) $(PY) manage.py automate_demo

## make run: install, migrate, load the demo and serve the site (daphne, SQLite, worker threads).
## Another port or address: make run PORT=8123 (HOST=0.0.0.0 to listen on every interface).
run: demo
	@echo ""
	@echo "  Django Automate is starting on http://$(HOST):$(PORT)/"
	@echo "  Admin:  http://$(HOST):$(PORT)/admin/   (credentials above)"
	@echo "  Stop with Ctrl+C."
	@echo ""
	DJANGO_DEBUG=1 AUTOMATE_SITE_URL=$(AUTOMATE_SITE_URL) exec $(VENV)/bin/daphne -b $(HOST) -p $(PORT) config.asgi:application

## make test: install what the tests need and run every tier (lint, unit, integration on
## SQLite and PostgreSQL, conformance, browser), ending with a summary line.
test: install-dev
	@scripts/run-tests

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy backend studio

## make messages: refresh the apps' translation catalogs and compile them (GNU gettext).
messages: install-dev
	$(PY) scripts/messages

clean:
	rm -rf $(VENV) .venv-py*-dj* var artifacts
