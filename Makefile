# SecondLoop: `make demo` serves the demo, `make test` passes the suite. Both are safe to re-run.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HTMX := core/static/vendor/htmx.min.js

.PHONY: install htmx npm chromium lint typecheck test test-postgres demo bench wheel clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

htmx: $(HTMX)

# htmx comes from the npm package `htmx.org`, pinned in package.json; never copied by hand.
# npm is order-only: having to install it does not make htmx stale.
$(HTMX): package.json | npm
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; \
	else npm install --no-audit --no-fund --silent; fi
	@mkdir -p $(dir $(HTMX))
	cp node_modules/htmx.org/dist/htmx.min.js $(HTMX)

# npm fetches htmx: Debian's nodejs and npm when it is missing (as root, like chromium below).
npm:
	@command -v npm >/dev/null || { \
		echo "npm not found: installing Debian's nodejs and npm"; \
		(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	@command -v npm >/dev/null || { echo "npm is still missing: install Node.js and npm" >&2; exit 1; }

# Debian's Chromium drives the browser tests (Playwright with executable_path, no download).
chromium:
	@command -v chromium >/dev/null || { \
		(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: install
	$(BIN)/ruff check core plugins sandbox tests bench

typecheck: install
	$(BIN)/mypy

test: install htmx chromium lint typecheck
	$(BIN)/pytest -q

# The same suite on PostgreSQL and Redis (what .ci/run does after `make test`). The sandbox's
# own tests touch no SecondLoop database or broker, so they run once, in `make test`.
test-postgres: install htmx chromium
	SECONDLOOP_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432 \
	SECONDLOOP_TEST_BROKER_URL=redis://127.0.0.1:6379/0 \
	$(BIN)/pytest -q --ignore=tests/sandbox

demo: install htmx
	$(BIN)/secondloop demo

# A wheel for a non-editable install, in dist/: the shell's templates (copied into the package
# by core/_build.py), plugin templates and static files, htmx, migrations and data files.
wheel: install htmx
	rm -rf build
	$(BIN)/pip wheel --quiet --no-deps --no-build-isolation --no-index -w dist .

bench: install
	$(BIN)/python bench/sandbox.py
	$(BIN)/python bench/webhook_intake.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/recovery_tick.py

clean:
	rm -rf var node_modules $(HTMX) .pytest_cache .mypy_cache .ruff_cache build dist
