# The two commands of the README: `make up` (run the system) and `make test` (run every test).
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PGTAP_CONTROL := /usr/share/postgresql/15/extension/pgtap.control

.PHONY: up test lint deps system-deps bench

deps:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --quiet

# Debian packages the test suite needs: pgTAP for the server's version, Chromium (driven by Playwright through
# /usr/bin/chromium for the browser tests; no browser download) and a font for legible screenshots.
system-deps:
	@missing=""; \
	[ -f "$(PGTAP_CONTROL)" ] || missing="$$missing postgresql-15-pgtap"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -d /usr/share/fonts/truetype/dejavu ] || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
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
