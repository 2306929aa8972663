# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install dev clean bench matrix

$(BIN)/dropin: pyproject.toml setup.py server/media/_fanout.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/dropin

## run: start a Dropin node on http://127.0.0.1:8000 (its own Redis unless REDIS_URL is set)
run: install
	$(BIN)/dropin serve

## test: lint and type checks, then unit, integration (real Redis, real server) and end-to-end
## (headless Chromium) tests
test: install
	@test -x /usr/bin/chromium || { echo "make test needs Chromium: apt-get install chromium"; exit 1; }
	$(BIN)/ruff check server signaling vocabulary tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

## bench: the fan-out benchmark (about 2 minutes here); writes docs/benchmarks.md and docs/fanout.png
bench: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/fanout.py

## matrix: rewrite web/js/matrix.js after changing vocabulary/actions.py or server/rules/permissions.py
matrix: install
	$(BIN)/python -m server.rules.permissions > web/js/matrix.js

clean:
	rm -rf $(VENV) .pytest_cache .dropin
