"""Reference solver (cvxpy + Clarabel): records, certificates, orderings, mapping."""

from __future__ import annotations

import time

import cvxpy as cp
import numpy as np
import pytest
from conftest import small_problem

from harness import formulations as F
from harness.instances import gaussian_instance, make_rng
from harness.mapping import cone_decomposition, convex_to_network, gated_to_network
from harness.patterns import sample_patterns
from harness.solvers import SolveResult
from harness.solvers.reference import solve_gated_reference, solve_relu_reference
from harness.solvers.registry import available_solvers, solve


def test_result_record_fields() -> None:
    inst, ps = small_problem(0)
    beta = 0.1 * F.beta_max(inst.X, inst.y, ps.D)
    res = solve_relu_reference(inst.X, inst.y, ps.D, beta)
    assert isinstance(res, SolveResult) and res.ok
    rec = res.to_record()
    for key in (
        "objective",
        "status",
        "solver",
        "solver_version",
        "n_iter",
        "time_s",
        "tol",
        "max_cone_violation",
        "n_active",
        "duality_gap",
        "n_patterns",
    ):
        assert key in rec
    assert rec["solver"] == "clarabel" and rec["n_iter"] > 0
    # objective is recomputed by numpy and agrees with the solver's own value
    np.testing.assert_allclose(res.objective, res.solver_objective, rtol=1e-7)
    assert res.max_cone_violation < 1e-7


def test_certified_gap_is_small_and_valid(any_seed: int) -> None:
    inst, ps = small_problem(any_seed)
    beta = 0.05 * F.beta_max(inst.X, inst.y, ps.D)
    for res in (
        solve_relu_reference(inst.X, inst.y, ps.D, beta),
        solve_gated_reference(inst.X, inst.y, ps.D, beta),
    ):
        assert res.duality_gap is not None and res.dual_bound is not None
        assert res.duality_gap >= -1e-9 * max(1.0, res.objective)
        assert res.duality_gap <= 1e-5 * max(1.0, res.objective)


def test_orderings_gated_below_relu(any_seed: int) -> None:
    """p~_u <= p~* on the same patterns (THEORY.md §A2 orderings)."""
    inst, ps = small_problem(any_seed)
    beta = 0.1 * F.beta_max(inst.X, inst.y, ps.D)
    p_relu = solve_relu_reference(inst.X, inst.y, ps.D, beta).objective
    p_gated = solve_gated_reference(inst.X, inst.y, ps.D, beta).objective
    assert p_gated <= p_relu + 1e-7 * max(1.0, p_relu)


def test_monotone_in_nested_patterns(any_seed: int) -> None:
    """p~*(P) and p~_u(P) are non-increasing on nested pattern sets (P3)."""
    inst = gaussian_instance(30, 3, any_seed, noise=0.1)
    beta = 0.1 * np.linalg.norm(inst.X, 2) * np.linalg.norm(inst.y) * 0.05
    prev_relu = prev_gated = np.inf
    prev_D = None
    for P in (4, 10, 25, 60):
        D = sample_patterns(inst.X, P, make_rng(any_seed + 7)).D
        if prev_D is not None:
            np.testing.assert_array_equal(D[:, : prev_D.shape[1]], prev_D)  # nested prefix
        r = solve_relu_reference(inst.X, inst.y, D, beta).objective
        g = solve_gated_reference(inst.X, inst.y, D, beta).objective
        assert r <= prev_relu + 1e-7 * max(1.0, r)
        assert g <= prev_gated + 1e-7 * max(1.0, g)
        prev_relu, prev_gated, prev_D = r, g, D


def test_beta_above_beta_max_gives_zero() -> None:
    inst, ps = small_problem(2)
    beta = 1.01 * F.beta_max(inst.X, inst.y, ps.D)
    g = solve_gated_reference(inst.X, inst.y, ps.D, beta)
    r = solve_relu_reference(inst.X, inst.y, ps.D, beta)
    half = 0.5 * float(inst.y @ inst.y)
    np.testing.assert_allclose(g.objective, half, rtol=1e-6)
    np.testing.assert_allclose(r.objective, half, rtol=1e-6)
    assert np.abs(g.variables["W"]).max() < 1e-5


def test_mapping_reproduces_relu_objective(any_seed: int) -> None:
    """P14: objective (1) at the mapped weights equals the convex optimum."""
    inst, ps = small_problem(any_seed)
    beta = 0.1 * F.beta_max(inst.X, inst.y, ps.D)
    res = solve_relu_reference(inst.X, inst.y, ps.D, beta)
    U_net, alpha = convex_to_network(res.variables["U"], res.variables["V"])
    value = F.network_objective(inst.X, inst.y, U_net, alpha, beta)
    np.testing.assert_allclose(value, res.objective, rtol=1e-6)


def test_gated_mapping_bounded_by_sharpness(any_seed: int) -> None:
    """Decomposed gated solution: p~_u <= mapped value <= max C * p~_u (Prop 4.2) and >= p~*."""
    inst, ps = small_problem(any_seed)
    beta = 0.1 * F.beta_max(inst.X, inst.y, ps.D)
    g = solve_gated_reference(inst.X, inst.y, ps.D, beta)
    U_net, alpha, dec = gated_to_network(inst.X, ps.D, g.variables["W"])
    assert dec.status == "optimal"
    mapped = F.network_objective(inst.X, inst.y, U_net, alpha, beta)
    relu = solve_relu_reference(inst.X, inst.y, ps.D, beta).objective
    C = np.nanmax(dec.sharpness)
    assert C >= 1 - 1e-6
    assert mapped >= relu - 1e-6 * relu  # a feasible point of (3)
    assert mapped <= C * g.objective * (1 + 1e-6)


def test_cone_decomposition_trivial_inside_cone(rng: np.random.Generator) -> None:
    X = rng.standard_normal((15, 3))
    H = rng.standard_normal((3, 4))
    D = X @ H >= 0
    dec = cone_decomposition(X, D, H)
    np.testing.assert_allclose(dec.sharpness, 1.0, atol=1e-6)


def test_registry_dispatch_and_errors() -> None:
    from harness.errors import InputError, SolverError

    inst, ps = small_problem(0)
    assert "clarabel" in available_solvers("relu")
    res = solve("gated", inst.X, inst.y, ps.D, 0.5)
    assert res.problem == "gated"
    with pytest.raises(InputError, match="formulation must be one of"):
        solve("bogus", inst.X, inst.y, ps.D, 0.5)
    with pytest.raises(SolverError, match="solver must be one of"):
        solve("relu", inst.X, inst.y, ps.D, 0.5, solver="nope")


def _tree_size(expr: object) -> int:
    args = getattr(expr, "args", [])
    return 1 + sum(_tree_size(a) for a in args)


def test_formulation_size_independent_of_patterns() -> None:
    """Vectorised models: the cvxpy expression tree does not grow with P (no per-pattern loop)."""
    from harness.solvers.reference import build_gated_problem, build_relu_problem

    inst = gaussian_instance(60, 5, 0)
    sizes = []
    for P in (5, 200):
        D = sample_patterns(inst.X, P, make_rng(0)).D
        prob = build_relu_problem(inst.X, inst.y, D, 0.5)[0]
        gprob = build_gated_problem(inst.X, inst.y, D, 0.5)[0]
        sizes.append(
            (len(prob.constraints), _tree_size(prob.objective), _tree_size(gprob.objective))
        )
    assert sizes[0] == sizes[1]
    t0 = time.perf_counter()
    prob.get_problem_data(cp.CLARABEL)
    # informational only (timings are benchmarks, not tests)
    print(f"compile time P={D.shape[1]}: {time.perf_counter() - t0:.3f}s")


def test_ridge_closed_form_equals_cvxpy(any_seed: int) -> None:
    """Thm 3.4: beta/2 y^T (S + beta I)^{-1} y equals the Clarabel solve of (11)."""
    from harness.solvers.reference import solve_ridge_reference

    inst, ps = small_problem(any_seed)
    for beta in (0.01, 1.0, 10.0):
        res = solve_ridge_reference(inst.X, inst.y, ps.D, beta)
        assert res.ok
        np.testing.assert_allclose(
            res.objective, F.ridge_value(inst.X, inst.y, ps.D, beta), rtol=1e-6
        )
