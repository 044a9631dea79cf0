"""Reference solver: cvxpy + Clarabel for (3)/(2) and (5), vectorised over patterns.

The programs are written with whole-matrix cvxpy atoms (``multiply(D, X @ W)``, column
norms via ``norm(W, 2, axis=0)``), never one expression per pattern, so P in the hundreds
compiles in well under a second. Objectives in the returned :class:`SolveResult` are
recomputed with :mod:`harness.formulations`; the duality gap is certified from the
solver's residual and cone multipliers (``relu_dual_bound`` / ``gated_dual_bound``).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import cvxpy as cp
import numpy as np

from harness import formulations as F
from harness.formulations import BoolArray, FloatArray
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

DEFAULT_TOL = 1e-8


def _clarabel_version() -> str:
    try:
        import clarabel

        return str(clarabel.__version__)
    except Exception:  # pragma: no cover - clarabel is a hard dependency
        return "unknown"


def run_clarabel(
    prob: cp.Problem, tol: float = DEFAULT_TOL, max_iter: int = 500
) -> tuple[str, str, int, float]:
    """Solve a cvxpy problem with Clarabel; return (status, raw_status, iterations, time).

    The status is normalised with :data:`STATUS_MAP`; cvxpy's "may be inaccurate" warning is
    silenced because the inaccurate status is recorded (and excluded from verdicts).
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


def solve_gated_reference(
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    tol: float = DEFAULT_TOL,
    max_iter: int = 500,
) -> SolveResult:
    """Solve the gated group lasso, THEORY.md eq. (5), with cvxpy + Clarabel.

    Parameters
    ----------
    X : ndarray (n, d); y : ndarray (n,); D : bool ndarray (n, P); beta : float > 0
    tol : float
        Clarabel's absolute/relative gap and feasibility tolerances.
    """
    X, y = F.check_data(X, y)
    D = F.check_patterns(D, X.shape[0])
    beta = F.check_beta(beta)
    d, P = X.shape[1], D.shape[1]
    prob, W = build_gated_problem(X, y, D, beta)
    status, raw, iters, elapsed = run_clarabel(prob, tol, max_iter)
    W_val = np.zeros((d, P)) if W.value is None else np.asarray(W.value, dtype=float)
    if W.value is None and status == "optimal":
        status = "error"
    objective = F.gated_objective(X, y, D, W_val, beta)
    v = y - F.gated_predict(X, D, W_val)
    lower = F.gated_dual_bound(X, y, D, v, beta)
    return SolveResult(
        problem="gated",
        solver="clarabel",
        solver_version=_clarabel_version(),
        status=status,
        raw_status=raw,
        objective=objective,
        solver_objective=float(prob.value) if prob.value is not None else float("nan"),
        n_iter=iters,
        time_s=elapsed,
        tol=tol,
        n_patterns=P,
        n_active=int(F.active_mask(W_val).sum()),
        max_cone_violation=0.0,
        variables={"W": W_val},
        duality_gap=objective - lower,
        dual_bound=lower,
    )


def solve_relu_reference(
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    tol: float = DEFAULT_TOL,
    max_iter: int = 500,
    problem: str = "relu",
) -> SolveResult:
    """Solve the cone-constrained ReLU program, THEORY.md eq. (3) (or (2) on all patterns).

    ``problem`` only labels the record (``"relu"`` for sampled patterns, ``"full"`` when
    ``D`` holds every pattern of the arrangement, in which case the value is p*).
    """
    X, y = F.check_data(X, y)
    D = F.check_patterns(D, X.shape[0])
    beta = F.check_beta(beta)
    d, P = X.shape[1], D.shape[1]
    prob, U, V, cons_u, cons_v = build_relu_problem(X, y, D, beta)
    status, raw, iters, elapsed = run_clarabel(prob, tol, max_iter)
    if U.value is None or V.value is None:
        U_val, V_val = np.zeros((d, P)), np.zeros((d, P))
        if status == "optimal":
            status = "error"
        lam = mu = None
    else:
        U_val = np.asarray(U.value, dtype=float)
        V_val = np.asarray(V.value, dtype=float)
        lam = None if cons_u.dual_value is None else np.asarray(cons_u.dual_value, float)
        mu = None if cons_v.dual_value is None else np.asarray(cons_v.dual_value, float)
    objective = F.relu_objective(X, y, D, U_val, V_val, beta)
    v = y - F.gated_predict(X, D, U_val - V_val)
    lower = F.relu_dual_bound(X, y, D, v, beta, lam, mu)
    return SolveResult(
        problem=problem,
        solver="clarabel",
        solver_version=_clarabel_version(),
        status=status,
        raw_status=raw,
        objective=objective,
        solver_objective=float(prob.value) if prob.value is not None else float("nan"),
        n_iter=iters,
        time_s=elapsed,
        tol=tol,
        n_patterns=P,
        n_active=int(F.active_mask(U_val).sum() + F.active_mask(V_val).sum()),
        max_cone_violation=F.cone_violation(X, D, U_val, V_val),
        variables={"U": U_val, "V": V_val},
        duality_gap=objective - lower,
        dual_bound=lower,
    )


def solve_ridge_reference(
    X: FloatArray, y: FloatArray, D: BoolArray, beta: float, tol: float = DEFAULT_TOL
) -> SolveResult:
    """Solve the l2^2-regularised relaxation (11) (THEORY.md Thm 3.4) with Clarabel.

    Used to cross-check the closed form :func:`harness.formulations.ridge_value`.
    """
    X, y = F.check_data(X, y)
    D = F.check_patterns(D, X.shape[0])
    beta = F.check_beta(beta)
    d, P = X.shape[1], D.shape[1]
    W = cp.Variable((d, P))
    pred = cp.sum(cp.multiply(D.astype(float), X @ W), axis=1)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(pred - y) + 0.5 * beta * cp.sum_squares(W)))
    status, raw, iters, elapsed = run_clarabel(prob, tol, 500)
    W_val = np.zeros((d, P)) if W.value is None else np.asarray(W.value, dtype=float)
    objective = F.ridge_objective(X, y, D, W_val, beta)
    return SolveResult(
        problem="ridge",
        solver="clarabel",
        solver_version=_clarabel_version(),
        status=status,
        raw_status=raw,
        objective=objective,
        solver_objective=float(prob.value) if prob.value is not None else float("nan"),
        n_iter=iters,
        time_s=elapsed,
        tol=tol,
        n_patterns=P,
        n_active=int(F.active_mask(W_val).sum()),
        max_cone_violation=0.0,
        variables={"W": W_val},
    )
