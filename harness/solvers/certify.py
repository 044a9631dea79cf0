"""The one builder of :class:`SolveResult`: every solver's status is certified here.

Whatever a solver says about itself, the record is built from its variables alone
(THEORY.md Part D): the objective is recomputed in numpy, a ReLU point is projected onto
its cones (so it is exactly feasible and its objective a true upper bound), the duality
gap is certified by weak duality from the solver's residual candidates and multipliers,
and the status is ``optimal`` only when that certified gap is within ``tol``. The
solver's own word only decides *which* failure a non-certified solve is.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness import formulations as F
from harness.formulations import BoolArray, FloatArray
from harness.solvers.common import gap_ok, scaled_dual_value
from harness.solvers.cones import (
    cone_matrix,
    cone_products,
    polish_cones,
    project_cone,
    signed_values,
)
from harness.solvers.result import SolveResult

#: Largest relative cone violation of a point reported as ``optimal`` (after polishing).
CONE_TOL = 1e-10
#: Column norms below ``ACTIVE_RTOL`` times the largest are not active neurons.
ACTIVE_RTOL = 1e-6


def negligible_norm(tol: float, objective: float, beta: float) -> float:
    """Column norm whose whole penalty ``beta ||w||`` is below the certified resolution.

    ``tol * |objective| / beta``: such a column cannot be told from zero at the
    certified gap, so it is neither an active neuron nor the scale of a cone violation
    (a zero solution returned with rounding noise has no active neuron).
    """
    return tol * abs(objective) / beta


def active_columns(W: FloatArray, floor: float) -> BoolArray:
    """Columns above ``ACTIVE_RTOL`` times the largest norm and above ``floor``."""
    norms = F.group_norms(W)
    top = float(norms.max()) if norms.size else 0.0
    out: BoolArray = (norms > ACTIVE_RTOL * top) & (norms > floor)
    return out


def relative_cone_violation(X: FloatArray, D: BoolArray, Z: FloatArray, floor: float) -> float:
    """Largest cone violation ``(-(2D_i - I) X z_i)_+`` over columns of ``Z`` (d, k).

    Relative to ``max_j ||x_j|| * max(max_i ||z_i||, floor)``; ``floor`` (see
    :func:`negligible_norm`) keeps the measure meaningful at a numerically zero solution.
    """
    norms = F.group_norms(Z)
    scale = float(np.max(np.linalg.norm(X, axis=1))) * max(
        float(norms.max()) if norms.size else 0.0, floor
    )
    nz = np.flatnonzero(norms > 0)
    if nz.size == 0 or scale == 0.0:
        return 0.0
    worst = float(np.maximum(-signed_values(D[:, nz], X @ Z[:, nz]), 0.0).max())
    return worst / scale


def relu_certificate(
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    v: FloatArray,
    beta: float,
    lam: FloatArray | None,
    mu: FloatArray | None,
) -> tuple[float, FloatArray, FloatArray]:
    """Weak-duality lower bound on (3) from the candidate ``v`` and multipliers (n, P).

    Bound of :func:`harness.formulations.relu_dual_bound`, with the multipliers of the
    columns that set the scaling replaced by exact ones: the column with the largest dual
    constraint value ``||sigma X^T D_j v + A_j^T lam_j||`` is re-projected
    (``||Pi_K(sigma X^T D_j v)||``, Moreau; THEORY.md Part D) until the largest remaining
    value cannot lower the maximum any more. Returns the bound and the multipliers used.
    """
    n, P = D.shape
    if lam is None and mu is None:
        bound, M = relu_certificate_columns(X, y, D, v, beta, None)
    else:
        both = np.concatenate(
            [np.zeros((n, P)) if m is None else m for m in (lam, mu)], axis=1
        )  # a copy of ours: clamped in place
        bound, M = relu_certificate_columns(X, y, D, v, beta, both, own=True)
    return bound, M[:, :P], M[:, P:]


def relu_certificate_columns(
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    v: FloatArray,
    beta: float,
    multipliers: FloatArray | None,
    replace: tuple[np.ndarray, FloatArray] | None = None,
    own: bool = False,
) -> tuple[float, FloatArray]:
    """:func:`relu_certificate` with the multipliers of all ``2P`` columns in one (n, 2P) array.

    ``replace = (cols, values)`` uses ``values`` for the columns ``cols`` instead (the
    caller's array is not changed: one clamped copy is made, unless ``own`` hands the
    array over to be clamped and modified in place; the products run on cache-sized
    blocks of it, :func:`harness.solvers.cones.cone_products`). Returns the bound and the
    multipliers used, (n, 2P).
    """
    n, P = D.shape
    if multipliers is None:
        M = np.zeros((n, 2 * P))
    elif own:
        M = np.maximum(multipliers, 0.0, out=multipliers)
    else:
        M = np.maximum(multipliers, 0.0)
    if replace is not None:
        M[:, replace[0]] = np.maximum(replace[1], 0.0)
    XT = np.ascontiguousarray(X.T)
    base, h_lam, h_mu = cone_products(XT, D, M[:, :P], M[:, P:], masked=v)
    h_lam += base
    h_mu -= base
    norms = np.concatenate([F.group_norms(h_lam), F.group_norms(h_mu)])
    raw_half = F.group_norms(base)
    raw = np.concatenate([raw_half, raw_half])
    worse = raw < norms  # multipliers worse than none (lam = 0 is always valid)
    if worse.any():
        M[:, worse] = 0.0
        norms[worse] = raw[worse]
    exact = -np.inf
    for j in np.argsort(-norms, kind="stable"):
        if norms[j] <= max(beta, exact):
            break
        g_j = base[:, j] if j < P else -base[:, j - P]
        proj, m_j = project_cone(cone_matrix(X, D[:, j % P]), g_j)
        p_j = float(np.linalg.norm(proj))
        if p_j < norms[j]:
            norms[j] = p_j
            M[:, j] = m_j
        exact = max(exact, float(norms[j]))
    bound = scaled_dual_value(float(v @ y), float(v @ v), float(norms.max()), beta)
    return bound, M


def ridge_dual_bound(
    X: FloatArray, y: FloatArray, D: BoolArray, v: FloatArray, beta: float
) -> float:
    """Weak-duality lower bound on the ridge relaxation (11) (THEORY.md Thm 3.4).

    Dual of (11): ``max_v v^T y - 1/2||v||^2 - 1/(2 beta) sum_i ||X^T D_i v||^2``; the
    candidate is scaled by its best ``t``, giving ``(v^T y)_+^2 / (2 b)``.
    """
    G = X.T @ (D * v[:, None])
    b = float(v @ v) + float(np.sum(G * G)) / beta
    a = max(float(v @ y), 0.0)
    return 0.0 if b <= 0.0 else a * a / (2.0 * b)


def build_result(
    problem: str,
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    variables: Mapping[str, FloatArray],
    *,
    solver: str,
    method: str,
    solver_version: str,
    tol: float,
    claimed_status: str,
    raw_status: str,
    n_iter: int,
    t_start: float,
    residuals: Sequence[FloatArray] = (),
    multipliers: tuple[FloatArray | None, FloatArray | None] = (None, None),
    solver_objective: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> SolveResult:
    """The :class:`SolveResult` of a solve, with objective, gap and status certified here.

    Parameters
    ----------
    problem : {"gated", "relu", "full", "ridge"}
        (5), (3), (2) (the ReLU program on every pattern) or (11).
    variables : ``{"W"}`` for gated/ridge, ``{"U", "V"}`` for relu/full, each (d, P)
    solver : the registry name (``"fast"``, ``"al"``, ``"clarabel"``)
    method : what the solver does (``"fista"``, ``"column_generation"``, ...)
    tol : the certified relative gap asked for: ``gap <= tol * |objective|``
    claimed_status : the solver's own normalised word (one of ``STATUSES``)
    residuals : dual candidates ``v`` (n,) besides the residual of the returned point
    multipliers : cone multipliers ``(lam, mu)`` (n, P) for the ReLU certificate
    t_start : ``time.perf_counter()`` when the solve began (the record's time includes
        the polish and the certificate)
    extra : solver details kept in the record (``method`` and the polish are added)

    Returns
    -------
    SolveResult
        ``status="optimal"`` iff the certified gap is within ``tol`` (and, for ReLU
        programs, the polished point is cone-feasible to ``CONE_TOL``); otherwise
        ``max_iter`` / ``infeasible`` / ``error`` when the solver said so, else
        ``inaccurate``. A gap negative beyond rounding is an ``error``.
    """
    P = D.shape[1]
    info: dict[str, Any] = dict(extra or {})
    info["method"] = method
    relu = problem in ("relu", "full")
    zero_objective = 0.5 * float(y @ y)
    if relu:
        U = np.asarray(variables["U"], dtype=np.float64)
        V = np.asarray(variables["V"], dtype=np.float64)
        Z = np.concatenate([U, V], axis=1)
        DD = np.concatenate([D, D], axis=1)
        Zp = polish_cones(X, DD, Z)
        U, V = Zp[:, :P], Zp[:, P:]
        out_vars: dict[str, FloatArray] = {"U": U, "V": V}
        W = U - V
        # the final residual serves the objective (3) and the certificate
        v_final = y - F.gated_predict(X, D, W)
        objective = F.group_lasso_value(v_final, beta, U, V)
        if zero_objective <= objective:  # zero is feasible: never report worse than it
            U, V, Zp, W, objective = 0.0 * U, 0.0 * V, 0.0 * Zp, 0.0 * W, zero_objective
            out_vars = {"U": U, "V": V}
            info["zero_point"] = True
            v_final = y.copy()
    else:
        W = np.asarray(variables["W"], dtype=np.float64)
        out_vars = {"W": W}
        v_final = y - F.gated_predict(X, D, W)
        if problem == "ridge":
            objective = F.ridge_objective(X, y, D, W, beta)
        else:  # (5), from the residual the certificate needs anyway
            objective = F.group_lasso_value(v_final, beta, W)
        if zero_objective <= objective:  # zero is feasible: never report worse than it
            W, objective = 0.0 * W, zero_objective
            out_vars = {"W": W}
            info["zero_point"] = True
            v_final = y.copy()
    candidates = [*residuals, v_final]
    if relu:  # the solver's own point: its multipliers were computed for this residual
        candidates.append(y - F.gated_predict(X, D, Z[:, :P] - Z[:, P:]))
    lower = -np.inf
    lam, mu = multipliers
    seen: list[FloatArray] = []
    for v in candidates:
        v = np.asarray(v, dtype=np.float64)
        if any(np.array_equal(v, s) for s in seen):
            continue  # the same candidate gives the same bound (the solver's final residual)
        seen.append(v)
        if problem == "ridge":
            b = ridge_dual_bound(X, y, D, v, beta)
        elif relu:
            b, lam_b, mu_b = relu_certificate(X, y, D, v, beta, lam, mu)
        else:
            b = F.gated_dual_bound(X, y, D, v, beta)
        if b > lower:
            lower = b
            if relu:
                info["multipliers"] = {"lam": lam_b, "mu": mu_b}
    floor = negligible_norm(tol, objective, beta)
    if relu:
        viol = relative_cone_violation(X, DD, Zp, floor)
        info["cone_violation_unpolished"] = relative_cone_violation(X, DD, Z, floor)
        n_active = int(active_columns(Zp, floor).sum())
    else:
        viol = 0.0
        n_active = int(active_columns(W, floor).sum())
    gap = objective - lower
    if gap < -1e-9 * abs(objective):
        status = "error"
        info["certificate_error"] = "dual bound above the objective"
    elif gap_ok(objective, lower, tol) and viol <= CONE_TOL:
        status = "optimal"
    elif claimed_status in ("max_iter", "infeasible", "error"):
        status = claimed_status
    else:
        status = "inaccurate"
    return SolveResult(
        problem=problem,
        solver=solver,
        solver_version=solver_version,
        status=status,
        raw_status=raw_status,
        objective=objective,
        solver_objective=objective if solver_objective is None else float(solver_objective),
        n_iter=int(n_iter),
        time_s=time.perf_counter() - t_start,
        tol=float(tol),
        n_patterns=P,
        n_active=n_active,
        max_cone_violation=viol,
        variables=out_vars,
        duality_gap=gap,
        dual_bound=float(lower),
        extra=info,
    )
