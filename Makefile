PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint test-slow docs bench clean

# One environment for everything: PyTorch first (the CPU wheel on these machines),
# then the package with all extras and the test/benchmark tools.
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[all,dev,docs]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/phasemapper demo

test: lint
	$(PY) -m pytest -n 2 --dist worksteal --durations=10

# the linter, the formatter and the type checker on the package (configured in pyproject.toml)
lint: $(STAMP)
	$(VENV)/bin/ruff check src
	$(VENV)/bin/ruff format --check src
	$(VENV)/bin/mypy

# the checks too long for every run (marked slow): the closed loop's full theory refit
test-slow: $(STAMP)
	$(PY) -m pytest -n 2 -m slow

# the documentation site from docs/ into site/; strict: a warning fails the build
docs: $(STAMP)
	DISABLE_MKDOCS_2_WARNING=true NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

bench: $(STAMP)
	$(PY) benchmarks/bench_ising.py --quick

clean:
	rm -rf $(VENV) runs .pytest_cache site .cache
