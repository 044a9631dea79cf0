"""The restricted IPM's Newton algebra: matrix-free products, shifted Woodbury, stall fallback."""

from __future__ import annotations

import numpy as np
import pytest

from harness import formulations as F
from harness.instances import gaussian_instance, make_rng
from harness.patterns import sample_patterns
from harness.solvers import ipm
from harness.solvers.ipm import WorkingSetIPM
from harness.solvers.reference import solve_relu_reference
from harness.solvers.relu_cg import solve_relu_cg
from harness.solvers.result import SolveResult


def _ipm(n: int, d: int, k: int, woodbury: bool, seed: int = 0) -> WorkingSetIPM:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    Dc = (rng.random((n, k)) < 0.5).astype(np.float64)
    sig = np.where(rng.random(k) < 0.5, 1.0, -1.0)
    return WorkingSetIPM(X, y, 0.1, Dc, sig, float(np.linalg.norm(X, 2)), None, woodbury)


def test_matrix_free_products_match_explicit_f() -> None:
    m = _ipm(15, 3, 12, woodbury=True)
    Fmat = (m.Fs[:, :, None] * m.X[:, None, :]).reshape(m.n, m.k * m.d)
    x = np.random.default_rng(1).standard_normal((m.k, m.d))
    r = np.random.default_rng(2).standard_normal(m.n)
    np.testing.assert_allclose(m._f(x), Fmat @ x.ravel(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m._ft(r).ravel(), Fmat.T @ r, rtol=1e-12, atol=1e-12)
    free = m._ftf(x)
    np.testing.assert_allclose(m.FtF, Fmat.T @ Fmat, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m._ftf(x), free, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("singular", [False, True])
def test_woodbury_solve_matches_dense(singular: bool) -> None:
    wood, dense = _ipm(15, 3, 12, woodbury=True), _ipm(15, 3, 12, woodbury=False)
    assert wood.woodbury and not dense.woodbury
    rng = np.random.default_rng(3)
    A = rng.standard_normal((12, 3, 3))
    blocks = A @ np.swapaxes(A, 1, 2) + 0.1 * np.eye(3)
    if singular:
        # blocks singular in one direction (the end game): the shift path, refined away
        v = rng.standard_normal((12, 3))
        blocks = 1e6 * (
            np.eye(3)[None] - np.einsum("ki,kj->kij", v, v) / (v * v).sum(1)[:, None, None]
        )
    R = rng.standard_normal((12, 3))
    x_w = wood._newton_solver(blocks)(R)
    x_d = dense._newton_solver(blocks)(R)
    assert wood.woodbury and wood.n_woodbury == 1  # no silent dense fallback
    np.testing.assert_allclose(x_w, x_d, rtol=1e-7, atol=1e-9 * float(np.abs(x_d).max()))


def _forced_stall_solve(
    monkeypatch: pytest.MonkeyPatch, newton: bool = True
) -> tuple[SolveResult, SolveResult]:
    """Every step after the gap falls below 1e-2 counts as a Woodbury stall; the fast
    solve (tol 1e-9; ``newton``: the active-set crossover at the stall) and Clarabel on
    one small tiny-beta case."""
    monkeypatch.setattr(ipm, "STALL_STEP", 2.0)
    monkeypatch.setattr(ipm, "STALL_GAP", 1e-2)
    inst = gaussian_instance(30, 4, 4, labels="planted", width=4, noise=0.1)
    D = sample_patterns(inst.X, 40, make_rng(104)).D
    beta = 1e-3 * F.beta_max(inst.X, inst.y, D)
    res = solve_relu_cg(inst.X, inst.y, D, beta, tol=1e-9, newton=newton)
    return res, solve_relu_reference(inst.X, inst.y, D, beta)


def test_woodbury_stall_falls_back_to_dense(monkeypatch: pytest.MonkeyPatch) -> None:
    # every step after the gap falls below STALL_GAP counts as a stall: the run must
    # switch to the dense solves (affordable at any cost here) and still certify the
    # Clarabel optimum
    monkeypatch.setattr(ipm, "DENSE_COST_RATIO", np.inf)
    res, ref = _forced_stall_solve(monkeypatch)
    assert res.extra["woodbury_steps"] > 0
    assert res.extra["woodbury_stalls"] > 0
    assert res.status == "optimal"
    np.testing.assert_allclose(res.objective, ref.objective, rtol=1e-6)


def test_unaffordable_dense_solves_are_not_used_at_a_stall(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the same forced stalls with dense solves never worth their cost: neither the dense
    # continuation nor the cold dense retry runs; without the active-set crossover (which
    # can certify from the stalled point) the solve stops at the stall with certified
    # bounds on the Clarabel optimum and says it is inaccurate (the forced stall comes
    # long before the 1e-9 gap)
    monkeypatch.setattr(ipm, "DENSE_COST_RATIO", 0.0)
    monkeypatch.setattr(ipm, "DENSE_CHEAP_DIM", 0)
    monkeypatch.setattr(WorkingSetIPM, "resume_dense", lambda self: pytest.fail("resumed"))
    init = WorkingSetIPM.__init__

    def no_dense_retry(self: WorkingSetIPM, *args: object, woodbury: bool = True) -> None:
        assert woodbury, "dense retry"
        init(self, *args, woodbury=woodbury)  # type: ignore[arg-type]

    monkeypatch.setattr(WorkingSetIPM, "__init__", no_dense_retry)
    res, ref = _forced_stall_solve(monkeypatch, newton=False)
    assert res.extra["woodbury_stalls"] > 0
    assert res.status == "inaccurate" and res.extra["stop_reason"] == "ipm stalled"
    assert res.objective - res.duality_gap <= ref.objective * (1 + 1e-7)
    assert res.objective >= ref.objective * (1 - 1e-7)


def test_above_the_dense_limit_the_ipm_stays_on_woodbury(monkeypatch: pytest.MonkeyPatch) -> None:
    # with a dense budget below every working set, no kd x kd matrix may be formed: stalls
    # do not hand over, the cg's dense retry is skipped, and the solve still certifies
    monkeypatch.setattr(ipm, "DENSE_NEWTON_BYTES", 8)
    monkeypatch.setattr(WorkingSetIPM, "FtF", property(lambda self: pytest.fail("dense F^T F")))
    res, ref = _forced_stall_solve(monkeypatch)
    assert res.extra["woodbury_steps"] > 0 and res.extra["woodbury_stalls"] == 0
    assert res.status == "optimal"
    np.testing.assert_allclose(res.objective, ref.objective, rtol=1e-6)


def test_working_set_cap_is_sized_from_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import resources
    from harness.solvers import relu_cg

    monkeypatch.setattr(resources, "memory_limit", lambda: None)
    # 2 GiB over 8 (n + 2d) bytes per unit of kd: ~ 838 860 at n = 160, d = 80
    assert relu_cg.working_set_max_dim(160, 80) == int(2 * 2**30 / (8 * 320))
    # a smaller memory limit wins
    monkeypatch.setattr(resources, "memory_limit", lambda: 8 * 320 * 1000)
    assert relu_cg.working_set_max_dim(160, 80) == 1000
    assert ipm.dense_max_dim() == int((8 * 320 * 1000 / 24) ** 0.5)
    # a cap below the optimum's support ends the solve honestly: inaccurate, still bounded
    inst = gaussian_instance(30, 4, 4, labels="planted", width=4, noise=0.1)
    D = sample_patterns(inst.X, 40, make_rng(104)).D
    beta = 1e-3 * F.beta_max(inst.X, inst.y, D)
    res = solve_relu_cg(inst.X, inst.y, D, beta, tol=1e-9, max_dim=8)
    assert res.status == "inaccurate"
    assert res.extra["stop_reason"] == "working set too large"
    assert res.dual_bound <= res.objective
