"""The joint Part D lower end solved as one convex SDP, THEORY.md Part D.

:func:`harness.certificates.optimized_dual_point` optimises a dual point ``v`` together with
its certificate ``M_hat >= M(v)`` (the subset bound in eigenvalue form, with triangle cuts)
by L-BFGS-B on a smoothed ``lambda_max``. That local method stops far from the optimum of
its own model (measured: README, "Certified bracket"). The model is in fact convex. Fix the
sign partition of the start, ``P = {v0_i > 0}``, ``N`` the rest, keep ``v_P >= 0``,
``v_N <= 0``, and write the certificate of one side ``w = +-v`` (support ``S``, negatives
``N_w``, ``G = X^T diag(w) A(t)``, ``N = |S| + 1``, triangle matrices ``T_k``) with
``r = t * w_{N_w}`` in place of ``t`` and ``c = lambda 1 - mu``::

    N lambda_max(G^T G + diag mu + sum pi_k T_k) - sum mu + sum pi <= beta^2
    <=  exists c, pi >= 0:  diag(c) - sum pi_k T_k >= G^T G  (PSD),  sum c + sum pi <= beta^2
    <=> [[diag(c) - sum pi_k T_k, G^T], [G, I_d]] >= 0,  sum c + sum pi <= beta^2   (Schur)

(take ``mu = -c``: then ``lambda_max(...) <= 0``). ``G`` is linear in ``(w, r)`` and the box
``t in [0, 1]`` is ``w_i <= r_i <= 0`` (``w_i <= 0`` on ``N_w``), so
``max v^T y - ||v||^2 / 2`` subject to this for both sides is ONE convex SDP in
``(v, r, c, pi)``: its optimum is the global optimum of the joint method's model for the
given partition and cuts. Triangle inequalities ``a b z_i z_j + b c z_j z_k + a c z_i z_k
>= -1`` are separated from the primal matrix (the dual of the LMI's top-left block) in
rounds, as in the joint method.

Nothing the solver returns is trusted: the point ``v`` (projected onto its sign pattern),
``mu = -c``, ``t = r / w`` (clipped into ``[0, 1]``) and ``pi`` (clipped to ``>= 0``) are
re-certified with the exact ``lambda_max`` plus a rounding margin
(:func:`harness.certificates._side_value`, the same certificate as the joint method), and
the lower bound is Part D "Scaling" at that ``M_hat``. So the value is ``<= p*`` by weak
duality whatever the solver did; an inaccurate solve only costs tightness. SCS (first
order, cheap per iteration) is the default: Clarabel's dense PSD blocks of size
``|S| + 1 + d`` are too slow beyond ``n ~ 80``.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from harness.certificates_joint import (
    DualNormBound,
    LowerBound,
    _separate_triangles,
    _Side,
    _side_value,
    dual_lower_bound,
    staged_minimize,
)
from harness.errors import InputError
from harness.formulations import FloatArray

#: Conic solvers of :func:`sdp_dual_point` (options of cvxpy).
SDP_SOLVERS = ("scs", "clarabel")
#: Default SCS tolerance (``eps_abs = eps_rel``) of :func:`sdp_dual_point`.
SDP_EPS = 1e-5
#: SCS iteration cap of the rounds that only separate cuts, and of the last round.
SDP_MAX_ITERS = 300
SDP_FINAL_MAX_ITERS = 1000
#: L-BFGS-B steps per smoothing stage of the final certificate polish (:func:`_polish`).
SDP_POLISH_ITERS = 200


def sdp_dual_point(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    v0: FloatArray,
    *,
    candidate: str = "v",
    triangle_rounds: int = 3,
    triangles_per_round: int | None = None,
    solver: str = "scs",
    eps: float = SDP_EPS,
    max_iters: int = SDP_MAX_ITERS,
    final_max_iters: int = SDP_FINAL_MAX_ITERS,
    polish_iters: int = SDP_POLISH_ITERS,
) -> LowerBound:
    """Certified lower bound on p* from the joint model solved as a convex SDP (module doc).

    The sign partition is that of ``v0`` (``v0_i > 0`` vs the rest); only the partition of
    the start matters, the SDP optimises ``v`` globally inside it. ``triangle_rounds``
    separation rounds of ``triangles_per_round`` cuts per side (default ``8 (|S| + 1)``)
    follow the first solve. SCS runs at most ``max_iters`` iterations in the rounds whose
    solution only serves to separate cuts and ``final_max_iters`` in the last one (its
    ``eps_abs = eps_rel = eps``); the certificate of the last round's ``v`` is then
    polished by ``polish_iters`` L-BFGS-B steps per smoothing stage on ``(mu, t, pi)`` at
    fixed ``v`` (:func:`_polish`; the smaller exact value is kept). Every round's point is
    certified and the best is returned, so more rounds never lower the value. Returns a
    :class:`harness.certificates.LowerBound` (``M_hat.method = "subset_sdp_joint"``) or,
    when no solve gave a point, the trivial bound 0 with ``v = None``. ``solver="clarabel"``
    (interior point, exact but slow beyond ``n ~ 80``) ignores the iteration caps.
    """
    import cvxpy as cp

    if solver not in SDP_SOLVERS:
        raise InputError(f"sdp solver must be one of {list(SDP_SOLVERS)}; got {solver!r}")
    t_start = time.perf_counter()
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    v0 = np.asarray(v0, dtype=np.float64)
    n, d = X.shape
    trivial = LowerBound(0.0, candidate, 0.0, DualNormBound(math.inf, "subset_sdp_joint", 0.0))
    nrm = float(np.linalg.norm(v0))
    if nrm == 0.0 or not np.all(np.isfinite(v0)):
        return trivial
    # scaled coordinates: Xs = X / xs, v = bs v_s with bs = beta / xs, so that the
    # certificate of v_s on Xs is compared with 1 (module doc with beta = 1)
    xs = float(np.sqrt(np.mean(X * X)))
    if xs == 0.0:
        return trivial
    Xs = X / xs
    bs = beta / xs
    P = np.flatnonzero(v0 > 0)
    N = np.flatnonzero(v0 <= 0)
    no_tri = (np.zeros((0, 3), dtype=np.intp), np.zeros((0, 3)))
    sides = [_Side(P, N, 1.0, *no_tri), _Side(N, P, -1.0, *no_tri)]
    k_tri = (
        triangles_per_round if triangles_per_round is not None else 8 * max(s.size for s in sides)
    )
    best = trivial
    for rnd in range(triangle_rounds + 1):
        v = cp.Variable(n)
        cons: list[Any] = [v[P] >= 0, v[N] <= 0]
        held = []
        for side in sides:
            r, c, pi, lmi, side_cons = _side_constraints(cp, Xs, v, side, d)
            cons += side_cons
            held.append((r, c, pi, lmi))
        prob = cp.Problem(cp.Maximize(y @ v - 0.5 * bs * cp.sum_squares(v)), cons)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                if solver == "scs":
                    cap = final_max_iters if rnd == triangle_rounds else max_iters
                    prob.solve(solver="SCS", eps_abs=eps, eps_rel=eps, max_iters=cap)
                else:
                    prob.solve(solver="CLARABEL")
        except cp.error.SolverError:
            break
        if v.value is None or not np.all(np.isfinite(v.value)):
            break
        vs = np.asarray(v.value, dtype=np.float64).copy()
        vs[P] = np.maximum(vs[P], 0.0)
        vs[N] = np.minimum(vs[N], 0.0)
        Hc = []
        ok = True
        for side, (r, c, pi, _) in zip(sides, held, strict=True):
            if r.value is None or c.value is None or (pi is not None and pi.value is None):
                ok = False
                break
            w = side.sign * vs
            wN = w[side.N]
            t = np.zeros(side.N.size)
            neg = wN < 0
            t[neg] = np.asarray(r.value)[neg] / wN[neg]
            t = np.clip(np.nan_to_num(t), 0.0, 1.0)
            piv = np.maximum(np.asarray(pi.value), 0.0) if pi is not None else np.zeros(0)
            part = np.concatenate([-np.asarray(c.value, dtype=np.float64), t, piv])
            if not np.all(np.isfinite(part)):
                ok = False
                break
            part = _polish(Xs, vs, side, part, polish_iters if rnd == triangle_rounds else 0)
            # certified on the original data: v = bs vs, G = beta G_s, so (mu, pi) scale by
            # beta^2 and t is unchanged (any values are valid; this only keeps them tight)
            Nn, nN = side.size, side.N.size
            part[:Nn] *= beta * beta
            part[Nn + nN :] *= beta * beta
            Hc.append(_side_value(X, bs * vs, side, part, 0.0)[0])
        if not ok:
            break
        M_hat = math.sqrt(max(max(Hc), 0.0) * (1.0 + 1e-12))
        vv = bs * vs
        if math.isfinite(M_hat):
            value, scale = dual_lower_bound(vv, y, beta, M_hat)
            if value > best.value:
                Mb = DualNormBound(M_hat, "subset_sdp_joint", time.perf_counter() - t_start)
                best = LowerBound(value, candidate, scale, Mb, v=vv)
        if rnd == triangle_rounds:
            break
        for side, (_, _, _, lmi) in zip(sides, held, strict=True):
            Y = lmi.dual_value
            if Y is None:
                continue
            Nn = side.size
            Z = np.asarray(Y, dtype=np.float64)[:Nn, :Nn]
            dz = float(np.mean(np.diag(Z)))
            if not (math.isfinite(dz) and dz > 0):
                continue
            T, Sg = _separate_triangles(0.5 * (Z + Z.T) / dz, k_tri)
            side.tri = np.concatenate([side.tri, T]).astype(np.intp)
            side.tsg = np.concatenate([side.tsg, Sg])
    if best.v is not None:
        Mb = best.M_hat
        best = LowerBound(
            best.value,
            candidate,
            best.t,
            DualNormBound(Mb.value, Mb.method, time.perf_counter() - t_start),
            v=best.v,
        )
    return best


def _side_constraints(
    cp: Any, Xs: FloatArray, v: Any, side: Any, d: int
) -> tuple[Any, Any, Any, Any, list[Any]]:
    """Variables ``(r, c, pi)`` and constraints of one side's certificate (module doc)."""
    S, Ng = side.S, side.N
    Nn = side.size
    w = side.sign * v
    r = cp.Variable(Ng.size) if Ng.size else None
    cons: list[Any] = []
    parts = [Xs[S].T @ w[S] / 2.0] if S.size else []
    if r is not None:
        cons += [r <= 0, r >= w[Ng]]
        parts.append(Xs[Ng].T @ r)
    col0 = cp.sum(parts) if parts else cp.Constant(np.zeros(d))
    cols = (Xs[S].T * 0.5) @ cp.diag(w[S]) if S.size else None
    col0 = cp.reshape(col0, (d, 1), order="F")
    G = cp.hstack([col0, cols]) if cols is not None else col0
    c = cp.Variable(Nn)
    K = int(side.tri.shape[0])
    pi = cp.Variable(K, nonneg=True) if K else None
    top = cp.diag(c)
    total = cp.sum(c)
    if pi is not None:
        top = top - _tri_expr(cp, Nn, side.tri, side.tsg, pi)
        total = total + cp.sum(pi)
    lmi = cp.bmat([[top, G.T], [G, np.eye(d)]]) >> 0
    cons += [lmi, total <= 1.0]
    if r is None:
        r = _Zero()
    return r, c, pi, lmi, cons


class _Zero:
    """Stand-in for an empty ``r`` (no negatives on this side)."""

    value = np.zeros(0)


def _tri_expr(cp: Any, Nn: int, tri: Any, tsg: FloatArray, pi: Any) -> Any:
    """``sum_k pi_k T_k`` (``z^T T_k z = a b z_i z_j + b c z_j z_k + a c z_i z_k``)."""
    K = tri.shape[0]
    i, j, k = tri.T
    a, b, c = tsg.T
    rows, cols, vals = [], [], []
    for p_, q_, val in ((i, j, a * b), (j, k, b * c), (i, k, a * c)):
        for x_, y_ in ((p_, q_), (q_, p_)):
            rows.append(x_ * Nn + y_)
            cols.append(np.arange(K))
            vals.append(0.5 * val)
    A = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(Nn * Nn, K)
    )
    return cp.reshape(A @ pi, (Nn, Nn), order="C")


def _polish(Xs: FloatArray, vs: FloatArray, side: Any, part: FloatArray, iters: int) -> FloatArray:
    """``part = (mu, t, pi)`` of one side after ``iters`` L-BFGS-B steps per smoothing stage
    on the smoothed certificate at fixed ``v`` (the start if its exact value is smaller).

    The SCS point is only approximately optimal: ``lambda_max`` of its certificate matrix is
    slightly positive, which costs ``N lambda_max`` in the exact value. Polishing at fixed
    ``v`` is cheap (one ``N x N`` eigendecomposition per step) and recovers most of it.
    """
    if iters <= 0:
        return part.copy()
    n, Nn, nN = Xs.shape[0], side.size, side.N.size
    bounds = [(None, None)] * Nn + [(0.0, 1.0)] * nN + [(0.0, None)] * (part.size - Nn - nN)

    def fun(x: FloatArray, tau: float) -> tuple[float, FloatArray]:
        H, g, _ = _side_value(Xs, vs, side, x, tau)
        assert g is not None
        return H, g[n:]

    # the scaled certificate is ~1 (beta = 1)
    x = staged_minimize(fun, part, (1e-3 / Nn, 1e-4 / Nn), bounds, iters).copy()
    x[Nn : Nn + nN] = np.clip(x[Nn : Nn + nN], 0.0, 1.0)
    x[Nn + nN :] = np.maximum(x[Nn + nN :], 0.0)
    if _side_value(Xs, vs, side, x, 0.0)[0] <= _side_value(Xs, vs, side, part, 0.0)[0]:
        return x
    return part.copy()
