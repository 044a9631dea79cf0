"""RLT-strengthened SDP certificate of the lower end of the p* bracket, THEORY.md Part D.

Part D needs a valid upper bound ``M_hat >= M(v) = max(M_+(v), M_+(-v))``,
``M_+(w) = max_{||u|| <= 1} w^T (X u)_+``. Here it comes from a lifted SDP relaxation of
that maximisation itself (not of the subset bound 3, which drops the cones and is loose on
mixed-sign ``w``, e.g. 3.5 beta at the optimal residual of Gaussian labels, n = 20, d = 3).
With ``a = X u`` and ``f = (a)_+`` (``f >= 0``, ``f >= a``, ``f_i (f_i - a_i) = 0``), lift
``Y = [1; u; f][1; u; f]^T`` and relax to ``Y >= 0``, ``Y_00 = 1``, ``tr U <= 1``,
``f >= 0``, ``f >= X u``, ``diag Phi = diag(X Psi)`` and the RLT (McCormick) products of the
linear constraints ``f >= 0``, ``f - a >= 0`` in pairs, lifted::

    Phi >= 0,   Phi - X Psi >= 0,   Phi - X Psi - Psi^T X^T + X U X^T >= 0   (elementwise)

(``U = E[u u^T]``, ``Psi = E[u f^T]``, ``Phi = E[f f^T]``). Every ``u`` with ``||u|| <= 1``
gives a feasible rank-one ``Y`` of value ``w^T (X u)_+``, so the SDP value is ``>= M_+(w)``.

Certificate (weak duality, valid for ANY multipliers): for ``rho`` free, ``eta`` free,
``sigma >= 0``, ``gamma1, gamma2 >= 0`` and elementwise ``Lam1, Lam2, Lam3 >= 0``, every
feasible ``Y`` has ``w^T f <= rho + <Z, Y>`` with ``Z`` of :func:`lifted_matrix`, and
``<Z, Y> <= lambda_max(Z)_+ tr Y``, ``tr Y <= 2 + ||X||_2^2`` (``tr U <= 1`` and
``Phi_ii <= x_i^T U x_i`` from the 2x2 minors). So::

    M_+(w) <= rho + (2 + ||X||_2^2) max(lambda_max(Z), 0)                      (RLT)

recomputed in numpy (:func:`certify_lifted`) from the multipliers an SDP solver returned.

:func:`rlt_dual_point` optimises the dual point ``v`` against this certificate in ONE convex
SDP (Part D "Optimizing v instead of scaling one candidate"): ``Z`` is linear in ``w`` and
the multipliers, so ``max v^T y - ||v||^2/2`` subject to ``Z(+v) <= 0``, ``Z(-v) <= 0``,
``rho_+-  <= beta`` is convex (no sign pattern is fixed). The point is then certified in
numpy and scaled (Part D "Scaling"). ``O(n^2)`` multipliers per side and a PSD block of
size ``1 + d + n``, so ``lower="auto"`` of :func:`harness.certificates.certified_bracket`
uses it for ``n <= RLT_MAX_N`` only.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import InputError
from harness.formulations import FloatArray

#: SDP solvers of the RLT certificate (options of cvxpy).
RLT_SOLVERS = ("clarabel", "scs")
#: Names of the multipliers of one side, in the order of :class:`LiftedMultipliers`.
_NAMES = ("rho", "sigma", "gamma1", "gamma2", "eta", "lam1", "lam2", "lam3")


@dataclass(frozen=True)
class LiftedMultipliers:
    """Dual multipliers of the lifted RLT SDP of ``M_+(w)`` (module docstring).

    ``rho`` (free), ``sigma >= 0``, ``gamma1, gamma2 >= 0`` (n,), ``eta`` (n,, free),
    ``lam1, lam3`` (n, n) symmetric ``>= 0``, ``lam2`` (n, n) ``>= 0``. Any values are
    accepted by :func:`certify_lifted` (the sign-constrained ones are clipped at 0).
    """

    rho: float
    sigma: float
    gamma1: FloatArray
    gamma2: FloatArray
    eta: FloatArray
    lam1: FloatArray
    lam2: FloatArray
    lam3: FloatArray


def lifted_matrix(X: FloatArray, w: FloatArray, m: LiftedMultipliers) -> FloatArray:
    """``Z`` of (RLT) without the ``-rho`` in its corner, blocks ``(0, u, f)``, numpy.

    ``<Z, Y> = w^T f + sigma (Y_00 - tr U) + gamma1^T f + gamma2^T (f - X u)
    + eta^T (diag Phi - diag X Psi) + <Lam1, Phi> + <Lam2, Phi - X Psi>
    + <Lam3, Phi - X Psi - Psi^T X^T + X U X^T>``; the sign-constrained multipliers are
    clipped at 0 and ``Lam1``, ``Lam3`` symmetrised, so the inequality holds for any input.
    """
    n, d = X.shape
    sig = max(float(m.sigma), 0.0)
    g1, g2 = np.maximum(m.gamma1, 0.0), np.maximum(m.gamma2, 0.0)
    eta = np.asarray(m.eta, dtype=np.float64)
    L1 = np.maximum(0.5 * (m.lam1 + m.lam1.T), 0.0)
    L2 = np.maximum(m.lam2, 0.0)
    L3 = np.maximum(0.5 * (m.lam3 + m.lam3.T), 0.0)
    Z = np.zeros((1 + d + n, 1 + d + n))
    u, f = slice(1, 1 + d), slice(1 + d, 1 + d + n)
    Z[0, 0] = sig
    Z[0, u] = -0.5 * (X.T @ g2)
    Z[0, f] = 0.5 * (w + g1 + g2)
    Z[u, u] = -sig * np.eye(d) + X.T @ L3 @ X
    Z[u, f] = -0.5 * X.T * eta[None, :] - 0.5 * X.T @ L2 - X.T @ L3
    Z[f, f] = np.diag(eta) + L1 + 0.5 * (L2 + L2.T) + L3
    Z[u, 0] = Z[0, u]
    Z[f, 0] = Z[0, f]
    Z[f, u] = Z[u, f].T
    return Z


def certify_lifted(X: FloatArray, w: FloatArray, m: LiftedMultipliers) -> float:
    """Certified ``>= M_+(w) = max_{||u|| <= 1} w^T (X u)_+`` from ANY multipliers, eq. (RLT)."""
    Z = lifted_matrix(X, w, m)
    Z[0, 0] -= float(m.rho)
    if not np.all(np.isfinite(Z)):
        return math.inf
    lam_max = float(np.linalg.eigvalsh(Z)[-1])
    trace_cap = (2.0 + float(np.linalg.norm(X, 2)) ** 2) * (1.0 + 1e-12)
    margin = 8.0 * Z.shape[0] * np.finfo(float).eps * float(np.abs(Z).sum())
    return float(m.rho) + trace_cap * (max(lam_max, 0.0) + margin)


def _cvx_side(cp: Any, X: FloatArray, w: Any) -> tuple[list[Any], Any, dict[str, Any]]:
    """cvxpy variables and constraints ``Z(w) - rho E_00 <= 0`` of one side; returns rho."""
    n, d = X.shape
    V = {
        "rho": cp.Variable(),
        "sigma": cp.Variable(nonneg=True),
        "gamma1": cp.Variable(n, nonneg=True),
        "gamma2": cp.Variable(n, nonneg=True),
        "eta": cp.Variable(n),
        "lam1": cp.Variable((n, n), symmetric=True),
        "lam2": cp.Variable((n, n), nonneg=True),
        "lam3": cp.Variable((n, n), symmetric=True),
    }
    L1, L2, L3, eta = V["lam1"], V["lam2"], V["lam3"], V["eta"]
    z00 = cp.reshape(V["sigma"] - V["rho"], (1, 1), order="C")
    z0u = cp.reshape(-0.5 * (X.T @ V["gamma2"]), (1, d), order="C")
    z0f = cp.reshape(0.5 * (w + V["gamma1"] + V["gamma2"]), (1, n), order="C")
    zuu = -V["sigma"] * np.eye(d) + X.T @ L3 @ X
    zuf = -0.5 * (X.T @ cp.diag(eta)) - 0.5 * (X.T @ L2) - X.T @ L3
    zff = cp.diag(eta) + L1 + 0.5 * (L2 + L2.T) + L3
    Z = cp.bmat([[z00, z0u, z0f], [z0u.T, zuu, zuf], [z0f.T, zuf.T, zff]])
    cons = [L1 >= 0, L3 >= 0, -0.5 * (Z + Z.T) >> 0]
    return cons, V["rho"], V


def _multipliers(V: dict[str, Any], scale: float) -> LiftedMultipliers | None:
    vals = {k: V[k].value for k in _NAMES}
    if any(val is None for val in vals.values()):
        return None
    return LiftedMultipliers(
        rho=float(vals["rho"]) * scale,
        sigma=float(vals["sigma"]) * scale,
        **{k: np.asarray(vals[k], dtype=np.float64) * scale for k in _NAMES[2:]},
    )


def lifted_bound(
    X: FloatArray, w: FloatArray, *, solver: str = "clarabel"
) -> tuple[float, LiftedMultipliers | None]:
    """Certified ``>= M_+(w)`` (RLT) at a fixed ``w``: dual SDP by cvxpy, value in numpy.

    Returns ``(value, multipliers)``; without a solver answer the value is Part D bound 4
    restricted to ``w_+``, ``||X||_2 ||w_+||`` (still valid) and the multipliers are None.
    """
    _check_solver(solver)
    import cvxpy as cp

    X = np.asarray(X, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    crude = float(np.linalg.norm(X, 2)) * float(np.linalg.norm(np.maximum(w, 0.0))) * (1 + 1e-12)
    scale = float(np.abs(w).max(initial=0.0))
    if scale == 0.0:
        return 0.0, None
    cons, rho, V = _cvx_side(cp, X, w / scale)
    try:
        _solve(cp.Problem(cp.Minimize(rho), cons), solver)
    except cp.error.SolverError:
        return crude, None
    m = _multipliers(V, scale)
    if m is None:
        return crude, None
    return min(certify_lifted(X, w, m), crude), m


@dataclass(frozen=True)
class RLTDualPoint:
    """A dual point ``v`` and a certified ``M_hat >= M(v)`` (``v`` None: the solve failed)."""

    v: FloatArray | None
    M_hat: float
    time_s: float


def rlt_dual_point(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    *,
    solver: str = "clarabel",
) -> RLTDualPoint:
    """Dual point of one lifted RLT SDP and its certified ``M_hat >= M(v)``, Part D.

    ``max v^T y - ||v||^2 / 2`` subject to the (RLT) certificate of ``M_+(+v)`` and of
    ``M_+(-v)`` being ``<= beta`` (one convex SDP, module docstring). ``M_hat`` is
    recomputed in numpy: the max of :func:`certify_lifted` on both sides at the solver's
    point and multipliers, valid whatever the solver returned. The lower bound is then
    Part D "Scaling" (:func:`harness.certificates.dual_lower_bound`).
    """
    _check_solver(solver)
    import cvxpy as cp

    t0 = time.perf_counter()
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = X.shape[0]
    fail = RLTDualPoint(None, math.inf, 0.0)
    # scaled coordinates: Xs = X / xs (unit rms entries), v = bs v_s with bs = beta / xs,
    # so that M(v; X) = beta M(v_s; Xs) and the constraint reads rho <= 1
    xs = float(np.sqrt(np.mean(X * X))) or 1.0
    Xs = X / xs
    bs = beta / xs
    v = cp.Variable(n)
    cons: list[Any] = []
    sides = []
    for sign in (1.0, -1.0):
        c, rho, V = _cvx_side(cp, Xs, sign * v)
        cons += [*c, rho <= 1.0]
        sides.append(V)
    prob = cp.Problem(cp.Maximize(y @ v - 0.5 * bs * cp.sum_squares(v)), cons)
    try:
        _solve(prob, solver)
    except cp.error.SolverError:
        return fail
    if v.value is None or not np.all(np.isfinite(v.value)):
        return fail
    vs = np.asarray(v.value, dtype=np.float64)
    Ms = []
    for sign, V in zip((1.0, -1.0), sides, strict=True):
        m = _multipliers(V, 1.0)
        if m is None:
            return fail
        Ms.append(certify_lifted(Xs, sign * vs, m))
    M_hat = beta * max(max(Ms), 0.0) * (1.0 + 1e-12)
    if not math.isfinite(M_hat):
        return fail
    return RLTDualPoint(v=bs * vs, M_hat=M_hat, time_s=time.perf_counter() - t0)


def _solve(prob: Any, solver: str) -> None:
    """Solve quietly: an "inaccurate" answer is fine, the value is re-certified in numpy."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        prob.solve(solver=solver.upper())


def _check_solver(solver: str) -> None:
    if solver not in RLT_SOLVERS:
        raise InputError(f"rlt_solver must be one of {list(RLT_SOLVERS)}; got {solver!r}")
