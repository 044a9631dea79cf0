"""Decision rules shared by the checks: honest statistics, not eyeballing.

* :func:`hard_inequality` — orderings and proven bounds: any violation beyond the
  solver tolerance is a FAIL.
* :func:`slope_ci` / :func:`trend_rule` — scaling claims: least-squares slope with a
  cluster (seed) bootstrap confidence interval.
* :func:`binomial_rule` — probability claims: Clopper-Pearson interval for a frequency.
* :func:`bracket_rule` — claims evaluated with a certified bracket on p*: PASS only if they
  hold at the worst case in the bracket, INCONCLUSIVE if only for part of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from harness.predictions import CheckResult


@dataclass(frozen=True)
class SlopeEstimate:
    """OLS slope of ``y`` on ``x`` with a bootstrap percentile interval."""

    slope: float
    low: float
    high: float
    n_points: int
    level: float


def hard_inequality(
    lhs: ArrayLike,
    rhs: ArrayLike,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    measured: str,
    predicted: str,
) -> CheckResult:
    """``lhs <= rhs`` must hold entrywise up to ``atol + rtol * |rhs|``; any violation fails."""
    a = np.asarray(lhs, dtype=float)
    b = np.asarray(rhs, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return CheckResult("NOT-RUN", measured, predicted, "no finite values to compare")
    excess = a[ok] - b[ok]
    slack = atol + rtol * np.abs(b[ok])
    n_viol = int(np.sum(excess > slack))
    worst = float(np.max(excess / np.maximum(np.abs(b[ok]), atol)))
    details = {"n_compared": int(ok.sum()), "n_violations": n_viol, "worst_rel_excess": worst}
    if n_viol:
        return CheckResult(
            "FAIL",
            measured,
            predicted,
            f"{n_viol} of {int(ok.sum())} comparisons violate the inequality "
            f"(worst relative excess {worst:.3g})",
            details,
        )
    return CheckResult(
        "PASS",
        measured,
        predicted,
        f"holds in all {int(ok.sum())} comparisons (largest relative excess {worst:.3g})",
        details,
    )


def slope_ci(
    x: ArrayLike,
    y: ArrayLike,
    *,
    clusters: ArrayLike | None = None,
    n_boot: int = 2000,
    level: float = 0.95,
    rng: np.random.Generator,
) -> SlopeEstimate:
    """Least-squares slope of ``y`` on ``x`` with a bootstrap ``level`` interval.

    When ``clusters`` (e.g. the seed of each row) is given, whole clusters are resampled,
    so rows sharing a seed are not treated as independent.
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    keep = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[keep], ya[keep]
    if xa.size < 3 or np.ptp(xa) == 0:
        return SlopeEstimate(np.nan, np.nan, np.nan, int(xa.size), level)
    slope = float(np.polyfit(xa, ya, 1)[0])
    if clusters is None:
        groups = [np.array([i]) for i in range(xa.size)]
    else:
        labels = np.asarray(clusters)[keep]
        groups = [np.flatnonzero(labels == g) for g in np.unique(labels)]
    boots = np.empty(n_boot)
    for b in range(n_boot):
        pick = rng.integers(0, len(groups), size=len(groups))
        idx = np.concatenate([groups[i] for i in pick])
        xs, ys = xa[idx], ya[idx]
        boots[b] = np.polyfit(xs, ys, 1)[0] if np.ptp(xs) > 0 else np.nan
    boots = boots[np.isfinite(boots)]
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(boots, [alpha, 1.0 - alpha]) if boots.size else (np.nan, np.nan)
    return SlopeEstimate(slope, float(low), float(high), int(xa.size), level)


def trend_rule(
    est: SlopeEstimate, max_slope: float, *, measured: str, predicted: str
) -> CheckResult:
    """Scaling claim "slope <= max_slope": FAIL when the whole interval lies above it.

    PASS when the interval's upper end is <= ``max_slope`` (the data exclude a steeper
    trend) or the interval contains it while the point estimate is below; INCONCLUSIVE
    when the point estimate is above ``max_slope`` but the interval still reaches it.
    """
    details = {"slope": est.slope, "ci_low": est.low, "ci_high": est.high, "n_points": est.n_points}
    if not np.isfinite(est.slope):
        return CheckResult("NOT-RUN", measured, predicted, "fewer than 3 usable points", details)
    text = f"slope {est.slope:.3g} [{est.low:.3g}, {est.high:.3g}] ({est.level:.0%} CI) vs <= {max_slope:g}"
    if est.low > max_slope:
        return CheckResult("FAIL", measured, predicted, f"significant excess: {text}", details)
    if est.slope > max_slope:
        return CheckResult(
            "INCONCLUSIVE",
            measured,
            predicted,
            f"estimate above bound, CI reaches it: {text}",
            details,
        )
    return CheckResult("PASS", measured, predicted, f"consistent: {text}", details)


def binomial_rule(
    successes: int,
    trials: int,
    level: float,
    *,
    confidence: float = 0.95,
    measured: str,
    predicted: str,
) -> CheckResult:
    """Probability claim "P(success) >= level" with a Clopper-Pearson interval.

    FAIL when the interval lies entirely below ``level``; PASS when the point estimate is
    at least ``level`` or the interval contains it.
    """
    if trials <= 0:
        return CheckResult("NOT-RUN", measured, predicted, "no trials")
    alpha = 1.0 - confidence
    low = (
        0.0
        if successes == 0
        else float(stats.beta.ppf(alpha / 2, successes, trials - successes + 1))
    )
    high = (
        1.0
        if successes == trials
        else float(stats.beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    )
    freq = successes / trials
    details = {
        "successes": successes,
        "trials": trials,
        "freq": freq,
        "ci_low": low,
        "ci_high": high,
    }
    text = f"{successes}/{trials} = {freq:.3f} [{low:.3f}, {high:.3f}] vs >= {level:g}"
    if high < level:
        return CheckResult(
            "FAIL", measured, predicted, f"frequency significantly below: {text}", details
        )
    return CheckResult("PASS", measured, predicted, f"consistent: {text}", details)


def bracket_rule(worst: CheckResult, best: CheckResult) -> CheckResult:
    """Combine a claim evaluated at both ends of a certified bracket on p*.

    ``worst`` uses the bracket end least favourable to the claim, ``best`` the most
    favourable. PASS only if the claim passes at the worst end; FAIL if it fails at both;
    INCONCLUSIVE otherwise.
    """
    if worst.verdict == "NOT-RUN" or best.verdict == "NOT-RUN":
        return worst if worst.verdict == "NOT-RUN" else best
    if worst.verdict == "PASS":
        return worst
    if best.verdict == "FAIL":
        return CheckResult(
            "FAIL",
            best.measured,
            best.predicted,
            f"fails across the whole p* bracket: {best.explanation}",
            {"worst": worst.details, "best": best.details},
        )
    return CheckResult(
        "INCONCLUSIVE",
        worst.measured,
        worst.predicted,
        f"holds for part of the p* bracket only (worst end: {worst.explanation}; "
        f"best end: {best.explanation})",
        {"worst": worst.details, "best": best.details},
    )


def usable_rows(
    tables: Mapping[str, pd.DataFrame], name: str, required: Sequence[str]
) -> tuple[pd.DataFrame | None, str, dict[str, Any]]:
    """Rows of ``tables[name]`` from points that ran (failed points removed *and counted*).

    Returns ``(df, "", info)``, or ``(None, reason, info)`` when the table is missing, empty,
    has only failed points, or lacks a ``required`` column. ``info["n_failed_points"]``
    counts the failed points (by cache key) and ``info["failed_errors"]`` lists up to five of
    their error messages, so a check can report them instead of dropping them silently.
    """
    info: dict[str, Any] = {"n_failed_points": 0}
    df = tables.get(name)
    if df is None:
        return None, f"no results for experiment {name!r}", info
    if df.empty:
        return None, f"results table of {name!r} is empty", info
    if "point_status" in df.columns:
        bad = (df["point_status"] != "ok").to_numpy()
        if bad.any():
            key = "cache_key" if "cache_key" in df.columns else None
            info["n_failed_points"] = (
                int(df.loc[bad, key].nunique()) if key is not None else int(bad.sum())
            )
            if "error" in df.columns:
                info["failed_errors"] = sorted({str(e) for e in df.loc[bad, "error"]})[:5]
        df = df[~bad]
        if df.empty:
            return None, f"every point of {name!r} failed ({info['n_failed_points']} points)", info
    missing = [c for c in required if c not in df.columns]
    if missing:
        return None, f"results table of {name!r} lacks columns {missing}", info
    return df, "", info
