"""Exact p* by enumeration: orderings of THEORY.md §A2 and agreement with non-convex GD."""

from __future__ import annotations

import numpy as np
import pytest

from harness import formulations as F
from harness.instances import gaussian_instance, make_rng
from harness.mapping import convex_to_network
from harness.nonconvex import best_objective, train_restarts
from harness.patterns import enumerate_pattern_set, sample_patterns
from harness.solvers.reference import solve_gated_reference, solve_relu_reference


def _problem(seed: int, n: int = 20, d: int = 2) -> tuple[np.ndarray, np.ndarray, float]:
    inst = gaussian_instance(n, d, seed, labels="planted", width=3, noise=0.2)
    D_all = enumerate_pattern_set(inst.X).D
    beta = 0.05 * F.beta_max(inst.X, inst.y, D_all)
    return inst.X, inst.y, beta


@pytest.mark.parametrize("seed", range(4))
def test_orderings_with_exact_pstar(seed: int) -> None:
    """p_u <= p* <= p~* and p_u <= p~_u <= p~* (P2), all as certified solves."""
    X, y, beta = _problem(seed, n=24, d=3)
    D_all = enumerate_pattern_set(X).D
    D_smp = sample_patterns(X, 15, make_rng(seed)).D
    p_star = solve_relu_reference(X, y, D_all, beta, problem="full")
    p_u = solve_gated_reference(X, y, D_all, beta)
    p_relax = solve_relu_reference(X, y, D_smp, beta)
    p_relax_u = solve_gated_reference(X, y, D_smp, beta)
    for res in (p_star, p_u, p_relax, p_relax_u):
        assert res.ok
    tol = 1e-6 * p_star.objective
    assert p_u.objective <= p_star.objective + tol
    assert p_star.objective <= p_relax.objective + tol
    assert p_u.objective <= p_relax_u.objective + tol
    assert p_relax_u.objective <= p_relax.objective + tol
    # the certified dual bound of the full program is a lower bound on p*
    assert p_star.dual_bound is not None and p_star.dual_bound <= p_star.objective


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_full_program_matches_best_gd_and_gd_never_below(seed: int) -> None:
    """p* from `full` equals the best of many long GD runs (d=2), which never go below it."""
    X, y, beta = _problem(seed, n=12, d=2)
    D_all = enumerate_pattern_set(X).D
    full = solve_relu_reference(X, y, D_all, beta, problem="full")
    assert full.ok
    ss = np.random.SeedSequence(100 + seed)
    gd = train_restarts(X, y, beta, 40, ss, n_restarts=4, n_steps=6000)
    # full-batch Adam gets past the ReLU kinks where backtracking GD stalls
    adam = train_restarts(X, y, beta, 40, ss, n_restarts=6, n_steps=15000, method="adam", lr=1e-2)
    runs = gd + adam
    values = np.array([r.objective for r in runs])
    # GD gives feasible networks: never below the global optimum (up to solver tolerance)
    assert np.all(values >= full.objective * (1 - 1e-6))
    np.testing.assert_allclose(best_objective(runs), full.objective, rtol=1e-3)
    # and the optimum itself is attained by the mapped network
    U_net, alpha = convex_to_network(full.variables["U"], full.variables["V"])
    np.testing.assert_allclose(
        F.network_objective(X, y, U_net, alpha, beta), full.objective, rtol=1e-6
    )
