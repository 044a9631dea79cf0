"""Sweep-engine throughput: a 200-point quick sweep of small solves, ``--jobs 2`` vs ``1``.

Each point is the ``relaxation_gap_small`` kind (two Clarabel solves, THEORY.md eqs. (3)
and (5), on an (A1) instance with n = 3d, d in 2..5, P in 5..25). The single-worker run
executes in this process; the two-worker run uses joblib/loky. The loky pool is warmed
first (its workers import cvxpy once), so the ratio measures steady-state throughput;
the cold ratio, pool start-up included, is printed too. Nothing is asserted: the numbers
are printed (and written as JSON with ``--out DIR``) for benchmarks/README.md.

Usage: ``python benchmarks/bench_sweep.py [--points 200] [--out results/bench]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.sweep import parse_spec, run_spec


def _spec(name: str, seeds: int) -> Any:
    return parse_spec(
        {
            "name": name,
            "kind": "relaxation_gap_small",
            "seed": 2024,
            "seeds": seeds,
            "instance": {"labels": "planted", "teacher_width": 3},
            "grid": {
                "d": [2, 3, 4, 5],
                "c": 3.0,
                "P": [5, 10, 15, 20, 25],
                "beta_rel": [0.05, 0.2],
            },
            "solver": {"name": "clarabel", "tol": 1e-8, "max_iter": 500},
        }
    )


def _timed_run(spec: Any, jobs: int, root: Path) -> float:
    t0 = time.perf_counter()
    summary = run_spec(spec, n_jobs=jobs, results_dir=root, progress=False)
    elapsed = time.perf_counter() - t0
    if summary.failed or summary.ok != summary.total:
        raise RuntimeError(f"benchmark sweep had failures: {summary.format()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200, help="multiple of 40 (default 200)")
    parser.add_argument("--out", type=Path, default=None, help="folder for bench_sweep.json")
    args = parser.parse_args()
    seeds = max(1, args.points // 40)
    spec = _spec("bench_sweep", seeds)
    n_points = 40 * seeds
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t_cold2 = _timed_run(spec, 2, root / "cold2")  # loky pool start-up included
        t1 = _timed_run(spec, 1, root / "serial")
        t2 = _timed_run(spec, 2, root / "warm2")  # pool reused from the cold run
    result = {
        "points": n_points,
        "serial_s": round(t1, 3),
        "jobs2_warm_s": round(t2, 3),
        "jobs2_cold_s": round(t_cold2, 3),
        "ratio_warm": round(t1 / t2, 3),
        "ratio_cold": round(t1 / t_cold2, 3),
        "throughput_serial_pts_per_s": round(n_points / t1, 2),
        "throughput_jobs2_pts_per_s": round(n_points / t2, 2),
        "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
    }
    print(
        f"sweep throughput, {n_points} points of relaxation_gap_small: "
        f"jobs=1 {t1:.2f} s, jobs=2 {t2:.2f} s warm / {t_cold2:.2f} s cold; "
        f"ratio {t1 / t2:.2f}x warm, {t1 / t_cold2:.2f}x cold (target >= 1.7x on 2 free cores)"
    )
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench_sweep.json").write_text(json.dumps(result, indent=1))
        print(f"wrote {args.out / 'bench_sweep.json'}")


if __name__ == "__main__":
    main()
