"""Primal-dual interior-point method for (3) restricted to a working set of columns.

Second-order-cone algebra (Nesterov-Todd scaling, Jordan product, step lengths) after
Vandenberghe, "The CVXOPT linear and quadratic cone program solvers", and the restricted
solver :class:`WorkingSetIPM` used by the column generation (:mod:`harness.solvers.relu_cg`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg

from harness.formulations import FloatArray
from harness.resources import memory_budget
from harness.solvers.masked import MaskedProducts

IntArray = np.ndarray

#: Woodbury for the Newton system when ``n < WOODBURY_RATIO * k d`` (k working columns).
WOODBURY_RATIO = 0.5
#: Iterative-refinement steps of a Woodbury solve against the exact Newton matrix.
WOODBURY_REFINE = 20
#: One step of iterative refinement on the whole Newton (KKT) system follows each solve
#: unless its residual is already below ``KKT_REFINE_RTOL`` of the right-hand side
#: (max-norms) while the relative gap is above ``KKT_SKIP_GAP``; closer to the optimum
#: the iterates' residuals must fall to 1e-2 of the gap (:meth:`WorkingSetIPM._step`), so
#: every solve is refined there. Measured with a development script (n = 500, d = 20,
#: P = 100 at 0.1 / 0.02 / 0.005 beta_max; n = 160, d = 40, P = 5 000 at 0.1 beta_max):
#: residuals below 1e-10 in 75-84 % of the solves, the skipped corrections at most 4e-10
#: of the direction.
KKT_REFINE_RTOL = 1e-10
KKT_SKIP_GAP = 1e-6
#: Relative diagonal shift of the Woodbury blocks (rounding level; refined away).
BLOCK_SHIFT = 1e-14
#: A Woodbury step shorter than this hands the rest to the dense solves ...
STALL_STEP = 0.05
#: ... once the relative gap is below this (earlier short steps are ordinary).
STALL_GAP = 1e-5
#: A stalled Woodbury end game continues with the dense solves only when one dense
#: factorisation (``(kd)^3 / 3``) costs at most this many Woodbury ones (``n^2 kd + n^3 /
#: 3``): far beyond, a dense step costs 10-20 Woodbury steps (n = 500, kd = 3 960: 0.6 s
#: against 0.04 s) and, on the degenerate small-beta end games measured, stalls as well.
DENSE_COST_RATIO = 8.0
#: ... or when ``kd`` is at most this (one factorisation, ~1e9 flops, is cheap anyway).
DENSE_CHEAP_DIM = 1500
#: Memory one dense Newton factorisation may use (``F^T F``, its shifted copy and the
#: Cholesky factor: three ``kd x kd`` float arrays), capped by
#: :func:`harness.resources.memory_limit`. Larger working sets stay on Woodbury.
DENSE_NEWTON_BYTES = 2 * 2**30


def woodbury_step_flops(n: int, kd: int) -> float:
    """Arithmetic of one Woodbury Newton factorisation: the ``n x kd`` syrk and the
    ``n x n`` Cholesky (``n^2 kd + n^3 / 3``); the cost unit of the end-game rules."""
    return float(n) * n * kd + float(n) ** 3 / 3.0


def dense_max_dim() -> int:
    """Largest ``kd`` whose dense Newton matrices fit :data:`DENSE_NEWTON_BYTES`."""
    return max(1, int(np.sqrt(memory_budget(DENSE_NEWTON_BYTES) / (3 * 8))))


def soc_nt(s: FloatArray, z: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Nesterov-Todd scaling of second-order-cone pairs stored as columns of (m, k) arrays.

    Returns ``eta`` (k,) and the unit hyperbolic point ``wbar`` (m, k) with
    ``W = eta * Wbar``, ``Wbar = [[w0, w1^T], [w1, I + w1 w1^T / (1 + w0)]]`` and
    ``W z = W^{-1} s`` (Vandenberghe, "The CVXOPT linear and quadratic cone program
    solvers", §4). The J-norms ``s0^2 - ||s1||^2`` are formed as
    ``(s0 - ||s1||)(s0 + ||s1||)``: near the boundary the plain difference cancels.
    """
    ns = np.linalg.norm(s[1:], axis=0)
    nz = np.linalg.norm(z[1:], axis=0)
    s_det = (s[0] - ns) * (s[0] + ns)
    z_det = (z[0] - nz) * (z[0] + nz)
    sn = s / np.sqrt(s_det)
    zn = z / np.sqrt(z_det)
    gam = np.sqrt(0.5 * (1.0 + np.einsum("ik,ik->k", sn, zn)))
    wbar = np.empty_like(s)
    wbar[0] = (sn[0] + zn[0]) / (2.0 * gam)
    wbar[1:] = (sn[1:] - zn[1:]) / (2.0 * gam)
    return (s_det / z_det) ** 0.25, wbar


def soc_scale(eta: FloatArray, wbar: FloatArray, u: FloatArray, inverse: bool) -> FloatArray:
    """``W u`` (or ``W^{-1} u``) for the NT scaling of :func:`soc_nt`, column by column."""
    sgn = -1.0 if inverse else 1.0
    w1u1 = np.einsum("ik,ik->k", wbar[1:], u[1:])
    out = np.empty_like(u)
    out[0] = wbar[0] * u[0] + sgn * w1u1
    out[1:] = u[1:] + wbar[1:] * (sgn * u[0] + w1u1 / (1.0 + wbar[0]))
    return out / eta if inverse else out * eta


def soc_prod(lam: FloatArray, u: FloatArray) -> FloatArray:
    """Jordan product ``lam o u = (lam^T u, lam0 u1 + u0 lam1)`` column by column."""
    out = np.empty_like(u)
    out[0] = np.einsum("ik,ik->k", lam, u)
    out[1:] = lam[0] * u[1:] + u[0] * lam[1:]
    return out


def soc_div(lam: FloatArray, b: FloatArray) -> FloatArray:
    """Solve ``lam o u = b`` for ``u`` column by column (``lam`` in the cone interior)."""
    nl = np.linalg.norm(lam[1:], axis=0)
    det = (lam[0] - nl) * (lam[0] + nl)
    u = np.empty_like(b)
    u[0] = (lam[0] * b[0] - np.einsum("ik,ik->k", lam[1:], b[1:])) / det
    u[1:] = (b[1:] - u[0] * lam[1:]) / lam[0]
    return u


def soc_max_step(u: FloatArray, du: FloatArray) -> float:
    """Largest ``a`` with ``u + a du`` in the second-order cone for every column.

    With ``L`` the hyperbolic rotation taking ``u / ||u||_J`` to ``e = (1, 0)``,
    ``u + a du`` stays in the cone iff ``a (||rho_1|| - rho_0) <= 1`` for
    ``rho = L du / ||u||_J``; this avoids the cancellation of the quadratic formula.
    """
    n1 = np.linalg.norm(u[1:], axis=0)
    nu = np.sqrt((u[0] - n1) * (u[0] + n1))
    ub = u / nu
    ud = np.einsum("ik,ik->k", ub[1:], du[1:])
    r0 = (ub[0] * du[0] - ud) / nu
    r1 = du[1:] / nu + ub[1:] * ((ud / (1.0 + ub[0]) - du[0]) / nu)
    sig = float(np.max(np.linalg.norm(r1, axis=0) - r0))
    return 1.0 / sig if sig > 0.0 else np.inf


def lp_max_step(u: FloatArray, du: FloatArray) -> float:
    """Largest ``a`` with ``u + a du >= 0`` (ratio test)."""
    neg = du < 0.0
    return float(np.min(-u[neg] / du[neg])) if neg.any() else np.inf


class WorkingSetIPM:
    """Primal-dual interior-point method for (3) restricted to ``k`` columns.

    The restricted program (THEORY.md §A2 eq. (3) with all other columns at zero) as a
    conic QP in the standard form of Vandenberghe's ``coneqp``::

        min 1/2 ||sum_j f_j * (X w_j) - y||^2 + beta sum_j t_j
        s.t. s_j = a_j * (X w_j) >= 0 (n rows each),  (t_j, w_j) in Q^{d+1},

    with ``f_j = sigma_j D_j`` (fit mask) and ``a_j = 2 D_j - 1`` (cone signs). Mehrotra
    predictor-corrector with Nesterov-Todd scaling, infeasible start, one step of
    iterative refinement. The Newton system is reduced to the ``kd x kd`` matrix
    ``F^T F + blockdiag(X^T diag(z_j / s_j) X + S_j)``: one dense ``kd x kd`` Cholesky per
    iteration when ``kd`` is small against ``n`` (``F^T F`` formed once, on first use),
    otherwise Woodbury with an ``n x n`` Cholesky (``F`` never formed: its products go
    through ``X`` and the masks, so memory is ``O(n k d)``; blocks shifted at rounding
    level, refined against the exact matrix; a step collapsing below ``STALL_STEP`` at a
    small gap hands the remaining iterations to the dense solves), where ``S_j`` is the Schur complement of the cone's
    ``t_j`` row, written in closed form (``eta^-2 (I - 2 a1 a1^T / (1 + 2||a1||^2))``)
    because eliminating ``t_j`` numerically cancels catastrophically near the optimum;
    for the same reason the cone duals' step is taken from the dual equation
    ``Q dx + G^T dz = r`` rather than from ``W^{-2}(...)`` (which keeps the dual residual,
    and so the certificate, at rounding level). Works in normalised units (``||X||_2 = ||y|| = 1``; ``xs = ||X||_2`` and ``xx``, the
    rows' outer products of ``X / xs`` as an (n, d*d) array or None, are passed in so
    that they are computed once per solve); :attr:`W` and :attr:`duals` are in the
    caller's units. The LP duals ``zl`` are the cone multipliers of
    :func:`harness.formulations.relu_dual_bound` for these columns.
    """

    def __init__(
        self,
        X: FloatArray,
        y: FloatArray,
        beta: float,
        Dc: FloatArray,
        sig: FloatArray,
        xs: float,
        xx: FloatArray | None,
        woodbury: bool = True,
    ) -> None:
        n, d = X.shape
        k = Dc.shape[1]
        self.xs = xs
        self.ys = float(np.linalg.norm(y))
        self.X = X / self.xs
        self.y = y / self.ys
        self.b = beta / (self.xs * self.ys)
        self.xx = xx
        self.ops = MaskedProducts(self.X)
        self.Fs = Dc * sig[None, :]
        self.Sg = 2.0 * Dc - 1.0
        self.n, self.d, self.k = n, d, k
        self._FtF: FloatArray | None = None
        # with fewer samples than working variables the Newton matrix F^T F + blockdiag is
        # solved through Woodbury (an n x n Cholesky and k d x d blocks, not a kd x kd one);
        # F is never formed: its products go through X and the (n, k) masks
        # above dense_max_dim() the kd x kd matrices do not fit: Woodbury only (a breakdown
        # there ends the solve as failed instead of handing over to dense solves)
        self.dense_ok = k * d <= dense_max_dim()
        self.woodbury = (woodbury and n < WOODBURY_RATIO * k * d) or not self.dense_ok
        self.Wn = np.zeros((d, k))
        self.T = np.zeros(k)
        # a start tuned on planted instances (17 instead of 31 iterations at n=1000, d=50):
        # small slacks (a twentieth of the largest row norm), multipliers at beta
        self.sl = np.full((n, k), 0.05 * float(np.linalg.norm(self.X, axis=1).max()))
        self.zl = np.full((n, k), self.b)
        self.sq = np.zeros((d + 1, k))
        self.sq[0] = 1.0
        self.zq = np.zeros((d + 1, k))
        self.zq[0] = self.b
        self.n_iter = 0
        self.n_woodbury = 0
        self.n_stall = 0
        #: Newton solves returned without the KKT refinement step (``KKT_REFINE_RTOL``).
        self.n_unrefined = 0
        self.rel_gap = np.inf
        self.failed = False
        #: Return from :meth:`run` at a Woodbury stall instead of switching to the dense
        #: solves (``stalled`` is then set; :meth:`resume_dense` continues).
        self.stop_on_stall = False
        self.stalled = False

    def warm_from(
        self, prev: WorkingSetIPM, keep_prev: IntArray, keep_new: IntArray, shift: float
    ) -> None:
        """Start from ``prev``'s iterate; its columns ``keep_prev`` are this one's ``keep_new``.

        Warm start with perturbation for the next pricing round (same data, same units):
        the kept columns keep ``w``; every slack is re-derived from ``w`` and pushed into
        the interior by ``shift`` times the cold start's value (``s = max(a * (X w), 0) +
        shift s_cold``, ``s_q = (||w|| + shift, w)``, ``t = s_q0``: primal feasible), and
        the kept multipliers move off the boundary by ``shift beta`` (``z + shift beta``,
        ``z_q + shift beta e``). Entering columns start cold at ``w = 0`` (slacks scaled
        by ``shift``). A shift of order 0.1 keeps the iterate well inside the cones, so
        the entering columns' dual infeasibility (their pricing violation, THEORY.md
        Part D) does not force tiny steps; the previous round's final iterate itself
        (rel. gap ``1e-3``) is too close to the boundary and measured slower than cold.
        (Starting the entering columns' multipliers at their pricing multipliers instead
        of cold was tried: 3% fewer iterations at n = 500, more rounds and 20% more
        iterations at n = 1000, d = 50; their violations are often 10-20 beta.)
        """
        self.Wn[:, keep_new] = prev.Wn[:, keep_prev]
        self._primal_from_w(shift)
        self.zl[:, keep_new] = prev.zl[:, keep_prev] + shift * self.b
        self.zq[:, keep_new] = prev.zq[:, keep_prev]
        self.zq[0, keep_new] += shift * self.b

    def warm_point(self, W: FloatArray, duals: FloatArray, shift: float) -> None:
        """Start from the solution of a neighbouring problem (a beta path): columns ``W``
        (d, k) and cone multipliers ``duals`` (n, k), both in the caller's units.

        Primal part as the kept columns of :meth:`warm_from` (slacks re-derived from
        ``w`` plus ``shift`` times the cold start's: primal feasible). Dual part: ``z =
        duals + shift beta``; ``z_q1`` from the dual equation at this ``w`` with the
        unshifted multipliers (``z_q1 = F_j^T r - X^T (a_j * z_j)``), so only the shift
        leaves a residual there; ``z_q0 = max(beta, ||z_q1||) + shift beta`` (inside the
        cone). At a smaller beta the old dual vectors have norm about the old beta: the
        ``t`` equation (``z_q0 = beta``) carries that difference.
        """
        self.Wn = np.array(W, dtype=np.float64) * (self.xs / self.ys)
        self._primal_from_w(shift)
        zl = np.maximum(np.asarray(duals, dtype=np.float64), 0.0) / self.ys
        res = np.einsum("nk,nk->n", self.Fs, self.ops.matmul(self.Wn)) - self.y
        zq1 = self.ops.adjoint(self.Fs * res[:, None] - self.Sg * zl)
        self.zl = zl + shift * self.b
        self.zq[1:] = zq1
        self.zq[0] = np.maximum(self.b, np.linalg.norm(zq1, axis=0)) + shift * self.b

    def _primal_from_w(self, shift: float) -> None:
        """Slacks and epigraph from the current ``w`` (primal feasible), pushed into the
        interior by ``shift`` times the cold start's slacks (warm starts)."""
        self.sl = np.maximum(self.Sg * self.ops.matmul(self.Wn), 0.0) + shift * self.sl
        self.sq[1:] = self.Wn
        self.sq[0] = np.linalg.norm(self.Wn, axis=0) + shift
        self.T = self.sq[0].copy()

    @property
    def W(self) -> FloatArray:
        """Current columns (d, k) in the caller's units."""
        return self.Wn * (self.ys / self.xs)

    @property
    def duals(self) -> FloatArray:
        """Cone multipliers (n, k) in the caller's units."""
        return self.zl * self.ys

    def column_dual_norms(self) -> FloatArray:
        """``||z_q1|| / beta`` per column: 1 on active columns at the optimum."""
        return np.linalg.norm(self.zq[1:], axis=0) / self.b

    @property
    def FtF(self) -> FloatArray:
        """``F^T F`` (kd, kd), formed on first use (the dense Newton solves only)."""
        if self._FtF is None:
            n, d, k = self.n, self.d, self.k
            Fmat = (self.Fs[:, :, None] * self.X[:, None, :]).reshape(n, k * d)
            self._FtF = Fmat.T @ Fmat
        return self._FtF

    def _f(self, x: FloatArray) -> FloatArray:
        """``F x = sum_j f_j * (X x_j)`` for ``x`` of shape (k, d)."""
        return np.asarray(np.einsum("nk,nk->n", self.Fs, self.X @ x.T))

    def _ft(self, r: FloatArray) -> FloatArray:
        """``F^T r`` as a (k, d) array for ``r`` of shape (n,)."""
        return np.asarray((self.X.T @ (self.Fs * r[:, None])).T)

    def _ftf(self, x: FloatArray) -> FloatArray:
        """``F^T F x`` for ``x`` of shape (k, d): the stored matrix if formed, else via X."""
        if self._FtF is not None:
            return np.asarray((self._FtF @ x.reshape(-1)).reshape(self.k, self.d))
        return self._ft(self._f(x))

    def run(self, rel_gap: float, max_iter: int) -> bool:
        """Iterate until the relative complementarity gap is below ``rel_gap``.

        Returns True on convergence; False at ``max_iter``, on a numerical breakdown
        (``failed``) or at a Woodbury stall with ``stop_on_stall`` (``stalled``), keeping
        the last interior iterate.
        """
        self.stalled = False
        for _ in range(max_iter):
            state = self._step(rel_gap)
            if state != "continue":
                return state == "converged"
        return False

    @property
    def dense_affordable(self) -> bool:
        """Dense Newton solves fit in memory and are small (``kd <= DENSE_CHEAP_DIM``) or
        cost at most :data:`DENSE_COST_RATIO` Woodbury solves (a breakdown of Woodbury uses
        them whatever they cost)."""
        kd = self.k * self.d
        cheap = kd <= DENSE_CHEAP_DIM
        return self.dense_ok and (
            cheap or float(kd) ** 3 / 3.0 <= DENSE_COST_RATIO * woodbury_step_flops(self.n, kd)
        )

    def resume_dense(self) -> None:
        """After a stall handed back by ``stop_on_stall``: continue with the dense solves."""
        self.stalled = False
        self.stop_on_stall = False
        self.woodbury = False

    def _newton_solver(self, blocks: FloatArray) -> Callable[[FloatArray], FloatArray]:
        """Factor ``H = F^T F + blockdiag(blocks)``; returns ``R (k, d) -> H^{-1} R``.

        Dense Cholesky of the ``kd x kd`` matrix, or, when ``n`` is small against ``kd``,
        Woodbury: ``H^{-1} = B^{-1} - B^{-1} F^T (I + F B^{-1} F^T)^{-1} F B^{-1}`` with the
        ``k`` blocks ``B_j`` factored separately (``k d^3 + n^2 k d + n^3`` instead of
        ``(kd)^3 / 3``). The caller's iterative refinement absorbs the rounding of either.
        """
        k, d = self.k, self.d
        if not self.woodbury:
            H = self.FtF.copy()
            H.reshape(k, d, k, d)[np.arange(k), :, np.arange(k), :] += blocks
            cf = scipy.linalg.cho_factor(H, check_finite=False)

            def dense(R: FloatArray) -> FloatArray:
                out = scipy.linalg.cho_solve(cf, R.reshape(-1), check_finite=False)
                return np.asarray(out).reshape(k, d)

            return dense
        self.n_woodbury += 1
        # near the optimum a block can lose definiteness in floating point (its missing
        # curvature comes from F^T F): factor B_j + tau_j I instead, tau_j a rounding-level
        # shift; the refinement against the exact H below absorbs it
        scale = np.einsum("kii->k", blocks) / d
        shift = BLOCK_SHIFT * scale[:, None, None] * np.eye(d)[None]
        try:
            Lb = np.linalg.cholesky(blocks + shift)
        except np.linalg.LinAlgError:
            try:
                Lb = np.linalg.cholesky(blocks + 1e4 * shift)
            except np.linalg.LinAlgError:
                if not self.dense_ok:
                    raise
                self.woodbury = False
                return self._newton_solver(blocks)
        Li = np.linalg.inv(Lb)
        Binv = np.swapaxes(Li, 1, 2) @ Li
        # C = I + F B^-1 F^T = I + G G^T, G = [f_j * (X L_j^-T)] (n, kd): one product with
        # the side-by-side L_j^-T, then one syrk on G^T (Fortran order: no copy)
        G = self.X @ Li.transpose(2, 0, 1).reshape(d, k * d)
        G.reshape(self.n, k, d)[...] *= self.Fs[:, :, None]
        C = scipy.linalg.blas.dsyrk(1.0, G.T, lower=True, trans=1)
        C[np.diag_indices_from(C)] += 1.0
        try:
            cC = scipy.linalg.cho_factor(C, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            if not self.dense_ok:
                raise
            self.woodbury = False
            return self._newton_solver(blocks)

        def woodbury(R: FloatArray) -> FloatArray:
            x0 = np.einsum("kij,kj->ki", Binv, R)
            s = scipy.linalg.cho_solve(cC, self._f(x0), check_finite=False)
            return np.asarray(x0 - np.einsum("kij,kj->ki", Binv, self._ft(s)))

        def refined(R: FloatArray) -> FloatArray:
            # B is ill-conditioned near the optimum: refine against the exact H
            # (each step is cheap: products through X); stop when it no longer gains
            x = woodbury(R)
            r_norm = float(np.abs(R).max())
            last = np.inf
            for _ in range(WOODBURY_REFINE):
                res = R - self._apply_h(blocks, x)
                err = float(np.abs(res).max())
                if err <= 1e-14 * r_norm or err > 0.5 * last:
                    break
                last = err
                x = x + woodbury(res)
            return x

        return refined

    def _apply_h(self, blocks: FloatArray, x: FloatArray) -> FloatArray:
        """``(F^T F + blockdiag(blocks)) x`` for ``x`` of shape (k, d)."""
        return np.asarray(self._ftf(x) + np.einsum("kij,kj->ki", blocks, x))

    def _step(self, rel_gap: float) -> str:
        """One predictor-corrector iteration; "converged", "failed" or "continue"."""
        X, y, b, Fs, Sg, ops = self.X, self.y, self.b, self.Fs, self.Sg, self.ops
        n, d, k = self.n, self.d, self.k
        m_deg = n * k + k
        eye = np.eye(d)
        W, T, sl, zl, sq, zq = self.Wn, self.T, self.sl, self.zl, self.sq, self.zq
        XW = ops.matmul(W)
        res = np.einsum("nk,nk->n", Fs, XW) - y
        rx_w = ops.adjoint(Fs * res[:, None] - Sg * zl) - zq[1:]
        rx_t = b - zq[0]
        rz_l = sl - Sg * XW
        rz_q = sq.copy()
        rz_q[0] -= T
        rz_q[1:] -= W
        gap = float(np.vdot(sl, zl) + np.vdot(sq, zq))
        pobj = 0.5 * float(res @ res) + b * float(T.sum())
        self.rel_gap = gap / max(pobj, 1e-300)
        scale_w = max(1.0, float(np.abs(W).max()))
        pres = max(float(np.abs(rz_l).max()), float(np.abs(rz_q).max())) / scale_w
        dres = max(float(np.abs(rx_w).max()), float(np.abs(rx_t).max())) / b
        if self.rel_gap <= rel_gap and pres <= 1e-2 * rel_gap and dres <= 1e-2 * rel_gap:
            return "converged"
        ns = np.linalg.norm(sq[1:], axis=0)
        nz = np.linalg.norm(zq[1:], axis=0)
        if np.any(sq[0] <= ns) or np.any(zq[0] <= nz) or np.any(sl <= 0.0) or np.any(zl <= 0.0):
            self.failed = True
            return "failed"
        self.n_iter += 1
        wl = np.sqrt(sl / zl)
        lam_l = np.sqrt(sl * zl)
        eta, wbar = soc_nt(sq, zq)
        lam_q = soc_scale(eta, wbar, zq, inverse=False)
        # W^{-2} = eta^-2 (2 a a^T - J) with a = J wbar (wbar has unit J-norm)
        aq = wbar.copy()
        aq[1:] *= -1.0
        ie2 = 1.0 / eta**2
        a1n2 = np.einsum("ik,ik->k", aq[1:], aq[1:])
        dl = zl / sl

        def winv2(u: FloatArray) -> FloatArray:
            out = 2.0 * aq * np.einsum("ik,ik->k", aq, u)
            out[0] -= u[0]
            out[1:] += u[1:]
            return out * ie2

        if self.xx is not None:
            blocks = (dl.T @ self.xx).reshape(k, d, d)
        else:
            blocks = np.stack([(X.T * dl[:, j]) @ X for j in range(k)])
        coef = ie2 * 2.0 / (1.0 + 2.0 * a1n2)
        blocks += ie2[:, None, None] * eye[None] - coef[:, None, None] * np.einsum(
            "ik,jk->kij", aq[1:], aq[1:]
        )
        try:
            hsolve = self._newton_solver(blocks)
        except np.linalg.LinAlgError:
            self.failed = True
            return "failed"
        s_tt = ie2 * (2.0 * aq[0] ** 2 - 1.0)
        s_tw = (ie2 * 2.0 * aq[0]) * aq[1:]

        def solve0(
            bxw: FloatArray,
            bxt: FloatArray,
            bzl: FloatArray,
            bzq: FloatArray,
            bsl: FloatArray,
            bsq: FloatArray,
        ) -> tuple[FloatArray, ...]:
            u_l = wl * (bsl / lam_l) - bzl
            u_q = soc_scale(eta, wbar, soc_div(lam_q, bsq), inverse=False) - bzq
            v_q = winv2(u_q)
            rhs_w = bxw + ops.adjoint(Sg * (u_l * dl)) + v_q[1:]
            rhs_t = bxt + v_q[0]
            rhs_w = rhs_w - s_tw * (rhs_t / s_tt)
            dw = hsolve(rhs_w.T).T
            dt = (rhs_t - np.einsum("ik,ik->k", s_tw, dw)) / s_tt
            gl = -Sg * ops.matmul(dw)
            gq = -np.vstack([dt[None, :], dw])
            dzl = dl * (gl + u_l)
            # the cone duals from the (well-conditioned) dual equation Q dx + G^T dz = bx
            # rather than from W^{-2}(...), whose rank-one part is huge near the optimum
            dzq = np.empty_like(bzq)
            dzq[0] = -bxt
            qdw = self._ftf(dw.T).T
            dzq[1:] = qdw - ops.adjoint(Sg * dzl) - bxw
            return dw, dt, bzl - gl, bzq - gq, dzl, dzq

        def residual(
            sol: tuple[FloatArray, ...], rhs: tuple[FloatArray, ...]
        ) -> tuple[FloatArray, ...]:
            dw, dt, dsl, dsq, dzl, dzq = sol
            bxw, bxt, bzl, bzq, bsl, bsq = rhs
            qdw = self._ftf(dw.T).T
            zq_scaled = soc_scale(eta, wbar, dzq, inverse=False)
            sq_scaled = soc_scale(eta, wbar, dsq, inverse=True)
            return (
                bxw - (qdw - ops.adjoint(Sg * dzl) - dzq[1:]),
                bxt + dzq[0],
                bzl - (-Sg * ops.matmul(dw) + dsl),
                bzq - (dsq - np.vstack([dt[None, :], dw])),
                bsl - lam_l * (wl * dzl + dsl / wl),
                bsq - soc_prod(lam_q, zq_scaled + sq_scaled),
            )

        def solve(bsl: FloatArray, bsq: FloatArray) -> tuple[FloatArray, ...]:
            rhs = (-rx_w, -rx_t, -rz_l, -rz_q, bsl, bsq)
            sol = solve0(*rhs)
            kkt_res = residual(sol, rhs)
            # (the max-norms only where the gap allows the skip at all)
            if self.rel_gap >= KKT_SKIP_GAP and max(
                float(np.abs(a).max()) for a in kkt_res
            ) <= KKT_REFINE_RTOL * max(float(np.abs(a).max()) for a in rhs):
                self.n_unrefined += 1
                return sol
            corr = solve0(*kkt_res)
            return tuple(a + c for a, c in zip(sol, corr))

        def max_step(sol: tuple[FloatArray, ...]) -> float:
            _, _, dsl, dsq, dzl, dzq = sol
            return min(
                lp_max_step(sl, dsl),
                lp_max_step(zl, dzl),
                soc_max_step(sq, dsq),
                soc_max_step(zq, dzq),
            )

        # predictor (affine scaling) then Mehrotra corrector with the same factor
        aff = solve(-lam_l * lam_l, -soc_prod(lam_q, lam_q))
        a_aff = min(1.0, max_step(aff))
        _, _, dsl, dsq, dzl, dzq = aff
        gap_aff = float(
            np.vdot(sl + a_aff * dsl, zl + a_aff * dzl)
            + np.vdot(sq + a_aff * dsq, zq + a_aff * dzq)
        )
        sigma = min(1.0, max(0.0, gap_aff / gap)) ** 3
        mu = gap / m_deg
        bsl = -lam_l * lam_l - (dsl / wl) * (dzl * wl) + sigma * mu
        bsq = -soc_prod(lam_q, lam_q) - soc_prod(
            soc_scale(eta, wbar, dsq, inverse=True), soc_scale(eta, wbar, dzq, inverse=False)
        )
        bsq[0] += sigma * mu
        sol = solve(bsl, bsq)
        a = min(1.0, 0.99 * max_step(sol))
        stalled = False
        if a < STALL_STEP and self.woodbury and self.dense_ok and self.rel_gap < STALL_GAP:
            # the shifted Woodbury directions lost accuracy at the end game: dense from here
            # (or, with ``stop_on_stall``, hand back first: the caller may already be able
            # to certify, and a dense kd x kd factorisation can cost 10-20 Woodbury steps)
            self.n_stall += 1
            if self.stop_on_stall:
                stalled = True
            elif self.dense_affordable:
                self.woodbury = False
        dw, dt, dsl, dsq, dzl, dzq = sol
        self.Wn = W + a * dw
        self.T = T + a * dt
        self.sl = sl + a * dsl
        self.sq = sq + a * dsq
        self.zl = zl + a * dzl
        self.zq = zq + a * dzq
        if stalled:
            self.stalled = True
            return "stalled"
        return "continue"
