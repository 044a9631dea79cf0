"""Scaling claims per group: the bracket-aware trend rule applied group by group.

A scaling claim "``y`` grows no faster than ``g(n)``" is tested as "the slope of ``y /
g(n)`` against ``x`` (``log n`` or ``sqrt(log 2n)``) is <= ``max_slope``" in every group
(e.g. every ``c``), with :func:`~harness.predictions.rules.bracket_slope_ci` (rows whose
response is only bracketed contribute both ends) and
:func:`~harness.predictions.rules.bracket_trend_rule`, which needs the design of
:data:`~harness.predictions.rules.SCALING_DESIGN` in every group.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from harness.predictions import CheckResult
from harness.predictions.evidence import N_BOOT, arr, combine_groups, groups, label, rule_rng
from harness.predictions.rules import SCALING_DESIGN, Design, bracket_slope_ci, bracket_trend_rule

#: A normalised statistic whose raw values vary by less than this (relative) is degenerate:
#: the normalisation alone sets its slope, so the trend carries no evidence.
DEGENERATE_RTOL = 1e-6


def trend_part(
    df: pd.DataFrame,
    *,
    name: str,
    x: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    keys: Sequence[str],
    max_slope: float = 0.0,
    levels_col: str = "n",
    clusters_col: str | None = "seed_index",
    raw: tuple[np.ndarray, np.ndarray] | None = None,
    design: Design | None = SCALING_DESIGN,
    n_boot: int = N_BOOT,
) -> CheckResult:
    """Per group of ``keys``: slope of the response bracket ``[lo, hi]`` against ``x``.

    ``raw`` is the un-normalised statistic's bracket ``(raw_lo, raw_hi)`` per row (e.g.
    ``R`` before dividing by ``sqrt(log 2n)``): when every row of a group lies in one band
    narrower than :data:`DEGENERATE_RTOL` (``max raw_hi - min raw_lo``), the statistic is
    constant and that group is INCONCLUSIVE whatever the slope. A row with a wide bracket
    is evidence that the statistic varies, so it is never ignored here.
    """
    rng = rule_rng()
    work = df.reset_index(drop=True).assign(_x=x, _lo=lo, _hi=hi)
    if raw is not None:
        work = work.assign(_raw_lo=raw[0], _raw_hi=raw[1])
    entries: list[tuple[str, CheckResult]] = []
    for key, g in groups(work, [k for k in keys if k in work.columns]):
        lab = label([k for k in keys if k in work.columns], key) or "all"
        cl = (
            g[clusters_col].to_numpy()
            if clusters_col is not None and clusters_col in g.columns
            else None
        )
        lv = arr(g, levels_col) if levels_col in g.columns else arr(g, "_x")
        worst, best = bracket_slope_ci(
            arr(g, "_x"),
            arr(g, "_lo"),
            arr(g, "_hi"),
            clusters=cl,
            levels=lv,
            design=design,
            n_boot=n_boot,
            rng=rng,
        )
        res = bracket_trend_rule(worst, best, max_slope, measured="", predicted="")
        if raw is not None and res.verdict == "PASS":
            r_lo, r_hi = arr(g, "_raw_lo"), arr(g, "_raw_hi")
            ok = np.isfinite(r_lo) & np.isfinite(r_hi)
            band = float(np.max(r_hi[ok]) - np.min(r_lo[ok])) if ok.all() and ok.size else np.inf
            top = float(np.max(np.abs(r_hi[ok]))) if ok.any() else 0.0
            if band <= DEGENERATE_RTOL * max(1.0, top):
                res = CheckResult(
                    "INCONCLUSIVE",
                    "",
                    "",
                    f"the statistic is constant ({float(r_hi[0]):.6g}) on every row: the "
                    f"normalisation alone sets the slope, so the growth bound is not exercised "
                    f"({res.explanation})",
                    res.details,
                )
        entries.append((lab, res))
    return combine_groups(name, entries, "no group with usable rows")
