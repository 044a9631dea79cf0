"""Kinds ``relaxation_width`` / ``relaxation_gap`` / ``stationary``, their checks and Figures 1, 2, 8."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harness.diagnostics.kappa import chernoff_pattern_count
from harness.errors import HarnessError, InputError
from harness.kinds import get_kind
from harness.kinds.relaxation import (
    GAP_COLUMNS,
    STATIONARY_COLUMNS,
    WIDTH_COLUMNS,
    parse_methods,
    parse_P_list,
)
from harness.plots.relaxation import plot_fig1, plot_fig2, plot_fig8
from harness.predictions import load_checks

REPO = Path(__file__).resolve().parents[2]
TOL = 1e-6
CHECKS = load_checks()


def _seed(k: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(4321, spawn_key=(k,))


def _verdict(cid: str, tables: dict[str, pd.DataFrame]) -> str:
    return CHECKS[cid].fn(tables).verdict


# --------------------------------------------------------------------------- kinds
def test_parsers() -> None:
    assert parse_P_list("2,4,16") == [2, 4, 16]
    assert parse_methods("gd,adam") == ["gd", "adam"]
    for bad in ("4,2", "0,3", "a", "2,2"):
        with pytest.raises(InputError, match="P_list"):
            parse_P_list(bad)
    for bad in ("sgd", "gd,gd", ""):
        with pytest.raises(InputError, match="methods"):
            parse_methods(bad)


def test_relaxation_width_rows(any_seed: int) -> None:
    point = {
        "n": 12,
        "d": 2,
        "P_list": "2,4,8,32",
        "beta_rel": 0.1,
        "gd_restarts": 2,
        "gd_steps": 400,
    }
    df = pd.DataFrame(get_kind("relaxation_width")(dict(point), _seed(any_seed)))
    assert set(WIDTH_COLUMNS) <= set(df.columns)
    assert not set(point) & set(df.columns), "rows must not repeat point parameters"
    assert (df["status_relu"] == "optimal").all() and (df["status_gated"] == "optimal").all()
    assert list(df["P_sampled"]) == [2, 4, 8, 32]
    assert df["P_unique"].is_monotonic_increasing  # nested sets
    assert (df["neurons"] == 2 * df["P_unique"]).all()
    p_relu, p_gated = df["p_relu"].to_numpy(), df["p_gated"].to_numpy()
    assert np.all(np.diff(p_relu) <= TOL * p_relu[:-1]), "p_relu must not increase in P"
    assert np.all(np.diff(p_gated) <= TOL * p_gated[:-1]), "p_gated must not increase in P"
    assert np.all(p_gated <= p_relu * (1 + TOL))
    assert df["pstar_exact"].all()  # n = 12, d = 2: the arrangement is enumerated
    assert np.all(df["pstar_lower"] <= p_relu * (1 + TOL))
    assert np.all(df["pstar_lower"] <= df["pstar_upper"] * (1 + TOL))
    assert (df["mapped_rel_err"] < 1e-6).all()
    np.testing.assert_allclose(df["beta_used"], 0.1 * df["beta_max"])
    assert (df["beta_max_method"] == "enumerated").all()
    assert math.isfinite(df["gd_best"].iloc[0]) and df["gd_best"].iloc[0] >= df["pstar_lower"].iloc[
        0
    ] * (1 - TOL)


def test_relaxation_gap_rows_exact() -> None:
    point = {"n": 10, "d": 2, "P": 4, "P_cap": 60, "beta_rel": 0.1, "bracket_restarts": 0}
    df = pd.DataFrame(get_kind("relaxation_gap")(dict(point), _seed(0)))
    assert set(GAP_COLUMNS) <= set(df.columns)
    assert not set(point) & set(df.columns)
    assert list(df["P_mode"]) == ["rule", "fixed"]
    r = df.iloc[0]
    assert r["P_rule"] == chernoff_pattern_count(r["kappa"], 10, 0.1)
    assert r["P_used"] == min(r["P_rule"], 60) and bool(r["P_capped"]) == (r["P_rule"] > 60)
    assert df.iloc[1]["P_used"] == 4 and not df.iloc[1]["P_capped"]
    assert (df["p_u_method"] == "enumerated").all() and df["pstar_exact"].all()
    for col in ("status_relu", "status_gated", "status_pu", "status_decomp"):
        assert (df[col] == "optimal").all(), col
    p = {c: df[c].to_numpy(dtype=float) for c in df.columns if df[c].dtype.kind == "f"}
    # orderings (THEORY §A2) and the bounds of §A4-§A5
    assert np.all(p["p_u_exact"] <= p["p_gated"] * (1 + TOL))
    assert np.all(p["p_gated"] <= p["p_relu"] * (1 + TOL))
    assert np.all(p["pstar_lower"] <= p["p_relu"] * (1 + TOL))
    assert np.all(p["p_u_exact"] <= p["pstar_upper"] * (1 + TOL))
    assert np.all(p["R_cert"] >= 1 - TOL) and np.all(p["R_est"] <= p["R_cert"] * (1 + TOL))
    assert np.all(p["p_relu"] <= p["sharpness_max"] * p["p_gated"] * (1 + TOL))
    assert np.all(p["sharpness_max"] >= 1 - TOL)
    assert np.all(p["p_relu"] <= p["p_decomp"] * (1 + TOL))
    assert np.all(p["ratio_gated_pu"] <= p["bound7"] * (1 + TOL))
    assert np.all(p["p_gated"] <= p["prop35_valid"] * (1 + TOL))
    assert np.all(p["prop36_lower_gamma"] <= p["p_u_exact"] * (1 + TOL))
    assert np.all(p["mapped_rel_err"] < 1e-6)
    np.testing.assert_allclose(p["sqrt_log_2n"], math.sqrt(math.log(20)))
    # the rule row uses more (nested) patterns than the fixed row
    assert df.iloc[0]["p_relu"] <= df.iloc[1]["p_relu"] * (1 + TOL)


def test_relaxation_gap_certified_p_u_without_enumeration() -> None:
    point = {
        "n": 12,
        "d": 3,
        "P": 6,
        "use_rule": False,
        "beta_rel": 0.2,
        "enum_cap": 0,
        "bracket_restarts": 0,
        "bracket_rounds": 1,
        "decompose": False,
    }
    df = pd.DataFrame(get_kind("relaxation_gap")(dict(point), _seed(1)))
    assert list(df["P_mode"]) == ["fixed"]
    r = df.iloc[0]
    assert math.isnan(r["p_u_exact"]) and r["p_u_method"].startswith("partD_maxcut_exact")
    assert r["gamma_all_method"] == "maxcut_exact" and r["beta_max_method"] == "sampled"
    assert 0 < r["p_u_lower"] <= r["p_gated"] * (1 + TOL)
    assert r["p_u_lower"] <= r["pstar_upper"] * (1 + TOL)
    assert r["ratio_gated_pu_cert"] >= 1 - TOL and math.isnan(r["ratio_gated_pu"])
    assert r["status_decomp"] == "not_run"


def test_stationary_rows() -> None:
    point = {
        "n": 10,
        "d": 2,
        "width": 8,
        "n_inits": 2,
        "methods": "gd,adam",
        "n_steps": 300,
        "beta_rel": 0.1,
    }
    df = pd.DataFrame(get_kind("stationary")(dict(point), _seed(2)))
    assert set(STATIONARY_COLUMNS) <= set(df.columns)
    assert not set(point) & set(df.columns)
    assert sorted(df["method_used"]) == ["adam", "adam", "gd", "gd"]
    assert (df["status_Dprime"] == "optimal").all()
    assert df["gap_cert_Dprime"].between(-1e-12, 1e-8).all()  # its own certified gap
    assert df["lr_decay_used"].isna().all()  # no decay asked
    L, pc = df["loss"].to_numpy(), df["p_cvx_Dprime"].to_numpy()
    assert np.all(pc <= L * (1 + TOL)), "p_cvx(D') <= L(theta') always"
    assert np.all(df["pstar_lower"] <= pc * (1 + TOL))
    assert np.all(df["loss_over_pstar_upper"] >= 1 - TOL)  # pstar_upper includes the runs
    assert np.all(df["loss_over_pstar_lower"] >= df["loss_over_pstar_upper"] * (1 - TOL))
    assert df["frac_neuron_preserved"].between(0, 1).all()
    assert not df["width_meets_rule"].any()  # m = 8 is far below 2 * 8 kappa log(n/delta)


@pytest.mark.parametrize(
    ("kind", "point", "match"),
    [
        ("relaxation_width", {"n": 8, "d": 2, "P_list": "4,2", "beta_rel": 0.1}, "P_list"),
        ("relaxation_width", {"n": 8, "d": 2, "P_list": "2,4", "beta_rel": 1.0}, "beta_rel"),
        ("relaxation_gap", {"n": 8, "d": 2, "use_rule": False, "beta_rel": 0.1}, "use_rule"),
        ("stationary", {"n": 8, "d": 2, "width": 4, "methods": "sgd", "beta_rel": 0.1}, "methods"),
        ("stationary", {"n": 8, "d": 2, "beta_rel": 0.1}, "width"),
    ],
)
def test_bad_points(kind: str, point: dict[str, Any], match: str) -> None:
    with pytest.raises(InputError, match=match):
        get_kind(kind)(point, _seed(0))


@pytest.mark.parametrize("name", ["relaxation_width", "relaxation_gap", "stationary"])
def test_specs_load_and_expand(name: str) -> None:
    from harness.sweep import expand_grid, load_spec

    spec = load_spec(REPO / "experiments" / f"{name}.toml")
    assert spec.name == name and spec.kind == name
    quick, paper = expand_grid(spec, "quick"), expand_grid(spec, "paper")
    assert 0 < len(quick) <= 30 and len(paper) >= len(quick)
    assert max(p.params["n"] for p in quick) <= 40
    assert max(p.params["n"] for p in paper) >= 150


# --------------------------------------------------------------------------- synthetic tables
def _gap_table(
    R: Callable[[float, int], float] = lambda n, s: 1.2 - 0.02 * math.log(n) + 0.01 * s,
    est: Callable[[float, int], float] | None = None,
    ns: tuple[int, ...] = (8, 16, 32, 64),
    seeds: int = 4,
    capped: bool = False,
    **over: Any,
) -> pd.DataFrame:
    """A ``relaxation_gap`` table consistent with every claim unless overridden.

    ``R(n, s)`` gives ``R_cert`` (``pstar_lower = 1``); ``est(n, s)`` gives ``R_est``
    (default: equal to ``R_cert``, an exact bracket).
    """
    rows = []
    for c in (2.0, 4.0):
        for n in ns:
            for s in range(seeds):
                r = R(n, s)
                re = r if est is None else est(n, s)
                p_relu = r
                p_gated = 0.95 - 0.005 * math.log(n)
                p_u = 0.9
                d = n / c
                rows.append(
                    {
                        "c": c,
                        "n": n,
                        "d": d,
                        "seed_index": s,
                        "point_status": "ok",
                        "cache_key": f"{c}-{n}-{s}",
                        "P_mode": "rule",
                        "P_capped": capped,
                        "P_unique": 10 * n,
                        "p_relu": p_relu,
                        "p_gated": p_gated,
                        "status_relu": "optimal",
                        "status_gated": "optimal",
                        "status_pu": "optimal",
                        "status_decomp": "optimal",
                        "p_u_exact": p_u,
                        "p_u_lower": p_u,
                        "pstar_lower": 1.0,
                        "pstar_upper": p_relu / re,
                        "R_cert": r,
                        "R_est": re,
                        "sqrt_log_2n": math.sqrt(math.log(2 * n)),
                        "ratio_gated_pu": p_gated / p_u,
                        "ratio_gated_pu_cert": p_gated / p_u,
                        "thm38_bound": 10.0,
                        "bound7": 5.0,
                        "bound7_valid": True,
                        "prop35_valid": 2.0,
                        "prop36_lower": 0.1,
                        "prop36_lower_gamma": 0.2,
                        "sharpness_max": 2.0,
                        "p_decomp": 1.2 * p_relu,
                        "mapped_rel_err": 1e-10,
                        "time_relu_s": 1e-4 * (d * 10 * n) * (1 + 0.05 * s),
                    }
                )
    df = pd.DataFrame(rows)
    for key, value in over.items():
        df[key] = value(df) if callable(value) else value
    return df


def test_p1_verdicts() -> None:
    tables = {"relaxation_gap": _gap_table()}
    assert _verdict("P1", tables) == "PASS"
    growing = _gap_table(R=lambda n, s: math.sqrt(n) * (1 + 0.01 * s))
    assert _verdict("P1", {"relaxation_gap": growing}) == "FAIL"
    # the same growth where the rule was capped does not meet Thm 2.1's precondition
    assert (
        _verdict(
            "P1",
            {
                "relaxation_gap": _gap_table(
                    R=lambda n, s: math.sqrt(n) * (1 + 0.01 * s), capped=True
                )
            },
        )
        == "INCONCLUSIVE"
    )
    # growing at the certified end only: holds for part of the bracket
    half = _gap_table(R=lambda n, s: math.sqrt(n) * (1 + 0.01 * s), est=lambda n, s: 1.05)
    assert _verdict("P1", {"relaxation_gap": half}) == "INCONCLUSIVE"
    # R_cert < 1 is impossible (pstar_lower above the relaxation)
    bad = _gap_table(pstar_lower=lambda df: df["p_relu"] * 1.1)
    assert _verdict("P1", {"relaxation_gap": bad}) == "FAIL"
    assert _verdict("P1", {}) == "NOT-RUN"
    assert _verdict("P1", {"relaxation_gap": _gap_table().drop(columns="pstar_upper")}) == "NOT-RUN"
    assert _verdict("P1", {"relaxation_gap": _gap_table(P_mode="fixed")}) == "NOT-RUN"


def test_p2_verdicts() -> None:
    assert _verdict("P2", {"relaxation_gap": _gap_table()}) == "PASS"
    bad = _gap_table()
    bad.loc[3, "p_gated"] = bad.loc[3, "p_relu"] * 1.01
    res = CHECKS["P2"].fn({"relaxation_gap": bad})
    assert res.verdict == "FAIL" and "p_gated <= p_relu" in res.explanation
    # the same violation on a non-optimal solve is excluded (and listed), not a failure
    bad.loc[3, "status_gated"] = "inaccurate"
    res = CHECKS["P2"].fn({"relaxation_gap": bad})
    assert res.verdict == "PASS" and "1 row(s) status_gated not optimal" in res.explanation
    # failed points are listed, never silently dropped, and withhold a PASS
    failed = _gap_table()
    failed.loc[0, "point_status"] = "failed"
    res = CHECKS["P2"].fn({"relaxation_gap": failed})
    assert res.verdict == "INCONCLUSIVE" and "1 row(s) failed point" in res.explanation
    assert _verdict("P2", {"relaxation_gap": pd.DataFrame()}) == "NOT-RUN"
    assert _verdict("P2", {"relaxation_gap": _gap_table(point_status="failed")}) == "NOT-RUN"


def _width_table(increase_at: int | None = None, status: str = "optimal") -> pd.DataFrame:
    rows = []
    for s in range(3):
        for k, P in enumerate((2, 4, 8, 16)):
            v = 1.0 + 1.0 / P + 0.1 * s
            if increase_at is not None and k == increase_at and s == 0:
                v = 5.0
            rows.append(
                {
                    "cache_key": f"pt{s}",
                    "n": 20,
                    "d": 2,
                    "seed_index": s,
                    "P_sampled": P,
                    "P_unique": P,
                    "p_relu": v,
                    "p_gated": 0.9 * v,
                    "status_relu": status,
                    "status_gated": "optimal",
                    "pstar_lower": 1.0,
                    "pstar_upper": 1.0,
                    "pstar_exact": True,
                    "gd_best": 1.0,
                    "point_status": "ok",
                    "beta_rel": 0.1,
                }
            )
    return pd.DataFrame(rows)


def test_p3_verdicts() -> None:
    assert _verdict("P3", {"relaxation_width": _width_table()}) == "PASS"
    assert _verdict("P3", {"relaxation_width": _width_table(increase_at=2)}) == "FAIL"
    skipped = _width_table(increase_at=2)
    skipped.loc[2, ["status_relu", "status_gated"]] = "max_iter"
    res = CHECKS["P3"].fn({"relaxation_width": skipped})
    # 1 of 12 rows non-optimal (<= 10 % of the rows): excluded and listed
    assert res.verdict == "PASS" and "1 row(s) status_relu not optimal" in res.explanation
    skipped.loc[6, "status_relu"] = "max_iter"  # 2 of 12: more than 10 %, PASS withheld
    assert CHECKS["P3"].fn({"relaxation_width": skipped}).verdict == "INCONCLUSIVE"
    assert _verdict("P3", {}) == "NOT-RUN"


def test_p5_verdicts() -> None:
    assert _verdict("P5", {"relaxation_gap": _gap_table()}) == "PASS"
    assert _verdict("P5", {"relaxation_gap": _gap_table(thm38_bound=1.0)}) == "FAIL"
    # violations only where the rule was capped (Thm 3.8's precondition unmet)
    assert (
        _verdict("P5", {"relaxation_gap": _gap_table(thm38_bound=1.0, capped=True)})
        == "INCONCLUSIVE"
    )
    # only a certified lower bound on p_u, and the certified ratio exceeds the bound: undecided
    undecided = _gap_table(p_u_exact=np.nan, ratio_gated_pu=np.nan, ratio_gated_pu_cert=20.0)
    assert _verdict("P5", {"relaxation_gap": undecided}) == "INCONCLUSIVE"
    growth = _gap_table(ratio_gated_pu=lambda df: 1.0 + df["n"] / 10.0 + 0.01 * df["seed_index"])
    assert _verdict("P5", {"relaxation_gap": growth}) == "FAIL"
    assert _verdict("P5", {"relaxation_gap": _gap_table().drop(columns="thm38_bound")}) == "NOT-RUN"


def test_p6_verdicts() -> None:
    res = CHECKS["P6"].fn({"relaxation_gap": _gap_table()})
    assert res.verdict == "PASS"
    assert 0 < res.details["parts"]["bound (7)"]["median_tightness"] < 1
    assert _verdict("P6", {"relaxation_gap": _gap_table(bound7=1.0)}) == "FAIL"
    assert _verdict("P6", {"relaxation_gap": _gap_table(prop35_valid=0.5)}) == "FAIL"
    # bound (7) not applicable (beta > gamma_all): not compared, so only part of P6 is evaluated
    invalid = CHECKS["P6"].fn({"relaxation_gap": _gap_table(bound7=1.0, bound7_valid=False)})
    assert invalid.verdict == "INCONCLUSIVE"
    assert invalid.details["parts"]["bound (7)"]["verdict"] == "NOT-RUN"
    undecided = _gap_table(p_u_exact=np.nan, ratio_gated_pu=np.nan, ratio_gated_pu_cert=20.0)
    assert _verdict("P6", {"relaxation_gap": undecided}) == "INCONCLUSIVE"
    assert _verdict("P6", {}) == "NOT-RUN"


def test_p12_p14_verdicts() -> None:
    good = {"relaxation_gap": _gap_table()}
    assert _verdict("P12", good) == "PASS" and _verdict("P14", good) == "PASS"
    assert _verdict("P12", {"relaxation_gap": _gap_table(sharpness_max=1.0)}) == "FAIL"
    assert (
        _verdict("P12", {"relaxation_gap": _gap_table().drop(columns="sharpness_max")}) == "NOT-RUN"
    )
    bad = _gap_table()
    bad.loc[5, "mapped_rel_err"] = 1e-3
    assert _verdict("P14", {"relaxation_gap": bad}) == "FAIL"
    bad.loc[5, "status_relu"] = "inaccurate"
    res = CHECKS["P14"].fn({"relaxation_gap": bad})
    assert res.verdict == "PASS" and "1 row(s) status_relu not optimal" in res.explanation
    assert _verdict("P14", {}) == "NOT-RUN"


def test_p17_verdicts() -> None:
    assert _verdict("P17", {"relaxation_gap": _gap_table()}) == "PASS"
    steep = _gap_table(time_relu_s=lambda df: 1e-12 * (df["d"] * df["P_unique"]) ** 5)
    assert _verdict("P17", {"relaxation_gap": steep}) == "FAIL"
    # steep but over less than a decade of sizes: noisy sanity check, not a failure
    narrow = _gap_table(
        ns=(40, 48, 56, 64),
        time_relu_s=lambda df: (
            1e-15 * (df["d"] * df["P_unique"]) ** 5 * (1 + 0.2 * df["seed_index"])
        ),
    )
    assert _verdict("P17", {"relaxation_gap": narrow}) == "INCONCLUSIVE"
    assert _verdict("P17", {}) == "NOT-RUN"


def _stationary_table(
    loss: Callable[[float, int], float] = lambda n, k: 1.01 + 0.001 * k,
    gap: float = 1e-5,
    meets: bool = True,
) -> pd.DataFrame:
    rows = []
    for n in (8, 16, 32, 64):
        for s in range(3):
            for k in range(4):
                L = loss(n, k) * (1 + 0.002 * s)
                rows.append(
                    {
                        "c": 2.0,
                        "n": n,
                        "d": n / 2,
                        "seed_index": s,
                        "init": k,
                        "cache_key": f"{n}-{s}",
                        "point_status": "ok",
                        "method_used": "gd",
                        "loss": L,
                        "p_cvx_Dprime": L * (1 - gap),
                        "status_Dprime": "optimal",
                        "gap_Dprime_rel": gap,
                        "pstar_lower": 1.0,
                        "pstar_upper": 1.0,
                        "loss_over_pstar_lower": L,
                        "loss_over_pstar_upper": L,
                        "grad_norm": 1e-6,
                        "width": 32,
                        "n_inits": 4,
                        "beta_rel": 0.1,
                        "width_meets_rule": meets,
                        "frac_neuron_preserved": 0.5,
                    }
                )
    return pd.DataFrame(rows)


def test_p16_verdicts() -> None:
    res = CHECKS["P16"].fn({"stationary": _stationary_table()})
    assert res.verdict == "PASS" and res.details["fraction_at_stationary_point"] == 1.0
    assert _verdict("P16", {"stationary": _stationary_table(gap=-0.01)}) == "FAIL"
    growth = _stationary_table(loss=lambda n, k: math.sqrt(n) * (1 + 0.01 * k))
    assert _verdict("P16", {"stationary": growth}) == "FAIL"
    narrow = _stationary_table(loss=lambda n, k: math.sqrt(n) * (1 + 0.01 * k), meets=False)
    assert _verdict("P16", {"stationary": narrow}) == "INCONCLUSIVE"
    diverged = _stationary_table()
    diverged["loss"] = np.nan
    assert _verdict("P16", {"stationary": diverged}) == "NOT-RUN"
    assert _verdict("P16", {}) == "NOT-RUN"


def test_checks_registered() -> None:
    expected = {
        "P1": "relaxation_gap",
        "P2": "relaxation_gap",
        "P3": "relaxation_width",
        "P5": "relaxation_gap",
        "P6": "relaxation_gap",
        "P12": "relaxation_gap",
        "P14": "relaxation_gap",
        "P16": "stationary",
        "P17": "relaxation_gap",
    }
    for cid, exp in expected.items():
        c = CHECKS[cid]
        assert c.experiments == (exp,)
        assert c.title and c.claim and c.source and c.measured and c.predicted and c.rule


# --------------------------------------------------------------------------- plots
def test_plots_draw_the_tables_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Figures 1, 2, 8: the median curves are the tables' medians of the usable rows."""
    from figure_data import assert_curve, medians, saved_figures

    gap = _gap_table()
    gap = pd.concat([gap, gap.assign(P_mode="fixed", P_used=16)], ignore_index=True)
    gap.loc[0, "status_relu"] = "inaccurate"
    width = _width_table()
    width.loc[1, "status_relu"] = "max_iter"
    stationary = _stationary_table()
    with saved_figures(monkeypatch) as figs:
        for fn, table in ((plot_fig1, width), (plot_fig2, gap), (plot_fig8, stationary)):
            paths = fn(table, tmp_path)
            assert [p.suffix for p in paths] == [".pdf", ".png"]
            assert all(p.is_file() for p in paths)
    fig1, fig2, fig8 = figs
    # Figure 1: the objective of (3) against P per n; non-optimal solves are left out
    ok = width[width["status_relu"] == "optimal"]
    for _, rows in ok.groupby("n"):
        assert_curve(fig1, medians(rows, "P_sampled", "p_relu"))
    # Figure 2: R_cert against n, per P_mode; the inaccurate solve is left out
    ok = gap[gap["status_relu"] == "optimal"]
    for _, rows in ok.groupby("P_mode"):
        assert_curve(fig2, medians(rows, "n", "R_cert"))
    # Figure 8: L / pstar_lower against n per method
    for _, rows in stationary.groupby("method_used"):
        assert_curve(fig8, medians(rows, "n", "loss_over_pstar_lower"))


def test_plots_reject_bad_tables(tmp_path: Path) -> None:
    for fn in (plot_fig1, plot_fig2, plot_fig8):
        with pytest.raises(HarnessError, match="empty"):
            fn(pd.DataFrame(), tmp_path)
        with pytest.raises(HarnessError, match="lacks column"):
            fn(pd.DataFrame({"n": [1]}), tmp_path)
    with pytest.raises(HarnessError, match="optimal"):
        plot_fig1(_width_table(status="error").assign(status_gated="error"), tmp_path)
    with pytest.raises(HarnessError, match="diverged"):
        plot_fig8(_stationary_table().assign(loss=np.nan), tmp_path)


# --------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from harness.sweep import run_spec

    root = tmp_path_factory.mktemp("relaxation_results")
    for name in ("relaxation_width", "relaxation_gap", "stationary"):
        summary = run_spec(
            REPO / "experiments" / f"{name}.toml", scale="quick", results_dir=root, progress=False
        )
        assert summary.failed == 0, summary.format()
    return root


@pytest.mark.slow
def test_quick_specs_end_to_end(quick_results: Path, tmp_path: Path) -> None:
    from harness.figures import FIGURES, render_figure
    from harness.sweep import load_results

    tables = {
        name: load_results(name, "quick", quick_results)
        for name in ("relaxation_width", "relaxation_gap", "stationary")
    }
    for cid in ("P2", "P3", "P14"):
        res = CHECKS[cid].fn(tables)
        assert res.verdict == "PASS", f"{cid}: {res.explanation}"
    for cid in ("P1", "P5", "P6", "P12", "P16", "P17"):  # scientific outcomes: any verdict
        assert CHECKS[cid].fn(tables).verdict in ("PASS", "FAIL", "INCONCLUSIVE"), cid
    for fid in ("fig1", "fig2", "fig8"):
        paths = render_figure(FIGURES[fid], "quick", quick_results, tmp_path, REPO / "experiments")
        assert all(p.is_file() for p in paths)


# --------------------------------------------------------------------------- issue 14 items 2, 4
def test_relaxation_gap_at_the_rule_count_when_the_cap_is_a_memory_guard() -> None:
    """A cap above the rule leaves the theorem's count: P_used = P_rule, not capped."""
    point = {"n": 8, "d": 2, "P_cap": 10**6, "beta_rel": 0.1, "bracket_restarts": 0}
    df = pd.DataFrame(get_kind("relaxation_gap")(dict(point), _seed(3)))
    r = df.iloc[0]
    assert r["P_mode"] == "rule" and len(df) == 1  # no fixed P: only the rule row
    assert r["P_used"] == r["P_rule"] == chernoff_pattern_count(r["kappa"], 8, 0.1)
    assert not r["P_capped"] and r["P_cap_used"] == 10**6
    assert r["status_relu"] == "optimal" and r["pstar_lower"] <= r["p_relu"] * (1 + TOL)


def test_stationary_width_at_the_rule_of_thm_2_5() -> None:
    """``width_at_rule``: the width used is max(width, 2 P_rule), so the precondition holds."""
    point = {
        "n": 8,
        "d": 2,
        "width": 4,
        "width_at_rule": True,
        "n_inits": 1,
        "n_steps": 5,
        "beta_rel": 0.1,
        "bracket_restarts": 0,
    }
    df = pd.DataFrame(get_kind("stationary")(dict(point), _seed(4)))
    r = df.iloc[0]
    assert r["width_used"] == max(4, 2 * r["P_rule"]) and r["P_rule"] > 0
    assert bool(r["width_meets_rule"])
    fixed = pd.DataFrame(get_kind("stationary")({**point, "width_at_rule": False}, _seed(4)))
    assert fixed.iloc[0]["width_used"] == 4 and not fixed.iloc[0]["width_meets_rule"]
