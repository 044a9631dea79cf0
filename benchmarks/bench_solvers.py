"""Benchmark: the fast solvers vs cvxpy + Clarabel vs pyscnn (issue 7), THEORY.md §A2 (3), (5).

Not a test. Runs every solver on the same instances with the same objective convention
(this project's ``1/2||.||^2 + beta sum ||w_i||``; pyscnn's ``lambda = beta / n``,
``unitize_data=False``, float64, the same gate vectors as our sampled patterns) and writes
one CSV row per (problem, size, solver) with the median wall time of ``--repeats`` runs,
the objective reached (recomputed by :mod:`harness.formulations` from the returned
weights), the solver's own certified gap, the gap against the best certified lower
bound of all solvers, the cone violation, and, for the fast solvers, the fraction of time
spent in the masked matrix products.

Usage::

    python benchmarks/bench_solvers.py --sizes quick|full --repeats 3 --out results/bench/

pyscnn is an optional, benchmark-only dependency (extra ``bench``); when it cannot be
imported the rows say ``pyscnn unavailable: <reason>``.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from harness import formulations as F
from harness.instances import gaussian_instance, make_rng
from harness.patterns import sample_patterns
from harness.solvers.first_order import solve_gated_fista, solve_relu_al
from harness.solvers.reference import solve_gated_reference, solve_relu_reference

SIZES = {
    "quick": {"gated": [(100, 5, 50), (200, 10, 100)], "relu": [(100, 5, 50), (200, 10, 100)]},
    "full": {
        "gated": [(200, 10, 100), (1000, 50, 200), (2000, 20, 200), (5000, 50, 500)],
        "relu": [(200, 10, 100), (1000, 50, 200), (2000, 20, 200)],
    },
}


def _pyscnn_status() -> str | None:
    """None when pyscnn imports, else the reason it does not."""
    try:
        import scnn
        import scnn.models
        import scnn.optimize  # noqa: F401
    except Exception as exc:  # any import-time failure (missing, torch/numpy pins)
        return f"pyscnn unavailable: {type(exc).__name__}: {exc}".replace("\n", " ")
    return None


def _run_pyscnn(
    problem: str, X: np.ndarray, y: np.ndarray, G: np.ndarray, beta: float, tol: float
) -> dict[str, Any]:
    """pyscnn R-FISTA (gated) or AL (ReLU) on the same gates; lambda = beta / n."""
    from scnn.metrics import Metrics
    from scnn.models import ConvexGatedReLU, ConvexReLU
    from scnn.optimize import optimize_model
    from scnn.regularizers import NeuronGL1
    from scnn.solvers import AL, RFISTA

    n = X.shape[0]
    if problem == "gated":
        model = ConvexGatedReLU(G)
        solver = RFISTA(model, max_iters=100_000, tol=tol)
    else:
        model = ConvexReLU(G)
        solver = AL(model, max_primal_iters=100_000, tol=tol, constraint_tol=tol)
    t0 = time.perf_counter()
    cvx, _ = optimize_model(
        model,
        solver,
        Metrics(),
        X,
        y,
        regularizer=NeuronGL1(beta / n),
        return_convex=True,
        unitize_data=False,
        dtype="float64",
    )
    elapsed = time.perf_counter() - t0
    params = [np.asarray(p, dtype=np.float64) for p in cvx.parameters]
    if problem == "gated":
        return {"time_s": elapsed, "W": params[0][0].T}
    return {"time_s": elapsed, "U": params[0][0].T, "V": params[1][0].T}


def _evaluate(
    problem: str, X: np.ndarray, y: np.ndarray, D: np.ndarray, beta: float, out: dict[str, Any]
) -> dict[str, Any]:
    """Objective (formulations), cone violation and a certified bound from the weights."""
    if problem == "gated":
        W = out["W"]
        obj = F.gated_objective(X, y, D, W, beta)
        lb = F.gated_dual_bound(X, y, D, y - F.gated_predict(X, D, W), beta)
        return {"objective": obj, "own_bound": lb, "cone_violation": 0.0}
    U, V = out["U"], out["V"]
    obj = F.relu_objective(X, y, D, U, V, beta)
    lb = F.relu_dual_bound(X, y, D, y - F.gated_predict(X, D, U - V), beta)
    return {"objective": obj, "own_bound": lb, "cone_violation": F.cone_violation(X, D, U, V)}


def _timed(fn: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    times, last = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        last = fn()
        times.append(time.perf_counter() - t0)
    return times, last


def bench_one(
    problem: str,
    n: int,
    d: int,
    P: int,
    beta_rel: float,
    repeats: int,
    tol: float,
    solvers: list[str],
    clarabel_max_n: int | None,
) -> list[dict[str, Any]]:
    """All requested solvers on one instance; rows with medians and accuracy."""
    inst = gaussian_instance(n, d, 0, labels="planted", width=5, noise=0.1)
    ps = sample_patterns(inst.X, P, make_rng(1))
    X, y, D = inst.X, inst.y, ps.D
    beta = beta_rel * F.beta_max(X, y, D)
    base = {"problem": problem, "n": n, "d": d, "P": P, "P_unique": D.shape[1], "beta": beta}
    rows: list[dict[str, Any]] = []
    for name in solvers:
        row: dict[str, Any] = {**base, "solver": name}
        try:
            if name == "fast":
                fn = solve_gated_fista if problem == "gated" else solve_relu_al
                times, res = _timed(lambda fn=fn: fn(X, y, D, beta, tol=tol), repeats)
                row.update(
                    status=res.status,
                    n_iter=res.n_iter,
                    own_bound=res.dual_bound,
                    objective=res.objective,
                    cone_violation=res.max_cone_violation,
                    product_fraction=res.extra.get("product_fraction"),
                )
            elif name == "clarabel":
                if clarabel_max_n is not None and n > clarabel_max_n:
                    row["status"] = f"skipped (n > {clarabel_max_n})"
                    rows.append(row)
                    continue
                fn = solve_gated_reference if problem == "gated" else solve_relu_reference
                times, res = _timed(lambda fn=fn: fn(X, y, D, beta), repeats)
                row.update(
                    status=res.status,
                    n_iter=res.n_iter,
                    own_bound=res.dual_bound,
                    objective=res.objective,
                    cone_violation=res.max_cone_violation,
                )
            elif name == "pyscnn":
                reason = _pyscnn_status()
                if reason is not None:
                    row["status"] = reason
                    rows.append(row)
                    continue
                times, out = _timed(
                    lambda: _run_pyscnn(problem, X, y, ps.generators, beta, 1e-6), repeats
                )
                row.update(status="done", **_evaluate(problem, X, y, D, beta, out))
            else:
                raise ValueError(f"unknown solver {name!r}")
        except Exception as exc:  # a crashing peer is reported, not fatal
            row["status"] = f"error: {type(exc).__name__}: {exc}".replace("\n", " ")
            rows.append(row)
            continue
        row["time_median_s"] = statistics.median(times)
        row["times_s"] = " ".join(f"{t:.4g}" for t in times)
        rows.append(row)
    bounds = [r["own_bound"] for r in rows if r.get("own_bound") is not None]
    best_lb = max(bounds) if bounds else None
    fast_t = next((r.get("time_median_s") for r in rows if r["solver"] == "fast"), None)
    for r in rows:
        if r.get("objective") is not None and best_lb is not None:
            scale = max(1.0, abs(r["objective"]))
            r["gap_vs_best_bound"] = (r["objective"] - best_lb) / scale
            if r.get("own_bound") is not None:
                r["own_gap"] = (r["objective"] - r["own_bound"]) / scale
        if fast_t and r.get("time_median_s"):
            r["time_ratio_vs_fast"] = r["time_median_s"] / fast_t
    return rows


COLUMNS = [
    "problem",
    "n",
    "d",
    "P",
    "P_unique",
    "beta",
    "solver",
    "status",
    "time_median_s",
    "times_s",
    "time_ratio_vs_fast",
    "objective",
    "own_gap",
    "gap_vs_best_bound",
    "cone_violation",
    "n_iter",
    "product_fraction",
    "own_bound",
]


def _fmt(value: Any, spec: str) -> str:
    return "" if value is None else format(value, spec)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The README table: one line per (problem, size, solver)."""
    head = (
        "| problem | n, d, P | solver | median time (s) | time / fast | objective "
        "| gap (own cert.) | gap vs best bound | cone viol. | product time |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        if r.get("time_median_s") is None:
            lines.append(
                f"| {r['problem']} | {r['n']}, {r['d']}, {r['P']} | {r['solver']} "
                f"| {r.get('status', '')} | | | | | | |"
            )
            continue
        pf = r.get("product_fraction")
        lines.append(
            f"| {r['problem']} | {r['n']}, {r['d']}, {r['P']} | {r['solver']} "
            f"| {r['time_median_s']:.3g} | {_fmt(r.get('time_ratio_vs_fast'), '.3g')} "
            f"| {_fmt(r.get('objective'), '.10g')} | {_fmt(r.get('own_gap'), '.1e')} "
            f"| {_fmt(r.get('gap_vs_best_bound'), '.1e')} "
            f"| {_fmt(r.get('cone_violation'), '.1e')} "
            f"| {'' if pf is None else f'{100 * pf:.0f}%'} |"
        )
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", choices=sorted(SIZES), default="quick")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("results/bench"))
    parser.add_argument("--beta-rel", type=float, default=0.1, help="beta / beta_max")
    parser.add_argument("--tol", type=float, default=1e-8, help="fast solvers' relative gap")
    parser.add_argument("--problems", default="gated,relu")
    parser.add_argument("--solvers", default="fast,clarabel,pyscnn")
    parser.add_argument(
        "--clarabel-max-n", type=int, default=None, help="skip Clarabel above this n"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    solvers = [s for s in args.solvers.split(",") if s]
    rows: list[dict[str, Any]] = []
    for problem in [p for p in args.problems.split(",") if p]:
        for n, d, P in SIZES[args.sizes][problem]:
            print(f"# {problem} n={n} d={d} P={P}", file=sys.stderr, flush=True)
            rows.extend(
                bench_one(
                    problem,
                    n,
                    d,
                    P,
                    args.beta_rel,
                    args.repeats,
                    args.tol,
                    solvers,
                    args.clarabel_max_n,
                )
            )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "solvers.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(
        f"beta = {args.beta_rel} beta_max, fast tol = {args.tol}, repeats = {args.repeats}, "
        f"OMP_NUM_THREADS = {threads}; CSV: {path}\n"
    )
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
