"""Shared pieces of the sub-commands: argparse value types, output printing, scale names.

Only the standard library is imported here, so building the parser (``harness --help``)
stays fast; every command imports what it computes with inside its handler.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, InputError
from harness.scales import DEFAULT_SCALE as DEFAULT_SCALE
from harness.scales import SCALE_NAMES

#: Result scales of every spec (the names of ``[scales.*]`` tables), smallest first.
SCALES = SCALE_NAMES
DEFAULT_RESULTS_DIR = "results"
DEFAULT_FIGURES_DIR = "figures"
DEFAULT_EXPERIMENTS_DIR = "experiments"
#: Execution backends of the sweep engine (``harness.sweep.runner.BACKENDS``).
BACKENDS = ("loky", "dask")


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be a number > 0; got {text!r}") from exc
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0; got {text!r}")
    return value


def finite_float(text: str) -> float:
    """argparse type: any finite number."""
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be a finite number; got {text!r}") from exc
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number; got {text!r}")
    return value


def int_at_least(low: int) -> Callable[[str], int]:
    """argparse type factory: an integer ``>= low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}; got {text!r}") from exc
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}; got {text!r}")
        return value

    parse.__name__ = f"int_at_least_{low}"
    return parse


positive_int = int_at_least(1)
nonneg_int = int_at_least(0)


def jobs(text: str) -> int:
    """argparse type: worker processes, an integer >= 1 or -1 (all cores)."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 or -1; got {text!r}") from exc
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 or -1; got {text!r}")
    return value


def require_experiments_dir(path: str) -> None:
    """``--experiments-dir`` must be a folder: one ``error:`` line before any import.

    Without this check a mistyped folder ran every command on "no spec" (``reproduce``
    wrote a report of NOT-RUN verdicts and exited 0).
    """
    if not Path(path).is_dir():
        raise HarnessError(f"--experiments-dir: {path} is not a folder")


def require_specs(names: tuple[str, ...], experiments_dir: str) -> None:
    """Each ``experiments_dir/NAME.toml`` exists (the message of
    :func:`harness.figures.find_spec`), checked before the numerical modules are imported."""
    require_experiments_dir(experiments_dir)
    for name in names:
        path = Path(experiments_dir) / f"{name}.toml"
        if not path.is_file():
            raise HarnessError(f"experiment spec {path} not found")


def require_instance_file(path: str) -> None:
    """The instance file exists (the message of :func:`harness.instances.load_instance`),
    checked before numpy and the solvers are imported."""
    if not Path(path).is_file():
        raise InputError(f"instance file not found: {Path(path)}")


def add_scale(p: argparse.ArgumentParser, default: str | None = DEFAULT_SCALE) -> None:
    """``--scale {quick,paper}``."""
    where = f"default {default}" if default else "default: every stored scale"
    p.add_argument("--scale", choices=SCALES, default=default, help=f"result scale ({where})")


def add_results_dir(p: argparse.ArgumentParser) -> None:
    """``--results-dir DIR`` (default ``results``)."""
    p.add_argument(
        "--results-dir", default=DEFAULT_RESULTS_DIR, help="results directory (default results/)"
    )


def add_jobs(p: argparse.ArgumentParser, default: int) -> None:
    """``--jobs N``, ``--backend`` and ``--scheduler`` of the commands that run sweeps."""
    p.add_argument(
        "--jobs",
        type=jobs,
        default=default,
        help=f"worker processes, -1: all cores (default {default})",
    )
    p.add_argument("--backend", choices=BACKENDS, default="loky")
    p.add_argument(
        "--scheduler",
        default=None,
        help="address of an existing dask scheduler, e.g. tcp://host:8786 (with --backend dask)",
    )


def json_default(value: Any) -> Any:
    """``json.dumps`` hook: numpy scalars become Python scalars."""
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        return item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(obj: dict[str, Any]) -> None:
    """Print one JSON object on one line (NaN allowed, numpy scalars converted)."""
    print(json.dumps(obj, sort_keys=False, default=json_default, allow_nan=True))


def print_table(rows: dict[str, Any]) -> None:
    """Print ``key  value`` lines, keys aligned; floats with 10 significant digits."""
    width = max((len(k) for k in rows), default=0)
    for key, value in rows.items():
        text = f"{value:.10g}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {text}")


def print_record(rows: dict[str, Any], as_json: bool) -> None:
    """:func:`print_json` or :func:`print_table`."""
    if as_json:
        print_json(rows)
    else:
        print_table(rows)
