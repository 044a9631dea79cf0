"""Figures 1, 2 and 8 (relaxation experiments), THEORY.md §A8, §A6 and "Testable predictions".

Each function reads one results table of :mod:`harness.kinds.relaxation` and writes a PDF
and a PNG. Values of non-optimal solves, diverged runs and failed points are excluded from
what is plotted, and the number excluded is written under the title. Curves are the
median over seeds (and initialisations for Figure 8) with the interquartile range shaded.

* :func:`plot_fig1` -- objective of (3) and (5) against the number of sampled patterns
  ``P`` (log axis; the top axis shows the neurons ``2P``) for each ``n``, the certified p*
  bracket as a band and the best non-convex GD value as a line.
* :func:`plot_fig2` -- ``R = p~*/p*`` against ``n`` (log axis) at fixed ``c``: ``R_cert =
  p_relu/pstar_lower`` (certified upper bound on R, solid) and ``R_est = p_relu/pstar_upper``
  (dashed), with ``sqrt(log 2n)`` scaled to the first ``R_cert`` point (dotted); a second
  row shows ``R / sqrt(log 2n)``. One column per ``P_mode`` (Chernoff rule, fixed P).
* :func:`plot_fig8` -- ``L(theta') / p*`` at both bracket ends against ``n`` per local
  method, with ``sqrt(log 2n)`` scaled to the first point; a second panel shows
  ``(L - p_cvx(D')) / L`` (zero at a stationary point in the sense of Wang et al.).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from harness.errors import HarnessError
from harness.plots.common import median_band, quartiles, save_figure, usable_table

FIG1_COLUMNS = ("n", "d", "P_sampled", "p_relu", "p_gated", "pstar_lower", "pstar_upper")
FIG2_COLUMNS = ("n", "P_mode", "p_relu", "R_cert", "R_est")
FIG8_COLUMNS = ("n", "loss", "loss_over_pstar_lower", "loss_over_pstar_upper")
FIG1_STEM, FIG2_STEM, FIG8_STEM = "fig1_relaxation_width", "fig2_relaxation_gap", "fig8_stationary"
LINESTYLES = ("-", "--", ":", "-.")


# --------------------------------------------------------------------------- helpers
def _masked(df: pd.DataFrame, col: str, status: str) -> tuple[pd.Series, int]:
    """``df[col]`` with values of non-optimal solves set to nan, and how many there were."""
    vals = df[col].astype(float)
    if status in df.columns:
        bad = (df[status] != "optimal").to_numpy()
        return vals.mask(bad), int(bad.sum())
    return vals, 0


def _one(df: pd.DataFrame, col: str) -> str:
    if col not in df.columns:
        return "?"
    vals = sorted(
        {f"{v:g}" if isinstance(v, (float, np.floating)) else str(v) for v in df[col].dropna()}
    )
    return "/".join(vals) if vals else "?"


def _seeds(df: pd.DataFrame) -> str:
    if "seed_index" not in df.columns:
        return "?"
    return str(int(df["seed_index"].nunique()))


def _c_of(df: pd.DataFrame) -> pd.Series:
    if "c" in df.columns and df["c"].notna().all():
        return df["c"].astype(float)
    return (df["n"].astype(float) / df["d"].astype(float)).round(3)


def _note(parts: Sequence[tuple[str, int]]) -> str:
    items = [f"{k} {label}" for label, k in parts if k]
    return "excluded: " + ", ".join(items) if items else "nothing excluded"


def _n_ticks(ax: Any, values: Any) -> None:
    """Plain tick labels at the measured ``n`` on a log axis (at most 8 of them)."""
    vals = np.unique(np.asarray(values, dtype=float))
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if vals.size == 0:
        return
    if vals.size > 8:
        vals = vals[np.unique(np.linspace(0, vals.size - 1, 8).round().astype(int))]
    ax.xaxis.set_major_locator(FixedLocator(vals))
    ax.xaxis.set_minor_locator(NullLocator())
    fmt = ScalarFormatter()
    fmt.set_scientific(False)
    ax.xaxis.set_major_formatter(fmt)


def _band(ax: Any, q: pd.DataFrame, color: Any, ls: Any, label: str | None, marker: str) -> None:
    median_band(ax, q, color, label, ls=ls, marker=marker, ms=3.5, alpha=0.15)


# --------------------------------------------------------------------------- Figure 1
def plot_fig1(df: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Figure 1, THEORY.md §A8: relaxation objectives against width, p* bracket, best GD.

    Parameters
    ----------
    df : DataFrame
        The ``relaxation_width`` table (columns :data:`FIG1_COLUMNS`; optional
        ``status_relu``, ``status_gated``, ``gd_best``, ``beta_rel``, ``seed_index``,
        ``pstar_exact``, ``point_status``).
    out_dir : str or Path
        Folder for ``fig1_relaxation_width.pdf`` / ``.png``.

    Returns
    -------
    list of Path

    Raises
    ------
    HarnessError
        Empty table, missing columns, or no optimal solve.
    """
    df, n_failed = usable_table(df, FIG1_COLUMNS, "Figure 1")
    df["_relu"], n_bad_relu = _masked(df, "p_relu", "status_relu")
    df["_gated"], n_bad_gated = _masked(df, "p_gated", "status_gated")
    if df["_relu"].notna().sum() == 0 and df["_gated"].notna().sum() == 0:
        raise HarnessError("Figure 1: no optimal solve in the results table")
    if "beta_rel" not in df.columns:
        df["beta_rel"] = np.nan
    panels = sorted({(int(n), int(d)) for n, d in zip(df["n"], df["d"])})
    betas = sorted(df["beta_rel"].dropna().unique()) or [np.nan]
    # normalised copies: every value of a point divided by that point's own pstar_upper
    ref = df["pstar_upper"].astype(float).where(df["pstar_upper"].astype(float) > 0)
    for col in ("_relu", "_gated"):
        df[f"{col}_rel"] = df[col] / ref
    df["_lower_rel"] = df["pstar_lower"].astype(float) / ref
    df["_gd_rel"] = (df["gd_best"].astype(float) / ref) if "gd_best" in df else np.nan
    ncols, nrows = len(panels), 2 * len(betas)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.4 * ncols + 0.6, 2.7 * nrows + 1.0), squeeze=False, sharex="col"
    )
    for i, b in enumerate(betas):
        for j, (n, d) in enumerate(panels):
            sub = df[(df["n"] == n) & (df["d"] == d)]
            if not (isinstance(b, float) and math.isnan(b)):
                sub = sub[sub["beta_rel"] == b]
            for r, rel in enumerate((False, True)):
                ax = axes[2 * i + r, j]
                if sub.empty:
                    ax.set_visible(False)
                    continue
                _fig1_panel(ax, sub, rel)
                if r == 0:
                    top = ax.secondary_xaxis("top", functions=(lambda p: 2 * p, lambda m: m / 2))
                    top.set_xlabel("neurons 2P", fontsize=8)
                    exact = bool(sub["pstar_exact"].all()) if "pstar_exact" in sub else False
                    title = f"n={n}, d={d} (c={n / d:g})"
                    if len(betas) > 1 or not math.isnan(float(b)):
                        title += f", β_rel={b:g}"
                    title += ", p* exact" if exact else ", p* bracketed"
                    ax.set_title(title, fontsize=8.5)
                else:
                    ax.set_xlabel("sampled patterns P (log₂)")
                if j == 0:
                    ax.set_ylabel("objective / p*_upper" if rel else "objective value")
    handles = [
        Line2D([], [], color="tab:blue", marker="o", ms=3.5, label="p̃* ReLU relaxation (3)"),
        Line2D(
            [], [], color="tab:green", ls="--", marker="s", ms=3.5, label="p̃_u gated relaxation (5)"
        ),
        Patch(color="0.6", alpha=0.45, label="certified p* bracket (a line when exact)"),
        Line2D([], [], color="tab:red", ls=":", label="best non-convex run on (1)"),
    ]
    axes[0, -1].legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.85)
    note = _note(
        [
            ("non-optimal ReLU solves", n_bad_relu),
            ("non-optimal gated solves", n_bad_gated),
            ("failed points", n_failed),
        ]
    )
    fig.suptitle(
        "Fig. 1: objective of the Gaussian relaxation against width, (A1) data, "
        f"labels={_one(df, 'labels_used')}, β = β_rel·β_max, seeds={_seeds(df)}\n"
        "top row: values, bottom row: each seed divided by its own p*_upper; median and IQR "
        f"over seeds; {note}",
        fontsize=9,
    )
    fig.tight_layout()
    return save_figure(fig, out_dir, FIG1_STEM)


def _fig1_panel(ax: Any, sub: pd.DataFrame, rel: bool) -> None:
    """One Figure 1 panel: absolute values, or values over each point's ``pstar_upper``."""
    per_point = sub.groupby("seed_index" if "seed_index" in sub else "n").first()
    if rel:
        lo, hi = float(np.nanmedian(per_point["_lower_rel"])), 1.0
        gd = per_point["_gd_rel"]
        cols = ("_relu_rel", "_gated_rel")
    else:
        lo = float(np.nanmedian(per_point["pstar_lower"]))
        hi = float(np.nanmedian(per_point["pstar_upper"]))
        gd = per_point["gd_best"] if "gd_best" in per_point else pd.Series(dtype=float)
        cols = ("_relu", "_gated")
    ax.axhspan(lo, hi, color="0.6", alpha=0.45, lw=0)
    ax.axhline(hi, color="0.35", lw=0.8)
    if gd.notna().any():
        ax.axhline(float(np.nanmedian(gd)), color="tab:red", ls=":", lw=1.4)
    _band(ax, quartiles(sub, "P_sampled", cols[0]), "tab:blue", "-", None, "o")
    _band(ax, quartiles(sub, "P_sampled", cols[1]), "tab:green", "--", None, "s")
    ax.set_xscale("log", base=2)
    ax.grid(alpha=0.3, lw=0.5)


# --------------------------------------------------------------------------- Figure 2
def plot_fig2(df: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Figure 2, THEORY.md §A6 Thm 2.1 (P1): ``R`` and ``R / sqrt(log 2n)`` against ``n``.

    Parameters
    ----------
    df : DataFrame
        The ``relaxation_gap`` table (columns :data:`FIG2_COLUMNS`; optional
        ``status_relu``, ``c``/``d``, ``P_used``, ``P_capped``, ``delta_used``,
        ``P_cap_used``, ``beta_rel``, ``point_status``).
    out_dir : str or Path
        Folder for ``fig2_relaxation_gap.pdf`` / ``.png``.

    Returns
    -------
    list of Path

    Raises
    ------
    HarnessError
        Empty table, missing columns, or no usable ratio.
    """
    df, n_failed = usable_table(df, FIG2_COLUMNS, "Figure 2")
    df["_c"] = _c_of(df)
    ok = (
        (df["status_relu"] == "optimal").to_numpy()
        if "status_relu" in df
        else np.ones(len(df), bool)
    )
    n_bad = int((~ok).sum())
    df = df[ok]
    cert = df["R_cert"].astype(float)
    n_nocert = int((~np.isfinite(cert)).sum())
    if df.empty or (
        not np.isfinite(cert).any() and not np.isfinite(df["R_est"].astype(float)).any()
    ):
        raise HarnessError("Figure 2: no row with an optimal ReLU solve and a finite ratio")
    df["_sl"] = np.sqrt(np.log(2.0 * df["n"].astype(float)))
    df["_wc"] = df["R_cert"].astype(float) / df["_sl"]
    df["_we"] = df["R_est"].astype(float) / df["_sl"]
    modes = [m for m in ("rule", "fixed") if m in set(df["P_mode"])]
    modes += sorted(set(df["P_mode"]) - set(modes))
    cs = sorted(df["_c"].unique())
    cmap = plt.get_cmap("viridis")
    colors = {c: cmap(0.85 * i / max(len(cs) - 1, 1)) for i, c in enumerate(cs)}
    fig, axes = plt.subplots(
        2, len(modes), figsize=(4.2 * len(modes) + 0.6, 6.4), squeeze=False, sharex="col"
    )
    for j, mode in enumerate(modes):
        sub = df[df["P_mode"] == mode]
        for c in cs:
            g = sub[sub["_c"] == c]
            if g.empty:
                continue
            qc = quartiles(g, "n", "R_cert")
            qe = quartiles(g, "n", "R_est")
            _band(axes[0, j], qc, colors[c], "-", None, "o")
            _band(axes[0, j], qe, colors[c], "--", None, "s")
            first = qc["q50"].dropna()
            if len(first):
                n0 = float(first.index[0])
                ns = np.asarray(first.index, dtype=float)
                shape = float(first.iloc[0]) * np.sqrt(np.log(2 * ns) / math.log(2 * n0))
                axes[0, j].plot(ns, shape, color=colors[c], ls=":", lw=1.2)
            _band(axes[1, j], quartiles(g, "n", "_wc"), colors[c], "-", None, "o")
            _band(axes[1, j], quartiles(g, "n", "_we"), colors[c], "--", None, "s")
        if mode == "rule":
            k = int(sub["P_capped"].astype(bool).sum()) if "P_capped" in sub else 0
            head = (
                f"P = ⌈8κ log(n/δ)⌉, δ={_one(sub, 'delta_used')}, "
                f"cap {_one(sub, 'P_cap_used')} ({k}/{len(sub)} capped)"
            )
        elif mode == "fixed":
            head = f"fixed P = {_one(sub, 'P_used')}"
        else:
            head = f"P_mode = {mode}"
        axes[0, j].set_title(head, fontsize=8.5)
        for i in range(2):
            axes[i, j].set_xscale("log")
            _n_ticks(axes[i, j], sub["n"])
            axes[i, j].grid(alpha=0.3, lw=0.5)
        axes[1, j].set_xlabel("number of samples n (log), c = n/d fixed")
    axes[0, 0].set_ylabel("R = p̃*/p*")
    axes[1, 0].set_ylabel("R / √log(2n)")
    handles: list[Any] = [Line2D([], [], color=colors[c], lw=2, label=f"c = {c:g}") for c in cs]
    handles += [
        Line2D([], [], color="black", marker="o", ms=3.5, label="R_cert = p̃*/p*_lower (≥ R)"),
        Line2D(
            [], [], color="black", ls="--", marker="s", ms=3.5, label="R_est = p̃*/p*_upper (≤ R)"
        ),
        Line2D([], [], color="black", ls=":", label="√log(2n), scaled to first R_cert"),
    ]
    axes[0, -1].legend(handles=handles, fontsize=7, loc="best", framealpha=0.85)
    note = _note(
        [
            ("non-optimal ReLU solves", n_bad),
            ("rows without a positive certified lower bound (R_cert undefined)", n_nocert),
            ("failed points", n_failed),
        ]
    )
    fig.suptitle(
        "Relative gap of the Gaussian relaxation (Thm 2.1): (A1) data, "
        f"labels={_one(df, 'labels_used')}, β_rel={_one(df, 'beta_rel')}, seeds={_seeds(df)}\n"
        f"median and IQR over seeds; {note}",
        fontsize=9,
    )
    fig.tight_layout()
    return save_figure(fig, out_dir, FIG2_STEM)


# --------------------------------------------------------------------------- Figure 8
def plot_fig8(df: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Figure 8, THEORY.md §A6 Thm 2.5 (P16): final loss of local methods over the p* bracket.

    Parameters
    ----------
    df : DataFrame
        The ``stationary`` table (columns :data:`FIG8_COLUMNS`; optional ``method_used``,
        ``gap_Dprime_rel``, ``status_Dprime``, ``c``/``d``, ``width``, ``point_status``).
    out_dir : str or Path
        Folder for ``fig8_stationary.pdf`` / ``.png``.

    Returns
    -------
    list of Path

    Raises
    ------
    HarnessError
        Empty table, missing columns, or every run diverged.
    """
    df, n_failed = usable_table(df, FIG8_COLUMNS, "Figure 8")
    finite = np.isfinite(df["loss"].astype(float)).to_numpy()
    n_div = int((~finite).sum())
    df = df[finite]
    if df.empty:
        raise HarnessError("Figure 8: every run diverged")
    df["_c"] = _c_of(df)
    if "method_used" not in df.columns:
        df["method_used"] = "?"
    n_bad_dp = 0
    if "gap_Dprime_rel" in df.columns:
        df["_gap"], n_bad_dp = _masked(df, "gap_Dprime_rel", "status_Dprime")
    cs = sorted(df["_c"].unique())
    methods = sorted(df["method_used"].astype(str).unique())
    cmap = plt.get_cmap("viridis")
    colors = {c: cmap(0.85 * i / max(len(cs) - 1, 1)) for i, c in enumerate(cs)}
    styles = {m: LINESTYLES[i % len(LINESTYLES)] for i, m in enumerate(methods)}
    has_gap = "_gap" in df.columns
    fig, axes = plt.subplots(
        1, 2 if has_gap else 1, figsize=(9.6 if has_gap else 5.0, 3.9), squeeze=False
    )
    ax = axes[0, 0]
    for c in cs:
        for m in methods:
            g = df[(df["_c"] == c) & (df["method_used"].astype(str) == m)]
            if g.empty:
                continue
            qw = quartiles(g, "n", "loss_over_pstar_lower")
            qb = quartiles(g, "n", "loss_over_pstar_upper").reindex(qw.index)
            x = np.asarray(qw.index, dtype=float)
            ax.fill_between(x, qb["q25"], qw["q75"], color=colors[c], alpha=0.12, lw=0)
            ax.plot(x, qw["q50"], color=colors[c], ls=styles[m], marker="v", ms=4, lw=1.3)
            ax.plot(x, qb["q50"], color=colors[c], ls=styles[m], marker="^", ms=4, lw=1.3)
            first = qw["q50"].dropna()
            if len(first):
                n0 = float(first.index[0])
                xs = np.asarray(first.index, dtype=float)
                ax.plot(
                    xs,
                    float(first.iloc[0]) * np.sqrt(np.log(2 * xs) / math.log(2 * n0)),
                    color=colors[c],
                    ls=(0, (1, 2)),
                    lw=1.0,
                )
            if has_gap:
                qg = quartiles(g, "n", "_gap")
                _band(axes[0, 1], qg, colors[c], styles[m], None, "o")
    ax.set_xscale("log")
    _n_ticks(ax, df["n"])
    ax.set_xlabel("number of samples n (log), c = n/d fixed")
    ax.set_ylabel("L(θ′) / p*")
    ax.grid(alpha=0.3, lw=0.5)
    ax.set_title(f"final loss over the p* bracket, width m={_one(df, 'width')}", fontsize=8.5)
    handles: list[Any] = [Line2D([], [], color=colors[c], lw=2, label=f"c = {c:g}") for c in cs]
    handles += [Line2D([], [], color="black", ls=styles[m], label=m) for m in methods]
    handles += [
        Line2D([], [], color="black", marker="v", ls="none", label="L/p*_lower (worst end)"),
        Line2D([], [], color="black", marker="^", ls="none", label="L/p*_upper (best end)"),
        Line2D([], [], color="black", ls=(0, (1, 2)), label="√log(2n), scaled to first point"),
    ]
    ax.legend(handles=handles, fontsize=6.5, loc="best", framealpha=0.85)
    if has_gap:
        ag = axes[0, 1]
        ag.set_xscale("log")
        _n_ticks(ag, df["n"])
        ag.set_yscale("symlog", linthresh=1e-8)
        low = float(np.nanmin(df["_gap"])) if df["_gap"].notna().any() else 0.0
        ag.set_ylim(bottom=min(-1e-8, 2.0 * low))
        ag.axhline(0.0, color="black", lw=0.8)
        ag.set_xlabel("number of samples n (log)")
        ag.set_ylabel("(L(θ′) − p_cvx(D′)) / L(θ′)")
        ag.set_title("distance to the convex program on the final patterns D′", fontsize=8.5)
        ag.grid(alpha=0.3, lw=0.5)
    note = _note(
        [
            ("diverged runs", n_div),
            ("non-optimal p_cvx(D′) solves", n_bad_dp),
            ("failed points", n_failed),
        ]
    )
    fig.suptitle(
        "Stationary points of local methods (Thm 2.5): (A1) data, "
        f"labels={_one(df, 'labels_used')}, β_rel={_one(df, 'beta_rel')}, seeds={_seeds(df)}, "
        f"inits per seed={_one(df, 'n_inits')}\nmedian and IQR over seeds and initialisations; "
        f"{note}",
        fontsize=9,
    )
    fig.tight_layout()
    return save_figure(fig, out_dir, FIG8_STEM)
