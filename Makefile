# Fangpin — the README's two commands are `make run` and `make test`.
PYTHON ?= python3
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
# Trust the system certificate store, as pip does on the same machine.
export UV_NATIVE_TLS := 1
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
PYTEST_ARGS ?=

.PHONY: setup run test test-fast test-flakes test-random lint bench bench-auth bench-monitoring migrate events clean

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
test test-fast test-flakes test-random: export PATH := $(abspath $(dir $(UV))):$(PATH)

test: setup
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# Without the slow fault tests, for quick iterations.
test-fast: setup
	$(VENV)/bin/python -m pytest -m "not slow" $(PYTEST_ARGS)

# Flake hunt: the suite 3 times with both cores kept busy by two busy loops, then once in
# random order. The loops are killed on exit and on a signal, and stop by themselves when
# the recipe's shell is gone (even killed). A failing run does not stop the later ones; the
# target fails if any run did.
BUSY_LOOP = $(PYTHON) -c 'import os; p = os.getppid(); all(iter(lambda: os.getppid() == p, False))'
RANDOM_RUN = seed=$${SEED:-$$($(PYTHON) -c 'import random; print(random.randrange(2**32))')}; \
	echo "== random order, seed $$seed (repeat it: make test-random SEED=$$seed)"; \
	$(VENV)/bin/python -m pytest -p randomly --randomly-seed=$$seed $(PYTEST_ARGS)

test-flakes: setup
	@$(BUSY_LOOP) & b1=$$!; $(BUSY_LOOP) & b2=$$!; \
	trap 'kill $$b1 $$b2 2>/dev/null' EXIT; trap 'exit 130' INT TERM HUP PIPE; \
	failed=0; \
	for run in 1 2 3; do \
		echo "== test-flakes: run $$run of 3, both cores busy"; \
		$(VENV)/bin/python -m pytest -p no:randomly $(PYTEST_ARGS) || failed=1; \
	done; \
	kill $$b1 $$b2 2>/dev/null; \
	$(RANDOM_RUN) || failed=1; \
	exit $$failed

# The suite in random order (pytest-randomly, off in plain runs); SEED=n repeats an order.
SEED ?=
test-random: setup
	@$(RANDOM_RUN)

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
