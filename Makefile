# Every target installs what it needs into the project: uv (bootstrapped into .tools/ if the
# machine has none), then the locked environment in .venv/ (uv.lock, --frozen: never re-resolved).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
VENV := $(CURDIR)/.venv
RUN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(VENV)
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
RATES_PORT ?= 8765
UI_PORT ?= 3000
# The UI test drives Debian's Chromium (Playwright's own browser download cannot reach the internet).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help setup chromium demo test dev lint bench clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet uv==$(UV_VERSION)

# --compile-bytecode: machines that set PYTHONDONTWRITEBYTECODE would otherwise compile dagster
# from source in every process (about 10 s each); compiling once here took `make test` from
# 330 s to 220 s on a 2-core machine.
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

setup: $(VENV)/.synced  ## install the locked environment into .venv/

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

demo: setup $(DAGSTER_HOME)/dagster.yaml  ## simulate the last 7 days and materialize the whole graph
	$(RUN)/python -m reliable_assets.demo

chromium:  ## install Debian's chromium for the UI test when it is missing (apt-get; make test does it)
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for the browser test (apt-get)"; \
	  $(SUDO) apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
	  || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y --no-install-recommends chromium >/dev/null; }; }
	@test -x $(CHROMIUM) || { echo "no Chromium at $(CHROMIUM): install it (Debian: apt-get install chromium)"; exit 1; }

# Three workers on two cores: the whole-deployment tests (daemon/) spend most of their minutes
# waiting on the daemon's ticks, so a third worker keeps both cores busy meanwhile.
test: setup chromium  ## run the test suite (installs Debian's chromium for the UI test if missing)
	$(RUN)/pytest -n 3

# Ctrl-C reaches every process of the recipe (the terminal signals its whole foreground process
# group); the trap also stops the rates API when `dagster dev` ends by itself.
dev: setup $(DAGSTER_HOME)/dagster.yaml  ## open the Dagster UI (webserver + daemon) on http://127.0.0.1:3000
	$(RUN)/reliable-assets rates-api --port $(RATES_PORT) & rates=$$!; \
	trap "kill $$rates 2>/dev/null" EXIT; \
	RATES_API_URL=http://127.0.0.1:$(RATES_PORT) $(RUN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(UI_PORT) \
	  $(if $(filter json,$(RELIABLE_ASSETS_LOG_FORMAT)),--log-format json)

lint: setup  ## ruff (lint + format check) and mypy
	$(RUN)/ruff check .
	$(RUN)/ruff format --check .
	$(RUN)/mypy reliable_assets reliable_assets_tests benchmarks

bench: setup  ## print performance figures and write .bench/results.json
	$(RUN)/python -m benchmarks

clean:  ## remove the local data folder, Dagster home and environments
	rm -rf .data .dagster_home .venv .tools .bench
