"""Status honesty: every record's status comes from the gap certified in numpy."""

from __future__ import annotations

import numpy as np
import pytest

from harness import formulations as F
from harness.instances import gaussian_instance, make_rng
from harness.patterns import sample_patterns
from harness.solvers.certify import (
    active_columns,
    build_result,
    negligible_norm,
    relative_cone_violation,
)
from harness.solvers.reference import build_relu_problem, run_clarabel
from harness.solvers.registry import solve


def _issue_instance() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # `harness instance --n 40 --d 3` then `harness solve ... --patterns 30 --seed 1`
    inst = gaussian_instance(40, 3, 0, labels="planted", width=5, noise=0.0)
    return inst.X, inst.y, sample_patterns(inst.X, 30, make_rng(1)).D


@pytest.mark.parametrize(("problem", "beta"), [("relu", 1e-8), ("gated", 1e-12)])
def test_clarabel_optimal_with_an_uncertified_gap_is_not_optimal(problem: str, beta: float) -> None:
    # Clarabel says "optimal", but its point is known only to ~1e-5 of the (tiny) optimum:
    # the record must not be usable for verdicts
    X, y, D = _issue_instance()
    res = solve(problem, X, y, D, beta, solver="clarabel", tol=1e-8)
    assert res.raw_status == "optimal"
    assert res.duality_gap is not None
    assert res.duality_gap > 1e-8 * res.objective
    assert res.status == "inaccurate" and not res.ok


def test_claimed_optimal_is_overruled_and_claimed_failure_is_overruled() -> None:
    X, y, D = _issue_instance()
    beta = 0.1 * F.beta_max(X, y, D)
    prob, U, V, cu, cv = build_relu_problem(X, y, D, beta)
    run_clarabel(prob, 1e-10)
    good = {"U": np.asarray(U.value), "V": np.asarray(V.value)}
    kwargs = {
        "solver": "test",
        "method": "test",
        "solver_version": "0",
        "tol": 1e-8,
        "raw_status": "x",
        "n_iter": 1,
        "t_start": 0.0,
        "multipliers": (cu.dual_value, cv.dual_value),
    }
    # a solver that gave up on a point that is in fact optimal: certified optimal
    ok = build_result("relu", X, y, D, beta, good, claimed_status="max_iter", **kwargs)
    assert ok.status == "optimal"
    # a solver that claims optimal at a poor point: not optimal, whatever it says
    poor = {k: 0.9 * v for k, v in good.items()}
    bad = build_result("relu", X, y, D, beta, poor, claimed_status="optimal", **kwargs)
    assert bad.status == "inaccurate" and bad.duality_gap is not None
    assert bad.duality_gap > 1e-8 * bad.objective


@pytest.mark.parametrize("problem", ["relu", "gated"])
@pytest.mark.parametrize("solver", ["clarabel", "fast"])
def test_zero_labels_give_a_clean_zero_solution(problem: str, solver: str) -> None:
    # y = 0: zero is optimal; rounding noise must not show up as active neurons or as a
    # large relative cone violation
    inst = gaussian_instance(60, 4, 3)
    D = sample_patterns(inst.X, 80, make_rng(3)).D
    y = np.zeros(60)
    res = solve(problem, inst.X, y, D, 0.1, solver=solver)
    assert res.ok
    assert res.n_active == 0
    assert res.max_cone_violation == 0.0
    assert res.objective == 0.0
    for W in res.variables.values():
        assert not W.any()


def test_activity_and_violation_are_measured_against_the_certified_resolution(
    rng: np.random.Generator,
) -> None:
    # columns of norm 1e-12 (rounding noise of a zero solution) with a resolution of 1e-9:
    # no active neuron, and their violation is relative to the resolution, not to themselves
    X = rng.standard_normal((30, 3))
    D = X @ rng.standard_normal((3, 6)) >= 0
    noise = 1e-12 * rng.standard_normal((3, 6))
    floor = negligible_norm(1e-8, 0.5, 5.0)
    assert floor == pytest.approx(1e-9)
    assert not active_columns(noise, floor).any()
    assert active_columns(noise, 0.0).sum() >= 5  # what the plain relative rule would say
    assert relative_cone_violation(X, D, noise, floor) <= 1e-2
    assert relative_cone_violation(X, D, noise, 0.0) > 0.05
