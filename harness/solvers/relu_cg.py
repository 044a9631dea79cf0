"""Cone-constrained ReLU program (3) by column generation (registry name ``"fast"``).

Measured on planted instances, the optimum of (3) is sparse in columns (23 of the 400
columns ``[U, V]`` at n=1000, d=50, P=200, beta = 0.1 beta_max) and every active column
sits on a low-dimensional face of its cone, with d-1 or d-2 tight rows out of n. That
degeneracy makes first-order multiplier methods slow (:mod:`harness.solvers.relu_al`),
while interior-point methods are indifferent to it but cost a dense factorisation in all
2Pd variables (cvxpy + Clarabel). So the solver works on a *working set* of columns:

* the restricted program (other columns at zero) is solved by a primal-dual
  interior-point method written for its structure (:class:`harness.solvers.ipm.WorkingSetIPM`:
  one ``kd x kd`` Cholesky per iteration for ``k`` working columns);
* *pricing* (:func:`harness.solvers.pricing.price_columns`): the columns outside the set
  with the most violated dual constraint enter, ``m_add`` or ``GROW_FRACTION`` of the
  set's size, whichever is larger (at small beta the optimum holds a large share of all
  columns: growing geometrically halves the rounds, each a full restricted solve);
  when nearly every candidate is still violated after a restricted solve and they are a
  large share of the columns outside, all of them enter at once (*flooding*, see
  :func:`~harness.solvers.pricing.price_columns`: at 0.005 beta_max the optimum holds
  half or more of all columns, and one solve over them replaces the last rounds);
  intermediate restricted solves stop at relative gap ``MID_GAP``, each warm-started from the previous round's iterate
  shifted into the interior (``WARM_SHIFT``; about 15% fewer IPM iterations than cold
  starts on planted instances; the first round of a warm start that carries
  multipliers, e.g. the previous solve of a beta path, starts from that point);
  columns that are zero with a clearly slack dual constraint leave the set;
* when no column is violated, the restricted solve is finished to
  ``FINAL_GAP_FACTOR * tol``, projected onto the cones and certified by weak duality
  (the IPM's cone duals serve the working columns, the pricing multipliers the others).
  The final solve hands back at a stall of its Woodbury steps (the most degenerate,
  tiny-beta end games), so the point is certified first; only if that bound is not tight
  enough does it go on with dense Newton solves, and only where they are affordable
  (:attr:`harness.solvers.ipm.WorkingSetIPM.dense_affordable`; otherwise the solve stops
  ``inaccurate`` with its certified bounds). If the bound is still not tight, the IPM's
  tight rows seed the exact active-set Newton method
  (:func:`harness.solvers.newton.active_set_newton`, a crossover).

Every lower bound is a weak-duality bound and every upper bound the objective at an
exactly cone-feasible point, so pricing heuristics, IPM accuracy and the crossover affect
speed only, never the certificate (:func:`harness.solvers.certify.build_result`). The
working set is capped at ``max_dim`` (``k d``, by default sized from memory:
:func:`working_set_max_dim`), beyond which the solver returns the best certified point
with status ``inaccurate``.
"""

from __future__ import annotations

import time

import numpy as np

from harness import __version__
from harness import formulations as F
from harness.errors import InputError
from harness.formulations import BoolArray, FloatArray
from harness.resources import memory_budget
from harness.solvers.certify import build_result, relu_certificate_columns
from harness.solvers.common import (
    DEFAULT_TOL,
    WarmStart,
    check_options,
    check_problem,
    gap_ok,
    pad_columns,
    warm_variables,
)
from harness.solvers.cones import polish_cones, signed_values
from harness.solvers.ipm import WorkingSetIPM, woodbury_step_flops
from harness.solvers.masked import MaskedProducts
from harness.solvers.newton import active_set_newton
from harness.solvers.pricing import DualMultipliers, price_columns
from harness.solvers.result import SolveResult

#: Default cap on the total interior-point iterations.
DEFAULT_MAX_ITER = 500
#: Memory the restricted interior-point method's per-iteration arrays may use: the
#: Woodbury factor ``G`` (n, kd) and the ``k`` inverse blocks (d, d), about
#: ``8 kd (n + 2d)`` bytes; sets the default largest working-set dimension ``k d``
#: (:func:`working_set_max_dim`). Dense Newton solves have their own, smaller, limit
#: (:func:`harness.solvers.ipm.dense_max_dim`).
IPM_MEMORY_BYTES = 2 * 2**30
#: The (n, d*d) outer-product table is kept only below this many entries.
XX_MAX_ENTRIES = 5_000_000
#: Pricing rounds of the column generation.
MAX_PRICING_ROUNDS = 100
#: The final restricted solve aims at this fraction of ``tol`` (relative gap).
FINAL_GAP_FACTOR = 0.01
#: Relative gap of the intermediate restricted solves (enough to rank the violators).
#: 3e-2 rather than 1e-3: fewer IPM iterations in all of the measured regimes (n = 500,
#: d = 20, P = 100 at 0.005 / 0.02 / 0.1 beta_max: 253 -> 219, 132 -> 128, 60 -> 52;
#: n = 160, d = 40, P = 5 000 at 0.1 beta_max: 64 -> 55; the two p_cvx(D') fixtures of
#: tests/solvers/test_stationary_dprime.py: 111 -> 98, 154 -> 136); the final solve and
#: its certificate are unchanged.
MID_GAP = 3e-2
#: A working-set column leaves when it is zero and its dual constraint value is below this
#: fraction of beta (clearly inactive; it is priced again like any other column).
DROP_DUAL = 0.9
#: Interior shift of a warm-started restricted solve, relative to the cold start's
#: slacks and to beta (:meth:`harness.solvers.ipm.WorkingSetIPM.warm_from`).
WARM_SHIFT = 0.1
#: Up to this fraction of the working set's size (at least ``m_add``) enters per pricing
#: round. Measured with a development A/B script, not a committed benchmark (certified
#: tol 1e-8, CPU s, rounds): n = 1000, d = 50, P = 200 at
#: 0.005 / 0.02 / 0.1 beta_max: 227 / 44 / 4.9 s (29 / 16 / 5 rounds) with a fixed
#: ``m_add`` -> 99-114 / 23 / 4.6 s (13 / 8 / 5); n = 500, d = 20, P = 100: 9.2 / 2.8 /
#: 0.7 -> 5.0 / 2.4 / 0.6 s. 1.0 was faster at 0.005 beta_max but entered unneeded
#: columns at 0.1 (7 rounds instead of 5, 1.5-1.7x slower).
GROW_FRACTION = 0.5

#: Arithmetic budget of the active-set Newton crossover: this many Woodbury iterations of
#: the restricted IPM (:func:`harness.solvers.ipm.woodbury_step_flops` each), at least
#: ``CROSSOVER_MIN_FLOPS``.
#: Unbounded, it took 300 s after a 16 s IPM on MNIST (n = 1000, d = 20, 400 columns,
#: 3.8e-4 beta_max) and still did not certify; with this budget it gives up after 42 s
#: (the estimate counts ten Cholesky factorisations per change, fewer than it takes).
CROSSOVER_IPM_ITERS = 20
CROSSOVER_MIN_FLOPS = 2e10

IntArray = np.ndarray


def working_set_max_dim(n: int, d: int) -> int:
    """Default cap on ``k d``: the restricted IPM's arrays within :data:`IPM_MEMORY_BYTES`."""
    return max(d, int(memory_budget(IPM_MEMORY_BYTES) / (8 * (n + 2 * d))))


def solve_relu_cg(
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    warm_start: WarmStart = None,
    problem: str = "relu",
    m_add: int | None = None,
    newton: bool = True,
    max_dim: int | None = None,
    warm_ipm: bool = True,
    flood: bool = True,
) -> SolveResult:
    """Cone-constrained ReLU program, THEORY.md §A2 eq. (3) (or (2)), by column generation.

    ``min 1/2 ||sum_i D_i X (u_i - v_i) - y||^2 + beta sum_i (||u_i|| + ||v_i||)`` s.t.
    ``u_i, v_i in K_i``. A working set of columns is solved exactly by the restricted
    interior-point method (:class:`harness.solvers.ipm.WorkingSetIPM`); columns outside it are priced by
    their dual constraint value (:func:`harness.solvers.pricing.price_columns`) and the most violated enter.
    When none is violated the restricted solution is polished onto the cones
    (:func:`harness.solvers.cones.polish_cones`) and certified by weak duality; see the module docstring.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
    D : bool ndarray of shape (n, P)
    beta : float > 0
    tol : float
        Target for the certified relative gap ``(objective - dual_bound) / |objective|``
        at the polished, exactly cone-feasible point.
    max_iter : int
        Total interior-point iterations over all working sets.
    warm_start : SolveResult or dict, optional
        ``{"U", "V"}`` (d, k), k <= P: their non-zero columns seed the working set
        (nested pattern sets, beta paths); optional multipliers ``{"lam", "mu"}`` (n, k)
        seed the pricing. A gated ``{"W"}`` seeds the working set with, for each
        non-zero ``w_i``, the side (``u_i`` or ``v_i``) whose cone holds more of it.
    problem : {"relu", "full"}
        Labels the record (``"full"`` when ``D`` holds every pattern).
    m_add : int, optional
        Least number of columns entering per pricing round (default
        ``max(8, min(20, n // (2 d)))``); up to ``GROW_FRACTION`` times the working set's
        size enter when that is more.
    newton : bool
        Try the active-set Newton crossover when the restricted IPM stalls.
    max_dim : int, optional
        Largest working-set dimension ``k d``; default :func:`working_set_max_dim` (sized
        from memory). Beyond it the solve stops with status ``inaccurate``.
    warm_ipm : bool
        Start each round's restricted solve from the previous round's iterate
        (:meth:`harness.solvers.ipm.WorkingSetIPM.warm_from`) instead of cold, and the
        first one, when ``warm_start`` holds multipliers (the record of a neighbouring
        solve, e.g. on a beta path), from that point
        (:meth:`harness.solvers.ipm.WorkingSetIPM.warm_point`).
    flood : bool
        Let a pricing round enter every still-violated candidate when nearly all are
        (small beta; :func:`harness.solvers.pricing.price_columns`), up to ``max_dim``.

    Returns
    -------
    SolveResult
        ``solver="fast"``, ``extra["method"]="column_generation"``; ``variables={"U", "V"}``
        exactly cone-feasible;
        ``extra`` holds ``stop_reason``, ``n_rounds``, ``working_set``, ``n_flood``
        (flooded rounds), ``n_projections``,
        the time split (``ipm_s``, ``pricing_s``, ``certificate_s``), the product timing
        and ``multipliers`` ``{"lam", "mu"}`` (n, P) for warm starts.
    """
    t_start = time.perf_counter()
    check_problem(problem, ("relu", "full"), "the column generation")
    X, y = F.check_data(X, y)
    D = F.check_patterns(D, X.shape[0])
    beta = F.check_beta(beta)
    tol, max_iter = check_options(tol, max_iter)
    if m_add is not None and (
        isinstance(m_add, bool) or not isinstance(m_add, (int, np.integer)) or m_add < 1
    ):
        raise InputError(f"m_add must be an integer >= 1; got {m_add!r}")
    if max_dim is not None and (
        isinstance(max_dim, bool) or not isinstance(max_dim, (int, np.integer)) or max_dim < 1
    ):
        raise InputError(f"max_dim must be an integer >= 1; got {max_dim!r}")
    n, d = X.shape
    if max_dim is None:
        max_dim = working_set_max_dim(n, d)
    P = D.shape[1]
    warm = warm_variables(warm_start)
    DD = np.concatenate([D, D], axis=1)  # boolean: no float copy of the patterns
    sig = np.concatenate([np.ones(P), -np.ones(P)])
    ops = MaskedProducts(X)
    bmax = float(F.group_norms(ops.masked_adjoint(D, y)).max())
    if beta >= bmax:
        zero = np.zeros((d, P))
        return build_result(
            problem,
            X,
            y,
            D,
            beta,
            {"U": zero, "V": zero},
            solver="fast",
            method="column_generation",
            solver_version=__version__,
            tol=tol,
            claimed_status="optimal",
            raw_status="beta_max",
            n_iter=0,
            t_start=t_start,
            extra={"stop_reason": "beta_max", "n_rounds": 0, "working_set": 0},
        )
    m_add = int(m_add) if m_add is not None else max(8, min(20, n // (2 * d)))
    xs = float(np.linalg.norm(X, 2))
    x_norm2 = xs * xs
    Xn = X / xs
    xx = (
        (Xn[:, :, None] * Xn[:, None, :]).reshape(n, d * d) if n * d * d <= XX_MAX_ENTRIES else None
    )
    if "lam" in warm and "mu" in warm:
        lam0 = np.concatenate(
            [pad_columns(warm["lam"], n, P, "lam"), pad_columns(warm["mu"], n, P, "mu")], axis=1
        )
        duals = DualMultipliers(ops.XT, DD, lam0)
    else:
        duals = DualMultipliers(ops.XT, DD)
    seed_norms = np.zeros(2 * P)
    if "U" in warm and "V" in warm:
        Zw = np.concatenate(
            [pad_columns(warm["U"], d, P, "U"), pad_columns(warm["V"], d, P, "V")], axis=1
        )
        if Zw.any():
            seed_norms = F.group_norms(Zw) * F.active_mask(Zw, 1e-9)
    elif "W" in warm:
        Wg = pad_columns(warm["W"], d, P, "W")
        if Wg.any():
            wn = F.group_norms(Wg) * F.active_mask(Wg, 1e-6)
            # the side whose cone holds more of w_i: positive vs negative part of A_i w_i
            C = signed_values(D, X @ Wg)
            pos = np.maximum(C, 0.0).sum(axis=0) >= np.maximum(-C, 0.0).sum(axis=0)
            seed_norms[:P] = np.where(pos, wn, 0.0)
            seed_norms[P:] = np.where(pos, 0.0, wn)
    ws = np.flatnonzero(seed_norms > 0)
    if ws.size * d > max_dim:
        ws = np.sort(ws[np.argsort(-seed_norms[ws], kind="stable")][: max_dim // d])

    stats = {
        "n_projections": 0.0,
        "pricing_s": 0.0,
        "ipm_s": 0.0,
        "certificate_s": 0.0,
        "newton_s": 0.0,
        "woodbury_steps": 0.0,
        "woodbury_stalls": 0.0,
        "n_flood": 0.0,
    }
    n_newton = 0
    viol_rtol = 0.1 * tol
    mid_gap = max(MID_GAP, tol)
    ipm: WorkingSetIPM | None = None
    n_iter = n_rounds = 0
    best_obj, best_Z = np.inf, np.zeros((d, 2 * P))
    best_bound, v_best, lam_best = -np.inf, y.copy(), np.zeros((n, 2 * P))
    ipm_seconds = 0.0
    stop_reason = "max_iter"
    last_final_gap = np.inf

    round_iters: list[int] = []
    round_sizes: list[int] = []

    def build(
        cols: IntArray,
        woodbury: bool = True,
        prev_cols: IntArray | None = None,
        start: FloatArray | None = None,
    ) -> WorkingSetIPM:
        nonlocal n_iter, ipm_seconds
        if ipm is not None:
            ipm_seconds += ipm.ops.seconds
        t0 = time.perf_counter()
        Dc = D[:, cols % P].astype(np.float64)
        new = WorkingSetIPM(X, y, beta, Dc, sig[cols], xs, xx, woodbury=woodbury)
        if prev_cols is not None and ipm is not None and not ipm.failed:
            _, keep_prev, keep_new = np.intersect1d(prev_cols, cols, return_indices=True)
            new.warm_from(ipm, keep_prev, keep_new, WARM_SHIFT)
        elif start is not None:
            new.warm_point(start[:, cols], duals.lam[:, cols], WARM_SHIFT)
        new.run(mid_gap, max(1, max_iter - n_iter))
        n_iter += new.n_iter
        round_iters.append(new.n_iter)
        round_sizes.append(int(cols.size))
        stats["woodbury_steps"] += new.n_woodbury
        stats["woodbury_stalls"] += new.n_stall
        stats["ipm_s"] += time.perf_counter() - t0
        return new

    # a warm start with multipliers (a beta path: the previous solve's record) also starts
    # the first restricted IPM from its point (WorkingSetIPM.warm_point), and the columns
    # violated at its residual enter before that first solve (at a smaller beta they are
    # the columns whose dual value lies between the new and the old beta)
    start = None
    if ws.size and warm_ipm and {"U", "V", "lam", "mu"} <= warm.keys():
        start = np.zeros((d, 2 * P))
        start[:, ws] = Zw[:, ws]  # the seeded columns: the point the first IPM starts from
        seeded = np.zeros(2 * P, dtype=bool)
        seeded[ws] = True
        v0 = y - F.gated_predict(X, D, start[:, :P] - start[:, P:])
        m0 = max(m_add, int(np.ceil(GROW_FRACTION * ws.size)))
        add = price_columns(ops, X, DD, v0, beta, duals, seeded, m0, viol_rtol, x_norm2, stats)
        if (ws.size + add.size) * d <= max_dim:
            ws = np.union1d(ws, add)
    if ws.size:
        ipm = build(ws, start=start)

    def certificate(Zc: FloatArray, ws_duals: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        # the pricing multipliers, with the working set's from the restricted solve
        vc = y - F.gated_predict(X, D, Zc[:, :P] - Zc[:, P:])
        bc, lam_c = relu_certificate_columns(X, y, D, vc, beta, duals.lam, (ws, ws_duals))
        return bc, vc, lam_c

    def certify(cur: WorkingSetIPM, try_newton: bool) -> FloatArray:
        """Polish the restricted solution onto the cones, bound it; returns multipliers."""
        nonlocal best_obj, best_Z, best_bound, v_best, lam_best, n_newton
        t0 = time.perf_counter()
        Z = np.zeros((d, 2 * P))
        Z[:, ws] = cur.W
        Zc = polish_cones(X, DD, Z)
        obj_c = F.relu_objective(X, y, D, Zc[:, :P], Zc[:, P:], beta)
        if obj_c < best_obj:
            best_obj, best_Z = obj_c, Zc
        bc, vc, lam_c = certificate(Zc, cur.duals)
        if bc > best_bound:
            best_bound, v_best, lam_best = bc, vc, lam_c
        stats["certificate_s"] += time.perf_counter() - t0
        if try_newton and not gap_ok(best_obj, best_bound, tol):
            # crossover: the IPM's tight rows seed an exact active-set Newton solve on ws
            t0 = time.perf_counter()
            n_newton += 1
            Fw = np.where(DD[:, ws], sig[ws], 0.0)
            Sw = np.where(DD[:, ws], 1.0, -1.0)
            budget = max(
                CROSSOVER_MIN_FLOPS, CROSSOVER_IPM_ITERS * woodbury_step_flops(n, ws.size * d)
            )
            out = active_set_newton(
                X, y, beta, Fw, Sw, Zc[:, ws], Sw * (X @ Zc[:, ws]), max_flops=budget
            )
            if out is not None:
                Zn = np.zeros((d, 2 * P))
                Zn[:, ws] = out[0]
                Zn = polish_cones(X, DD, Zn)
                obj_n = F.relu_objective(X, y, D, Zn[:, :P], Zn[:, P:], beta)
                if obj_n < best_obj:
                    best_obj, best_Z = obj_n, Zn
                ws_n = cur.duals.copy()
                keep = F.group_norms(out[0]) > 0
                ws_n[:, keep] = out[1][:, keep]
                bn, vn, lam_n = certificate(Zn, ws_n)
                if bn > best_bound:
                    best_bound, v_best, lam_best = bn, vn, lam_n
            stats["newton_s"] += time.perf_counter() - t0
        return lam_c

    certified_state = False
    priced_final = False
    dense_retry = False
    while n_rounds < MAX_PRICING_ROUNDS and n_iter < max_iter:
        n_rounds += 1
        v = (
            y
            if ipm is None
            else y - np.einsum("nk,nk->n", np.where(DD[:, ws], sig[ws], 0.0), X @ ipm.W)
        )
        working = np.zeros(2 * P, dtype=bool)
        working[ws] = True
        m_round = max(m_add, int(np.ceil(GROW_FRACTION * ws.size)))
        add = price_columns(
            ops,
            X,
            DD,
            v,
            beta,
            duals,
            working,
            m_round,
            viol_rtol,
            x_norm2,
            stats,
            flood_limit=max_dim // d - ws.size if flood else 0,
        )
        if add.size:
            priced_final = False
            prev_ws = ws
            if ipm is not None:
                # drop columns that are zero with a clearly slack dual constraint
                norms = F.group_norms(ipm.W)
                slack = (norms <= 1e-6 * max(float(norms.max()), 1e-300)) & (
                    ipm.column_dual_norms() < DROP_DUAL
                )
                duals.assign(ws[slack], ipm.duals[:, slack])
                ws = ws[~slack]
            grown = np.union1d(ws, add)
            if grown.size * d > max_dim:
                stop_reason = "working set too large"
                break
            ws = grown
            ipm = build(ws, prev_cols=prev_ws if warm_ipm else None)
            certified_state = False
            continue
        if ipm is None:
            stop_reason = "zero optimal"
            lam_best = duals.lam
            break
        # no column is violated: finish the restricted solve and certify
        t0 = time.perf_counter()
        before, before_w, before_s = ipm.n_iter, ipm.n_woodbury, ipm.n_stall
        ipm.stop_on_stall = True
        ipm.run(FINAL_GAP_FACTOR * tol, max(1, max_iter - n_iter))
        n_iter += ipm.n_iter - before
        round_iters.append(ipm.n_iter - before)
        round_sizes.append(int(ws.size))
        stats["woodbury_steps"] += ipm.n_woodbury - before_w
        stats["woodbury_stalls"] += ipm.n_stall - before_s
        stats["ipm_s"] += time.perf_counter() - t0
        # the crossover only once pricing at a final residual found nothing to add
        lam_c = certify(ipm, newton and priced_final)
        certified_state = True
        if gap_ok(best_obj, best_bound, tol):
            stop_reason = "gap+feasibility"
            break
        # the certificate's multipliers (exact where they set its scaling) price the next
        # round; those of the working set are not read while it holds them
        duals.adopt(lam_c)
        if ipm.stalled and ipm.dense_affordable:
            # the Woodbury end game stalled short of the final gap and the certificate is
            # not tight yet: the same restricted solve goes on with the dense solves
            ipm.resume_dense()
            continue
        if not priced_final:
            # the working set was priced at an intermediate (MID_GAP) residual; the final
            # one moved, and columns outside may now be violated (near-duplicate
            # patterns): price again at this residual before judging the restricted solve
            priced_final = True
            continue
        if ipm.failed or ipm.stalled or ipm.rel_gap >= 0.5 * last_final_gap:
            if ipm.n_woodbury > 0 and ipm.dense_affordable and not dense_retry:
                # the Woodbury solves lost accuracy on a degenerate end game: once more
                # with the dense Newton solves on the same working set
                dense_retry = True
                ipm = build(ws, woodbury=False)
                certified_state = priced_final = False
                continue
            stop_reason = "ipm stalled"
            break
        last_final_gap = ipm.rel_gap
    if ipm is not None and not certified_state:
        # stopped early (iteration budget, working-set cap): still return a feasible,
        # bounded point
        certify(ipm, False)

    claimed = "optimal" if stop_reason in ("gap+feasibility", "zero optimal") else "inaccurate"
    if stop_reason == "max_iter":
        claimed = "max_iter"
    product_s = ops.seconds + ipm_seconds + (ipm.ops.seconds if ipm is not None else 0.0)
    return build_result(
        problem,
        X,
        y,
        D,
        beta,
        {"U": best_Z[:, :P], "V": best_Z[:, P:]},
        solver="fast",
        method="column_generation",
        solver_version=__version__,
        tol=tol,
        claimed_status=claimed,
        raw_status=stop_reason,
        n_iter=n_iter,
        t_start=t_start,
        residuals=[v_best],
        multipliers=(lam_best[:, :P], lam_best[:, P:]),
        extra={
            "stop_reason": stop_reason,
            "n_rounds": n_rounds,
            "working_set": int(ws.size),
            "n_projections": int(stats["n_projections"]),
            "ipm_s": stats["ipm_s"],
            "pricing_s": stats["pricing_s"],
            "certificate_s": stats["certificate_s"],
            "newton_s": stats["newton_s"],
            "woodbury_steps": int(stats["woodbury_steps"]),
            "woodbury_stalls": int(stats["woodbury_stalls"]),
            "n_newton": n_newton,
            "n_flood": int(stats["n_flood"]),
            "round_iters": round_iters,
            "round_sizes": round_sizes,
            "product_time_s": product_s,
        },
    )
