"""The penalised program (16) (THEORY.md Part B): gradient against finite differences,
Adam decreases it, and the reported (5) value is that of the Prop. 1 network."""

from __future__ import annotations

import numpy as np
import pytest

from harness.deep.arrangements import sample_arrangements
from harness.deep.convex import aggregate_matrix, build_program, cone_violation13, objective13
from harness.deep.mapping import blocks_to_network
from harness.deep.model import objective
from harness.deep.penalized import _rows_terms, penalized_objective, train_penalized
from harness.errors import InputError


def _setup(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((14, 3))
    y = rng.standard_normal(14)
    arr = sample_arrangements(X, 2, 5, 2, rng)
    return X, y, arr, rng


@pytest.mark.parametrize("seed", [0, 1])
def test_row_terms_gradient_matches_finite_differences(seed: int) -> None:
    X, y, arr, rng = _setup(seed)
    prog = build_program(arr)
    agg = aggregate_matrix(prog)
    Z = rng.standard_normal((3, prog.G))
    rows = np.arange(X.shape[0])
    _, g = _rows_terms(prog, X, y, Z, rows, 0.7, agg)
    num = np.zeros_like(Z)
    eps = 1e-6
    for idx in np.ndindex(Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[idx] += eps
        Zm[idx] -= eps
        num[idx] = (
            _rows_terms(prog, X, y, Zp, rows, 0.7, agg)[0]
            - _rows_terms(prog, X, y, Zm, rows, 0.7, agg)[0]
        ) / (2 * eps)
    assert np.max(np.abs(num - g)) <= 1e-5 * max(1.0, np.max(np.abs(g)))


def test_penalized_equals_13_on_feasible_points() -> None:
    X, y, arr, rng = _setup(2)
    prog = build_program(arr)
    Z = rng.standard_normal((3, prog.G))
    assert penalized_objective(prog, X, y, Z, 0.1, 1.0) > objective13(prog, X, y, Z, 0.1)
    zero = np.zeros_like(Z)
    assert penalized_objective(prog, X, y, zero, 0.1, 1.0) == objective13(prog, X, y, zero, 0.1)


def test_adam_on_16_decreases_and_reports_mapped_value() -> None:
    X, y, arr, rng = _setup(3)
    run = train_penalized(X, y, arr, 0.1, 1.0, lr=1e-2, epochs=40, batch_size=7, rng=rng)
    assert run.status == "ok"
    assert run.objectives16[-1] < run.objectives16[0]
    prog = build_program(arr)
    net = blocks_to_network(prog, run.Z, arr)
    assert run.objective5 == pytest.approx(objective(net, X, y, 0.1))
    assert run.cone_violation == pytest.approx(cone_violation13(prog, X, run.Z))
    assert np.all(net.frobenius_norms() <= 1 + 1e-12)
    with pytest.raises(InputError):
        train_penalized(X, y, arr, 0.1, 0.0, rng=rng)
