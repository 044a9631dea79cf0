"""Sub-commands ``check``, ``figures``, ``report`` and ``reproduce`` of the ``harness`` CLI."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from harness.errors import HarnessError
from harness.figures import FIGURES, available_figures, find_spec
from harness.report import (
    format_verdicts,
    outcomes_json,
    run_checks,
    select_checks,
    write_json,
    write_report,
)

SCALES = ("quick", "paper")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", choices=SCALES, default="quick", help="result scale (default quick)")
    p.add_argument("--results-dir", default="results", help="results directory (default results/)")
    p.add_argument("--experiments-dir", default="experiments", help="spec directory")


def add_subcommands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``check``, ``figures``, ``report`` and ``reproduce``."""
    p = sub.add_parser("check", help="evaluate the papers' claims on stored results")
    _common(p)
    p.add_argument("--only", help="comma-separated check ids, e.g. P1,P4")
    p.add_argument("--json", metavar="FILE", help="also write the verdicts as JSON")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("figures", help="render figures from stored results")
    _common(p)
    p.add_argument("--only", help="comma-separated figure ids, e.g. fig1,fig3")
    p.add_argument("--figures-dir", default="figures")
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("report", help="write results/report.md and report.html")
    _common(p)
    p.add_argument("--figures-dir", default="figures")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "reproduce", help="run every experiment of the figures and checks, then check, plot, report"
    )
    _common(p)
    p.add_argument("--figures-dir", default="figures")
    p.add_argument("--jobs", type=int, default=2, help="parallel workers (default 2)")
    p.add_argument("--backend", choices=["loky", "dask"], default="loky")
    p.add_argument("--scheduler", default=None, help="dask scheduler address")
    p.set_defaults(func=cmd_reproduce)


def cmd_check(args: argparse.Namespace) -> int:
    """Print the verdict table; exit 1 if a check FAILS or an input is missing."""
    only = args.only.split(",") if args.only else None
    outcomes = run_checks(select_checks(only), args.scale, args.results_dir, args.experiments_dir)
    print(format_verdicts(outcomes, args.scale))
    if args.json:
        write_json(args.json, outcomes_json(outcomes, args.scale))
    return 1 if any(o.blocking for o in outcomes) else 0


def _figure_ids(only: str | None, experiments_dir: str) -> list[str]:
    figs = available_figures(experiments_dir)
    if not only:
        return list(figs)
    wanted = [f.strip() for f in only.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in FIGURES]
    if unknown:
        raise HarnessError(f"--only: unknown figure(s) {unknown}; valid ids are {list(FIGURES)}")
    absent = [f for f in wanted if f not in figs]
    if absent:
        raise HarnessError(
            f"figure(s) {absent} are not available in this checkout (spec or plotting module missing)"
        )
    return wanted


def cmd_figures(args: argparse.Namespace) -> int:
    """Render the requested figures; a figure with incomplete inputs fails with one line."""
    from harness.figures import render_figure

    errors = 0
    for fid in _figure_ids(args.only, args.experiments_dir):
        try:
            paths = render_figure(
                FIGURES[fid], args.scale, args.results_dir, args.figures_dir, args.experiments_dir
            )
            print(f"{fid}: " + ", ".join(str(p) for p in paths))
        except HarnessError as exc:
            if args.only and len(args.only.split(",")) == 1:
                raise
            print(f"{fid}: error: {exc}")
            errors += 1
    return 1 if errors else 0


def cmd_report(args: argparse.Namespace) -> int:
    """Run the checks and write the report files."""
    outcomes = run_checks(select_checks(), args.scale, args.results_dir, args.experiments_dir)
    md, html = write_report(
        outcomes, args.scale, args.results_dir, args.figures_dir, args.experiments_dir
    )
    print(f"wrote {md} and {html}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Sweeps (resumed), then checks, figures and the report; incremental on re-runs."""
    from harness.figures import render_figure
    from harness.predictions import load_checks
    from harness.sweep import run_spec

    t0 = time.perf_counter()
    figs = available_figures(args.experiments_dir)
    names = sorted(
        {e for f in figs.values() for e in f.experiments}
        | {e for c in load_checks().values() for e in c.experiments}
    )
    specs = []
    for name in names:
        try:
            specs.append(find_spec(name, args.experiments_dir))
        except HarnessError:
            print(
                f"[reproduce] no spec for experiment '{name}' in {args.experiments_dir}/: skipped"
            )
    failed_points = 0
    for i, spec in enumerate(specs, 1):
        print(f"[reproduce] ({i}/{len(specs)}) {spec.name} at scale {args.scale}")
        summary = run_spec(
            spec,
            scale=args.scale,
            n_jobs=args.jobs,
            backend=args.backend,
            scheduler=args.scheduler,
            results_dir=args.results_dir,
        )
        failed_points += summary.failed
    outcomes = run_checks(select_checks(), args.scale, args.results_dir, args.experiments_dir)
    print(format_verdicts(outcomes, args.scale))
    fig_errors = 0
    for fid, fig in figs.items():
        try:
            paths = render_figure(
                fig, args.scale, args.results_dir, args.figures_dir, args.experiments_dir
            )
            print(f"[reproduce] {fid}: {', '.join(str(p) for p in paths)}")
        except HarnessError as exc:
            print(f"[reproduce] {fid}: error: {exc}")
            fig_errors += 1
    md, html = write_report(
        outcomes, args.scale, args.results_dir, args.figures_dir, args.experiments_dir
    )
    write_json(
        Path(args.results_dir) / f"verdicts_{args.scale}.json", outcomes_json(outcomes, args.scale)
    )
    print(f"[reproduce] wrote {md} and {html} in {time.perf_counter() - t0:.0f} s")
    if failed_points or fig_errors:
        print(f"[reproduce] {failed_points} failed points, {fig_errors} figure errors")
    # the pipeline's own health decides the exit code; verdicts are reported, and
    # `harness check` is the command whose exit code reflects FAIL verdicts
    return 1 if failed_points or fig_errors else 0
