"""Training of the non-convex network (5) with SGD + momentum or Adam (THEORY.md Part B).

Full-batch (``batch_size=None``) or mini-batch (a fresh permutation per epoch); after each
step ``W_1k`` is projected onto ``||W_1k||_F <= 1``. The full objective (5) is logged after
every epoch with the wall time since the start of the run (Fig. 4 plots it). Several
initialisations run in parallel with joblib (:func:`train_many`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed

from harness.deep.model import FloatArray, ParallelNet, gradient, objective, project, random_net
from harness.errors import InputError

OPTIMIZERS = ("sgd", "adam")
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


@dataclass(frozen=True)
class TrainRun:
    """One training run: final weights, logged epochs, objectives (5) and wall times."""

    net: ParallelNet
    epochs: np.ndarray
    objectives: FloatArray
    times: FloatArray
    status: str  # "ok" or "diverged"
    optimizer: str
    lr: float
    monitor: FloatArray = field(default_factory=lambda: np.zeros(0))

    @property
    def final_objective(self) -> float:
        return float(self.objectives[-1]) if self.status == "ok" else float("nan")


def _as_arrays(net: ParallelNet) -> list[FloatArray]:
    return [net.W1, net.w2, net.w3]


def train(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    net0: ParallelNet,
    *,
    optimizer: str = "sgd",
    lr: float = 1e-2,
    momentum: float = 0.9,
    epochs: int = 100,
    batch_size: int | None = None,
    rng: np.random.Generator | None = None,
    monitor: Callable[[ParallelNet], float] | None = None,
) -> TrainRun:
    """Train (5) from ``net0`` (projected first) for ``epochs`` epochs.

    Parameters
    ----------
    optimizer : {"sgd", "adam"}
        SGD with heavy-ball ``momentum`` or Adam (betas 0.9, 0.999).
    batch_size : int or None
        ``None`` is full batch; otherwise mini-batches (gradient scaled by ``n / batch``).
    rng : Generator
        Needed for mini-batches (the permutation of each epoch).
    monitor : callable, optional
        ``monitor(net) -> float`` evaluated at every logged epoch (e.g. test accuracy);
        its time is not counted in ``times``.
    """
    if optimizer not in OPTIMIZERS:
        raise InputError(f"optimizer must be one of {list(OPTIMIZERS)}; got {optimizer!r}")
    if not lr > 0:
        raise InputError(f"lr must be > 0; got {lr!r}")
    n = X.shape[0]
    bs = n if batch_size is None else min(int(batch_size), n)
    if bs < 1:
        raise InputError(f"batch_size must be >= 1; got {batch_size!r}")
    if bs < n and rng is None:
        raise InputError("mini-batch training needs rng")
    net = project(net0)
    params = _as_arrays(net)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    step = 0
    logged_epochs = [0]
    objs = [objective(net, X, y, beta)]
    mons = [] if monitor is None else [monitor(net)]
    t0 = time.perf_counter()
    paused = 0.0
    times = [0.0]
    status = "ok"
    for epoch in range(1, epochs + 1):
        order = np.arange(n) if bs == n else rng.permutation(n)  # type: ignore[union-attr]
        for start in range(0, n, bs):
            idx = order[start : start + bs]
            _, g = gradient(ParallelNet(*params), X[idx], y[idx], beta, n / idx.size)
            grads = _as_arrays(g)
            step += 1
            if optimizer == "sgd":
                for j in range(3):
                    m[j] = momentum * m[j] + grads[j]
                    params[j] = params[j] - lr * m[j]
            else:
                b1, b2 = ADAM_BETAS
                for j in range(3):
                    m[j] = b1 * m[j] + (1 - b1) * grads[j]
                    v[j] = b2 * v[j] + (1 - b2) * grads[j] ** 2
                    mhat = m[j] / (1 - b1**step)
                    vhat = v[j] / (1 - b2**step)
                    params[j] = params[j] - lr * mhat / (np.sqrt(vhat) + ADAM_EPS)
            params = _as_arrays(project(ParallelNet(*params)))
        value = objective(ParallelNet(*params), X, y, beta)
        logged_epochs.append(epoch)
        objs.append(value)
        times.append(time.perf_counter() - t0 - paused)
        if monitor is not None:
            t_mon = time.perf_counter()
            mons.append(monitor(ParallelNet(*params)))
            paused += time.perf_counter() - t_mon
        if not np.isfinite(value) or value > 1e6 * max(objs[0], 1.0):
            status = "diverged"
            break
    return TrainRun(
        ParallelNet(*params),
        np.asarray(logged_epochs),
        np.asarray(objs, dtype=float),
        np.asarray(times, dtype=float),
        status,
        optimizer,
        float(lr),
        np.asarray(mons, dtype=float),
    )


def train_many(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    K: int,
    m1: int,
    seeds: list[np.random.SeedSequence],
    *,
    n_jobs: int = 1,
    init_scale: float = 1.0,
    **kwargs: object,
) -> list[TrainRun]:
    """One run per seed (random init from the seed, then :func:`train`), joblib-parallel."""

    def one(ss: np.random.SeedSequence) -> TrainRun:
        rng = np.random.default_rng(ss)
        net0 = random_net(K, X.shape[1], m1, rng, init_scale)
        return train(X, y, beta, net0, rng=rng, **kwargs)  # type: ignore[arg-type]

    if n_jobs == 1:
        return [one(s) for s in seeds]
    return list(Parallel(n_jobs=n_jobs)(delayed(one)(s) for s in seeds))
