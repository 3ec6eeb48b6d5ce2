# `make run` serves the app in embedded mode; `make test` runs the whole suite.
# Each creates .venv and installs the project into it on first use.

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint services clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/nappatzim serve

test: $(STAMP) services
	$(VENV)/bin/pytest -n 2

lint: $(STAMP)
	$(VENV)/bin/ruff check server events tasks storage tests bench
	$(VENV)/bin/ruff format --check server events tasks storage tests bench
	$(VENV)/bin/mypy

services:
	@deploy/ensure-services.sh

clean:
	rm -rf $(VENV) .nappatzim .pytest_cache
