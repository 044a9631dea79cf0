"""Pricing for the ReLU column generation: which columns outside the working set enter.

A column ``j`` can lower the restricted optimum of (3) iff its best dual constraint value
``p_j = min_{lam >= 0} ||sigma_j X^T D_j v + A_j^T lam|| = ||Pi_{K_j}(sigma_j X^T D_j v)||``
exceeds ``beta`` at the restricted residual ``v`` (Moreau; THEORY.md Part D). Any
``lam >= 0`` gives an upper bound on ``p_j``; batched dual projected-gradient iterations
tighten the bounds of many columns at once and exact NNLS projections settle the largest.
"""

from __future__ import annotations

import time

import numpy as np

from harness import formulations as F
from harness.formulations import BoolArray, FloatArray
from harness.solvers.cones import cone_matrix, project_cone, sign_bytes
from harness.solvers.masked import MaskedProducts

#: Batched dual iterations that tighten the pricing bounds before ranking / certifying.
RANK_DUAL_ITERS = 12
CERTIFY_DUAL_ITERS = 200
#: Ranking tightens the bounds of this many times ``m_add`` candidates (largest first).
RANK_POOL = 10
#: When the ranking tightened every candidate and at least this fraction of them is still
#: above beta, and they are at least :data:`FLOOD_MIN_SHARE` of the columns outside the
#: working set, all of them enter at once (see :func:`price_columns`).
FLOOD_SATURATION = 0.95
FLOOD_MIN_SHARE = 0.25
#: Bytes of one (n, block) float array in the blocked dual iterations (fits in cache).
BLOCK_BYTES = 256 * 1024

IntArray = np.ndarray


def dual_fista_certify(
    ops: MaskedProducts,
    G: FloatArray,
    Dc: BoolArray,
    Lam: FloatArray,
    beta: float,
    x_norm2: float,
    n_iter: int,
) -> tuple[FloatArray, FloatArray]:
    """Batched dual projection ``min_{lam >= 0} ||g_j + A_j^T lam_j||`` by FISTA.

    ``G`` (d, m) holds the vectors ``sigma_j X^T D_j v``, ``Dc`` (n, m) the patterns of the
    columns (cone signs ``2 D_j - 1``, kept boolean), ``Lam`` (n, m) a warm start (a
    column whose multipliers bound worse than ``lam = 0`` restarts from zero). Any
    ``lam >= 0`` gives the valid upper bound ``||g_j + A_j^T lam_j|| >= ||Pi_{K_j}(g_j)||``
    (Moreau) on the dual constraint value; a column stops once its bound is below
    ``beta``; momentum restarts every 20 iterations. Returns the multipliers and the upper
    bounds (m,), each the best seen for its column. For many columns use
    :func:`tighten_bounds`, which runs this on cache-sized blocks.
    """
    best = Lam.copy()
    signs = sign_bytes(Dc)
    ub = F.group_norms(G + ops.adjoint(best * signs))
    raw = F.group_norms(G)
    worse = raw < ub  # multipliers worse than none: restart those columns from zero
    if worse.any():
        best[:, worse] = 0.0
        ub[worse] = raw[worse]
    live = np.flatnonzero(ub > beta)
    L = x_norm2
    it = 0
    while live.size and it < n_iter:
        Gl, Sl = G[:, live], signs[:, live]
        lam = best[:, live]
        lam_prev = lam
        t_k = 1.0
        for _ in range(min(20, n_iter - it)):
            it += 1
            t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_k * t_k))
            Y = lam + ((t_k - 1.0) / t_next) * (lam - lam_prev)
            grad = ops.matmul(Gl + ops.adjoint(Y * Sl)) * Sl
            lam_new = np.maximum(Y - grad / L, 0.0)
            if float(np.vdot(Y - lam_new, lam_new - lam)) > 0.0:
                t_next = 1.0
            lam_prev, lam, t_k = lam, lam_new, t_next
        ub_l = F.group_norms(Gl + ops.adjoint(lam * Sl))
        better = ub_l < ub[live]
        best[:, live[better]] = lam[:, better]
        ub[live[better]] = ub_l[better]
        live = live[ub[live] > beta]
    return best, ub


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
) -> None:
    """:func:`dual_fista_certify` on the columns ``cols`` of ``G``, ``Dc``, in place.

    ``Lam[:, cols]`` (warm start) and ``ub[cols]`` are overwritten by the multipliers and
    their bounds. The columns are independent, so they run in blocks of
    :func:`block_columns` columns, gathered in memory order: the (n, block) arrays stay in
    cache (over whole (n, m) arrays every elementwise step is memory-bound), and no
    (n, len(cols)) copy is made.
    """
    width = block_columns(Dc.shape[0])
    cols = np.sort(cols)
    for lo in range(0, cols.size, width):
        b = cols[lo : lo + width]
        Lam[:, b], ub[b] = dual_fista_certify(
            ops, G[:, b], Dc[:, b], Lam[:, b], beta, x_norm2, n_iter
        )


def block_columns(n: int) -> int:
    """Columns per block of :func:`tighten_bounds`: an (n, block) float array of ~256 KiB."""
    return max(32, BLOCK_BYTES // (8 * max(n, 1)))


def price_columns(
    ops: MaskedProducts,
    X: FloatArray,
    DD: BoolArray,
    v: FloatArray,
    beta: float,
    Lam: FloatArray,
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
    upper bound ``||g_j + A_j^T lam_j|| >= p_j`` from its multipliers ``Lam`` (updated in
    place; warm from earlier rounds). The bounds of the candidates (bound ``> beta``) are
    tightened by a few batched dual iterations (:func:`tighten_bounds`), the
    ``2 m_add`` largest are replaced by exact projections (:func:`harness.solvers.cones.project_cone`), and
    the ``m_add`` most violated enter (the best columns, not the first found: fewer
    rounds). With no violator among them, the remaining candidates are certified by more
    dual iterations and exact projections of what is left. Returns the violators, most
    violated first; empty means every column outside the working set has a certified
    bound ``<= beta (1 + viol_rtol)``: from its multipliers in ``Lam``, or the raw bound
    ``||g_j||`` (``lam = 0``) for the columns that were never candidates (their ``Lam``
    may be stale; :func:`harness.solvers.certify.relu_certificate` drops multipliers worse
    than zero).

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
    base = ops.masked_adjoint(DD[:, :P], v)
    G = np.concatenate([base, -base], axis=1)
    # the raw bound (lam = 0) decides the candidates; their warm multipliers are evaluated
    # (and reset where worse than zero) block by block when they are tightened
    ub = F.group_norms(G)
    limit = beta * (1.0 + viol_rtol)
    found: list[tuple[float, int]] = []

    def tighten(cols: IntArray, n_iter: int) -> None:
        tighten_bounds(ops, G, DD, Lam, ub, cols, beta, x_norm2, n_iter)

    def exact(cols: IntArray) -> None:
        for j in cols:
            proj, lam = project_cone(cone_matrix(X, DD[:, j]), G[:, j])
            Lam[:, j] = lam
            ub[j] = float(np.linalg.norm(proj))
            stats["n_projections"] += 1
            if ub[j] > limit:
                found.append((ub[j], int(j)))

    def candidates() -> IntArray:
        cand = np.flatnonzero(~working & (ub > beta))
        return cand[np.argsort(-ub[cand], kind="stable")]

    cand = candidates()
    if cand.size > 2 * m_add:
        # rank on the best bounds only: the columns that enter are among the largest, and
        # the others are certified (all of them) only once no violator is left
        tighten(cand, RANK_DUAL_ITERS // 4)
        cand = candidates()
        pool = cand[: RANK_POOL * m_add]
        tighten(pool, RANK_DUAL_ITERS)
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
    exact(cand[: 2 * m_add])
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
