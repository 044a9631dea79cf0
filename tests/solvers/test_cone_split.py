"""The batched cone-decomposition IPM against cvxpy + Clarabel (THEORY.md §A5)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from harness import formulations as F
from harness.instances import gaussian_instance, make_rng
from harness.mapping import cone_decomposition
from harness.patterns import sample_patterns
from harness.solvers.cone_split import split_columns
from harness.solvers.registry import solve


def _clarabel_value(X: np.ndarray, S: np.ndarray, W: np.ndarray) -> float:
    """An independent model of the same program, solved by Clarabel to 1e-10."""
    A = cp.Variable(W.shape)
    obj = cp.sum(cp.norm(A, 2, axis=0)) + cp.sum(cp.norm(A - W, 2, axis=0))
    cons = [cp.multiply(S, X @ A) >= 0, cp.multiply(S, X @ (A - W)) >= 0]
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert prob.status == "optimal"
    return float(prob.value)


def _gated_columns(n: int, d: int, P: int, seed: int) -> tuple[np.ndarray, ...]:
    inst = gaussian_instance(n, d, seed, labels="planted", width=5, noise=0.1)
    D = sample_patterns(inst.X, P, make_rng(seed + 1)).D
    beta = 0.05 * F.beta_max(inst.X, inst.y, D)
    W = solve("gated", inst.X, inst.y, D, beta, solver="fast", tol=1e-10).variables["W"]
    act = F.active_mask(W, 1e-6)
    return inst.X, 2.0 * D[:, act] - 1.0, W[:, act]


@pytest.mark.parametrize(("n", "d", "P", "seed"), [(40, 3, 30, 0), (80, 6, 60, 1), (60, 12, 40, 2)])
def test_split_matches_clarabel_and_is_cone_feasible(n: int, d: int, P: int, seed: int) -> None:
    X, S, W = _gated_columns(n, d, P, seed)
    assert W.shape[1] >= 3
    out = split_columns(X, S, W, tol=1e-9)
    assert out.status == "optimal" and out.n_iter < 60
    value = float(F.group_norms(out.A).sum() + F.group_norms(out.A - W).sum())
    ref = _clarabel_value(X, S, W)
    assert abs(value - ref) <= 1e-6 * ref
    # both parts in their cones, to rounding (relative to the row and column scales)
    scale = np.linalg.norm(X, axis=1)[:, None] * F.group_norms(W)[None, :]
    assert (S * (X @ out.A) >= -1e-9 * scale).all()
    assert (S * (X @ (out.A - W)) >= -1e-9 * scale).all()


def test_split_of_columns_already_in_their_cones_is_trivial() -> None:
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 4))
    W = rng.standard_normal((4, 6))
    S = np.where(X @ W >= 0, 1.0, -1.0)  # each w_i in its own cone: a_i = w_i, b_i = 0
    out = split_columns(X, S, W, tol=1e-9)
    assert out.status == "optimal"
    sharp = (F.group_norms(out.A) + F.group_norms(out.A - W)) / F.group_norms(W)
    np.testing.assert_allclose(sharp, 1.0, atol=1e-8)


def test_split_reports_an_unconverged_solve() -> None:
    X, S, W = _gated_columns(40, 3, 30, 0)
    out = split_columns(X, S, W, tol=1e-9, max_iter=3)
    assert out.status == "max_iter" and out.rel_gap > 1e-9


def test_cone_decomposition_falls_back_to_clarabel(monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.solvers.cone_split as cs

    X, S, W = _gated_columns(40, 3, 30, 0)
    D = S > 0
    fast = cone_decomposition(X, D, W)
    assert fast.status == "optimal" and fast.raw_status.startswith("cone_split: optimal")
    monkeypatch.setattr(
        cs, "split_columns", lambda X, S, W, tol: cs.SplitResult(W, "max_iter", 2, 1.0)
    )
    slow = cone_decomposition(X, D, W)
    assert "clarabel" in slow.raw_status and slow.status == "optimal"
    np.testing.assert_allclose(slow.sharpness, fast.sharpness, rtol=1e-6)
