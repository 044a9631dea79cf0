"""Problem (5) of Ergen & Pilanci 2021 (THEORY.md Part B): gradients against finite
differences, projection, Lemma 1 rescaling, and the training loops."""

from __future__ import annotations

import numpy as np
import pytest

from harness.deep.model import (
    ParallelNet,
    gradient,
    objective,
    predict,
    project,
    random_net,
    rebalance,
    regularizer,
)
from harness.deep.training import train, train_many
from harness.errors import InputError


def _problem(seed: int, n: int = 15, d: int = 4, K: int = 3, m1: int = 2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    net = random_net(K, d, m1, rng)
    return X, y, net


def _fd(fun, arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    out = np.zeros_like(arr)
    for idx in np.ndindex(arr.shape):
        old = arr[idx]
        arr[idx] = old + eps
        plus = fun()
        arr[idx] = old - eps
        minus = fun()
        arr[idx] = old
        out[idx] = (plus - minus) / (2 * eps)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("loss_scale", [1.0, 3.0])
def test_gradient_matches_central_differences(seed: int, loss_scale: float) -> None:
    X, y, net = _problem(seed)
    beta = 0.07
    W1, w2, w3 = net.W1.copy(), net.w2.copy(), net.w3.copy()

    def value() -> float:
        return gradient(ParallelNet(W1, w2, w3), X, y, beta, loss_scale)[0]

    val, g = gradient(ParallelNet(W1, w2, w3), X, y, beta, loss_scale)
    if loss_scale == 1.0:
        assert val == pytest.approx(objective(net, X, y, beta), rel=1e-12)
    for analytic, arr in ((g.W1, W1), (g.w2, w2), (g.w3, w3)):
        numeric = _fd(value, arr)
        assert np.max(np.abs(numeric - analytic)) <= 1e-6 * max(1.0, np.max(np.abs(analytic)))


def test_forward_and_objective_by_hand() -> None:
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -2.0]])
    W1 = np.array([[[1.0, 0.0], [0.0, 1.0]]])  # one sub-network, identity first layer
    net = ParallelNet(W1, np.array([[1.0, -1.0]]), np.array([2.0]))
    # (X W1)_+ = [[1,0],[0,1],[1,0]]; times w2 = [1,-1,1]; relu -> [1,0,1]; times 2
    np.testing.assert_allclose(predict(net, X), [2.0, 0.0, 2.0])
    y = np.array([1.0, 1.0, 1.0])
    assert objective(net, X, y, 0.5) == pytest.approx(0.5 * 3 + 0.25 * (2 + 4))


def test_projection_onto_frobenius_ball() -> None:
    rng = np.random.default_rng(3)
    net = ParallelNet(rng.standard_normal((4, 3, 2)) * 3, np.ones((4, 2)), np.ones(4))
    net.W1[0] *= 0.01  # inside the ball: unchanged
    p = project(net)
    assert np.all(p.frobenius_norms() <= 1 + 1e-12)
    np.testing.assert_allclose(p.W1[0], net.W1[0])
    np.testing.assert_allclose(p.frobenius_norms()[1:], 1.0)


def test_rebalance_keeps_output_and_lowers_penalty() -> None:
    X, _y, net = _problem(4)
    reb = rebalance(net)
    np.testing.assert_allclose(predict(reb, X), predict(net, X), atol=1e-12)
    lemma1 = float(np.sum(np.linalg.norm(net.w2, axis=1) * np.abs(net.w3)))
    assert regularizer(reb, 1.0) == pytest.approx(lemma1, rel=1e-12)
    assert regularizer(reb, 1.0) <= regularizer(net, 1.0) + 1e-12


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("batch", [None, 4])
def test_training_decreases_objective_and_stays_feasible(optimizer: str, batch: int | None) -> None:
    X, y, net = _problem(5, n=20)
    lr = 1e-2 if optimizer == "adam" else 2e-3
    run = train(
        X,
        y,
        0.05,
        net,
        optimizer=optimizer,
        lr=lr,
        epochs=60,
        batch_size=batch,
        rng=np.random.default_rng(0),
    )
    assert run.status == "ok"
    assert run.objectives[-1] < run.objectives[0]
    assert np.all(run.net.frobenius_norms() <= 1 + 1e-12)
    assert np.all(np.diff(run.times) >= 0) and run.times.size == run.epochs.size
    assert run.final_objective == pytest.approx(objective(run.net, X, y, 0.05))


def test_train_many_is_reproducible_and_parallel_equals_serial() -> None:
    X, y, _ = _problem(6)
    seeds = np.random.SeedSequence(11).spawn(3)
    a = train_many(X, y, 0.05, 2, 2, seeds, optimizer="adam", lr=1e-2, epochs=20)
    b = train_many(X, y, 0.05, 2, 2, seeds, optimizer="adam", lr=1e-2, epochs=20, n_jobs=2)
    np.testing.assert_allclose([r.final_objective for r in a], [r.final_objective for r in b])


def test_bad_training_arguments() -> None:
    X, y, net = _problem(7)
    with pytest.raises(InputError, match="optimizer"):
        train(X, y, 0.1, net, optimizer="lbfgs")
    with pytest.raises(InputError, match="lr"):
        train(X, y, 0.1, net, lr=0.0)
    with pytest.raises(InputError, match="rng"):
        train(X, y, 0.1, net, batch_size=3)
    with pytest.raises(InputError, match="shapes"):
        ParallelNet(np.zeros((2, 3, 2)), np.zeros((2, 3)), np.zeros(2))
