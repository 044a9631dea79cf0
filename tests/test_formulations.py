"""Objectives of THEORY.md §A2 in numpy: values, gradient, helpers."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_problem

from harness import formulations as F
from harness.errors import InputError


def test_check_data_rejects_bad_input() -> None:
    X = np.ones((4, 2))
    with pytest.raises(InputError, match="same number of rows"):
        F.check_data(X, np.ones(3))
    with pytest.raises(InputError, match="NaN"):
        F.check_data(np.full((4, 2), np.nan), np.ones(4))
    with pytest.raises(InputError, match="2-D"):
        F.check_data(np.ones(4), np.ones(4))
    with pytest.raises(InputError, match="beta"):
        F.check_beta(0.0)
    with pytest.raises(InputError, match="0/1"):
        F.check_patterns(np.full((4, 2), 2), 4)


def test_gated_predict_matches_explicit_sum(rng: np.random.Generator) -> None:
    X = rng.standard_normal((7, 3))
    D = rng.random((7, 5)) > 0.5
    W = rng.standard_normal((3, 5))
    explicit = sum(np.diag(D[:, i]) @ X @ W[:, i] for i in range(5))
    np.testing.assert_allclose(F.gated_predict(X, D, W), explicit, rtol=1e-12)


def test_masked_gram_matches_sum(rng: np.random.Generator) -> None:
    X = rng.standard_normal((6, 2))
    D = rng.random((6, 4)) > 0.5
    S = sum(np.diag(D[:, i]) @ X @ X.T @ np.diag(D[:, i]) for i in range(4))
    np.testing.assert_allclose(F.masked_gram(X, D), S, rtol=1e-12, atol=1e-12)


def test_network_gradient_finite_differences(rng: np.random.Generator) -> None:
    X = rng.standard_normal((10, 3))
    y = rng.standard_normal(10)
    U = rng.standard_normal((3, 4))
    a = rng.standard_normal(4)
    _, gU, ga = F.network_gradient(X, y, U, a, 0.3)
    eps = 1e-6
    for idx in np.ndindex(U.shape):
        E = np.zeros_like(U)
        E[idx] = eps
        fd = (
            F.network_objective(X, y, U + E, a, 0.3) - F.network_objective(X, y, U - E, a, 0.3)
        ) / (2 * eps)
        np.testing.assert_allclose(gU[idx], fd, rtol=1e-5, atol=1e-7)
    for j in range(4):
        e = np.zeros(4)
        e[j] = eps
        fd = (
            F.network_objective(X, y, U, a + e, 0.3) - F.network_objective(X, y, U, a - e, 0.3)
        ) / (2 * eps)
        np.testing.assert_allclose(ga[j], fd, rtol=1e-5, atol=1e-7)


def test_cone_violation_zero_inside_cone(rng: np.random.Generator) -> None:
    X = rng.standard_normal((20, 3))
    H = rng.standard_normal((3, 6))
    D = X @ H >= 0
    assert F.cone_violation(X, D, H) == 0.0  # h_i lies in its own cone K_i
    assert F.cone_violation(X, D, -H) > 0.1


def test_relu_objective_reduces_to_gated() -> None:
    """(3) with ``V = 0`` is (5) at ``W = U`` exactly; in general (3) >= (5) at ``W = U - V``.

    The inequality is the triangle inequality on the group norms: it is strict when some
    ``u_i`` and ``v_i`` are not opposite multiples, an equality when ``v_i = -t u_i``.
    """
    inst, ps = small_problem(0)
    X, y, D = inst.X, inst.y, ps.D
    rng = np.random.default_rng(0)
    U = rng.standard_normal((inst.d, ps.P_unique))
    V = rng.standard_normal((inst.d, ps.P_unique))
    zero = np.zeros_like(U)
    np.testing.assert_allclose(
        F.relu_objective(X, y, D, U, zero, 0.5), F.gated_objective(X, y, D, U, 0.5), rtol=1e-13
    )
    np.testing.assert_allclose(
        F.relu_objective(X, y, D, zero, V, 0.5), F.gated_objective(X, y, D, -V, 0.5), rtol=1e-13
    )
    gap = F.relu_objective(X, y, D, U, V, 0.5) - F.gated_objective(X, y, D, U - V, 0.5)
    penalty_gap = 0.5 * (
        F.group_norms(U).sum() + F.group_norms(V).sum() - F.group_norms(U - V).sum()
    )
    np.testing.assert_allclose(gap, penalty_gap, rtol=1e-12)  # same fit term, larger penalty
    assert gap > 0.1
    np.testing.assert_allclose(  # v_i = -2 u_i: ||u - v|| = ||u|| + ||v||, no gap
        F.relu_objective(X, y, D, U, -2 * U, 0.5), F.gated_objective(X, y, D, 3 * U, 0.5)
    )


def test_dual_bounds_below_any_primal_value(any_seed: int) -> None:
    """Weak duality: the scaled-residual bound never exceeds a feasible objective."""
    inst, ps = small_problem(any_seed)
    rng = np.random.default_rng(any_seed)
    beta = 0.2 * F.beta_max(inst.X, inst.y, ps.D)
    for _ in range(5):
        W = 0.1 * rng.standard_normal((inst.d, ps.P_unique))
        v = inst.y - F.gated_predict(inst.X, ps.D, W)
        lb = F.gated_dual_bound(inst.X, inst.y, ps.D, v, beta)
        assert lb <= F.gated_objective(inst.X, inst.y, ps.D, W, beta) + 1e-12
        # with zero cone multipliers the ReLU bound is the cone-dropped (gated) bound
        np.testing.assert_allclose(F.relu_dual_bound(inst.X, inst.y, ps.D, v, beta), lb)
        assert lb >= 0.0


def test_ridge_closed_form_is_minimum(rng: np.random.Generator) -> None:
    inst, ps = small_problem(3)
    beta = 0.7
    W = F.ridge_weights(inst.X, inst.y, ps.D, beta)
    value = F.ridge_value(inst.X, inst.y, ps.D, beta)
    np.testing.assert_allclose(F.ridge_objective(inst.X, inst.y, ps.D, W, beta), value, rtol=1e-10)
    for _ in range(5):
        Wp = W + 1e-3 * rng.standard_normal(W.shape)
        assert F.ridge_objective(inst.X, inst.y, ps.D, Wp, beta) >= value


def test_beta_max_is_where_zero_becomes_optimal() -> None:
    """``beta_max = max_i ||X^T D_i y||``: above it W = 0 solves (5) and (3), below it not.

    Checked by solving (Clarabel), not by recomputing the formula: at ``1.001 beta_max`` the
    optimum is ``1/2 ||y||^2`` (the value at zero); at ``0.9 beta_max`` it is smaller.
    """
    from harness.solvers.registry import solve

    inst, ps = small_problem(1)
    X, y, D = inst.X, inst.y, ps.D
    bm = F.beta_max(X, y, D)
    at_zero = 0.5 * float(y @ y)
    for problem in ("gated", "relu"):
        above = solve(problem, X, y, D, 1.001 * bm, solver="clarabel", tol=1e-10)
        below = solve(problem, X, y, D, 0.9 * bm, solver="clarabel", tol=1e-10)
        assert above.status == below.status == "optimal"
        np.testing.assert_allclose(above.objective, at_zero, rtol=1e-6)
        assert below.objective < at_zero * (1 - 1e-4), problem
