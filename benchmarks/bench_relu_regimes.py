"""Benchmark: the fast solvers where users meet them (issues 11 and 14), THEORY.md §A2.

Not a test. Five parts, each reported as ratios against a peer measured in the same run:

``small_beta``
    ReLU program (3) by ``solve("relu", ..., solver="fast")`` against an *independent*
    cvxpy + Clarabel model written here (tol 1e-8; build + solve timed) on the same instance
    and patterns, at beta in {0.1, 0.02, 0.005} beta_max; also the whole CLI call
    ``harness solve ... --solver fast --json`` (a subprocess: interpreter start and imports
    included). Both objectives are recomputed by :mod:`harness.formulations`; the fast
    solver's point is exactly cone-feasible and its gap certified (1e-8 relative). Where
    pyscnn imports (``BENCH_PY``, README "Benchmarks"), a second row per beta has its AL
    solver of (3) on the same gates at its tolerance :data:`PYSCNN_TOL` (uncertified; its
    weights matched back to our patterns, objective, cone violation and gap against our
    certified bound reported), CPU times.
``cheap_in_P``
    time(P_big) / time(P_small) of the fast ReLU solver at n = 160, d = 40,
    beta = 0.1 beta_max (issue 14: P = 5000 vs 200), and the peak resident memory of the
    largest case; the detail also gives the ratio of CPU times (``time.process_time``:
    single-threaded with ``OMP_NUM_THREADS=1``, so less sensitive to a shared machine).
    Each time is the best of :data:`CHEAP_REPEATS` runs (one run per cell varied the
    ratio by +-0.3 on a quiet machine).
``path``
    a warm-started beta path (10 values, 0.5 -> 0.005 beta_max) of (5) and (3) against the
    slowest of the 10 cold single solves at the same betas.
``flood``
    the ReLU column generation with and without flooding the working set
    (``solve_relu_cg(..., flood=False)``, :func:`harness.solvers.pricing.price_columns`)
    at the ``small_beta`` cases and at 0.003 / 0.001 beta_max: CPU time of each (the
    peer is the solve without flooding), rounds and largest working set.
``all_columns``
    where column generation loses: the ReLU solver as it is against the same restricted
    interior-point method started on *every* column (its working set seeded with all
    ``2P`` columns through ``warm_start``, so one cold solve of the whole program, no
    pricing rounds), CPU time, at beta from 0.1 down to 0.005 beta_max.

Usage::

    python benchmarks/bench_relu_regimes.py --sizes quick|full --out results/bench/
        [--parts small_beta,cheap_in_P,path,flood,all_columns]

Writes ``regimes.csv`` and ``regimes.md`` under ``--out``. One run per cell, except
``cheap_in_P`` (best of :data:`CHEAP_REPEATS`); the machine is shared, the load average
before and after is in the header.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cvxpy as cp
import numpy as np

from harness import formulations as F
from harness.atomic import atomic_write_csv
from harness.instances import Instance, gaussian_instance, make_rng, save_instance
from harness.patterns import PatternSet, sample_patterns
from harness.solvers.path import solve_path
from harness.solvers.registry import solve
from harness.solvers.relu_cg import solve_relu_cg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_solvers import _evaluate, _pyscnn_status, _pyscnn_weights, _run_pyscnn

SIZES: dict[str, dict[str, Any]] = {
    "quick": {
        "small_beta": [(500, 20, 100)],
        "cheap_in_P": [(160, 40, (200, 5000))],
        "path": [(500, 20, 100)],
        "flood": [(500, 20, 100)],
        "all_columns": [(500, 20, 100)],
    },
    "full": {
        "small_beta": [(500, 20, 100), (1000, 50, 200)],
        "cheap_in_P": [(160, 40, (200, 5000)), (320, 80, (200, 20000))],
        "path": [(500, 20, 100), (1000, 50, 200)],
        "flood": [(500, 20, 100), (1000, 50, 200)],
        "all_columns": [(500, 20, 100)],
    },
}
FLOOD_BETAS = (0.1, 0.02, 0.005, 0.003, 0.001)
SMALL_BETAS = (0.1, 0.02, 0.005)
ALL_COLUMNS_BETAS = (0.1, 0.05, 0.03, 0.02, 0.005)
PATH_BETAS = tuple(float(b) for b in np.geomspace(0.5, 0.005, 10))
TOL = 1e-8
#: pyscnn's own stopping tolerance (as in ``bench_solvers.py``; it has no certificate).
PYSCNN_TOL = 1e-6
#: Runs per cell of ``cheap_in_P``; the best wall and CPU times are reported.
CHEAP_REPEATS = 3


def _planted(n: int, d: int, P: int) -> tuple[np.ndarray, np.ndarray, PatternSet]:
    """The regimes' instance (planted width 20, noise 0.1) and its sampled patterns."""
    inst = gaussian_instance(n, d, 0, labels="planted", width=20, noise=0.1)
    return inst.X, inst.y, sample_patterns(inst.X, P, make_rng(1))


def _rel_gap(res: Any) -> float:
    """The certified relative gap of a solve record (0 when it has none)."""
    return float(res.duality_gap / res.objective) if res.duality_gap else 0.0


def _instance(n: int, d: int, P: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, y, ps = _planted(n, d, P)
    return X, y, ps.D


def independent_clarabel(
    X: np.ndarray, y: np.ndarray, D: np.ndarray, beta: float
) -> tuple[float, float, str]:
    """(3) as a user would write it in cvxpy, solved by Clarabel at tol 1e-8: (time, obj, status)."""
    t0 = time.perf_counter()
    d, P = X.shape[1], D.shape[1]
    Dm = D.astype(float)
    U, V = cp.Variable((d, P)), cp.Variable((d, P))
    pred = cp.sum(cp.multiply(Dm, X @ (U - V)), axis=1)
    penalty = cp.sum(cp.norm(U, 2, axis=0)) + cp.sum(cp.norm(V, 2, axis=0))
    cons = [cp.multiply(2 * Dm - 1, X @ U) >= 0, cp.multiply(2 * Dm - 1, X @ V) >= 0]
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(pred - y) + beta * penalty), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=TOL, tol_gap_rel=TOL, tol_feas=TOL, max_iter=500)
    elapsed = time.perf_counter() - t0
    if U.value is None or V.value is None:
        return elapsed, float("nan"), str(prob.status)
    obj = F.relu_objective(X, y, D, np.asarray(U.value), np.asarray(V.value), beta)
    return elapsed, obj, str(prob.status)


def _cli_time(X: np.ndarray, y: np.ndarray, D: np.ndarray, beta: float) -> float:
    harness = Path(sys.executable).with_name("harness")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inst.npz"
        save_instance(path, Instance(X=X, y=y, D=D))
        cmd = [str(harness), "solve", str(path), "--beta", repr(beta), "--formulation", "relu"]
        t0 = time.perf_counter()
        subprocess.run([*cmd, "--solver", "fast", "--json"], check=False, capture_output=True)
        return time.perf_counter() - t0


def bench_small_beta(n: int, d: int, P: int, with_pyscnn: bool) -> list[dict[str, Any]]:
    X, y, ps = _planted(n, d, P)
    D = ps.D
    bmax = F.beta_max(X, y, D)
    rows = []
    for rel in SMALL_BETAS:
        beta = rel * bmax
        print(f"# small_beta n={n} d={d} P={P} beta={rel} beta_max", file=sys.stderr, flush=True)
        t0, c0 = time.perf_counter(), time.process_time()
        res = solve("relu", X, y, D, beta, solver="fast", tol=TOL)
        t_fast, c_fast = time.perf_counter() - t0, time.process_time() - c0
        t_cli = _cli_time(X, y, D, beta)
        t_ref, obj_ref, st_ref = independent_clarabel(X, y, D, beta)
        rows.append(
            {
                "part": "small_beta",
                "case": f"relu n={n} d={d} P={P} beta={rel} beta_max",
                "fast_s": t_fast,
                "fast_cli_s": t_cli,
                "peer": "cvxpy+Clarabel",
                "peer_s": t_ref,
                "ratio": t_ref / t_fast,
                "ratio_cli": t_ref / t_cli,
                "status": res.status,
                "rel_gap": _rel_gap(res),
                "obj_rel_diff": (res.objective - obj_ref) / obj_ref,
                "detail": f"peer {st_ref}; n_active {res.n_active}; "
                f"working set {res.extra.get('working_set')}",
            }
        )
        if with_pyscnn:
            size = f"n={n} d={d} P={P}"
            try:
                rows.append(_pyscnn_row(X, y, D, ps.generators, beta, rel, res, c_fast, size))
            except Exception as exc:  # a crashing peer is reported, not fatal
                print(f"# pyscnn failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    return rows


def _pyscnn_row(
    X: np.ndarray,
    y: np.ndarray,
    D: np.ndarray,
    gates: np.ndarray,
    beta: float,
    rel: float,
    res: Any,
    c_fast: float,
    size: str,
) -> dict[str, Any]:
    """pyscnn's AL on (3), same gates, against the fast solve ``res`` (CPU times)."""
    c0 = time.process_time()
    out = _run_pyscnn("relu", X, y, gates, beta, PYSCNN_TOL)
    c_peer = time.process_time() - c0
    weights, note = _pyscnn_weights("relu", X, D, out)
    row: dict[str, Any] = {
        "part": "small_beta",
        "case": f"relu {size} beta={rel} beta_max (CPU)",
        "fast_s": c_fast,
        "peer": f"pyscnn AL (tol {PYSCNN_TOL:g})",
        "peer_s": c_peer,
        "ratio": c_peer / c_fast,
        "status": res.status,
        "rel_gap": _rel_gap(res),
    }
    if note:
        row["detail"] = f"pyscnn: {note}"
        return row
    ev = _evaluate("relu", X, y, D, beta, weights)
    row["obj_rel_diff"] = (res.objective - ev["objective"]) / ev["objective"]
    above = (ev["objective"] - res.dual_bound) / ev["objective"]
    row["detail"] = (
        f"pyscnn objective {ev['objective']:.10g}, {above:+.1e} relative to our certified "
        f"lower bound (below it only off the cones), cone violation "
        f"{ev['cone_violation']:.1e}, its own reported value {out['reported']:.10g}"
    )
    return row


def bench_cheap_in_p(n: int, d: int, Ps: tuple[int, int]) -> list[dict[str, Any]]:
    inst = gaussian_instance(n, d, 0, labels="planted", width=5, noise=0.1)
    times, cpu, rows = {}, {}, []
    # warm-up: first-call costs (imports, BLAS start-up) must not land on the smaller case
    D0 = sample_patterns(inst.X, 10, make_rng(1)).D
    X0, y0 = inst.X[:40], inst.y[:40]
    solve("relu", X0, y0, D0[:40], 0.1 * F.beta_max(X0, y0, D0[:40]), solver="fast")
    for P in Ps:
        print(f"# cheap_in_P n={n} d={d} P={P}", file=sys.stderr, flush=True)
        D = sample_patterns(inst.X, P, make_rng(1)).D
        beta = 0.1 * F.beta_max(inst.X, inst.y, D)
        times[P] = cpu[P] = np.inf
        for _ in range(CHEAP_REPEATS):  # best of a few: the ratio of two short timings
            t0, c0 = time.perf_counter(), time.process_time()
            res = solve("relu", inst.X, inst.y, D, beta, solver="fast", tol=TOL)
            times[P] = min(times[P], time.perf_counter() - t0)
            cpu[P] = min(cpu[P], time.process_time() - c0)
        rows.append(
            {
                "part": "cheap_in_P",
                "case": f"relu n={n} d={d} P={P} beta=0.1 beta_max",
                "fast_s": times[P],
                "peer": f"same solver at P={Ps[0]}",
                "peer_s": times[Ps[0]],
                "ratio": times[P] / times[Ps[0]],
                "status": res.status,
                "rel_gap": _rel_gap(res),
                "detail": f"CPU {cpu[P]:.3g} s (ratio {cpu[P] / cpu[Ps[0]]:.3g} by CPU time); "
                f"objective {res.objective:.6g}; n_active {res.n_active}; working set "
                f"{res.extra.get('working_set')}; ipm {res.extra.get('ipm_s', 0):.2f} s, pricing "
                f"{res.extra.get('pricing_s', 0):.2f} s; peak RSS so far "
                f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
            }
        )
    return rows


def bench_flood(n: int, d: int, P: int) -> list[dict[str, Any]]:
    X, y, D = _instance(n, d, P)
    bmax = F.beta_max(X, y, D)
    rows = []
    for rel in FLOOD_BETAS:
        print(f"# flood n={n} d={d} P={P} beta={rel} beta_max", file=sys.stderr, flush=True)
        cpu, res = {}, {}
        for flood in (False, True):
            c0 = time.process_time()
            res[flood] = solve_relu_cg(X, y, D, rel * bmax, tol=TOL, flood=flood)
            cpu[flood] = time.process_time() - c0
        on, off = res[True], res[False]
        rows.append(
            {
                "part": "flood",
                "case": f"relu n={n} d={d} P={P} beta={rel} beta_max",
                "fast_s": cpu[True],
                "peer": "same solver, flood=False (CPU s)",
                "peer_s": cpu[False],
                "ratio": cpu[False] / cpu[True],
                "status": f"{on.status} / {off.status}",
                "rel_gap": max(r.duality_gap / r.objective for r in (on, off)),
                "obj_rel_diff": (on.objective - off.objective) / off.objective,
                "detail": f"flooded rounds {on.extra['n_flood']}; rounds "
                f"{on.extra['n_rounds']} / {off.extra['n_rounds']}; largest working set "
                f"{max(on.extra['round_sizes'])} / {max(off.extra['round_sizes'])} of {2 * P}; "
                f"IPM iterations {on.n_iter} / {off.n_iter}",
            }
        )
    return rows


def bench_all_columns(n: int, d: int, P: int) -> list[dict[str, Any]]:
    X, y, D = _instance(n, d, P)
    bmax = F.beta_max(X, y, D)
    # non-zero U, V seed the working set with every column; without multipliers the
    # restricted IPM starts cold: one solve of the whole program
    every = {"U": np.full((d, P), 1e-3), "V": np.full((d, P), 1e-3)}
    rows = []
    for rel in ALL_COLUMNS_BETAS:
        print(f"# all_columns n={n} d={d} P={P} beta={rel} beta_max", file=sys.stderr, flush=True)
        cpu, res = {}, {}
        for mode, warm in (("cg", None), ("all", every)):
            c0 = time.process_time()
            res[mode] = solve("relu", X, y, D, rel * bmax, solver="fast", tol=TOL, warm_start=warm)
            cpu[mode] = time.process_time() - c0
        cg, full = res["cg"], res["all"]
        rows.append(
            {
                "part": "all_columns",
                "case": f"relu n={n} d={d} P={P} beta={rel} beta_max",
                "fast_s": cpu["cg"],
                "peer": "same IPM on all columns (CPU s)",
                "peer_s": cpu["all"],
                "ratio": cpu["all"] / cpu["cg"],
                "status": f"{cg.status} / {full.status}",
                "rel_gap": max(r.duality_gap / r.objective for r in (cg, full)),
                "obj_rel_diff": (cg.objective - full.objective) / full.objective,
                "detail": f"n_active {cg.n_active} of {2 * P}; column generation: rounds "
                f"{cg.extra['n_rounds']}, working sets {cg.extra['round_sizes']}, IPM "
                f"iterations {cg.n_iter}; all columns: IPM iterations {full.n_iter}",
            }
        )
    return rows


def bench_path(n: int, d: int, P: int) -> list[dict[str, Any]]:
    X, y, D = _instance(n, d, P)
    bmax = F.beta_max(X, y, D)
    betas = [b * bmax for b in PATH_BETAS]
    rows = []
    for problem in ("gated", "relu"):
        print(f"# path {problem} n={n} d={d} P={P}", file=sys.stderr, flush=True)
        cold, cold_res = [], []
        for beta in betas:
            t0 = time.perf_counter()
            cold_res.append(solve(problem, X, y, D, beta, solver="fast", tol=TOL))
            cold.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        path = solve_path(problem, X, y, D, betas, tol=TOL)
        t_path = time.perf_counter() - t0
        hardest = int(np.argmax(cold))
        rows.append(
            {
                "part": "path",
                "case": f"{problem} n={n} d={d} P={P} 10 betas 0.5->0.005 beta_max",
                "fast_s": t_path,
                "peer": f"slowest cold solve (beta={PATH_BETAS[hardest]:.3g} beta_max)",
                "peer_s": cold[hardest],
                "ratio": t_path / cold[hardest],
                "status": ",".join(sorted({r.status for r in path})),
                "rel_gap": max(
                    (r.duality_gap or 0.0) / r.objective for r in path if r.objective > 0
                ),
                "detail": f"sum of cold solves {sum(cold):.2f} s"
                + (
                    f"; factorisations {sum(int(r.extra.get('n_factor', 0)) for r in path)} "
                    f"(slowest cold solve {int(cold_res[hardest].extra.get('n_factor', 0))})"
                    if problem == "gated"
                    else ""
                ),
            }
        )
    return rows


COLUMNS = [
    "part",
    "case",
    "fast_s",
    "fast_cli_s",
    "peer",
    "peer_s",
    "ratio",
    "ratio_cli",
    "status",
    "rel_gap",
    "obj_rel_diff",
    "detail",
]


def _fmt(value: Any, spec: str) -> str:
    return "" if value is None or value == "" else format(value, spec)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| part | case | fast (s) | CLI (s) | peer | peer (s) | ratio | ratio (CLI) "
        "| status | certified rel. gap | obj. vs peer | detail |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = [
        f"| {r['part']} | {r['case']} | {r['fast_s']:.3g} | {_fmt(r.get('fast_cli_s'), '.3g')} "
        f"| {r['peer']} | {r['peer_s']:.3g} | {r['ratio']:.3g} "
        f"| {_fmt(r.get('ratio_cli'), '.3g')} | {r['status']} | {r['rel_gap']:.1e} "
        f"| {_fmt(r.get('obj_rel_diff'), '.1e')} | {r['detail']} |"
        for r in rows
    ]
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", choices=sorted(SIZES), default="quick")
    parser.add_argument("--parts", default="small_beta,cheap_in_P,path,flood,all_columns")
    parser.add_argument("--out", type=Path, default=Path("results/bench"))
    args = parser.parse_args(argv)
    load_start = os.getloadavg()
    t_start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    parts = [p for p in args.parts.split(",") if p]
    # cheap_in_P first: its peak resident memory must not include pyscnn's (PyTorch's)
    # import by the small_beta rows
    for n, d, Ps in SIZES[args.sizes]["cheap_in_P"] if "cheap_in_P" in parts else []:
        rows.extend(bench_cheap_in_p(n, d, Ps))
    pyscnn_missing = _pyscnn_status() if "small_beta" in parts else None
    for n, d, P in SIZES[args.sizes]["small_beta"] if "small_beta" in parts else []:
        rows.extend(bench_small_beta(n, d, P, with_pyscnn=pyscnn_missing is None))
    for n, d, P in SIZES[args.sizes]["path"] if "path" in parts else []:
        rows.extend(bench_path(n, d, P))
    for n, d, P in SIZES[args.sizes]["flood"] if "flood" in parts else []:
        rows.extend(bench_flood(n, d, P))
    for n, d, P in SIZES[args.sizes]["all_columns"] if "all_columns" in parts else []:
        rows.extend(bench_all_columns(n, d, P))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"regimes_{args.sizes}.csv"
    atomic_write_csv(path, COLUMNS, rows, extrasaction="ignore")
    load_end = os.getloadavg()
    header = (
        f"sizes = {args.sizes}, tol = {TOL}, one run per cell, OMP_NUM_THREADS = "
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, {os.cpu_count()} CPUs; load average "
        f"{load_start[0]:.1f} at start, {load_end[0]:.1f} at end; "
        f"{time.perf_counter() - t_start:.0f} s in all; CSV: {path}\n"
    )
    if pyscnn_missing is not None:
        header += f"small_beta without pyscnn rows: {pyscnn_missing}\n"
    table = markdown_table(rows)
    (args.out / f"regimes_{args.sizes}.md").write_text(header + "\n" + table)
    print(header)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
