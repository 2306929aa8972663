# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# puppeteer-core for the Firefox ESR tests (tests/firefox); reinstalled when its lock file changes.
NODE_MODULES := tests/firefox/node_modules/.installed

.PHONY: run test install dev clean bench matrix

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

## run: start a Dropin node on http://127.0.0.1:8000 (its own Redis unless REDIS_URL is set)
run: $(BIN)/dropin
	$(BIN)/dropin serve

## test: lint and type checks, then unit, integration (real Redis, real server) and end-to-end
## (headless Chromium, and Firefox ESR driven from Node.js) tests
test: install
	@test -x /usr/bin/chromium || { echo "make test needs Chromium: apt-get install chromium"; exit 1; }
	@test -x /usr/bin/firefox-esr || { echo "make test needs Firefox ESR: apt-get install firefox-esr"; exit 1; }
	@command -v node >/dev/null || { echo "make test needs Node.js: apt-get install nodejs npm"; exit 1; }
	@command -v turnserver >/dev/null || { echo "make test needs coturn (a real TURN server): apt-get install coturn"; exit 1; }
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
