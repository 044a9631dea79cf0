"""Helpers shared by the plotting modules: input validation, median/IQR curves, saving."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from harness.atomic import atomic_open
from harness.errors import HarnessError


def usable_table(
    df: pd.DataFrame | None, required: Sequence[str], what: str, *, require_values: bool = False
) -> tuple[pd.DataFrame, int]:
    """Rows of points that ran, and the number of failed points (excluded, to be reported).

    Raises
    ------
    HarnessError
        Empty table, missing ``required`` columns, every point failed, or (with
        ``require_values``) a required column holding no value.
    """
    if df is None or len(df) == 0:
        raise HarnessError(f"{what}: the results table is empty; run the sweep first")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise HarnessError(
            f"{what}: the results table lacks column(s) {missing}; needs {list(required)}"
        )
    n_failed = 0
    if "point_status" in df.columns:
        bad = df["point_status"] != "ok"
        key = "cache_key" if "cache_key" in df.columns else None
        n_failed = int(df.loc[bad, key].nunique()) if key else int(bad.sum())
        df = df[~bad]
    if df.empty:
        raise HarnessError(f"{what}: every point of the results table failed")
    if require_values:
        empty = [c for c in required if df[c].isna().all()]
        if empty:
            raise HarnessError(f"{what}: column(s) {empty} hold no values")
    return df.copy(), n_failed


def failed_note(n_failed: int) -> str:
    """Title suffix naming the failed points a figure left out ("" when none)."""
    return f"; {n_failed} failed point(s) omitted" if n_failed else ""


def quartiles(df: pd.DataFrame, by: str, col: str, floor: float | None = None) -> pd.DataFrame:
    """Median and interquartile range of ``col`` per value of ``by``, sorted by ``by``.

    Only finite values count (``nan`` and ``inf`` are left out); with ``floor`` the values
    are clipped from below first (for log axes). Columns ``q25``, ``q50``, ``q75`` and
    ``count`` (finite values per group).
    """
    vals = df[[by, col]].copy()
    vals[col] = vals[col].astype(float)
    vals = vals[np.isfinite(vals[col].to_numpy())]
    if floor is not None:
        vals[col] = vals[col].clip(lower=floor)
    grouped = vals.groupby(by)[col]
    q = grouped.quantile([0.25, 0.5, 0.75]).unstack()
    q = q.reindex(columns=[0.25, 0.5, 0.75])
    q.columns = pd.Index(["q25", "q50", "q75"])
    q["count"] = grouped.size()
    return q.sort_index()


def median_band(
    ax: Any,
    q: pd.DataFrame,
    color: Any,
    label: str | None = None,
    *,
    ls: Any = "-",
    marker: str | None = "o",
    ms: float = 4.0,
    alpha: float = 0.2,
) -> Any:
    """Plot the median of :func:`quartiles` as a line and its IQR as a shaded band."""
    x = q.index.to_numpy(dtype=float)
    (line,) = ax.plot(x, q["q50"], color=color, ls=ls, marker=marker, ms=ms, lw=1.4, label=label)
    ax.fill_between(x, q["q25"], q["q75"], color=color, alpha=alpha, lw=0)
    return line


def save_figure(fig: Any, out_dir: str | Path, stem: str) -> list[Path]:
    """Write ``stem.pdf`` and ``stem.png`` (150 dpi) into ``out_dir`` atomically; close ``fig``."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HarnessError(f"cannot create output directory {out}: {exc}") from exc
    paths = [out / f"{stem}.pdf", out / f"{stem}.png"]
    for path, dpi in zip(paths, (None, 150)):
        with atomic_open(path) as fh:  # a reader never sees a half-written figure
            fig.savefig(fh, format=path.suffix[1:], dpi=dpi)
    plt.close(fig)
    return paths
