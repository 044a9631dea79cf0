"""Issue 15: every case in which the old rules gave PASS without support now gives FAIL or
INCONCLUSIVE, through the public registry ``load_checks()[ID].fn(tables)``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness.predictions import load_checks
from harness.predictions.rules import SlopeEstimate, binomial_rule, hard_inequality, trend_rule

CHECKS = load_checks()
KW = {"measured": "m", "predicted": "p"}


def _not_pass(cid: str, tables: dict[str, pd.DataFrame]) -> str:
    res = CHECKS[cid].fn(tables)
    assert res.verdict in ("FAIL", "INCONCLUSIVE"), (cid, res.verdict, res.explanation)
    return res.verdict


def _gap(
    ns: tuple[int, ...], seeds: int, ratio: object, lower: object, c: float = 4.0
) -> pd.DataFrame:
    """``relaxation_gap`` rows with p* = 1 exactly inside the bracket [lower(n), 1]:
    ``R = p_relu / p* = ratio(n, s)``."""
    rows = []
    for n in ns:
        for s in range(seeds):
            r = ratio(n, s)  # type: ignore[operator]
            rows.append(
                {
                    "c": c, "n": n, "d": n / c, "seed_index": s, "point_status": "ok",
                    "cache_key": f"{c}-{n}-{s}", "P_mode": "rule", "P_capped": False,
                    "p_relu": r, "pstar_lower": lower(n, s), "pstar_upper": 1.0,  # type: ignore[operator]
                    "status_relu": "optimal", "status_gated": "optimal", "status_pu": "optimal",
                    "status_decomp": "optimal", "p_gated": 0.9 * r, "p_u_exact": 0.8,
                    "p_u_lower": 0.8, "mapped_rel_err": 1e-10, "P_unique": 10 * n,
                    "time_relu_s": 1e-6 * n**2, "sharpness_max": 2.0, "pstar_exact": False,
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- slopes on brackets
def test_p1_rising_true_ratio_with_loose_small_n_certificate() -> None:
    """True R/sqrt(log 2n) rises 0.60 -> 1.03 over n = 20..320; the certified lower end of p*
    is loose at small n and tight at large n, so R_cert/sqrt(log 2n) falls. Old: PASS."""
    ns = (20, 40, 80, 160, 320)
    rise = dict(zip(ns, np.linspace(0.60, 1.03, len(ns))))

    def ratio(n: int, s: int) -> float:
        return float(rise[n] * math.sqrt(math.log(2 * n)) * (1 + 0.002 * s))

    def lower(n: int, s: int) -> float:  # LB/p* from 0.3 at n = 20 to 1 at n = 320
        return float(np.interp(math.log(n), np.log([20, 320]), [0.3, 1.0]))

    df = _gap(ns, 3, ratio, lower)
    r_cert = df["p_relu"] / df["pstar_lower"] / np.sqrt(np.log(2 * df["n"]))
    assert np.polyfit(np.log(df["n"]), r_cert, 1)[0] < 0  # the old worst end falls
    _not_pass("P1", {"relaxation_gap": df})


def test_p1_best_end_rises_and_one_useless_certificate() -> None:
    """R_est rises significantly; one row has LB/p* = 0.05. Old: PASS."""
    ns = (20, 40, 80, 160, 320)

    def ratio(n: int, s: int) -> float:
        return 1.0 + 0.5 * math.log(n) * math.sqrt(math.log(2 * n)) + 0.01 * s

    df = _gap(ns, 3, ratio, lambda n, s: 1.0)
    df.loc[0, "pstar_lower"] = 0.05
    assert _not_pass("P1", {"relaxation_gap": df}) in ("FAIL", "INCONCLUSIVE")
    df.loc[0, "pstar_lower"] = 1.0
    assert CHECKS["P1"].fn({"relaxation_gap": df}).verdict == "FAIL"  # the growth is real


# --------------------------------------------------------------------------- rules with power
def test_trend_rule_needs_the_whole_interval() -> None:
    est = SlopeEstimate(-0.07, -1.01, 0.87, 20, 0.95)
    assert trend_rule(est, 0.0, **KW).verdict == "INCONCLUSIVE"


def test_three_n_two_seeds_is_not_a_scaling_verdict() -> None:
    df = _gap((20, 40, 80), 2, lambda n, s: 1.1 + 0.01 * s, lambda n, s: 1.0)
    df["pstar_upper"] = 1.0
    res = CHECKS["P1"].fn({"relaxation_gap": df})
    assert res.verdict == "INCONCLUSIVE" and "design too small" in res.explanation


@pytest.mark.parametrize("k, n", [(0, 1), (1, 2), (2, 3), (3, 5), (7, 10)])
def test_binomial_rule_small_counts_do_not_pass(k: int, n: int) -> None:
    assert binomial_rule(k, n, 0.9, **KW).verdict != "PASS"


@pytest.mark.parametrize("cid, col", [("P8", "full_rank"), ("P9", "chernoff_ok")])
def test_p8_p9_one_trial(cid: str, col: str) -> None:
    row = {
        "n": 10, "d": 5, "P_mult": 2, "seed_index": 0, "point_status": "ok", "at_threshold": True,
        "delta_used": 0.1, "full_rank": True, "interp_residual_rel": 0.0, "chernoff_ok": True,
        "chernoff_failure_bound": 0.05,
    }  # fmt: skip
    _not_pass(cid, {"chernoff_rank": pd.DataFrame([row])})


def test_p15_zero_of_six_runs_one_per_width() -> None:
    rows = [
        {"dataset": ds, "width": m, "seed_index": 0, "method": "gd", "lr": 0.01, "final": True,
         "status": "ok", "point_status": "ok", "frac_neuron": 0.1}
        for ds in ("gaussian", "mnist")
        for m in (16, 64, 256)
    ]  # fmt: skip
    assert _not_pass("P15", {"coupling": pd.DataFrame(rows)}) == "FAIL"  # 0/3 pooled per dataset


def test_p18_pure_noise() -> None:
    """Test accuracy independent of beta, sd 2%, 3 seeds. Old: PASS."""
    rng = np.random.default_rng(7)
    rows = [
        {"dataset": ds, "P": 10, "formulation": f, "seed_index": s, "point_status": "ok",
         "beta_rel": b, "status": "optimal", "test_acc": 0.8 + 0.02 * rng.standard_normal()}
        for ds in ("planted", "mnist")
        for f in ("relu", "gated")
        for b in (1e-3, 1e-2, 1e-1, 1.0, 10.0)
        for s in range(3)
    ]  # fmt: skip
    _not_pass("P18", {"regularization": pd.DataFrame(rows)})


# --------------------------------------------------------------------------- preconditions
def _quick_like(**over: object) -> pd.DataFrame:
    """24 rows like the quick scale: c in {2, 4}, d in 3..6, 3 seeds."""
    parts = []
    for c in (2.0, 4.0):
        ns = tuple(int(c * d) for d in (3, 4, 5, 6))
        parts.append(_gap(ns, 3, lambda n, s: 1.3 + 0.01 * s, lambda n, s: 1.0, c=c))
    df = pd.concat(parts, ignore_index=True)
    for k, v in over.items():
        df[k] = v
    return df


def test_p1_capped_on_every_row_is_inconclusive_like_p5() -> None:
    df = _quick_like(P_capped=True)
    assert _not_pass("P1", {"relaxation_gap": df}) == "INCONCLUSIVE"


def test_p1_ratio_identically_one() -> None:
    """R = 1 on every row: dividing by sqrt(log 2n) alone makes the slope negative."""
    ns = (20, 40, 80, 160)
    for capped in (True, False):
        df = _gap(ns, 3, lambda n, s: 1.0, lambda n, s: 1.0)
        df["P_capped"] = capped
        assert _not_pass("P1", {"relaxation_gap": df}) == "INCONCLUSIVE"


# --------------------------------------------------------------------------- bad rows
def test_failed_points_remove_the_c4_group() -> None:
    """15 of 24 points failed (the whole c = 4 group among them). Old: P1/P2/P14 PASS."""
    df = _quick_like()
    failed = np.r_[np.flatnonzero(df["c"] == 4.0), np.flatnonzero(df["c"] == 2.0)[:3]]
    df.loc[failed, "point_status"] = "failed"
    for col in ("p_relu", "pstar_lower", "p_gated", "mapped_rel_err"):
        df.loc[failed, col] = np.nan
    for cid in ("P1", "P2", "P14"):
        res = CHECKS[cid].fn({"relaxation_gap": df})
        assert res.verdict == "INCONCLUSIVE", (cid, res.explanation)
        assert "15 row(s) failed point" in res.explanation


def test_nan_hides_the_violating_row() -> None:
    """The only row violating pstar_lower <= p_relu has NaN pstar_lower. Old: P1 PASS."""
    df = _gap((20, 40, 80, 160), 3, lambda n, s: 1.3 + 0.01 * s, lambda n, s: 1.0)
    assert CHECKS["P1"].fn({"relaxation_gap": df}).verdict == "PASS"
    df.loc[5, "pstar_lower"] = 2.0 * df.loc[5, "p_relu"]
    assert CHECKS["P1"].fn({"relaxation_gap": df}).verdict == "FAIL"
    df.loc[5, "pstar_lower"] = np.nan
    res = CHECKS["P1"].fn({"relaxation_gap": df})
    assert res.verdict == "INCONCLUSIVE" and "NaN in pstar_lower" in res.explanation


def test_p7_nan_on_35_of_36_rows() -> None:
    rows = [
        {"n": 8, "d": 2, "seed_index": s, "point_status": "ok", "gamma_all_sq": 1.0,
         "maxcut_value": 2.0 if s == 0 else np.nan}
        for s in range(36)
    ]  # fmt: skip
    res = CHECKS["P7"].fn({"maxcut": pd.DataFrame(rows)})
    assert res.verdict in ("INCONCLUSIVE", "NOT-RUN") and res.verdict != "PASS"
    assert "35 row(s) NaN in maxcut_value" in res.explanation


def test_missing_status_column_is_not_optimal() -> None:
    df = _quick_like().drop(columns="status_relu")
    res = CHECKS["P14"].fn({"relaxation_gap": df})
    assert res.verdict == "NOT-RUN" and "status_relu" in res.explanation


def test_hard_inequality_needs_a_minimum_count() -> None:
    assert hard_inequality([1.0], [2.0], **KW).verdict == "INCONCLUSIVE"
    assert hard_inequality([1.0, np.nan, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0], **KW).verdict == (
        "INCONCLUSIVE"
    )
    assert hard_inequality([1.0, 1.0, 1.0], [2.0, 2.0, 2.0], **KW).verdict == "PASS"


def test_failed_point_without_the_selecting_column_still_counts() -> None:
    """A failed point's row carries no P_mode: it must still withhold P1's PASS."""
    df = _gap((20, 40, 80, 160), 3, lambda n, s: 1.3 + 0.01 * s, lambda n, s: 1.0)
    failed = pd.DataFrame([{"point_status": "failed", "cache_key": "x", "error": "boom"}])
    res = CHECKS["P1"].fn({"relaxation_gap": pd.concat([df, failed], ignore_index=True)})
    assert res.verdict == "INCONCLUSIVE" and "failed point" in res.explanation
