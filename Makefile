# Two commands do all setup on a fresh machine (see README):
#   make demo   evaluate seeded COCO-like sample data, rank a seeded unlabeled pool; print the tables
#   make test   run the whole test suite (what CI runs, via .ci/run)
# TORCH_SPEC: on the CPU-only dev machines torch comes from a local wheel, pinned.
# A GPU user sets TORCH_SPEC=torch (or a CUDA index's wheel) instead.
PYTHON ?= python3
TORCH_SPEC ?= torch==2.13.0
VENV := .venv
PY := $(VENV)/bin/python
# the optional C loops (setup.py) are built by the install: edits to them rebuild
NATIVE_SOURCES := setup.py $(wildcard kernels/_native/*.c kernels/_native/*.h)

$(VENV)/.installed-%: pyproject.toml $(NATIVE_SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "$(TORCH_SPEC)"
	$(PY) -m pip install -q --disable-pip-version-check -e ".[$*]"
	touch $@

demo: $(VENV)/.installed-cli
	$(VENV)/bin/assay demo

test: $(VENV)/.installed-bench
	$(PY) -m pytest -q

bench: $(VENV)/.installed-bench
	$(PY) benchmarks/bench_coco_detection.py

# mypy needs the import package as a tree: assay/ = sdk/ + engine/ + kernels/ (symlinks).
typecheck: $(VENV)/.installed-bench
	rm -rf build/typecheck && mkdir -p build/typecheck/assay
	cp -as "$(CURDIR)/sdk/." build/typecheck/assay/
	ln -s "$(CURDIR)/engine" build/typecheck/assay/engine
	ln -s "$(CURDIR)/kernels" build/typecheck/assay/kernels
	cd build/typecheck && "$(CURDIR)/$(VENV)/bin/mypy" --config-file "$(CURDIR)/pyproject.toml" -p assay

lint: typecheck
	$(VENV)/bin/ruff check .

.PHONY: demo test bench lint typecheck
