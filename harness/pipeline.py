"""``reproduce``: every experiment of the figures and checks, then checks, figures, report.

The pipeline is a library function (:func:`reproduce`) so that it can be run from Python
or a notebook; ``harness reproduce`` (and ``make reproduce``) only parse arguments and
call it. It is incremental: sweeps resume, so a second call recomputes nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import DataError, HarnessError

if TYPE_CHECKING:
    from harness.sweep.spec import Spec

#: Kinds whose points read the real data sets (MNIST, Fashion-MNIST, UCI).
DATA_KINDS = frozenset({"coupling", "regularization", "deep_uci", "deep_fmnist"})


@dataclass
class ReproduceSummary:
    """What :func:`reproduce` did; :attr:`exit_code` is the pipeline's health."""

    specs: list[str] = field(default_factory=list)
    skipped_specs: list[str] = field(default_factory=list)
    failed_points: int = 0
    figure_errors: int = 0
    report_paths: tuple[Path, ...] = ()
    wall_s: float = 0.0
    #: Per spec, what this call did: points, computed, reused (cached), failed, wall_s.
    spec_times: dict[str, dict[str, float]] = field(default_factory=dict)
    times_path: Path | None = None

    @property
    def exit_code(self) -> int:
        """1 when a point failed or a figure could not be drawn, else 0.

        Verdicts are reported, not turned into the exit code: ``harness check`` is the
        command whose exit code reflects FAIL verdicts.
        """
        return 1 if self.failed_points or self.figure_errors else 0


def check_data_available(kinds: set[str]) -> None:
    """Refuse (``DataError``) to start when a kind needs the data sets and none is found."""
    if not kinds & DATA_KINDS:
        return
    from harness.datasets import resolve_data_dir

    needs = sorted(kinds & DATA_KINDS)
    try:
        root = resolve_data_dir()
    except DataError as exc:
        raise DataError(
            f"the experiments of kind(s) {needs} need MNIST, Fashion-MNIST and the UCI sets, "
            f"which were not found; run `harness data fetch` first (or set HARNESS_DATA). {exc}"
        ) from exc
    if not (root / "SHA256SUMS").is_file():
        raise DataError(
            f"the experiments of kind(s) {needs} need MNIST, Fashion-MNIST and the UCI sets; "
            f"the data directory {str(root)!r} has no SHA256SUMS (empty or an interrupted "
            "fetch); run `harness data fetch` first (or set HARNESS_DATA)"
        )


def preflight_specs(specs: Sequence[Spec], scale: str) -> None:
    """Refuse, before any spec runs, a spec whose grid is too large or a point its kind refuses.

    ``run_spec`` checks the same for its own spec; checking every spec first means a refusal
    of a late spec leaves nothing written by the earlier ones.
    """
    from harness.kinds import get_kind
    from harness.sweep.grid import check_grid_size, expand_grid

    check_data_available({s.kind for s in specs})
    for spec in specs:
        check_grid_size(spec, scale, False)
        kind = get_kind(spec.kind)
        for point in expand_grid(spec, scale):
            kind.preflight(point.params)


def reproduce(
    scale: str = "standard",
    jobs: int = 2,
    backend: str = "loky",
    scheduler: str | None = None,
    results_dir: str | os.PathLike[str] = "results",
    figures_dir: str | os.PathLike[str] = "figures",
    experiments_dir: str | os.PathLike[str] = "experiments",
    say: Callable[[str], None] = print,
) -> ReproduceSummary:
    """Run the sweeps (resumed), then the checks, the figures and the report.

    Each spec's points (computed, reused from ``results_dir``, failed) and wall time are
    printed as it finishes and written to ``results_dir/reproduce_times_{scale}.json``
    (:attr:`ReproduceSummary.spec_times`): the measured run time of every spec.

    Parameters
    ----------
    scale : {"quick", "standard", "paper"}
        ``"standard"`` (default, :data:`harness.scales.REPRODUCE_SCALE`) is the budgeted
        evidence scale; ``"quick"`` the tiny scale of the tests.
    jobs, backend, scheduler
        Passed to :func:`harness.sweep.run_spec` (validated there).
    results_dir, figures_dir, experiments_dir : path
    say : callable
        Receives each progress line (``print`` by default).

    Raises
    ------
    DataError
        A needed data set is missing (before anything runs).
    SpecError
        Invalid scale, job count, backend or spec.
    """
    from harness import __version__
    from harness.figures import available_figures, find_spec, render_figure
    from harness.predictions import load_checks
    from harness.report import (
        format_verdicts,
        outcomes_json,
        run_checks,
        select_checks,
        write_json,
        write_report,
    )
    from harness.sweep import run_spec

    t0 = time.perf_counter()
    summary = ReproduceSummary()
    figs = available_figures(experiments_dir)
    names = sorted(
        {e for f in figs.values() for e in f.experiments}
        | {e for c in load_checks().values() for e in c.experiments}
    )
    specs = []
    for name in names:
        try:
            specs.append(find_spec(name, experiments_dir))
        except HarnessError:
            summary.skipped_specs.append(name)
            say(f"[reproduce] no spec for experiment '{name}' in {experiments_dir}/: skipped")
    preflight_specs(specs, scale)
    for i, spec in enumerate(specs, 1):
        say(f"[reproduce] ({i}/{len(specs)}) {spec.name} at scale {scale}")
        run = run_spec(
            spec,
            scale=scale,
            n_jobs=jobs,
            backend=backend,
            scheduler=scheduler,
            results_dir=results_dir,
        )
        summary.specs.append(spec.name)
        summary.failed_points += run.failed
        summary.spec_times[spec.name] = {
            "points": run.total,
            "computed": run.computed,
            "reused": run.skipped,
            "failed": run.failed,
            "wall_s": round(run.wall_s, 1),
        }
        say(
            f"[reproduce] {spec.name}: {run.computed} points computed, {run.skipped} reused, "
            f"{run.failed} failed in {run.wall_s:.0f} s"
        )
    sweeps_s = time.perf_counter() - t0
    summary.times_path = Path(results_dir) / f"reproduce_times_{scale}.json"
    summary.times_path.parent.mkdir(parents=True, exist_ok=True)
    write_json(
        summary.times_path,
        {
            "scale": scale,
            "jobs": jobs,
            "backend": backend,
            "harness_version": __version__,
            "sweeps_wall_s": round(sweeps_s, 1),
            "specs": summary.spec_times,
            "note": "wall times of this call; points reused from the results directory "
            "cost nothing here (a resumed run's times cover only what it computed)",
        },
    )
    say(f"[reproduce] sweeps took {sweeps_s:.0f} s; per-spec times in {summary.times_path}")
    outcomes = run_checks(select_checks(), scale, results_dir, experiments_dir)
    say(format_verdicts(outcomes, scale))
    for fid, fig in figs.items():
        try:
            paths = render_figure(fig, scale, results_dir, figures_dir, experiments_dir)
            say(f"[reproduce] {fid}: {', '.join(str(p) for p in paths)}")
        except HarnessError as exc:
            say(f"[reproduce] {fid}: error: {exc}")
            summary.figure_errors += 1
    md, html = write_report(outcomes, scale, results_dir, figures_dir, experiments_dir)
    write_json(Path(results_dir) / f"verdicts_{scale}.json", outcomes_json(outcomes, scale))
    summary.report_paths = (Path(md), Path(html))
    summary.wall_s = time.perf_counter() - t0
    say(f"[reproduce] wrote {md} and {html} in {summary.wall_s:.0f} s")
    if summary.failed_points or summary.figure_errors:
        say(
            f"[reproduce] {summary.failed_points} failed points, "
            f"{summary.figure_errors} figure errors"
        )
    return summary
