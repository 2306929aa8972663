# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# puppeteer-core for the Firefox ESR tests (tests/firefox); reinstalled when its lock file changes.
NODE_MODULES := tests/firefox/node_modules/.installed

.PHONY: run test system install dev clean bench matrix

$(BIN)/dropin: pyproject.toml setup.py server/media/_fanout.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(NODE_MODULES): tests/firefox/package-lock.json
	@command -v npm >/dev/null || { echo "make install needs Node.js and npm (the Firefox tests' driver): apt-get install nodejs npm"; exit 1; }
	npm ci --prefix tests/firefox --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/dropin $(NODE_MODULES)

## system: the Debian packages the tests need (installed as root or with sudo; else says which)
system:
	@tests/system-packages.sh

## run: start a Dropin node on http://127.0.0.1:8000 (its own Redis unless REDIS_URL is set)
run: $(BIN)/dropin
	$(BIN)/dropin serve

## test: everything set up (system packages, the virtualenv, the Firefox driver), lint and type
## checks, then unit, integration (real Redis, real server, real coturn) and end-to-end (headless
## Chromium, and Firefox ESR driven from Node.js) tests
test: system install
	@$(BIN)/python -c "import server.media._fanout" || { echo "the forwarder's C loop did not build (gcc, python3-dev)"; exit 1; }
	$(BIN)/ruff check server signaling vocabulary tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

## bench: the fan-out benchmark (about 2 minutes here); writes docs/benchmarks.md and docs/fanout.png
bench: $(BIN)/dropin
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/fanout.py

## matrix: rewrite web/js/matrix.js after changing vocabulary/actions.py or server/rules/permissions.py
matrix: $(BIN)/dropin
	$(BIN)/python -m server.rules.permissions > web/js/matrix.js

clean:
	rm -rf $(VENV) .pytest_cache .dropin tests/firefox/node_modules
