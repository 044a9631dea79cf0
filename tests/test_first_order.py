"""Fast first-order solvers (FISTA for (5), augmented Lagrangian for (3)) vs Clarabel."""

from __future__ import annotations

import numpy as np
import pytest

from harness import formulations as F
from harness.errors import InputError
from harness.instances import gaussian_instance, make_rng
from harness.patterns import sample_patterns
from harness.solvers import SolveResult
from harness.solvers.first_order import (
    polish_cones,
    solve_gated_fista,
    solve_path,
    solve_relu_al,
)
from harness.solvers.reference import solve_gated_reference, solve_relu_reference
from harness.solvers.registry import available_solvers, solve

# (seed, n, d, P, labels, beta / beta_max): a fixed catalogue of small random instances
CASES = [
    (0, 20, 2, 10, "planted", 0.9),
    (1, 30, 3, 20, "gaussian", 0.5),
    (2, 40, 4, 25, "planted", 0.3),
    (3, 50, 3, 30, "gaussian", 0.1),
    (4, 60, 6, 40, "planted", 0.05),
    (5, 25, 2, 15, "gaussian", 0.01),
    (6, 40, 5, 20, "planted", 0.9),
    (7, 35, 3, 35, "gaussian", 0.2),
    (8, 45, 4, 30, "planted", 0.01),
    (9, 30, 2, 12, "planted", 1e-3),
    (10, 55, 5, 25, "gaussian", 0.5),
    (11, 20, 3, 40, "planted", 0.05),
]
REL_OBJ = 1e-6  # agreement with Clarabel (tol 1e-8)
TOL = 1e-9  # certified relative gap asked of the fast solvers


def _instance(seed: int, n: int, d: int, P: int, labels: str) -> tuple[np.ndarray, ...]:
    inst = gaussian_instance(n, d, seed, labels=labels, width=4, noise=0.1)
    D = sample_patterns(inst.X, P, make_rng(seed + 100)).D
    return inst.X, inst.y, D


def _check_against_reference(res: SolveResult, ref: SolveResult) -> None:
    assert ref.ok
    assert res.status == "optimal", res.raw_status
    scale = max(1.0, abs(ref.objective))
    np.testing.assert_allclose(res.objective, ref.objective, rtol=REL_OBJ)
    assert res.dual_bound is not None and res.duality_gap is not None
    # certified lower bound: below Clarabel's value, gap never negative beyond rounding
    assert res.dual_bound <= ref.objective + 1e-9 * scale
    assert res.duality_gap >= -1e-12 * scale
    assert res.duality_gap <= TOL * max(1.0, abs(res.objective)) * (1 + 1e-9)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c[0]}-b{c[5]:g}")
def test_gated_fista_matches_clarabel(case: tuple) -> None:
    seed, n, d, P, labels, frac = case
    X, y, D = _instance(seed, n, d, P, labels)
    beta = frac * F.beta_max(X, y, D)
    ref = solve_gated_reference(X, y, D, beta)
    res = solve_gated_fista(X, y, D, beta, tol=TOL)
    _check_against_reference(res, ref)
    assert res.solver == "fista" and res.problem == "gated"
    np.testing.assert_allclose(
        res.objective, F.gated_objective(X, y, D, res.variables["W"], beta), rtol=1e-14
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c[0]}-b{c[5]:g}")
def test_relu_al_matches_clarabel(case: tuple) -> None:
    seed, n, d, P, labels, frac = case
    X, y, D = _instance(seed, n, d, P, labels)
    beta = frac * F.beta_max(X, y, D)
    ref = solve_relu_reference(X, y, D, beta)
    res = solve_relu_al(X, y, D, beta, tol=TOL)
    _check_against_reference(res, ref)
    U, V = res.variables["U"], res.variables["V"]
    assert res.max_cone_violation <= 1e-8
    assert F.cone_violation(X, D, U, V) <= 1e-8
    np.testing.assert_allclose(res.objective, F.relu_objective(X, y, D, U, V, beta), rtol=1e-14)
    # the mapped network (THEORY.md §A2 mapping) reproduces the reported objective
    keep_u, keep_v = F.group_norms(U) > 0, F.group_norms(V) > 0
    nu, nv = np.sqrt(F.group_norms(U)[keep_u]), np.sqrt(F.group_norms(V)[keep_v])
    U_net = np.concatenate([U[:, keep_u] / nu, V[:, keep_v] / nv], axis=1)
    alpha = np.concatenate([nu, -nv])
    np.testing.assert_allclose(
        F.network_objective(X, y, U_net, alpha, beta), res.objective, rtol=1e-9
    )


@pytest.mark.parametrize("problem", ["gated", "relu"])
def test_beta_above_beta_max_gives_zero(problem: str) -> None:
    X, y, D = _instance(3, 30, 3, 20, "planted")
    beta = 1.01 * F.beta_max(X, y, D)
    fn = solve_gated_fista if problem == "gated" else solve_relu_al
    res = fn(X, y, D, beta)
    assert res.ok and res.n_active == 0
    for W in res.variables.values():
        np.testing.assert_array_equal(W, 0.0)
    np.testing.assert_allclose(res.objective, 0.5 * y @ y, rtol=1e-14)
    assert res.duality_gap is not None and abs(res.duality_gap) <= 1e-12 * res.objective


@pytest.mark.parametrize("problem", ["gated", "relu"])
def test_warm_start_along_beta_reduces_iterations(problem: str) -> None:
    X, y, D = _instance(2, 40, 4, 25, "planted")
    bmax = F.beta_max(X, y, D)
    fn = solve_gated_fista if problem == "gated" else solve_relu_al
    # the gated check exercises plain FISTA; the ReLU one the default AL + Newton
    newton = problem == "relu"
    first = fn(X, y, D, 0.2 * bmax, newton=newton)
    cold = fn(X, y, D, 0.19 * bmax, newton=newton)
    warm = fn(X, y, D, 0.19 * bmax, warm_start=first, newton=newton)
    assert cold.ok and warm.ok
    assert warm.n_iter < cold.n_iter
    np.testing.assert_allclose(warm.objective, cold.objective, rtol=1e-7)


@pytest.mark.parametrize("problem", ["gated", "relu"])
def test_warm_start_nested_patterns(problem: str) -> None:
    inst = gaussian_instance(40, 3, 4, labels="planted", width=4, noise=0.1)
    D_big = sample_patterns(inst.X, 30, make_rng(7)).D
    D_small = sample_patterns(inst.X, 15, make_rng(7)).D
    P_small = D_small.shape[1]
    np.testing.assert_array_equal(D_big[:, :P_small], D_small)  # nested: columns appended
    beta = 0.1 * F.beta_max(inst.X, inst.y, D_big)
    fn = solve_gated_fista if problem == "gated" else solve_relu_al
    small = fn(inst.X, inst.y, D_small, beta)
    warm = fn(inst.X, inst.y, D_big, beta, warm_start=small)
    cold = fn(inst.X, inst.y, D_big, beta)
    assert small.ok and warm.ok and cold.ok
    np.testing.assert_allclose(warm.objective, cold.objective, rtol=1e-7)
    # more patterns can only help: p(P_big) <= p(P_small)
    assert warm.objective <= small.objective + 1e-8 * small.objective


@pytest.mark.parametrize("problem", ["gated", pytest.param("relu", marks=pytest.mark.slow)])
def test_solve_path_agrees_with_cold_solves(problem: str) -> None:
    X, y, D = _instance(1, 30, 3, 20, "gaussian")
    bmax = F.beta_max(X, y, D)
    betas = [0.05 * bmax, 0.5 * bmax, 0.2 * bmax, 1.5 * bmax]
    path = solve_path(problem, X, y, D, betas, tol=TOL)
    assert len(path) == len(betas)
    fn = solve_gated_fista if problem == "gated" else solve_relu_al
    for beta, res in zip(betas, path):
        cold = fn(X, y, D, beta, tol=TOL)
        assert res.ok and cold.ok
        np.testing.assert_allclose(res.objective, cold.objective, rtol=1e-7)
    # objective is nondecreasing in beta
    order = np.argsort(betas)
    objs = np.array([path[i].objective for i in order])
    assert np.all(np.diff(objs) >= -1e-9 * objs[1:])


def test_registry_exposes_fast_solvers() -> None:
    assert "fast" in available_solvers("gated") and "fast" in available_solvers("relu")
    X, y, D = _instance(0, 20, 2, 10, "planted")
    beta = 0.3 * F.beta_max(X, y, D)
    g = solve("gated", X, y, D, beta, solver="fast")
    r = solve("relu", X, y, D, beta, solver="fast")
    full = solve("full", X, y, D, beta, solver="fast")
    assert (g.solver, g.problem) == ("fista", "gated")
    assert (r.solver, r.problem) == ("relu_al", "relu")
    assert full.problem == "full" and full.ok
    # the gated relaxation is below the ReLU program (THEORY.md §A2 orderings)
    assert g.objective <= r.objective + 1e-8 * r.objective
    rec = r.to_record()
    assert rec["solver_version"] and rec["stop_reason"] and "multipliers" not in rec


def test_max_iter_status_keeps_valid_bounds() -> None:
    X, y, D = _instance(4, 60, 6, 40, "planted")
    beta = 0.05 * F.beta_max(X, y, D)
    ref = solve_relu_reference(X, y, D, beta)
    for res in (
        solve_gated_fista(X, y, D, beta, max_iter=3, newton=False),
        solve_relu_al(X, y, D, beta, max_iter=3, newton=False),
    ):
        assert res.status == "max_iter" and not res.ok
        assert res.dual_bound is not None and res.dual_bound <= ref.objective + 1e-9
    relu = solve_relu_al(X, y, D, beta, max_iter=3, newton=False)
    # even unconverged, the returned ReLU point is exactly cone-feasible: an upper bound
    assert relu.max_cone_violation <= 1e-10
    assert relu.objective >= ref.objective - 1e-7 * ref.objective


def test_polish_cones_projects_exactly(rng: np.random.Generator) -> None:
    X = rng.standard_normal((40, 4))
    D = X @ rng.standard_normal((4, 6)) >= 0
    W = rng.standard_normal((4, 6))
    Wp = polish_cones(X, D, W)
    assert F.cone_violation(X, D, Wp) <= 1e-12
    assert np.all(F.group_norms(Wp) <= F.group_norms(W) * (1 + 1e-12))
    # a projection: any other feasible point (here 0 and the projection scaled) is farther
    for scale in (0.0, 0.5, 1.5):
        other = scale * Wp
        assert np.all(F.group_norms(W - Wp) <= F.group_norms(W - other) + 1e-12)


def test_bad_options_raise_input_error() -> None:
    X, y, D = _instance(0, 20, 2, 10, "planted")
    with pytest.raises(InputError, match="tol must be"):
        solve_gated_fista(X, y, D, 1.0, tol=0.0)
    with pytest.raises(InputError, match="max_iter must be"):
        solve_relu_al(X, y, D, 1.0, max_iter=0)
    with pytest.raises(InputError, match="warm_start 'W' must have shape"):
        solve_gated_fista(X, y, D, 1.0, warm_start={"W": np.zeros((5, 3))})
    with pytest.raises(InputError, match="problem must be"):
        solve_relu_al(X, y, D, 1.0, problem="gated")
    with pytest.raises(InputError, match="problem must be"):
        solve_path("ridge", X, y, D, [1.0])
