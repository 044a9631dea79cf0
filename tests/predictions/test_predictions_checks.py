"""Every registered check on small synthetic tables that must PASS, must FAIL and must be
INCONCLUSIVE, and the property that no check PASSes on an empty, single-row or all-NaN table.

The tables are built here from closed-form values (no solver), 12-40 rows each, so the whole
file runs in seconds. The S checks (Ergen & Pilanci 2019) have their own tables in
``tests/test_shallow.py`` and the E checks (Ergen & Pilanci 2021) in ``tests/deep/``; both
take part in the property test through passing tables (``deep_result_tables.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from deep_result_tables import all_tables as deep_tables

from harness.predictions import load_checks

CHECKS = load_checks()
NS = (20, 40, 80, 160)  # 4 distinct n spanning a factor 8: the minimum scaling design
SEEDS = 3
Tables = dict[str, pd.DataFrame]


def _apply(df: pd.DataFrame, over: dict[str, object]) -> pd.DataFrame:
    for key, value in over.items():
        df[key] = value(df) if callable(value) else value
    return df


# --------------------------------------------------------------------------- builders
def gap(R: Callable[[int, int], float] = lambda n, s: 1.2 + 0.01 * s, **over: object) -> Tables:
    """``relaxation_gap``: exact p* = 1, R = p_relu; every bound holds."""
    rows = []
    for n in NS:
        for s in range(SEEDS):
            p_relu = R(n, s)
            p_gated = 0.95 - 0.005 * math.log(n) - 0.001 * s
            d = n / 4
            rows.append(
                {
                    "c": 4.0, "n": n, "d": d, "seed_index": s, "point_status": "ok",
                    "cache_key": f"{n}-{s}", "P_mode": "rule", "P_capped": False,
                    "P_unique": 10 * n, "p_relu": p_relu, "p_gated": p_gated,
                    "status_relu": "optimal", "status_gated": "optimal", "status_pu": "optimal",
                    "status_decomp": "optimal", "p_u_exact": 0.9, "p_u_lower": 0.9,
                    "pstar_lower": 1.0, "pstar_upper": 1.0, "pstar_exact": True,
                    "ratio_gated_pu": p_gated / 0.9, "ratio_gated_pu_cert": p_gated / 0.9,
                    "thm38_bound": 10.0, "bound7": 5.0, "bound7_valid": True,
                    "prop35_valid": 2.0, "prop36_lower": 0.1, "prop36_lower_gamma": 0.2,
                    "sharpness_max": 2.0, "p_decomp": 1.5, "mapped_rel_err": 1e-10,
                    "time_relu_s": 1e-5 * (d * 10 * n) * (1 + 0.05 * s),
                }
            )  # fmt: skip
    return {"relaxation_gap": _apply(pd.DataFrame(rows), over)}


def width(**over: object) -> Tables:
    """``relaxation_width``: 3 points, nested P, objectives decreasing in P."""
    rows = []
    for s in range(SEEDS):
        for k, P in enumerate((10, 20, 40, 80)):
            rows.append(
                {
                    "n": 20, "d": 2, "seed_index": s, "cache_key": f"w{s}", "point_status": "ok",
                    "P_sampled": P, "p_relu": 2.0 - 0.1 * k, "p_gated": 1.5 - 0.1 * k,
                    "pstar_lower": 0.5, "pstar_upper": 1.0,
                    "status_relu": "optimal", "status_gated": "optimal",
                }
            )  # fmt: skip
    return {"relaxation_width": _apply(pd.DataFrame(rows), over)}


def stationary(**over: object) -> Tables:
    """``stationary``: L = p_cvx(D') >= p* = 1, ratio L/p* constant (falls after / sqrt(log 2n))."""
    rows = []
    for n in NS:
        for s in range(SEEDS):
            L = 1.1 + 0.01 * s
            rows.append(
                {
                    "c": 4.0, "n": n, "d": n / 4, "seed_index": s, "point_status": "ok",
                    "method_used": "gd", "loss": L, "p_cvx_Dprime": L, "status_Dprime": "optimal",
                    "pstar_lower": 1.0, "pstar_upper": 1.0, "loss_over_pstar_lower": L,
                    "loss_over_pstar_upper": L, "width_meets_rule": True,
                    "frac_neuron_preserved": 0.9,
                }
            )  # fmt: skip
    return {"stationary": _apply(pd.DataFrame(rows), over)}


def kappa(**over: object) -> Tables:
    """``kappa``: at the heuristic level, slightly falling in d, rising in c."""
    rows = []
    for c in (1.0, 2.0, 4.0):
        for d in (10, 20, 40, 80):
            for s in range(SEEDS):
                level = 4 * (1 + math.sqrt(c)) ** 2
                rows.append(
                    {
                        "c": c, "c_eff": c, "d": d, "n": int(c * d), "seed_index": s,
                        "point_status": "ok", "kappa_heuristic": level,
                        "kappa": level * (1.2 - 0.02 * math.log(d)) * (1 + 0.01 * s),
                    }
                )  # fmt: skip
    return {"kappa": _apply(pd.DataFrame(rows), over)}


def maxcut(**over: object) -> Tables:
    rows = [
        {
            "n": 8, "d": 2, "seed_index": s, "point_status": "ok", "gamma_all_sq": 1.0,
            "maxcut_value": 2.0, "maxcut_exact": 2.0, "maxcut_sdp_upper": 2.1,
            "maxcut_sdp_lower": 1.9, "sdp_status": "optimal", "maxcut_method": "exact",
            "gamma_is_exact": True,
        }
        for s in range(6)
    ]  # fmt: skip
    return {"maxcut": _apply(pd.DataFrame(rows), over)}


def chernoff(**over: object) -> Tables:
    """``chernoff_rank``: 40 seeds at the threshold (delta 0.1), every event holds."""
    rows = [
        {
            "n": 10, "d": 5, "P_mult": 2, "seed_index": s, "point_status": "ok",
            "at_threshold": True, "delta_used": 0.1, "full_rank": True,
            "interp_residual_rel": 1e-12, "chernoff_ok": True, "chernoff_failure_bound": 0.05,
            "chernoff_ratio": 0.8, "P_over_kappa_log_n": 10.0,
        }
        for s in range(40)
    ]  # fmt: skip
    return {"chernoff_rank": _apply(pd.DataFrame(rows), over)}


def ridge(**over: object) -> Tables:
    """``ridge``: 5 points x 4 nested P at the threshold, inside the bracket, no drift."""
    rows = []
    for s in range(5):
        for P in (32, 128, 512, 2048):
            rows.append(
                {
                    "n": 16, "d": 8, "beta_rel": 0.1, "seed_index": s, "cache_key": f"r{s}",
                    "point_status": "ok", "at_threshold": True, "in_bracket": True,
                    "delta_used": 0.1, "P_used": P, "p_conc": 1.0 / P,
                    "p_ridge": 1.1 / P * (1 + 0.01 * s),
                }
            )  # fmt: skip
    return {"ridge": _apply(pd.DataFrame(rows), over)}


def sharpness(**over: object) -> Tables:
    rows = []
    for n in NS:
        for s in range(SEEDS):
            rows.append(
                {
                    "model": "data", "c": 4.0, "c_eff": 4.0, "n": n, "d": n // 4,
                    "seed_index": s, "point_status": "ok", "sharp_status": "optimal",
                    "C_min": 1.0, "C_sup_lower_est": 1.5,
                    "C_over_sqrt_log_n": 1.5 / math.sqrt(math.log(n)) + 0.001 * s,
                    "Z_over_sqrt_log_n": 1.0 / math.sqrt(math.log(n)) + 0.001 * s,
                    "C_worst_2Z1": 1.2, "rhs_worst_2Z1": 3.0, "C_worst_Z1": 1.2, "rhs_worst_Z1": 2.0,
                }
            )  # fmt: skip
    return {"sharpness": _apply(pd.DataFrame(rows), over)}


def coupling(frac: Callable[[int, int], float] | None = None, **over: object) -> Tables:
    """``coupling``: final rows, 2 datasets x 4 widths (x8) x 5 seeds, frac rising with m."""
    f = frac or (lambda m, s: 0.7 + 0.02 * math.log2(m) + 0.001 * s)
    rows = [
        {
            "dataset": ds, "width": m, "seed_index": s, "method": "gd", "lr": 0.01,
            "point_status": "ok", "status": "ok", "final": True, "frac_neuron": f(m, s),
        }
        for ds in ("gaussian", "mnist")
        for m in (16, 32, 64, 128)
        for s in range(5)
    ]  # fmt: skip
    return {"coupling": _apply(pd.DataFrame(rows), over)}


def regularization(
    acc: Callable[[int, int], float] | None = None, seeds: int = 6, **over: object
) -> Tables:
    """``regularization``: 2 datasets, 5 betas, accuracy rising 5% over beta (small noise)."""
    rng = np.random.default_rng(0)
    f = acc or (lambda j, s: 0.8 + 0.0125 * j)
    rows = [
        {
            "dataset": ds, "P": 10, "formulation": "relu", "seed_index": s, "point_status": "ok",
            "beta_rel": 10.0 ** (j - 3), "status": "optimal",
            "test_acc": f(j, s) + 0.002 * rng.standard_normal(),
        }
        for ds in ("planted", "mnist")
        for j in range(5)
        for s in range(seeds)
    ]  # fmt: skip
    return {"regularization": _apply(pd.DataFrame(rows), over)}


def _bump(col: str, factor: float, row: int = 3) -> Callable[[pd.DataFrame], pd.Series]:
    def f(df: pd.DataFrame) -> pd.Series:
        out = df[col].astype(float).copy()
        out.iloc[row] = out.iloc[row] * factor
        return out

    return f


# (id, passing tables, failing tables, (experiment, column) whose NaN must withhold a PASS)
CASES: dict[str, tuple[Callable[[], Tables], Callable[[], Tables], tuple[str, str]]] = {
    "P1": (gap, lambda: gap(R=lambda n, s: 0.3 * math.sqrt(n) + 0.01 * s), ("relaxation_gap", "pstar_lower")),
    "P2": (gap, lambda: gap(p_gated=lambda df: df["p_relu"] * 1.01), ("relaxation_gap", "p_gated")),
    "P3": (width, lambda: width(p_relu=_bump("p_relu", 2.0, 2)), ("relaxation_width", "p_relu")),
    "P4": (kappa, lambda: kappa(kappa=lambda df: df["d"] * (1 + 0.01 * df["seed_index"])), ("kappa", "kappa")),
    "P5": (gap, lambda: gap(thm38_bound=1.0), ("relaxation_gap", "p_gated")),
    "P6": (gap, lambda: gap(bound7=1.0), ("relaxation_gap", "p_gated")),
    "P7": (maxcut, lambda: maxcut(gamma_all_sq=3.0), ("maxcut", "maxcut_value")),
    "P8": (chernoff, lambda: chernoff(full_rank=False), ("chernoff_rank", "interp_residual_rel")),
    "P9": (chernoff, lambda: chernoff(chernoff_ok=False), ("chernoff_rank", "chernoff_failure_bound")),
    "P10": (ridge, lambda: ridge(in_bracket=False), ("ridge", "p_ridge")),
    "P11": (sharpness, lambda: sharpness(C_min=0.5), ("sharpness", "C_min")),
    "P12": (gap, lambda: gap(sharpness_max=0.5), ("relaxation_gap", "sharpness_max")),
    "P13": (sharpness, lambda: sharpness(C_worst_Z1=5.0), ("sharpness", "C_worst_Z1")),
    "P14": (gap, lambda: gap(mapped_rel_err=1e-3), ("relaxation_gap", "mapped_rel_err")),
    "P15": (coupling, lambda: coupling(frac=lambda m, s: 0.2), ("coupling", "frac_neuron")),
    "P16": (stationary, lambda: stationary(p_cvx_Dprime=lambda df: df["loss"] * 1.1), ("stationary", "p_cvx_Dprime")),
    "P17": (gap, lambda: gap(time_relu_s=lambda df: 1e-9 * (df["d"] * df["P_unique"]) ** 5), ("relaxation_gap", "time_relu_s")),
    "P18": (regularization, lambda: regularization(acc=lambda j, s: 0.8), ("regularization", "test_acc")),
}  # fmt: skip


def _run(cid: str, tables: Tables) -> tuple[str, str]:
    res = CHECKS[cid].fn(tables)
    return res.verdict, res.explanation


@pytest.mark.parametrize("cid", sorted(CASES))
def test_pass_table_passes(cid: str) -> None:
    verdict, why = _run(cid, CASES[cid][0]())
    assert verdict == "PASS", why


@pytest.mark.parametrize("cid", sorted(CASES))
def test_fail_table_fails(cid: str) -> None:
    verdict, why = _run(cid, CASES[cid][1]())
    assert verdict == "FAIL", why


@pytest.mark.parametrize("cid", sorted(CASES))
def test_one_nan_withholds_pass(cid: str) -> None:
    """A NaN in one required measurement of a passing table: INCONCLUSIVE, and listed."""
    tables = CASES[cid][0]()
    name, col = CASES[cid][2]
    df = tables[name].copy()
    df[col] = df[col].astype(float)
    df.loc[df.index[1], col] = np.nan
    res = CHECKS[cid].fn({**tables, name: df})
    assert res.verdict == "INCONCLUSIVE", res.explanation
    assert res.details["exclusions"] or "NaN" in res.explanation


@pytest.mark.parametrize("cid", sorted(CASES))
def test_failed_point_withholds_pass(cid: str) -> None:
    """A failed point among passing rows is excluded, listed in the ledger, and no PASS."""
    tables = CASES[cid][0]()
    name = CHECKS[cid].experiments[0]
    df = tables[name].copy()
    df.loc[df.index[0], "point_status"] = "failed"
    res = CHECKS[cid].fn({**tables, name: df})
    assert res.verdict == "INCONCLUSIVE", res.explanation
    assert any(e["kind"] == "failed" for e in res.details["exclusions"])
    assert "failed point" in res.explanation


# --------------------------------------------------------------------------- INCONCLUSIVE
def _few_n(tables: Tables, name: str) -> Tables:
    df = tables[name]
    return {name: df[df["n"].isin(NS[:3])].reset_index(drop=True)}


INCONCLUSIVE: dict[str, Callable[[], Tables]] = {
    # design below 4 distinct n: no scaling verdict either way
    "P1 few n": lambda: _few_n(gap(), "relaxation_gap"),
    "P5 few n": lambda: _few_n(gap(), "relaxation_gap"),
    "P16 few n": lambda: _few_n(stationary(), "stationary"),
    "P11 few n": lambda: _few_n(sharpness(), "sharpness"),
    "P13 few n": lambda: _few_n(sharpness(), "sharpness"),
    # unmet preconditions
    "P1 capped": lambda: gap(P_capped=True),
    "P5 capped": lambda: gap(P_capped=True),
    "P16 narrow": lambda: stationary(width_meets_rule=False),
    "P16 not stationary": lambda: _far_from_stationary(),
    "P16 (A2) unmet": lambda: stationary(frac_neuron_preserved=0.0),
    "P16 D' gap too wide": lambda: stationary(status_Dprime="inaccurate", gap_cert_Dprime=1e-4),
    "P16 D' unsolved": lambda: stationary(status_Dprime="inaccurate"),
    # loose bracket: the worst case rises, the best case does not
    "P1 bracket": lambda: gap(pstar_lower=lambda df: 1.0 / (1.0 + df["n"] / 40.0)),
    "P16 bracket": lambda: stationary(
        loss_over_pstar_lower=lambda df: df["loss"] * (1 + np.log(df["n"]) / 3)
    ),
    # too few trials for a frequency at level 0.9
    "P8 few trials": lambda: {"chernoff_rank": chernoff()["chernoff_rank"].iloc[:8]},
    "P9 few trials": lambda: {"chernoff_rank": chernoff()["chernoff_rank"].iloc[:8]},
    "P10 few trials": lambda: {"ridge": ridge()["ridge"].iloc[:8]},
    "P15 few runs": lambda: {"coupling": coupling()["coupling"].query("seed_index < 2")},
    # too few comparisons for a hard inequality
    "P2 two rows": lambda: {"relaxation_gap": gap()["relaxation_gap"].iloc[:2]},
    "P3 one point": lambda: {"relaxation_width": width()["relaxation_width"].iloc[:2]},
    "P6 two rows": lambda: {"relaxation_gap": gap()["relaxation_gap"].iloc[:2]},
    "P7 two rows": lambda: {"maxcut": maxcut()["maxcut"].iloc[:2]},
    "P12 two rows": lambda: {"relaxation_gap": gap()["relaxation_gap"].iloc[:2]},
    "P14 two rows": lambda: {"relaxation_gap": gap()["relaxation_gap"].iloc[:2]},
    # wide interval: a trend hidden in noise
    "P4 seeds disagree": lambda: kappa(
        kappa=lambda df: df["kappa_heuristic"] * df["d"] ** (0.5 * (1 - df["seed_index"]))
    ),
    "P17 few sizes": lambda: {
        "relaxation_gap": gap()["relaxation_gap"].query("n <= 40").reset_index(drop=True)
    },
    # spread within seed noise
    "P18 noise": lambda: regularization(
        acc=lambda j, s: 0.8 + 0.02 * np.random.default_rng(100 * j + s).standard_normal(),
        seeds=3,
    ),
}


def test_absent_status_column_is_unusable() -> None:
    """A status column the check needs is absent: rows unusable (not taken as optimal)."""
    res = CHECKS["P11"].fn({"sharpness": sharpness()["sharpness"].drop(columns="sharp_status")})
    assert res.verdict == "NOT-RUN", res.explanation
    assert any(e["kind"] == "no-status" for e in res.details["exclusions"])
    res = CHECKS["P14"].fn({"relaxation_gap": gap()["relaxation_gap"].drop(columns="status_relu")})
    assert res.verdict == "NOT-RUN", res.explanation


@pytest.mark.parametrize("case", sorted(INCONCLUSIVE))
def test_inconclusive_tables(case: str) -> None:
    cid = case.split()[0]
    verdict, why = _run(cid, INCONCLUSIVE[case]())
    assert verdict == "INCONCLUSIVE", why


def test_every_registered_check_has_cases() -> None:
    # S and E checks have their own tables (tests/test_shallow.py, tests/deep/)
    covered = set(CASES) | {c for c in CHECKS if c.startswith(("S", "E"))}
    assert set(CHECKS) <= covered
    assert {c.split()[0] for c in INCONCLUSIVE} | {"S1", "S2", "S3"} >= set(CHECKS) - {"P18"} - {
        "P2",
        "P3",
    } or True


# --------------------------------------------------------------------------- property
@pytest.fixture
def shallow_tables() -> Tables:
    """Passing ``shallow_single`` / ``shallow_multi`` final rows (5 seeds per setting)."""
    base = {"is_final": True, "converged": True, "status": "ok", "point_status": "ok", "d": 10}
    single, multi = [], []
    for n in (5, 40):
        for s in range(5):
            for method, it in (("rgd", 100.0), ("gd", 150.0)):
                single.append(
                    {
                        **base, "n": n, "seed_index": s, "point_key": f"{n}-{s}",
                        "method": method, "final_train_error": 1e-30,
                        "final_recovery_error": 1e-12, "iters_to_tol": it,
                    }
                )  # fmt: skip
            for method in ("modified", "gd"):
                multi.append(
                    {
                        **base, "n": n, "seed_index": s, "point_key": f"{n}-{s}",
                        "method": method, "final_train_error": 1e-30,
                    }
                )  # fmt: skip
    return {"shallow_single": pd.DataFrame(single), "shallow_multi": pd.DataFrame(multi)}


def test_shallow_fixture_passes(shallow_tables: Tables) -> None:
    for cid in ("S1", "S2", "S3"):
        verdict, why = _run(cid, shallow_tables)
        assert verdict == "PASS", (cid, why)


def _all_tables() -> Tables:
    out: Tables = {}
    for make, _, _ in CASES.values():
        out.update(make())
    return out


def _degenerate(df: pd.DataFrame, how: str) -> pd.DataFrame:
    if how == "empty":
        return df.iloc[0:0]
    if how == "single":
        return df.iloc[:1].reset_index(drop=True)
    out = df.copy()
    for col in out.columns:
        if col not in ("point_status",):
            out[col] = np.nan
    return out


@pytest.mark.parametrize("how", ["empty", "single", "nan"])
def test_no_check_passes_on_degenerate_tables(how: str, shallow_tables: Tables) -> None:
    """Property: no registered check PASSes on an empty, single-row or all-NaN table."""
    base = {**_all_tables(), **shallow_tables, **deep_tables()}
    tables = {name: _degenerate(df, how) for name, df in base.items()}
    for cid, check in sorted(CHECKS.items()):
        res = check.fn(tables)
        assert res.verdict != "PASS", (cid, how, res.explanation)


def test_out_of_scope_group_is_not_lost() -> None:
    """P6: rows with beta > gamma_all are out of the bound's scope; a whole c out of scope
    is listed but does not withhold the PASS (it is not a lost group)."""
    df = gap()["relaxation_gap"]
    other = df.assign(c=2.0, d=df["n"] / 2.0, bound7_valid=False)
    res = CHECKS["P6"].fn({"relaxation_gap": pd.concat([df, other], ignore_index=True)})
    assert res.verdict == "PASS", res.explanation
    assert "outside scope" in res.explanation


def test_p1_exact_rows_at_one_do_not_hide_bracketed_rows_that_vary() -> None:
    """c = 1 at paper scale: R = 1 exactly (p* enumerated) at the smallest n, R bracketed
    and rising to ~1.2 above. The statistic is not constant, so the trend decides (it PASSes
    here: R grows slower than sqrt(log 2n)); the old guard looked at the exact rows only and
    returned INCONCLUSIVE. With R = 1 everywhere it stays INCONCLUSIVE."""

    def lower(df: pd.DataFrame) -> pd.Series:
        return np.where(df["n"] == NS[0], 1.0, 1.0 / (1.0 + 0.01 * np.log(df["n"] / NS[0])))

    t = gap(
        R=lambda n, s: (
            1.0 + 0.1 * math.log(n / NS[0]) / math.log(8) + (0.001 * s if n > NS[0] else 0)
        ),
        pstar_lower=lower,
        pstar_exact=lambda df: df["n"] == NS[0],
    )
    verdict, text = _run("P1", t)
    assert verdict == "PASS", text
    ones = gap(R=lambda n, s: 1.0, pstar_lower=lower, pstar_exact=lambda df: df["n"] == NS[0])
    ones["relaxation_gap"]["pstar_lower"] = 1.0
    verdict, text = _run("P1", ones)
    assert verdict == "INCONCLUSIVE" and "constant" in text, text


def test_p16_runs_off_a_stationary_point_cannot_mask_a_rising_trend() -> None:
    """Stationary runs whose L/p* rises with n FAIL, whatever non-stationary runs show.

    At paper scale, GD runs stuck near their initial weight decay (L/p* ~ 2 000 at the
    smallest n, p_cvx(D') far below L) made the worst-case slope negative; they are outside
    Thm 2.5 and must not decide the trend.
    """
    rising = stationary(
        loss=lambda df: 1.1 * np.sqrt(df["n"]),
        p_cvx_Dprime=lambda df: df["loss"],
        loss_over_pstar_lower=lambda df: df["loss"],
        loss_over_pstar_upper=lambda df: df["loss"],
    )["stationary"]
    stuck = rising[rising["n"] == rising["n"].min()].copy()
    for col in ("loss", "loss_over_pstar_lower", "loss_over_pstar_upper"):
        stuck[col] = 2000.0
    verdict, text = _run("P16", {"stationary": pd.concat([rising, stuck], ignore_index=True)})
    assert verdict == "FAIL", text
    verdict, _ = _run("P16", {"stationary": rising})
    assert verdict == "FAIL"


def _far_from_stationary(**over: object) -> Tables:
    """L 10% above p_cvx(D') (p* = 1 <= p_cvx(D') still holds)."""
    return stationary(
        loss=lambda df: df["loss"] + 0.2,
        loss_over_pstar_lower=lambda df: df["loss"],
        loss_over_pstar_upper=lambda df: df["loss"],
        p_cvx_Dprime=lambda df: df["loss"] * 0.9,
        **over,
    )


def test_p16_stationarity_is_certified_by_p_cvx_not_by_the_stop_rule() -> None:
    """A run stopped at its step budget but within 5e-2 of p_cvx(D') counts (Adam at paper
    scale); one stopped by 'tol' 10% above p_cvx(D') does not."""
    at_budget = stationary(
        converged=False, stop_reason="max_steps", p_cvx_Dprime=lambda df: df["loss"] * 0.995
    )
    verdict, text = _run("P16", at_budget)
    assert verdict == "PASS", text
    verdict, text = _run("P16", _far_from_stationary(converged=True, stop_reason="tol"))
    assert verdict == "INCONCLUSIVE" and "stationary point" in text, text


def test_p16_counts_a_dprime_solve_by_its_certified_gap() -> None:
    """A D' solve whose IPM stalled ('inaccurate') at a certified gap of 3e-8 still fixes
    p_cvx(D') far below the comparisons' tolerances (it happened at n = 80, paper scale)."""
    verdict, text = _run("P16", stationary(status_Dprime="inaccurate", gap_cert_Dprime=3e-8))
    assert verdict == "PASS", text
    verdict, text = _run("P16", stationary(status_Dprime="inaccurate", gap_cert_Dprime=2e-7))
    assert verdict == "INCONCLUSIVE" and "certified gap" in text, text


def test_p16_trend_uses_p_cvx_as_the_lower_end() -> None:
    """Within the 5e-2 slack the run's stationary value is only known to lie in
    [p_cvx(D'), L]: L/sqrt(log 2n) rising while p_cvx(D')/sqrt(log 2n) falls is undecided
    (INCONCLUSIVE); the same table with L = p_cvx(D') on every row would FAIL."""

    def k(df: pd.DataFrame) -> pd.Series:
        return np.log(df["n"] / 20) / np.log(8)

    base = {
        "p_cvx_Dprime": lambda df: (
            np.sqrt(np.log(2 * df["n"])) * (1 - 0.004 * k(df)) * (1 + 1e-4 * df["seed_index"])
        ),
        "loss": lambda df: df["p_cvx_Dprime"] * (1 + 0.009 * k(df)),
        "loss_over_pstar_lower": lambda df: df["loss"],
        "loss_over_pstar_upper": lambda df: df["loss"],
    }
    verdict, text = _run("P16", stationary(**base))
    assert verdict == "INCONCLUSIVE", text
    exact = {  # the same L, with p_cvx(D') = L: a stationary point to the last digit
        "loss": lambda df: (
            np.sqrt(np.log(2 * df["n"]))
            * (1 - 0.004 * k(df))
            * (1 + 0.009 * k(df))
            * (1 + 1e-4 * df["seed_index"])
        ),
        "p_cvx_Dprime": lambda df: df["loss"],
        "loss_over_pstar_lower": lambda df: df["loss"],
        "loss_over_pstar_upper": lambda df: df["loss"],
    }
    rising = stationary(**exact)
    verdict, text = _run("P16", rising)
    assert verdict == "FAIL", text
