"""Decision rules of checks E1-E6 (harness.predictions.deep) on hand-made tables: each
rule has tables that must PASS, must FAIL and must be INCONCLUSIVE."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from deep_result_tables import all_tables, synthetic, uci

from harness.predictions import load_checks
from harness.predictions.deep import (
    TABLE1_SETS,
    decide_fig4,
    decide_fmnist,
    decide_mapping,
    decide_table1_test,
    decide_table1_train,
    decide_thm1,
    mean_ci,
)


def _solves(errs, norms=None, status=None) -> pd.DataFrame:
    n = len(errs)
    return pd.DataFrame(
        {
            "solve_status": status or ["optimal"] * n,
            "mapping_rel_err": errs,
            "W1_max_norm": norms or [1.0] * n,
        }
    )


def test_e1_mapping_rule() -> None:
    assert decide_mapping(_solves([1e-10, 3e-9, 1e-8])).verdict == "PASS"
    assert decide_mapping(_solves([1e-10, 3e-3, 1e-8])).verdict == "FAIL"
    assert decide_mapping(_solves([1e-10, 1e-9, 1e-9], [1.0, 1.01, 1.0])).verdict == "FAIL"
    # fewer than 3 comparisons: not enough to earn a PASS
    assert decide_mapping(_solves([1e-10, 1e-9])).verdict == "INCONCLUSIVE"
    assert decide_mapping(_solves([])).verdict == "INCONCLUSIVE"


def _runs(final, bound, covered=None, status=None, solve=None) -> pd.DataFrame:
    n = len(final)
    return pd.DataFrame(
        {
            "final_objective": final,
            "dual_bound": bound,
            "covered": covered if covered is not None else [True] * n,
            "status": status or ["ok"] * n,
            "solve_status": solve or ["optimal"] * n,
        }
    )


def test_e2_thm1_rule() -> None:
    assert decide_thm1(_runs([1.0, 1.2, 1.0], [1.0, 1.0, 1.0])).verdict == "PASS"
    assert decide_thm1(_runs([1.0, 0.9, 1.0], [1.0, 1.0, 1.0])).verdict == "FAIL"
    # too few covered runs
    assert decide_thm1(_runs([1.0, 1.1], [1.0, 1.0])).verdict == "INCONCLUSIVE"


def _table1(train_gap: dict[str, list[float]], test_gap: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for name in TABLE1_SETS:
        for i, (g_tr, g_te) in enumerate(zip(train_gap[name], test_gap[name])):
            rows.append(
                dict(
                    dataset=name,
                    cluster=str(i),
                    method="convex",
                    train_objective=1.0,
                    test_error=1.0,
                )
            )
            rows.append(
                dict(
                    dataset=name,
                    cluster=str(i),
                    method="sgd",
                    train_objective=1.0 + g_tr,
                    test_error=1.0 + g_te,
                )
            )
    return pd.DataFrame(rows)


def test_e3_table1_training_rule() -> None:
    good = {k: [0.05, 0.1, 0.02, 0.07] for k in TABLE1_SETS}
    assert decide_table1_train(_table1(good, good)).verdict == "PASS"
    bad = dict(good, fertility=[-0.05, -0.1, -0.02, -0.07])
    assert decide_table1_train(_table1(bad, good)).verdict == "FAIL"
    mixed = dict(good, fertility=[-0.05, 0.1, -0.02, 0.07])
    assert decide_table1_train(_table1(mixed, good)).verdict == "INCONCLUSIVE"
    few = {k: v[:2] for k, v in good.items()}
    assert decide_table1_train(_table1(few, few)).verdict == "INCONCLUSIVE"
    missing = _table1(good, good)
    missing = missing[missing["dataset"] != "balloons"]
    assert decide_table1_train(missing).verdict == "INCONCLUSIVE"


def test_e4_table1_test_rule() -> None:
    lower = [0.05, 0.1, 0.02, 0.07]
    higher = [-0.05, -0.1, -0.02, -0.07]
    mixed = [-0.05, 0.1, -0.02, 0.07]
    five = {k: lower for k in TABLE1_SETS} | {"fertility": higher}
    assert decide_table1_test(_table1(five, five)).verdict == "PASS"
    two_higher = five | {"balloons": higher}
    assert decide_table1_test(_table1(five, two_higher)).verdict == "FAIL"
    one_open = five | {"balloons": mixed}
    assert decide_table1_test(_table1(five, one_open)).verdict == "INCONCLUSIVE"
    nan = five | {"balloons": [np.nan] * 4}
    assert decide_table1_test(_table1(five, nan)).verdict == "INCONCLUSIVE"


def _fig4(stuck_small: int, reach_large: int, n: int = 10) -> pd.DataFrame:
    rows = []
    for K, bad in ((1, stuck_small), (20, n - reach_large)):
        for i in range(n):
            rows.append(
                dict(
                    K=K,
                    final_objective=2.0 if i < bad else 1.0,
                    p13=1.0,
                    status="ok",
                    solve_status="optimal",
                )
            )
    return pd.DataFrame(rows)


def test_e5_fig4_rule() -> None:
    assert decide_fig4(_fig4(stuck_small=12, reach_large=20, n=20)).verdict == "PASS"
    # the Fisher test alone is not enough: the large-K reach rate must be shown >= 0.9
    assert decide_fig4(_fig4(stuck_small=6, reach_large=10)).verdict == "INCONCLUSIVE"
    assert decide_fig4(_fig4(stuck_small=10, reach_large=7)).verdict != "PASS"
    assert decide_fig4(_fig4(stuck_small=6, reach_large=3)).verdict == "FAIL"
    assert decide_fig4(_fig4(stuck_small=0, reach_large=40, n=40)).verdict == "FAIL"
    assert decide_fig4(_fig4(stuck_small=2, reach_large=10)).verdict == "INCONCLUSIVE"
    assert decide_fig4(_fig4(stuck_small=3, reach_large=4, n=4)).verdict == "INCONCLUSIVE"


def _fmnist(diffs: list[float]) -> pd.DataFrame:
    rows = []
    for i, dlt in enumerate(diffs):
        rows += [
            dict(cluster=str(i), method="convex16_adam", test_accuracy=0.9 + dlt, status="ok"),
            dict(cluster=str(i), method="nonconvex_sgd", test_accuracy=0.88, status="ok"),
            dict(cluster=str(i), method="nonconvex_adam", test_accuracy=0.9, status="ok"),
        ]
    return pd.DataFrame(rows)


def test_e5_diverged_runs_do_not_count_as_reaching() -> None:
    df = _fig4(stuck_small=12, reach_large=20, n=20)
    large = df.index[df["K"] == 20][:4]
    df.loc[large, "status"] = "diverged"
    res = decide_fig4(df)
    assert res.verdict != "PASS" and res.details["reach_large_K"] == 16
    assert res.details["runs_large_K"] == 20
    small = df.index[df["K"] == 1][:3]  # stuck runs that diverged do not count as stuck
    df.loc[small, "status"] = "diverged"
    assert decide_fig4(df).details["runs_small_K"] == 17


def test_e6_fmnist_rule() -> None:
    assert decide_fmnist(_fmnist([0.0, 0.01, 0.005])).verdict == "PASS"
    assert decide_fmnist(_fmnist([-0.05, -0.04, -0.06])).verdict == "FAIL"
    assert decide_fmnist(_fmnist([-0.05, 0.01, 0.0])).verdict == "INCONCLUSIVE"
    assert decide_fmnist(_fmnist([0.0, 0.01])).verdict == "INCONCLUSIVE"
    one_baseline = _fmnist([0.05, 0.05, 0.05])
    assert decide_fmnist(one_baseline[one_baseline["method"] != "nonconvex_adam"]).verdict == (
        "INCONCLUSIVE"
    )
    no_convex = _fmnist([0.0, 0.0, 0.0])
    assert decide_fmnist(no_convex[no_convex["method"] != "convex16_adam"]).verdict == (
        "INCONCLUSIVE"
    )


def test_mean_ci_is_deterministic_and_brackets_mean() -> None:
    v = np.array([0.1, 0.2, 0.3, np.nan])
    m, lo, hi = mean_ci(v)
    assert m == pytest.approx(0.2) and lo <= m <= hi
    assert mean_ci(v) == (m, lo, hi)


def test_checks_registered() -> None:
    checks = load_checks()
    for cid in ("E1", "E2", "E3", "E4", "E5", "E6"):
        assert cid in checks
    assert checks["E3"].experiments == ("deep_uci",)


# --------------------------------------------------------------------------- registry level
CHECKS = load_checks()


@pytest.mark.parametrize("cid", ["E1", "E2", "E3", "E4", "E5", "E6"])
def test_registered_check_passes_on_good_tables(cid: str) -> None:
    res = CHECKS[cid].fn(all_tables())
    assert res.verdict == "PASS", res.explanation


@pytest.mark.parametrize("cid", ["E1", "E2", "E3", "E4", "E5", "E6"])
def test_failed_point_withholds_pass(cid: str) -> None:
    tables = all_tables()
    name = CHECKS[cid].experiments[0]
    df = tables[name].copy()
    df.loc[df.index[0], "point_status"] = "failed"
    res = CHECKS[cid].fn({**tables, name: df})
    assert res.verdict == "INCONCLUSIVE", res.explanation
    assert any(e["kind"] == "failed" for e in res.details["exclusions"])


def test_e1_nan_and_non_optimal_go_to_the_ledger() -> None:
    df = synthetic()["deep_synthetic"]
    conv = df.index[df["record"] == "convex"]
    nan = df.copy()
    nan.loc[conv[0], "mapping_rel_err"] = np.nan
    res = CHECKS["E1"].fn({"deep_synthetic": nan})
    assert res.verdict == "INCONCLUSIVE", res.explanation
    assert any(e["kind"] == "missing" for e in res.details["exclusions"])
    bad = df.copy()
    bad.loc[conv[0], ["solve_status", "mapping_rel_err"]] = ["max_iter", 5.0]
    res = CHECKS["E1"].fn({"deep_synthetic": bad})  # the wrong value is on an excluded row
    assert res.verdict == "INCONCLUSIVE", res.explanation
    assert any(e["kind"] == "non-optimal" for e in res.details["exclusions"])
    worse = df.copy()
    worse.loc[conv[1], "mapping_rel_err"] = 1e-3
    assert CHECKS["E1"].fn({"deep_synthetic": worse}).verdict == "FAIL"


def test_e2_uncovered_runs_are_out_of_scope() -> None:
    """Thm 1 speaks of covered runs: an uncovered run below p13 is listed, not held against."""
    df = synthetic()["deep_synthetic"].copy()
    runs = df.index[df["record"] == "run"]
    df.loc[runs[0], ["final_objective", "covered"]] = [0.5, False]
    res = CHECKS["E2"].fn({"deep_synthetic": df})
    assert res.verdict == "PASS", res.explanation
    assert any(e["kind"] == "scope" for e in res.details["exclusions"])
    df.loc[runs[1], "final_objective"] = 0.5  # covered and below the bound
    assert CHECKS["E2"].fn({"deep_synthetic": df}).verdict == "FAIL"


def test_e5_diverged_runs_withhold_pass() -> None:
    df = synthetic()["deep_synthetic"].copy()
    is_run = df["record"] == "run"
    runs = df.index[is_run & (df["K"] == df.loc[is_run, "K"].max())]
    df.loc[runs[:6], "status"] = "diverged"
    res = CHECKS["E5"].fn({"deep_synthetic": df})
    assert res.verdict != "PASS", res.explanation
    assert "6 counted as not reaching" in res.explanation


def test_e2_unknown_coverage_is_missing_not_out_of_scope() -> None:
    df = synthetic()["deep_synthetic"].copy()
    runs = df["record"] == "run"
    df.loc[runs, "covered"] = np.nan
    res = CHECKS["E2"].fn({"deep_synthetic": df, "deep_uci": uci()["deep_uci"]})
    assert res.verdict != "PASS", res.explanation
    assert "coverage unknown" in res.explanation


def test_e3_lost_dataset_withholds_pass() -> None:
    df = uci()["deep_uci"].copy()
    df.loc[df["dataset"] == "balloons", "train_objective"] = np.nan
    res = CHECKS["E3"].fn({"deep_uci": df})
    assert res.verdict == "INCONCLUSIVE", res.explanation


def _degenerate(df: pd.DataFrame, how: str) -> pd.DataFrame:
    if how == "empty":
        return df.iloc[0:0]
    if how == "single":
        return df.iloc[:1].reset_index(drop=True)
    return df.assign(**{c: np.nan for c in df.columns if c != "point_status"})


@pytest.mark.parametrize("how", ["empty", "single", "nan"])
def test_no_e_check_passes_on_degenerate_tables(how: str) -> None:
    """Property: no E check PASSes on an empty, single-row or all-NaN table."""
    tables = {name: _degenerate(df, how) for name, df in all_tables().items()}
    for cid in ("E1", "E2", "E3", "E4", "E5", "E6"):
        res = CHECKS[cid].fn(tables)
        assert res.verdict != "PASS", (cid, how, res.explanation)
