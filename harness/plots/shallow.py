"""Figures 1 and 2 of Ergen & Pilanci (2019), THEORY.md Part C, from the result tables.

Both functions read the long-format tables of :mod:`harness.kinds.shallow` and write one
PDF and one PNG per ``(d, mu, data_scale)`` setting found in the table (one figure when
the table holds one setting, named ``shallow_fig1`` / ``shallow_fig2``). They draw with
matplotlib's object API on the Agg canvas (no pyplot state, no display needed).

Errors are relative, ``||pred - y||^2 / ||y||^2``; values below :data:`FLOOR` (the round-off
level) are drawn at ``FLOOR`` on the log axes. Rows of failed points or diverged runs
are left out of the curves and counted in the caption.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from harness.errors import HarnessError
from harness.plots.common import median_band, quartiles, save_figure

FLOOR = 1e-32
FIG1_COLUMNS = ("n", "d", "method", "iter", "train_error", "test_error", "recovery_error")
FIG2_COLUMNS = ("n", "d", "method", "is_final", "final_train_error", "final_test_error")
_LABELS = {
    "gd": "GD",
    "rgd": "RGD (5)",
    "modified": "modified GD (17)",
}
_COLORS = {"gd": "tab:red", "rgd": "tab:blue", "modified": "tab:blue"}
_SCALE_TEXT = {
    "sqrt_d": "rows of A scaled by 1/sqrt(d), a_i ~ N(0, I_d/d)",
    "none": "unscaled rows a_i ~ N(0, I_d)",
}


def _check_table(df: Any, columns: tuple[str, ...], what: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise HarnessError(f"{what}: expected a pandas DataFrame; got {type(df).__name__}")
    if len(df) == 0:
        raise HarnessError(f"{what}: the results table is empty (run the experiment first)")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise HarnessError(f"{what}: the results table lacks columns {missing}")
    return df


def _ok_rows(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Rows of successful runs and the number of failed points / diverged runs left out."""
    bad = pd.Series(False, index=df.index)
    if "point_status" in df.columns:
        bad |= df["point_status"].astype(str) != "ok"
    if "status" in df.columns:
        bad |= df["status"].astype(str) != "ok"
    dropped = df[bad]
    if len(dropped):
        unit = ["point_key"] if "point_key" in df.columns else ["n", "d"]
        cols = unit + (["method"] if "method" in dropped.columns else [])
        n_dropped = len(dropped.drop_duplicates(cols))
    else:
        n_dropped = 0
    return df[~bad], n_dropped


def _settings(df: pd.DataFrame) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    keys = [c for c in ("d", "m", "mu", "data_scale") if c in df.columns]
    if not keys:
        return [({}, df)]
    out = []
    for values, grp in df.groupby(keys, dropna=False):
        vals = values if isinstance(values, tuple) else (values,)
        out.append((dict(zip(keys, vals)), grp))
    return out


def _stop_text(df: pd.DataFrame) -> str:
    if "stop_rtol" not in df.columns:
        return ""
    rtol = pd.to_numeric(df["stop_rtol"], errors="coerce").dropna()
    if rtol.empty or float(rtol.max()) <= 0:
        return ""
    return (
        f".\nA run stops once its update is <= {float(rtol.max()):g} x its first one "
        "(a fixed point up to round-off) and is drawn flat after that"
    )


def _setting_text(s: dict[str, Any]) -> str:
    parts = [f"d = {_fmt(s['d'])}"] if "d" in s else []
    if "m" in s:
        parts.append(f"m = {_fmt(s['m'])}")
    if "mu" in s:
        parts.append(f"mu = {_fmt(s['mu'])}")
    if "data_scale" in s:
        parts.append(_SCALE_TEXT.get(str(s["data_scale"]), f"data_scale = {s['data_scale']}"))
    return ", ".join(parts)


def _fmt(x: Any) -> str:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def _stem(base: str, s: dict[str, Any], many: bool) -> str:
    if not many:
        return base
    tail = "_".join(f"{k}{_fmt(v)}" for k, v in s.items())
    return f"{base}_{tail}".replace(" ", "")


def _regime(n: float, d: float) -> str:
    return "n < d" if n < d else "n = d" if n == d else "n > d"


def _seeds(df: pd.DataFrame) -> int:
    if "point_key" in df.columns:
        return int(df.groupby("n")["point_key"].nunique().max())
    if "seed_index" in df.columns:
        return int(df.groupby("n")["seed_index"].nunique().max())
    return int(df.groupby(["n", "method", "iter"]).size().max()) if "iter" in df.columns else 1


def plot_shallow_fig1(df: pd.DataFrame, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Fig. 1 of Part C: GD (2) vs RGD (5), error against iteration, one column per ``n``.

    Rows of panels: relative training error, relative test error (100 fresh samples) and
    recovery error ``||x_t - x*||_2``; columns: the ``n`` values in the table (the spec
    uses n < d, n = d, n > d). Each panel shows the median over seeds and the
    interquartile band, on log-log axes (iterations ``t >= 1``).

    Parameters
    ----------
    df : DataFrame
        Table of the ``shallow_single`` kind; needs the columns :data:`FIG1_COLUMNS`.
    out_dir : path
        Folder for ``shallow_fig1.pdf`` and ``shallow_fig1.png`` (created if needed).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    HarnessError
        Empty table, missing columns, or no successful run to draw.
    """
    what = "plot_shallow_fig1"
    df = _check_table(df, FIG1_COLUMNS, what)
    ok, n_dropped = _ok_rows(df)
    ok = ok[ok["iter"] >= 1]
    if len(ok) == 0:
        raise HarnessError(f"{what}: no successful run with logged iterations to plot")
    out = Path(out_dir)
    settings = _settings(ok)
    paths: list[Path] = []
    errors = (
        ("train_error", "training error\n||g(Ax)-y||²/||y||²"),
        ("test_error", "test error (100 fresh samples)\n||g(A'x)-y'||²/||y'||²"),
        ("recovery_error", "recovery error\n||x_t - x*||₂"),
    )
    for setting, grp in settings:
        ns = sorted(grp["n"].unique())
        fig = Figure(figsize=(4.2 * len(ns), 9.0), layout="constrained")
        axes = fig.subplots(len(errors), len(ns), squeeze=False, sharex="col")
        methods = [m for m in ("gd", "rgd") if m in set(grp["method"])]
        methods += sorted(set(grp["method"]) - set(methods))
        for j, n in enumerate(ns):
            sub = grp[grp["n"] == n]
            d = float(sub["d"].iloc[0])
            for i, (col, ylabel) in enumerate(errors):
                ax = axes[i, j]
                for method in methods:
                    rows = sub[sub["method"] == method]
                    if len(rows) == 0 or rows[col].isna().all():
                        continue
                    q = quartiles(rows, "iter", col, floor=FLOOR)
                    color = _COLORS.get(method)
                    label = "GD (2)" if method == "gd" else _LABELS.get(method, method)
                    median_band(ax, q, color, label, marker=None, alpha=0.25)
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.grid(True, which="major", alpha=0.3)
                if i == 0:
                    ax.set_title(f"n = {_fmt(n)} ({_regime(float(n), d)})")
                if i == len(errors) - 1:
                    ax.set_xlabel("iteration t")
                if j == 0:
                    ax.set_ylabel(ylabel)
        axes[0, 0].legend(loc="lower left")
        caption = (
            f"Ergen & Pilanci (2019) Fig. 1 reproduction: one ReLU neuron, planted y = g(Ax*); "
            f"{_setting_text(setting)}.\nMedian and interquartile band over {_seeds(grp)} "
            f"seeds (same data and x_0 for both methods); values below {FLOOR:g} drawn at "
            f"{FLOOR:g}"
            + _stop_text(grp)
            + (f"; {n_dropped} failed/diverged run(s) left out" if n_dropped else "")
            + "."
        )
        fig.suptitle(caption, fontsize=9)
        paths += save_figure(fig, out, _stem("shallow_fig1", setting, len(settings) > 1))
    return paths


def plot_shallow_fig2(df: pd.DataFrame, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Fig. 2 of Part C: final training and test error of GD and (17) against ``n``.

    Two panels (relative training error, relative test error on 100 fresh samples) with
    the median over seeds and the interquartile band per ``n``; dotted lines mark
    ``n = d`` and ``n = m d`` (the number of trained parameters).

    Parameters
    ----------
    df : DataFrame
        Table of the ``shallow_multi`` kind; needs the columns :data:`FIG2_COLUMNS`
        (only rows with ``is_final`` are used).
    out_dir : path
        Folder for ``shallow_fig2.pdf`` and ``shallow_fig2.png`` (created if needed).

    Returns
    -------
    list of Path

    Raises
    ------
    HarnessError
        Empty table, missing columns, or no successful run to draw.
    """
    what = "plot_shallow_fig2"
    df = _check_table(df, FIG2_COLUMNS, what)
    ok, n_dropped = _ok_rows(df)
    ok = ok[ok["is_final"].fillna(False).astype(bool)]
    if len(ok) == 0:
        raise HarnessError(f"{what}: no successful run with a final row to plot")
    out = Path(out_dir)
    settings = _settings(ok)
    paths: list[Path] = []
    panels = (
        ("final_train_error", "final training error ||Σg(Ax_j)-y||²/||y||²"),
        ("final_test_error", "final test error (100 fresh samples)"),
    )
    for setting, grp in settings:
        fig = Figure(figsize=(10.0, 4.4), layout="constrained")
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        methods = [m for m in ("gd", "modified") if m in set(grp["method"])]
        methods += sorted(set(grp["method"]) - set(methods))
        d = float(grp["d"].iloc[0])
        m = float(grp["m"].iloc[0]) if "m" in grp.columns else None
        for ax, (col, ylabel) in zip(axes, panels):
            for method in methods:
                rows = grp[grp["method"] == method]
                q = quartiles(rows, "n", col, floor=FLOOR)
                color = _COLORS.get(method)
                label = _LABELS.get(method, method)
                if method == "gd":
                    label = "GD (11)"
                median_band(ax, q, color, label, alpha=0.25)
            ax.axvline(d, color="gray", ls=":", lw=1)
            if m is not None:
                ax.axvline(m * d, color="gray", ls="--", lw=1)
            ax.set_yscale("log")
            ax.set_xlabel("n (dotted: n = d" + (", dashed: n = m d)" if m is not None else ")"))
            ax.set_ylabel(ylabel)
            ax.grid(True, alpha=0.3)
        axes[0].legend(loc="best")
        n_iter = _fmt(grp["n_iter"].max()) if "n_iter" in grp.columns else "the final"
        caption = (
            f"Ergen & Pilanci (2019) Fig. 2 reproduction: planted y = Σ_j g(Ax_j*); "
            f"{_setting_text(setting)}.\nError after {n_iter} iterations (same data and X_0 for "
            f"both methods); median and interquartile band over {_seeds(grp)} seeds; values "
            f"below {FLOOR:g} drawn at {FLOOR:g}"
            + _stop_text(grp)
            + (f"; {n_dropped} failed/diverged run(s) left out" if n_dropped else "")
            + "."
        )
        fig.suptitle(caption, fontsize=9)
        paths += save_figure(fig, out, _stem("shallow_fig2", setting, len(settings) > 1))
    return paths
