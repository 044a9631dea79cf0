"""Command-line interface: ``harness <command> ...`` (argparse).

Every user error is a :class:`harness.errors.HarnessError`: the CLI prints one line
``error: <message>`` on stderr and exits with code 2, writing nothing. Commands that
write files write them atomically, after all validation.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness import __version__
from harness.errors import HarnessError, InputError
from harness.patterns import PatternSet

#: Modules contributing sub-commands through ``add_subcommands(subparsers)``.
_PLUGIN_MODULES = (
    "harness.cli.diagnose",
    "harness.cli.sweep",
    "harness.cli.report",
)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be a number > 0; got {text!r}") from exc
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0; got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {text!r}")
    return value


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {text!r}") from exc
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {text!r}")
    return value


def _print_json(obj: dict[str, Any]) -> None:
    print(json.dumps(obj, indent=None, sort_keys=True, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _print_table(rows: dict[str, Any]) -> None:
    width = max(len(k) for k in rows)
    for key, value in rows.items():
        text = f"{value:.10g}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {text}")


# --------------------------------------------------------------------------- instance
def _cmd_instance(args: argparse.Namespace) -> int:
    from harness.instances import gaussian_instance, save_instance

    out = Path(args.out)
    if not out.parent.exists():
        raise InputError(f"--out: directory {out.parent} does not exist")
    inst = gaussian_instance(
        args.n, args.d, args.seed, labels=args.labels, width=args.width, noise=args.noise
    )
    save_instance(out, inst)
    summary = {"out": str(out), "n": inst.n, "d": inst.d, "labels": args.labels, "seed": args.seed}
    _print_json(summary) if args.json else _print_table(summary)
    return 0


# --------------------------------------------------------------------------- patterns
def _patterns_for(
    X: np.ndarray, sample: int | None, seed: int, enumerate_all: bool, cap: int
) -> PatternSet:
    from harness.instances import make_rng
    from harness.patterns import enumerate_pattern_set, sample_patterns

    if enumerate_all:
        return enumerate_pattern_set(X, cap=cap)
    if sample is None:
        raise InputError("pass --patterns P (or --sample P) to sample patterns")
    return sample_patterns(X, sample, make_rng(seed))


def _cmd_patterns(args: argparse.Namespace) -> int:
    from harness.instances import Instance, load_instance, save_instance

    inst = load_instance(args.instance)
    ps = _patterns_for(inst.X, args.sample, args.seed, args.all, args.cap)
    summary: dict[str, Any] = {
        "count": ps.P_unique,
        "P_requested": ps.P_requested,
        "method": "enumerate" if args.all else "sample",
        "n": inst.n,
        "d": inst.d,
    }
    if args.out:
        out = Path(args.out)
        if not out.parent.exists():
            raise InputError(f"--out: directory {out.parent} does not exist")
        save_instance(out, Instance(X=inst.X, y=inst.y, D=ps.D, teacher=inst.teacher))
        summary["out"] = str(out)
    _print_json(summary) if args.json else _print_table(summary)
    return 0


# --------------------------------------------------------------------------- solve
def _cmd_solve(args: argparse.Namespace) -> int:
    from harness.instances import load_instance
    from harness.solvers.registry import solve

    inst = load_instance(args.instance)
    if args.formulation == "full":
        ps = _patterns_for(inst.X, None, args.seed, True, args.cap)
        D, source = ps.D, "enumerated"
    elif inst.D is not None and args.patterns is None:
        D, source = inst.D, "file"
    else:
        if args.patterns is None:
            raise InputError(
                f"{args.instance} has no patterns 'D': pass --patterns P (and --seed S)"
            )
        ps = _patterns_for(inst.X, args.patterns, args.seed, False, args.cap)
        D, source = ps.D, "sampled"
    opts: dict[str, Any] = {}
    if args.tol is not None:
        opts["tol"] = args.tol
    res = solve(args.formulation, inst.X, inst.y, D, args.beta, solver=args.solver, **opts)
    record = res.to_record()
    record["formulation"] = args.formulation
    record["beta"] = args.beta
    record["pattern_source"] = source
    if res.ok and args.formulation in ("relu", "full"):
        from harness.formulations import network_objective
        from harness.mapping import convex_to_network

        U_net, alpha = convex_to_network(res.variables["U"], res.variables["V"])
        record["mapped_objective"] = network_objective(inst.X, inst.y, U_net, alpha, args.beta)
        record["n_neurons"] = int(alpha.size)
    _print_json(record) if args.json else _print_table(record)
    return 0 if res.status in ("optimal", "inaccurate") else 1


# --------------------------------------------------------------------------- demo
def _cmd_demo(args: argparse.Namespace) -> int:
    from harness.demo import format_demo, run_demo

    report = run_demo(n=args.n, d=args.d, P=args.patterns, seed=args.seed, beta_rel=args.beta_rel)
    print(format_demo(report))
    return 0 if report.ok else 1


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The ``harness`` argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Theory-verification harness for convex neural networks (THEORY.md).",
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("instance", help="generate a Gaussian (A1) instance file (.npz)")
    p.add_argument("--n", type=_positive_int, required=True, help="number of samples")
    p.add_argument("--d", type=_positive_int, required=True, help="dimension")
    p.add_argument("--labels", choices=["planted", "gaussian"], default="planted")
    p.add_argument("--width", type=_positive_int, default=5, help="planted teacher width")
    p.add_argument("--noise", type=float, default=0.0, help="label noise std (planted)")
    p.add_argument("--seed", type=_nonneg_int, default=0)
    p.add_argument("--out", required=True, help="output .npz path")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_instance)

    p = sub.add_parser("patterns", help="sample or enumerate hyperplane-arrangement patterns")
    p.add_argument("instance", help="instance .npz file")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--sample", type=_positive_int, metavar="P", help="draw P Gaussian h")
    g.add_argument("--all", action="store_true", help="enumerate every pattern exactly")
    p.add_argument("--seed", type=_nonneg_int, default=0)
    p.add_argument("--cap", type=_positive_int, default=20_000, help="enumeration cap")
    p.add_argument("--out", help="write X, y and the patterns D to this .npz")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_patterns)

    p = sub.add_parser("solve", help="solve a convex formulation on an instance")
    p.add_argument("instance", help="instance .npz file")
    p.add_argument("--beta", type=_positive_float, required=True, help="weight decay > 0")
    p.add_argument("--formulation", choices=["relu", "gated", "full"], default="relu")
    p.add_argument("--patterns", type=_positive_int, metavar="P", help="sample P patterns")
    p.add_argument("--seed", type=_nonneg_int, default=0, help="pattern-sampling seed")
    p.add_argument("--solver", default="clarabel", help="solver name (clarabel, fast; al for relu)")
    p.add_argument("--tol", type=_positive_float, default=None, help="solver tolerance")
    p.add_argument("--cap", type=_positive_int, default=20_000, help="enumeration cap (full)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_solve)

    p = sub.add_parser("demo", help="one small instance through every formulation")
    p.add_argument("--n", type=_positive_int, default=40)
    p.add_argument("--d", type=_positive_int, default=3)
    p.add_argument("--patterns", type=_positive_int, default=20, metavar="P")
    p.add_argument("--seed", type=_nonneg_int, default=0)
    p.add_argument("--beta-rel", type=_positive_float, default=0.05, help="beta / beta_max")
    p.set_defaults(func=_cmd_demo)

    for name in _PLUGIN_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # optional command group not present
            raise
        module.add_subcommands(sub)
    return parser


def _limit_blas_threads() -> None:
    """Pin BLAS to ``HARNESS_BLAS_THREADS`` threads (default 1) in this process.

    The harness's matrices are small (n up to a few thousand) and its parallelism comes from
    sweep workers; multi-threaded BLAS on them only adds contention, which on a loaded
    2-core machine made one demo 40x slower (175 s vs 4.5 s). Sweep workers pin themselves.
    """
    from threadpoolctl import threadpool_limits

    text = os.environ.get("HARNESS_BLAS_THREADS", "1")
    try:
        limit = int(text)
    except ValueError as exc:
        raise InputError(f"HARNESS_BLAS_THREADS must be an integer >= 1; got {text!r}") from exc
    if limit < 1:
        raise InputError(f"HARNESS_BLAS_THREADS must be an integer >= 1; got {text!r}")
    threadpool_limits(limits=limit, user_api="blas")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harness`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _limit_blas_threads()
        return int(args.func(args))
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
