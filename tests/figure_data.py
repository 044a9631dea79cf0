"""Test helper: the figures a plotting function saved, and the data of their curves.

A plot test checks that the curves drawn are the table's numbers (medians per x value,
computed here with plain pandas, independently of :mod:`harness.plots.common`), not only
that a file was written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure


@contextmanager
def saved_figures(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Figure]]:
    """Record every figure saved inside the block (the files are still written)."""
    figures: list[Figure] = []
    original = Figure.savefig

    def savefig(self: Figure, *args: Any, **kwargs: Any) -> Any:
        if not any(f is self for f in figures):
            figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    yield figures
    monkeypatch.setattr(Figure, "savefig", original)


def curves(fig: Figure) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(x, y)`` of every line of every axes of ``fig``."""
    out = []
    for ax in fig.axes:
        for line in ax.get_lines():
            x = np.asarray(line.get_xdata(), dtype=float)
            y = np.asarray(line.get_ydata(), dtype=float)
            out.append((x, y))
    return out


def medians(table: pd.DataFrame, by: str, col: str) -> pd.Series:
    """Median of the finite values of ``col`` per value of ``by`` (sorted by ``by``)."""
    vals = table[[by, col]].astype(float)
    vals = vals[np.isfinite(vals[col])]
    return vals.groupby(by)[col].median().sort_index()


def assert_curve(fig: Figure, expected: pd.Series, rtol: float = 1e-12) -> None:
    """Some line of ``fig`` has exactly the points ``(expected.index, expected.values)``."""
    x = expected.index.to_numpy(dtype=float)
    y = expected.to_numpy(dtype=float)
    for cx, cy in curves(fig):
        if cx.shape == x.shape and np.allclose(cx, x, rtol=rtol) and np.allclose(cy, y, rtol=rtol):
            return
    raise AssertionError(
        f"no curve with x={x.tolist()} y={y.tolist()}; the figure has "
        f"{[(c[0].tolist(), c[1].tolist()) for c in curves(fig)][:8]}"
    )
