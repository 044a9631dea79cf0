"""Benchmark: the gated solver of (5) vs pyscnn's R-FISTA, and its warm-started beta path.

Not a test (issue 11, THEORY.md §A2 eq. (5)). Three parts, every ratio measured in the
same run:

``mnist``
    MNIST test images 0-4 (+1) vs 5-9 (-1), the first ``n = 1000`` test images, d = 784
    (pixels / 255, centred), P = 50 Gaussian gates (seed 0), beta = 0.01 beta_max.
``synthetic``
    The issue-7 sizes of benchmarks/README.md (planted width 5, noise 0.1, pattern seed
    1), beta = 0.1 beta_max.
``path``
    10 betas from 0.5 to 0.005 beta_max, warm-started (:func:`harness.solvers.path.solve_path`)
    against the slowest cold solve of the same betas, on the MNIST case and on the
    (500, 20, 100) planted instance of ``bench_relu_regimes.py`` (``--repeats`` rounds of
    the ten cold solves and the path; medians).

Times are medians of wall time and of CPU (process) time; every solver runs
single-threaded in this process (``OMP_NUM_THREADS=1``, pyscnn's torch included), so on
a shared machine the CPU ratios are the steadier ones.

Solvers: ``fast`` (the registry's, :mod:`harness.solvers.gated_kernel`, certified 1e-8
relative gap), ``fista`` (:mod:`harness.solvers.gated_fista`, same stop; the previous
``fast``) and pyscnn's R-FISTA (``tol`` 1e-6, its convention beta = n lambda,
``unitize_data=False``, float64, the same gates; its weights matched back to our pattern
order and their objective recomputed with :mod:`harness.formulations`, checked against
``n`` times its own ``model_loss``). pyscnn is optional: run with a Python that has it
(``BENCH_PY``); otherwise its rows say why not.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_gated.py --sizes quick|full --repeats 3 \\
        --out results/bench
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from harness import formulations as F
from harness.atomic import atomic_write_csv
from harness.datasets import load_mnist
from harness.instances import gaussian_instance, make_rng
from harness.patterns import sample_patterns
from harness.solvers.gated_fista import solve_gated_fista
from harness.solvers.path import solve_path
from harness.solvers.registry import solve

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_solvers import _pyscnn_status, _pyscnn_weights, _run_pyscnn

TOL = 1e-8
PATH_BETAS = np.geomspace(0.5, 0.005, 10)
SIZES = {
    "quick": [(200, 10, 100), (1000, 50, 200), (2000, 20, 200)],
    "full": [(200, 10, 100), (1000, 50, 200), (2000, 20, 200), (5000, 50, 500)],
}

Case = tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]


def mnist_case(n: int = 1000, P: int = 50) -> Case:
    """The issue-11 MNIST case: (name, X, y, D, gates, beta)."""
    images, labels = load_mnist("test")
    X = images[:n].reshape(n, -1).astype(np.float64) / 255.0
    X -= X.mean(axis=0)
    y = np.where(labels[:n] <= 4, 1.0, -1.0)
    ps = sample_patterns(X, P, make_rng(0))
    beta = 0.01 * F.beta_max(X, y, ps.D)
    return (f"mnist n={n} d=784 P={P} beta=0.01 beta_max", X, y, ps.D, ps.generators, beta)


def synthetic_case(n: int, d: int, P: int) -> Case:
    """The issue-7 instance of ``bench_solvers.py`` at beta = 0.1 beta_max."""
    inst = gaussian_instance(n, d, 0, labels="planted", width=5, noise=0.1)
    ps = sample_patterns(inst.X, P, make_rng(1))
    beta = 0.1 * F.beta_max(inst.X, inst.y, ps.D)
    return (
        f"synthetic n={n} d={d} P={P} beta=0.1 beta_max",
        inst.X,
        inst.y,
        ps.D,
        ps.generators,
        beta,
    )


def _timed(fn: Callable[[], Any], repeats: int, slow_s: float) -> tuple[float, float, Any, int]:
    """Median wall and CPU (process) time of up to ``repeats`` calls (one when the first
    exceeds ``slow_s``). CPU time is the fairer measure on a shared machine: every solver
    here runs single-threaded in this process (pyscnn's torch included)."""
    times, cpu, last = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        last = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        if times[-1] > slow_s:
            break
    return statistics.median(times), statistics.median(cpu), last, len(times)


def bench_solvers(case: Case, repeats: int, slow_s: float, pyscnn_tol: float) -> list[dict]:
    """fast, fista and pyscnn on one case; objectives recomputed on our patterns."""
    name, X, y, D, gates, beta = case
    rows: list[dict[str, Any]] = []
    print(f"# {name}", file=sys.stderr, flush=True)
    for label, fn in (
        ("fast", lambda: solve("gated", X, y, D, beta, solver="fast", tol=TOL)),
        ("fista", lambda: solve_gated_fista(X, y, D, beta, tol=TOL)),
    ):
        load = os.getloadavg()[0]
        t, c, res, runs = _timed(fn, repeats, slow_s)
        rows.append(
            {
                "part": "solver",
                "case": name,
                "solver": f"{label} ({res.extra['method']})",
                "time_s": t,
                "cpu_s": c,
                "runs": runs,
                "objective": res.objective,
                "status": res.status,
                "rel_gap": (res.duality_gap or 0.0) / res.objective,
                "n_iter": res.n_iter,
                "n_active": res.n_active,
                "load": load,
            }
        )
    reason = _pyscnn_status()
    if reason is not None:
        rows.append({"part": "solver", "case": name, "solver": "pyscnn R-FISTA", "status": reason})
    else:
        load = os.getloadavg()[0]
        t, c, out, runs = _timed(
            lambda: _run_pyscnn("gated", X, y, gates, beta, pyscnn_tol), repeats, slow_s
        )
        weights, note = _pyscnn_weights("gated", X, D, out)
        row: dict[str, Any] = {
            "part": "solver",
            "case": name,
            "solver": f"pyscnn R-FISTA (tol {pyscnn_tol:g})",
            "time_s": t,
            "cpu_s": c,
            "runs": runs,
            "load": load,
        }
        if note:
            row["status"] = note
        else:
            W = weights["W"]
            obj = F.gated_objective(X, y, D, W, beta)
            lb = F.gated_dual_bound(X, y, D, y - F.gated_predict(X, D, W), beta)
            check = abs(obj - out["reported"]) / max(1.0, abs(obj))
            row.update(
                objective=obj,
                rel_gap=(obj - lb) / obj,
                n_active=int(F.active_mask(W).sum()),
                status="convention verified" if check <= 1e-9 else f"convention off {check:.1e}",
            )
        rows.append(row)
    fast = rows[0]
    for r in rows:
        if r.get("time_s") and fast.get("time_s"):
            r["time_over_fast"] = r["time_s"] / fast["time_s"]
        if r.get("cpu_s") and fast.get("cpu_s"):
            r["cpu_over_fast"] = r["cpu_s"] / fast["cpu_s"]
        if r.get("objective") is not None:
            r["obj_vs_fast"] = (r["objective"] - fast["objective"]) / fast["objective"]
    return rows


def bench_path(case: Case, repeats: int = 1) -> list[dict]:
    """Warm-started path of 10 betas vs the slowest cold solve of the same betas.

    ``repeats`` rounds, each the ten cold solves then the path; medians per beta and of
    the path (wall and CPU separately).
    """
    name, X, y, D = case[:4]
    bmax = F.beta_max(X, y, D)
    betas = [float(b) * bmax for b in PATH_BETAS]
    print(f"# path {name}", file=sys.stderr, flush=True)
    load = os.getloadavg()[0]
    walls, cpus, path_wall, path_cpu = [], [], [], []
    for _ in range(max(repeats, 1)):
        cold_res, w_round, c_round = [], [], []
        for b in betas:
            t0, c0 = time.perf_counter(), time.process_time()
            cold_res.append(solve("gated", X, y, D, b, solver="fast", tol=TOL))
            w_round.append(time.perf_counter() - t0)
            c_round.append(time.process_time() - c0)
        walls.append(w_round)
        cpus.append(c_round)
        t0, c0 = time.perf_counter(), time.process_time()
        path = solve_path("gated", X, y, D, betas, tol=TOL)
        path_wall.append(time.perf_counter() - t0)
        path_cpu.append(time.process_time() - c0)
    cold = [statistics.median(col) for col in zip(*walls)]
    cold_cpu = [statistics.median(col) for col in zip(*cpus)]
    t_path, c_path = statistics.median(path_wall), statistics.median(path_cpu)
    hardest = int(np.argmax(cold))
    hardest_cpu = int(np.argmax(cold_cpu))
    worst_obj = max(abs(p.objective - c.objective) / c.objective for p, c in zip(path, cold_res))
    return [
        {
            "part": "path",
            "case": name.split(" beta=")[0] + " 10 betas 0.5->0.005 beta_max",
            "solver": "fast path (warm)",
            "time_s": t_path,
            "cpu_s": c_path,
            "runs": len(path_wall),
            "load": load,
            "time_over_fast": t_path / cold[hardest],
            "cpu_over_fast": c_path / cold_cpu[hardest_cpu],
            "status": ",".join(sorted({r.status for r in path})),
            "rel_gap": max((r.duality_gap or 0.0) / r.objective for r in path),
            "obj_vs_fast": worst_obj,
            "detail": f"slowest cold solve {cold[hardest]:.3g} s at {PATH_BETAS[hardest]:.3g} "
            f"beta_max (CPU {cold_cpu[hardest_cpu]:.3g} s at "
            f"{PATH_BETAS[hardest_cpu]:.3g} beta_max); sum of cold solves {sum(cold):.3g} s "
            f"(CPU {sum(cold_cpu):.3g} s); factorisations "
            f"{sum(int(r.extra.get('n_factor', 0)) for r in path)} (slowest cold solve "
            f"{int(cold_res[hardest].extra.get('n_factor', 0))}); Newton steps "
            + " ".join(str(r.n_iter) for r in path),
        }
    ]


COLUMNS = [
    "part",
    "case",
    "solver",
    "time_s",
    "cpu_s",
    "runs",
    "time_over_fast",
    "cpu_over_fast",
    "objective",
    "obj_vs_fast",
    "status",
    "rel_gap",
    "n_iter",
    "n_active",
    "load",
    "detail",
]


def markdown_table(rows: list[dict]) -> str:
    """One line per row; ``time / fast`` (wall) and ``CPU / fast`` are the ratios to the
    fast solver in the same case (for a path: to its slowest cold solve)."""

    def f(v: Any, spec: str) -> str:
        return "" if v is None or v == "" else format(v, spec)

    head = (
        "| part | case | solver | time (s) | CPU (s) | runs | time / fast | CPU / fast "
        "| objective | obj. vs fast | status | certified rel. gap | iterations | active "
        "| load | detail |\n" + "|---" * 16 + "|\n"
    )
    lines = [
        f"| {r['part']} | {r['case']} | {r['solver']} | {f(r.get('time_s'), '.3g')} "
        f"| {f(r.get('cpu_s'), '.3g')} | {r.get('runs', '')} "
        f"| {f(r.get('time_over_fast'), '.3g')} | {f(r.get('cpu_over_fast'), '.3g')} "
        f"| {f(r.get('objective'), '.10g')} | {f(r.get('obj_vs_fast'), '.1e')} "
        f"| {r.get('status', '')} | {f(r.get('rel_gap'), '.1e')} | {r.get('n_iter', '')} "
        f"| {r.get('n_active', '')} | {f(r.get('load'), '.1f')} | {r.get('detail', '')} |"
        for r in rows
    ]
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", choices=sorted(SIZES), default="quick")
    parser.add_argument("--parts", default="mnist,synthetic,path")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slow-seconds", type=float, default=60.0)
    parser.add_argument("--pyscnn-tol", type=float, default=1e-6)
    parser.add_argument("--out", type=Path, default=Path("results/bench"))
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    t_start = time.perf_counter()
    rows: list[dict] = []
    mnist = mnist_case() if {"mnist", "path"} & parts else None
    if "mnist" in parts and mnist is not None:
        rows += bench_solvers(mnist, args.repeats, args.slow_seconds, args.pyscnn_tol)
    if "synthetic" in parts:
        for n, d, P in SIZES[args.sizes]:
            case = synthetic_case(n, d, P)
            rows += bench_solvers(case, args.repeats, args.slow_seconds, args.pyscnn_tol)
    if "path" in parts and mnist is not None:
        from bench_relu_regimes import _instance

        X, y, D = _instance(500, 20, 100)
        rows += bench_path(("planted n=500 d=20 P=100", X, y, D, np.empty(0), 0.0), args.repeats)
        rows += bench_path(mnist, args.repeats)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"gated_{args.sizes}.csv"
    atomic_write_csv(path, COLUMNS, rows, extrasaction="ignore")
    table = markdown_table(rows)
    (args.out / f"gated_{args.sizes}.md").write_text(table)
    print(table)
    print(
        f"{time.perf_counter() - t_start:.0f} s in all; load average now "
        f"{os.getloadavg()[0]:.1f}; CSV: {path}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
