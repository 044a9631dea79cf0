"""Benchmark: the fast solvers vs cvxpy + Clarabel vs pyscnn (issue 7), THEORY.md §A2 (3), (5).

Not a test. Runs every solver on the same instances with the same objective convention
(this project's ``1/2||.||^2 + beta sum ||w_i||``; pyscnn's ``lambda = beta / n``,
``unitize_data=False``, float64, the same gate vectors as our sampled patterns) and writes
one CSV row per (problem, size, solver) with the median wall time of the runs, the
objective reached (recomputed by :mod:`harness.formulations` from the returned weights),
the solver's own certified gap, the gap against the best certified lower bound of all
solvers, the cone violation, the load average before and after, and, for the fast
solvers, the fraction of time spent in the masked matrix products. ``fast`` is the
registry's fast solver: :func:`~harness.solvers.gated_kernel.solve_gated_kernel` (projected
Newton on the kernel weights) for (5) and the column-generation
solver :func:`~harness.solvers.relu_cg.solve_relu_cg` for (3); ``al`` (opt-in) is the
augmented Lagrangian :func:`~harness.solvers.relu_al.solve_relu_al`.

pyscnn's weights are compared on *our* patterns: pyscnn sorts its deduplicated patterns
(``np.unique(..., axis=1)``), so its returned columns are matched back to ours through the
gates it returns, and the objective of the matched weights, evaluated by
:mod:`harness.formulations`, must equal ``n`` times pyscnn's own final ``model_loss``
(relative difference ``convention_check <= 1e-9``); otherwise the row says
``pyscnn: objective convention unverified``.

Usage::

    python benchmarks/bench_solvers.py --sizes quick|full --repeats 3 --out results/bench/

Up to ``--repeats`` runs per cell; a cell whose first run exceeds ``--slow-seconds`` is
run once (the ``runs`` column says so). Writes ``solvers.csv`` and ``solvers.md`` (the
table with its header line) under ``--out``. pyscnn is an optional, benchmark-only
dependency (extra ``bench``); when it cannot be imported the rows say
``pyscnn unavailable: <reason>``.
"""

from __future__ import annotations

import argparse
import csv
import functools
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
from harness.solvers.gated_fista import solve_gated_fista
from harness.solvers.gated_kernel import solve_gated_kernel
from harness.solvers.reference import (
    CLARABEL_TOL_FACTOR,
    solve_gated_reference,
    solve_relu_reference,
)
from harness.solvers.relu_al import solve_relu_al
from harness.solvers.relu_cg import solve_relu_cg

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
    """pyscnn R-FISTA (gated) or AL (ReLU) on the same gates; lambda = beta / n.

    pyscnn computes its patterns ``1[X g > 0]`` from the gates, removes duplicates with
    ``np.unique(..., axis=1)`` (which *sorts* the columns) and returns the convex weights
    with shape (c, p, d) in that sorted order, next to the gates it kept (``model.G``).
    Its loss is ``||.||^2 / (2 n) + lambda sum ||w_i||``, so our objective is ``n`` times
    its ``model_loss``. The weights are put back in our column order by matching each
    pyscnn pattern to our ``D``; :func:`_pyscnn_weights` does that and checks it.
    """
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
    cvx, metrics = optimize_model(
        model,
        solver,
        Metrics(model_loss=True),
        X,
        y,
        regularizer=NeuronGL1(beta / n),
        return_convex=True,
        unitize_data=False,
        dtype="float64",
    )
    elapsed = time.perf_counter() - t0
    params = [np.asarray(p, dtype=np.float64)[0].T for p in cvx.parameters]  # (d, p) each
    return {
        "time_s": elapsed,
        "gates": np.asarray(cvx.G, dtype=np.float64),
        "params": params,
        # pyscnn's own final objective without AL penalty terms, in our scaling
        "reported": n * float(np.asarray(metrics.model_loss)[-1]),
    }


def _pyscnn_weights(
    problem: str, X: np.ndarray, D: np.ndarray, out: dict[str, Any]
) -> tuple[dict[str, np.ndarray], str]:
    """pyscnn's weights in our (d, P) column order, and a note when that is impossible."""
    D_py = X @ out["gates"] > 0  # pyscnn's own patterns, in its column order
    where = {D[:, j].tobytes(): j for j in range(D.shape[1])}
    pos = [where.get(D_py[:, k].tobytes(), -1) for k in range(D_py.shape[1])]
    names = ["W"] if problem == "gated" else ["U", "V"]
    if min(pos, default=-1) < 0 or len(set(pos)) != len(pos):
        return {}, "pyscnn patterns do not match ours"
    weights = {}
    for name, Wp in zip(names, out["params"]):
        W = np.zeros((X.shape[1], D.shape[1]))
        W[:, pos] = Wp
        weights[name] = W
    return weights, ""


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


def _timed(fn: Callable[[], Any], repeats: int, slow_s: float) -> tuple[list[float], Any]:
    """Wall times of up to ``repeats`` calls; stops after one call slower than ``slow_s``."""
    times, last = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        last = fn()
        times.append(time.perf_counter() - t0)
        if times[-1] > slow_s:
            break
    return times, last


def _load() -> float:
    return os.getloadavg()[0]


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
    slow_s: float,
    pyscnn_tol: float,
) -> list[dict[str, Any]]:
    """All requested solvers on one instance; rows with medians and accuracy."""
    inst = gaussian_instance(n, d, 0, labels="planted", width=5, noise=0.1)
    ps = sample_patterns(inst.X, P, make_rng(1))
    X, y, D = inst.X, inst.y, ps.D
    beta = beta_rel * F.beta_max(X, y, D)
    base = {"problem": problem, "n": n, "d": d, "P": P, "P_unique": D.shape[1], "beta": beta}
    rows: list[dict[str, Any]] = []
    pending: list[float] = []
    for name in solvers:
        row: dict[str, Any] = {**base, "solver": name, "load_before": _load()}
        print(f"#   {name} ...", file=sys.stderr, flush=True)
        try:
            if name in ("fast", "al"):
                if problem == "gated":
                    if name == "al":
                        continue
                    fn: Callable[..., Any] = solve_gated_kernel
                else:
                    fn = solve_relu_cg if name == "fast" else solve_relu_al
                times, res = _timed(functools.partial(fn, X, y, D, beta, tol=tol), repeats, slow_s)
                row.update(
                    solver_name=res.solver,
                    status=res.status,
                    n_iter=res.n_iter,
                    own_bound=res.dual_bound,
                    objective=res.objective,
                    cone_violation=res.max_cone_violation,
                    product_fraction=float(res.extra.get("product_time_s", 0.0))
                    / max(res.time_s, 1e-12),
                    n_active=res.n_active,
                    detail=" ".join(
                        f"{k}={res.extra[k]:.3g}"
                        if isinstance(res.extra[k], float)
                        else f"{k}={res.extra[k]}"
                        for k in ("working_set", "n_rounds", "ipm_s", "pricing_s", "n_restarts")
                        if k in res.extra
                    ),
                )
            elif name == "clarabel":
                if clarabel_max_n is not None and n > clarabel_max_n:
                    row["status"] = f"skipped (n > {clarabel_max_n})"
                    rows.append(row)
                    continue
                fn = solve_gated_reference if problem == "gated" else solve_relu_reference
                # Clarabel's own tolerances at `tol` (as a user would run it); the record then
                # certifies its gap at tol / CLARABEL_TOL_FACTOR
                ref_tol = tol / CLARABEL_TOL_FACTOR
                times, res = _timed(
                    functools.partial(fn, X, y, D, beta, tol=ref_tol), repeats, slow_s
                )
                row.update(
                    solver_name="cvxpy+clarabel",
                    status=res.status,
                    n_iter=res.n_iter,
                    own_bound=res.dual_bound,
                    objective=res.objective,
                    cone_violation=res.max_cone_violation,
                    n_active=res.n_active,
                )
            elif name == "pyscnn":
                reason = _pyscnn_status()
                if reason is not None:
                    row["status"] = reason
                    rows.append(row)
                    continue
                times, out = _timed(
                    lambda: _run_pyscnn(problem, X, y, ps.generators, beta, pyscnn_tol),
                    repeats,
                    slow_s,
                )
                weights, note = _pyscnn_weights(problem, X, D, out)
                row["solver_name"] = "pyscnn " + ("R-FISTA" if problem == "gated" else "AL")
                row["pyscnn_reported"] = out["reported"]
                if note:
                    row["status"] = f"done; {note}; pyscnn: objective convention unverified"
                else:
                    row.update(_evaluate(problem, X, y, D, beta, weights))
                    mismatch = abs(row["objective"] - out["reported"]) / max(
                        1.0, abs(row["objective"])
                    )
                    row["convention_check"] = mismatch
                    row["status"] = (
                        "done; objective convention verified"
                        if mismatch <= 1e-9
                        else "done; pyscnn: objective convention unverified"
                    )
                    row["n_active"] = sum(int(F.active_mask(W).sum()) for W in weights.values())
                    if problem == "gated" and "fast" in solvers:
                        pending.append(row["objective"])
            else:
                raise ValueError(f"unknown solver {name!r}")
        except Exception as exc:  # a crashing peer is reported, not fatal
            row["status"] = f"error: {type(exc).__name__}: {exc}".replace("\n", " ")
            rows.append(row)
            continue
        row["load_after"] = _load()
        row["runs"] = len(times)
        row["time_median_s"] = statistics.median(times)
        row["times_s"] = " ".join(f"{t:.4g}" for t in times)
        rows.append(row)
    for target in pending:
        # equal accuracy: the time FISTA takes to reach pyscnn's objective (an oracle stop;
        # pyscnn has no certificate to stop on)
        row = {**base, "solver": "fista_to_pyscnn", "load_before": _load()}
        times, res = _timed(
            functools.partial(solve_gated_fista, X, y, D, beta, tol=tol, objective_target=target),
            repeats,
            slow_s,
        )
        row.update(
            solver_name="fista (to pyscnn's objective)",
            status=res.status,
            n_iter=res.n_iter,
            own_bound=res.dual_bound,
            objective=res.objective,
            cone_violation=0.0,
            product_fraction=float(res.extra.get("product_time_s", 0.0)) / max(res.time_s, 1e-12),
            n_active=res.n_active,
            load_after=_load(),
            runs=len(times),
            time_median_s=statistics.median(times),
            times_s=" ".join(f"{t:.4g}" for t in times),
        )
        rows.append(row)
    bounds = [r["own_bound"] for r in rows if r.get("own_bound") is not None]
    best_lb = max(bounds) if bounds else None
    fast_t = next((r.get("time_median_s") for r in rows if r["solver"] == "fast"), None)
    py_t = next((r.get("time_median_s") for r in rows if r["solver"] == "pyscnn"), None)
    for r in rows:
        if r.get("objective") is not None and best_lb is not None:
            scale = max(1.0, abs(r["objective"]))
            r["gap_vs_best_bound"] = (r["objective"] - best_lb) / scale
            if r.get("own_bound") is not None:
                r["own_gap"] = (r["objective"] - r["own_bound"]) / scale
        if fast_t and r.get("time_median_s"):
            r["time_ratio_vs_fast"] = r["time_median_s"] / fast_t
        if py_t and r.get("time_median_s"):
            r["pyscnn_time_ratio"] = py_t / r["time_median_s"]
    return rows


COLUMNS = [
    "problem",
    "n",
    "d",
    "P",
    "P_unique",
    "beta",
    "solver",
    "solver_name",
    "status",
    "runs",
    "time_median_s",
    "times_s",
    "time_ratio_vs_fast",
    "pyscnn_time_ratio",
    "objective",
    "own_gap",
    "gap_vs_best_bound",
    "cone_violation",
    "n_active",
    "n_iter",
    "product_fraction",
    "own_bound",
    "pyscnn_reported",
    "convention_check",
    "load_before",
    "load_after",
    "detail",
]


def _fmt(value: Any, spec: str) -> str:
    return "" if value is None else format(value, spec)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The solver table of benchmarks/README.md: one line per (problem, size, solver)."""
    head = (
        "| problem | n, d, P | solver | runs | median time (s) | time / fast | pyscnn time / "
        "time | objective | gap (own cert.) | gap vs best bound | cone viol. | product time "
        "| load |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        label = r.get("solver_name") or r["solver"]
        if r.get("time_median_s") is None:
            lines.append(
                f"| {r['problem']} | {r['n']}, {r['d']}, {r['P']} | {label} | "
                f"| {r.get('status', '')} | | | | | | | | |"
            )
            continue
        pf = r.get("product_fraction")
        own = _fmt(r.get("own_gap"), ".1e")
        if r["solver"] == "pyscnn" and r["problem"] != "gated":
            own += " (no multipliers)" if own else ""
        note = ""
        if r["solver"] == "pyscnn" and "unverified" in str(r.get("status", "")):
            note = " pyscnn: objective convention unverified"
        load = f"{r.get('load_before', 0):.1f}/{r.get('load_after', 0):.1f}"
        lines.append(
            f"| {r['problem']} | {r['n']}, {r['d']}, {r['P']} | {label}{note} | {r.get('runs', '')} "
            f"| {r['time_median_s']:.3g} | {_fmt(r.get('time_ratio_vs_fast'), '.3g')} "
            f"| {_fmt(r.get('pyscnn_time_ratio'), '.3g')} "
            f"| {_fmt(r.get('objective'), '.10g')} | {own} "
            f"| {_fmt(r.get('gap_vs_best_bound'), '.1e')} "
            f"| {_fmt(r.get('cone_violation'), '.1e')} "
            f"| {'' if pf is None else f'{100 * pf:.0f}%'} | {load} |"
        )
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", choices=sorted(SIZES), default="quick")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--slow-seconds",
        type=float,
        default=60.0,
        help="a cell whose first run takes longer is run once",
    )
    parser.add_argument("--out", type=Path, default=Path("results/bench"))
    parser.add_argument("--beta-rel", type=float, default=0.1, help="beta / beta_max")
    parser.add_argument("--tol", type=float, default=1e-8, help="fast solvers' relative gap")
    parser.add_argument("--pyscnn-tol", type=float, default=1e-6, help="pyscnn's tol")
    parser.add_argument("--problems", default="gated,relu")
    parser.add_argument("--solvers", default="fast,clarabel,pyscnn", help="also: al")
    parser.add_argument(
        "--clarabel-max-n", type=int, default=None, help="skip Clarabel above this n"
    )
    parser.add_argument("--sizes-only", default=None, help="e.g. 1000x50x200,2000x20x200")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    solvers = [s for s in args.solvers.split(",") if s]
    only = None
    if args.sizes_only:
        only = {tuple(int(v) for v in s.split("x")) for s in args.sizes_only.split(",")}
    rows: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    load_start = os.getloadavg()
    for problem in [p for p in args.problems.split(",") if p]:
        for n, d, P in SIZES[args.sizes][problem]:
            if only is not None and (n, d, P) not in only:
                continue
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
                    args.slow_seconds,
                    args.pyscnn_tol,
                )
            )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "solvers.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    load_end = os.getloadavg()
    header = (
        f"beta = {args.beta_rel} beta_max, fast tol = {args.tol}, pyscnn tol = "
        f"{args.pyscnn_tol}, up to {args.repeats} runs per cell (1 when the first exceeds "
        f"{args.slow_seconds:g} s), OMP_NUM_THREADS = {threads}, {os.cpu_count()} CPUs; load "
        f"average (1/5/15 min) {load_start[0]:.1f}/{load_start[1]:.1f}/{load_start[2]:.1f} at "
        f"start, {load_end[0]:.1f}/{load_end[1]:.1f}/{load_end[2]:.1f} at end; "
        f"{time.perf_counter() - t_start:.0f} s in all; CSV: {path}\n"
    )
    table = markdown_table(rows)
    (args.out / "solvers.md").write_text(header + "\n" + table)
    print(header)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
