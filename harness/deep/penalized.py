"""The penalised program (16) (THEORY.md Part B) optimised with Adam by mini-batches.

``1/2 ||pred13(Z) - y||^2 + beta sum_g ||u_g|| + rho sum [(-S1 * XZ)_+ + (-S2 * pre2)_+]``
(hinge penalty on the cone violations of (13); [RECON] form). A mini-batch of rows scales
its row terms by ``n / batch``. After training we report the value of (16), the largest
relative cone violation, the value of (13) at the same ``Z`` and the value of (5) at the
Prop. 1 weights: the mapped network applies its own ReLUs, i.e. it realises the
cone-feasible ("projected") version of the block features, so that number is an honest
objective of a network of form (5).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from harness.deep.arrangements import Arrangements
from harness.deep.convex import (
    Program13,
    aggregate_matrix,
    build_program,
    cone_violation13,
    objective13,
)
from harness.deep.mapping import blocks_to_network
from harness.deep.model import FloatArray, ParallelNet
from harness.deep.model import objective as objective5
from harness.deep.training import ADAM_BETAS, ADAM_EPS
from harness.errors import InputError


@dataclass(frozen=True)
class PenalizedRun:
    """Result of (16) with Adam: final ``Z``, logged epochs, objectives and times."""

    Z: FloatArray
    net: ParallelNet
    epochs: np.ndarray
    objectives16: FloatArray
    times: FloatArray
    objective13: float
    objective5: float
    cone_violation: float
    status: str
    monitor: FloatArray = field(default_factory=lambda: np.zeros(0))


def _rows_terms(
    prog: Program13,
    Xb: FloatArray,
    yb: FloatArray,
    Z: FloatArray,
    rows: np.ndarray,
    rho: float,
    agg: sp.csr_matrix,
) -> tuple[float, FloatArray]:
    """Value and gradient (w.r.t. Z) of the row terms of (16) on the rows ``rows``."""
    C, S1, A, S2 = prog.C[rows], prog.S1[rows], prog.A[rows], prog.S2[rows]
    M = Xb @ Z  # (b, G)
    r = np.sum(C * M, axis=1) - yb
    h1 = -S1 * M
    pre2 = np.asarray((A * M) @ agg)  # (b, 2B): sum over the m1 groups of each block
    h2 = -S2 * pre2
    value = 0.5 * float(r @ r) + rho * float(np.maximum(h1, 0).sum() + np.maximum(h2, 0).sum())
    dM = C * r[:, None] - rho * S1 * (h1 > 0)
    dM -= rho * A * (S2 * (h2 > 0))[:, prog.group_block]
    return value, Xb.T @ dM


def penalized_objective(
    prog: Program13, X: FloatArray, y: FloatArray, Z: FloatArray, beta: float, rho: float
) -> float:
    """Value of (16) at ``Z`` on all rows."""
    value, _ = _rows_terms(prog, X, y, Z, np.arange(X.shape[0]), rho, aggregate_matrix(prog))
    return value + beta * float(np.sum(np.linalg.norm(Z, axis=0)))


def train_penalized(
    X: FloatArray,
    y: FloatArray,
    arr: Arrangements,
    beta: float,
    rho: float,
    *,
    lr: float = 1e-3,
    epochs: int = 20,
    batch_size: int = 256,
    rng: np.random.Generator,
    monitor: Callable[[ParallelNet], float] | None = None,
) -> PenalizedRun:
    """Adam on (16) from ``Z = 0``; the group-norm subgradient is ``u/||u||`` (0 at 0).

    ``monitor(net)`` is evaluated on the Prop. 1 network after every epoch (not timed).
    """
    if not (beta > 0 and rho > 0 and lr > 0):
        raise InputError(f"beta, rho and lr must be > 0; got {beta!r}, {rho!r}, {lr!r}")
    n, d = X.shape
    prog = build_program(arr)
    agg = aggregate_matrix(prog)
    Z = np.zeros((d, prog.G))
    m = np.zeros_like(Z)
    v = np.zeros_like(Z)
    bs = min(int(batch_size), n)
    step = 0
    objs = [penalized_objective(prog, X, y, Z, beta, rho)]
    times = [0.0]
    mons = [] if monitor is None else [monitor(blocks_to_network(prog, Z, arr))]
    t0 = time.perf_counter()
    paused = 0.0
    status = "ok"
    b1, b2 = ADAM_BETAS
    for _epoch in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, bs):
            rows = order[start : start + bs]
            _, g = _rows_terms(prog, X[rows], y[rows], Z, rows, rho, agg)
            g *= n / rows.size
            norms = np.linalg.norm(Z, axis=0)
            g += beta * np.divide(Z, norms, out=np.zeros_like(Z), where=norms > 0)
            step += 1
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            Z = Z - lr * (m / (1 - b1**step)) / (np.sqrt(v / (1 - b2**step)) + ADAM_EPS)
        objs.append(penalized_objective(prog, X, y, Z, beta, rho))
        times.append(time.perf_counter() - t0 - paused)
        if monitor is not None:
            t_mon = time.perf_counter()
            mons.append(monitor(blocks_to_network(prog, Z, arr)))
            paused += time.perf_counter() - t_mon
        if not np.isfinite(objs[-1]):
            status = "diverged"
            break
    net = blocks_to_network(prog, Z, arr)
    return PenalizedRun(
        Z=Z,
        net=net,
        epochs=np.arange(len(objs)),
        objectives16=np.asarray(objs),
        times=np.asarray(times),
        objective13=objective13(prog, X, y, Z, beta),
        objective5=objective5(net, X, y, beta),
        cone_violation=cone_violation13(prog, X, Z),
        status=status,
        monitor=np.asarray(mons, dtype=float),
    )
