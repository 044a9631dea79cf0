"""A beta path of (5) or (3)/(2) solved with warm starts (THEORY.md §A2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness import formulations as F
from harness.errors import InputError
from harness.formulations import BoolArray, FloatArray
from harness.solvers.result import SolveResult


def solve_path(
    problem: str,
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    betas: Sequence[float],
    solver: str = "fast",
    **options: Any,
) -> list[SolveResult]:
    """Solve ``problem`` at every beta, largest first, each warm-started from the last.

    The solution grows from zero as beta decreases; the gated solver also reuses the
    previous Lipschitz estimate. Results come back in the order of ``betas``.

    Parameters
    ----------
    problem : {"gated", "relu", "full"}
    X, y, D : the instance, as for the solvers
    betas : sequence of float > 0
    solver : registry name (``"fast"`` by default)
    **options
        Passed to the solver (``tol``, ``max_iter``, ...).
    """
    from harness.solvers.registry import solve

    if problem not in ("gated", "relu", "full"):
        raise InputError(f"problem must be one of ['gated', 'relu', 'full']; got {problem!r}")
    beta_list = [F.check_beta(b) for b in betas]
    if not beta_list:
        raise InputError("betas must contain at least one value > 0")
    order = np.argsort(beta_list, kind="stable")[::-1]
    results: dict[int, SolveResult] = {}
    prev: SolveResult | None = None
    lipschitz: float | None = None
    for k in order:
        extra = {"lipschitz": lipschitz} if problem == "gated" and solver == "fast" else {}
        res = solve(
            problem, X, y, D, beta_list[k], solver=solver, warm_start=prev, **extra, **options
        )
        lip = res.extra.get("lipschitz")
        if isinstance(lip, float) and lip > 0:
            lipschitz = lip
        results[int(k)] = res
        prev = res
    return [results[k] for k in range(len(beta_list))]
