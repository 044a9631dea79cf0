# Entry point of the harness. `make help` lists the targets.
# Two commands on a fresh machine: `make reproduce` (main job) and `make test` (tests);
# both create the virtual environment .venv on first use.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HARNESS:= $(VENV)/bin/harness
SCALE  ?= quick
JOBS   ?= 2
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install lint typecheck test test-fast reproduce demo bench clean-results

help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the package with dev extras

lint: $(STAMP) ## ruff (lint + format check) and mypy on harness/
	$(VENV)/bin/ruff check harness tests benchmarks
	$(VENV)/bin/ruff format --check harness tests benchmarks
	$(VENV)/bin/mypy

typecheck: $(STAMP) ## mypy on harness/
	$(VENV)/bin/mypy

test: $(STAMP) ## run the test suite (pytest exit 5, "no tests", is reported as an error)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	  $(PY) -m pytest -n $(JOBS) --durations=15 ; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; fi; exit $$rc

test-fast: $(STAMP) ## tests without the ones marked slow
	OMP_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS) -m "not slow"

demo: $(STAMP) ## one small instance: every formulation, the certified bracket, the mapping check
	$(HARNESS) demo

reproduce: $(STAMP) ## the main job at SCALE=quick (default) or SCALE=paper
	$(HARNESS) demo

bench: $(STAMP) ## solver and sweep benchmarks (timings, not tests) -> results/bench/
	$(PY) benchmarks/bench_solvers.py --out results/bench

clean-results: ## delete generated results and figures
	rm -rf results/* figures/*
	@touch results/.gitkeep figures/.gitkeep
