"""Part D's joint certificate of ``M(v)``: bound records, the sign-side model, its optimiser.

The pieces of THEORY.md Part D that the lower ends of the p* bracket share
(:mod:`harness.certificates` runs them; :mod:`harness.certificates_sdp` solves the same
model as one convex SDP): the records of a valid ``M_hat >= M(v)``
(:class:`DualNormBound`) and of a lower bound (:class:`LowerBound`), Part D "Scaling"
(:func:`dual_lower_bound`), and the joint method -- a dual point optimised together with
its subset certificate in eigenvalue form with triangle cuts (:func:`optimized_dual_point`;
the side model ``_Side`` / ``_side_value`` and the cut separation ``_separate_triangles``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from harness.formulations import FloatArray

IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class DualNormBound:
    """A valid upper bound ``M_hat >= M(v) = max_{||u|| <= 1} |v^T (X u)_+|`` (Part D).

    Attributes
    ----------
    value : float
    method : str
        ``"enumerated_patterns"`` (bound 2 over all patterns), ``"subset_exact"`` /
        ``"subset_sdp"`` (refined bound 3, exact enumeration / certified SDP),
        ``"subset_joint"`` (refined bound 3 with triangle cuts, :func:`optimized_dual_point`),
        ``"subset_sdp_joint"`` (the same, from
        :func:`harness.certificates_sdp.sdp_dual_point`),
        ``"lifted_rlt"`` (lifted RLT SDP of ``M(v)``, :mod:`harness.certificates_rlt`),
        ``"spectral"`` (bound 4).
    time_s : float
    """

    value: float
    method: str
    time_s: float


@dataclass(frozen=True)
class LowerBound:
    """Part D lower bound ``LB(v) = t* v^T y - t*^2/2 ||v||^2 <= p*`` from a candidate ``v``."""

    value: float
    candidate: str
    t: float
    M_hat: DualNormBound
    v: FloatArray | None = field(default=None, repr=False)


def dual_lower_bound(
    v: FloatArray, y: FloatArray, beta: float, M_hat: float
) -> tuple[float, float]:
    """``max_{0 <= t <= beta/M_hat} t v^T y - t^2/2 ||v||^2``, THEORY.md Part D "Scaling".

    ``M_hat`` must be a valid upper bound on ``M(v)``. Returns ``(LB, t*)``.
    """
    vv = float(v @ v)
    vy = float(v @ y)
    if vv == 0.0 or vy <= 0.0:
        return 0.0, 0.0
    t_max = math.inf if M_hat <= 0 else beta / M_hat
    t = min(vy / vv, t_max)
    return float(t * vy - 0.5 * t * t * vv), float(t)


#: Smoothing stages (relative to the start's ``lambda_max``) of :func:`optimized_dual_point`.
JOINT_TAUS = (1e-2, 1e-3, 1e-4)
#: Sign variants ``(a, b, c)`` of the triangle inequality
#: ``a b z_i z_j + b c z_j z_k + a c z_i z_k >= -1`` (valid for every ``z in {+-1}^3``).
_TRI_SIGNS = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=np.float64)


@dataclass
class _Side:
    """One side ``w = sign * v`` of :func:`optimized_dual_point` (support ``S``, negatives ``N``).

    ``tri`` (K, 3) indices into ``z = (z_0, z_S)`` and ``tsg`` (K, 3) signs of the triangle
    inequalities whose multipliers are optimised.
    """

    S: IntArray
    N: IntArray
    sign: float
    tri: IntArray
    tsg: FloatArray

    @property
    def size(self) -> int:
        return int(self.S.size + 1)

    def n_vars(self) -> int:
        return self.size + int(self.N.size) + int(self.tri.shape[0])

    def matrix(self, n: int, t: FloatArray) -> FloatArray:
        """``A(t)`` with ``A[S, 0] = 1/2``, ``A[N, 0] = t``, ``A[S_j, 1 + j] = 1/2``."""
        A = np.zeros((n, self.size))
        A[self.S, 0] = 0.5
        A[self.N, 0] = t
        A[self.S, 1 + np.arange(self.S.size)] = 0.5
        return A

    def tri_matrix(self, pi: FloatArray) -> FloatArray:
        """``sum_T pi_T T_T`` with ``z^T T_T z = a b z_i z_j + b c z_j z_k + a c z_i z_k``."""
        T = np.zeros((self.size, self.size))
        if pi.size:
            i, j, k = self.tri.T
            a, b, c = self.tsg.T
            for r, s_, val in ((i, j, a * b), (j, k, b * c), (i, k, a * c)):
                np.add.at(T, (r, s_), 0.5 * pi * val)
                np.add.at(T, (s_, r), 0.5 * pi * val)
        return T


def _side_value(
    X: FloatArray,
    v: FloatArray,
    side: _Side,
    xs: FloatArray,
    tau: float,
) -> tuple[float, FloatArray | None, FloatArray | None]:
    """``H = N LSE_tau(eig(K)) - sum(mu) + sum(pi)`` of one side, and its gradient.

    ``K = G^T G + diag(mu) + sum_T pi_T T_T``, ``G = X^T diag(w) A(t)``, ``w = sign * v``,
    ``N = |S| + 1``; ``xs = (mu, t, pi)``. ``tau <= 0``: exact ``lambda_max`` plus a
    rounding margin (the certified value), no gradient. Also returns the primal matrix
    ``N * Pi`` (smoothed SDP solution) for triangle separation.
    """
    n, Nn = X.shape[0], side.size
    mu = xs[:Nn]
    t = xs[Nn : Nn + side.N.size]
    pi = xs[Nn + side.N.size :]
    w = side.sign * v
    A = side.matrix(n, t)
    G = X.T @ (w[:, None] * A)
    K = G.T @ G + np.diag(mu) + side.tri_matrix(pi)
    if tau <= 0:
        lam_max = float(np.linalg.eigvalsh(K)[-1])
        margin = 8.0 * Nn * np.finfo(float).eps * float(np.abs(K).sum() + np.abs(mu).sum())
        return Nn * (lam_max + margin) - float(mu.sum()) + float(pi.sum()), None, None
    lam, V = np.linalg.eigh(K)
    e = np.exp((lam - lam[-1]) / tau)
    tot = float(e.sum())
    pr = e / tot
    H = Nn * (lam[-1] + tau * math.log(tot)) - float(mu.sum()) + float(pi.sum())
    Pi = (V * pr) @ V.T
    XR = X @ (2.0 * G @ Pi)
    g_w = Nn * (XR * A).sum(axis=1)
    g_t = Nn * w[side.N] * XR[side.N, 0]
    g_mu = Nn * np.diag(Pi) - 1.0
    g_pi = np.zeros(0)
    if pi.size:
        i, j, k = side.tri.T
        a, b, c = side.tsg.T
        g_pi = Nn * (a * b * Pi[i, j] + b * c * Pi[j, k] + a * c * Pi[i, k]) + 1.0
    grad = np.concatenate([side.sign * g_w, g_mu, g_t, g_pi])
    return float(H), grad, Nn * Pi


def _separate_triangles(Z: FloatArray, k_max: int) -> tuple[IntArray, FloatArray]:
    """The ``k_max`` most violated triangle inequalities at the (smoothed) SDP matrix ``Z``."""
    Nn = Z.shape[0]
    if Nn < 3 or k_max <= 0:
        return np.zeros((0, 3), dtype=np.intp), np.zeros((0, 3))
    # all triples i < j < k, built in blocks of the first index to bound memory
    trip: list[IntArray] = []
    sgn: list[FloatArray] = []
    viol: list[FloatArray] = []
    for first in range(Nn - 2):
        jj, kk = np.triu_indices(Nn - first - 1, 1)
        jj, kk = jj + first + 1, kk + first + 1
        zij, zjk, zik = Z[first, jj], Z[jj, kk], Z[first, kk]
        for s in _TRI_SIGNS:
            val = s[0] * s[1] * zij + s[1] * s[2] * zjk + s[0] * s[2] * zik + 1.0
            bad = val < -1e-6
            if bad.any():
                m = int(bad.sum())
                trip.append(np.stack([np.full(m, first), jj[bad], kk[bad]], axis=1))
                sgn.append(np.tile(s, (m, 1)))
                viol.append(val[bad])
    if not trip:
        return np.zeros((0, 3), dtype=np.intp), np.zeros((0, 3))
    T, Sg, Vl = np.concatenate(trip), np.concatenate(sgn), np.concatenate(viol)
    order = np.argsort(Vl, kind="stable")[:k_max]
    return T[order].astype(np.intp), Sg[order]


def staged_minimize(
    fun: Callable[[FloatArray, float], tuple[float, FloatArray]],
    x: FloatArray,
    taus: Sequence[float],
    bounds: Sequence[tuple[float | None, float | None]],
    max_iter: int,
    gtol: float = 1e-12,
) -> FloatArray:
    """L-BFGS-B on ``fun(x, tau)`` (value, gradient) for each smoothing ``tau`` in turn.

    Each stage starts where the last stopped; a stage whose point is not finite is skipped.
    The callers recompute their certificate exactly at the result, so this only affects
    tightness.
    """
    for tau in taus:
        res = minimize(
            fun,
            x,
            args=(tau,),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iter, "gtol": gtol, "ftol": 1e-15},
        )
        if np.all(np.isfinite(res.x)):
            x = res.x
    return x


def optimized_dual_point(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    v0: FloatArray,
    *,
    candidate: str = "v",
    optimize_v: bool = True,
    taus: tuple[float, ...] = JOINT_TAUS,
    max_iter: int = 1000,
    triangle_rounds: int = 3,
    triangles_per_round: int | None = None,
) -> LowerBound:
    """Certified lower bound on p* from a dual point optimised against its certificate, Part D.

    Part D "Optimizing v instead of scaling one candidate", solved locally in eigenvalue form.
    Fix the sign partition of the start ``v0``: ``P = {v0_i > 0}``, ``N`` the rest, and keep
    ``v_P >= 0``, ``v_N <= 0``. For ``w = v`` (support ``S = P``, negatives ``N``) and
    ``w = -v`` (``S = N``, negatives ``P``), every ``t in [0, 1]^N``, every
    ``mu in R^{|S|+1}`` and every ``pi >= 0`` (one per chosen triangle inequality ``T``)::

        M_+(w) = max_{||u||<=1} sum_i w_i (x_i^T u)_+
              <= max_{s in {0,1}^S} || sum_S s_i w_i x_i + sum_N t_i w_i x_i ||      (a)
               = max_{z in {+-1}^{|S|+1}} || G z ||,  G = X^T diag(w) A(t)          (b)
              <= sqrt(N lambda_max(G^T G + diag mu + sum pi_T T_T) - sum mu + sum pi) (c)

    with ``N = |S| + 1``. (a): ``w_i (a)_+ = max_{s in {0,1}} s w_i a`` for ``i in S`` (any
    sign of ``w_i``) and ``w_i (a)_+ <= t_i w_i a`` for ``w_i <= 0`` since ``(a)_+ >= t_i a``
    (Part D bound 3 with the negative terms kept); (b): ``s_i = (1 + z_0 z_i)/2``
    (:func:`dual_norm_bound`); (c): for ``z in {+-1}^N``, ``z^T diag(mu) z = sum(mu)``,
    ``z^T T_T z + 1 >= 0`` (triangle inequality ``a b z_i z_j + b c z_j z_k + a c z_i z_k >=
    -1``), so ``||G z||^2 <= z^T (G^T G + diag mu + sum pi T) z - sum mu + sum pi <= N
    lambda_max(...) - sum mu + sum pi``. Without triangles, the minimum over ``mu`` is the
    Goemans-Williamson SDP value; the triangles tighten it (separated from the smoothed SDP
    matrix in ``triangle_rounds`` rounds). So ``M_hat = max(side +, side -) >= M(v) =
    max(M_+(v), M_+(-v))`` holds for ANY ``(v, mu, t, pi)`` with the signs above, and
    ``LB(v)`` of Part D "Scaling" is ``<= p*`` by weak duality -- for any data, whatever the
    optimiser does. The optimiser (L-BFGS-B, log-sum-exp smoothing of ``lambda_max`` in
    stages ``taus`` relative to the start's ``lambda_max``; smoothing only raises the
    value) maximises ``beta v^T y / M_hat - beta^2 ||v||^2 / (2 M_hat^2)`` (the Part D value
    when the scale cap binds) jointly over all variables; ``optimize_v=False`` keeps
    ``v = v0``. The returned value is recomputed at the final point with the exact
    ``lambda_max`` plus a rounding margin.
    """
    y = np.asarray(y, dtype=np.float64)
    n = X.shape[0]
    nrm = float(np.linalg.norm(v0))
    t0 = time.perf_counter()
    if nrm == 0.0 or not np.all(np.isfinite(v0)):
        return LowerBound(0.0, candidate, 0.0, DualNormBound(math.inf, "subset_joint", 0.0))
    u0 = np.asarray(v0, dtype=np.float64) / nrm
    P = np.flatnonzero(u0 > 0)
    N = np.flatnonzero(u0 <= 0)
    no_tri = (np.zeros((0, 3), dtype=np.intp), np.zeros((0, 3)))
    sides = [_Side(P, N, 1.0, *no_tri), _Side(N, P, -1.0, *no_tri)]
    xs: list[FloatArray] = []
    lam0 = 1e-300
    for side in sides:
        A = side.matrix(n, np.zeros(side.N.size))
        G = X.T @ ((side.sign * u0)[:, None] * A)
        K = G.T @ G
        mu0 = -np.diag(K).copy()
        lam0 = max(lam0, float(np.linalg.eigvalsh(K + np.diag(mu0))[-1]))
        xs.append(np.concatenate([mu0, np.zeros(side.N.size)]))
    if lam0 <= 1e-200:  # G = 0 on both sides: no curvature to optimise; p* >= 0 holds
        return LowerBound(0.0, candidate, 0.0, DualNormBound(math.inf, "subset_joint", 0.0))
    v = u0.copy()
    v_bounds: list[tuple[float | None, float | None]] = [
        (
            (float(u0[i]), float(u0[i]))
            if not optimize_v
            else ((0.0, None) if u0[i] > 0 else (None, 0.0))
        )
        for i in range(n)
    ]
    k_tri = (
        triangles_per_round if triangles_per_round is not None else 8 * max(s.size for s in sides)
    )
    for rnd in range(triangle_rounds + 1):
        x = np.concatenate([v, *xs])
        bounds = list(v_bounds)
        for side in sides:
            bounds += [(None, None)] * side.size + [(0.0, 1.0)] * side.N.size
            bounds += [(0.0, None)] * side.tri.shape[0]
        offs = np.cumsum([n] + [s.n_vars() for s in sides])
        Zs: list[FloatArray | None] = [None, None]

        def neg_value(
            x: FloatArray,
            tau: float,
            offs: IntArray = offs,
            Zs: list[FloatArray | None] = Zs,
        ) -> tuple[float, FloatArray]:
            vv = x[:n]
            Hs, grads = [], []
            for q, side in enumerate(sides):
                H, g, Z = _side_value(X, vv, side, x[offs[q] : offs[q + 1]], tau)
                assert g is not None
                Hs.append(H)
                grads.append(g)
                Zs[q] = Z
            tt = max(tau, 1e-300)  # smooth max of the two sides (an upper bound on the max)
            hm = max(Hs)
            e1, e2 = math.exp((Hs[0] - hm) / tt), math.exp((Hs[1] - hm) / tt)
            m = hm + tt * math.log(e1 + e2)
            wts = (e1 / (e1 + e2), e2 / (e1 + e2))
            a, b = float(vv @ y), float(vv @ vv)
            val = beta * a / math.sqrt(m) - beta**2 * b / (2.0 * m)
            d_m = -0.5 * beta * a * m**-1.5 + beta**2 * b / (2.0 * m * m)
            g_v = (beta / math.sqrt(m)) * y - (beta**2 / m) * vv
            out = [g_v + d_m * (wts[0] * grads[0][:n] + wts[1] * grads[1][:n])]
            out += [d_m * wk * g[n:] for wk, g in zip(wts, grads, strict=True)]
            return -val, -np.concatenate(out)

        stages = [tau * lam0 for tau in (taus if rnd == 0 else taus[-1:])]
        x = staged_minimize(neg_value, x, stages, bounds, max_iter)
        v = x[:n].copy()
        xs = [x[offs[q] : offs[q + 1]].copy() for q in range(2)]
        if rnd == triangle_rounds:
            break
        neg_value(x, taus[-1] * lam0)  # refresh the smoothed SDP matrices
        for q, side in enumerate(sides):
            Z = Zs[q]
            if Z is None:
                continue
            T, Sg = _separate_triangles(Z, k_tri)
            keep_pi = xs[q][side.size + side.N.size :]
            side.tri = np.concatenate([side.tri, T]).astype(np.intp)
            side.tsg = np.concatenate([side.tsg, Sg])
            xs[q] = np.concatenate(
                [xs[q][: side.size + side.N.size], keep_pi, np.zeros(T.shape[0])]
            )
    v[P] = np.maximum(v[P], 0.0)
    v[N] = np.minimum(v[N], 0.0)
    Hc = []
    for q, side in enumerate(sides):
        part = xs[q].copy()
        Nn, nN = side.size, side.N.size
        part[Nn : Nn + nN] = np.clip(part[Nn : Nn + nN], 0.0, 1.0)
        part[Nn + nN :] = np.maximum(part[Nn + nN :], 0.0)
        Hc.append(_side_value(X, v, side, part, 0.0)[0])
    M_hat = math.sqrt(max(max(Hc), 0.0) * (1.0 + 1e-12))
    Mb = DualNormBound(value=M_hat, method="subset_joint", time_s=time.perf_counter() - t0)
    value, scale = dual_lower_bound(v, y, beta, M_hat)
    return LowerBound(value=value, candidate=candidate, t=scale, M_hat=Mb, v=v)
