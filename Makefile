# Entry point of the harness. `make help` lists the targets.
# Two commands on a fresh machine: `make reproduce` (main job) and `make test` (tests);
# both create the virtual environment .venv on first use.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HARNESS:= $(VENV)/bin/harness
SCALE  ?= standard
JOBS   ?= 2
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
FIGS   := fig1 fig2 fig3 fig4 fig5 fig6 fig7 fig8 shallow1 shallow2 deep1 deep2

.PHONY: help install lint typecheck test test-fast reproduce data demo bench bench-full bench-gated clean-results \
        check figures report fig-shallow table1 fig-deep $(FIGS)

help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort
	@echo "$(FIGS)	one figure each, from stored results (fails if its inputs are incomplete)"

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

reproduce: $(STAMP) ## every experiment at SCALE=standard (default, ~15 min budget), quick (tests) or paper, then checks, figures, report
	$(HARNESS) reproduce --scale $(SCALE) --jobs $(JOBS)

data: $(STAMP) ## download MNIST, Fashion-MNIST and the UCI sets (verified, resumable); DEST=dir optional
	$(HARNESS) data fetch $(if $(DEST),--dest $(DEST))

check: $(STAMP) ## verdict table of the papers' claims on stored results (exit 0 PASS/INCONCLUSIVE, 1 FAIL, 2 NOT-RUN/missing)
	$(HARNESS) check --scale $(SCALE) --json results/verdicts_$(SCALE).json

figures: $(STAMP) ## re-plot every figure from stored results only
	$(HARNESS) figures --scale $(SCALE)

report: $(STAMP) ## write results/report.md and results/report.html
	$(HARNESS) report --scale $(SCALE)

$(FIGS): $(STAMP) ## one figure from stored results (fails if its inputs are incomplete)
	$(HARNESS) figures --scale $(SCALE) --only $@

fig-shallow: $(STAMP) ## Ergen & Pilanci 2019: run both specs (resumable) and plot figures 1 and 2
	$(HARNESS) run experiments/shallow_single.toml --scale $(SCALE) --jobs $(JOBS)
	$(HARNESS) run experiments/shallow_multi.toml --scale $(SCALE) --jobs $(JOBS)
	$(HARNESS) figures --scale $(SCALE) --only shallow1,shallow2

table1: $(STAMP) ## Ergen & Pilanci 2021 Table 1: run deep_uci (resumable) -> results/table1.md, .csv
	$(HARNESS) table1 --scale $(SCALE) --jobs $(JOBS)

fig-deep: $(STAMP) ## Ergen & Pilanci 2021: run deep_synthetic, deep_fmnist (resumable), draw deep1, deep2
	$(HARNESS) fig-deep --scale $(SCALE) --jobs $(JOBS)

BENCH_PY ?= $(PY)

bench: $(STAMP) ## solver (quick sizes), regimes (small beta, cheap in P, beta path, flooding on/off, all columns vs column generation), cone decomposition, training step and sweep benchmarks -> results/bench/
	OMP_NUM_THREADS=1 $(BENCH_PY) benchmarks/bench_solvers.py --sizes quick --repeats 3 --out results/bench
	OMP_NUM_THREADS=1 $(BENCH_PY) benchmarks/bench_relu_regimes.py --sizes quick --out results/bench
	OMP_NUM_THREADS=1 $(BENCH_PY) benchmarks/bench_gated.py --sizes quick --repeats 3 --out results/bench
	OMP_NUM_THREADS=1 $(PY) benchmarks/bench_cone_split.py --sizes quick --out results/bench
	OMP_NUM_THREADS=1 $(PY) benchmarks/bench_training.py --sizes quick --out results/bench
	$(PY) benchmarks/bench_sweep.py --out results/bench

bench-full: $(STAMP) ## the issue-7 sizes incl. (5000,50,500); about 1 h, mostly Clarabel
	OMP_NUM_THREADS=1 $(BENCH_PY) benchmarks/bench_solvers.py --sizes full --repeats 3 --slow-seconds 60 --out results/bench
	OMP_NUM_THREADS=1 $(BENCH_PY) benchmarks/bench_relu_regimes.py --sizes full --out results/bench
	OMP_NUM_THREADS=1 $(BENCH_PY) benchmarks/bench_gated.py --sizes full --repeats 3 --out results/bench
	OMP_NUM_THREADS=1 $(PY) benchmarks/bench_cone_split.py --sizes full --out results/bench
	OMP_NUM_THREADS=1 $(PY) benchmarks/bench_training.py --sizes full --out results/bench

bench-gated: $(STAMP) ## gated (5) vs pyscnn R-FISTA (MNIST, issue-7 sizes) and the warm-started beta path -> results/bench/gated_*.{csv,md}
	OMP_NUM_THREADS=1 $(BENCH_PY) benchmarks/bench_gated.py --sizes $(or $(SIZES),quick) --repeats 3 --out results/bench

bench-brackets: $(STAMP) ## p* bracket width and time, new vs old lower end (SIZES=quick stops at n = 80) -> results/bench/brackets.csv
	OMP_NUM_THREADS=1 $(PY) benchmarks/bench_brackets.py --sizes $(or $(SIZES),full) --seeds 3 --out results/bench

clean-results: ## delete generated results and figures
	rm -rf results/* figures/*
	@touch results/.gitkeep figures/.gitkeep
