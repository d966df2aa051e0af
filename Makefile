PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

# One environment for everything: PyTorch first (the CPU wheel on these machines),
# then the package with all extras and the test/benchmark tools.
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/phasemapper demo

test: $(STAMP)
	$(PY) -m pytest -n 2 --durations=10

bench: $(STAMP)
	$(PY) benchmarks/bench_ising.py --quick

clean:
	rm -rf $(VENV) runs .pytest_cache
