# Fangpin — the README's two commands are `make run` and `make test`.
PYTHON ?= python3
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
# Trust the system certificate store, as pip does on the same machine.
export UV_NATIVE_TLS := 1
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
PYTEST_ARGS ?=

.PHONY: setup run test test-fast lint bench bench-auth bench-monitoring migrate events clean

# uv itself comes from the package registry into .tools/ when the machine has none.
.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

$(VENV)/.synced: $(UV) uv.lock pyproject.toml libs/common/pyproject.toml services/*/pyproject.toml
	$(UV) sync --frozen --all-packages
	@touch $@

setup: $(VENV)/.synced

run: setup
	$(VENV)/bin/fangpin run

# The Dockerfile test replays its `uv sync` steps: the uv that set up the project does them.
test test-fast: export PATH := $(abspath $(dir $(UV))):$(PATH)

test: setup
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# Without the slow fault tests, for quick iterations.
test-fast: setup
	$(VENV)/bin/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check libs services tests bench

bench: setup
	$(VENV)/bin/python bench/outbox_relay.py

# An authorised read against the same read without authentication (target ratio ≥ 0.9).
bench-auth: setup
	$(VENV)/bin/python bench/auth_overhead.py

# Monitoring at 10k, 100k and 1M persons (many minutes); e.g. BENCH_ARGS="--sizes 10k,100k".
BENCH_ARGS ?=
bench-monitoring: setup
	$(VENV)/bin/python bench/monitoring_scale.py $(BENCH_ARGS)

migrate: setup
	$(VENV)/bin/fangpin migrate

events: setup
	$(VENV)/bin/fangpin events > deploy/asyncapi.json

clean:
	rm -rf var .venv .tools
