"""Decision rules of checks E1-E6 (harness.predictions.deep) on hand-made tables: each
rule has tables that must PASS, must FAIL and must be INCONCLUSIVE."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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
    assert decide_mapping(_solves([1e-10, np.nan, 1e-9])).verdict == "FAIL"
    # few rows / failed solves are excluded: not enough left to earn a PASS
    assert decide_mapping(_solves([1e-10, 1e-9])).verdict == "INCONCLUSIVE"
    res = decide_mapping(_solves([1e-10, 5.0, 1e-9], status=["optimal", "error", "optimal"]))
    assert res.verdict == "INCONCLUSIVE" and res.details["n_not_optimal"] == 1


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
    # the run below the bound is uncovered: excluded and counted, the rest pass
    res = decide_thm1(_runs([1.0, 0.5, 1.1, 1.3], [1.0] * 4, [True, False, True, True]))
    assert res.verdict == "PASS" and res.details["n_uncovered"] == 1
    # too few covered runs, or the solves failed
    assert decide_thm1(_runs([1.0, 0.5], [1.0, 1.0], [True, False])).verdict == "INCONCLUSIVE"
    failed = _runs([0.1, 0.1, 0.1], [1.0] * 3, solve=["error"] * 3)
    assert decide_thm1(failed).verdict == "INCONCLUSIVE"
    diverged = _runs([np.nan, 1.0, 1.0], [1.0] * 3, status=["diverged", "ok", "ok"])
    assert decide_thm1(diverged).verdict == "INCONCLUSIVE"


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
    assert decide_fig4(_fig4(stuck_small=6, reach_large=10)).verdict == "PASS"
    assert decide_fig4(_fig4(stuck_small=6, reach_large=3)).verdict == "FAIL"
    assert decide_fig4(_fig4(stuck_small=0, reach_large=40, n=40)).verdict == "FAIL"
    assert decide_fig4(_fig4(stuck_small=2, reach_large=10)).verdict == "INCONCLUSIVE"
    assert decide_fig4(_fig4(stuck_small=3, reach_large=4, n=4)).verdict == "INCONCLUSIVE"
    failed = _fig4(6, 10)
    failed["solve_status"] = "error"
    assert decide_fig4(failed).verdict == "INCONCLUSIVE"


def _fmnist(diffs: list[float]) -> pd.DataFrame:
    rows = []
    for i, dlt in enumerate(diffs):
        rows += [
            dict(cluster=str(i), method="convex16_adam", test_accuracy=0.9 + dlt, status="ok"),
            dict(cluster=str(i), method="nonconvex_sgd", test_accuracy=0.88, status="ok"),
            dict(cluster=str(i), method="nonconvex_adam", test_accuracy=0.9, status="ok"),
        ]
    return pd.DataFrame(rows)


def test_e6_fmnist_rule() -> None:
    assert decide_fmnist(_fmnist([0.0, 0.01, 0.005])).verdict == "PASS"
    assert decide_fmnist(_fmnist([-0.05, -0.04, -0.06])).verdict == "FAIL"
    assert decide_fmnist(_fmnist([-0.05, 0.01, 0.0])).verdict == "INCONCLUSIVE"
    assert decide_fmnist(_fmnist([0.0, 0.01])).verdict == "INCONCLUSIVE"
    no_convex = _fmnist([0.0, 0.0, 0.0])
    no_convex.loc[no_convex["method"] == "convex16_adam", "status"] = "diverged"
    assert decide_fmnist(no_convex).verdict == "INCONCLUSIVE"


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
