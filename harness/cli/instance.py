"""``harness instance | patterns | solve | demo``: one instance file at a time."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from harness.cli.args import (
    nonneg_int,
    positive_float,
    positive_int,
    print_record,
    require_instance_file,
)
from harness.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from harness.patterns import PatternSet


def add_subcommands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``instance``, ``patterns``, ``solve`` and ``demo``."""
    p = sub.add_parser("instance", help="generate a Gaussian (A1) instance file (.npz)")
    p.add_argument("--n", type=positive_int, required=True, help="number of samples")
    p.add_argument("--d", type=positive_int, required=True, help="dimension")
    p.add_argument("--labels", choices=["planted", "gaussian"], default="planted")
    p.add_argument("--width", type=positive_int, default=5, help="planted teacher width")
    p.add_argument("--noise", type=float, default=0.0, help="label noise std (planted)")
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--out", required=True, help="output .npz path")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_instance)

    p = sub.add_parser("patterns", help="sample or enumerate hyperplane-arrangement patterns")
    p.add_argument("instance", help="instance .npz file")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--sample", type=positive_int, metavar="P", help="draw P Gaussian h")
    g.add_argument("--all", action="store_true", help="enumerate every pattern exactly")
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--cap", type=positive_int, default=20_000, help="enumeration cap")
    p.add_argument("--out", help="write X, y and the patterns D to this .npz")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_patterns)

    p = sub.add_parser("solve", help="solve a convex formulation on an instance")
    p.add_argument("instance", help="instance .npz file")
    p.add_argument("--beta", type=positive_float, required=True, help="weight decay > 0")
    p.add_argument("--formulation", choices=["relu", "gated", "full"], default="relu")
    p.add_argument("--patterns", type=positive_int, metavar="P", help="sample P patterns")
    p.add_argument("--seed", type=nonneg_int, default=0, help="pattern-sampling seed")
    p.add_argument("--solver", default="clarabel", help="solver name (clarabel, fast; al for relu)")
    p.add_argument("--tol", type=positive_float, default=None, help="solver tolerance")
    p.add_argument("--cap", type=positive_int, default=20_000, help="enumeration cap (full)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("demo", help="one small instance through every formulation")
    p.add_argument("--n", type=positive_int, default=40)
    p.add_argument("--d", type=positive_int, default=3)
    p.add_argument("--patterns", type=positive_int, default=20, metavar="P")
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--beta-rel", type=positive_float, default=0.05, help="beta / beta_max")
    p.set_defaults(func=cmd_demo)


def cmd_instance(args: argparse.Namespace) -> int:
    """Write a Gaussian instance to ``--out``."""
    from harness.atomic import check_output_path

    out = check_output_path(args.out)  # before numpy is imported
    from harness.instances import gaussian_instance, save_instance

    inst = gaussian_instance(
        args.n, args.d, args.seed, labels=args.labels, width=args.width, noise=args.noise
    )
    save_instance(out, inst)
    summary = {"out": str(out), "n": inst.n, "d": inst.d, "labels": args.labels, "seed": args.seed}
    print_record(summary, args.json)
    return 0


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


def cmd_patterns(args: argparse.Namespace) -> int:
    """Sample or enumerate the patterns of an instance; optionally write them."""
    from harness.atomic import check_output_path

    out = check_output_path(args.out) if args.out else None
    require_instance_file(args.instance)  # before numpy is imported
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
    if out is not None:
        save_instance(out, Instance(X=inst.X, y=inst.y, D=ps.D, teacher=inst.teacher))
        summary["out"] = str(out)
    print_record(summary, args.json)
    return 0


def cmd_solve(args: argparse.Namespace) -> int:
    """Solve one formulation; exit 1 when the solve did not succeed."""
    require_instance_file(args.instance)  # before numpy and the solvers are imported
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
        from harness.formulations import active_mask
        from harness.mapping import relu_network_value

        U, V = res.variables["U"], res.variables["V"]
        record["mapped_objective"] = relu_network_value(inst.X, inst.y, U, V, args.beta)
        record["n_neurons"] = int(active_mask(U, 0.0).sum() + active_mask(V, 0.0).sum())
    print_record(record, args.json)
    return 0 if res.status in ("optimal", "inaccurate") else 1


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the demo; exit 1 when one of its checks fails."""
    from harness.demo import format_demo, run_demo

    report = run_demo(n=args.n, d=args.d, P=args.patterns, seed=args.seed, beta_rel=args.beta_rel)
    print(format_demo(report))
    return 0 if report.ok else 1
