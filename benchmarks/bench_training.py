"""Benchmark: one step of full-batch GD / Adam on (1) at the experiments' widths.

``harness.nonconvex.train_network`` evaluates the value and gradient of (1) in reused
buffers (``_Workspace``: one (n, m) array for ``X U``, ``(X U)_+`` and the mask; the
scalings of the gradient in ``U`` moved out of the (n, m) products) and updates Adam's
moments in place. Its peer, measured in the same process, is the allocating form: the same
loop written with :func:`harness.formulations.network_gradient` and the textbook Adam
expressions (the trainer before this change). Cases: the ``stationary`` paper grid's Adam
runs (c = 2, n = 20 and 160 at the width Thm 2.5 needs) and the ``coupling`` paper grid's
GD runs (d = 20, n = 150 and 300 at m = 4 096 and 16 384), Gaussian data, planted labels.
CPU milliseconds per step (``time.process_time``, run with ``OMP_NUM_THREADS=1``), the
ratio, and the largest relative difference of the weights after the timed steps (rounding
for GD; Adam amplifies rounding over long runs, so only a few steps are compared). Nothing
is asserted.

Usage: ``python benchmarks/bench_training.py [--sizes quick|full] [--out DIR]``
(``quick``: 30 steps per case; ``full``: 200).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from harness.atomic import atomic_write_csv
from harness.formulations import network_gradient
from harness.instances import gaussian_instance
from harness.nonconvex import ADAM_BETA1, ADAM_BETA2, ADAM_EPS, train_network

#: (experiment, method, n, d, width, step size); coupling's GD step is lr 0.02 * 256 / m on
#: the mean loss, i.e. that over n on (1)
CASES = (
    ("stationary", "adam", 20, 10, 7068, 1e-2),
    ("stationary", "adam", 160, 80, 3868, 1e-2),
    ("coupling", "gd", 150, 20, 4096, 0.02 * 256 / 4096 / 150),
    ("coupling", "gd", 150, 20, 16384, 0.02 * 256 / 16384 / 150),
    ("coupling", "gd", 300, 20, 16384, 0.02 * 256 / 16384 / 300),
)
STEPS = {"quick": 30, "full": 200}
FIELDS = (
    "experiment",
    "method",
    "n",
    "d",
    "width",
    "steps",
    "trainer_ms",
    "reference_ms",
    "ratio",
    "weights_rel_diff",
)


def reference_run(
    X: np.ndarray,
    y: np.ndarray,
    beta: float,
    U: np.ndarray,
    a: np.ndarray,
    method: str,
    lr: float,
    steps: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The allocating loop: network_gradient and the textbook updates."""
    mU, vU, ma, va = np.zeros_like(U), np.zeros_like(U), np.zeros_like(a), np.zeros_like(a)
    for t in range(steps):
        _, gU, ga = network_gradient(X, y, U, a, beta)
        if method == "gd":
            U, a = U - lr * gU, a - lr * ga
            continue
        mU = ADAM_BETA1 * mU + (1.0 - ADAM_BETA1) * gU
        vU = ADAM_BETA2 * vU + (1.0 - ADAM_BETA2) * (gU * gU)
        ma = ADAM_BETA1 * ma + (1.0 - ADAM_BETA1) * ga
        va = ADAM_BETA2 * va + (1.0 - ADAM_BETA2) * (ga * ga)
        c1, c2 = 1.0 - ADAM_BETA1 ** (t + 1), 1.0 - ADAM_BETA2 ** (t + 1)
        U = U - lr * (mU / c1) / (np.sqrt(vU / c2) + ADAM_EPS)
        a = a - lr * (ma / c1) / (np.sqrt(va / c2) + ADAM_EPS)
    network_gradient(X, y, U, a, beta)  # the trainer evaluates the last point too
    return U, a


def run(case: tuple[str, str, int, int, int, float], steps: int) -> dict[str, Any]:
    experiment, method, n, d, m, lr = case
    inst = gaussian_instance(n, d, 0, labels="planted", width=5, noise=0.1)
    X, y, beta = inst.X, inst.y, 0.1
    rng = np.random.default_rng(1)
    U0, a0 = rng.standard_normal((d, m)) / np.sqrt(d), rng.standard_normal(m) / np.sqrt(m)
    kw = {"method": method, "lr": lr, "n_steps": steps, "tol": 0.0, "gtol": 0.0}
    c0 = time.process_time()
    res = train_network(X, y, beta, m, rng, init=(U0, a0), **kw)
    c1 = time.process_time()
    U_ref, _ = reference_run(X, y, beta, U0.copy(), a0.copy(), method, lr, steps)
    c2 = time.process_time()
    return {
        "experiment": experiment,
        "method": method,
        "n": n,
        "d": d,
        "width": m,
        "steps": steps,
        "trainer_ms": 1e3 * (c1 - c0) / steps,
        "reference_ms": 1e3 * (c2 - c1) / steps,
        "ratio": (c2 - c1) / max(c1 - c0, 1e-12),
        "weights_rel_diff": float(np.abs(res.U - U_ref).max() / np.abs(U_ref).max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", choices=sorted(STEPS), default="quick")
    parser.add_argument("--out", type=Path, default=Path("results/bench"))
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rows = []
    for case in CASES:
        print(f"# training {case[:5]}", file=sys.stderr, flush=True)
        rows.append(run(case, STEPS[args.sizes]))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"training_{args.sizes}.csv"
    atomic_write_csv(path, FIELDS, rows)
    print(
        f"steps = {STEPS[args.sizes]}, OMP_NUM_THREADS = "
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}; load average {load:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end; CSV: {path}\n"
    )
    print(
        "| experiment | method | n, d, m | trainer (ms/step) | allocating form (ms/step) "
        "| ratio | weights rel. diff |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['experiment']} | {r['method']} | {r['n']}, {r['d']}, {r['width']} "
            f"| {r['trainer_ms']:.2f} | {r['reference_ms']:.2f} | {r['ratio']:.2f}x "
            f"| {r['weights_rel_diff']:.1e} |"
        )


if __name__ == "__main__":
    main()
