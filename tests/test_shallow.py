"""Tests of the Ergen & Pilanci (2019) reproduction (THEORY.md Part C): methods, kinds,
specs, plots and checks S1-S3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harness.errors import HarnessError, InputError
from harness.instances import make_rng
from harness.kinds import get_kind
from harness.kinds.shallow import ROW_COLUMNS, log_iterations
from harness.plots.shallow import plot_shallow_fig1, plot_shallow_fig2
from harness.predictions import load_checks
from harness.shallow import (
    gd_step,
    modified_gradient,
    multi_gradient,
    multi_objective,
    planted_problem,
    relaxed_gradient,
    relaxed_objective,
    relu,
    rgd_step,
    run_multi_neuron,
    run_single_neuron,
    single_gradient,
    single_objective,
    surrogate_objective,
    train,
)
from harness.sweep.grid import expand_grid
from harness.sweep.spec import load_spec

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def _fd_grad(fun: Any, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central finite-difference gradient of ``fun`` at ``x`` (any shape)."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        g[idx] = (fun(x + e) - fun(x - e)) / (2 * h)
    return g


# --------------------------------------------------------------------------- Part C maths
def _midpoint_violations(fun: Any, d: int, rng: np.random.Generator, trials: int) -> float:
    """Largest ``fun(t u + (1-t) v) - (t fun(u) + (1-t) fun(v))`` over random segments."""
    worst = -np.inf
    for _ in range(trials):
        u, v = 3 * rng.standard_normal(d), 3 * rng.standard_normal(d)
        t = rng.uniform()
        gap = fun(t * u + (1 - t) * v) - (t * fun(u) + (1 - t) * fun(v))
        worst = max(worst, gap / (1.0 + abs(fun(u)) + abs(fun(v))))
    return float(worst)


def test_relaxation_convex_along_segments(any_seed: int) -> None:
    """Prop. 1: f_r (3) is convex under (4); the same test finds f (1) non-convex."""
    rng = make_rng(any_seed)
    p = planted_problem(6, 4, 1, rng)
    worst_r = _midpoint_violations(lambda x: relaxed_objective(p.A, p.y, x), 4, rng, 400)
    assert worst_r <= 1e-12
    # the detector is not blind: f is non-convex on a segment through the kink
    A = np.array([[1.0]])
    y = np.array([1.0])
    f = lambda x: single_objective(A, y, x)  # noqa: E731
    mid = f(np.array([0.0]))
    assert mid > 0.5 * (f(np.array([-1.0])) + f(np.array([1.0]))) + 0.1


def test_relaxation_upper_bound_and_equal_at_planted(any_seed: int) -> None:
    """Thm 1: f_r(x) >= ||g(Ax) - y||^2 >= f(x) everywhere and f_r(x*) = f(x*) = 0."""
    rng = make_rng(any_seed)
    p = planted_problem(12, 5, 1, rng)
    xs = 2 * rng.standard_normal((200, 5))
    fr = np.array([relaxed_objective(p.A, p.y, x) for x in xs])
    f = np.array([single_objective(p.A, p.y, x) for x in xs])
    assert np.all(fr >= 2 * f - 1e-10)
    assert np.all(2 * f >= f)
    x_star = p.X_star[:, 0]
    np.testing.assert_allclose(relaxed_objective(p.A, p.y, x_star), 0.0, atol=1e-10)
    np.testing.assert_allclose(single_objective(p.A, p.y, x_star), 0.0, atol=1e-12)


def test_single_gradients_match_finite_differences(any_seed: int) -> None:
    rng = make_rng(any_seed)
    p = planted_problem(9, 4, 1, rng)
    x = rng.standard_normal(4)
    np.testing.assert_allclose(
        single_gradient(p.A, p.y, x),
        _fd_grad(lambda z: single_objective(p.A, p.y, z), x),
        rtol=1e-5,
        atol=1e-7,
    )
    np.testing.assert_allclose(
        relaxed_gradient(p.A, p.y, x),
        _fd_grad(lambda z: relaxed_objective(p.A, p.y, z), x),
        rtol=1e-5,
        atol=1e-7,
    )
    np.testing.assert_allclose(gd_step(p.A, p.y, x, 0.1), x - 0.1 * single_gradient(p.A, p.y, x))
    np.testing.assert_allclose(rgd_step(p.A, p.y, x, 0.1), x - 0.05 * relaxed_gradient(p.A, p.y, x))


def test_multi_gradients_match_finite_differences(any_seed: int) -> None:
    """(11) is twice the gradient of (9); (13) is the gradient of the surrogate (14)."""
    rng = make_rng(any_seed)
    p = planted_problem(7, 5, 3, rng)
    X = rng.standard_normal((5, 3))
    np.testing.assert_allclose(
        multi_gradient(p.A, p.y, X),
        2 * _fd_grad(lambda Z: multi_objective(p.A, p.y, Z), X),
        rtol=1e-5,
        atol=1e-7,
    )
    np.testing.assert_allclose(
        modified_gradient(p.A, p.y, X),
        _fd_grad(lambda Z: surrogate_objective(p.A, p.y, Z), X),
        rtol=1e-5,
        atol=1e-7,
    )


def test_train_steps_are_the_paper_updates() -> None:
    """One iteration of ``train`` is (2), (5), GD with (11) and (17) respectively."""
    rng = make_rng(4)
    p1 = planted_problem(8, 5, 1, rng)
    x0 = rng.standard_normal((5, 1))
    for method, step in (("gd", gd_step), ("rgd", rgd_step)):
        run = train(p1, x0, method=method, mu=0.1, n_iter=1)
        np.testing.assert_allclose(run.X[:, 0], step(p1.A, p1.y, x0[:, 0], 0.1), rtol=1e-12)
    p3 = planted_problem(8, 5, 3, rng)
    X0 = rng.standard_normal((5, 3))
    for method, grad in (("gd", multi_gradient), ("modified", modified_gradient)):
        run = train(p3, X0, method=method, mu=0.08, n_iter=1)
        np.testing.assert_allclose(run.X, X0 - 0.08 * grad(p3.A, p3.y, X0), rtol=1e-12)
        np.testing.assert_allclose(
            run.train_error[1], 2 * multi_objective(p3.A, p3.y, run.X) / (p3.y @ p3.y)
        )


def test_surrogate_bounds_and_planted_value(any_seed: int) -> None:
    """Thm 2: f_mp(X) >= ||r||^2 >= f_m(X) and f_mp(X*) = f_m(X*) = 0."""
    rng = make_rng(any_seed)
    p = planted_problem(10, 4, 3, rng)
    for _ in range(100):
        X = 2 * rng.standard_normal((4, 3))
        r = relu(p.A @ X).sum(axis=1) - p.y
        assert surrogate_objective(p.A, p.y, X) >= r @ r - 1e-10
    np.testing.assert_allclose(surrogate_objective(p.A, p.y, p.X_star), 0.0, atol=1e-10)
    np.testing.assert_allclose(multi_objective(p.A, p.y, p.X_star), 0.0, atol=1e-12)


def test_rgd_reaches_zero_training_error_for_n_below_d(any_seed: int) -> None:
    run = run_single_neuron(5, 10, make_rng(any_seed), method="rgd", mu=0.1, n_iter=3000)
    assert run.status == "ok"
    assert run.final_train_error <= 1e-8
    assert run.iters_to_tol is not None and run.iters_to_tol <= 3000
    assert run.train_error.shape == (3001,)
    # paired GD run from the same generator state sees the same data and x_0
    gd = run_single_neuron(5, 10, make_rng(any_seed), method="gd", mu=0.1, n_iter=0)
    np.testing.assert_allclose(gd.train_error[0], run.train_error[0])


def test_modified_update_reaches_zero_training_error_small_n() -> None:
    run = run_multi_neuron(4, 10, 3, make_rng(3), method="modified", mu=0.08, n_iter=2000)
    assert run.status == "ok" and run.final_train_error <= 1e-8
    assert np.isnan(run.recovery_error).all()


def test_data_scale_equivalent_to_step_over_d() -> None:
    """Rows / sqrt(d) with step mu equals unscaled rows with step mu / d (module docstring)."""
    d = 8
    scaled = run_single_neuron(6, d, make_rng(5), method="rgd", mu=0.1, n_iter=200)
    plain = run_single_neuron(
        6, d, make_rng(5), method="rgd", mu=0.1 / d, n_iter=200, data_scale="none"
    )
    np.testing.assert_allclose(scaled.train_error, plain.train_error, rtol=1e-8, atol=1e-30)
    np.testing.assert_allclose(scaled.recovery_error, plain.recovery_error, rtol=1e-8)


def test_early_stop_at_round_off_fixed_point() -> None:
    """stop_rtol ends a run at a fixed point; the curve then repeats the stopping values."""
    full = run_single_neuron(5, 10, make_rng(2), method="gd", mu=0.1, n_iter=4000)
    early = run_single_neuron(5, 10, make_rng(2), method="gd", mu=0.1, n_iter=4000, stop_rtol=1e-13)
    assert early.stop_iter is not None and early.stop_iter < 4000
    k = early.stop_iter
    np.testing.assert_allclose(early.train_error[: k + 1], full.train_error[: k + 1])
    assert np.all(early.train_error[k:] == early.train_error[k])
    np.testing.assert_allclose(early.final_train_error, full.final_train_error, rtol=1e-6)
    np.testing.assert_allclose(early.final_recovery_error, full.final_recovery_error, rtol=1e-9)
    assert full.stop_iter is None


def test_divergence_is_reported() -> None:
    run = run_single_neuron(
        100, 50, make_rng(0), method="gd", mu=0.1, n_iter=500, data_scale="none"
    )
    assert run.status == "diverged"
    assert np.isnan(run.train_error[-1])


def test_invalid_inputs_raise() -> None:
    with pytest.raises(InputError, match="'method' must be one of"):
        run_single_neuron(5, 3, make_rng(0), method="adam")
    with pytest.raises(InputError, match="'data_scale' must be one of"):
        run_single_neuron(5, 3, make_rng(0), data_scale="unit")
    with pytest.raises(InputError, match="'mu' must be a finite number > 0"):
        run_multi_neuron(5, 3, 2, make_rng(0), mu=-1.0)
    p = planted_problem(5, 3, 2, make_rng(0))
    with pytest.raises(InputError, match="X0 must have shape"):
        train(p, np.zeros((3, 1)), method="gd", mu=0.1, n_iter=1)


# --------------------------------------------------------------------------- kinds and specs
def test_log_iterations() -> None:
    its = log_iterations(1000, 10)
    assert its[0] == 0 and its[-1] == 1000 and np.all(np.diff(its) > 0)
    assert list(log_iterations(0, 10)) == [0]


@pytest.mark.parametrize(
    ("kind", "point", "methods"),
    [
        ("shallow_single", {"n": 5, "d": 4, "n_iter": 50, "n_log": 5}, {"gd", "rgd"}),
        ("shallow_multi", {"n": 6, "d": 4, "m": 2, "n_iter": 50}, {"gd", "modified"}),
    ],
)
def test_kinds_return_documented_rows(kind: str, point: dict[str, Any], methods: set[str]) -> None:
    rows = get_kind(kind)(dict(point), np.random.SeedSequence(7))
    df = pd.DataFrame(rows)
    assert set(ROW_COLUMNS) <= set(df.columns)
    assert not set(point) & set(df.columns)  # point parameters are added by the engine
    assert set(df["method"]) == methods
    final = df[df["is_final"]]
    assert len(final) == len(methods) and set(final["iter"]) == {50}
    assert (df["status"] == "ok").all()
    for _, grp in df.groupby("method"):
        np.testing.assert_allclose(grp["final_train_error"], grp["train_error"].iloc[-1])
    # both methods start from the same data and initial point
    start = df[df["iter"] == 0]
    np.testing.assert_allclose(start["train_error"].to_numpy(), start["train_error"].iloc[0])
    again = pd.DataFrame(get_kind(kind)(dict(point), np.random.SeedSequence(7)))
    pd.testing.assert_frame_equal(df, again)


def test_kind_rejects_unknown_method() -> None:
    with pytest.raises(InputError, match="'methods' must be one of"):
        get_kind("shallow_single")(
            {"n": 4, "d": 3, "methods": "modified"}, np.random.SeedSequence(1)
        )


@pytest.mark.parametrize("name", ["shallow_single", "shallow_multi"])
def test_specs_load_and_quick_is_small(name: str) -> None:
    spec = load_spec(EXPERIMENTS / f"{name}.toml")
    assert spec.kind == name
    quick = expand_grid(spec, "quick")
    paper = expand_grid(spec, "paper")
    assert len(quick) <= 30
    assert all(p.params["d"] <= 10 for p in quick)
    assert all(p.params["d"] == 50 for p in paper)
    seeds = {p.seed_index for p in paper}
    assert len(seeds) >= 20
    ns = sorted({p.params["n"] for p in paper})
    assert min(ns) < 50 and max(ns) > 50


# --------------------------------------------------------------------------- plots
def _synthetic_curves() -> pd.DataFrame:
    rng = make_rng(0)
    rows = []
    for n in (5, 40):
        for seed in range(4):
            for method in ("gd", "rgd"):
                for t in (0, 1, 10, 100):
                    err = 10.0 ** (-t / (20 if method == "rgd" else 50)) * rng.uniform(0.5, 2)
                    rows.append(
                        {
                            "n": n,
                            "d": 10,
                            "mu": 0.1,
                            "data_scale": "sqrt_d",
                            "seed_index": seed,
                            "point_key": f"{n}-{seed}",
                            "method": method,
                            "iter": t,
                            "is_final": t == 100,
                            "train_error": err,
                            "test_error": 2 * err,
                            "recovery_error": np.sqrt(err),
                            "final_train_error": err,
                            "final_test_error": 2 * err,
                            "status": "ok",
                            "point_status": "ok",
                        }
                    )
    return pd.DataFrame(rows)


def test_plots_draw_the_tables_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both figures: every median curve is the table's median per iteration / per n."""
    from figure_data import assert_curve, medians, saved_figures

    df = _synthetic_curves()
    multi = df.assign(method=df["method"].replace({"rgd": "modified"}), m=3)
    with saved_figures(monkeypatch) as figs:
        paths = plot_shallow_fig1(df, tmp_path / "f1")
        paths += plot_shallow_fig2(multi, tmp_path / "f2")
    assert {p.suffix for p in paths} == {".pdf", ".png"} and len(paths) == 4
    assert all(p.is_file() for p in paths)
    fig1, fig2 = figs
    logged = df[df["iter"] >= 1]  # Fig. 1 has a log iteration axis
    for _, rows in logged.groupby(["n", "method"]):
        for col in ("train_error", "test_error", "recovery_error"):
            assert_curve(fig1, medians(rows, "iter", col))
    final = multi[multi["is_final"]]
    for _, rows in final.groupby("method"):
        for col in ("final_train_error", "final_test_error"):
            assert_curve(fig2, medians(rows, "n", col))


def test_plots_reject_bad_tables(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="empty"):
        plot_shallow_fig1(pd.DataFrame(), tmp_path)
    with pytest.raises(HarnessError, match=r"lacks columns \['recovery_error'\]"):
        plot_shallow_fig1(_synthetic_curves().drop(columns="recovery_error"), tmp_path)
    with pytest.raises(HarnessError, match="empty"):
        plot_shallow_fig2(pd.DataFrame(), tmp_path)
    with pytest.raises(HarnessError, match="lacks columns"):
        plot_shallow_fig2(_synthetic_curves().drop(columns="final_test_error"), tmp_path)


# --------------------------------------------------------------------------- checks
def _final_table(runs: list[dict[str, Any]]) -> pd.DataFrame:
    base = {
        "d": 10,
        "is_final": True,
        "converged": True,
        "status": "ok",
        "point_status": "ok",
        "final_recovery_error": 1.0,
        "iters_to_tol": np.nan,
        "final_test_error": 0.5,
    }
    rows = []
    for r in runs:
        row = {**base, **r}
        row["point_key"] = f"{row['n']}-{row['seed_index']}"
        rows.append(row)
    return pd.DataFrame(rows)


def _single(n: int, seeds: int, rgd: dict[str, Any], gd: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for s in range(seeds):
        out.append({"n": n, "seed_index": s, "method": "rgd", **rgd})
        out.append({"n": n, "seed_index": s, "method": "gd", **gd})
    return out


CHECKS = load_checks()


def test_checks_registered() -> None:
    for cid in ("S1", "S2", "S3"):
        assert CHECKS[cid].experiments[0] in ("shallow_single", "shallow_multi")


@pytest.mark.parametrize("cid", ["S1", "S2", "S3"])
def test_checks_not_run_on_empty(cid: str) -> None:
    assert CHECKS[cid].fn({}).verdict == "NOT-RUN"
    name = CHECKS[cid].experiments[0]
    assert CHECKS[cid].fn({name: pd.DataFrame()}).verdict == "NOT-RUN"


def test_s1_pass_fail_inconclusive() -> None:
    s1 = CHECKS["S1"].fn
    good = _final_table(
        _single(5, 4, {"final_train_error": 1e-30}, {"final_train_error": 0.2})
        + _single(10, 4, {"final_train_error": 1e-25}, {"final_train_error": 1e-31})
    )
    res = s1({"shallow_single": good})
    assert res.verdict == "PASS"
    assert res.details["gd_not_reached"] == 4 and res.details["gd_fraction_not_reached"] == 0.5
    stuck = good.copy()
    stuck.loc[(stuck["method"] == "rgd") & (stuck["seed_index"] == 0), "final_train_error"] = 1e-3
    assert s1({"shallow_single": stuck}).verdict == "FAIL"
    moving = stuck.copy()
    moving["converged"] = moving["final_train_error"] <= 1e-8
    assert s1({"shallow_single": moving}).verdict == "INCONCLUSIVE"
    # a failed point is listed, never dropped silently, and withholds a PASS
    failed = pd.concat(
        [good, pd.DataFrame([{"n": 5, "d": 10, "point_status": "failed", "point_key": "x"}])]
    )
    res = s1({"shallow_single": failed})
    assert res.verdict == "INCONCLUSIVE" and len(res.details["failed"]) == 1
    assert "1 row(s) failed point" in res.explanation
    diverged = good.copy()
    diverged.loc[0, "status"] = "diverged"
    assert s1({"shallow_single": diverged}).verdict == "FAIL"


def test_s2_pass_fail() -> None:
    s2 = CHECKS["S2"].fn
    ok = {"final_recovery_error": 1e-12, "final_train_error": 1e-30}
    good = _final_table(
        _single(40, 5, {**ok, "iters_to_tol": 100.0}, {**ok, "iters_to_tol": 150.0})
    )
    assert s2({"shallow_single": good}).verdict == "PASS"
    slow = _final_table(
        _single(40, 5, {**ok, "iters_to_tol": 200.0}, {**ok, "iters_to_tol": 150.0})
    )
    res = s2({"shallow_single": slow})
    assert res.verdict == "FAIL" and "significantly slower" in res.explanation
    # slower in 2 of 4 seeds, faster in 2: not significant either way
    mixed = good.copy()
    mixed.loc[(mixed["method"] == "rgd") & (mixed["seed_index"] < 2), "iters_to_tol"] = 300.0
    mixed = mixed[mixed["seed_index"] < 4]
    assert s2({"shallow_single": mixed}).verdict == "INCONCLUSIVE"
    bad = good.copy()
    bad.loc[bad["method"] == "gd", "final_recovery_error"] = 3.0
    res = s2({"shallow_single": bad})
    assert res.verdict == "FAIL" and "gd recovered x* in only 0/5" in res.explanation
    bad["converged"] = bad["method"] == "rgd"
    assert s2({"shallow_single": bad}).verdict == "INCONCLUSIVE"
    only_small = _final_table(_single(5, 3, ok, ok))
    assert s2({"shallow_single": only_small}).verdict == "NOT-RUN"


def _multi(n: int, seeds: int, mod: dict[str, Any], gd: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for s in range(seeds):
        out.append({"n": n, "seed_index": s, "method": "modified", **mod})
        out.append({"n": n, "seed_index": s, "method": "gd", **gd})
    return out


def test_s3_pass_fail_inconclusive() -> None:
    s3 = CHECKS["S3"].fn
    runs = []
    for n, gap in ((5, 1e-1), (10, 1e-2), (20, 1e-3), (40, 0.0)):
        runs += _multi(n, 3, {"final_train_error": 1e-30}, {"final_train_error": gap + 1e-30})
    good = _final_table(runs)
    res = s3({"shallow_multi": good})
    assert res.verdict == "PASS"
    assert res.details["gap_spearman_rho"] < 0 and "shrinks" in res.measured
    bad = good.copy()
    bad.loc[(bad["method"] == "modified") & (bad["n"] == 5), "final_train_error"] = 1e-3
    assert s3({"shallow_multi": bad}).verdict == "FAIL"
    not_conv = bad.copy()
    not_conv["converged"] = False
    assert s3({"shallow_multi": not_conv}).verdict == "INCONCLUSIVE"
