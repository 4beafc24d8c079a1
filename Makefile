# The two commands a newcomer needs: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Two stamps: what the panel needs to run (`make demo`), and the test tools on top (`make test`).
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
# The PostgreSQL the test suite runs on (pytest-django makes its own test_* database there).
TEST_DATABASE_URL ?= postgres://root@127.0.0.1:5432/test
# The browser tests drive Debian's headless Chromium (never a downloaded one).
CHROMIUM ?= /usr/bin/chromium

.PHONY: setup browser gettext messages demo test test-sqlite test-postgres lint bench mutate clean

setup: $(STAMP)

# The panel and its runtime dependencies only (pyproject.toml's `dependencies`).
$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The test tools (the `dev` extra: pytest, mypy, ruff, Playwright ...), redone whenever the runtime is.
$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# GNU gettext: the translation tests extract the site's strings again (xgettext, msgmerge, msgfmt).
gettext:
	@command -v xgettext >/dev/null || apt-get install -y gettext || { apt-get update && apt-get install -y gettext; } \
	  || { echo "Cannot install GNU gettext (apt-get install -y gettext): the translation tests need it" >&2; exit 1; }

# After changing any marked string: regenerate the Spanish catalogue, translate what is new
# (tests/test_translations.py lists it), then run this again to compile it.
messages: setup gettext
	cd smmpanel && SMMPANEL_DATA_DIR=$(CURDIR)/data/messages ../$(BIN)/smmpanel makemessages \
	  --locale es --no-obsolete --add-location file
	cd smmpanel && SMMPANEL_DATA_DIR=$(CURDIR)/data/messages ../$(BIN)/smmpanel compilemessages --locale es

demo: $(RUN_STAMP)
	$(BIN)/smmpanel demo

# The SQLite and PostgreSQL suites run side by side (one per core); each one's output is
# printed in one piece when it ends.
test: setup browser gettext lint
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

# Debian's chromium for the browser tests, installed where missing (needs root and apt).
browser:
	@test -x $(CHROMIUM) || apt-get install -y chromium || { apt-get update && apt-get install -y chromium; } \
	  || { echo "Cannot install chromium (apt-get install -y chromium): the browser tests need $(CHROMIUM)" >&2; exit 1; }
	@test -x $(CHROMIUM) || { echo "$(CHROMIUM) is still missing after installing chromium" >&2; exit 1; }

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

# Mutation testing of the money code ([tool.mutmut] in pyproject.toml; docs/mutation.md), one test
# process at a time (the machine is shared). Not part of `make test`: it takes about an hour.
# First every mutant against the money tests on SQLite (state in ./mutants, so a second run only
# checks what changed); then the PostgreSQL-only code (the ledger's conditional UPDATE, the
# per-customer lock, sums in SQL), not reached on SQLite, again against PostgreSQL from a copy of the
# tree. A mutant is killed when either run kills it. Prints the survivors (`.venv/bin/mutmut show
# NAME` shows one) and the score.
MUTATE_STAMP := $(VENV)/.installed-mutate
$(MUTATE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,mutate]'
	touch $@

MUTATE_PG_DIR := $(CURDIR)/data/mutate-postgres
MUTATE_DATABASE_URL ?= postgres://root@127.0.0.1:5432/mutate
PG_ONLY_MUTANTS := 'smmpanel.ledger.services.x__apply_postgresql*' 'smmpanel.ledger.services.x_exact_sums*' \
  'smmpanel.orders.placement.x__take_turns*'

mutate: $(MUTATE_STAMP)
	@# mutmut never removes from its copy (mutants/) a file the tree no longer has, and a module
	@# moved elsewhere would still be imported from there first: drop such files.
	@if [ -d mutants ]; then cd mutants && find smmpanel tests -name '*.py' | while read -r f; do \
	  [ -e "../$$f" ] || { echo "mutants/$$f: gone from the tree"; rm -f "$$f" "$$f.meta"; }; done; fi
	SMMPANEL_DATA_DIR=$(CURDIR)/data/mutate DATABASE_URL= $(BIN)/mutmut run --max-children 1
	rm -rf $(MUTATE_PG_DIR)/tree && mkdir -p $(MUTATE_PG_DIR)/tree
	cp -r smmpanel tests pyproject.toml $(MUTATE_PG_DIR)/tree/
	cd $(MUTATE_PG_DIR)/tree && SMMPANEL_DATA_DIR=$(MUTATE_PG_DIR)/data DATABASE_URL=$(MUTATE_DATABASE_URL) \
	  $(CURDIR)/$(BIN)/mutmut run --max-children 1 $(PG_ONLY_MUTANTS)
	@$(BIN)/mutmut results --all true > data/mutate/results-sqlite.txt
	@cd $(MUTATE_PG_DIR)/tree && $(CURDIR)/$(BIN)/mutmut results --all true > $(MUTATE_PG_DIR)/results-postgresql.txt
	@echo "Surviving mutants:"
	@$(BIN)/python tools/mutation_score.py data/mutate/results-sqlite.txt $(MUTATE_PG_DIR)/results-postgresql.txt

clean:
	rm -rf $(VENV) data/test-sqlite data/test-postgres data/mutate data/mutate-postgres mutants
