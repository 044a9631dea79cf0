"""Figures 3, 4 and 5: the theory's quantities next to their predictions, THEORY.md §A4, §A5.

Each function reads one results table (:mod:`harness.kinds.theory`), draws medians over
seeds with the interquartile range (IQR) as a band or error bar, and writes
``<stem>.pdf`` and ``<stem>.png`` into ``out_dir``:

* :func:`plot_fig3` (``fig3_kappa``): ``kappa`` against ``d`` at fixed ``c`` (one line per
  ``c``, the heuristic level ``4 (1 + sqrt c)^2`` dashed) and against ``c`` at the largest
  ``d`` (P4, Thm 3.9).
* :func:`plot_fig4` (``fig4_sharpness``): the lower estimate of ``sup_u C(K, u)`` against
  ``n`` at fixed ``c`` with a fitted ``a sqrt(log n)`` overlay and the Chebyshev-centre
  bound ``2 Z_max + 1`` alongside (P11, P13, Cor 4.5, Prop 4.3).
* :func:`plot_fig5` (``fig5_maxcut``): ``gamma_all^2`` against the MAX-CUT value, exact and
  SDP, with the line ``y = x`` (P7, §3.4), and the bound (7) against ``n`` (optionally with a
  measured ``p~_u / p_u`` table).

Rows of failed points (``point_status != "ok"``) are left out and their number is written in
the title; an empty table or a missing column raises :class:`harness.errors.HarnessError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import ticker

from harness.plots.common import failed_note, median_band, quartiles, save_figure, usable_table

FIG3_COLUMNS = ("d", "c_eff", "kappa", "kappa_heuristic")
FIG4_COLUMNS = ("n", "c_eff", "C_sup_lower_est", "Z_max_lower_est")
FIG5_COLUMNS = ("n", "gamma_all_sq", "maxcut_value", "maxcut_sdp_upper", "bound7")
STEMS = {"fig3": "fig3_kappa", "fig4": "fig4_sharpness", "fig5": "fig5_maxcut"}


def _c_key(df: pd.DataFrame) -> pd.Series:
    if "c" in df.columns and df["c"].notna().all():
        return df["c"].astype(float)
    return df["c_eff"].astype(float).round(3)


def _seeds_text(df: pd.DataFrame, keys: list[str]) -> str:
    counts = df.groupby(keys).size()
    lo, hi = int(counts.min()), int(counts.max())
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _log_axis(
    ax: Any, which: str, values: Any = None, subs: tuple[float, ...] = (1.0, 2.0, 5.0)
) -> None:
    """Log scale with plain-number labels: at ``values`` if given, else at ``subs`` x 10^k."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    if values is not None:
        vals = sorted({float(v) for v in values if np.isfinite(v) and v > 0})
        axis.set_major_locator(ticker.FixedLocator(vals))
    else:
        axis.set_major_locator(ticker.LogLocator(subs=subs))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


# --------------------------------------------------------------------------- Figure 3
def plot_fig3(df: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Figure 3 / P4, THEORY.md §A4 Thm 3.9: ``kappa`` against ``d`` (per ``c``) and ``c``.

    Parameters
    ----------
    df : DataFrame
        The ``kappa`` results table (:data:`FIG3_COLUMNS`).
    out_dir : str or Path

    Returns
    -------
    list of Path
        ``fig3_kappa.pdf`` and ``fig3_kappa.png``.

    Raises
    ------
    HarnessError
        Empty table, missing columns or no usable rows.
    """
    df, n_failed = usable_table(df, FIG3_COLUMNS, "Figure 3 (kappa)", require_values=True)
    df = df.assign(c_key=_c_key(df))
    cs = sorted(df["c_key"].unique())
    cmap = plt.get_cmap("viridis")
    colors = {c: cmap(0.85 * i / max(len(cs) - 1, 1)) for i, c in enumerate(cs)}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.4, 3.4))
    for c in cs:
        g = df[df["c_key"] == c]
        q = quartiles(g, "d", "kappa")
        if q.empty:
            continue
        median_band(ax1, q, colors[c], f"c = {c:g}")
        ax1.axhline(4.0 * (1.0 + np.sqrt(c)) ** 2, color=colors[c], ls="--", lw=1.0)
    _log_axis(ax1, "x", df["d"].unique())
    _log_axis(ax1, "y")
    ax1.set_xlabel("dimension d (log scale)")
    ax1.set_ylabel(r"$\kappa = \|X\|_2^2 / \lambda_{\min}(\Sigma)$ (dimensionless)")
    ax1.set_title("κ against d at fixed c = n/d\n(dashed: heuristic 4(1+√c)²)", fontsize=9)
    ax1.legend(fontsize=7, title="solid: median, band: IQR", title_fontsize=7)
    ax1.grid(alpha=0.3, which="both", lw=0.5)

    d_fix = int(df["d"].max())
    g = df[df["d"] == d_fix]
    q = quartiles(g, "c_key", "kappa")
    median_band(ax2, q, "C0", f"measured κ, d = {d_fix}")
    c_grid = np.geomspace(min(cs), max(cs), 100)
    ax2.plot(c_grid, 4.0 * (1.0 + np.sqrt(c_grid)) ** 2, "k--", lw=1.0, label="4(1+√c)²")
    _log_axis(ax2, "x", cs)
    _log_axis(ax2, "y")
    ax2.set_xlabel("aspect ratio c = n/d (log scale)")
    ax2.set_ylabel(r"$\kappa$ (dimensionless)")
    ax2.set_title(f"κ against c at fixed d = {d_fix}", fontsize=9)
    ax2.legend(fontsize=7)
    ax2.grid(alpha=0.3, which="both", lw=0.5)
    fig.suptitle(
        "Fig. 3 (P4, Thm 3.9): κ of (A1) data, X_ij ~ N(0,1), n = round(c d), exact Σ; "
        f"seeds per point {_seeds_text(df, ['d', 'c_key'])}{failed_note(n_failed)}",
        fontsize=9,
    )
    fig.tight_layout()
    return save_figure(fig, out_dir, STEMS["fig3"])


# --------------------------------------------------------------------------- Figure 4
def sqrt_log_fit(n: np.ndarray, value: np.ndarray) -> float:
    """Least-squares ``a`` of ``value ~ a sqrt(log n)`` (through the origin), Cor 4.5 overlay."""
    s = np.sqrt(np.log(np.asarray(n, dtype=float)))
    v = np.asarray(value, dtype=float)
    ok = np.isfinite(s) & np.isfinite(v) & (s > 0)
    if not ok.any():
        return float("nan")
    return float(np.sum(s[ok] * v[ok]) / np.sum(s[ok] ** 2))


def plot_fig4(df: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Figure 4 / P11, P13, THEORY.md §A5: estimated cone sharpness against ``n``.

    One panel per ``c``; per cone model (``data``: ``(2 D_h - I) X``; ``aG``: the rotated
    model) the median and IQR over seeds of the LOWER estimate of ``sup_u C(K, u)``, the
    fitted ``a sqrt(log n)`` curve and the Chebyshev-centre bound ``2 Z_max + 1`` (dotted;
    ``Z_max`` is itself a lower estimate of ``max_u Z(u)``).

    Parameters
    ----------
    df : DataFrame
        The ``sharpness`` results table (:data:`FIG4_COLUMNS`; optional ``model``).
    out_dir : str or Path

    Returns
    -------
    list of Path
        ``fig4_sharpness.pdf`` and ``fig4_sharpness.png``.

    Raises
    ------
    HarnessError
        Empty table, missing columns or no usable rows.
    """
    df, n_failed = usable_table(df, FIG4_COLUMNS, "Figure 4 (cone sharpness)", require_values=True)
    df = df.assign(c_key=_c_key(df), cheb=2.0 * df["Z_max_lower_est"] + 1.0)
    if "model" not in df.columns:
        df = df.assign(model="data")
    cs = sorted(df["c_key"].unique())
    models = sorted(df["model"].astype(str).unique())
    colors = {m: f"C{i}" for i, m in enumerate(models)}
    names = {"data": "(A1) cone (2D_h − I)X", "aG": "[a G] model"}
    fig, axes = plt.subplots(
        1, len(cs), figsize=(3.8 * len(cs) + 2.8, 3.9), squeeze=False, sharey=True
    )
    for ax, c in zip(axes[0], cs):
        for m in models:
            g = df[(df["c_key"] == c) & (df["model"].astype(str) == m)]
            q = quartiles(g, "n", "C_sup_lower_est")
            if q.empty:
                continue
            median_band(ax, q, colors[m], f"{names.get(m, m)}: Ĉ (lower est. of sup_u C)")
            a = sqrt_log_fit(g["n"].to_numpy(), g["C_sup_lower_est"].to_numpy())
            n_grid = np.geomspace(q.index.min(), q.index.max(), 100)
            ax.plot(
                n_grid,
                a * np.sqrt(np.log(n_grid)),
                color=colors[m],
                ls="--",
                lw=1.0,
                label=f"fit {a:.2f}·√(log n)",
            )
            qc = quartiles(g, "n", "cheb")
            x = qc.index.to_numpy(dtype=float)
            ax.errorbar(
                x,
                qc["q50"],
                yerr=[qc["q50"] - qc["q25"], qc["q75"] - qc["q50"]],
                color=colors[m],
                ls=":",
                marker="s",
                ms=3,
                lw=1.0,
                capsize=2,
                label="2 Z_max + 1 (Prop 4.3)",
            )
        _log_axis(ax, "x", df.loc[df["c_key"] == c, "n"].unique())
        ax.set_xlabel("number of samples n (log scale)")
        ax.set_title(f"c = n/d = {c:g}", fontsize=9)
        ax.grid(alpha=0.3, which="both", lw=0.5)
    axes[0, 0].set_ylabel(r"cone sharpness $\mathcal{C}(K, u)$ (dimensionless)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    axes[0, -1].legend(handles, labels, fontsize=6.5, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(
        "Fig. 4 (P11, P13, Cor 4.5): cone sharpness against n at fixed c\nmedian and IQR over "
        f"seeds ({_seeds_text(df, ['model', 'c_key', 'n'])} per point){failed_note(n_failed)}",
        fontsize=9,
    )
    fig.tight_layout()
    return save_figure(fig, out_dir, STEMS["fig4"])


# --------------------------------------------------------------------------- Figure 5
def _paired_bound7_panel(ax: Any, paired: pd.DataFrame) -> None:
    """Measured ``p~_u / p_u`` (exact p_u) against the bound (7) of the same instance."""
    paired, n_failed = usable_table(paired, ("ratio_gated_pu", "bound7"), "Figure 5 (paired)")
    # the same rows P6 judges: optimal gated and p_u solves, and (7) applicable (beta <= gamma)
    keep = paired["ratio_gated_pu"].notna() & paired["bound7"].notna()
    for col in ("status_gated", "status_pu"):
        if col in paired.columns:
            keep &= paired[col].eq("optimal")
    if "bound7_valid" in paired.columns:
        keep &= paired["bound7_valid"].astype(bool)
    sub = paired[keep]
    n_out = int((~keep).sum())
    if sub.empty:
        ax.text(0.5, 0.5, "no instance with exact p_u", ha="center", transform=ax.transAxes)
        return
    r = sub["ratio_gated_pu"].astype(float).to_numpy()
    b = sub["bound7"].astype(float).to_numpy()
    label = f"{len(sub)} instances (exact p_u)\n{n_out} rows excluded: no exact p_u,\nnon-optimal solve "
    label += f"or beta > gamma_all{failed_note(n_failed)}"
    ax.scatter(r, b, s=16, color="C2", label=label)
    lim = np.array([min(r.min(), b.min()) / 1.2, max(r.max(), b.max()) * 1.2])
    ax.plot(lim, lim, "k--", lw=1.0, label="y = x (bound tight)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"measured $\tilde p_u / p_u$ (dimensionless)")
    ax.set_ylabel("bound (7) of the same instance")
    ax.set_title("(7) holds iff points lie on or above y = x", fontsize=9)
    ax.legend(fontsize=6.5)
    ax.grid(alpha=0.3, which="both", lw=0.5)


def plot_fig5(
    df: pd.DataFrame,
    out_dir: str | Path,
    ratio: pd.DataFrame | None = None,
    ratio_column: str = "ratio_u",
    paired: pd.DataFrame | None = None,
) -> list[Path]:
    """Figure 5 / P7, P6, THEORY.md §3.4 and (7): the MAX-CUT bound and the bound (7).

    Left: ``gamma_all^2 = max_i ||X^T D_i y||^2`` (x) against the MAX-CUT value (y), exact
    (filled) and SDP upper bound (open), with ``y = x``; ``gamma_all^2`` from enumeration is
    circled, a sampled lower estimate marked ``x``. Right: the bound (7) ``2 gamma_all /
    (||y|| sqrt(lambda_min(S_bar)))`` and its certified variant with ``sqrt(MAX-CUT)`` against
    ``n`` (median and IQR); when ``ratio`` is given (columns ``n`` and ``ratio_column``, the
    measured ``p~_u / p_u`` of another experiment) it is drawn on the same axes.

    Parameters
    ----------
    df : DataFrame
        The ``maxcut`` results table (:data:`FIG5_COLUMNS`; optional ``maxcut_exact``,
        ``gamma_is_exact``, ``bound7_maxcut``, ``labels``).
    out_dir : str or Path
    ratio : DataFrame, optional
    ratio_column : str
    paired : DataFrame, optional
        A table with, per instance, the measured ``ratio_gated_pu`` (= p~_u / p_u with p_u
        exact) and the bound (7) ``bound7`` of the same instance (the ``relaxation_gap``
        experiment); drawn as a third panel, measured ratio against its bound, where every
        point must lie on or above ``y = x`` (P6).

    Returns
    -------
    list of Path
        ``fig5_maxcut.pdf`` and ``fig5_maxcut.png``.

    Raises
    ------
    HarnessError
        Empty table, missing columns or no usable rows (also for ``ratio``).
    """
    df, n_failed = usable_table(df, FIG5_COLUMNS, "Figure 5 (MAX-CUT)", require_values=True)
    if paired is not None:
        fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(12.6, 3.9))
        _paired_bound7_panel(ax3, paired)
    else:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.6, 3.7))
    exact_flag = (
        df["gamma_is_exact"].astype(bool)
        if "gamma_is_exact" in df.columns
        else pd.Series(True, index=df.index)
    )
    x = df["gamma_all_sq"].astype(float)
    has_exact = "maxcut_exact" in df.columns and df["maxcut_exact"].notna().any()
    if has_exact:
        ex = df["maxcut_exact"].astype(float)
        ok = ex.notna()
        ax1.scatter(x[ok], ex[ok], s=16, color="C0", label="exact MAX-CUT (enumeration)")
    ax1.scatter(
        x,
        df["maxcut_sdp_upper"].astype(float),
        s=22,
        facecolors="none",
        edgecolors="C1",
        label="SDP upper bound (Goemans-Williamson)",
    )
    if (~exact_flag).any():
        ax1.scatter(
            x[~exact_flag],
            df.loc[~exact_flag, "maxcut_value"].astype(float),
            s=30,
            marker="x",
            color="C3",
            label="γ² only a lower estimate (sampled h)",
        )
    pos = np.concatenate([x.to_numpy(), df["maxcut_value"].astype(float).to_numpy()])
    pos = pos[np.isfinite(pos) & (pos > 0)]
    if pos.size:
        lim = np.array([pos.min() / 1.3, pos.max() * 1.3])
        ax1.plot(lim, lim, "k--", lw=1.0, label="y = x")
        subs = (1.0,) if lim[1] / lim[0] > 100 else (1.0, 2.0, 5.0)
        _log_axis(ax1, "x", subs=subs)
        _log_axis(ax1, "y", subs=subs)
    ax1.set_xlabel(r"$\gamma_{\rm all}^2 = \max_i \|X^\top D_i y\|_2^2$ (squared label units)")
    ax1.set_ylabel(r"$\max_{s\in\{0,1\}^n} s^\top \mathrm{diag}(y)XX^\top\mathrm{diag}(y)s$")
    ax1.set_title("§3.4: γ² ≤ MAX-CUT value (points above y = x)", fontsize=9)
    ax1.legend(fontsize=6.5)
    ax1.grid(alpha=0.3, which="both", lw=0.5)

    keys = ["d"] if "d" in df.columns else []
    groups = df.groupby(keys) if keys else [((None,), df)]
    for i, (k, g) in enumerate(groups):
        kv = k[0] if isinstance(k, tuple) else k
        lab = f"d = {kv}" if kv is not None else ""
        median_band(ax2, quartiles(g, "n", "bound7"), f"C{i}", f"bound (7), exact/est. γ {lab}")
        if "bound7_maxcut" in g.columns:
            q = quartiles(g, "n", "bound7_maxcut")
            ax2.plot(
                q.index,
                q["q50"],
                color=f"C{i}",
                ls=":",
                marker="^",
                ms=3,
                lw=1.0,
                label=f"bound (7) with √MAX-CUT {lab}",
            )
    if ratio is not None:
        r, _ = usable_table(ratio, ("n", ratio_column), "Figure 5 (measured p~_u / p_u)")
        median_band(ax2, quartiles(r, "n", ratio_column), "k", "measured p̃_u / p_u", marker="D")
    _log_axis(ax2, "x", df["n"].unique())
    _log_axis(ax2, "y")
    ax2.set_xlabel("number of samples n (log scale)")
    ax2.set_ylabel(r"bound on $\tilde p_u / p_u$ (dimensionless)")
    P = df["P_used"].iloc[0] if "P_used" in df.columns else "?"
    ax2.set_title(f"bound (7), S̄ from P̃ = {P} sampled patterns", fontsize=9)
    ax2.legend(fontsize=6.5)
    ax2.grid(alpha=0.3, which="both", lw=0.5)
    labels = "/".join(sorted(df["labels"].astype(str).unique())) if "labels" in df.columns else "?"
    fig.suptitle(
        f"Fig. 5 (P7, §3.4, (7)): (A1) data, labels {labels}; median and IQR over seeds"
        f"{failed_note(n_failed)}",
        fontsize=9,
    )
    fig.tight_layout()
    return save_figure(fig, out_dir, STEMS["fig5"])
