"""Decision rules on data built to PASS, to FAIL and to be INCONCLUSIVE."""

from __future__ import annotations

import numpy as np

from harness.predictions.rules import (
    binomial_rule,
    bracket_rule,
    hard_inequality,
    slope_ci,
    trend_rule,
)

KW = {"measured": "m", "predicted": "p"}


def test_hard_inequality_pass_fail_notrun() -> None:
    assert hard_inequality([1.0, 2.0], [1.0 + 1e-12, 3.0], **KW).verdict == "PASS"
    res = hard_inequality([1.0, 2.1], [1.0, 2.0], **KW)
    assert res.verdict == "FAIL" and res.details["n_violations"] == 1
    assert hard_inequality([np.nan], [1.0], **KW).verdict == "NOT-RUN"


def _trend_data(slope: float, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.repeat(np.log([50, 100, 200, 400, 800]), 10)
    seeds = np.tile(np.arange(10), 5)
    y = 1.0 + slope * x + noise * rng.standard_normal(x.size)
    return x, y, seeds


def test_trend_rule_pass_fail_inconclusive() -> None:
    rng = np.random.default_rng(0)
    x, y, s = _trend_data(0.0, 0.05, 1)
    assert trend_rule(slope_ci(x, y, clusters=s, rng=rng), 0.0, **KW).verdict == "PASS"
    x, y, s = _trend_data(0.5, 0.05, 2)
    assert trend_rule(slope_ci(x, y, clusters=s, rng=rng), 0.0, **KW).verdict == "FAIL"
    # a small excess hidden in large noise: estimate above the bound, CI reaching it
    x, y, s = _trend_data(0.05, 2.0, 3)
    est = slope_ci(x, y, clusters=s, rng=rng)
    verdict = trend_rule(est, est.slope - 1e-3, **KW).verdict
    assert verdict == "INCONCLUSIVE"
    assert trend_rule(slope_ci([1, 2], [1, 2], rng=rng), 0.0, **KW).verdict == "NOT-RUN"


def test_binomial_rule() -> None:
    assert binomial_rule(95, 100, 0.9, **KW).verdict == "PASS"
    assert binomial_rule(50, 100, 0.9, **KW).verdict == "FAIL"
    assert binomial_rule(0, 0, 0.9, **KW).verdict == "NOT-RUN"


def test_bracket_rule() -> None:
    ok = hard_inequality([1.0], [2.0], **KW)
    bad = hard_inequality([3.0], [2.0], **KW)
    assert bracket_rule(ok, ok).verdict == "PASS"
    assert bracket_rule(bad, ok).verdict == "INCONCLUSIVE"
    assert bracket_rule(bad, bad).verdict == "FAIL"
