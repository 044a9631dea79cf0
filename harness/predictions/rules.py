"""Decision rules shared by the checks: each states the evidence a PASS needs.

* :func:`hard_inequality` — orderings and proven bounds: any violation beyond the solver
  tolerance is a FAIL; PASS needs at least :data:`HARD_MIN_COMPARISONS` finite comparisons
  and no comparison lost to a NaN (a violation could hide there).
* :func:`slope_ci` / :func:`trend_rule` — scaling claims "slope <= bound": least-squares
  slope with a cluster (seed) bootstrap interval. PASS only when the whole interval is within
  the bound, FAIL only when the whole interval is outside, INCONCLUSIVE otherwise, and
  INCONCLUSIVE whatever the interval when the design is below :data:`SCALING_DESIGN`
  (>= 4 distinct levels spanning >= a factor 8, >= 3 clusters/seeds).
* :func:`bracket_slope_ci` / :func:`bracket_trend_rule` — the same claim on a quantity known
  only within a certified bracket ``[lo, hi]`` per row. The OLS slope is linear in the
  responses, so its largest value over the bracket takes ``hi`` where the centred regressor
  is positive and ``lo`` where it is negative (the smallest value the reverse). PASS only if
  the worst case passes, FAIL only if even the best case fails.
* :func:`binomial_rule` — probability claims "P(success) >= level": FAIL when the
  Clopper–Pearson interval lies below the level; PASS only when the estimate meets the level
  *and* the interval's lower end is >= level - :data:`DETECTABLE_SHORTFALL` (enough trials to
  detect that shortfall); INCONCLUSIVE otherwise.
* :func:`effect_vs_noise` — "the parameter changes the outcome by at least ``effect``":
  the max - min spread of per-level medians against its permutation distribution under
  "no effect" (levels shuffled within each seed).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from harness.predictions import CheckResult

#: Fewest finite comparisons for a hard inequality to PASS ("holds on one row" is no evidence).
HARD_MIN_COMPARISONS = 3
#: Frequencies: PASS needs the Clopper–Pearson lower end >= level - this (the rule's power).
DETECTABLE_SHORTFALL = 0.1
#: Confidence of every interval.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Design:
    """Smallest design on which a scaling verdict is allowed (below it: INCONCLUSIVE)."""

    min_levels: int = 4
    min_span: float = 8.0
    min_clusters: int = 3

    def gap(self, levels: ArrayLike, clusters: ArrayLike | None) -> str:
        """Why ``levels`` (raw, e.g. n) and ``clusters`` (seeds) fall short; '' when met."""
        lv = np.asarray(levels, dtype=float)
        lv = np.unique(lv[np.isfinite(lv)])
        why = []
        if lv.size < self.min_levels:
            why.append(f"{lv.size} distinct levels (< {self.min_levels})")
        elif lv.min() > 0 and lv.max() / lv.min() < self.min_span:
            why.append(f"levels span a factor {lv.max() / lv.min():.3g} (< {self.min_span:g})")
        if clusters is not None:
            k = np.unique(np.asarray(clusters)).size
            if k < self.min_clusters:
                why.append(f"{k} seeds (< {self.min_clusters})")
        return "design too small: " + ", ".join(why) if why else ""


#: The scaling design of every check whose claim is a growth rate in n (or d, P, width).
SCALING_DESIGN = Design()


@dataclass(frozen=True)
class SlopeEstimate:
    """OLS slope of ``y`` on ``x`` with a bootstrap percentile interval.

    ``design_gap`` is '' when the design meets the rule's minimum, else the reason it
    does not (then no verdict but INCONCLUSIVE can come from it).
    """

    slope: float
    low: float
    high: float
    n_points: int
    level: float
    design_gap: str = ""


def hard_inequality(
    lhs: ArrayLike,
    rhs: ArrayLike,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    measured: str,
    predicted: str,
    min_count: int = HARD_MIN_COMPARISONS,
) -> CheckResult:
    """``lhs <= rhs`` entrywise up to ``atol + rtol * |rhs|``: any violation fails.

    PASS needs ``min_count`` finite comparisons and no non-finite pair; otherwise a
    PASS is INCONCLUSIVE (a violation could hide in a pair that was not compared).
    """
    a = np.asarray(lhs, dtype=float).ravel()
    b = np.asarray(rhs, dtype=float).ravel()
    ok = np.isfinite(a) & np.isfinite(b)
    n_bad = int((~ok).sum())
    if not ok.any():
        return CheckResult(
            "NOT-RUN", measured, predicted, "no finite values to compare", {"n_nonfinite": n_bad}
        )
    excess = a[ok] - b[ok]
    slack = atol + rtol * np.abs(b[ok])
    n_viol = int(np.sum(excess > slack))
    worst = float(np.max(excess / np.maximum(np.abs(b[ok]), max(atol, 1e-300))))
    n_ok = int(ok.sum())
    details = {
        "n_compared": n_ok,
        "n_nonfinite": n_bad,
        "n_violations": n_viol,
        "worst_rel_excess": worst,
    }
    if n_viol:
        return CheckResult(
            "FAIL",
            measured,
            predicted,
            f"{n_viol} of {n_ok} comparisons violate the inequality "
            f"(worst relative excess {worst:.3g})",
            details,
        )
    text = f"holds in all {n_ok} comparisons (largest relative excess {worst:.3g})"
    if n_bad:
        return CheckResult(
            "INCONCLUSIVE",
            measured,
            predicted,
            f"{text}, but {n_bad} comparison(s) have a NaN/inf side",
            details,
        )
    if n_ok < min_count:
        return CheckResult(
            "INCONCLUSIVE", measured, predicted, f"{text}: fewer than {min_count}", details
        )
    return CheckResult("PASS", measured, predicted, text, details)


def _cluster_weights(clusters: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_rows) multiplicities of a cluster bootstrap (whole clusters resampled)."""
    labels, inv = np.unique(clusters, return_inverse=True)
    picks = rng.integers(0, labels.size, size=(n_boot, labels.size))
    counts = np.zeros((n_boot, labels.size))
    np.add.at(counts, (np.arange(n_boot)[:, None], picks), 1.0)
    return np.asarray(counts[:, inv])


def _weighted_slopes(w: np.ndarray, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Largest OLS slope over ``y in [lo, hi]`` for each weight row (closed form).

    With ``xc = x - weighted mean``, the slope is ``sum w xc y / sum w xc^2``: linear in
    ``y``, maximal at ``hi`` where ``xc > 0`` and ``lo`` where ``xc < 0``.
    """
    sw = w.sum(axis=1, keepdims=True)
    xbar = (w * x).sum(axis=1, keepdims=True) / np.where(sw > 0, sw, 1.0)
    xc = x - xbar
    y = np.where(xc > 0, hi, lo)
    den = (w * xc * xc).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (w * xc * y).sum(axis=1) / den
    return np.where(den > 1e-14 * np.maximum(1.0, (w * x * x).sum(axis=1)), out, np.nan)


def _interval(boots: np.ndarray, level: float) -> tuple[float, float]:
    boots = boots[np.isfinite(boots)]
    if not boots.size:
        return (np.nan, np.nan)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(boots, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def bracket_slope_ci(
    x: ArrayLike,
    lo: ArrayLike,
    hi: ArrayLike,
    *,
    clusters: ArrayLike | None = None,
    levels: ArrayLike | None = None,
    design: Design | None = SCALING_DESIGN,
    n_boot: int = 2000,
    level: float = CONFIDENCE,
    rng: np.random.Generator,
) -> tuple[SlopeEstimate, SlopeEstimate]:
    """Worst-case (largest) and best-case (smallest) OLS slope over the bracket, with intervals.

    Each bootstrap resample (whole clusters) recomputes both extremes in closed form
    (:func:`_weighted_slopes`). ``levels`` are the raw design values (e.g. ``n``) checked
    against ``design``; ``clusters`` default to one per row.
    """
    xa = np.asarray(x, dtype=float)
    la = np.asarray(lo, dtype=float)
    ha = np.asarray(hi, dtype=float)
    keep = np.isfinite(xa) & np.isfinite(la) & np.isfinite(ha)
    cl = np.arange(xa.size) if clusters is None else np.asarray(clusters)
    lv = xa if levels is None else np.asarray(levels, dtype=float)
    xa, la, ha, cl, lv = xa[keep], la[keep], ha[keep], cl[keep], lv[keep]
    gap = design.gap(lv, cl if clusters is not None else None) if design is not None else ""
    if xa.size < 3 or np.ptp(xa) == 0:
        nan = SlopeEstimate(np.nan, np.nan, np.nan, int(xa.size), level, gap)
        return nan, nan
    lo_, hi_ = np.minimum(la, ha), np.maximum(la, ha)
    one = np.ones((1, xa.size))
    worst = float(_weighted_slopes(one, xa, lo_, hi_)[0])
    best = float(-_weighted_slopes(one, xa, -hi_, -lo_)[0])
    w = _cluster_weights(cl, n_boot, rng)
    bw = _weighted_slopes(w, xa, lo_, hi_)
    bb = -_weighted_slopes(w, xa, -hi_, -lo_)
    return (
        SlopeEstimate(worst, *_interval(bw, level), int(xa.size), level, gap),
        SlopeEstimate(best, *_interval(bb, level), int(xa.size), level, gap),
    )


def slope_ci(
    x: ArrayLike,
    y: ArrayLike,
    *,
    clusters: ArrayLike | None = None,
    levels: ArrayLike | None = None,
    design: Design | None = SCALING_DESIGN,
    n_boot: int = 2000,
    level: float = CONFIDENCE,
    rng: np.random.Generator,
) -> SlopeEstimate:
    """Least-squares slope of ``y`` on ``x`` with a cluster-bootstrap ``level`` interval.

    When ``clusters`` (e.g. the seed of each row) is given, whole clusters are resampled,
    so rows sharing a seed are not treated as independent. ``design`` (checked on
    ``levels``, default ``x``) sets ``design_gap``; ``design=None`` checks nothing.
    """
    worst, _ = bracket_slope_ci(
        x, y, y, clusters=clusters, levels=levels, design=design, n_boot=n_boot,
        level=level, rng=rng,
    )  # fmt: skip
    return worst


def _slope_details(est: SlopeEstimate) -> dict[str, Any]:
    return {
        "slope": est.slope,
        "ci_low": est.low,
        "ci_high": est.high,
        "n_points": est.n_points,
        "design_gap": est.design_gap,
    }


def trend_rule(
    est: SlopeEstimate, max_slope: float, *, measured: str, predicted: str
) -> CheckResult:
    """Scaling claim "slope <= max_slope" decided on the whole interval.

    PASS when the interval's upper end is <= ``max_slope``; FAIL when its lower end is
    above; INCONCLUSIVE when it straddles the bound, and always when the design is too small.
    """
    details = _slope_details(est)
    if not np.isfinite(est.slope):
        return CheckResult("NOT-RUN", measured, predicted, "fewer than 3 usable points", details)
    text = (
        f"slope {est.slope:.3g} [{est.low:.3g}, {est.high:.3g}] ({est.level:.0%} CI) "
        f"vs ≤ {max_slope:g}"
    )
    if est.design_gap:
        return CheckResult(
            "INCONCLUSIVE", measured, predicted, f"{est.design_gap}; {text}", details
        )
    if est.low > max_slope:
        return CheckResult(
            "FAIL", measured, predicted, f"whole CI above the bound: {text}", details
        )
    if est.high <= max_slope:
        return CheckResult(
            "PASS", measured, predicted, f"whole CI within the bound: {text}", details
        )
    return CheckResult(
        "INCONCLUSIVE", measured, predicted, f"CI straddles the bound: {text}", details
    )


def increasing_rule(
    est: SlopeEstimate, min_slope: float = 0.0, *, measured: str, predicted: str
) -> CheckResult:
    """Claim "slope >= min_slope" decided on the whole interval (mirror of :func:`trend_rule`).

    PASS when the interval's lower end is >= ``min_slope``; FAIL when its upper end is
    below; INCONCLUSIVE otherwise, and always when the design is too small.
    """
    details = _slope_details(est)
    if not np.isfinite(est.slope):
        return CheckResult("NOT-RUN", measured, predicted, "fewer than 3 usable points", details)
    text = (
        f"slope {est.slope:.3g} [{est.low:.3g}, {est.high:.3g}] ({est.level:.0%} CI) "
        f"vs ≥ {min_slope:g}"
    )
    if est.design_gap:
        return CheckResult(
            "INCONCLUSIVE", measured, predicted, f"{est.design_gap}; {text}", details
        )
    if est.high < min_slope:
        return CheckResult(
            "FAIL", measured, predicted, f"whole CI below the bound: {text}", details
        )
    if est.low >= min_slope:
        return CheckResult(
            "PASS", measured, predicted, f"whole CI within the bound: {text}", details
        )
    return CheckResult(
        "INCONCLUSIVE", measured, predicted, f"CI straddles the bound: {text}", details
    )


def bracket_trend_rule(
    worst: SlopeEstimate,
    best: SlopeEstimate,
    max_slope: float,
    *,
    measured: str,
    predicted: str,
) -> CheckResult:
    """ "slope <= max_slope" for a bracketed response (see :func:`bracket_slope_ci`).

    PASS only if the worst case passes :func:`trend_rule`; FAIL only if the best case
    fails it; INCONCLUSIVE otherwise. ``bracket_share`` is the part of the combined
    interval ``[best.low, worst.high]`` due to the bracket width, ``(worst - best) /
    (worst.high - best.low)``.
    """
    rw = trend_rule(worst, max_slope, measured=measured, predicted=predicted)
    rb = trend_rule(best, max_slope, measured=measured, predicted=predicted)
    span = worst.high - best.low
    share = (worst.slope - best.slope) / span if np.isfinite(span) and span > 0 else 0.0
    details = {
        **{f"worst_{k}": v for k, v in rw.details.items()},
        **{f"best_{k}": v for k, v in rb.details.items()},
        "bracket_share": float(share),
    }
    if rw.verdict == "NOT-RUN":
        return CheckResult("NOT-RUN", measured, predicted, rw.explanation, details)
    if worst.slope == best.slope and worst.low == best.low:  # no bracket width: exact data
        return CheckResult(rw.verdict, measured, predicted, rw.explanation, details)
    tail = f"; bracket width is {share:.0%} of the interval"
    if rw.verdict == "PASS":
        return CheckResult(
            "PASS", measured, predicted, f"worst case: {rw.explanation}{tail}", details
        )
    if rb.verdict == "FAIL":
        return CheckResult(
            "FAIL", measured, predicted, f"best case: {rb.explanation}{tail}", details
        )
    return CheckResult(
        "INCONCLUSIVE",
        measured,
        predicted,
        f"worst case {rw.explanation}; best case {rb.explanation}{tail}",
        details,
    )


def clopper_pearson(
    successes: int, trials: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Two-sided Clopper–Pearson interval of a binomial frequency."""
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
    return low, high


def binomial_rule(
    successes: int,
    trials: int,
    level: float,
    *,
    confidence: float = CONFIDENCE,
    shortfall: float = DETECTABLE_SHORTFALL,
    measured: str,
    predicted: str,
) -> CheckResult:
    """Probability claim "P(success) >= level" with a Clopper–Pearson interval.

    FAIL when the interval lies entirely below ``level``; PASS when the frequency is at
    least ``level`` and the interval's lower end is >= ``level - shortfall`` (the trials
    suffice to detect a shortfall of that size); INCONCLUSIVE otherwise.
    """
    if trials <= 0:
        return CheckResult("NOT-RUN", measured, predicted, "no trials")
    low, high = clopper_pearson(successes, trials, confidence)
    freq = successes / trials
    details = {
        "successes": successes,
        "trials": trials,
        "freq": freq,
        "ci_low": low,
        "ci_high": high,
        "level": level,
        "shortfall": shortfall,
    }
    text = f"{successes}/{trials} = {freq:.3f} [{low:.3f}, {high:.3f}] vs ≥ {level:g}"
    if high < level:
        return CheckResult(
            "FAIL", measured, predicted, f"whole CI below the level: {text}", details
        )
    if freq >= level and low >= level - shortfall:
        return CheckResult("PASS", measured, predicted, f"consistent: {text}", details)
    if freq < level:
        why = "estimate below the level"
    else:
        need = min_trials_to_pass(level, confidence=confidence, shortfall=shortfall)
        details["min_trials_to_pass"] = need
        why = (
            f"too few trials to exclude a shortfall of {shortfall:g} "
            f"(a PASS needs at least {need} trials)"
        )
    return CheckResult("INCONCLUSIVE", measured, predicted, f"{why}: {text}", details)


def min_trials_to_pass(
    level: float, *, confidence: float = CONFIDENCE, shortfall: float = DETECTABLE_SHORTFALL
) -> int:
    """Fewest trials with which :func:`binomial_rule` can PASS ``level`` (all successes).

    With ``N`` successes in ``N`` trials the Clopper–Pearson lower end is ``(a/2)^(1/N)``,
    ``a = 1 - confidence``; a PASS needs it ``>= level - shortfall``. Fewer trials cannot
    PASS whatever happens: a design with them has no power (e.g. 35 trials at level 0.9995).
    """
    floor = level - shortfall
    if floor <= 0.0:
        return 1
    alpha_half = (1.0 - confidence) / 2.0
    n = max(1, int(np.ceil(np.log(alpha_half) / np.log(floor))))
    while clopper_pearson(n, n, confidence)[0] < floor:  # rounding at the boundary
        n += 1
    return n


@dataclass(frozen=True)
class EffectEstimate:
    """Spread of per-level medians, its bootstrap interval and permutation p-value.

    ``boot`` and ``null`` are the bootstrap and permutation replicates (same length), kept
    so that several curves can be pooled (e.g. the median over curves).
    """

    spread: float
    low: float
    high: float
    p_value: float
    n_seeds: int
    n_levels: int
    boot: np.ndarray
    null: np.ndarray


def level_spread(mat: np.ndarray) -> np.ndarray:
    """max - min over levels (last axis) of the median over seeds (axis -2); NaN-aware."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns of a resample
        med = np.nanmedian(mat, axis=-2)
        n_ok = np.sum(np.isfinite(med), axis=-1)
        out = np.nanmax(np.where(np.isfinite(med), med, -np.inf), axis=-1) - np.nanmin(
            np.where(np.isfinite(med), med, np.inf), axis=-1
        )
    return np.asarray(np.where(n_ok >= 2, out, np.nan))


def p_value(null: np.ndarray, observed: float) -> float:
    """Share of ``null`` replicates at least ``observed`` (with the +1 correction)."""
    null = null[np.isfinite(null)]
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + null.size))


def effect_vs_noise(
    mat: np.ndarray, *, n_resample: int = 1000, level: float = CONFIDENCE, rng: np.random.Generator
) -> EffectEstimate:
    """Spread over levels of a (seeds, levels) matrix against seed-to-seed noise.

    The bootstrap interval resamples seeds; the p-value is the share of within-seed
    permutations of the levels (the null "the level has no effect") whose spread is at
    least the observed one.
    """
    mat = np.asarray(mat, dtype=float)
    k, m = mat.shape
    obs = float(level_spread(mat)) if mat.size else float("nan")
    if not np.isfinite(obs) or k < 2:
        nan = np.full(n_resample, np.nan)
        return EffectEstimate(obs, np.nan, np.nan, np.nan, k, m, nan, nan)
    boot = level_spread(mat[rng.integers(0, k, size=(n_resample, k))])
    low, high = _interval(boot, level)
    perm = np.argsort(rng.random((n_resample, k, m)), axis=2)
    shuffled = np.take_along_axis(np.broadcast_to(mat, (n_resample, k, m)), perm, axis=2)
    null = level_spread(shuffled)
    return EffectEstimate(obs, low, high, p_value(null, obs), k, m, boot, null)
