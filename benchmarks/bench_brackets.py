"""Certified p* bracket: relative width and time per point, new lower end against the old one.

For each point the chosen lower-end methods of :func:`harness.certificates.certified_bracket`
run on the same instance with the same seed (``--methods``, default ``joint joint_sdp``):
``"scaled"`` (each residual scaled with the subset/SDP bound of THEORY.md Part D),
``"joint"`` (dual point and subset certificate optimised together, with triangle cuts, then
combined), ``"joint_sdp"`` (the same model solved as one convex SDP per start,
:mod:`harness.certificates_sdp`; ``lower="auto"`` uses it for ``RLT_MAX_N < n <=
JOINT_SDP_MAX_N``) and ``"rlt"`` (dual point of one lifted SDP of ``M(v)`` with RLT inequalities,
:mod:`harness.certificates_rlt`; ``lower="auto"`` uses it for ``n <= RLT_MAX_N``). The
table compares the first method (old) with the last (new). Everything
else is the paper spec's bracket (``relaxation_gap`` at paper scale): planted width-5
teacher, noise 0.1, c = n/d = 4, beta = 0.1 beta_max (beta_max over 2000 Gaussian patterns
and the patterns of +-X^T y, as the kind does), the fast solver, 4 GD restarts of 3000
steps, P_init = 100, P_grow = 100, 4 rounds; enumeration off, so Part D is what is
measured. Gaussian labels (y ~ N(0, I)) are run at small n with d = 3, where p* is known
by enumeration, and reported as LB/p* as well as width.

Nothing is asserted: the table is printed and written to ``OUT/brackets.csv`` (atomically).
The table's times are CPU seconds of the whole bracket (``time.process_time``; run with
``OMP_NUM_THREADS=1``); the CSV also has wall seconds, which depend on the machine's load.

Usage: ``python benchmarks/bench_brackets.py [--sizes quick|full] [--seeds 3] [--out DIR]
[--n N ...] [--gaussian-n N ...] [--first-seed S] [--no-gaussian] [--methods M ...]
[--rlt-max-n N]`` (``quick``: n in {40, 80}; ``full``: n in {40, 80, 160, 320}; ``--n``
replaces the planted sizes; rlt is skipped above ``--rlt-max-n``, default 80).
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from harness import formulations as F
from harness.atomic import atomic_write_csv
from harness.certificates import certified_bracket
from harness.instances import gaussian_instance, make_rng
from harness.patterns import enumerate_patterns
from harness.solvers.registry import solve

SIZES = {"quick": (40, 80), "full": (40, 80, 160, 320)}
GAUSSIAN_N = (20, 30)  # d = 3: p* by enumeration
METHODS = ("scaled", "joint", "joint_sdp", "rlt")
DEFAULT_METHODS = ("joint", "joint_sdp")
FIELDS = (
    "labels",
    "n",
    "d",
    "seed",
    "method",
    "pstar_lower",
    "pstar_upper",
    "rel_width",
    "pstar_exact",
    "lb_over_pstar",
    "lower_method",
    "upper_method",
    "time_s",
    "cpu_s",
    "load1",
)


def _beta(X: np.ndarray, y: np.ndarray, seed: int) -> float:
    """``0.1 beta_max``, beta_max over 2000 Gaussian patterns and ``h = +-X^T y`` (the kind)."""
    rng = make_rng(10_000 + seed)
    H = rng.standard_normal((X.shape[1], 2000))
    g = X.T @ y
    H = np.concatenate([H, g[:, None], -g[:, None]], axis=1)
    return 0.1 * F.beta_max(X, y, (X @ H) >= 0)


def _exact_pstar(X: np.ndarray, y: np.ndarray, beta: float) -> float:
    D = enumerate_patterns(X, cap=10**5)
    D = D[:, D.any(axis=0)]
    res = solve("full", X, y, D, beta, solver="clarabel")
    return float(res.objective) if res.ok else math.nan


def _point(
    labels: str,
    n: int,
    d: int,
    seed: int,
    exact: bool,
    methods: tuple[str, ...],
    rlt_max_n: int,
) -> list[dict[str, Any]]:
    inst = gaussian_instance(n, d, seed, labels=labels, width=5, noise=0.1)
    X, y = inst.X, inst.y
    beta = _beta(X, y, seed)
    pstar = _exact_pstar(X, y, beta) if exact else math.nan
    rows = []
    for method in methods:
        if method == "rlt" and n > rlt_max_n:
            print(f"{labels:8s} n={n:4d} seed={seed} rlt    skipped (n > --rlt-max-n {rlt_max_n})")
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        br = certified_bracket(
            X,
            y,
            beta,
            rng=make_rng(seed),
            P_init=100,
            P_grow=100,
            max_rounds=4,
            n_restarts=4,
            gd_steps=3000,
            enumerate_cap=0,
            solver="fast",
            lower=method,
        )
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        if exact and not br.pstar_lower <= pstar * (1 + 1e-6) + 1e-12:
            raise RuntimeError(f"lower end above p* at {labels} n={n} seed={seed} {method}")
        rows.append(
            {
                "labels": labels,
                "n": n,
                "d": d,
                "seed": seed,
                "method": method,
                "pstar_lower": br.pstar_lower,
                "pstar_upper": br.pstar_upper,
                "rel_width": br.rel_width,
                "pstar_exact": pstar,
                "lb_over_pstar": br.pstar_lower / pstar if exact else math.nan,
                "lower_method": br.lower_method,
                "upper_method": br.upper_method,
                "time_s": elapsed,
                "cpu_s": cpu,
                "load1": os.getloadavg()[0],
            }
        )
        print(
            f"{labels:8s} n={n:4d} d={d:3d} seed={seed} {method:6s} "
            f"LB={br.pstar_lower:.6g} UB={br.pstar_upper:.6g} "
            f"rel_width={br.rel_width:.4f} LB/p*={rows[-1]['lb_over_pstar']:.3f} "
            f"time={elapsed:.1f}s cpu={cpu:.1f}s load1={rows[-1]['load1']:.2f}",
            flush=True,
        )
    return rows


def _write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(path, FIELDS, rows)


def _table(rows: list[dict[str, Any]], methods: tuple[str, ...]) -> str:
    """Medians per (labels, n): old = ``methods[0]``, new = ``methods[-1]``."""
    old, new = methods[0], methods[-1]
    keys = sorted(
        {(r["labels"], r["n"], r["d"]) for r in rows}, key=lambda k: (k[0] != "planted", k[1])
    )
    out = [
        f"old = {old}, new = {new}",
        "| labels | n | d | seeds | median rel_width old | new | median LB/p* old | new "
        "| median CPU old (s) | new (s) | median extra CPU s/point |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for lab, n, d in keys:
        sel = {
            m: [r for r in rows if (r["labels"], r["n"], r["method"]) == (lab, n, m)]
            for m in (old, new)
        }
        if not sel[old] or not sel[new]:
            ran = old if sel[old] else new
            out.append(f"| {lab} | {n} | {d} | only {ran} ran | | | | | | | |")
            continue
        med = {m: float(np.median([r["rel_width"] for r in sel[m]])) for m in sel}
        lbp = {m: float(np.median([r["lb_over_pstar"] for r in sel[m]])) for m in sel}
        tm = {m: float(np.median([r["cpu_s"] for r in sel[m]])) for m in sel}
        extra = float(
            np.median([b["cpu_s"] - a["cpu_s"] for a, b in zip(sel[old], sel[new], strict=True)])
        )
        seeds = ",".join(str(r["seed"]) for r in sel[old])
        lb_txt = " | ".join("–" if math.isnan(lbp[m]) else f"{lbp[m]:.3f}" for m in (old, new))
        out.append(
            f"| {lab} | {n} | {d} | {seeds} | {med[old]:.4f} | {med[new]:.4f} | {lb_txt} "
            f"| {tm[old]:.1f} | {tm[new]:.1f} | {extra:+.1f} |"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", choices=sorted(SIZES), default="full")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("results/bench"))
    parser.add_argument(
        "--n", type=int, nargs="+", default=None, help="planted n (overrides --sizes)"
    )
    parser.add_argument(
        "--rlt-max-n",
        type=int,
        default=80,
        help="skip the rlt method above this n (its SDP has O(n^2) multipliers: 426 s at n=80)",
    )
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first..first+seeds-1")
    parser.add_argument("--no-gaussian", action="store_true", help="skip the Gaussian-label rows")
    parser.add_argument(
        "--gaussian-n", type=int, nargs="+", default=list(GAUSSIAN_N), help="Gaussian-label n"
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=list(DEFAULT_METHODS),
        help="lower-end methods, old first, new last",
    )
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    methods = tuple(args.methods)
    rows: list[dict[str, Any]] = []
    for n in () if args.no_gaussian else args.gaussian_n:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            rows += _point(
                "gaussian", n, 3, seed, exact=True, methods=methods, rlt_max_n=args.rlt_max_n
            )
            _write_csv(rows, args.out / "brackets.csv")
    for n in args.n or SIZES[args.sizes]:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            rows += _point(
                "planted", n, n // 4, seed, exact=False, methods=methods, rlt_max_n=args.rlt_max_n
            )
            _write_csv(rows, args.out / "brackets.csv")
    print(_table(rows, methods))
    loads = [r["load1"] for r in rows]
    print(f"1-minute load average over the run: {min(loads):.2f}-{max(loads):.2f}")
    print(f"wrote {args.out / 'brackets.csv'}")


if __name__ == "__main__":
    main()
