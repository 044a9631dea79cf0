"""Sub-commands ``check``, ``figures``, ``report`` and ``reproduce`` of the ``harness`` CLI."""

from __future__ import annotations

import argparse

from harness.cli.args import (
    DEFAULT_EXPERIMENTS_DIR,
    DEFAULT_FIGURES_DIR,
    add_jobs,
    add_results_dir,
    add_scale,
    require_experiments_dir,
)
from harness.errors import HarnessError
from harness.scales import DEFAULT_SCALE, REPRODUCE_SCALE


def _common(p: argparse.ArgumentParser, scale: str = DEFAULT_SCALE) -> None:
    add_scale(p, scale)
    add_results_dir(p)
    p.add_argument("--experiments-dir", default=DEFAULT_EXPERIMENTS_DIR, help="spec directory")


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
    p.add_argument("--figures-dir", default=DEFAULT_FIGURES_DIR)
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("report", help="write results/report.md and report.html")
    _common(p)
    p.add_argument("--figures-dir", default=DEFAULT_FIGURES_DIR)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "reproduce", help="run every experiment of the figures and checks, then check, plot, report"
    )
    _common(p, REPRODUCE_SCALE)
    p.add_argument("--figures-dir", default=DEFAULT_FIGURES_DIR)
    add_jobs(p, default=2)
    p.set_defaults(func=cmd_reproduce)


def cmd_check(args: argparse.Namespace) -> int:
    """Print the verdict table; exit code by :func:`harness.report.check_exit_code`."""
    require_experiments_dir(args.experiments_dir)
    from harness.report import (
        check_exit_code,
        format_verdicts,
        outcomes_json,
        run_checks,
        select_checks,
        write_json,
    )

    only = args.only.split(",") if args.only else None
    outcomes = run_checks(select_checks(only), args.scale, args.results_dir, args.experiments_dir)
    print(format_verdicts(outcomes, args.scale))
    if args.json:
        write_json(args.json, outcomes_json(outcomes, args.scale))
    return check_exit_code(outcomes)


def _figure_ids(only: str | None, experiments_dir: str) -> list[str]:
    from harness.figures import FIGURES, available_figures

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
    require_experiments_dir(args.experiments_dir)
    from harness.figures import FIGURES, render_figure

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
    require_experiments_dir(args.experiments_dir)
    from harness.report import run_checks, select_checks, write_report

    outcomes = run_checks(select_checks(), args.scale, args.results_dir, args.experiments_dir)
    md, html = write_report(
        outcomes, args.scale, args.results_dir, args.figures_dir, args.experiments_dir
    )
    print(f"wrote {md} and {html}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Sweeps (resumed), then checks, figures and the report: :func:`harness.pipeline.reproduce`."""
    if args.scheduler is not None and args.backend != "dask":
        raise HarnessError("--scheduler needs --backend dask")
    require_experiments_dir(args.experiments_dir)
    from harness.pipeline import reproduce

    summary = reproduce(
        scale=args.scale,
        jobs=args.jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        results_dir=args.results_dir,
        figures_dir=args.figures_dir,
        experiments_dir=args.experiments_dir,
    )
    return summary.exit_code
