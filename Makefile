# The two commands a newcomer needs: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The PostgreSQL the test suite runs on (pytest-django makes its own test_* database there).
TEST_DATABASE_URL ?= postgres://root@127.0.0.1:5432/test

.PHONY: setup demo test test-sqlite test-postgres lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(BIN)/smmpanel demo

test: setup lint test-sqlite test-postgres

lint: setup
	$(BIN)/ruff check smmpanel tests bench
	SMMPANEL_DATA_DIR=$(CURDIR)/data/lint $(BIN)/mypy

test-sqlite: setup
	SMMPANEL_DATA_DIR=$(CURDIR)/data/test-sqlite DATABASE_URL= $(BIN)/pytest

test-postgres: setup
	@$(BIN)/python -c "import psycopg,sys; psycopg.connect('$(TEST_DATABASE_URL)', connect_timeout=5).close()" \
	  || { echo "PostgreSQL is not answering at $(TEST_DATABASE_URL): start it (see README) and retry" >&2; exit 1; }
	SMMPANEL_DATA_DIR=$(CURDIR)/data/test-postgres DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest

bench: setup
	$(BIN)/python bench/api.py

clean:
	rm -rf $(VENV) data/test-sqlite data/test-postgres
