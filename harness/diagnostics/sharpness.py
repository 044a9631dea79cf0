"""Cone sharpness and the Chebyshev-centre bound, THEORY.md §A5 (Def 4.1, Prop 4.2-4.3, Thm 4.4).

For a polyhedral cone ``K = {w : A w >= 0}`` (``A = (2D - I) X`` for a pattern ``D``):

* :func:`cone_sharpness` -- ``C(K, u) = min_{a, b in K, a - b = u} ||a|| + ||b||`` for a
  batch of unit ``u`` (one cone or one cone per ``u``), one vectorised SOCP (cvxpy +
  Clarabel). The SOCP dual ``z`` of ``a - b = u`` satisfies ``C(K, u) = z^T u`` and is a
  subgradient: ``u -> C(K, u)`` is convex and positively homogeneous (a support function).
* :func:`chebyshev_radius` -- ``Z(u) = min {||c|| : A c >= |A u|}`` (Prop 4.3, Thm 4.4),
  with ``C(K, u) <= Z(u) + 1 <= 2 Z(u) + 1``; also convex and homogeneous in ``u``.
* :func:`sharpness_sup_estimate` -- a LOWER estimate of ``C(K) = sup_{||u||=1} C(K, u)``
  over random directions, adversarial candidates (``-h``, directions orthogonal to the
  generator ``h``, facet normals) and a local ascent ``u <- z / ||z||`` (monotone, since
  ``C(K, u') >= z^T u' = ||z|| >= z^T u = C(K, u)``). The sup itself is a non-convex
  maximisation; the estimate never exceeds it (up to solver tolerance).
* :func:`random_cone_model` -- the rotated model ``A = [a G]`` (``a`` folded normal, ``G``
  Gaussian) of §A5, the law of ``(2D - I) X`` under (A1) with ``h = e_1``.
* :func:`solution_sharpness` -- ``max_i C(K_i, w_i / ||w_i||)`` over a gated solution
  (Prop 4.2, P12).

Rows of ``A`` are normalised before solving (the cone, ``C`` and ``Z`` are unchanged).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from harness.errors import InputError
from harness.formulations import BoolArray, FloatArray, group_norms
from harness.solvers.reference import run_clarabel

DEFAULT_TOL = 1e-8


@dataclass(frozen=True)
class SharpnessBatch:
    """``C(K_k, u_k)`` (or ``Z(u_k)``) for a batch of directions.

    Attributes
    ----------
    values : ndarray (B,)
        The optimal values (``inf`` when the SOCP is infeasible, ``nan`` on solver error).
    U : ndarray (d, B)
        The unit directions used (the inputs, normalised).
    grad : ndarray (d, B)
        A subgradient of ``u -> value`` at each ``u`` (the SOCP dual), with
        ``values ~= sum(grad * U, axis=0)``.
    parts : dict of str to ndarray
        ``"a"``, ``"b"`` (d, B) for sharpness (``a - b = u``); ``"c"`` (d, B) for ``Z``.
    status, raw_status : str
    time_s : float
    """

    values: FloatArray
    U: FloatArray
    grad: FloatArray
    parts: dict[str, FloatArray] = field(repr=False)
    status: str
    raw_status: str
    time_s: float


@dataclass(frozen=True)
class SharpnessEstimate:
    """Lower estimate of ``sup_u C(K, u)`` (THEORY.md §A5; an estimate, not a bound).

    Attributes
    ----------
    value_lower_est : float
        Largest ``C(K, u)`` found (over all cones given); a lower estimate of the sup.
    per_cone : ndarray (K,)
        The same per cone.
    u_best : ndarray (d,)
        Direction attaining ``value_lower_est``.
    cone_best : int
    z_at_best : float
        ``Z(u_best)`` (Chebyshev radius), for the Prop 4.3 check.
    by_source : dict of str to float
        Best value among the random starts, the adversarial candidates and after ascent.
    n_socp_columns : int
        Total number of ``(cone, u)`` pairs solved.
    time_s : float
    """

    value_lower_est: float
    per_cone: FloatArray
    u_best: FloatArray
    cone_best: int
    z_at_best: float
    by_source: dict[str, float]
    n_socp_columns: int
    time_s: float


# --------------------------------------------------------------------------- cones
def cone_matrices(X: FloatArray, D: BoolArray) -> FloatArray:
    """``A_i = (2 D_i - I) X`` for every column of ``D`` (n, P); returns (P, n, d), §A1."""
    S = 2.0 * D.astype(np.float64) - 1.0
    return S.T[:, :, None] * X[None, :, :]


def random_cone_model(
    n: int, d: int, rng: np.random.Generator, n_cones: int | None = None
) -> FloatArray:
    """Rotated random-cone model ``A = [a G]``, THEORY.md §A5 "Rotation reduction".

    ``a in R^n`` i.i.d. folded normal ``|N(0, 1)|``, ``G in R^{n x (d-1)}`` i.i.d.
    ``N(0, 1)``: the law of ``(2 D_h - I) X`` under (A1) after rotating ``h`` to ``e_1``
    (so ``e_1`` lies in the cone's interior).

    Returns
    -------
    ndarray of shape (n, d), or (n_cones, n, d) when ``n_cones`` is given.
    """
    for name, val in (("n", n), ("d", d)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise InputError(f"{name} must be an integer >= 1; got {val!r}")
    k = 1 if n_cones is None else int(n_cones)
    if k < 1:
        raise InputError(f"n_cones must be an integer >= 1; got {n_cones!r}")
    A = rng.standard_normal((k, n, d))
    A[:, :, 0] = np.abs(A[:, :, 0])
    return A[0] if n_cones is None else A


# --------------------------------------------------------------------------- SOCPs
def cone_sharpness(A: FloatArray, U: FloatArray, tol: float = DEFAULT_TOL) -> SharpnessBatch:
    """Cone sharpness ``C(K, u)``, THEORY.md §A5 Def 4.1, for a batch of directions.

    One SOCP over all columns (no per-direction cvxpy expressions)::

        min sum_k ||a_k|| + ||b_k||  s.t.  A_k a_k >= 0, A_k b_k >= 0, a_k - b_k = u_k.

    Parameters
    ----------
    A : ndarray (n, d) -- one cone for every ``u`` -- or (B, n, d) -- cone ``k`` for ``u_k``.
    U : ndarray (d,) or (d, B)
        Directions; normalised to unit length (``C`` is positively homogeneous).
    tol : float
        Clarabel tolerance.

    Returns
    -------
    SharpnessBatch
        ``values >= 1`` (up to ``tol``); ``grad`` holds the dual ``z_k`` with
        ``C(K_k, u_k) = z_k^T u_k``.
    """
    As, Un = _prepare(A, U)
    d, B = Un.shape
    a = cp.Variable((d, B))
    b = cp.Variable((d, B))
    eq = a - b == Un
    cons = [_cone_constraint(As, a), _cone_constraint(As, b), eq]
    obj = cp.sum(cp.norm(a, 2, axis=0)) + cp.sum(cp.norm(b, 2, axis=0))
    prob = cp.Problem(cp.Minimize(obj), cons)
    status, raw, elapsed = _solve(prob, tol)
    if a.value is None or b.value is None or eq.dual_value is None:
        fill = np.inf if status == "infeasible" else np.nan
        return SharpnessBatch(
            np.full(B, fill), Un, np.full((d, B), np.nan), {}, status, raw, elapsed
        )
    av = np.asarray(a.value, dtype=np.float64)
    bv = np.asarray(b.value, dtype=np.float64)
    values = group_norms(av) + group_norms(bv)
    z = np.asarray(eq.dual_value, dtype=np.float64).reshape(d, B)
    if float(np.sum(z * Un)) < 0:  # cvxpy's sign convention for equality duals
        z = -z
    return SharpnessBatch(values, Un, z, {"a": av, "b": bv}, status, raw, elapsed)


def chebyshev_radius(A: FloatArray, U: FloatArray, tol: float = DEFAULT_TOL) -> SharpnessBatch:
    """``Z(u) = min {||c||_2 : A c >= |A u|}``, THEORY.md §A5 Prop 4.3 / Thm 4.4 (8).

    A centre ``c`` with ``c +- u in K``; Prop 4.3 gives ``C(K, u) <= 2 Z(u) + 1`` and the
    tighter ``C(K, u) <= Z(u) + 1``. Same batching as :func:`cone_sharpness`. ``grad`` is
    ``A^T (lambda * sign(A u))`` with ``lambda`` the constraint multipliers (``Z`` is convex
    and homogeneous in ``u``, ``Z(u) = grad^T u``).
    """
    As, Un = _prepare(A, U)
    d, B = Un.shape
    c = cp.Variable((d, B))
    AU = _apply(As, Un)  # (n, B)
    con = _cone_constraint(As, c, rhs=np.abs(AU))
    prob = cp.Problem(cp.Minimize(cp.sum(cp.norm(c, 2, axis=0))), [con])
    status, raw, elapsed = _solve(prob, tol)
    if c.value is None or con.dual_value is None:
        fill = np.inf if status == "infeasible" else np.nan
        return SharpnessBatch(
            np.full(B, fill), Un, np.full((d, B), np.nan), {}, status, raw, elapsed
        )
    cv = np.asarray(c.value, dtype=np.float64)
    lam = np.maximum(np.asarray(con.dual_value, dtype=np.float64), 0.0)
    lam = lam.reshape(AU.shape, order="F") if lam.ndim == 1 else lam
    grad = _apply_T(As, lam * np.sign(AU))
    return SharpnessBatch(group_norms(cv), Un, grad, {"c": cv}, status, raw, elapsed)


def sharpness_sup_estimate(
    A: FloatArray,
    rng: np.random.Generator,
    *,
    h: FloatArray | None = None,
    n_random: int = 16,
    n_facets: int = 4,
    n_ascent_starts: int = 4,
    n_ascent: int = 4,
    tol: float = 1e-7,
) -> SharpnessEstimate:
    """Lower estimate of ``C(K) = sup_{||u||=1} C(K, u)`` for one or more cones, §A5.

    For every cone: ``n_random`` uniform unit directions; adversarial candidates ``-h``,
    ``n_random // 2`` unit directions orthogonal to the generator ``h`` (when given) and the
    ``n_facets`` facet normals ``+-A_j`` with the smallest ``|A_j h|`` (random rows when no
    ``h``); then ``n_ascent`` steps of the monotone ascent ``u <- z / ||z||`` from the
    ``n_ascent_starts`` best starts. All cones and directions of a stage are one SOCP.

    Parameters
    ----------
    A : ndarray (n, d) or (K, n, d)
        The cone(s) ``{w : A w >= 0}``.
    rng : numpy Generator
    h : ndarray (d,) or (K, d), optional
        A generator of each cone (a vector in it, e.g. the Gaussian ``h`` that produced the
        pattern; ``e_1`` for :func:`random_cone_model`).

    Returns
    -------
    SharpnessEstimate
        ``value_lower_est`` is a LOWER estimate of the supremum (a maximum over the
        directions tried).
    """
    t0 = time.perf_counter()
    As = np.asarray(A, dtype=np.float64)
    if As.ndim == 2:
        As = As[None]
    if As.ndim != 3:
        raise InputError(f"A must have shape (n, d) or (K, n, d); got {np.shape(A)}")
    K, n, d = As.shape
    H = None if h is None else np.asarray(h, dtype=np.float64).reshape(-1, d)
    if H is not None and H.shape[0] == 1 and K > 1:
        H = np.repeat(H, K, axis=0)
    if H is not None and H.shape[0] != K:
        raise InputError(f"h must have shape (d,) or (K={K}, d); got {H.shape}")
    # ---- start directions, grouped per cone
    starts: list[FloatArray] = []  # each (d, m_k) for cone k
    sources: list[np.ndarray] = []
    for k in range(K):  # numpy only: one small block of directions per cone
        cols = [rng.standard_normal((d, n_random))]
        src = [np.zeros(n_random, dtype=np.int8)]
        Ak = As[k] / np.linalg.norm(As[k], axis=1, keepdims=True).clip(1e-300)
        if H is not None:
            hk = H[k] / max(float(np.linalg.norm(H[k])), 1e-300)
            G = rng.standard_normal((d, max(1, n_random // 2)))
            G -= np.outer(hk, hk @ G)
            tight = np.argsort(np.abs(Ak @ hk))[:n_facets]
            cols += [-hk[:, None], G]
            src += [np.ones(1 + G.shape[1], dtype=np.int8)]
        else:
            tight = rng.choice(n, size=min(n_facets, n), replace=False)
        F = Ak[tight].T
        cols += [F, -F]
        src += [np.ones(2 * F.shape[1], dtype=np.int8)]
        starts.append(np.concatenate(cols, axis=1))
        sources.append(np.concatenate(src))
    counts = [s.shape[1] for s in starts]
    cone_idx = np.repeat(np.arange(K), counts)
    Ubatch = np.concatenate(starts, axis=1)
    res = cone_sharpness(As[cone_idx], Ubatch, tol=tol)
    n_cols = Ubatch.shape[1]
    vals = _clean(res.values)
    src_all = np.concatenate(sources)
    by_source = {
        "random": float(np.max(vals[src_all == 0], initial=-np.inf)),
        "adversarial": float(np.max(vals[src_all == 1], initial=-np.inf)),
    }
    best_vals, best_U = vals.copy(), res.U.copy()
    # ---- local ascent from the best starts of every cone
    pick = np.concatenate(
        [
            np.flatnonzero(cone_idx == k)[np.argsort(-vals[cone_idx == k])[:n_ascent_starts]]
            for k in range(K)
        ]
    )
    U_cur = res.grad[:, pick]
    asc_best = -np.inf
    for _ in range(n_ascent):
        ok = np.all(np.isfinite(U_cur), axis=0) & (np.linalg.norm(U_cur, axis=0) > 0)
        if not ok.any():
            break
        pick, U_cur = pick[ok], U_cur[:, ok]
        step = cone_sharpness(As[cone_idx[pick]], U_cur, tol=tol)
        n_cols += U_cur.shape[1]
        sv = _clean(step.values)
        asc_best = max(asc_best, float(np.max(sv, initial=-np.inf)))
        better = sv > best_vals[pick]
        best_vals[pick[better]] = sv[better]
        best_U[:, pick[better]] = step.U[:, better]
        U_cur = step.grad
    by_source["ascent"] = asc_best
    per_cone = np.array([np.max(best_vals[cone_idx == k], initial=-np.inf) for k in range(K)])
    j = int(np.argmax(best_vals))
    u_best = best_U[:, j]
    z = chebyshev_radius(As[cone_idx[j]], u_best, tol=tol)
    return SharpnessEstimate(
        value_lower_est=float(best_vals[j]),
        per_cone=per_cone,
        u_best=u_best,
        cone_best=int(cone_idx[j]),
        z_at_best=float(z.values[0]),
        by_source=by_source,
        n_socp_columns=int(n_cols + 1),
        time_s=time.perf_counter() - t0,
    )


def solution_sharpness(
    X: FloatArray, D: BoolArray, W: FloatArray, rtol_active: float = 1e-6, tol: float = DEFAULT_TOL
) -> tuple[float, SharpnessBatch | None]:
    """``max_i C(K_i, w_i / ||w_i||)`` over the active columns of a gated solution, §A5 Prop 4.2.

    Prop 4.2 (P12): ``p~_relu <= C * p~_gated`` with this ``C``. Returns ``(1.0, None)``
    when no column is active (the zero solution needs no decomposition).
    """
    norms = group_norms(W)
    top = float(norms.max(initial=0.0))
    active = norms > rtol_active * top if top > 0 else np.zeros(norms.shape, bool)
    if not active.any():
        return 1.0, None
    res = cone_sharpness(cone_matrices(X, D[:, active]), W[:, active], tol=tol)
    return float(np.max(res.values)), res


# --------------------------------------------------------------------------- private
def _prepare(A: FloatArray, U: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Row-normalised cone matrices ((n, d) or (B, n, d)) and unit directions (d, B)."""
    As = np.asarray(A, dtype=np.float64)
    Un = np.asarray(U, dtype=np.float64)
    if Un.ndim == 1:
        Un = Un[:, None]
    if As.ndim not in (2, 3) or Un.ndim != 2 or As.shape[-1] != Un.shape[0]:
        raise InputError(
            f"A must be (n, d) or (B, n, d) and U (d,) or (d, B); got {As.shape}, {Un.shape}"
        )
    if As.ndim == 3 and As.shape[0] != Un.shape[1]:
        raise InputError(f"A has {As.shape[0]} cones but U has {Un.shape[1]} directions")
    norms = np.linalg.norm(Un, axis=0)
    if np.any(norms == 0) or not np.all(np.isfinite(Un)):
        raise InputError("every direction u must be finite and non-zero")
    rn = np.linalg.norm(As, axis=-1, keepdims=True)
    As = As / np.where(rn > 0, rn, 1.0)
    return As, Un / norms


def _block_diag(As: FloatArray) -> sp.csr_matrix:
    """Sparse block-diagonal (B n) x (B d) matrix of the cones ``A_k`` (vectorised)."""
    B, n, d = As.shape
    k, i, j = np.meshgrid(np.arange(B), np.arange(n), np.arange(d), indexing="ij")
    return sp.csr_matrix(
        (As.ravel(), ((k * n + i).ravel(), (k * d + j).ravel())), shape=(B * n, B * d)
    )


def _cone_constraint(
    As: FloatArray, var: cp.Variable, rhs: FloatArray | None = None
) -> cp.Constraint:
    """``A_k var_k >= rhs_k`` for all columns ``k`` as one constraint."""
    if As.ndim == 2:
        lhs = As @ var
        return lhs >= (0.0 if rhs is None else rhs)
    flat = _block_diag(As) @ cp.vec(var, order="F")
    return flat >= (0.0 if rhs is None else rhs.ravel(order="F"))


def _apply(As: FloatArray, U: FloatArray) -> FloatArray:
    """``[A_k u_k]_k`` as an (n, B) array."""
    if As.ndim == 2:
        return np.asarray(As @ U)
    return np.einsum("knd,dk->nk", As, U)


def _apply_T(As: FloatArray, L: FloatArray) -> FloatArray:
    """``[A_k^T l_k]_k`` as a (d, B) array."""
    if As.ndim == 2:
        return np.asarray(As.T @ L)
    return np.einsum("knd,nk->dk", As, L)


def _solve(prob: cp.Problem, tol: float) -> tuple[str, str, float]:
    status, raw, _, elapsed = run_clarabel(prob, tol, max_iter=200)
    return status, raw, elapsed


def _clean(values: FloatArray) -> FloatArray:
    """Non-finite values (failed solves) never count as the maximum."""
    return np.where(np.isfinite(values), values, -np.inf)
