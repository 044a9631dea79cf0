"""Column generation at small beta: flooding the working set, stopping the IPM at a stall."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import restricted_columns

from harness import formulations as F
from harness.instances import gaussian_instance, make_rng
from harness.patterns import sample_patterns
from harness.solvers import ipm, pricing
from harness.solvers.relu_cg import solve_relu_cg


def _case(n: int, d: int, P: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    inst = gaussian_instance(n, d, 3, labels="planted", width=6, noise=0.1)
    D = sample_patterns(inst.X, P, make_rng(7)).D
    return inst.X, inst.y, D, F.beta_max(inst.X, inst.y, D)


def test_flood_enters_the_saturated_candidates_at_small_beta() -> None:
    # at 1e-3 beta_max most columns are active: one flooded round replaces the many rounds
    # of geometric growth, and the certified optimum is the same
    X, y, D, bmax = _case(150, 8, 40)
    on = solve_relu_cg(X, y, D, 1e-3 * bmax, tol=1e-9)
    off = solve_relu_cg(X, y, D, 1e-3 * bmax, tol=1e-9, flood=False)
    assert on.status == off.status == "optimal"
    assert on.extra["n_flood"] >= 1 and off.extra["n_flood"] == 0
    assert on.extra["n_rounds"] < off.extra["n_rounds"]
    assert max(on.extra["round_sizes"]) > 2 * max(off.extra["round_sizes"][:3])
    np.testing.assert_allclose(on.objective, off.objective, rtol=1e-8)


def test_no_flood_at_the_first_residual() -> None:
    # at v = y (no restricted solve yet) every candidate can look violated even at large
    # beta: flooding there entered 40 columns for an optimum of 15 before the guard
    X, y, D, bmax = _case(60, 4, 40)
    res = solve_relu_cg(X, y, D, 0.3 * bmax, tol=1e-9)
    assert res.status == "optimal"
    assert res.extra["n_flood"] == 0
    assert res.extra["round_sizes"][0] <= 8


def test_flood_respects_the_working_set_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y, D, bmax = _case(150, 8, 40)
    res = solve_relu_cg(X, y, D, 1e-3 * bmax, tol=1e-9, max_dim=8 * 40)
    assert res.extra["n_flood"] == 0
    assert max(res.extra["round_sizes"]) <= 40
    # and with the saturation rule unreachable, no flood either
    monkeypatch.setattr(pricing, "FLOOD_SATURATION", 1.01)
    assert solve_relu_cg(X, y, D, 1e-3 * bmax, tol=1e-9).extra["n_flood"] == 0


def test_ipm_hands_back_at_a_stall_and_resumes_dense(monkeypatch: pytest.MonkeyPatch) -> None:
    # every step below STALL_GAP counts as a stall: with stop_on_stall the run returns at
    # the first one (still on Woodbury); resume_dense finishes it with the dense solves
    monkeypatch.setattr(ipm, "STALL_STEP", 2.0)
    monkeypatch.setattr(ipm, "STALL_GAP", 1e-2)
    X, y, Dc, sig = restricted_columns(1, 12, 3, 10)
    m = ipm.WorkingSetIPM(X, y, 0.05, Dc, sig, float(np.linalg.norm(X, 2)), None, True)
    assert m.woodbury
    m.stop_on_stall = True
    assert not m.run(1e-10, 200)
    assert m.stalled and m.woodbury and m.n_stall == 1 and not m.failed
    assert 1e-10 < m.rel_gap < 1e-2
    m.resume_dense()
    assert m.run(1e-10, 200)
    assert not m.woodbury and not m.stalled and m.rel_gap <= 1e-10


def test_crossover_respects_its_arithmetic_budget() -> None:
    # from the certified optimum the active-set Newton method returns at once; with no
    # arithmetic budget it gives up (None) instead of running on
    from harness.solvers.newton import active_set_newton

    X, y, D, bmax = _case(60, 4, 40)
    beta = 0.05 * bmax
    res = solve_relu_cg(X, y, D, beta, tol=1e-10)
    Z = np.concatenate([res.variables["U"], res.variables["V"]], axis=1)
    DD = np.concatenate([D, D], axis=1)
    sig = np.concatenate([np.ones(D.shape[1]), -np.ones(D.shape[1])])
    Fs, Ss = np.where(DD, sig, 0.0), np.where(DD, 1.0, -1.0)
    out = active_set_newton(X, y, beta, Fs, Ss, Z)
    assert out is not None
    Zn = out[0]
    obj = F.relu_objective(X, y, D, Zn[:, : D.shape[1]], Zn[:, D.shape[1] :], beta)
    np.testing.assert_allclose(obj, res.objective, rtol=1e-9)
    assert active_set_newton(X, y, beta, Fs, Ss, Z, max_flops=1.0) is None
