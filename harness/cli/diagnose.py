"""``harness diagnose INSTANCE.npz --beta B [--patterns P --seed S] [--json]``.

Prints the flat record of :func:`harness.diagnose.diagnose` (THEORY.md §A4, §A5,
§3.4, Part D): one ``key  value`` line per field, or one JSON object with ``--json``.
"""

from __future__ import annotations

import argparse
from typing import Any

from harness.cli.args import int_at_least, positive_float, print_record, require_instance_file
from harness.errors import InputError

#: Largest ``--patterns`` accepted (the solves are dense in P).
MAX_PATTERNS = 100_000


def add_diagnose_subcommand(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``diagnose`` on an argparse sub-parsers object; returns its parser."""
    p = subparsers.add_parser(
        "diagnose",
        help="kappa, certified p* bracket, relaxations, MAX-CUT and cone sharpness of an instance",
    )
    p.add_argument("instance", help="instance .npz file (X, y, optional D)")
    p.add_argument("--beta", type=positive_float, required=True, help="weight decay > 0")
    p.add_argument(
        "--patterns",
        type=int_at_least(1),
        default=None,
        metavar="P",
        help="sample P Gaussian patterns (default: D from the file, else 100)",
    )
    p.add_argument("--seed", type=int_at_least(0), default=0, help="seed of all randomness")
    p.add_argument("--solver", default="clarabel", help="convex solver (clarabel, fast)")
    p.add_argument(
        "--cap",
        type=int_at_least(0),
        default=None,
        help="enumerate the arrangement when Cover's count is at most this (0: never)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_diagnose)
    return p


def add_subcommands(subparsers: Any) -> None:
    """Register ``diagnose`` (called by :func:`harness.cli.app.build_parser`)."""
    add_diagnose_subcommand(subparsers)


def run_diagnose(args: argparse.Namespace) -> int:
    """Handler of ``harness diagnose``; returns the exit code (errors raise HarnessError)."""
    require_instance_file(args.instance)  # before cvxpy and the certificates are imported
    from harness.certificates import DEFAULT_ENUMERATE_CAP
    from harness.diagnose import diagnose
    from harness.instances import load_instance, make_rng

    inst = load_instance(args.instance)
    rng = make_rng(args.seed)
    D = None
    if args.patterns is None and inst.D is not None:
        D = inst.D
        source = "file"
    else:
        source = "sampled"
    cap = DEFAULT_ENUMERATE_CAP if args.cap is None else args.cap
    if args.patterns is not None and args.patterns > MAX_PATTERNS:
        raise InputError(
            f"--patterns must be an integer in [1, {MAX_PATTERNS}]; got {args.patterns}"
        )
    rec = diagnose(
        inst.X,
        inst.y,
        args.beta,
        rng=rng,
        D=D,
        P=args.patterns,
        solver=args.solver,
        enumerate_cap=cap,
    )
    rec["pattern_source"] = source
    rec["seed"] = args.seed
    print_record(rec, args.json)
    return 0
