"""Tests of harness.nonconvex: GD/Adam on eq. (1), pattern logs (§A8), restarts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.errors import InputError
from harness.formulations import network_gradient, network_objective, network_predict
from harness.instances import gaussian_instance
from harness.nonconvex import (
    ADAM_BETA1,
    ADAM_BETA2,
    ADAM_EPS,
    TrainResult,
    _Workspace,
    best_objective,
    final_patterns,
    train_network,
    train_restarts,
)


@pytest.fixture(scope="module")
def small() -> tuple[np.ndarray, np.ndarray]:
    inst = gaussian_instance(20, 4, seed=7, labels="planted", width=3)
    return inst.X, inst.y


@pytest.fixture(scope="module")
def tiny() -> tuple[np.ndarray, np.ndarray]:
    inst = gaussian_instance(8, 2, seed=3, labels="planted", width=5)
    return inst.X, inst.y


def _fd_gradient(X, y, U, alpha, beta, h=1e-6):
    """Central finite differences of eq. (1) in every coordinate."""
    gU = np.zeros_like(U)
    ga = np.zeros_like(alpha)
    for idx in np.ndindex(U.shape):
        E = np.zeros_like(U)
        E[idx] = h
        gU[idx] = (
            network_objective(X, y, U + E, alpha, beta)
            - network_objective(X, y, U - E, alpha, beta)
        ) / (2 * h)
    for j in range(alpha.size):
        e = np.zeros_like(alpha)
        e[j] = h
        ga[j] = (
            network_objective(X, y, U, alpha + e, beta)
            - network_objective(X, y, U, alpha - e, beta)
        ) / (2 * h)
    return gU, ga


# --------------------------------------------------------------------------- eq. (1) gradient
@pytest.mark.parametrize("beta", [1e-3, 0.1, 1.0, 10.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_matches_finite_differences(beta: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, d, m = 9, 3, 5
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    U = rng.standard_normal((d, m))
    alpha = rng.standard_normal(m)
    # a random point is a.s. away from the ReLU kinks; make sure the FD step cannot cross one
    assert np.abs(X @ U).min() > 1e-4
    value, gU, ga = network_gradient(X, y, U, alpha, beta)
    np.testing.assert_allclose(value, network_objective(X, y, U, alpha, beta), rtol=1e-14)
    fU, fa = _fd_gradient(X, y, U, alpha, beta)
    scale = max(np.abs(gU).max(), np.abs(ga).max())
    np.testing.assert_allclose(gU, fU, rtol=1e-6, atol=1e-8 * scale)
    np.testing.assert_allclose(ga, fa, rtol=1e-6, atol=1e-8 * scale)


def test_objective_formula_by_hand() -> None:
    # one neuron, two samples: (1) written out by hand
    X = np.array([[1.0, 0.0], [0.0, -1.0]])
    y = np.array([1.0, 2.0])
    U = np.array([[2.0], [1.0]])
    alpha = np.array([3.0])
    beta = 0.5
    # X u = (2, -1) -> relu (2, 0) -> pred (6, 0); residual (5, -2)
    expected = 0.5 * (25 + 4) + 0.25 * (4 + 1 + 9)
    np.testing.assert_allclose(network_objective(X, y, U, alpha, beta), expected, rtol=1e-15)


# --------------------------------------------------------------------------- training
def test_gd_backtracking_is_monotone(small) -> None:
    X, y = small
    res = train_network(X, y, 0.05, 10, np.random.default_rng(0), method="gd", n_steps=400)
    assert res.lr is None and res.method == "gd"
    assert res.losses.shape == (res.n_steps + 1,)
    assert np.all(np.diff(res.losses) <= 0.0)
    assert res.losses[-1] < 0.5 * res.losses[0]
    np.testing.assert_allclose(res.objective, res.losses[-1], rtol=1e-12)
    np.testing.assert_allclose(
        res.objective, network_objective(X, y, res.U, res.alpha, 0.05), rtol=1e-14
    )


def test_adam_reduces_objective(small) -> None:
    X, y = small
    res = train_network(
        X, y, 0.05, 10, np.random.default_rng(0), method="adam", lr=1e-2, n_steps=500
    )
    assert res.method == "adam" and res.lr == 1e-2
    assert np.all(np.isfinite(res.losses))
    assert res.objective < 0.1 * res.losses[0]


def test_fixed_step_gd_matches_manual_updates(small) -> None:
    X, y = small
    rng = np.random.default_rng(5)
    U0 = rng.standard_normal((X.shape[1], 4)) * 0.3
    a0 = rng.standard_normal(4) * 0.3
    lr, beta = 1e-3, 0.2
    res = train_network(X, y, beta, 4, rng, lr=lr, n_steps=3, init=(U0, a0), tol=0.0, gtol=0.0)
    U, a = U0.copy(), a0.copy()
    for _ in range(3):
        _, gU, ga = network_gradient(X, y, U, a, beta)
        U, a = U - lr * gU, a - lr * ga
    np.testing.assert_allclose(res.U, U, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(res.alpha, a, rtol=1e-14, atol=1e-15)
    assert res.n_steps == 3 and res.stop_reason == "max_steps" and not res.converged


def test_fixed_step_gd_with_lr_decay_matches_manual_updates(small) -> None:
    """Step t uses lr / (1 + t / lr_decay); the decay is recorded, the line search ignores it."""
    X, y = small
    rng = np.random.default_rng(5)
    U0 = rng.standard_normal((X.shape[1], 4)) * 0.3
    a0 = rng.standard_normal(4) * 0.3
    lr, beta, tau = 1e-3, 0.2, 2.0
    res = train_network(
        X, y, beta, 4, rng, lr=lr, n_steps=4, init=(U0, a0), tol=0.0, gtol=0.0, lr_decay=tau
    )
    U, a = U0.copy(), a0.copy()
    for t in range(4):
        _, gU, ga = network_gradient(X, y, U, a, beta)
        step = lr / (1.0 + t / tau)
        U, a = U - step * gU, a - step * ga
    np.testing.assert_allclose(res.U, U, rtol=1e-14, atol=1e-15)
    assert res.lr_decay == tau and res.to_record()["lr_decay"] == tau
    ls = train_network(X, y, beta, 4, rng, n_steps=4, init=(U0, a0), lr_decay=tau)
    assert ls.lr is None and ls.lr_decay is None


@pytest.mark.parametrize(("n", "d", "m"), [(20, 4, 7), (60, 5, 300), (9, 12, 40)])
def test_workspace_gradient_matches_reference(n: int, d: int, m: int) -> None:
    """The trainers' memory-lean value and gradient equal network_gradient to rounding,
    including at exact kinks (X u_j = 0 entries get the 1[z > 0] = 0 convention)."""
    rng = np.random.default_rng(n + m)
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    U, a = rng.standard_normal((d, m)), rng.standard_normal(m)
    U[:, 0] = 0.0  # a dead neuron: every entry of X u_0 sits on the kink
    work = _Workspace(X, y, 0.3, m)
    for _ in range(2):  # the second call reuses the buffers
        value, gU, ga = work.value_and_grad(U, a)
        ref_value, ref_gU, ref_ga = network_gradient(X, y, U, a, 0.3)
        assert value == pytest.approx(ref_value, rel=1e-14)
        np.testing.assert_allclose(gU, ref_gU, rtol=1e-12, atol=1e-13 * np.abs(ref_gU).max())
        np.testing.assert_allclose(ga, ref_ga, rtol=1e-12, atol=1e-13 * np.abs(ref_ga).max())
    assert work.norm2(gU, ga) == pytest.approx(np.sqrt(np.sum(gU**2) + ga @ ga), rel=1e-14)


def test_adam_matches_manual_updates(small) -> None:
    """Bias-corrected Adam with the in-place update is the textbook recursion."""
    X, y = small
    rng = np.random.default_rng(8)
    U0 = rng.standard_normal((X.shape[1], 5)) * 0.3
    a0 = rng.standard_normal(5) * 0.3
    lr, beta, tau = 1e-2, 0.1, 3.0
    U0_before = U0.copy()
    res = train_network(
        X,
        y,
        beta,
        5,
        rng,
        method="adam",
        lr=lr,
        n_steps=6,
        init=(U0, a0),
        tol=0.0,
        gtol=0.0,
        lr_decay=tau,
    )
    U, a = U0.copy(), a0.copy()
    mU, vU, ma, va = np.zeros_like(U), np.zeros_like(U), np.zeros_like(a), np.zeros_like(a)
    for t in range(6):
        _, gU, ga = network_gradient(X, y, U, a, beta)
        mU, ma = ADAM_BETA1 * mU + (1 - ADAM_BETA1) * gU, ADAM_BETA1 * ma + (1 - ADAM_BETA1) * ga
        vU, va = (
            ADAM_BETA2 * vU + (1 - ADAM_BETA2) * gU**2,
            ADAM_BETA2 * va + (1 - ADAM_BETA2) * ga**2,
        )
        c1, c2, step = 1 - ADAM_BETA1 ** (t + 1), 1 - ADAM_BETA2 ** (t + 1), lr / (1 + t / tau)
        U = U - step * (mU / c1) / (np.sqrt(vU / c2) + ADAM_EPS)
        a = a - step * (ma / c1) / (np.sqrt(va / c2) + ADAM_EPS)
    np.testing.assert_allclose(res.U, U, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.alpha, a, rtol=1e-12, atol=1e-14)
    assert np.array_equal(U0, U0_before)  # U is updated in place on the trainer's own copy


def test_adam_lr_decay_changes_the_steps(small) -> None:
    X, y = small
    kw = {"method": "adam", "lr": 1e-2, "n_steps": 50, "tol": 0.0, "gtol": 0.0}
    const = train_network(X, y, 0.1, 6, np.random.default_rng(1), **kw)
    slow = train_network(X, y, 0.1, 6, np.random.default_rng(1), lr_decay=5.0, **kw)
    # Adam's update is ~lr per coordinate: the decayed run moves less far from the init
    init = train_network(X, y, 0.1, 6, np.random.default_rng(1), **{**kw, "n_steps": 0})
    assert np.linalg.norm(slow.U - init.U) < np.linalg.norm(const.U - init.U)


def test_init_override_and_default_init_scale(small) -> None:
    X, y = small
    d, m = X.shape[1], 2000
    U0 = np.full((d, 3), 0.1)
    a0 = np.array([1.0, -1.0, 0.5])
    res = train_network(X, y, 0.1, 3, np.random.default_rng(0), n_steps=0, init=(U0, a0))
    np.testing.assert_allclose(res.losses[0], network_objective(X, y, U0, a0, 0.1), rtol=1e-15)
    assert res.init_scale is None
    # default rule: U ~ N(0, 1/d), alpha ~ N(0, 1/m)
    big = train_network(X, y, 0.1, m, np.random.default_rng(1), n_steps=0)
    np.testing.assert_allclose(big.U.std(), 1 / np.sqrt(d), rtol=0.05)
    np.testing.assert_allclose(big.alpha.std(), 1 / np.sqrt(m), rtol=0.05)
    scaled = train_network(X, y, 0.1, m, np.random.default_rng(1), n_steps=0, init_scale=0.2)
    np.testing.assert_allclose(scaled.U.std(), 0.2, rtol=0.05)
    np.testing.assert_allclose(scaled.alpha.std(), 0.2, rtol=0.05)
    assert scaled.init_scale == 0.2


def test_large_beta_converges_to_zero_network(tiny) -> None:
    # beta far above beta_max: the zero network is optimal and GD must certify stopping
    X, y = tiny
    res = train_network(X, y, 50.0, 10, np.random.default_rng(0), n_steps=5000)
    assert res.converged and res.stop_reason in ("tol", "gradient")
    np.testing.assert_allclose(res.objective, 0.5 * y @ y, rtol=1e-6)


def test_divergence_detected(small) -> None:
    X, y = small
    res = train_network(X, y, 0.1, 10, np.random.default_rng(0), lr=10.0, n_steps=500)
    assert res.stop_reason == "diverged" and not res.converged
    assert not np.isfinite(res.losses[-1]) and res.n_steps < 500
    assert not np.isfinite(res.objective)
    ok = train_network(X, y, 0.1, 10, np.random.default_rng(0), n_steps=20)
    assert best_objective([res, ok]) == ok.objective
    assert np.isnan(best_objective([res]))


def test_final_objective_below_init_and_wide_net_fits(tiny) -> None:
    X, y = tiny
    for seed in range(3):
        res = train_network(X, y, 1e-4, 50, np.random.default_rng(seed), n_steps=1500)
        assert res.objective <= res.losses[0]
        rel = np.linalg.norm(network_predict(X, res.U, res.alpha) - y) / np.linalg.norm(y)
        assert rel < 0.02


# --------------------------------------------------------------------------- determinism
def test_same_seed_identical(small) -> None:
    X, y = small
    kw = dict(method="adam", lr=1e-2, n_steps=50, record_patterns_at=[10, 50])
    a = train_network(X, y, 0.1, 6, np.random.default_rng(42), **kw)
    b = train_network(X, y, 0.1, 6, np.random.default_rng(42), **kw)
    c = train_network(X, y, 0.1, 6, np.random.default_rng(43), **kw)
    for field in ("U", "alpha", "losses"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.pattern_log.keys() == b.pattern_log.keys()
    for t in a.pattern_log:
        np.testing.assert_array_equal(a.pattern_log[t], b.pattern_log[t])
    assert not np.array_equal(a.U, c.U)


def test_restarts_independent_of_n_jobs(small) -> None:
    X, y = small
    seed = np.random.SeedSequence(123)
    kw = dict(n_steps=60, record_patterns_at=[30])
    r1 = train_restarts(X, y, 0.1, 5, seed, n_restarts=3, n_jobs=1, **kw)
    r2 = train_restarts(X, y, 0.1, 5, seed, n_restarts=3, n_jobs=2, **kw)
    r3 = train_restarts(X, y, 0.1, 5, seed, n_restarts=3, n_jobs=1, **kw)  # seed not consumed
    assert len(r1) == len(r2) == 3 and all(isinstance(r, TrainResult) for r in r2)
    for a, b, c in zip(r1, r2, r3):
        for field in ("U", "alpha", "losses"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
            np.testing.assert_array_equal(getattr(a, field), getattr(c, field))
        np.testing.assert_array_equal(a.pattern_log[30], b.pattern_log[30])
    # restart k uses seed.spawn(3)[k]
    child = np.random.SeedSequence(123).spawn(3)[1]
    direct = train_network(X, y, 0.1, 5, np.random.default_rng(child), **kw)
    np.testing.assert_array_equal(direct.U, r1[1].U)
    assert not np.array_equal(r1[0].U, r1[1].U)
    assert best_objective(r1) == min(r.objective for r in r1)


# --------------------------------------------------------------------------- patterns (§A8)
def test_pattern_log_and_fractions(small) -> None:
    X, y = small
    n, m = X.shape[0], 8
    res = train_network(
        X, y, 0.05, m, np.random.default_rng(3), lr=5e-3, n_steps=200,
        record_patterns_at=[50, 200, 10_000], tol=0.0,
    )  # fmt: skip
    assert sorted(res.pattern_log) == [0, 50, 200]  # step 0 added, unreached step dropped
    for D in res.pattern_log.values():
        assert D.shape == (n, m) and D.dtype == np.bool_
    np.testing.assert_array_equal(res.pattern_log[200], final_patterns(X, res.U))
    steps, fn, fe = res.pattern_fractions()
    np.testing.assert_array_equal(steps, [0, 50, 200])
    assert fn.shape == fe.shape == (3,)
    assert fn[0] == 1.0 and fe[0] == 1.0
    assert np.all((fn >= 0) & (fn <= 1)) and np.all((fe >= 0) & (fe <= 1))
    assert np.all(fn <= fe + 1e-15)  # a preserved neuron preserves all its entries
    # brute-force oracle of §A8's definitions
    D0 = res.pattern_log[0]
    for k, t in enumerate(steps):
        Dt = res.pattern_log[int(t)]
        neuron = np.mean([np.array_equal(Dt[:, j], D0[:, j]) for j in range(m)])
        entry = np.mean([[Dt[i, j] == D0[i, j] for j in range(m)] for i in range(n)])
        np.testing.assert_allclose(fn[k], neuron, rtol=0, atol=1e-15)
        np.testing.assert_allclose(fe[k], entry, rtol=0, atol=1e-15)
    assert fe[-1] < 1.0  # training at this step size does move some hyperplanes


def test_patterns_all_and_frozen_weights(small) -> None:
    X, y = small
    res = train_network(
        X, y, 0.1, 4, np.random.default_rng(0), lr=0.0, n_steps=25, record_patterns_at="all",
        tol=0.0,
    )  # fmt: skip
    assert sorted(res.pattern_log) == list(range(res.n_steps + 1))
    steps, fn, fe = res.pattern_fractions()
    np.testing.assert_array_equal(fn, np.ones(res.n_steps + 1))
    np.testing.assert_array_equal(fe, np.ones(res.n_steps + 1))
    np.testing.assert_array_equal(res.losses, np.full(res.n_steps + 1, res.losses[0]))

    zero = train_network(X, y, 0.1, 4, np.random.default_rng(0), n_steps=0, record_patterns_at=[])
    assert zero.n_steps == 0 and zero.losses.shape == (1,) and list(zero.pattern_log) == [0]
    steps, fn, fe = zero.pattern_fractions()
    assert steps.tolist() == [0] and fn.tolist() == [1.0] and fe.tolist() == [1.0]

    none = train_network(X, y, 0.1, 4, np.random.default_rng(0), n_steps=5)
    assert none.pattern_log == {}
    with pytest.raises(InputError, match="record_patterns_at"):
        none.pattern_fractions()


def test_to_record_is_json(small) -> None:
    X, y = small
    res = train_network(X, y, 0.1, 3, np.random.default_rng(0), n_steps=5)
    rec = res.to_record()
    json.dumps(rec)
    assert rec["width"] == 3 and rec["n_steps"] == 5 and rec["stop_reason"] == res.stop_reason


# --------------------------------------------------------------------------- input errors
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "sgd"}, "method must be one of"),
        ({"lr": -1.0}, "lr must be"),
        ({"n_steps": -1}, "n_steps must be"),
        ({"init_scale": 0.0}, "init_scale"),
        ({"lr_decay": 0.0}, "lr_decay"),
        ({"lr_decay": -1.0}, "lr_decay"),
        ({"record_patterns_at": "some"}, "record_patterns_at"),
        ({"record_patterns_at": [1, -2]}, "record_patterns_at"),
        ({"init": (np.zeros((2, 2)), np.zeros(2))}, "init must have shapes"),
    ],
)
def test_bad_arguments(small, kwargs, match) -> None:
    X, y = small
    with pytest.raises(InputError, match=match):
        train_network(X, y, 0.1, 3, np.random.default_rng(0), **kwargs)


def test_bad_beta_width_seed(small) -> None:
    X, y = small
    with pytest.raises(InputError, match="beta"):
        train_network(X, y, 0.0, 3, np.random.default_rng(0))
    with pytest.raises(InputError, match="width"):
        train_network(X, y, 0.1, 0, np.random.default_rng(0))
    with pytest.raises(InputError, match="seed"):
        train_restarts(X, y, 0.1, 3, 0, n_restarts=2)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="n_restarts"):
        train_restarts(X, y, 0.1, 3, np.random.SeedSequence(0), n_restarts=0)
