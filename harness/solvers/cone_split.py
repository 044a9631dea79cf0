"""Minimal-norm cone decomposition ``w_i = a_i - b_i`` by a batched interior-point method.

THEORY.md §A5 Def 4.1 / Prop 4.2: for each active column ``w_i`` of a gated solution,

    min ||a_i|| + ||a_i - w_i||  s.t.  a_i in K_i,  a_i - w_i in K_i,

with ``K_i = {u : s_i * (X u) >= 0}`` and ``s_i = 2 D_i - 1``. The two cone conditions are
one per row: ``s_i * (X a_i) >= h_i = max(0, s_i * (X w_i))``. The columns are
independent, so every Newton system is block diagonal with one ``(d + 2) x (d + 2)`` block
per column (``a_i`` and the two epigraph variables): a batched Cholesky, ``O(k n d^2)`` per
iteration for ``k`` columns. A general conic solver on the same program (cvxpy + Clarabel,
one SOCP over all columns) factors a sparse KKT matrix whose dense ``n x d`` blocks fill
in: ``benchmarks/bench_cone_split.py --sizes full`` measured 25.7 s against 0.73 s here at
n = 320, d = 80, 63 columns (CPU time; values equal to 4e-9 relative).

Primal-dual Mehrotra predictor-corrector with Nesterov-Todd scaling, in the standard form
of Vandenberghe's ``coneqp`` (the cone algebra of :mod:`harness.solvers.ipm`). Each column
is scaled to ``||w_i|| = 1`` and ``X`` to ``||X||_2 = 1``, so one tolerance fits all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.formulations import FloatArray
from harness.solvers.ipm import lp_max_step, soc_div, soc_max_step, soc_nt, soc_prod, soc_scale

#: The (n, d*d) table of the rows' outer products is kept only below this many entries.
XX_MAX_ENTRIES = 5_000_000
#: Default iteration cap (24 iterations at n = 320, d = 80, 61 columns, tol 1e-8).
DEFAULT_MAX_ITER = 100


@dataclass(frozen=True)
class SplitResult:
    """Output of :func:`split_columns`.

    ``A`` (d, k) the parts ``a_i`` (``b_i = a_i - w_i``); ``status`` ``"optimal"`` when
    every column's complementarity gap (relative to its objective) and the residuals are
    within ``tol``, ``"max_iter"`` or ``"failed"`` (a Cholesky breakdown) otherwise;
    ``n_iter``; ``rel_gap`` the largest per-column relative gap reached.
    """

    A: FloatArray
    status: str
    n_iter: int
    rel_gap: float


def split_columns(
    X: FloatArray,
    S: FloatArray,
    W: FloatArray,
    tol: float = 1e-8,
    max_iter: int = DEFAULT_MAX_ITER,
) -> SplitResult:
    """Solve the decomposition for the columns of ``W`` (d, k), non-zero, with signs ``S``
    (n, k) ``= 2 D_i - 1`` of their patterns (module docstring)."""
    n, d = X.shape
    k = W.shape[1]
    Xn = X / float(np.linalg.norm(X, 2))
    scale = np.linalg.norm(W, axis=0)
    Wu = W / scale
    h = np.maximum(S * (Xn @ Wu), 0.0)
    xx = (
        (Xn[:, :, None] * Xn[:, None, :]).reshape(n, d * d) if n * d * d <= XX_MAX_ENTRIES else None
    )

    # start: a = w / 2 (the midpoint; both parts of norm 1/2), slacks pushed inside
    a = 0.5 * Wu
    t1 = np.linalg.norm(a, axis=0) + 1.0
    t2 = np.linalg.norm(a - Wu, axis=0) + 1.0
    sl = np.maximum(S * (Xn @ a) - h, 0.0) + 0.1
    zl = np.full((n, k), 1.0 / n)
    s1, s2 = np.vstack([t1, a]), np.vstack([t2, a - Wu])
    z1 = np.zeros((d + 1, k))
    z2 = np.zeros((d + 1, k))
    z1[0] = z2[0] = 1.0
    m_deg = n + 2  # LP rows + two cones, per column
    status, rel_gap, it = "max_iter", np.inf, 0
    for it in range(max_iter + 1):
        # residuals of  c + G^T z = 0  and  G x + s = h  (standard form of coneqp)
        rx_a = -(Xn.T @ (S * zl)) - z1[1:] - z2[1:]
        rx_1, rx_2 = 1.0 - z1[0], 1.0 - z2[0]
        rz_l = sl - (S * (Xn @ a) - h)
        rz_1 = s1 - np.vstack([t1, a])
        rz_2 = s2 - np.vstack([t2, a - Wu])
        gap_cols = (sl * zl).sum(axis=0) + (s1 * z1).sum(axis=0) + (s2 * z2).sum(axis=0)
        rel_gap = float(np.max(gap_cols / (t1 + t2)))
        pres = max(float(np.abs(r).max()) for r in (rz_l, rz_1, rz_2))
        dres = max(float(np.abs(r).max()) for r in (rx_a, rx_1, rx_2))
        if rel_gap <= tol and pres <= tol and dres <= tol:
            status = "optimal"
            break
        if it == max_iter:
            break
        try:
            newton = _Newton(
                Xn, S, xx, sl, zl, s1, z1, s2, z2, (rx_a, rx_1, rx_2), (rz_l, rz_1, rz_2)
            )
        except np.linalg.LinAlgError:
            status = "failed"
            break
        # predictor (affine scaling), then Mehrotra's corrector with the same factor
        lam_l, lam1, lam2 = newton.lam_l, newton.lam1, newton.lam2
        aff = newton.solve(-lam_l * lam_l, -soc_prod(lam1, lam1), -soc_prod(lam2, lam2))
        a_aff = min(1.0, newton.max_step(aff))
        _, _, _, dsl, ds1, ds2, dzl, dz1, dz2 = aff
        gap = float(gap_cols.sum())
        gap_aff = float(
            np.vdot(sl + a_aff * dsl, zl + a_aff * dzl)
            + np.vdot(s1 + a_aff * ds1, z1 + a_aff * dz1)
            + np.vdot(s2 + a_aff * ds2, z2 + a_aff * dz2)
        )
        sigma_mu = min(1.0, max(0.0, gap_aff / gap)) ** 3 * gap / (m_deg * k)
        bsl = -lam_l * lam_l - dsl * dzl + sigma_mu
        bs1 = -soc_prod(lam1, lam1) - newton.scaled_product(0, ds1, dz1)
        bs2 = -soc_prod(lam2, lam2) - newton.scaled_product(1, ds2, dz2)
        bs1[0] += sigma_mu
        bs2[0] += sigma_mu
        sol = newton.solve(bsl, bs1, bs2)
        step = min(1.0, 0.99 * newton.max_step(sol))
        da, dt1, dt2, dsl, ds1, ds2, dzl, dz1, dz2 = sol
        a, t1, t2 = a + step * da, t1 + step * dt1, t2 + step * dt2
        sl, s1, s2 = sl + step * dsl, s1 + step * ds1, s2 + step * ds2
        zl, z1, z2 = zl + step * dzl, z1 + step * dz1, z2 + step * dz2
    return SplitResult(a * scale, status, it, rel_gap)


class _Newton:
    """The Newton system of one iteration: scalings, the block factor and its solves.

    LP rows: ``W = diag(sqrt(s / z))``; the two cones: Nesterov-Todd ``(eta, wbar)`` with
    ``W^{-2} = eta^-2 (2 aq aq^T - J)``, ``aq = J wbar``. The reduced matrix ``G^T W^{-2} G``
    has one ``(d + 2) x (d + 2)`` block per column (variables ``a, t1, t2``).
    """

    def __init__(
        self,
        Xn: FloatArray,
        S: FloatArray,
        xx: FloatArray | None,
        sl: FloatArray,
        zl: FloatArray,
        s1: FloatArray,
        z1: FloatArray,
        s2: FloatArray,
        z2: FloatArray,
        rx: tuple[FloatArray, FloatArray, FloatArray],
        rz: tuple[FloatArray, FloatArray, FloatArray],
    ) -> None:
        d = Xn.shape[1]
        k = S.shape[1]
        self.Xn, self.S, self.d, self.k = Xn, S, d, k
        self.state = (sl, zl, s1, z1, s2, z2)
        self.rx, self.rz = rx, rz
        self.wl, self.lam_l, self.dl = np.sqrt(sl / zl), np.sqrt(sl * zl), zl / sl
        self.cones = []
        for s_c, z_c in ((s1, z1), (s2, z2)):
            eta, wbar = soc_nt(s_c, z_c)
            aq = wbar.copy()
            aq[1:] *= -1.0
            self.cones.append((eta, wbar, aq, 1.0 / eta**2))
        self.lam1 = soc_scale(*self.cones[0][:2], z1, inverse=False)
        self.lam2 = soc_scale(*self.cones[1][:2], z2, inverse=False)
        H = np.zeros((k, d + 2, d + 2))
        if xx is not None:
            H[:, :d, :d] = (self.dl.T @ xx).reshape(k, d, d)
        else:
            for j in range(k):
                H[j, :d, :d] = (Xn.T * self.dl[:, j]) @ Xn
        eye = np.eye(d)
        for col, (_, _, aq, ie2) in zip((d, d + 1), self.cones):
            H[:, :d, :d] += ie2[:, None, None] * (
                2.0 * np.einsum("ik,jk->kij", aq[1:], aq[1:]) + eye[None]
            )
            H[:, :d, col] = (2.0 * ie2 * aq[0] * aq[1:]).T
            H[:, col, :d] = H[:, :d, col]
            H[:, col, col] = ie2 * (2.0 * aq[0] ** 2 - 1.0)
        self.L = np.linalg.cholesky(H)
        self.Lt = np.swapaxes(self.L, 1, 2)

    def _winv2(self, cone: int, u: FloatArray) -> FloatArray:
        """``W^{-2} u`` for cone 0 or 1."""
        _, _, aq, ie2 = self.cones[cone]
        out = 2.0 * aq * np.einsum("ik,ik->k", aq, u)
        out[0] -= u[0]
        out[1:] += u[1:]
        return out * ie2

    def scaled_product(self, cone: int, ds: FloatArray, dz: FloatArray) -> FloatArray:
        """``(W^{-1} ds) o (W dz)``: Mehrotra's second-order term for cone 0 or 1."""
        eta, wbar = self.cones[cone][:2]
        return soc_prod(
            soc_scale(eta, wbar, ds, inverse=True), soc_scale(eta, wbar, dz, inverse=False)
        )

    def solve(self, bsl: FloatArray, bs1: FloatArray, bs2: FloatArray) -> tuple[FloatArray, ...]:
        """Newton direction ``(da, dt1, dt2, ds_l, ds_1, ds_2, dz_l, dz_1, dz_2)`` for the
        complementarity right-hand sides ``bs`` (the residuals as the other sides)."""
        d, k, Xn, S, dl = self.d, self.k, self.Xn, self.S, self.dl
        rx_a, rx_1, rx_2 = self.rx
        bzl, bz1, bz2 = (-r for r in self.rz)
        # v = W^{-1} (lam \ bs) - W^{-2} bz per cone; the reduced right-hand side bx - G^T v
        vl = dl * (self.wl * (bsl / self.lam_l) - bzl)
        v = [
            soc_scale(eta, wbar, soc_div(lam, bs), inverse=True) - self._winv2(c, bz)
            for c, ((eta, wbar, _, _), lam, bs, bz) in enumerate(
                zip(self.cones, (self.lam1, self.lam2), (bs1, bs2), (bz1, bz2))
            )
        ]
        rhs = np.empty((k, d + 2, 1))
        rhs[:, :d, 0] = (-rx_a + Xn.T @ (S * vl) + v[0][1:] + v[1][1:]).T
        rhs[:, d, 0] = -rx_1 + v[0][0]
        rhs[:, d + 1, 0] = -rx_2 + v[1][0]
        sol = np.linalg.solve(self.Lt, np.linalg.solve(self.L, rhs))[:, :, 0]
        da, dt1, dt2 = sol[:, :d].T, sol[:, d], sol[:, d + 1]
        gl = -S * (Xn @ da)
        g1, g2 = -np.vstack([dt1, da]), -np.vstack([dt2, da])
        return (
            da,
            dt1,
            dt2,
            bzl - gl,
            bz1 - g1,
            bz2 - g2,
            dl * gl + vl,
            self._winv2(0, g1) + v[0],
            self._winv2(1, g2) + v[1],
        )

    def max_step(self, sol: tuple[FloatArray, ...]) -> float:
        """Largest step keeping every slack and multiplier in its cone."""
        sl, zl, s1, z1, s2, z2 = self.state
        _, _, _, dsl, ds1, ds2, dzl, dz1, dz2 = sol
        return min(
            lp_max_step(sl, dsl),
            lp_max_step(zl, dzl),
            soc_max_step(s1, ds1),
            soc_max_step(z1, dz1),
            soc_max_step(s2, ds2),
            soc_max_step(z2, dz2),
        )
