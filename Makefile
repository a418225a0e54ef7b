# The targets here are the commands CI runs, so local and CI stay identical.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { command -v $$p; break; }; done)

.PHONY: setup run test lint format bench clean browser lock

setup: $(STAMP)

# compileall: the project is an editable install, which pip does not byte-compile; where PYTHONDONTWRITEBYTECODE is
# set (CI) every fresh process (each cvp, each Spark Python worker) would compile its modules again (docs/measurements.md).
$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no Python >= 3.11 found on PATH" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m compileall -q -j 0 features models pipelines
	$(PY) -m models.treeshap --warm
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

run: setup
	$(VENV)/bin/cvp demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The report tests render pages in a real headless browser: Debian's chromium, installed when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# pytest exits 5 when it collects no test: treat that as a failure, never as success. Two workers (pytest-xdist),
# whole files to the free one, Spark's files and those reading early processes each on one (tests/lanes.py).
test: setup lint browser
	@$(PY) -m pytest -q -n 2; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# Long benchmarks (not part of `make test`); lifetimes and DuckDB are references of the feature benchmark only.
bench: setup
	$(PY) -m pip install --quiet lifetimes==0.11.3 "setuptools<81" duckdb==2.0.0
	$(PY) bench/generate.py
	$(PY) bench/features.py
	$(PY) bench/train.py
	$(PY) bench/explain.py
	$(PY) bench/score.py

lock: setup
	$(PY) -m pip freeze --exclude-editable | grep -v -E '^(pip|setuptools)==' > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
