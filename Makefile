# Atelier: two commands. `make run` brings it up on embedded defaults; `make test` proves it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# The stamp names the requirements' hash: editing a requirements file reinstalls on the next make.
REQS_HASH := $(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(REQS_HASH)
PORT ?= 8000
# `make fuzz`: generated requests per API operation (on top of the coverage phase's boundary values).
FUZZ_EXAMPLES ?= 100

.PHONY: run test lint format install clean fuzz bench-load

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py run_local --port $(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint
	DJANGO_SETTINGS_MODULE=config.settings.test DATABASE_URL=sqlite:///:memory: $(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

# The schema fuzz at length (`make test` runs the same test with 4 examples per operation): every answer
# documented, no 5xx; with it, the hostile bodies (nested JSON, NUL and surrogates, huge numbers) at every
# JSON operation.
fuzz: $(STAMP)
	ATELIER_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/test_api_schema.py -k "test_the_api_answers_as_its_schema_says or hostile_bodies" $(PYTEST_ARGS)

# The API under gunicorn at rising concurrency (bench/README.md); BENCH_ARGS="--requests 2000" for longer.
bench-load: $(STAMP)
	$(PY) bench/load.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
