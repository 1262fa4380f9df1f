# The two commands of the README: `make up` (run the system) and `make test` (run every test).
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PGTAP_CONTROL := /usr/share/postgresql/15/extension/pgtap.control

.PHONY: up test lint deps system-deps bench

deps:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --quiet

# Debian packages the test suite needs: pgTAP for the server's version.
system-deps:
	@if [ ! -f "$(PGTAP_CONTROL)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-pgtap >/dev/null; \
	  else \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-pgtap >/dev/null; \
	  fi; \
	fi

up: deps
	$(UV) run qms up $(ARGS)

lint: deps
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

test: deps system-deps lint
	$(UV) run pytest -n 2 -m "not slow"

bench: deps
	$(UV) run python -m bench.run $(ARGS)
