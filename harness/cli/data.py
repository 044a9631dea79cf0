"""``harness data fetch [--dest DIR] [--only NAMES] [--mirror URL]``."""

from __future__ import annotations

import argparse


def add_subcommands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``data`` with its action ``fetch``."""
    p = sub.add_parser("data", help="download the data sets (MNIST, Fashion-MNIST, UCI)")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    f = actions.add_parser(
        "fetch",
        help="download, verify against the shipped checksums, resume, write atomically",
        description=(
            "Download MNIST, Fashion-MNIST and the UCI collection from their canonical public "
            "locations (or from --mirror, a copy of the harness's data layout), verify every "
            "file against the checksums the harness ships and install it atomically. Cut "
            "transfers resume where they stopped. Default folder: $HARNESS_DATA, else "
            "~/.local/share/convex-nn-harness/data, where the loaders also look."
        ),
    )
    f.add_argument("--dest", default=None, help="target folder (created if missing)")
    f.add_argument(
        "--only", default=None, help="comma-separated data sets among mnist,fashion-mnist,uci"
    )
    f.add_argument("--mirror", default=None, help="base URL of a copy of the data layout")
    f.set_defaults(func=cmd_fetch)


def cmd_fetch(args: argparse.Namespace) -> int:
    """Run :func:`harness.fetch.fetch`; failures are one ``error:`` line (exit 2)."""
    from harness.fetch import DATASETS, fetch

    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else DATASETS
    summary = fetch(args.dest, names, mirror=args.mirror)
    print(
        f"data in {summary.dest}: {len(summary.written)} files written, "
        f"{len(summary.present)} already present and verified"
    )
    return 0
