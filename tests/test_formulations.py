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
    inst, ps = small_problem(0)
    rng = np.random.default_rng(0)
    U = rng.standard_normal((inst.d, ps.P_unique))
    V = rng.standard_normal((inst.d, ps.P_unique))
    assert F.relu_objective(inst.X, inst.y, ps.D, U, V, 0.5) >= F.gated_objective(
        inst.X, inst.y, ps.D, U - V, 0.5
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


def test_beta_max_gives_zero_gradient_condition() -> None:
    inst, ps = small_problem(1)
    bm = F.beta_max(inst.X, inst.y, ps.D)
    G = inst.X.T @ (ps.D * inst.y[:, None])
    assert np.isclose(F.group_norms(G).max(), bm)
