"""Kinds, specs, figures, Table 1 and bad inputs of the Ergen & Pilanci 2021 reproduction
(THEORY.md Part B), on tiny settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.cli.app import main as harness_main
from harness.cli.deep import preflight
from harness.errors import InputError, SpecError
from harness.kinds import get_kind
from harness.plots.deep import plot_deep_fig4, plot_deep_fmnist
from harness.sweep.spec import load_spec, parse_spec

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
needs_data = pytest.mark.skipif(not (DATA / "uci").is_dir(), reason="shared data absent")

TINY_SYNTH = {
    "n": 8,
    "d": 2,
    "K_list": "1,3",
    "n_inits": 2,
    "epochs": 30,
    "P1": 8,
    "P2": 2,
}


def _as_table(rows: list[dict], **params) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for k, v in params.items():
        df[k] = v
    df["point_status"] = "ok"
    df["seed_index"] = 0
    df["cache_key"] = "k0"
    return df


def test_deep_synthetic_point_and_fig4(tmp_path: Path) -> None:
    rows = get_kind("deep_synthetic")(
        {**TINY_SYNTH, "arrangement": "sampled"}, np.random.SeedSequence(1)
    )
    df = _as_table(rows, arrangement="sampled", n=8, d=2, m1=2)
    conv = df[df["record"] == "convex"]
    assert len(conv) == 1 and conv["solve_status"].iloc[0] == "optimal"
    assert conv["mapping_rel_err"].iloc[0] <= 1e-6
    runs = df[df["record"] == "run"]
    assert sorted(runs["K"].unique()) == [1, 3] and len(runs) == 4
    assert {"covered", "final_objective", "time_s"} <= set(runs.columns)
    paths = plot_deep_fig4(df, tmp_path)
    assert all(p.is_file() for p in paths)


def test_deep_synthetic_is_reproducible() -> None:
    kind = get_kind("deep_synthetic")
    point = {**TINY_SYNTH, "arrangement": "sampled"}
    a = pd.DataFrame(kind(point, np.random.SeedSequence(3)))
    b = pd.DataFrame(kind(point, np.random.SeedSequence(3)))
    cols = ["p13", "final_objective", "objective"]
    pd.testing.assert_frame_equal(a[cols], b[cols])


@needs_data
def test_deep_uci_point() -> None:
    rows = get_kind("deep_uci")(
        {
            "dataset": "balloons",
            "fold": 0,
            "n_inits": 2,
            "epochs": 10,
            "P1": 5,
            "P2": 2,
            "lr_list": "0.001,0.01",
        },
        np.random.SeedSequence(2),
    )
    df = pd.DataFrame(rows)
    assert (df["record"] == "convex").sum() == 1
    best = df[df.get("is_best", False) == True]  # noqa: E712
    assert len(best) == 1 and best["lr_chosen"].iloc[0]
    assert np.isfinite(best["test_error"].iloc[0])
    assert df["n_train"].iloc[0] + df["n_test"].iloc[0] == 16


@needs_data
def test_deep_fmnist_point_and_figure(tmp_path: Path) -> None:
    rows = get_kind("deep_fmnist")(
        {"n_train": 80, "n_test": 40, "d": 5, "epochs": 2, "P1": 4, "P2": 2, "batch_size": 40},
        np.random.SeedSequence(4),
    )
    df = _as_table(rows)
    runs = df[df["record"] == "run"]
    assert set(runs["method"]) == {"convex16_adam", "nonconvex_sgd", "nonconvex_adam"}
    conv = runs[runs["method"] == "convex16_adam"].iloc[0]
    assert np.isfinite(conv["mapped_objective"]) and conv["max_cone_violation"] >= 0
    tr = df[df["record"] == "trace"]
    assert tr["test_accuracy"].between(0, 1).all()
    assert all(p.is_file() for p in plot_deep_fmnist(df, tmp_path))


@pytest.mark.parametrize("field", ["m1", "P1", "P2", "n_inits"])
def test_spec_refuses_nonpositive_sizes(field: str) -> None:
    data = {
        "name": "bad",
        "kind": "deep_synthetic",
        "seed": 1,
        "grid": {"n": 10, "d": 2, field: 0},
    }
    with pytest.raises(SpecError, match=field):
        parse_spec(data)
    uci = {"name": "bad", "kind": "deep_uci", "seed": 1, "grid": {"dataset": "balloons", "K": 0}}
    with pytest.raises(SpecError, match="K"):
        parse_spec(uci)


def test_too_large_program_is_refused_before_running(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"would need about .* GB"):
        get_kind("deep_synthetic")(
            {"n": 5000, "d": 200, "P1": 5000, "P2": 50, "m1": 4}, np.random.SeedSequence(0)
        )
    spec = tmp_path / "deep_synthetic.toml"
    spec.write_text(
        'name = "deep_synthetic"\nkind = "deep_synthetic"\nseed = 1\n'
        "[grid]\nn = 20000\nd = 100\nP1 = 2000\nP2 = 40\nmax_memory_gb = 1.0\n"
    )
    with pytest.raises(InputError, match="would need about"):
        preflight(["deep_synthetic"], "quick", str(tmp_path))


def test_fig_deep_refuses_oversized_program_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stand_in_data: None
) -> None:
    """``harness fig-deep``: an oversized (13) is one ``error:`` line (exit 2), nothing run."""
    shutil.copy(REPO / "experiments" / "deep_fmnist.toml", tmp_path / "deep_fmnist.toml")
    (tmp_path / "deep_synthetic.toml").write_text(
        'name = "deep_synthetic"\nkind = "deep_synthetic"\nseed = 1\n'
        "[grid]\nn = 20000\nd = 100\nP1 = 2000\nP2 = 40\nmax_memory_gb = 1.0\n"
    )
    results, figures = tmp_path / "results", tmp_path / "figures"
    argv = ["fig-deep", "--experiments-dir", str(tmp_path), "--results-dir", str(results)]
    code = harness_main([*argv, "--figures-dir", str(figures)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "would need about" in err[0]
    assert not results.exists() and not figures.exists()


def test_run_refuses_oversized_program_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``harness run``: the parameters' preflight refuses the (13) in one line, exit 2, nothing written."""
    spec = tmp_path / "deep_synthetic.toml"
    spec.write_text(
        'name = "deep_synthetic"\nkind = "deep_synthetic"\nseed = 1\n'
        "[grid]\nn = [20, 20000]\nd = 100\nP1 = 2000\nP2 = 40\nmax_memory_gb = 1.0\n"
    )
    results = tmp_path / "results"
    code = harness_main(["run", str(spec), "--results-dir", str(results), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "would need about" in err[0]
    assert not any(results.rglob("*.json")) and not any(results.rglob("*.parquet"))


def test_params_are_frozen_dataclasses() -> None:
    p = get_kind("deep_uci").parameters({"dataset": "balloons", "K": 3})
    assert (p.K, p.P1, p.epochs, p.batch) == (3, 30, 300, 16)
    with pytest.raises(AttributeError):
        p.K = 4  # type: ignore[misc]


def test_shipped_specs_load_and_pass_preflight() -> None:
    for name in ("deep_synthetic", "deep_uci", "deep_fmnist"):
        spec = load_spec(REPO / "experiments" / f"{name}.toml")
        assert spec.kind == name
    if (DATA / "uci").is_dir():
        assert preflight(["deep_uci"], "paper", str(REPO / "experiments")) == 48


def _uci_copy(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "uci").mkdir(parents=True)
    shutil.copytree(DATA / "uci" / "balloons", root / "uci" / "balloons")
    shutil.copy(DATA / "SHA256SUMS", root / "SHA256SUMS")
    return root


def _tiny_uci_spec(tmp_path: Path) -> Path:
    exp = tmp_path / "experiments"
    exp.mkdir()
    (exp / "deep_uci.toml").write_text(
        'name = "deep_uci"\nkind = "deep_uci"\nseed = 3\n[grid]\ndataset = "balloons"\n'
        'fold = [0, 1, 2]\nn_inits = 2\nepochs = 10\nP1 = 5\nP2 = 2\nlr_list = "0.01"\n'
    )
    return exp


@needs_data
@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_bad_uci_file_is_one_error_line(
    tmp_path: Path, damage: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _uci_copy(tmp_path)
    target = root / "uci" / "balloons" / "balloons_R.dat"
    if damage == "missing":
        target.unlink()
    else:
        target.write_text(target.read_text().replace("1", "2", 1))
    monkeypatch.setenv("HARNESS_DATA", str(root))
    exp = _tiny_uci_spec(tmp_path)
    results = tmp_path / "results"
    code = harness_main(["table1", "--experiments-dir", str(exp), "--results-dir", str(results)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("error:") and "balloons_R.dat" in err[0]
    assert not results.exists()


@needs_data
def test_table1_command_writes_ours_beside_paper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_DATA", str(_uci_copy(tmp_path)))
    exp = _tiny_uci_spec(tmp_path)
    results = tmp_path / "results"
    assert (
        harness_main(["table1", "--experiments-dir", str(exp), "--results-dir", str(results)]) == 0
    )
    md = (results / "table1.md").read_text()
    assert "0.7901" in md and "0.6695" in md  # the paper's balloons numbers
    assert "E3" in md and "E4" in md and "test error = mean squared error" in md
    tab = pd.read_csv(results / "table1.csv")
    row = tab[tab["dataset"] == "balloons"].iloc[0]
    assert row["train_convex_count"] == 3 and np.isfinite(row["train_sgd_mean"])
    # resumable: a second call computes nothing new and rewrites the same table
    assert (
        harness_main(["table1", "--experiments-dir", str(exp), "--results-dir", str(results)]) == 0
    )
    pd.testing.assert_frame_equal(tab, pd.read_csv(results / "table1.csv"))
