# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
# Django 6 needs Python 3.12 or newer; the machine's pyenv carries one beside its default 3.11.
PYTHON ?= $(shell for p in $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3 /root/.pyenv/versions/3.1[2-9]*/bin/python3 \
	$$(command -v python3.13) $$(command -v python3.12) $$(command -v python3); do \
	[ -x "$$p" ] && "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && echo "$$p" && break; done)
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
TEST_ENV := DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/healthplans} \
	REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}

.PHONY: run test test-fast lint typecheck pytest messages clean backup restore bench

$(BIN)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is needed (set PYTHON=/path/to/python3.12)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Reports print the address they are verified at (and encode it in their QR code): the one served
# here, unless SITE_URL says otherwise.
run: export SITE_URL ?= http://$(HOST):$(PORT)
run: $(BIN)/.installed
	mkdir -p var
	$(MANAGE) compilemessages --ignore '.venv' -v0
	$(MANAGE) migrate --noinput -v0
	$(MANAGE) load_seed
	$(MANAGE) demo_pki
	$(MANAGE) runserver $(HOST):$(PORT)

test: lint typecheck pytest

# The inner loop: the same lint, types and tests less the slow ones (browser, faults that restart
# PostgreSQL and Redis, API fuzzing); `make test` stays the whole suite.
test-fast: lint typecheck
	$(MANAGE) compilemessages --ignore '.venv' -v0
	$(TEST_ENV) $(BIN)/pytest -n 2 --dist loadfile -m "not browser" \
		--ignore=tests/browser --ignore=tests/faults --ignore=tests/security/test_api_fuzz.py

# ruff, and import-linter's contracts: the layers of the apps (pyproject.toml, README "Architecture").
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(BIN)/.installed
	$(BIN)/mypy .

pytest: $(BIN)/.installed
	$(MANAGE) compilemessages --ignore '.venv' -v0
	$(TEST_ENV) $(BIN)/pytest -n 2 --dist loadfile

# Figures of issue 7 at the province and nation scales (PostgreSQL and Redis as for the tests):
# generates hp_bench_province / hp_bench_nation once (BENCH_ARGS=--regenerate makes them again),
# writes benchmarks/out/latest.json and prints the table.
bench: $(BIN)/.installed
	command -v wrk >/dev/null || apt-get install -y -q wrk  # the load generator of actuals_list
	$(MANAGE) compilemessages --ignore '.venv' -v0
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# The database of DATABASE_URL (pg_dump) and the stored report files, into backups/<UTC time>/
# (or under BACKUP_DIR); `make restore BACKUP=backups/<time>` puts both back (NOINPUT=1: no question).
backup: $(BIN)/.installed
	$(MANAGE) backup

restore: $(BIN)/.installed
	@test -n "$(BACKUP)" || { echo "Say which backup: make restore BACKUP=backups/<time>"; exit 1; }
	$(MANAGE) restore "$(BACKUP)" $(if $(NOINPUT),--noinput)

messages: $(BIN)/.installed
	$(MANAGE) makemessages -l vi -l en --ignore '.venv/*' --ignore 'var/*'

clean:
	rm -rf var/healthplans.sqlite3 var/static var/media
