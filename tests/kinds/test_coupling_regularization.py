"""Kinds ``coupling`` and ``regularization``, their plots and checks P15 / P18."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harness.errors import DataError, HarnessError, InputError
from harness.kinds import get_kind
from harness.kinds.coupling import ROW_COLUMNS as COUPLING_COLUMNS
from harness.kinds.coupling import log_record_steps
from harness.kinds.regularization import ROW_COLUMNS as REG_COLUMNS
from harness.kinds.regularization import beta_rel_path
from harness.plots.coupling import plot_coupling
from harness.plots.regularization import plot_regularization
from harness.predictions import load_checks
from harness.predictions.training import check_p15, check_p18

REPO = Path(__file__).resolve().parents[2]


def _seed(k: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(1234, spawn_key=(k,))


# --------------------------------------------------------------------------- coupling kind
def test_log_record_steps() -> None:
    steps = log_record_steps(1000, 16)
    assert steps[0] == 0 and steps[-1] == 1000
    assert steps == sorted(set(steps)) and len(steps) <= 16
    assert log_record_steps(0, 5) == [0]
    assert log_record_steps(3, 10) == [0, 1, 2, 3]


def test_coupling_rows_gaussian(any_seed: int) -> None:
    point = {"dataset": "gaussian", "n": 40, "d": 5, "width": 12, "lr": 0.02, "n_steps": 60}
    rows = get_kind("coupling")(dict(point), _seed(any_seed))
    df = pd.DataFrame(rows)
    assert set(COUPLING_COLUMNS) <= set(df.columns)
    assert not set(point) & set(df.columns), "rows must not repeat point parameters"
    trace, final = df[~df["final"]], df[df["final"]]
    assert len(final) == 1
    assert trace["step"].iloc[0] == 0 and trace["step"].is_monotonic_increasing
    np.testing.assert_allclose(trace[["frac_neuron", "frac_entry"]].iloc[0], [1.0, 1.0])
    for col in ("frac_neuron", "frac_entry"):
        assert ((df[col] >= 0) & (df[col] <= 1)).all()
    # an unchanged pattern has all its entries unchanged: frac_entry >= frac_neuron
    assert (df["frac_entry"] >= df["frac_neuron"] - 1e-12).all()
    fin = final.iloc[0]
    assert fin["status"] == "ok" and fin["step"] == fin["n_steps_taken"] == 60
    assert 0.0 <= fin["train_acc"] <= 1.0
    np.testing.assert_allclose(fin["step_size"], 0.02 / 40)
    np.testing.assert_allclose([fin["sigma_u"], fin["sigma_alpha"]], [5**-0.5, 12**-0.5])
    assert fin["beta"] == 1e-4 and fin["method"] == "gd"  # defaults are recorded
    # GD with a stable step decreases the loss
    assert fin["loss"] < trace["loss"].iloc[0]


def test_coupling_zero_motion_keeps_patterns() -> None:
    """A tiny step leaves every pattern unchanged (fractions stay exactly 1)."""
    point = {"dataset": "gaussian", "n": 30, "d": 4, "width": 6, "lr": 1e-12, "n_steps": 20}
    df = pd.DataFrame(get_kind("coupling")(point, _seed(7)))
    np.testing.assert_allclose(df["frac_neuron"], 1.0)
    np.testing.assert_allclose(df["frac_entry"], 1.0)


def test_coupling_divergence_is_reported() -> None:
    point = {"dataset": "gaussian", "n": 30, "d": 4, "width": 8, "lr": 1e9, "n_steps": 200}
    df = pd.DataFrame(get_kind("coupling")(point, _seed(3)))
    fin = df[df["final"]].iloc[0]
    assert fin["status"] == "diverged"
    assert math.isnan(fin["frac_neuron"]) and math.isnan(fin["frac_entry"])
    assert df[~df["final"]]["step"].iloc[0] == 0  # steps before divergence are kept


def test_coupling_mnist_point() -> None:
    point = {"dataset": "mnist", "n": 60, "d": 10, "width": 8, "lr": 0.01, "n_steps": 20}
    try:
        rows = get_kind("coupling")(point, _seed(1))
    except DataError as exc:  # pragma: no cover - data folder absent
        pytest.skip(f"MNIST data not available: {exc}")
    df = pd.DataFrame(rows)
    assert df["data_source"].iloc[0] == "mnist/pca/centred"
    assert ((df["frac_neuron"] >= 0) & (df["frac_neuron"] <= 1)).all()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"dataset": "cifar"}, "field 'dataset' must be one of"),
        ({"method": "sgd"}, "field 'method' must be one of"),
        ({"lr": -1.0}, "field 'lr' must be a float in"),
        ({"width": 0}, "field 'width' must be an int in"),
    ],
)
def test_coupling_bad_point(change: dict[str, Any], match: str) -> None:
    point = {"dataset": "gaussian", "n": 20, "d": 3, "width": 4, **change}
    with pytest.raises(InputError, match=match):
        get_kind("coupling")(point, _seed(0))


# --------------------------------------------------------------------------- regularization kind
def test_beta_rel_path() -> None:
    np.testing.assert_allclose(beta_rel_path({"beta_rel": 0.2}), [0.2])
    path = beta_rel_path({"beta_rel_min": 1e-3, "beta_rel_max": 0.1, "n_beta": 3})
    np.testing.assert_allclose(path, [0.1, 1e-2, 1e-3])
    with pytest.raises(InputError, match="beta_rel_min"):
        beta_rel_path({"beta_rel_min": 0.5, "beta_rel_max": 0.1})


def test_regularization_relu_rows_and_mapping() -> None:
    point = {"dataset": "planted", "n": 40, "d": 4, "P": 8, "n_test": 60, "n_beta": 3}
    rows = get_kind("regularization")(dict(point), _seed(2))
    df = pd.DataFrame(rows)
    assert len(df) == 3
    assert set(REG_COLUMNS) <= set(df.columns)
    assert not set(point) & set(df.columns)
    assert (df["status"] == "optimal").all()
    for col in ("train_acc", "test_acc", "test_acc_majority"):
        assert ((df[col] >= 0) & (df[col] <= 1)).all()
    assert (df["test_acc_majority"] >= 0.5).all()
    np.testing.assert_allclose(df["beta"], df["beta_rel"] * df["beta_max"], rtol=1e-12)
    # THEORY.md §A2: the mapped network reproduces the convex objective exactly
    np.testing.assert_allclose(df["mapped_objective"], df["objective"], rtol=1e-6)
    assert (df["mapped_rel_err"] < 1e-6).all()
    assert df["test_acc_gated_model"].isna().all()
    # more regularisation, fewer neurons carrying weight (weakly)
    assert df["n_neurons"].iloc[0] <= df["n_neurons"].iloc[-1]


def test_regularization_gated_mapping_upper_bounds() -> None:
    point = {
        "dataset": "planted",
        "n": 30,
        "d": 3,
        "P": 6,
        "n_test": 40,
        "beta_rel": 0.05,
        "formulation": "gated",
    }
    df = pd.DataFrame(get_kind("regularization")(point, _seed(4)))
    row = df.iloc[0]
    assert row["status"] == "optimal" and row["map_status"] == "optimal"
    assert "beta_rel" not in df.columns  # a point parameter: the sweep engine adds it
    np.testing.assert_allclose(row["beta"], 0.05 * row["beta_max"], rtol=1e-12)
    # mapping the gated solution onto the cones can only raise the objective (Prop 4.2)
    assert row["mapped_ratio"] >= 1.0 - 1e-6
    assert 0.0 <= row["test_acc_gated_model"] <= 1.0


def test_regularization_mnist_point() -> None:
    point = {"dataset": "mnist", "n": 40, "d": 5, "P": 6, "n_test": 50, "beta_rel": 0.05}
    try:
        rows = get_kind("regularization")(point, _seed(5))
    except DataError as exc:  # pragma: no cover - data folder absent
        pytest.skip(f"MNIST data not available: {exc}")
    row = rows[0]
    assert row["status"] == "optimal"
    assert 0.0 <= row["test_acc"] <= 1.0 and math.isnan(row["test_mse_teacher"])


def test_regularization_bad_point() -> None:
    with pytest.raises(InputError, match=r"field .formulation. must be one of"):
        get_kind("regularization")(
            {"dataset": "planted", "n": 10, "d": 2, "P": 3, "formulation": "full"}, _seed(0)
        )


# --------------------------------------------------------------------------- specs
@pytest.mark.parametrize("name", ["coupling", "regularization"])
def test_specs_load_and_expand(name: str) -> None:
    from harness.sweep import expand_grid, load_spec

    spec = load_spec(REPO / "experiments" / f"{name}.toml")
    assert spec.kind == name
    quick = expand_grid(spec, "quick")
    paper = expand_grid(spec, "paper")
    assert 0 < len(quick) <= 80 and len(paper) >= len(quick)
    assert {p.params["dataset"] for p in quick} == (
        {"gaussian", "mnist"} if name == "coupling" else {"planted", "mnist"}
    )


# --------------------------------------------------------------------------- synthetic tables
def _p15_table(
    frac: Any, datasets: tuple[str, ...] = ("gaussian", "mnist"), seeds: int = 6
) -> pd.DataFrame:
    """Final rows of a coupling table; ``frac(width, seed)`` gives frac_neuron."""
    rows = []
    for ds in datasets:
        for w in (16, 32, 64, 128):  # 4 widths spanning x8: the minimum scaling design
            for s in range(seeds):
                f = frac(w, s)
                rows.append(
                    {
                        "dataset": ds,
                        "width": w,
                        "lr": 0.01,
                        "method": "gd",
                        "seed_index": s,
                        "final": True,
                        "frac_neuron": f,
                        "frac_entry": 1.0 - (1.0 - f) / 20,
                        "status": "ok",
                        "point_status": "ok",
                    }
                )
    return pd.DataFrame(rows)


def _grows(w: int, s: int) -> float:
    return min(1.0, 0.7 + 0.05 * np.log2(w / 16) + 0.01 * s)


def test_p15_pass() -> None:
    res = check_p15({"coupling": _p15_table(_grows)})
    assert res.verdict == "PASS", res.explanation
    assert all(t["slope"] > 0 for t in res.details["parts"]["width trend"]["groups"])


def test_p15_fail_below_half() -> None:
    res = check_p15({"coupling": _p15_table(lambda w, s: 0.1 + 0.01 * s)})
    assert res.verdict == "FAIL"
    assert "whole CI below the level" in res.explanation


def test_p15_fail_decreasing_with_width() -> None:
    """Every run keeps >= 1/2, but the fraction drops with width: the trend part fails."""
    res = check_p15({"coupling": _p15_table(lambda w, s: 0.95 - 0.1 * np.log2(w / 16) / 2)})
    assert res.verdict == "FAIL"
    assert "fails [width trend]" in res.explanation


def test_p15_inconclusive_and_diverged_reported() -> None:
    res = check_p15({"coupling": _p15_table(_grows, datasets=("gaussian",))})
    assert res.verdict == "INCONCLUSIVE" and "mnist" in res.explanation
    table = _p15_table(_grows)
    table.loc[table["width"] == 16, ["status", "frac_neuron"]] = ["diverged", np.nan]
    res = check_p15({"coupling": table})
    assert res.verdict == "INCONCLUSIVE"
    assert "12 row(s) run diverged" in res.explanation


def test_p15_not_run() -> None:
    assert check_p15({}).verdict == "NOT-RUN"
    assert check_p15({"coupling": pd.DataFrame()}).verdict == "NOT-RUN"
    assert check_p15({"coupling": pd.DataFrame({"width": [1]})}).verdict == "NOT-RUN"


def _p18_table(acc: Any, status: str = "optimal", seeds: int = 6) -> pd.DataFrame:
    """``acc(k, seed)`` = test accuracy at the k-th beta (k = 0..4)."""
    rows = []
    betas = np.geomspace(1e-3, 1e-1, 5)
    for ds in ("planted", "mnist"):
        for P in (20, 50):
            for s in range(seeds):
                for k, b in enumerate(betas):
                    rows.append(
                        {
                            "dataset": ds,
                            "P": P,
                            "formulation": "relu",
                            "seed_index": s,
                            "beta_rel": b,
                            "status": status,
                            "test_acc": acc(k, s),
                            "test_mse": 0.1 + 0.01 * k,
                            "test_acc_majority": 0.55,
                            "n": 100,
                            "d": 10,
                            "n_test": 200,
                            "solver": "clarabel",
                        }
                    )
    return pd.DataFrame(rows)


def test_p18_pass_fail_inconclusive() -> None:
    res = check_p18({"regularization": _p18_table(lambda k, s: 0.85 - 0.015 * k + 0.001 * s)})
    assert res.verdict == "PASS", res.explanation
    spreads = [d["spread"] for d in res.details["parts"]["spread"]["groups"]]
    np.testing.assert_allclose(spreads, [0.06, 0.06], atol=1e-9)
    res = check_p18({"regularization": _p18_table(lambda k, s: 0.85 + 0.0002 * s)})
    assert res.verdict == "FAIL"
    # a 1% effect without noise: the whole interval is below "several percent"
    res = check_p18({"regularization": _p18_table(lambda k, s: 0.85 - 0.0025 * k)})
    assert res.verdict == "FAIL"
    # seed noise of 2% and no effect: a spread appears, but not beyond the noise
    rng = np.random.default_rng(3)
    noise = _p18_table(lambda k, s: 0.85 + 0.02 * rng.standard_normal(), seeds=3)
    assert check_p18({"regularization": noise}).verdict == "INCONCLUSIVE"


def test_p18_non_optimal_rows_are_reported_not_used() -> None:
    table = _p18_table(lambda k, s: 0.85 - 0.015 * k)
    bad = table.copy()
    bad["status"] = "max_iter"
    bad["test_acc"] = 0.1  # would create a huge spread if it were used
    res = check_p18({"regularization": pd.concat([table, bad], ignore_index=True)})
    # half the rows excluded (> 10 %): listed, PASS withheld, the spread from optimal rows only
    assert res.verdict == "INCONCLUSIVE"
    assert f"{len(bad)} row(s) status not optimal" in res.explanation
    groups = res.details["parts"]["spread"]["groups"]
    np.testing.assert_allclose(groups[0]["spread"], 0.06, atol=1e-9)


def test_p18_not_run() -> None:
    assert check_p18({}).verdict == "NOT-RUN"
    assert check_p18({"regularization": pd.DataFrame()}).verdict == "NOT-RUN"
    only_bad = _p18_table(lambda k, s: 0.8, status="max_iter")
    assert check_p18({"regularization": only_bad}).verdict == "NOT-RUN"


def test_checks_registered() -> None:
    checks = load_checks()
    assert checks["P15"].experiments == ("coupling",)
    assert checks["P18"].experiments == ("regularization",)


# --------------------------------------------------------------------------- plots
def _coupling_trace_table() -> pd.DataFrame:
    rows = []
    for ds in ("gaussian", "mnist"):
        for w in (8, 32):
            for lr in (0.01, 0.05):
                for s in range(2):
                    for t in (0, 1, 10, 100):
                        f = 1.0 if t == 0 else max(0.0, 1.0 - lr * t / (w / 8))
                        rows.append(
                            {
                                "dataset": ds,
                                "width": w,
                                "lr": lr,
                                "method": "gd",
                                "n": 50,
                                "d": 5,
                                "beta": 1e-4,
                                "n_steps": 100,
                                "seed_index": s,
                                "step": t,
                                "final": False,
                                "frac_neuron": f,
                                "frac_entry": 1.0 - (1.0 - f) / 10,
                                "status": "ok",
                            }
                        )
                    rows.append({**rows[-1], "final": True})
    return pd.DataFrame(rows)


def test_plot_coupling_draws_the_tables_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every median curve is the trace's median over seeds per step (final rows excluded)."""
    from figure_data import assert_curve, medians, saved_figures

    table = _coupling_trace_table()
    with saved_figures(monkeypatch) as figs:
        paths = plot_coupling(table, tmp_path)
    assert [p.suffix for p in paths] == [".pdf", ".png"] and all(p.is_file() for p in paths)
    trace = table[~table["final"]]
    for _, rows in trace.groupby(["dataset", "width", "lr"]):
        for col in ("frac_neuron", "frac_entry"):
            assert_curve(figs[0], medians(rows, "step", col))


def test_plot_coupling_draws_one_column_per_n(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With several n, each (dataset, n) gets its own panels: curves are not pooled over n."""
    from figure_data import assert_curve, medians, saved_figures

    base = _coupling_trace_table()
    other = base.assign(n=100, frac_neuron=base["frac_neuron"] * 0.5)
    table = pd.concat([base, other], ignore_index=True)
    with saved_figures(monkeypatch) as figs:
        plot_coupling(table, tmp_path)
    titles = [ax.get_title() for ax in figs[0].axes if ax.get_title()]
    assert len(titles) == 2 * table["dataset"].nunique()
    assert any("n=50" in t for t in titles) and any("n=100" in t for t in titles)
    trace = table[~table["final"]]
    for _, rows in trace.groupby(["dataset", "n", "width", "lr"]):
        assert_curve(figs[0], medians(rows, "step", "frac_neuron"))


def test_plot_regularization_draws_the_tables_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Accuracy and MSE curves are the medians over seeds of the optimal solves only."""
    from figure_data import assert_curve, medians, saved_figures

    table = _p18_table(lambda k, s: 0.85 - 0.015 * k + 0.002 * s)
    table.loc[0, "status"] = "max_iter"
    table.loc[0, "test_acc"] = 0.0  # a non-optimal solve must not move the curve
    with saved_figures(monkeypatch) as figs:
        paths = plot_regularization(table, tmp_path)
    assert all(p.is_file() for p in paths)
    good = table[table["status"] == "optimal"]
    for _, rows in good.groupby(["dataset", "P"]):
        for col in ("test_acc", "test_mse"):
            assert_curve(figs[0], medians(rows, "beta_rel", col))


def test_plots_reject_bad_tables(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="empty"):
        plot_coupling(pd.DataFrame(), tmp_path)
    with pytest.raises(HarnessError, match="lacks column"):
        plot_coupling(pd.DataFrame({"dataset": ["gaussian"]}), tmp_path)
    with pytest.raises(HarnessError, match="empty"):
        plot_regularization(pd.DataFrame(), tmp_path)
    with pytest.raises(HarnessError, match="optimal"):
        plot_regularization(_p18_table(lambda k, s: 0.8, status="error"), tmp_path)


def test_p15_single_width_is_not_a_pass() -> None:
    """With one width the width-trend half of the claim is untested: never PASS."""
    table = _p15_table(_grows)
    res = check_p15({"coupling": table[table["width"] == 128]})
    assert res.verdict == "INCONCLUSIVE"
    assert "width trend: no group" in res.explanation


# --------------------------------------------------------------------------- issue 14 item 5
def test_coupling_lr_scaled_as_one_over_width(any_seed: int) -> None:
    """``lr_width_ref = m0``: the GD step on (1) is ``lr * m0 / m / n`` (recorded)."""
    base = {"dataset": "gaussian", "n": 30, "d": 4, "lr": 0.02, "n_steps": 5}
    steps = {}
    for m in (8, 32):
        rows = get_kind("coupling")({**base, "width": m, "lr_width_ref": 16}, _seed(any_seed))
        fin = pd.DataFrame(rows).query("final").iloc[0]
        assert fin["lr_scaling"] == "1/m"
        np.testing.assert_allclose(fin["lr_effective"], 0.02 * 16 / m)
        steps[m] = fin["step_size"]
    np.testing.assert_allclose([steps[8], steps[32]], [0.02 * 2 / 30, 0.02 / 2 / 30])
    fin = pd.DataFrame(get_kind("coupling")({**base, "width": 8}, _seed(any_seed))).iloc[-1]
    assert fin["lr_scaling"] == "constant" and fin["lr_effective"] == 0.02


def test_coupling_lemma_coverage_recorded() -> None:
    """``lemma_width_over_n = 1``: widths below n are marked as outside the lemma's regime."""
    base = {"dataset": "gaussian", "n": 20, "d": 3, "n_steps": 3, "lemma_width_over_n": 1.0}
    for m, covered in ((8, False), (20, True)):
        fin = pd.DataFrame(get_kind("coupling")({**base, "width": m}, _seed(0))).iloc[-1]
        assert fin["lemma_min_width"] == 20 and bool(fin["lemma_covered"]) == covered


def _covered(table: pd.DataFrame, min_width: int) -> pd.DataFrame:
    return table.assign(lemma_covered=table["width"] >= min_width)


def _narrow_fail_wide_pass(w: int, s: int) -> float:
    """Below 1/2 at m <= 32, above it at m >= 64, growing with m."""
    return 0.2 + 0.01 * s if w <= 32 else 0.9 + 0.01 * s


def test_p15_decided_on_the_widths_the_lemma_covers() -> None:
    table = _p15_table(_narrow_fail_wide_pass, seeds=12)
    # without the column every width counts: narrow widths fail (A2)
    assert check_p15({"coupling": table}).verdict == "FAIL"
    # narrow widths outside the lemma's regime: listed as out of scope, not held against it
    res = check_p15({"coupling": _covered(table, 64)})
    assert res.verdict == "PASS", res.explanation
    assert "outside scope: width below the lemma's regime" in res.explanation
    assert res.details["crossing_width"] == {
        "dataset=gaussian, method=gd, lr=0.01": "m = 64",
        "dataset=mnist, method=gd, lr=0.01": "m = 64",
    }
    # a covered width that fails (A2) still fails the claim
    assert check_p15({"coupling": _covered(table, 32)}).verdict == "FAIL"


def test_p15_crossing_not_reached_and_no_covered_width() -> None:
    table = _p15_table(lambda w, s: 0.1 + 0.002 * w + 0.001 * s)
    res = check_p15({"coupling": _covered(table, 1024)})  # no width in the lemma's regime
    assert res.verdict == "INCONCLUSIVE", res.explanation
    assert set(res.details["crossing_width"].values()) == {"not reached up to m = 128"}
