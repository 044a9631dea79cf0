"""``harness table1`` and ``harness fig-deep``: Ergen & Pilanci 2021, THEORY.md Part B.

Each command (1) loads its specs and refuses, before anything runs, any point whose
program (13) would exceed its ``max_memory_gb`` (one ``error:`` line with the size, exit 2;
:func:`harness.kinds.deep.check_point_memory`); (2) runs the pending points (resumable, as
``harness run``); (3) writes its output atomically (:mod:`harness.atomic`): ``table1`` ->
``results/table1.md`` and ``results/table1.csv`` with the E3/E4 verdicts; ``fig-deep`` ->
the figures ``deep1`` and ``deep2``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from harness.cli.args import (
    DEFAULT_EXPERIMENTS_DIR,
    DEFAULT_FIGURES_DIR,
    add_jobs,
    add_results_dir,
    add_scale,
    require_specs,
)

#: Specs of each command.
TABLE1_SPECS = ("deep_uci",)
FIG_DEEP_SPECS = ("deep_synthetic", "deep_fmnist")


def add_subcommands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``table1`` and ``fig-deep``."""
    t = sub.add_parser(
        "table1",
        help="Ergen & Pilanci 2021 Table 1: run deep_uci, write results/table1.md and .csv",
    )
    f = sub.add_parser(
        "fig-deep",
        help="Ergen & Pilanci 2021 Fig. 4, 5/6: run deep_synthetic, deep_fmnist; draw deep1, deep2",
    )
    for p, fn in ((t, cmd_table1), (f, cmd_fig_deep)):
        add_scale(p)
        add_jobs(p, default=1)
        add_results_dir(p)
        p.add_argument("--experiments-dir", default=DEFAULT_EXPERIMENTS_DIR)
        p.set_defaults(func=fn)
    f.add_argument("--figures-dir", default=DEFAULT_FIGURES_DIR)


def preflight(
    spec_names: Sequence[str], scale: str, experiments_dir: str = DEFAULT_EXPERIMENTS_DIR
) -> int:
    """Refuse, before anything runs, missing data, a too-large grid or a (13) too large.

    Returns the number of points of the specs at ``scale``
    (:func:`harness.pipeline.preflight_specs` does the checks). A missing folder or spec
    file is refused before the numerical modules are imported.
    """
    require_specs(tuple(spec_names), experiments_dir)
    from harness.figures import find_spec
    from harness.pipeline import preflight_specs
    from harness.sweep import expand_grid

    specs = [find_spec(name, experiments_dir) for name in spec_names]
    preflight_specs(specs, scale)
    return sum(len(expand_grid(spec, scale)) for spec in specs)


def _run(args: argparse.Namespace, spec_name: str) -> None:
    from harness.errors import HarnessError
    from harness.figures import find_spec
    from harness.sweep import run_spec

    if args.scheduler is not None and args.backend != "dask":
        raise HarnessError("--scheduler needs --backend dask")
    summary = run_spec(
        find_spec(spec_name, args.experiments_dir),
        scale=args.scale,
        n_jobs=args.jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        results_dir=args.results_dir,
        progress=False,
    )
    print(summary.format())


def cmd_table1(args: argparse.Namespace) -> int:
    """Preflight, run ``deep_uci``, write Table 1 beside the paper's with E3/E4."""
    require_specs(TABLE1_SPECS, args.experiments_dir)  # before the numerical imports
    from pathlib import Path

    from harness.atomic import atomic_write_text
    from harness.deep.table1 import table1_frame, table1_markdown
    from harness.predictions import load_checks
    from harness.sweep import load_results

    preflight(TABLE1_SPECS, args.scale, args.experiments_dir)
    for name in TABLE1_SPECS:
        _run(args, name)
    df = load_results("deep_uci", args.scale, args.results_dir)
    checks = load_checks()
    claims = {
        "E3": "convex training objective <= SGD's on every set",
        "E4": "convex test error lower on >= 5 of 6 sets",
    }
    verdicts = []
    for cid, claim in claims.items():
        r = checks[cid].fn({"deep_uci": df})
        verdicts.append(f"* {cid} ({claim}): **{r.verdict}** — {r.explanation}")
    tab = table1_frame(df)
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "table1.csv", tab.to_csv(index=False))
    atomic_write_text(out / "table1.md", table1_markdown(tab, args.scale, verdicts))
    print(f"wrote {out / 'table1.md'} and {out / 'table1.csv'}")
    return 0


def cmd_fig_deep(args: argparse.Namespace) -> int:
    """Preflight, run ``deep_synthetic`` and ``deep_fmnist``, draw ``deep1`` and ``deep2``."""
    require_specs(FIG_DEEP_SPECS, args.experiments_dir)  # before the numerical imports
    from harness.figures import FIGURES, render_figure

    preflight(FIG_DEEP_SPECS, args.scale, args.experiments_dir)
    for name in FIG_DEEP_SPECS:
        _run(args, name)
    for fid in ("deep1", "deep2"):
        paths = render_figure(
            FIGURES[fid], args.scale, args.results_dir, args.figures_dir, args.experiments_dir
        )
        print(f"{fid}: {', '.join(str(p) for p in paths)}")
    return 0
