"""Warm start of the restricted IPM across pricing rounds (issue 11)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import restricted_columns

from harness import formulations as F
from harness.instances import gaussian_instance, make_rng
from harness.patterns import sample_patterns
from harness.solvers.ipm import WorkingSetIPM
from harness.solvers.relu_cg import solve_relu_cg


def _pair(seed: int = 0) -> tuple[WorkingSetIPM, WorkingSetIPM]:
    rng = np.random.default_rng(seed)
    n, d = 40, 3
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    Dc = (rng.random((n, 6)) < 0.5).astype(np.float64)
    sig = np.where(rng.random(6) < 0.5, 1.0, -1.0)
    xs = float(np.linalg.norm(X, 2))
    prev = WorkingSetIPM(X, y, 0.05, Dc[:, :4], sig[:4], xs, None)
    prev.run(1e-3, 100)
    new = WorkingSetIPM(X, y, 0.05, Dc[:, 1:], sig[1:], xs, None)
    return prev, new


def test_warm_from_keeps_columns_and_is_strictly_interior() -> None:
    prev, new = _pair()
    assert prev.rel_gap <= 1e-3 and not prev.failed
    keep_prev, keep_new = np.array([1, 2, 3]), np.array([0, 1, 2])
    new.warm_from(prev, keep_prev, keep_new, 0.1)
    np.testing.assert_array_equal(new.Wn[:, keep_new], prev.Wn[:, keep_prev])
    assert not new.Wn[:, 3:].any()  # entering columns start at zero
    assert (new.sl > 0).all() and (new.zl > 0).all()
    assert (new.sq[0] > np.linalg.norm(new.sq[1:], axis=0)).all()
    assert (new.zq[0] > np.linalg.norm(new.zq[1:], axis=0)).all()
    # primal feasible in the cone rows: s_q = (t, w) and s >= a * (X w)
    np.testing.assert_allclose(new.sq[0], new.T)
    np.testing.assert_allclose(new.sq[1:], new.Wn)
    assert (new.sl >= new.Sg * (new.X @ new.Wn) - 1e-15).all()
    assert new.run(1e-6, 100)


def test_warm_started_rounds_reach_the_cold_optimum_in_fewer_iterations() -> None:
    inst = gaussian_instance(200, 8, 1, labels="planted", width=10, noise=0.1)
    D = sample_patterns(inst.X, 60, make_rng(1)).D
    beta = 0.02 * F.beta_max(inst.X, inst.y, D)
    tol = 1e-8
    cold = solve_relu_cg(inst.X, inst.y, D, beta, tol=tol, warm_ipm=False)
    warm = solve_relu_cg(inst.X, inst.y, D, beta, tol=tol, warm_ipm=True)
    assert cold.status == warm.status == "optimal"
    assert warm.extra["n_rounds"] >= 3  # several warm-started rounds
    assert len(warm.extra["round_iters"]) == warm.extra["n_rounds"]
    for res in (cold, warm):
        assert res.duality_gap is not None and res.duality_gap <= tol * res.objective
    # each certified upper bound lies inside the other's certified bracket
    lower_cold = cold.objective - cold.duality_gap
    lower_warm = warm.objective - warm.duality_gap
    assert lower_cold <= warm.objective * (1 + 1e-12)
    assert lower_warm <= cold.objective * (1 + 1e-12)
    assert warm.n_iter < cold.n_iter


def _restricted(beta: float, seed: int = 0) -> WorkingSetIPM:
    rng = np.random.default_rng(seed)
    n, d, k = 60, 4, 5
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    Dc = (rng.random((n, k)) < 0.5).astype(np.float64)
    sig = np.where(np.arange(k) % 2 == 0, 1.0, -1.0)
    return WorkingSetIPM(X, y, beta, Dc, sig, float(np.linalg.norm(X, 2)), None)


def test_warm_point_from_a_larger_beta_is_interior_and_dual_consistent() -> None:
    prev = _restricted(0.5)
    assert prev.run(1e-9, 100)
    new, cold = _restricted(0.3), _restricted(0.3)
    shift = 0.1
    new.warm_point(prev.W, prev.duals, shift)
    np.testing.assert_allclose(new.W, prev.W, rtol=1e-12, atol=1e-15)
    assert (new.sl > 0).all() and (new.zl > 0).all()
    assert (new.sq[0] > np.linalg.norm(new.sq[1:], axis=0)).all()
    assert (new.zq[0] > np.linalg.norm(new.zq[1:], axis=0)).all()
    assert (new.sl >= new.Sg * (new.X @ new.Wn) - 1e-15).all()  # primal feasible rows
    # the dual equation F^T r - X^T (a * z) - z_q1 = 0 holds up to the shift of z
    res = np.einsum("nk,nk->n", new.Fs, new.X @ new.Wn) - new.y
    zq1 = new.X.T @ (new.Fs * res[:, None] - new.Sg * (new.zl - shift * new.b))
    np.testing.assert_allclose(new.zq[1:], zq1, rtol=1e-12, atol=1e-14)
    assert (new.zq[0] >= (1 + shift) * new.b * (1 - 1e-15)).all()
    # the same optimum as a cold start, in fewer iterations
    assert new.run(1e-9, 100) and cold.run(1e-9, 100)
    np.testing.assert_allclose(new.W, cold.W, rtol=1e-5, atol=1e-7)
    assert new.n_iter < cold.n_iter


def test_beta_path_first_round_starts_from_the_previous_solution() -> None:
    """With multipliers in the warm start the first restricted solve starts from that point
    (fewer IPM iterations) and the columns violated at its residual enter before it."""
    inst = gaussian_instance(200, 8, 1, labels="planted", width=10, noise=0.1)
    D = sample_patterns(inst.X, 60, make_rng(1)).D
    bmax = F.beta_max(inst.X, inst.y, D)
    tol = 1e-8
    first = solve_relu_cg(inst.X, inst.y, D, 0.1 * bmax, tol=tol)
    assert first.status == "optimal"
    beta = 0.06 * bmax
    warm = solve_relu_cg(inst.X, inst.y, D, beta, tol=tol, warm_start=first)
    cold = solve_relu_cg(inst.X, inst.y, D, beta, tol=tol, warm_start=first, warm_ipm=False)
    assert warm.status == cold.status == "optimal"
    for a, b in ((warm, cold), (cold, warm)):  # each certified value inside the other's bracket
        assert a.objective - a.duality_gap <= b.objective * (1 + 1e-12)
    assert warm.extra["round_iters"][0] < cold.extra["round_iters"][0]
    assert warm.extra["round_sizes"][0] > cold.extra["round_sizes"][0]  # priced first
    assert warm.n_iter < cold.n_iter


def test_kkt_refinement_is_skipped_only_where_it_cannot_matter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the same restricted solve with the KKT refinement always on, with the default rule
    # and with the gap guard raised to 1e-3: same iterations and optimum; the default skips
    # the refinement in some solves (residual already below KKT_REFINE_RTOL), the raised
    # guard only at gaps above it, and in fewer solves
    import harness.solvers.ipm as ipm

    X, y, Dc, sig = restricted_columns(5, 60, 4, 8)
    xs = float(np.linalg.norm(X, 2))

    def run(rtol: float, guard: float) -> tuple[WorkingSetIPM, list[float]]:
        monkeypatch.setattr(ipm, "KKT_REFINE_RTOL", rtol)
        monkeypatch.setattr(ipm, "KKT_SKIP_GAP", guard)
        m = WorkingSetIPM(X, y, 0.05, Dc, sig, xs, None)
        gaps: list[float] = []
        while True:
            before = m.n_unrefined
            state = m._step(1e-8)
            if m.n_unrefined > before:
                gaps.append(m.rel_gap)  # the gap at which this step's solves ran
            if state != "continue":
                assert state == "converged"
                return m, gaps

    rtol, guard = ipm.KKT_REFINE_RTOL, ipm.KKT_SKIP_GAP
    always, _ = run(0.0, guard)
    default, _ = run(rtol, guard)
    guarded, guarded_gaps = run(rtol, 1e-3)
    assert always.n_unrefined == 0
    assert default.n_unrefined > guarded.n_unrefined > 0
    assert min(guarded_gaps) >= 1e-3
    for m in (default, guarded):
        assert m.n_iter == always.n_iter
        np.testing.assert_allclose(m.W, always.W, rtol=1e-7, atol=1e-9)
