"""Reference solver: cvxpy + Clarabel for (3)/(2), (5) and (11), vectorised over patterns.

The programs are written with whole-matrix cvxpy atoms (``multiply(D, X @ W)``, column
norms via ``norm(W, 2, axis=0)``), never one expression per pattern, so P in the hundreds
compiles in well under a second. The record is built by
:func:`harness.solvers.certify.build_result` like every other solver's: objective
recomputed in numpy, the ReLU point projected onto its cones, the duality gap certified
from the residual and Clarabel's cone multipliers, and the status decided by that gap,
not by Clarabel's own word.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import cvxpy as cp
import numpy as np

from harness import formulations as F
from harness.formulations import BoolArray, FloatArray
from harness.solvers.certify import build_result
from harness.solvers.common import DEFAULT_TOL, WarmStart, check_options, check_problem
from harness.solvers.result import SolveResult

#: cvxpy status -> normalised status (unknown maps to "error").
STATUS_MAP = {
    cp.OPTIMAL: "optimal",
    cp.OPTIMAL_INACCURATE: "inaccurate",
    cp.INFEASIBLE: "infeasible",
    cp.INFEASIBLE_INACCURATE: "infeasible",
    cp.UNBOUNDED: "infeasible",
    cp.UNBOUNDED_INACCURATE: "infeasible",
    cp.USER_LIMIT: "max_iter",
}

DEFAULT_MAX_ITER = 500
#: Clarabel runs at this fraction of the certified tolerance (its duals are matched to its
#: own, unpolished point; the certified gap of the record is a few times its internal one).
CLARABEL_TOL_FACTOR = 0.01


def clarabel_version() -> str:
    """Version string of the installed Clarabel."""
    import clarabel

    return str(clarabel.__version__)


def run_clarabel(
    prob: cp.Problem, tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER
) -> tuple[str, str, int, float]:
    """Solve a cvxpy problem with Clarabel; return (status, raw_status, iterations, time).

    The status is Clarabel's own word normalised with :data:`STATUS_MAP` (the records
    decide theirs from the certified gap); cvxpy's "may be inaccurate" warning is silenced
    because the inaccurate status is recorded.
    """
    opts: dict[str, Any] = {
        "tol_gap_abs": tol,
        "tol_gap_rel": tol,
        "tol_feas": tol,
        "max_iter": max_iter,
    }
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            prob.solve(solver=cp.CLARABEL, **opts)
        raw = str(prob.status)
    except cp.error.SolverError as exc:
        raw = f"solver_error: {exc}"
    elapsed = time.perf_counter() - t0
    status = STATUS_MAP.get(raw, "error")
    iters = prob.solver_stats.num_iters if prob.solver_stats is not None else 0
    return status, raw, int(iters or 0), elapsed


def build_gated_problem(
    X: FloatArray, y: FloatArray, D: BoolArray, beta: float
) -> tuple[cp.Problem, cp.Variable]:
    """cvxpy model of eq. (5) with whole-matrix atoms (size independent of P)."""
    W = cp.Variable((X.shape[1], D.shape[1]))
    pred = cp.sum(cp.multiply(D.astype(float), X @ W), axis=1)
    obj = 0.5 * cp.sum_squares(pred - y) + beta * cp.sum(cp.norm(W, 2, axis=0))
    return cp.Problem(cp.Minimize(obj)), W


def build_relu_problem(
    X: FloatArray, y: FloatArray, D: BoolArray, beta: float
) -> tuple[cp.Problem, cp.Variable, cp.Variable, cp.Constraint, cp.Constraint]:
    """cvxpy model of eq. (3) with whole-matrix atoms (size independent of P)."""
    d, P = X.shape[1], D.shape[1]
    Dm = D.astype(float)
    S = 2.0 * Dm - 1.0
    U = cp.Variable((d, P))
    V = cp.Variable((d, P))
    pred = cp.sum(cp.multiply(Dm, X @ (U - V)), axis=1)
    obj = 0.5 * cp.sum_squares(pred - y) + beta * (
        cp.sum(cp.norm(U, 2, axis=0)) + cp.sum(cp.norm(V, 2, axis=0))
    )
    cons_u = cp.multiply(S, X @ U) >= 0
    cons_v = cp.multiply(S, X @ V) >= 0
    return cp.Problem(cp.Minimize(obj), [cons_u, cons_v]), U, V, cons_u, cons_v


def _value(var: cp.Variable, shape: tuple[int, int]) -> FloatArray | None:
    return None if var.value is None else np.asarray(var.value, dtype=float).reshape(shape)


def _checked(
    X: FloatArray, y: FloatArray, D: BoolArray, beta: float, tol: float, max_iter: int
) -> tuple[FloatArray, FloatArray, BoolArray, float, float, int]:
    X, y = F.check_data(X, y)
    D = F.check_patterns(D, X.shape[0])
    tol, max_iter = check_options(tol, max_iter)
    return X, y, D, F.check_beta(beta), tol, max_iter


def _record(
    problem: str,
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    variables: dict[str, FloatArray],
    prob: cp.Problem,
    outcome: tuple[str, str, int],
    tol: float,
    t_start: float,
    warm_start: WarmStart,
    multipliers: tuple[FloatArray | None, FloatArray | None] = (None, None),
) -> SolveResult:
    """The record of a Clarabel solve (:func:`harness.solvers.certify.build_result`).

    ``outcome`` is ``(status, raw status, iterations)`` from :func:`run_clarabel`; the
    status is re-decided there by the certified gap, whatever Clarabel reported.
    """
    status, raw, iters = outcome
    return build_result(
        problem,
        X,
        y,
        D,
        beta,
        variables,
        solver="clarabel",
        method="interior_point (cvxpy + Clarabel)",
        solver_version=clarabel_version(),
        tol=tol,
        claimed_status=status,
        raw_status=raw,
        n_iter=iters,
        t_start=t_start,
        multipliers=multipliers,
        solver_objective=float(prob.value) if prob.value is not None else float("nan"),
        extra={"warm_start": "ignored" if warm_start is not None else "none"},
    )


def solve_gated_reference(
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    warm_start: WarmStart = None,
    problem: str = "gated",
) -> SolveResult:
    """Solve the gated group lasso, THEORY.md eq. (5), with cvxpy + Clarabel.

    Parameters
    ----------
    X : ndarray (n, d); y : ndarray (n,); D : bool ndarray (n, P); beta : float > 0
    tol : float
        Clarabel's gap and feasibility tolerances, and the certified relative gap the
        record's status is decided by.
    max_iter : int
        Clarabel's iteration limit.
    warm_start : ignored
        Accepted for the registry contract (Clarabel through cvxpy starts cold).
    """
    t_start = time.perf_counter()
    check_problem(problem, ("gated",), "clarabel")
    X, y, D, beta, tol, max_iter = _checked(X, y, D, beta, tol, max_iter)
    d, P = X.shape[1], D.shape[1]
    prob, W = build_gated_problem(X, y, D, beta)
    status, raw, iters, _ = run_clarabel(prob, CLARABEL_TOL_FACTOR * tol, max_iter)
    W_val = _value(W, (d, P))
    if W_val is None:
        W_val, status = np.zeros((d, P)), "error"
    return _record(
        "gated", X, y, D, beta, {"W": W_val}, prob, (status, raw, iters), tol, t_start, warm_start
    )


def solve_relu_reference(
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    warm_start: WarmStart = None,
    problem: str = "relu",
) -> SolveResult:
    """Solve the cone-constrained ReLU program, THEORY.md eq. (3) (or (2) on all patterns).

    ``problem`` only labels the record (``"relu"`` for sampled patterns, ``"full"`` when
    ``D`` holds every pattern of the arrangement, in which case the value is p*). ``tol``,
    ``max_iter`` and ``warm_start`` as for :func:`solve_gated_reference`.
    """
    t_start = time.perf_counter()
    check_problem(problem, ("relu", "full"), "clarabel")
    X, y, D, beta, tol, max_iter = _checked(X, y, D, beta, tol, max_iter)
    d, P = X.shape[1], D.shape[1]
    prob, U, V, cons_u, cons_v = build_relu_problem(X, y, D, beta)
    status, raw, iters, _ = run_clarabel(prob, CLARABEL_TOL_FACTOR * tol, max_iter)
    U_val, V_val = _value(U, (d, P)), _value(V, (d, P))
    lam = mu = None
    if U_val is None or V_val is None:
        U_val, V_val, status = np.zeros((d, P)), np.zeros((d, P)), "error"
    else:
        if cons_u.dual_value is not None:
            lam = np.asarray(cons_u.dual_value, float)
        if cons_v.dual_value is not None:
            mu = np.asarray(cons_v.dual_value, float)
    return _record(
        problem,
        X,
        y,
        D,
        beta,
        {"U": U_val, "V": V_val},
        prob,
        (status, raw, iters),
        tol,
        t_start,
        warm_start,
        multipliers=(lam, mu),
    )


def solve_ridge_reference(
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    warm_start: WarmStart = None,
) -> SolveResult:
    """Solve the l2^2-regularised relaxation (11) (THEORY.md Thm 3.4) with Clarabel.

    Used to cross-check the closed form :func:`harness.formulations.ridge_value`.
    """
    t_start = time.perf_counter()
    X, y, D, beta, tol, max_iter = _checked(X, y, D, beta, tol, max_iter)
    d, P = X.shape[1], D.shape[1]
    W = cp.Variable((d, P))
    pred = cp.sum(cp.multiply(D.astype(float), X @ W), axis=1)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(pred - y) + 0.5 * beta * cp.sum_squares(W)))
    status, raw, iters, _ = run_clarabel(prob, CLARABEL_TOL_FACTOR * tol, max_iter)
    W_val = _value(W, (d, P))
    if W_val is None:
        W_val, status = np.zeros((d, P)), "error"
    return _record(
        "ridge", X, y, D, beta, {"W": W_val}, prob, (status, raw, iters), tol, t_start, warm_start
    )
