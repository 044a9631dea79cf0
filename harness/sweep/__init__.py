"""Sweep engine: experiment specs, grid expansion, parallel runs and the results store.

Public API::

    spec = load_spec("experiments/demo_small.toml")
    points = expand_grid(spec, "quick")
    summary = run_spec(spec, scale="quick", n_jobs=2, backend="loky", results_dir="results")
    table = load_results("demo_small", "quick", "results")
"""

from harness.sweep.grid import Point, expand_grid, stable_hash
from harness.sweep.runner import SweepSummary, run_point, run_spec
from harness.sweep.spec import ScaleConfig, Spec, load_spec, parse_spec
from harness.sweep.store import ResultStore, load_results

__all__ = [
    "Point",
    "ResultStore",
    "ScaleConfig",
    "Spec",
    "SweepSummary",
    "expand_grid",
    "load_results",
    "load_spec",
    "parse_spec",
    "run_point",
    "run_spec",
    "stable_hash",
]
