# mascot: the two commands a new user runs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# pytest workers: 2 on the 2-core CI machine
JOBS   ?= 2

.PHONY: venv demo test test-all bench clean zoo

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,zigzag]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	bash scripts/demo.sh

test: $(STAMP)
	$(PY) -m pytest -q -n $(JOBS) -m "not slow" tests

test-all: $(STAMP)
	$(PY) -m pytest -q -n $(JOBS) tests

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

zoo: $(STAMP)
	$(PY) -m pip install --quiet -e '.[zoo]'
	$(PY) -m pip install --quiet --no-deps pytorchcv
	$(VENV)/bin/mascot models build-zoo

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
