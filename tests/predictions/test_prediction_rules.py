"""Decision rules on data built to PASS, to FAIL and to be INCONCLUSIVE."""

from __future__ import annotations

import numpy as np

from harness.predictions.rules import (
    SCALING_DESIGN,
    SlopeEstimate,
    binomial_rule,
    bracket_slope_ci,
    bracket_trend_rule,
    effect_vs_noise,
    hard_inequality,
    increasing_rule,
    min_trials_to_pass,
    slope_ci,
    trend_rule,
)

KW = {"measured": "m", "predicted": "p"}


def test_hard_inequality_pass_fail_inconclusive_notrun() -> None:
    assert hard_inequality([1.0, 2.0, 0.0], [1.0 + 1e-12, 3.0, 1.0], **KW).verdict == "PASS"
    res = hard_inequality([1.0, 2.1, 0.0], [1.0, 2.0, 1.0], **KW)
    assert res.verdict == "FAIL" and res.details["n_violations"] == 1
    assert hard_inequality([1.0, 2.0], [1.0, 3.0], **KW).verdict == "INCONCLUSIVE"  # < 3
    nan = hard_inequality([1.0, 2.0, 0.0, np.nan], [2.0, 3.0, 1.0, 1.0], **KW)
    assert nan.verdict == "INCONCLUSIVE" and nan.details["n_nonfinite"] == 1
    assert hard_inequality([np.nan], [1.0], **KW).verdict == "NOT-RUN"


def _trend_data(slope: float, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = np.repeat([50, 100, 200, 400, 800], 10)
    seeds = np.tile(np.arange(10), 5)
    y = 1.0 + slope * np.log(n) + noise * rng.standard_normal(n.size)
    return n, y, seeds


def test_trend_rule_pass_fail_inconclusive() -> None:
    rng = np.random.default_rng(0)
    n, y, s = _trend_data(-0.2, 0.05, 1)
    est = slope_ci(np.log(n), y, clusters=s, levels=n, rng=rng)
    assert trend_rule(est, 0.0, **KW).verdict == "PASS"
    n, y, s = _trend_data(0.5, 0.05, 2)
    est = slope_ci(np.log(n), y, clusters=s, levels=n, rng=rng)
    assert trend_rule(est, 0.0, **KW).verdict == "FAIL"
    assert increasing_rule(est, **KW).verdict == "PASS"
    # no trend: the interval straddles 0, so neither PASS nor FAIL
    n, y, s = _trend_data(0.0, 0.5, 3)
    est = slope_ci(np.log(n), y, clusters=s, levels=n, rng=rng)
    assert est.low < 0 < est.high
    assert trend_rule(est, 0.0, **KW).verdict == "INCONCLUSIVE"
    assert increasing_rule(est, **KW).verdict == "INCONCLUSIVE"
    assert trend_rule(slope_ci([1, 2], [1, 2], rng=rng), 0.0, **KW).verdict == "NOT-RUN"


def test_design_minimum() -> None:
    assert SCALING_DESIGN.gap([20, 40, 80, 160], [0, 1, 2]) == ""
    assert "3 distinct levels" in SCALING_DESIGN.gap([20, 40, 80], [0, 1, 2])
    assert "factor 4" in SCALING_DESIGN.gap([20, 30, 40, 80], [0, 1, 2])
    assert "2 seeds" in SCALING_DESIGN.gap([20, 40, 80, 160], [0, 1])
    # a clear excess on too small a design is not a verdict either way
    est = SlopeEstimate(1.0, 0.9, 1.1, 9, 0.95, "design too small: 3 distinct levels (< 4)")
    assert trend_rule(est, 0.0, **KW).verdict == "INCONCLUSIVE"


def test_bracket_slopes_are_the_closed_form_extremes() -> None:
    """Worst/best slope equal the max/min over brute-force choices of the bracket ends."""
    rng = np.random.default_rng(4)
    x = np.log(np.array([20, 40, 80, 160, 320], float))
    lo = rng.uniform(0, 1, x.size)
    hi = lo + rng.uniform(0, 1, x.size)
    worst, best = bracket_slope_ci(x, lo, hi, design=None, n_boot=50, rng=rng)
    corners = [
        np.polyfit(x, np.where(np.array(list(np.binary_repr(k, x.size))) == "1", hi, lo), 1)[0]
        for k in range(2**x.size)
    ]
    assert np.isclose(worst.slope, max(corners)) and np.isclose(best.slope, min(corners))
    assert worst.low <= worst.slope <= worst.high


def test_bracket_trend_rule() -> None:
    rng = np.random.default_rng(5)
    n = np.repeat([20, 40, 80, 160], 3)
    seeds = np.tile(np.arange(3), 4)
    x = np.log(n)
    flat = 1.0 - 0.1 * x + 0.001 * seeds

    def verdict(lo: np.ndarray, hi: np.ndarray) -> str:
        w, b = bracket_slope_ci(x, lo, hi, clusters=seeds, levels=n, rng=rng)
        return bracket_trend_rule(w, b, 0.0, **KW).verdict

    assert verdict(flat, flat) == "PASS"  # exact and falling
    assert verdict(flat, flat + 0.3 * x) == "INCONCLUSIVE"  # upper end loose at large n
    assert verdict(flat + x, flat + x + 0.01) == "FAIL"  # rising at both ends


def test_binomial_rule_power() -> None:
    assert binomial_rule(40, 40, 0.9, **KW).verdict == "PASS"  # lower end 0.91 >= 0.8
    assert binomial_rule(10, 10, 0.9, **KW).verdict == "INCONCLUSIVE"  # lower end 0.69 < 0.8
    assert binomial_rule(17, 17, 0.9, **KW).verdict == "PASS"  # the smallest all-success n
    assert binomial_rule(16, 16, 0.9, **KW).verdict == "INCONCLUSIVE"
    assert binomial_rule(50, 100, 0.9, **KW).verdict == "FAIL"
    assert binomial_rule(88, 100, 0.9, **KW).verdict == "INCONCLUSIVE"  # estimate below
    assert binomial_rule(0, 0, 0.9, **KW).verdict == "NOT-RUN"


def test_min_trials_to_pass_is_the_power_boundary() -> None:
    # the smallest all-success count that PASSes, and one fewer does not
    for level in (0.5, 0.9, 0.95, 0.9995):
        need = min_trials_to_pass(level)
        assert binomial_rule(need, need, level, **KW).verdict == "PASS"
        assert binomial_rule(need - 1, need - 1, level, **KW).verdict == "INCONCLUSIVE"
    assert min_trials_to_pass(0.9) == 17
    assert min_trials_to_pass(0.9995) == 35  # P9 at P_mult = 2: 30 seeds had no power
    res = binomial_rule(30, 30, 0.9995, **KW)
    assert res.verdict == "INCONCLUSIVE" and res.details["min_trials_to_pass"] == 35
    assert "at least 35 trials" in res.explanation
    assert "min_trials_to_pass" not in binomial_rule(88, 100, 0.9, **KW).details


def test_effect_vs_noise() -> None:
    rng = np.random.default_rng(6)
    effect = 0.8 + 0.05 * np.arange(5)[None, :] + 0.002 * rng.standard_normal((6, 5))
    est = effect_vs_noise(effect, n_resample=500, rng=rng)
    assert est.spread > 0.15 and est.p_value < 0.01 and est.low > 0.1
    noise = 0.8 + 0.02 * rng.standard_normal((3, 5))
    est = effect_vs_noise(noise, n_resample=500, rng=rng)
    assert est.spread > 0 and est.p_value > 0.05  # a spread, but within seed noise
