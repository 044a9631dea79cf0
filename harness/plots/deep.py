"""Figures of Ergen & Pilanci (ICML 2021), THEORY.md Part B, from stored result tables.

* :func:`plot_deep_fig4` (``deep1``): Fig. 4 — objective (5) of every SGD run against wall
  time, one panel per K, for the first seed of the sampled synthetic instance, with the
  optimum of (13) (dashed line, marker at its Clarabel solve time) and the value of (5) at
  the Prop. 1 weights (star).
* :func:`plot_deep_fmnist` (``deep2``): Fig. 5/6 in spirit — objective and test accuracy
  against wall time for (16) with Adam and (5) with SGD / Adam, every seed.

Failed points and diverged runs are left out and counted in the title.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from harness.plots.common import failed_note, save_figure, usable_table

FIG4_COLUMNS = ("record", "K", "init", "time_s", "objective", "p13", "arrangement")
FMNIST_COLUMNS = ("record", "method", "time_s", "objective", "test_accuracy")
_FMNIST_STYLE = {
    "convex16_adam": ("tab:blue", "convex (16), Adam"),
    "nonconvex_sgd": ("tab:red", "non-convex (5), SGD"),
    "nonconvex_adam": ("tab:orange", "non-convex (5), Adam"),
}


def plot_deep_fig4(df: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Fig. 4: SGD objective vs time per K with the convex optimum (module docstring)."""
    df, n_failed = usable_table(df, FIG4_COLUMNS, "figure deep1 (deep_synthetic)")
    df = df[df["arrangement"] == "sampled"]
    first = int(df["seed_index"].min()) if "seed_index" in df.columns else 0
    if "seed_index" in df.columns:
        df = df[df["seed_index"] == first]
    conv = df[df["record"] == "convex"].iloc[0]
    traces = df[df["record"] == "trace"]
    runs = df[df["record"] == "run"]
    n_div = int((runs["status"] != "ok").sum())
    Ks = sorted(traces["K"].dropna().unique())
    fig, axes = plt.subplots(1, len(Ks), figsize=(3.6 * len(Ks), 3.3), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, K in zip(axes, Ks):
        tk = traces[traces["K"] == K]
        for init, g in tk.groupby("init"):
            st = runs[(runs["K"] == K) & (runs["init"] == init)]["status"]
            if len(st) and st.iloc[0] != "ok":
                continue
            ax.plot(g["time_s"], g["objective"], color="tab:red", lw=1, alpha=0.7)
        ax.axhline(conv["p13"], color="k", ls="--", lw=1.2, label="convex (13)")
        ax.plot([conv["solve_time_s"]], [conv["p13"]], "ko", ms=5)
        ax.plot(
            [conv["solve_time_s"]],
            [conv["mapped_objective"]],
            "*",
            color="tab:green",
            ms=10,
            label="(5) at Prop. 1 weights",
        )
        ax.set_xscale("symlog", linthresh=1e-2)
        ax.set_yscale("log")
        ax.set_title(f"K = {K:g}")
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("training objective (5)")
    axes[0].plot([], [], color="tab:red", label="SGD runs")
    axes[0].legend(fontsize=7)
    n, d = conv.get("n", np.nan), conv.get("d", np.nan)
    fig.suptitle(
        f"Fig. 4 (Ergen & Pilanci 2021): n={n:g}, d={d:g}, m1={conv.get('m1', 2):g}, "
        f"{int(conv['n_blocks'])} blocks, seed {first}"
        f"{failed_note(n_failed)}{f'; {n_div} diverged runs omitted' if n_div else ''}",
        fontsize=9,
    )
    fig.tight_layout()
    return save_figure(fig, out_dir, "deep_fig4")


def plot_deep_fmnist(df: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Fig. 5/6 in spirit: objective and test accuracy vs time (module docstring)."""
    df, n_failed = usable_table(df, FMNIST_COLUMNS, "figure deep2 (deep_fmnist)")
    traces = df[df["record"] == "trace"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    key = "seed_index" if "seed_index" in traces.columns else "method"
    for method, (color, label) in _FMNIST_STYLE.items():
        tm = traces[traces["method"] == method]
        for j, (_, g) in enumerate(tm.groupby(key)):
            g = g.sort_values("time_s")
            lab = label if j == 0 else None
            ax1.plot(g["time_s"], g["objective"], color=color, lw=1, alpha=0.8, label=lab)
            ax2.plot(g["time_s"], g["test_accuracy"], color=color, lw=1, alpha=0.8, label=lab)
    ax1.set_yscale("log")
    ax1.set_xlabel("time (s)")
    ax1.set_ylabel("training objective ((16) or (5))")
    ax2.set_xlabel("time (s)")
    ax2.set_ylabel("test accuracy")
    ax2.legend(fontsize=7)
    fig.suptitle(
        "Fashion-MNIST 0-4 vs 5-9 (Fig. 5/6 in spirit, CPU scale)" + failed_note(n_failed),
        fontsize=9,
    )
    fig.tight_layout()
    return save_figure(fig, out_dir, "deep_fmnist")
