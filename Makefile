# mascot: the two commands a new user runs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# pytest workers: 2 on the 2-core CI machine
JOBS   ?= 2

.PHONY: venv demo test test-all bench clean clean-numba zoo

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

# the quick benchmarks (seconds to a minute each); the study-sized ones (bench_dse, bench_relmas,
# bench_pipeline) run on their own: `.venv/bin/python bench/bench_dse.py --help`
BENCHES ?= bench_onnx_import bench_mapper bench_tables bench_sim bench_surrogate
bench: $(STAMP)
	@for b in $(BENCHES); do echo "== bench/$$b.py"; $(PY) bench/$$b.py || exit 1; done

zoo: $(STAMP)
	$(PY) -m pip install --quiet -e '.[zoo]'
	$(PY) -m pip install --quiet --no-deps pytorchcv
	$(VENV)/bin/mascot models build-zoo

# numba's on-disk cache (cache=True) is invalidated only when a kernel's own file changes: after editing a
# helper kernel that others inline (scheduler/sim/kernels.py), drop the compiled copies
clean-numba:
	find . -path ./$(VENV) -prune -o \( -name '*.nbi' -o -name '*.nbc' \) -exec rm -f {} +

clean: clean-numba
	rm -rf $(VENV) .pytest_cache build *.egg-info
