"""Pricing for the ReLU column generation: which columns outside the working set enter.

A column ``j`` can lower the restricted optimum of (3) iff its best dual constraint value
``p_j = min_{lam >= 0} ||sigma_j X^T D_j v + A_j^T lam|| = ||Pi_{K_j}(sigma_j X^T D_j v)||``
exceeds ``beta`` at the restricted residual ``v`` (Moreau; THEORY.md Part D). Any
``lam >= 0`` gives an upper bound on ``p_j``; batched dual projected-gradient iterations
tighten the bounds of many columns at once and exact NNLS projections settle the largest.
"""

from __future__ import annotations

import math
import time

import numpy as np

from harness import formulations as F
from harness.formulations import BoolArray, FloatArray
from harness.solvers.cones import (
    block_columns,
    cone_matrix,
    cone_products,
    float_signs,
    project_cone,
)
from harness.solvers.masked import MaskedProducts

#: Batched dual iterations that tighten the pricing bounds before ranking / certifying.
RANK_DUAL_ITERS = 12
#: Batched dual iterations of the scan that ranks every candidate.
SCAN_DUAL_ITERS = 3
CERTIFY_DUAL_ITERS = 200
#: Ranking tightens the bounds of this many times ``m_add`` candidates (largest first).
RANK_POOL = 10
#: Precision of the ranking iterations (the bounds are evaluated in double precision).
RANK_DTYPE: type = np.float32
#: When the ranking tightened every candidate and at least this fraction of them is still
#: above beta, and they are at least :data:`FLOOD_MIN_SHARE` of the columns outside the
#: working set, all of them enter at once (see :func:`price_columns`).
FLOOD_SATURATION = 0.95
FLOOD_MIN_SHARE = 0.25
IntArray = np.ndarray


class DualMultipliers:
    """Pricing multipliers ``lam_j >= 0`` of every column and their products ``A_j^T lam_j``.

    ``lam`` (n, m) and ``h`` (d, m) with ``h_j = X^T ((2 D_j - 1) * lam_j)`` kept in step,
    so the warm bound ``||g_j + h_j||`` of a column at a new residual costs one addition
    instead of a product over its n multipliers (most columns of a large pattern set are
    settled by their warm bound in the later pricing rounds). ``XT`` is ``X^T``
    (C-contiguous, e.g. :attr:`harness.solvers.masked.MaskedProducts.XT`; not copied).
    """

    def __init__(self, XT: FloatArray, DD: BoolArray, lam: FloatArray | None = None) -> None:
        n, m = DD.shape
        self.XT = XT
        self.DD = DD
        # column-major: the pricing reads and writes whole columns (blocks of them)
        self.lam = np.zeros((n, m), order="F")
        if lam is not None:
            np.maximum(lam, 0.0, out=self.lam)
        self.h = np.zeros((XT.shape[0], m), order="F")
        if lam is not None:
            self._products(np.flatnonzero(self.lam.any(axis=0)))

    def assign(self, cols: IntArray, values: FloatArray) -> None:
        """Set ``lam[:, cols] = max(values, 0)`` and recompute their products."""
        cols = np.asarray(cols, dtype=int).reshape(-1)
        self.lam[:, cols] = np.maximum(values, 0.0)
        self._products(cols)

    def adopt(self, lam: FloatArray) -> None:
        """``lam`` (n, m), clamped at zero, as the multipliers of every column (one copy:
        the caller may keep ``lam``, e.g. as a record's multipliers); all products anew."""
        self.lam = np.empty(lam.shape, order="F")
        np.maximum(lam, 0.0, out=self.lam)
        (self.h,) = cone_products(self.XT, self.DD, self.lam)

    def reset(self, cols: IntArray) -> None:
        """Multipliers zero (the always valid ``lam = 0``) for ``cols``."""
        self.lam[:, cols] = 0.0
        self.h[:, cols] = 0.0

    def _products(self, cols: IntArray) -> None:
        if cols.size:
            (self.h[:, cols],) = cone_products(self.XT, self.DD[:, cols], self.lam[:, cols])


def dual_fista_certify(
    ops: MaskedProducts,
    G: FloatArray,
    Dc: BoolArray,
    Lam: FloatArray,
    beta: float,
    x_norm2: float,
    n_iter: int,
    H: FloatArray | None = None,
    dtype: type = np.float64,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Batched dual projection ``min_{lam >= 0} ||g_j + A_j^T lam_j||`` by FISTA.

    ``G`` (d, m) holds the vectors ``sigma_j X^T D_j v``, ``Dc`` (n, m) the patterns of the
    columns (cone signs ``2 D_j - 1``, kept boolean), ``Lam`` (n, m) a warm start and ``H``
    (d, m) its products ``A_j^T lam_j`` when known (a column whose multipliers bound worse
    than ``lam = 0`` restarts from zero). Any ``lam >= 0`` gives the valid upper bound
    ``||g_j + A_j^T lam_j|| >= ||Pi_{K_j}(g_j)||`` (Moreau) on the dual constraint value; a
    column stops once its bound is below ``beta``; momentum restarts every 20 iterations
    and when the step turns against it (O'Donoghue & Candes). Returns the multipliers, the
    upper bounds (m,) and the products ``A_j^T lam_j`` (d, m), each for the best bound seen
    for its column. The iterations run in place on preallocated arrays; for many columns
    use :func:`tighten_bounds`, which runs this on cache-sized blocks. ``dtype=np.float32``
    runs the iterations in single precision (half the arithmetic and memory traffic; for
    ranking); the returned bounds and products are always evaluated in double precision
    at the (exactly non-negative) multipliers reached, so they stay valid bounds.
    """
    single = np.dtype(dtype) != np.float64
    Xk, XTk = (ops.X, ops.XT) if not single else ops.single()
    best = np.array(Lam, dtype=np.float64)
    if H is None:
        H = ops.adjoint(best * float_signs(Dc)) if best.any() else np.zeros_like(G)
    else:
        H = np.array(H, dtype=np.float64)
    ub = F.group_norms(G + H)
    raw = F.group_norms(G)
    worse = raw < ub  # multipliers worse than none: restart those columns from zero
    if worse.any():
        best[:, worse] = 0.0
        H[:, worse] = 0.0
        ub[worse] = raw[worse]
    live = np.flatnonzero(ub > beta)
    # Python floats: a NumPy float64 scalar would make every float32 step a mixed-precision
    # one (cast to double and back)
    inv_L = float(1.0 / x_norm2)
    it = 0
    while live.size and it < n_iter:
        whole = live.size == best.shape[1]
        Gl = G if whole else G[:, live]
        Sk = float_signs(Dc if whole else np.asarray(Dc)[:, live], dtype)
        # row-major working arrays, like the signs (mixed layouts make every step strided)
        lam: np.ndarray = (best if whole else best[:, live]).astype(dtype, order="C")
        Gk = Gl.astype(dtype, order="C") if single else Gl
        lam_prev, Y, T, step = (np.empty_like(lam) for _ in range(4))
        U = np.empty_like(Gk)
        t_k = 1.0
        for k in range(min(20, n_iter - it)):
            it += 1
            t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t_k * t_k))
            if k == 0:
                Yk = lam
            else:
                c = (t_k - 1.0) / t_next
                np.multiply(lam, 1.0 + c, out=Y)
                np.multiply(lam_prev, c, out=T)
                Y -= T
                Yk = Y
            # gradient step lam - A (g + A^T lam) / L, projected on lam >= 0
            np.multiply(Yk, Sk, out=T)
            t0 = time.perf_counter()
            np.matmul(XTk, T, out=U)
            U += Gk
            np.matmul(Xk, U, out=step)
            ops.seconds += time.perf_counter() - t0
            ops.count += 2
            step *= Sk
            step *= -inv_L
            step += Yk
            np.maximum(step, 0.0, out=step)
            # restart when (Y - lam_new) . (lam_new - lam) > 0, as four dot products
            if k > 0 and (
                np.vdot(Yk, step) - np.vdot(Yk, lam) - np.vdot(step, step) + np.vdot(step, lam)
                > 0.0
            ):
                t_next = 1.0
            lam_prev, lam, step = lam, step, lam_prev
            t_k = t_next
        # the bound at the multipliers reached, in double precision (a float32 value and
        # its product with a sign are exact in float64)
        np.multiply(lam, Sk, out=T)
        if single:
            lam, T = lam.astype(np.float64), T.astype(np.float64)
        Hl = ops.adjoint(T)
        ub_l = F.group_norms(Gl + Hl)
        better = ub_l < ub[live]
        if better.all() and whole:
            best, H, ub = lam, Hl, ub_l
        else:
            best[:, live[better]] = lam[:, better]
            H[:, live[better]] = Hl[:, better]
            ub[live[better]] = ub_l[better]
        live = live[ub[live] > beta]
    return best, ub, H


def tighten_bounds(
    ops: MaskedProducts,
    G: FloatArray,
    Dc: BoolArray,
    Lam: FloatArray,
    ub: FloatArray,
    cols: IntArray,
    beta: float,
    x_norm2: float,
    n_iter: int,
    H: FloatArray | None = None,
    dtype: type = np.float64,
) -> None:
    """:func:`dual_fista_certify` on the columns ``cols`` of ``G``, ``Dc``, in place.

    ``Lam[:, cols]`` (warm start), ``ub[cols]`` and, if given, their products
    ``H[:, cols]`` are overwritten by the multipliers, their bounds and products. The
    columns are independent, so they run in blocks of :func:`block_columns` columns,
    gathered in memory order: the (n, block) arrays stay in cache (over whole (n, m)
    arrays every elementwise step is memory-bound), and no (n, len(cols)) copy is made.
    """
    width = block_columns(Dc.shape[0])
    cols = np.sort(cols)
    for lo in range(0, cols.size, width):
        idx = cols[lo : lo + width]
        b: IntArray | slice = idx
        if idx[-1] - idx[0] == idx.size - 1:  # a run of columns: views, not gathered copies
            b = slice(int(idx[0]), int(idx[-1]) + 1)
        Lam[:, b], ub[b], Hb = dual_fista_certify(
            ops,
            G[:, b],
            Dc[:, b],
            Lam[:, b],
            beta,
            x_norm2,
            n_iter,
            None if H is None else H[:, b],
            dtype,
        )
        if H is not None:
            H[:, b] = Hb


def price_columns(
    ops: MaskedProducts,
    X: FloatArray,
    DD: BoolArray,
    v: FloatArray,
    beta: float,
    duals: DualMultipliers,
    working: BoolArray,
    m_add: int,
    viol_rtol: float,
    x_norm2: float,
    stats: dict[str, float],
    flood_limit: int = 0,
) -> IntArray:
    """Pricing of the columns outside the working set at the residual ``v`` (THEORY.md Part D).

    A column ``j`` can improve the restricted optimum iff its best dual constraint value
    ``p_j = ||Pi_{K_j}(sigma_j X^T D_j v)||`` exceeds ``beta``. Every column carries a valid
    upper bound ``||g_j + A_j^T lam_j|| >= p_j`` from its multipliers ``duals``
    (:class:`DualMultipliers`, updated in place; warm from earlier rounds). The bounds of
    the candidates (bound ``> beta``) are tightened by a few batched dual iterations
    (:func:`tighten_bounds`; the ranking ones in single precision, :data:`RANK_DTYPE`), the
    ``2 m_add`` largest are replaced by exact projections (:func:`harness.solvers.cones.project_cone`), and
    the ``m_add`` most violated enter (the best columns, not the first found: fewer
    rounds). With no violator among them, the remaining candidates are certified by more
    dual iterations and exact projections of what is left. Returns the violators, most
    violated first; empty means every column outside the working set has a certified
    bound ``<= beta (1 + viol_rtol)`` from its multipliers in ``duals`` (reset to zero
    where they bound worse than ``lam = 0``).

    *Flooding* (small beta, where the optimum holds a large share of all columns): when,
    at the residual of a restricted solve (not the first round's ``v = y``), the ranking
    tightened the bounds of every candidate, at least
    :data:`FLOOD_SATURATION` of them are still above ``beta`` and they are at least
    :data:`FLOOD_MIN_SHARE` of the columns outside the working set, all of them are
    returned (largest bound first, without exact projections), up to ``flood_limit``
    columns (0: never). One restricted solve over nearly every column then replaces the
    many rounds that growing the set by ``m_add`` would take, each a full restricted
    solve. Entering a column that turns out not to be violated costs time only: it stays
    at zero or leaves the set, and the certificate is unaffected.
    """
    t0 = time.perf_counter()
    P = DD.shape[1] // 2
    # column-major like the multipliers: the blocks below read whole columns
    G = np.empty((X.shape[1], 2 * P), order="F")
    G[:, :P] = ops.masked_adjoint(DD[:, :P], v)
    np.negative(G[:, :P], out=G[:, P:])
    # the warm bound ||g_j + A_j^T lam_j|| (one addition: the products are kept with the
    # multipliers) decides the candidates; multipliers worse than none are reset to zero
    ub = F.group_norms(G + duals.h)
    raw = F.group_norms(G)
    worse = np.flatnonzero(raw < ub)
    if worse.size:
        duals.reset(worse)
        ub[worse] = raw[worse]
    limit = beta * (1.0 + viol_rtol)
    found: list[tuple[float, int]] = []

    def tighten(cols: IntArray, n_iter: int, dtype: type = np.float64) -> None:
        tighten_bounds(ops, G, DD, duals.lam, ub, cols, beta, x_norm2, n_iter, duals.h, dtype)

    def exact(cols: IntArray) -> None:
        for j in cols:
            proj, lam = project_cone(cone_matrix(X, DD[:, j]), G[:, j])
            duals.assign(np.array([j]), lam[:, None])
            ub[j] = float(np.linalg.norm(proj))
            stats["n_projections"] += 1
            if ub[j] > limit:
                found.append((ub[j], int(j)))

    def exact_best(cols: IntArray) -> None:
        # exact projections in the order of the bounds, up to the point where the next
        # bound is no larger than the m_add-th best exact value: no column after it could
        # enter (bound >= value), so the entering set is the one all of ``cols`` would give
        for j in cols:
            if len(found) >= m_add and ub[j] <= sorted(found, reverse=True)[m_add - 1][0]:
                break
            exact(np.array([j]))

    def candidates() -> IntArray:
        cand = np.flatnonzero(~working & (ub > beta))
        return cand[np.argsort(-ub[cand], kind="stable")]

    cand = candidates()
    if cand.size > 2 * m_add:
        # rank on the best bounds only: the columns that enter are among the largest, and
        # the others are certified (all of them) only once no violator is left
        tighten(cand, SCAN_DUAL_ITERS, RANK_DTYPE)
        cand = candidates()
        pool = cand[: RANK_POOL * m_add]
        tighten(pool, RANK_DUAL_ITERS, RANK_DTYPE)
        after = candidates()
        if (
            working.any()
            and pool.size == cand.size
            and after.size >= FLOOD_SATURATION * cand.size
            and after.size >= FLOOD_MIN_SHARE * np.count_nonzero(~working)
            and 2 * m_add < after.size <= flood_limit
        ):
            stats["n_flood"] = stats.get("n_flood", 0.0) + 1
            stats["pricing_s"] += time.perf_counter() - t0
            return after
        cand = after
    elif cand.size:
        # few candidates by their warm bounds: dual iterations settle most of them for far
        # less than an exact projection each
        tighten(cand, RANK_DUAL_ITERS)
        cand = candidates()
    exact_best(cand[: 2 * m_add])
    if not found:
        cand = candidates()
        if cand.size > 4:
            tighten(cand, CERTIFY_DUAL_ITERS)
            cand = candidates()
        for j in cand:
            exact(np.array([j]))
            if len(found) >= m_add:
                break
    stats["pricing_s"] += time.perf_counter() - t0
    found.sort(reverse=True)
    return np.array([j for _, j in found[:m_add]], dtype=int)
