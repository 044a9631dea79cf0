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

    The solution grows from zero as beta decreases; the gated solver
    (:mod:`harness.solvers.gated_kernel`) also shares one cache of ``X X^T`` and Gram
    blocks along the path. Results come back in the order of ``betas``.

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
    extra: dict[str, Any] = {}
    if problem == "gated" and solver == "fast" and "cache" not in options:
        extra["cache"] = {}
    warm: SolveResult | dict[str, Any] | None = None
    for k in order:
        res = solve(
            problem, X, y, D, beta_list[k], solver=solver, warm_start=warm, **extra, **options
        )
        results[int(k)] = res
        warm = res
        if "theta" in res.extra and res.ok:
            # the optimal kernel weights: the next solve starts there and reuses the cached
            # factorisation of S(theta), which does not depend on beta (gated_kernel)
            warm = {"theta": res.extra["theta"]}
    return [results[k] for k in range(len(beta_list))]
