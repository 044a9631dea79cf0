"""Program (13) of Ergen & Pilanci 2021 (THEORY.md Part B): arrangements, the vectorised
Clarabel solve, its certified dual bound, the Prop. 1 mapping (proved numerically on 12
random instances), the forward map, and Thm 1's ``p13 <= p5`` on a saturated instance."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from harness.deep.arrangements import (
    covering_blocks,
    sample_arrangements,
    saturate_arrangements,
)
from harness.deep.convex import (
    build_program,
    check_program_memory,
    cone_violation13,
    dual_bound13,
    objective13,
    predict13,
    program_size,
    solve13_reference,
)
from harness.deep.mapping import blocks_to_network, network_to_blocks
from harness.deep.model import objective, predict, random_net, rebalance
from harness.deep.training import train_many
from harness.errors import InputError


def _instance(seed: int, n: int = 16, d: int = 3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    teacher = random_net(2, d, 2, rng)
    y = predict(teacher, X) + 0.1 * rng.standard_normal(n)
    return X, y, rng


def test_sampled_arrangements_are_realisable_and_counted() -> None:
    X, _, rng = _instance(0)
    arr = sample_arrangements(X, 2, 12, 4, rng)
    c = arr.counts()
    assert c["n_blocks"] + c["n_dropped"] <= 12 * 4 and c["P1_unique"] <= 12
    assert arr.D1.shape == (16, c["first_patterns"]) and arr.D2.shape[1] == c["P2_unique"]
    # combinations are distinct and none has identically zero output
    key = np.concatenate([arr.first, arr.second[:, None], arr.signs], axis=1)
    assert np.unique(key, axis=0).shape[0] == arr.n_blocks
    assert np.all(arr.D2[:, arr.second].any(axis=0)) and np.all((arr.signs > 0).any(axis=1))
    with pytest.raises(InputError, match="P2"):
        sample_arrangements(X, 2, 3, 0, rng)


def test_program_size_counts_match_theory() -> None:
    # THEORY.md Part B: about 2 d m1 P1 P2 variables and 2 n (m1 + 1) P1 P2 constraints
    size = program_size(n=10, d=3, m1=2, n_blocks=5 * 4)
    assert size["variables"] == 2 * 3 * 2 * 20
    assert size["constraints"] == 2 * 10 * (2 + 1) * 20
    with pytest.raises(InputError, match=r"would need about .* GB"):
        check_program_memory(n=10_000, d=500, m1=4, n_blocks=10_000, limit_gb=4.0)


def test_cvxpy_model_size_does_not_grow_with_blocks() -> None:
    """Vectorised model: the number of cvxpy constraints/variables is fixed (2 and 1)."""
    X, y, rng = _instance(1)
    for P1 in (3, 12):
        arr = sample_arrangements(X, 2, P1, 3, rng)
        prog = build_program(arr)
        Z = cp.Variable((X.shape[1], prog.G))
        expr = cp.sum(cp.multiply(prog.C, X @ Z), axis=1)
        assert len(expr.variables()) == 1
    res = solve13_reference(X, y, arr, 0.1)
    assert res.ok and res.problem == "deep13"


@pytest.mark.parametrize("seed", range(12))
def test_prop1_mapping_reproduces_convex_optimum(seed: int) -> None:
    """Prop. 1 (derived in harness.deep): (5) at the mapped weights equals p13."""
    X, y, rng = _instance(seed, n=12 + seed, d=2 + seed % 3)
    m1 = 2 + seed % 2
    beta = float(10 ** rng.uniform(-2, -0.5))
    arr = sample_arrangements(X, m1, 8, 3, rng)
    res = solve13_reference(X, y, arr, beta)
    assert res.ok, res.raw_status
    assert res.duality_gap is not None and res.duality_gap <= 1e-6 * max(1.0, res.objective)
    assert res.dual_bound is not None and res.dual_bound <= res.objective + 1e-12
    assert res.max_cone_violation <= 1e-6
    prog = build_program(arr)
    net = blocks_to_network(prog, res.variables["Z"], arr)
    assert np.all(net.frobenius_norms() <= 1 + 1e-12)
    value5 = objective(net, X, y, beta)
    assert abs(value5 - res.objective) <= 1e-6 * max(1.0, res.objective)
    np.testing.assert_allclose(predict(net, X), predict13(prog, X, res.variables["Z"]), atol=1e-5)


def test_dual_bound_is_a_lower_bound_at_any_point() -> None:
    X, y, rng = _instance(20)
    arr = sample_arrangements(X, 2, 6, 3, rng)
    prog = build_program(arr)
    res = solve13_reference(X, y, arr, 0.05)
    for _ in range(5):
        v = rng.standard_normal(X.shape[0])
        assert dual_bound13(prog, X, y, v, 0.05) <= res.objective + 1e-9
    Z = rng.standard_normal(res.variables["Z"].shape)
    assert cone_violation13(prog, X, Z) > 0  # a random point violates the cones


def test_forward_map_gives_feasible_point_with_lower_value() -> None:
    """(5) -> (13): image is cone-feasible and its (13) value is <= the value of (5)."""
    X, y, rng = _instance(21, n=6, d=2)
    arr = saturate_arrangements(X, 2, rng, batch=100)
    prog = build_program(arr)
    covered = 0
    for k in range(6):
        net = random_net(3, 2, 2, np.random.default_rng(k))
        Z, blocks = network_to_blocks(net, X, prog, arr, rtol=1e-9)
        if np.any(blocks == -1):
            continue
        covered += 1
        assert cone_violation13(prog, X, Z) <= 1e-9
        np.testing.assert_allclose(predict13(prog, X, Z), predict(net, X), atol=1e-10)
        assert objective13(prog, X, y, Z, 0.1) <= objective(net, X, y, 0.1) + 1e-12
    assert covered >= 4


def test_training_never_beats_saturated_program() -> None:
    """Thm 1 on a tiny saturated instance: every covered run ends at or above p13."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((5, 2))
    y = rng.standard_normal(5)
    beta = 0.05
    arr = saturate_arrangements(X, 2, rng, batch=200)
    assert arr.method == "saturated"
    res = solve13_reference(X, y, arr, beta)
    assert res.ok
    prog = build_program(arr)
    runs = train_many(
        X,
        y,
        beta,
        4,
        2,
        np.random.SeedSequence(1).spawn(6),
        optimizer="adam",
        lr=1e-2,
        epochs=1500,
    )
    covered = 0
    for run in runs:
        net = rebalance(run.net)
        blocks = covering_blocks(net, X, arr, rtol=1e-7)
        if np.any(blocks == -1):
            continue
        covered += 1
        assert run.final_objective >= res.objective - 1e-6 * res.objective
        Z, _ = network_to_blocks(net, X, prog, arr, rtol=1e-7)
        assert objective13(prog, X, y, Z, beta) >= res.objective - 1e-6 * res.objective
    assert covered >= 4
