"""Sweep engine: experiment specs, grid expansion, parallel runs and the results store.

Public API::

    spec = load_spec("experiments/demo_small.toml")
    points = expand_grid(spec, "quick")
    summary = run_spec(spec, scale="quick", n_jobs=2, backend="loky", results_dir="results")
    table = load_results("demo_small", "quick", "results")

The names are imported on first use (PEP 562): ``from harness.sweep import load_spec``
reads a spec with the standard library only, so the CLI's spec errors (a missing or
malformed file) answer without importing numpy, pandas or the runner.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.sweep.grid import Point, expand_grid, stable_hash
    from harness.sweep.runner import SweepSummary, run_point, run_spec
    from harness.sweep.spec import ScaleConfig, Spec, load_spec, parse_spec
    from harness.sweep.store import ResultStore, load_results

#: Public name -> submodule defining it.
_LAZY = {
    "Point": "grid",
    "expand_grid": "grid",
    "stable_hash": "grid",
    "SweepSummary": "runner",
    "run_point": "runner",
    "run_spec": "runner",
    "ScaleConfig": "spec",
    "Spec": "spec",
    "load_spec": "spec",
    "parse_spec": "spec",
    "ResultStore": "store",
    "load_results": "store",
}

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


def __getattr__(name: str) -> Any:
    """Import a public name (or a submodule) of the package on first use."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    elif name in ("grid", "runner", "spec", "store", "schema", "provenance"):
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
