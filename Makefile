# Quick start: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fetchpool demo

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

format: $(STAMP)
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

# fetchpool against curl and friends on a local nginx; results in out/bench/ (see BENCHMARKS.md).
# Installs nginx-light, its echo module, curl and GNU time with apt-get (as root, or with sudo)
# when missing, and the benchmark's Python clients into .venv. BENCH_ARGS=--quick: a smoke run.
BENCH_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
bench: $(STAMP)
	@if ! command -v nginx >/dev/null || ! command -v curl >/dev/null \
	    || [ ! -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] || [ ! -x /usr/bin/time ]; then \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    nginx-light libnginx-mod-http-echo curl time; \
	fi
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	@# Byte-compiled, as an installed wheel is: start-up is then measured as users see it
	@# (an editable install compiles nothing, and PYTHONDONTWRITEBYTECODE may forbid caching).
	$(BIN)/python -m compileall -q src >/dev/null
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
