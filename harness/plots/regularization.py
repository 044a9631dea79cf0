"""Appendix E of Kim & Pilanci (effect of regularisation), THEORY.md §A8: accuracy vs beta.

Reads the ``regularization`` results table (:mod:`harness.kinds.regularization`) and
draws, for each dataset (one column of panels), the test accuracy (top) and the test MSE
(bottom) of the convex solution mapped to a ReLU network against the relative weight
decay ``beta / beta_max`` (log axis). Colour codes the number of sampled patterns ``P``
(the width of the convex model), line style the formulation. Lines are medians over seeds
with the interquartile range shaded; only ``status == "optimal"`` solves are drawn (the
number left out is printed in the panel title). The dotted line is the majority-class
rate (a constant predictor).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D

from harness.errors import HarnessError
from harness.plots.common import failed_note, median_band, quartiles, save_figure, usable_table

REQUIRED_COLUMNS = ("dataset", "P", "beta_rel", "test_acc", "status")
LINESTYLES = {"relu": "-", "gated": "--"}
FIGURE_STEM = "regularization"


def _one_value(g: pd.DataFrame, col: str) -> str:
    if col not in g.columns:
        return "?"
    vals = sorted({f"{v:g}" if isinstance(v, float) else str(v) for v in g[col].dropna()})
    return "/".join(vals) if vals else "?"


def plot_regularization(df: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Appendix E / P18, THEORY.md §A8: test accuracy and test MSE against ``beta / beta_max``.

    Parameters
    ----------
    df : DataFrame
        The ``regularization`` results table (columns :data:`REQUIRED_COLUMNS`; optional
        ``formulation``, ``test_mse``, ``test_acc_majority``, ``n``, ``d``, ``n_test``,
        ``solver``, ``point_status``).
    out_dir : str or Path
        Folder for ``regularization.pdf`` and ``regularization.png`` (created if needed).

    Returns
    -------
    list of Path
        The PDF and PNG written.

    Raises
    ------
    HarnessError
        Empty table, missing columns, or no optimal solve.
    """
    df, n_failed = usable_table(df, REQUIRED_COLUMNS, "regularization")
    df = df.copy()
    if "formulation" not in df.columns:
        df["formulation"] = "relu"
    good = df[df["status"] == "optimal"]
    if good.empty:
        raise HarnessError(
            "regularization figure: no solve with status 'optimal' in the results table "
            f"(statuses: {sorted(set(df['status'].astype(str)))})"
        )
    datasets = sorted(good["dataset"].unique())
    widths = sorted(good["P"].unique())
    forms = sorted(good["formulation"].astype(str).unique())
    cmap = plt.get_cmap("plasma")
    colors = {p: cmap(i / max(len(widths) - 1, 1) * 0.85) for i, p in enumerate(widths)}
    has_mse = "test_mse" in good.columns
    nrows = 2 if has_mse else 1
    ncols = len(datasets)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.6 * ncols + 0.6, 2.9 * nrows + 0.3), squeeze=False, sharex=True
    )
    for j, ds in enumerate(datasets):
        sub = good[good["dataset"] == ds]
        for (P, form), g in sub.groupby(["P", "formulation"]):
            ls = LINESTYLES.get(str(form), ":")
            panels = [("test_acc", 0)] + ([("test_mse", 1)] if has_mse else [])
            for col, row in panels:
                q = quartiles(g, "beta_rel", col)
                median_band(axes[row, j], q, colors[P], ls=ls, ms=3, alpha=0.15)
        if "test_acc_majority" in sub.columns:
            axes[0, j].axhline(
                float(sub["test_acc_majority"].median()), color="gray", ls=":", lw=1.0
            )
        n_bad = int(((df["dataset"] == ds) & (df["status"] != "optimal")).sum())
        title = (
            f"{ds}: n={_one_value(sub, 'n')}, d={_one_value(sub, 'd')}, "
            f"n_test={_one_value(sub, 'n_test')}"
        )
        if n_bad:
            title += f"\n({n_bad} non-optimal solves left out)"
        axes[0, j].set_title(title, fontsize=9)
        for row in range(nrows):
            axes[row, j].set_xscale("log")
            axes[row, j].grid(alpha=0.3, lw=0.5)
        axes[-1, j].set_xlabel(r"relative weight decay $\beta/\beta_{\max}$")
    axes[0, 0].set_ylabel("test accuracy (sign agreement)")
    if has_mse:
        axes[1, 0].set_ylabel("test MSE")
    handles: list[Any] = [
        Line2D([], [], color=colors[p], lw=2, marker="o", ms=3, label=f"P = {int(p)} patterns")
        for p in widths
    ]
    handles += [
        Line2D([], [], color="black", ls=LINESTYLES.get(f, ":"), lw=1.4, label=f"{f} program")
        for f in forms
    ]
    handles.append(Line2D([], [], color="gray", ls=":", lw=1.0, label="majority class"))
    axes[0, -1].legend(handles=handles, fontsize=7, loc="lower left", framealpha=0.85)
    seeds = str(int(good["seed_index"].nunique())) if "seed_index" in good.columns else "?"
    fig.suptitle(
        "Effect of regularisation (App. E): convex program solved, mapped to a ReLU network\n"
        f"solver={_one_value(good, 'solver')}, "
        r"$\beta = \beta_{\rm rel}\,\max_i \|X^\top D_i y\|_2$; "
        f"median and IQR over {seeds} seeds" + failed_note(n_failed),
        fontsize=9,
    )
    fig.tight_layout()
    return save_figure(fig, out_dir, FIGURE_STEM)
