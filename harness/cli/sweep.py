"""``harness run | status | show | clean``: the sweep engine's sub-commands.

:func:`add_subcommands` is called by :func:`harness.cli.app.build_parser`; each handler
returns the exit code and raises :class:`harness.errors.HarnessError` (printed as one
line, exit 2) for user errors, before anything is written.
"""

from __future__ import annotations

import argparse
from typing import Any

from harness.cli.args import (
    DEFAULT_SCALE,
    SCALES,
    add_jobs,
    add_results_dir,
    add_scale,
    positive_int,
)
from harness.errors import DataError, HarnessError


def add_subcommands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``run``, ``status``, ``show`` and ``clean`` on ``subparsers``."""
    p = subparsers.add_parser(
        "run",
        help="run an experiment spec (resumes; --force recomputes)",
        description="Run every pending point of a spec and compact results/NAME/SCALE.parquet.",
    )
    p.add_argument("spec", help="spec file, e.g. experiments/demo_small.toml")
    add_scale(p, DEFAULT_SCALE)
    add_jobs(p, default=1)
    p.add_argument("--force", action="store_true", help="recompute points already stored")
    p.add_argument(
        "--allow-large",
        action="store_true",
        help="run a grid above the size limit (harness.sweep.grid.MAX_POINTS points)",
    )
    add_results_dir(p)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=cmd_run)

    p = subparsers.add_parser("status", help="done / failed / pending points of a spec per scale")
    p.add_argument("spec", help="spec file")
    add_results_dir(p)
    p.set_defaults(func=cmd_status)

    p = subparsers.add_parser("show", help="print a compact table of stored results")
    p.add_argument("name", help="spec name (or spec file)")
    add_scale(p, None)
    add_results_dir(p)
    p.add_argument("--rows", type=positive_int, default=20, help="rows to print (default 20)")
    p.add_argument(
        "--columns",
        default=None,
        help="comma-separated columns to print (also derived: pstar_width_rel)",
    )
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COL=VALUE",
        help="keep rows whose column equals VALUE (as text); repeatable",
    )
    p.add_argument(
        "--median-by",
        default=None,
        metavar="COLS",
        help="with --columns: one line per group of these columns, the median of each column "
        "and the row count",
    )
    p.set_defaults(func=cmd_show)

    p = subparsers.add_parser("clean", help="delete results/NAME")
    p.add_argument("name", help="spec name (or spec file)")
    add_results_dir(p)
    p.set_defaults(func=cmd_clean)


def cmd_run(args: argparse.Namespace) -> int:
    """``harness run``: exit 0 when every point is ok, 1 when some failed."""
    from harness.sweep import load_spec

    if args.scheduler is not None and args.backend != "dask":
        raise HarnessError("--scheduler needs --backend dask")
    spec = load_spec(args.spec)  # spec errors answer before the runner is imported
    from harness.sweep import run_spec

    summary = run_spec(
        spec,
        scale=args.scale,
        n_jobs=args.jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        force=args.force,
        results_dir=args.results_dir,
        progress=not args.no_progress,
        allow_large=args.allow_large,
    )
    print(summary.format())
    return 1 if summary.failed else 0


def cmd_status(args: argparse.Namespace) -> int:
    """``harness status``: per scale, how many points are done, failed and pending.

    A grid above the size limit is counted, not expanded (it could not be run without
    ``--allow-large`` anyway), so the command answers at once on any spec.
    """
    from harness.sweep import load_spec

    spec = load_spec(args.spec)  # spec errors answer before the store is imported
    from harness.sweep import ResultStore, expand_grid
    from harness.sweep.grid import MAX_POINTS, grid_size

    store = ResultStore(args.results_dir, spec.name)
    states = store.point_states()
    print(f"spec '{spec.name}' ({spec.path}), kind {spec.kind}, results in {store.root}")
    print(f"{'scale':<6} {'points':>7} {'done':>7} {'failed':>7} {'pending':>7}  table")
    for scale in SCALES:
        size = grid_size(spec, scale)
        if size > MAX_POINTS:
            print(
                f"{scale:<6} {size:>7} {'-':>7} {'-':>7} {'-':>7}  over the limit of {MAX_POINTS}"
            )
            continue
        keys = [p.cache_key for p in expand_grid(spec, scale)]
        done = sum(states.get(k) == "ok" for k in keys)
        failed = sum(states.get(k) == "failed" for k in keys)
        pending = len(keys) - done - failed
        table = store.table_path(scale)
        where = str(table) if table.is_file() else "-"
        print(f"{scale:<6} {len(keys):>7} {done:>7} {failed:>7} {pending:>7}  {where}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """``harness show``: varying parameters and measured columns, fixed values on top."""
    from pathlib import Path

    name = _name(args.name)
    root = Path(args.results_dir) / name
    plain = name not in ("", ".", "..") and not any(c in name for c in "/\\")
    if plain and not root.is_dir():  # answered before pandas is imported
        raise HarnessError(f"no results for '{name}' in {root}")
    from harness.sweep import ResultStore

    store = ResultStore(args.results_dir, name)
    scales = [args.scale] if args.scale else store.scales()
    if not scales:
        raise HarnessError(f"no results for '{store.name}' in {store.root}")
    if args.median_by and not args.columns:
        raise HarnessError("--median-by needs --columns (the columns to take medians of)")
    for scale in scales:
        table = _with_derived(_filtered(_load_table(store, scale), args.where))
        if args.median_by:
            print(_format_medians(store.name, scale, table, args.median_by, args.columns))
        else:
            print(_format_table(store.name, scale, table, args.rows, args.columns))
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    """``harness clean``: delete the results folder of a spec name."""
    name = _name(args.name)  # spec errors answer before the store is imported
    from harness.sweep import ResultStore

    store = ResultStore(args.results_dir, name)
    if store.clean():
        print(f"removed {store.root}")
    else:
        print(f"nothing to remove at {store.root}")
    return 0


def _name(text: str) -> str:
    """A spec name, given directly or as the path of its spec file."""
    if text.endswith(".toml"):
        from harness.sweep import load_spec

        return load_spec(text).name
    return text


def _load_table(store: Any, scale: str) -> Any:
    """``store.load(scale)``; an unreadable (truncated, corrupt) table is a ``DataError``."""
    try:
        return store.load(scale)
    except HarnessError:
        raise
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(
            f"cannot read the table {store.table_path(scale)}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}; delete it and rerun "
            f"`harness run` to rebuild it from the point files"
        ) from exc


def _filtered(table: Any, where: list[str]) -> Any:
    """Rows whose column equals the value of every ``COL=VALUE`` (compared as text)."""
    for cond in where:
        col, sep, value = cond.partition("=")
        if not sep or not col:
            raise HarnessError(f"--where must be COL=VALUE; got {cond!r}")
        if col not in table.columns:
            raise HarnessError(
                f"unknown --where column {col!r}; columns are {sorted(table.columns)}"
            )
        table = table[table[col].astype(str) == value]
    return table


def _with_derived(table: Any) -> Any:
    """The table with ``pstar_width_rel = (pstar_upper - pstar_lower) / pstar_upper`` (the
    relative width of the p* bracket) added where both ends are stored."""
    if {"pstar_lower", "pstar_upper"} <= set(table.columns):
        table = table.assign(
            pstar_width_rel=(table["pstar_upper"] - table["pstar_lower"]) / table["pstar_upper"]
        )
    return table


def _format_medians(name: str, scale: str, table: Any, by: str, columns: str) -> str:
    """One line per group of ``by``: the row count and the median of each of ``columns``."""
    import pandas as pd

    keys = [c.strip() for c in by.split(",") if c.strip()]
    wanted = [c.strip() for c in columns.split(",") if c.strip()]
    missing = [c for c in keys + wanted if c not in table.columns]
    if missing:
        raise HarnessError(
            f"unknown column(s) {missing}; columns are {sorted(map(str, table.columns))}"
        )
    head = f"== {name} [{scale}]: medians over {len(table)} rows by {', '.join(keys)}"
    if table.empty:
        return head
    values = table[wanted].apply(pd.to_numeric, errors="coerce")
    grouped = pd.concat([table[keys], values], axis=1).groupby(keys, sort=True)
    out = grouped.median().assign(rows=grouped.size()).reset_index()
    with pd.option_context("display.width", 200, "display.max_columns", 40):
        text = out.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    return head + "\n" + text


def _format_table(name: str, scale: str, table: Any, max_rows: int, columns: str | None) -> str:
    import pandas as pd

    from harness.sweep.runner import ENGINE_COLUMNS

    n_ok = int((table["point_status"] == "ok").sum()) if "point_status" in table else 0
    head = f"== {name} [{scale}]: {len(table)} rows ({n_ok} ok, {len(table) - n_ok} failed)"
    if table.empty:
        return head
    if columns:
        wanted = [c.strip() for c in columns.split(",") if c.strip()]
        missing = [c for c in wanted if c not in table.columns]
        if missing:
            raise HarnessError(
                f"unknown column(s) {missing}; columns are {sorted(map(str, table.columns))}"
            )
        body = table[wanted]
        fixed_line = ""
    else:
        keep = ("point_status", "seed_index")
        data_cols = [c for c in table.columns if c not in ENGINE_COLUMNS or c in keep]
        body = table[data_cols]
        fixed = {c: body[c].iloc[0] for c in body.columns if body[c].nunique(dropna=False) == 1}
        body = body[[c for c in body.columns if c not in fixed]]
        fixed_line = "fixed: " + ", ".join(f"{k}={v}" for k, v in fixed.items()) if fixed else ""
    shown = body.head(max_rows)
    with pd.option_context("display.width", 200, "display.max_columns", 40):
        text = shown.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    lines = [head]
    if fixed_line:
        lines.append(fixed_line)
    lines.append(text)
    if len(body) > max_rows:
        lines.append(f"... {len(body) - max_rows} more rows (use --rows)")
    return "\n".join(lines)
