"""Benchmark: the cone decomposition of a gated solution (Prop 4.2), batched IPM vs Clarabel.

``harness.mapping.cone_decomposition`` splits every active column ``w_i = a_i - b_i`` with
``a_i, b_i in K_i`` and minimal ``||a_i|| + ||b_i||``; ``relaxation_gap`` does it twice per
point (rule and fixed-P rows). Its solver, :func:`harness.solvers.cone_split.split_columns`
(one (d + 2) x (d + 2) Newton block per column), runs here against its peer, the same
program as one cvxpy SOCP solved by Clarabel (``harness.mapping.split_clarabel``, the
fallback), on the instances of the ``relaxation_gap`` paper grid at c = n/d = 4: planted
width-5 teacher, noise 0.1, ``P`` Gaussian patterns, beta = 0.1 beta_max over them, the
gated solution of the fast solver at tol 1e-8. Both at tol 1e-8; the table gives CPU
seconds (``time.process_time``; run with ``OMP_NUM_THREADS=1``), the speed ratio and the
relative difference of the two optimal values. Nothing is asserted.

Usage: ``python benchmarks/bench_cone_split.py [--sizes quick|full] [--out DIR]``
(``quick``: n = 80, 160; ``full``: n = 80, 160, 320; P = 2 000).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from harness import formulations as F
from harness.atomic import atomic_write_csv
from harness.instances import gaussian_instance, make_rng
from harness.mapping import split_clarabel
from harness.patterns import sample_patterns
from harness.solvers.cone_split import split_columns
from harness.solvers.registry import solve

SIZES = {"quick": (80, 160), "full": (80, 160, 320)}
P = 2000
TOL = 1e-8
FIELDS = (
    "n",
    "d",
    "P",
    "columns",
    "ipm_cpu_s",
    "ipm_iters",
    "clarabel_cpu_s",
    "ratio",
    "rel_diff",
    "status",
)


def _case(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gated solution's active columns ``W``, their signs ``S`` and ``X``."""
    d = n // 4
    inst = gaussian_instance(n, d, 0, labels="planted", width=5, noise=0.1)
    D = sample_patterns(inst.X, P, make_rng(1)).D
    beta = 0.1 * F.beta_max(inst.X, inst.y, D)
    W = solve("gated", inst.X, inst.y, D, beta, solver="fast", tol=TOL).variables["W"]
    act = F.active_mask(W, 1e-6)
    return inst.X, np.where(D[:, act], 1.0, -1.0), W[:, act]


def _value(A: np.ndarray, W: np.ndarray) -> float:
    return float(F.group_norms(A).sum() + F.group_norms(A - W).sum())


def run(n: int) -> dict[str, Any]:
    X, S, W = _case(n)
    c0 = time.process_time()
    fast = split_columns(X, S, W, TOL)
    c1 = time.process_time()
    A_ref, status_ref, _ = split_clarabel(X, S, W, TOL)
    c2 = time.process_time()
    v_fast = _value(fast.A, W)
    v_ref = _value(A_ref, W) if A_ref is not None else float("nan")
    return {
        "n": n,
        "d": X.shape[1],
        "P": P,
        "columns": W.shape[1],
        "ipm_cpu_s": c1 - c0,
        "ipm_iters": fast.n_iter,
        "clarabel_cpu_s": c2 - c1,
        "ratio": (c2 - c1) / max(c1 - c0, 1e-12),
        "rel_diff": (v_fast - v_ref) / v_ref,
        "status": f"{fast.status} / {status_ref}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", choices=sorted(SIZES), default="quick")
    parser.add_argument("--out", type=Path, default=Path("results/bench"))
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rows = []
    for n in SIZES[args.sizes]:
        print(f"# cone split n={n}", file=sys.stderr, flush=True)
        rows.append(run(n))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"cone_split_{args.sizes}.csv"
    atomic_write_csv(path, FIELDS, rows)
    print(
        f"sizes = {args.sizes}, tol = {TOL:g}, OMP_NUM_THREADS = "
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}; load average {load:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end; CSV: {path}\n"
    )
    print(
        "| n, d, P | active columns | batched IPM CPU (s) | IPM iterations | Clarabel CPU (s) | Clarabel / IPM | value diff (rel.) | status (IPM / Clarabel) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['n']}, {r['d']}, {r['P']} | {r['columns']} | {r['ipm_cpu_s']:.3g} | {r['ipm_iters']} "
            f"| {r['clarabel_cpu_s']:.3g} | {r['ratio']:.1f}x | {r['rel_diff']:.1e} | {r['status']} |"
        )


if __name__ == "__main__":
    main()
