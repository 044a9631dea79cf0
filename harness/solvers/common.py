"""Option checks, warm starts and the scalar dual bound shared by the fast solvers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from harness.errors import InputError
from harness.formulations import FloatArray
from harness.solvers.result import SolveResult

#: Certified relative gap every solver aims at unless told otherwise.
DEFAULT_TOL = 1e-8

WarmStart = SolveResult | Mapping[str, Any] | None


def check_options(tol: float, max_iter: int) -> tuple[float, int]:
    """Validate ``tol`` in (0, 1) and an integer ``max_iter >= 1`` (InputError otherwise)."""
    try:
        tol_f = float(tol)
    except (TypeError, ValueError) as exc:
        raise InputError(f"tol must be a number in (0, 1); got {tol!r}") from exc
    if not (0.0 < tol_f < 1.0):
        raise InputError(f"tol must be a number in (0, 1); got {tol!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InputError(f"max_iter must be an integer >= 1; got {max_iter!r}")
    return tol_f, int(max_iter)


def check_problem(problem: str, allowed: tuple[str, ...], solver: str) -> str:
    """The ``problem`` label must be one of ``allowed`` for this solver."""
    if problem not in allowed:
        raise InputError(f"problem must be one of {list(allowed)} for {solver}; got {problem!r}")
    return problem


def warm_variables(warm_start: WarmStart) -> dict[str, Any]:
    """Variables (and multipliers, penalty) of a warm start as a plain dict."""
    if warm_start is None:
        return {}
    if isinstance(warm_start, SolveResult):
        out: dict[str, Any] = dict(warm_start.variables)
        mult = warm_start.extra.get("multipliers")
        if isinstance(mult, Mapping):
            out.update(mult)
        if "rho" in warm_start.extra:
            out["rho"] = warm_start.extra["rho"]
        return out
    if isinstance(warm_start, Mapping):
        return dict(warm_start)
    raise InputError(
        "warm_start must be a SolveResult, a dict of variables ({'W'} or {'U', 'V'}) or None; "
        f"got {type(warm_start).__name__}"
    )


def pad_columns(A: Any, rows: int, P: int, name: str) -> FloatArray:
    """Warm-start array padded with zero columns up to P (nested pattern sets)."""
    arr = np.asarray(A, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != rows or arr.shape[1] > P:
        raise InputError(
            f"warm_start {name!r} must have shape ({rows}, k) with k <= P={P}; got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise InputError(f"warm_start {name!r} contains NaN or infinite values")
    out = np.zeros((rows, P))
    out[:, : arr.shape[1]] = arr
    return out


def gated_warm_columns(warm: Mapping[str, Any], d: int, P: int) -> FloatArray:
    """The (d, P) start of a gated solver: ``W``, else a ReLU warm start's ``U - V``, else 0."""
    if "W" in warm:
        return pad_columns(warm["W"], d, P, "W")
    if "U" in warm and "V" in warm:
        return pad_columns(np.asarray(warm["U"]) - np.asarray(warm["V"]), d, P, "U - V")
    return np.zeros((d, P))


def gap_ok(obj: float, bound: float, tol: float) -> bool:
    """The certified rule: ``obj - bound <= tol * |obj|`` (relative to the objective).

    Relative to the objective itself, not to ``max(1, |obj|)``: at tiny beta the optimum
    is tiny too, and an absolute floor would certify a value known only to a few percent.
    """
    return obj - bound <= tol * abs(obj)


def scaled_dual_value(vy: float, vv: float, g: float, beta: float) -> float:
    """Weak-duality bound ``t v^T y - t^2/2 ||v||^2`` at the best feasible ``t``.

    Same formula as :func:`harness.formulations.gated_dual_bound` (THEORY.md Part D,
    "Scaling a candidate"), from the scalars ``v^T y``, ``||v||^2`` and the largest dual
    constraint value ``g``; used inside the loops where ``g`` comes for free. The bound
    that is *reported* is always recomputed by :func:`harness.solvers.result.build_result`.
    """
    if vv <= 0.0:
        return 0.0
    t_max = np.inf if g <= 0.0 else beta / g
    t = min(max(vy / vv, 0.0), t_max)
    return float(t * vy - 0.5 * t * t * vv)
