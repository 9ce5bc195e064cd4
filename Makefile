# Vinterr shop backend. `make run` serves on the embedded SQLite default; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export APP_ENV ?= development

.PHONY: run test test-sqlite test-postgresql lint format migrate bench venv clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

migrate: $(STAMP)
	$(PY) main.py migrate

run: $(STAMP) migrate
	$(PY) main.py serve

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The suite runs on SQLite, and on PostgreSQL too when TEST_DATABASE_URL names a server.
# A whole run also fails when a route's declared response was never received (tests/conftest.py).
COVERAGE := RESPONSE_SCHEMA_COVERAGE=$(if $(PYTEST_ARGS),,1)
test: $(STAMP) lint
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgresql; \
	else echo "TEST_DATABASE_URL is not set: PostgreSQL run skipped"; fi

test-sqlite: $(STAMP)
	TEST_DATABASE_URL= $(COVERAGE) $(PY) -m pytest $(PYTEST_ARGS)

test-postgresql: $(STAMP)
	$(COVERAGE) $(PY) -m pytest $(PYTEST_ARGS)

# wrk generates the load; without it the figures would measure a Python client instead.
bench: $(STAMP)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; } \
		|| { echo "bench: wrk is required (apt-get install wrk)"; exit 2; }
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var media .pytest_cache
