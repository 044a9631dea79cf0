"""Figure 2 of Kim & Pilanci (coupling lemma), THEORY.md §A3 (A2) / §A8: preserved patterns.

Reads the ``coupling`` results table (:mod:`harness.kinds.coupling`) and draws, for each
dataset and, when the table has several ``n``, each ``n`` (one column of panels), ``frac_neuron(t)`` (top) and ``frac_entry(t)`` (bottom)
against the optimisation step ``t`` on a symmetric-log axis (so step 0, where both are 1
by definition, is shown), and below them the relative objective ``L(theta_t) / L(theta_0)``
(column ``loss_rel``, when present), which shows how far training got: a fraction stays
near 1 trivially when the weights barely move. One line per (width ``m``, learning rate, method): colour codes
``m``, line style the learning rate / method. Lines are the median over seeds with the
interquartile range shaded. The level 1/2 of (A2) is drawn dashed on the top row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from harness.errors import HarnessError
from harness.plots.common import failed_note, median_band, quartiles, save_figure, usable_table

REQUIRED_COLUMNS = ("dataset", "width", "step", "final", "frac_neuron", "frac_entry")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3)))
FIGURE_STEM = "coupling"


def _one_value(g: pd.DataFrame, col: str) -> str:
    if col not in g.columns:
        return "?"
    vals = sorted({f"{v:g}" if isinstance(v, float) else str(v) for v in g[col].dropna()})
    return "/".join(vals) if vals else "?"


def _n_seeds(fin: pd.DataFrame, keys: list[str]) -> str:
    counts = fin.groupby(keys).size() if len(fin) else pd.Series(dtype=int)
    if counts.empty:
        return "0"
    lo, hi = int(counts.min()), int(counts.max())
    return str(lo) if lo == hi else f"{lo}-{hi}"


def plot_coupling(df: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Figure 2 / P15, THEORY.md §A8: ``frac_neuron(t)`` and ``frac_entry(t)`` during GD.

    Parameters
    ----------
    df : DataFrame
        The ``coupling`` results table (columns :data:`REQUIRED_COLUMNS`; optional
        ``lr``, ``method``, ``n``, ``d``, ``beta``, ``status``, ``point_status``).
    out_dir : str or Path
        Folder for ``coupling.pdf`` and ``coupling.png`` (created if needed).

    Returns
    -------
    list of Path
        The PDF and PNG written.

    Raises
    ------
    HarnessError
        Empty table, missing columns, or no usable rows.
    """
    df, n_failed = usable_table(df, REQUIRED_COLUMNS, "coupling")
    df = df.copy()
    if "lr" not in df.columns:
        df["lr"] = np.nan
    if "method" not in df.columns:
        df["method"] = "gd"
    df["final"] = df["final"].astype(bool)
    trace = df[~df["final"]]
    fin = df[df["final"]]
    if trace.empty:
        raise HarnessError(
            "coupling figure: the results table has no recorded steps (final == False)"
        )

    # one column per dataset, and per n when several n were run (pooling n would mix curves)
    col_keys = ["dataset"]
    if "n" in trace.columns and trace["n"].nunique() > 1:
        col_keys.append("n")
    columns = list(set(trace[col_keys].itertuples(index=False, name=None)))
    columns.sort(key=lambda c: (str(c[0]), *(float(v) for v in c[1:])))
    widths = sorted(trace["width"].unique())
    schedules = sorted(
        {(str(m), float(lr)) for m, lr in zip(trace["method"], trace["lr"])},
        key=lambda t: (t[0], t[1]),
    )
    cmap = plt.get_cmap("viridis")
    colors = {w: cmap(i / max(len(widths) - 1, 1) * 0.9) for i, w in enumerate(widths)}
    styles = {s: LINESTYLES[i % len(LINESTYLES)] for i, s in enumerate(schedules)}

    # rows: frac_neuron, frac_entry and, when recorded, the relative loss (how far training got)
    panels = [("frac_neuron", "fn"), ("frac_entry", "fe")]
    if "loss_rel" in trace.columns and trace["loss_rel"].notna().any():
        panels.append(("loss_rel", "lr"))
    nrows = len(panels)
    ncols = len(columns)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(3.6 * ncols + 0.6, 2.6 * nrows + 0.6),
        squeeze=False,
        sharex="col",
        sharey="row",
    )
    keys = ["dataset", "width", "method", "lr"]
    for j, ck in enumerate(columns):
        ds = ck[0]
        in_col = np.logical_and.reduce([trace[k] == v for k, v in zip(col_keys, ck)])
        sub = trace[in_col]
        for (w, meth, lr), g in sub.groupby(["width", "method", "lr"], dropna=False):
            style = styles[(str(meth), float(lr))]
            for row, (col, _) in enumerate(panels):
                q = quartiles(g, "step", col)
                median_band(axes[row, j], q, colors[w], ls=style, marker=None, alpha=0.15)
        fin_ds = fin[np.logical_and.reduce([fin[k] == v for k, v in zip(col_keys, ck)])]
        n_div = int((fin_ds["status"] == "diverged").sum()) if "status" in fin_ds else 0
        title = (
            f"{ds}: n={_one_value(sub, 'n')}, d={_one_value(sub, 'd')}, "
            f"seeds={_n_seeds(fin_ds, keys)}"
        )
        if n_div:
            title += f", {n_div} diverged"
        axes[0, j].set_title(title, fontsize=9)
        axes[0, j].axhline(0.5, color="black", ls="--", lw=1.0)
        axes[0, j].text(
            0.02,
            0.5,
            " (A2): 1/2",
            transform=axes[0, j].get_yaxis_transform(),
            va="bottom",
            fontsize=8,
        )
        for row in range(nrows):
            ax = axes[row, j]
            ax.set_xscale("symlog", linthresh=1.0)
            ax.set_xlim(left=0.0)
            ax.grid(alpha=0.3, lw=0.5)
        axes[0, j].set_ylim(-0.03, 1.03)
        if nrows == 3:
            axes[2, j].set_yscale("log")
        methods = set(sub["method"].astype(str))
        step_name = "GD" if methods == {"gd"} else "Adam" if methods == {"adam"} else "optimizer"
        axes[-1, j].set_xlabel(f"full-batch {step_name} step t (symlog)")
    axes[0, 0].set_ylabel("fraction of neurons with\nunchanged pattern, frac_neuron(t)")
    axes[1, 0].set_ylabel("fraction of unchanged pattern\nentries, frac_entry(t)")
    if nrows == 3:
        axes[2, 0].set_ylabel("relative objective (1)\n" + r"$L(\theta_t)/L(\theta_0)$")

    handles: list[Any] = [
        Line2D([], [], color=colors[w], lw=2, label=f"m = {int(w)}") for w in widths
    ]
    scaled = "lr_scaling" in df.columns and (df["lr_scaling"].astype(str) == "1/m").any()
    ref = _one_value(df, "lr_width_ref") if scaled else ""
    handles += [
        Line2D(
            [],
            [],
            color="black",
            ls=styles[s],
            lw=1.4,
            label=f"{s[0]}, lr = {s[1]:g}" + (f" x {ref}/m" if scaled else ""),
        )
        for s in schedules
    ]
    axes[0, -1].legend(handles=handles, fontsize=7, loc="lower left", framealpha=0.85)
    beta = _one_value(df, "beta")
    n_steps = _one_value(df, "n_steps")
    fig.suptitle(
        "Coupling lemma (Fig. 2): patterns preserved from initialisation during training on (1)\n"
        f"squared loss + weight decay β={beta}, T={n_steps} steps, width m; "
        "median and IQR over seeds" + failed_note(n_failed),
        fontsize=9,
    )
    fig.tight_layout()
    return save_figure(fig, out_dir, FIGURE_STEM)
