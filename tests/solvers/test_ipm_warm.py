"""Warm start of the restricted IPM across pricing rounds (issue 11)."""

from __future__ import annotations

import numpy as np

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
