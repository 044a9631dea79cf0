"""Sweep runner and results store: rows, failures, resume, kill/restart, backends, CLI."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.cli import main as harness_main
from harness.cli.sweep import _with_derived
from harness.errors import DataError, SpecError
from harness.sweep import (
    ResultStore,
    expand_grid,
    load_results,
    load_spec,
    run_point,
    run_spec,
)
from harness.sweep.runner import ENGINE_COLUMNS, VOLATILE_COLUMNS

SYNTH = """
name = "synth"
kind = "synthetic_cost"
seed = 11
seeds = {seeds}

[grid]
x = {xs}
cost_s = {cost}
{extra}
"""

REAL = """
name = "real"
kind = "relaxation_gap_small"
seed = 3
seeds = 2

[instance]
labels = "planted"
teacher_width = 2

[grid]
n = 8
d = 2
P = [3, 6]
beta_rel = 0.2

[solver]
name = "clarabel"
tol = 1e-8
max_iter = 200
"""

PROVENANCE = (
    "spec_hash",
    "point_key",
    "cache_key",
    "seed_entropy",
    "seed_spawn_key",
    "harness_version",
    "git_commit",
    "versions",
    "hostname",
    "timestamp",
    "scale",
)


def synth_spec(
    tmp_path: Path, n_x: int = 6, seeds: int = 1, cost: float = 0.0, extra: str = ""
) -> Path:
    path = tmp_path / "synth.toml"
    text = SYNTH.format(seeds=seeds, xs=list(range(n_x)), cost=cost, extra=extra)
    path.write_text(textwrap.dedent(text))
    return path


def real_spec(tmp_path: Path) -> Path:
    path = tmp_path / "real.toml"
    path.write_text(REAL)
    return path


def stable_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Drop the columns that legitimately change between runs; sort by point."""
    drop = [c for c in table.columns if c in VOLATILE_COLUMNS or c.startswith("time_")]
    return table.drop(columns=drop).sort_values(["point_key", "row"]).reset_index(drop=True)


def assert_tables_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a, b = stable_columns(a), stable_columns(b)
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for col in a.columns:
        if pd.api.types.is_float_dtype(a[col]):
            np.testing.assert_allclose(a[col], b[col], rtol=1e-10, atol=1e-12, err_msg=col)
        else:
            assert a[col].astype(str).tolist() == b[col].astype(str).tolist(), col


# --------------------------------------------------------------------------- basic run
def test_run_writes_one_row_per_point_with_provenance(tmp_path: Path) -> None:
    spec = load_spec(synth_spec(tmp_path, n_x=5, seeds=2))
    summary = run_spec(spec, results_dir=tmp_path / "res", progress=False)
    assert (summary.total, summary.ok, summary.failed, summary.skipped) == (10, 10, 0, 0)
    table = load_results("synth", "quick", tmp_path / "res")
    assert len(table) == 10 == summary.n_rows
    assert table["point_key"].is_unique and table["cache_key"].is_unique
    for col in (*PROVENANCE, "x", "cost_s", "draw", "draw_sum", "x_squared", "point_status"):
        assert col in table.columns, col
    assert set(table["point_status"]) == {"ok"}
    assert set(table["spec_hash"]) == {spec.spec_hash}
    assert (table["x_squared"] == table["x"] ** 2).all()
    assert table["versions"].str.contains("numpy=").all()
    # the seed columns rebuild each point's SeedSequence
    for _, row in table.iterrows():
        ss = np.random.SeedSequence(
            int(row["seed_entropy"]), spawn_key=(int(row["seed_spawn_key"]),)
        )
        draw = np.random.default_rng(ss).standard_normal()
        np.testing.assert_allclose(draw, row["draw"], rtol=0, atol=0)
    # two repeat seeds of one grid point draw different numbers
    assert table.groupby("x")["draw"].nunique().eq(2).all()
    # nothing temporary left behind
    root = tmp_path / "res" / "synth"
    assert not list(root.rglob(".tmp.*"))
    assert len(list((root / "points").glob("*.ok.json"))) == 10


def test_engine_columns_are_last(tmp_path: Path) -> None:
    run_spec(load_spec(synth_spec(tmp_path, n_x=2)), results_dir=tmp_path / "r", progress=False)
    cols = list(load_results("synth", "quick", tmp_path / "r").columns)
    assert cols[:2] == ["cost_s", "x"]
    assert cols[-len(ENGINE_COLUMNS) :] == list(ENGINE_COLUMNS)


def test_failure_is_isolated_and_retried(tmp_path: Path) -> None:
    spec = load_spec(synth_spec(tmp_path, n_x=6, extra="fail_x = 2"))
    res = tmp_path / "res"
    summary = run_spec(spec, results_dir=res, progress=False)
    assert (summary.ok, summary.failed) == (5, 1)
    assert "RuntimeError: synthetic failure requested for x=2" in summary.format()
    table = load_results("synth", "quick", res)
    assert len(table) == 6
    bad = table[table["point_status"] == "failed"]
    assert bad["x"].tolist() == [2]
    assert "synthetic failure" in bad["traceback"].iloc[0]
    assert "Traceback" in bad["traceback"].iloc[0]
    assert bad["draw"].isna().all()
    good = table[table["point_status"] == "ok"]
    assert good["error"].isna().all()
    # a rerun skips the ok points and retries the failed one
    again = run_spec(spec, results_dir=res, progress=False)
    assert (again.skipped, again.ok, again.failed) == (5, 0, 1)


def test_rerun_skips_done_points_and_force_recomputes(tmp_path: Path) -> None:
    spec = load_spec(synth_spec(tmp_path, n_x=4))
    res = tmp_path / "res"
    first = run_spec(spec, results_dir=res, progress=False)
    t1 = load_results("synth", "quick", res)
    second = run_spec(spec, results_dir=res, progress=False)
    assert (second.skipped, second.computed) == (4, 0)
    forced = run_spec(spec, results_dir=res, force=True, progress=False)
    assert (forced.skipped, forced.computed) == (0, 4)
    t3 = load_results("synth", "quick", res)
    assert first.n_rows == len(t3) == 4
    assert_tables_equal(t1, t3)


def test_growing_the_grid_keeps_finished_points(tmp_path: Path) -> None:
    res = tmp_path / "res"
    run_spec(load_spec(synth_spec(tmp_path, n_x=3)), results_dir=res, progress=False)
    small = load_results("synth", "quick", res)
    summary = run_spec(load_spec(synth_spec(tmp_path, n_x=5)), results_dir=res, progress=False)
    assert (summary.skipped, summary.computed) == (3, 2)
    big = load_results("synth", "quick", res)
    assert len(big) == 5
    merged = small.merge(big, on="point_key", suffixes=("_a", "_b"))
    np.testing.assert_allclose(merged["draw_a"], merged["draw_b"], rtol=0, atol=0)


# --------------------------------------------------------------------------- determinism
def test_same_point_twice_gives_identical_rows(tmp_path: Path) -> None:
    spec = load_spec(real_spec(tmp_path))
    points = expand_grid(spec, "quick")
    assert len(points) == 4
    res = tmp_path / "res"
    run_spec(spec, results_dir=res, progress=False)
    table = load_results("real", "quick", res)
    assert set(table["status_gated"]) == {"optimal"} and set(table["status_relu"]) == {"optimal"}
    # THEORY.md: (5) relaxes (3), so p_gated <= p_relu up to the solver tolerance
    assert (table["p_gated"] <= table["p_relu"] + 1e-6).all()
    for p in (points[0], points[3]):
        alone_1 = pd.DataFrame(run_point(spec, p))
        alone_2 = pd.DataFrame(run_point(spec, p))
        in_sweep = table[table["point_key"] == p.point_key].drop(columns=["scale"])
        assert_tables_equal(alone_1, alone_2)
        assert_tables_equal(alone_1, in_sweep)
    # different repeat seeds draw different instances
    assert table["beta_max"].nunique() == 4


def test_quantities_select_what_the_kind_computes(tmp_path: Path) -> None:
    text = 'quantities = ["p_gated"]\n' + REAL
    path = tmp_path / "real.toml"
    path.write_text(text)
    spec = load_spec(path)
    rows = run_point(spec, expand_grid(spec)[0])
    assert "p_gated" in rows[0] and "status_gated" in rows[0]
    assert "p_relu" not in rows[0] and "gap" not in rows[0]
    assert rows[0]["quantities"] == "p_gated"


# --------------------------------------------------------------------------- kill / resume
KILL_SCRIPT = """
import sys
from harness.sweep import run_spec
run_spec(sys.argv[1], results_dir=sys.argv[2], n_jobs=1, progress=False)
"""


def test_resume_after_sigkill(tmp_path: Path) -> None:
    n_points = 30
    spec_path = synth_spec(tmp_path, n_x=n_points, cost=0.04)
    res = tmp_path / "res"
    points_dir = res / "synth" / "points"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(spec_path), str(res)],
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = len(list(points_dir.glob("*.json"))) if points_dir.is_dir() else 0
            if done >= 5 or proc.poll() is not None:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the sweep finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    finished = len(list(points_dir.glob("*.ok.json")))
    assert 5 <= finished < n_points
    # the killed run never compacted; the store still reports what it finished
    assert not (res / "synth" / "quick.parquet").exists()
    summary = run_spec(load_spec(spec_path), results_dir=res, progress=False)
    assert summary.skipped == finished
    assert summary.computed == n_points - finished
    table = load_results("synth", "quick", res)
    assert len(table) == n_points
    assert table["point_key"].is_unique and table["cache_key"].is_unique
    assert sorted(table["x"]) == list(range(n_points))
    assert set(table["point_status"]) == {"ok"}


def test_load_results_recompacts_stale_table(tmp_path: Path) -> None:
    spec = load_spec(synth_spec(tmp_path, n_x=3))
    res = tmp_path / "res"
    run_spec(spec, results_dir=res, progress=False)
    store = ResultStore(res, "synth")
    p = expand_grid(spec)[0]
    rows = run_point(spec, p)
    rows[0]["draw"] = 123.0  # a newer point file than the table
    time.sleep(0.01)
    store.write_point(p.cache_key, "ok", rows)
    table = load_results("synth", "quick", res)
    assert 123.0 in table["draw"].tolist()
    assert len(table) == 3


def test_load_results_without_results(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no results for 'nothing' at scale 'quick'"):
        load_results("nothing", "quick", tmp_path)


def test_bad_run_arguments(tmp_path: Path) -> None:
    spec = load_spec(synth_spec(tmp_path, n_x=2))
    with pytest.raises(SpecError, match=r"backend must be one of \['loky', 'dask'\]\. Got 'mpi'\."):
        run_spec(spec, backend="mpi", results_dir=tmp_path / "r")
    with pytest.raises(SpecError, match=r"jobs must be an int >= 1 or -1"):
        run_spec(spec, n_jobs=0, results_dir=tmp_path / "r")
    with pytest.raises(SpecError, match=r"scale must be one of"):
        run_spec(spec, scale="huge", results_dir=tmp_path / "r")
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- backends
@pytest.mark.slow
def test_loky_and_dask_backends_give_identical_tables(tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    spec = load_spec(real_spec(tmp_path))
    serial = run_spec(spec, results_dir=tmp_path / "serial", progress=False)
    loky = run_spec(spec, n_jobs=2, backend="loky", results_dir=tmp_path / "loky", progress=False)
    cluster = distributed.LocalCluster(
        n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None
    )
    try:
        dask = run_spec(
            spec,
            backend="dask",
            scheduler=cluster.scheduler_address,
            results_dir=tmp_path / "dask",
            progress=False,
        )
    finally:
        cluster.close()
    for s in (serial, loky, dask):
        assert (s.ok, s.failed) == (4, 0)
    t_serial = load_results("real", "quick", tmp_path / "serial")
    t_loky = load_results("real", "quick", tmp_path / "loky")
    t_dask = load_results("real", "quick", tmp_path / "dask")
    assert_tables_equal(t_serial, t_loky)
    assert_tables_equal(t_loky, t_dask)


def test_dask_failure_isolation(tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    spec = load_spec(synth_spec(tmp_path, n_x=4, extra="fail_x = 1"))
    cluster = distributed.LocalCluster(
        n_workers=1, processes=False, threads_per_worker=2, dashboard_address=None
    )
    try:
        summary = run_spec(
            spec,
            backend="dask",
            scheduler=cluster.scheduler_address,
            results_dir=tmp_path / "r",
            progress=False,
        )
    finally:
        cluster.close()
    assert (summary.ok, summary.failed) == (3, 1)


# --------------------------------------------------------------------------- CLI
def test_cli_run_status_show_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec_path = synth_spec(tmp_path, n_x=3, extra="fail_x = 0")
    res = str(tmp_path / "results")
    assert harness_main(["status", str(spec_path), "--results-dir", res]) == 0
    out = capsys.readouterr().out
    assert "quick        3       0       0       3" in out
    code = harness_main(["run", str(spec_path), "--results-dir", res, "--no-progress"])
    out = capsys.readouterr().out
    assert code == 1  # one point failed
    assert "3 points: 3 computed (2 ok, 1 failed)" in out
    assert harness_main(["status", str(spec_path), "--results-dir", res]) == 0
    assert "quick        3       2       1       0" in capsys.readouterr().out
    assert harness_main(["show", "synth", "--results-dir", res]) == 0
    out = capsys.readouterr().out
    assert "== synth [quick]: 3 rows (2 ok, 1 failed)" in out
    assert "fixed: cost_s=0.0" in out
    assert harness_main(["show", "synth", "--results-dir", res, "--columns", "x,draw"]) == 0
    assert "draw" in capsys.readouterr().out
    assert harness_main(["show", "synth", "--results-dir", res, "--columns", "nope"]) == 2
    assert "unknown column(s) ['nope']" in capsys.readouterr().err
    args = ["show", "synth", "--results-dir", res, "--columns", "draw", "--median-by", "x"]
    assert harness_main([*args, "--where", "point_status=ok"]) == 0
    out = capsys.readouterr().out
    assert "medians over 2 rows by x" in out and "rows" in out  # the failed point is filtered
    assert harness_main([*args[:-4], "--median-by", "x"]) == 2  # no --columns
    assert "--median-by needs --columns" in capsys.readouterr().err
    assert harness_main([*args, "--where", "nope"]) == 2
    assert "--where must be COL=VALUE" in capsys.readouterr().err
    derived = _with_derived(pd.DataFrame({"pstar_lower": [0.9, 1.0], "pstar_upper": [1.0, 1.0]}))
    np.testing.assert_allclose(derived["pstar_width_rel"], [0.1, 0.0])
    manifest = json.loads((tmp_path / "results" / "synth" / "quick.keys.json").read_text())
    assert len(manifest["cache_keys"]) == 3
    assert harness_main(["clean", "synth", "--results-dir", res]) == 0
    assert not (tmp_path / "results" / "synth").exists()
    assert harness_main(["show", "synth", "--results-dir", res]) == 2


def test_clean_refuses_foreign_folder(tmp_path: Path) -> None:
    root = tmp_path / "synth"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    assert harness_main(["clean", "synth", "--results-dir", str(tmp_path)]) == 2
    assert (root / "notes.txt").exists()


# --------------------------------------------------------------------------- issue 12
def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_read_only_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A results folder that cannot be written: `run` and `clean` end in one error line.

    The permission failure is injected (the tests may run as root, who ignores modes); a
    run whose points are all done and whose table is up to date writes nothing at all.
    """
    import harness.atomic
    import harness.sweep.store as store_mod

    spec_path = synth_spec(tmp_path, n_x=3)
    res = tmp_path / "results"
    assert harness_main(["run", str(spec_path), "--results-dir", str(res), "--no-progress"]) == 0
    capsys.readouterr()
    before = _tree(res)
    stamps = {p: (res / p).stat().st_mtime_ns for p in before}

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(res / "synth"))

    monkeypatch.setattr(harness.atomic, "open", denied, raising=False)
    monkeypatch.setattr(store_mod.shutil, "rmtree", denied)
    # every point done: the run reports and writes nothing
    assert harness_main(["run", str(spec_path), "--results-dir", str(res), "--no-progress"]) == 0
    assert "0 computed (0 ok, 0 failed), 3 already done" in capsys.readouterr().out
    # a new point to compute: refused with one line, nothing written
    spec_path = synth_spec(tmp_path, n_x=4)
    code = harness_main(["run", str(spec_path), "--results-dir", str(res), "--no-progress"])
    assert code == 2
    assert "permission denied" in _one_error_line(capsys.readouterr().err)
    assert harness_main(["clean", "synth", "--results-dir", str(res)]) == 2
    assert "cannot delete" in _one_error_line(capsys.readouterr().err)
    assert [p for p in _tree(res) if not p.startswith("synth/.lock")] == [
        p for p in before if not p.startswith("synth/.lock")
    ]
    assert all((res / p).stat().st_mtime_ns == t for p, t in stamps.items() if ".lock" not in p)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file modes")
def test_read_only_results_real_modes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec_path = synth_spec(tmp_path, n_x=2)
    res = tmp_path / "results"
    res.mkdir()
    res.chmod(0o555)
    try:
        code = harness_main(["run", str(spec_path), "--results-dir", str(res), "--no-progress"])
        assert code == 2
        _one_error_line(capsys.readouterr().err)
    finally:
        res.chmod(0o755)


def test_grid_size_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A grid above MAX_POINTS is refused unless asked; `status` counts it without expanding."""
    import harness.sweep.grid as grid

    path = tmp_path / "big.toml"
    xs = ", ".join(map(str, range(1000)))
    ps = ", ".join(map(str, range(1, 101)))
    path.write_text(
        f'name = "big"\nkind = "synthetic_cost"\nseed = 1\nseeds = 10\n'
        f"[grid]\nx = [{xs}]\nP = [{ps}]\ncost_s = 0.0\n"
    )
    spec = load_spec(path)
    assert grid.grid_size(spec, "quick") == 1_000_000
    res = tmp_path / "results"
    assert harness_main(["run", str(path), "--results-dir", str(res), "--no-progress"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "1000000 points" in line and "--allow-large" in line
    assert not res.exists()

    def no_expansion(*args: object, **kwargs: object) -> None:
        raise AssertionError("status expanded a grid over the limit")

    monkeypatch.setattr("harness.sweep.expand_grid", no_expansion)
    assert harness_main(["status", str(path), "--results-dir", str(res)]) == 0
    out = capsys.readouterr().out
    assert "quick  1000000       -       -       -  over the limit of 100000" in out
    monkeypatch.undo()
    # asked explicitly: allowed (a small limit keeps the test fast)
    monkeypatch.setattr(grid, "MAX_POINTS", 5)
    small = synth_spec(tmp_path, n_x=6)
    with pytest.raises(SpecError, match="6 points, more than the limit of 5"):
        run_spec(small, results_dir=res, progress=False)
    summary = run_spec(small, results_dir=res, progress=False, allow_large=True)
    assert summary.ok == 6


def test_concurrent_runs_do_not_compute_a_point_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second run of a spec waits for the first's lock, then finds every point done."""
    import threading

    import harness.sweep.runner as runner
    from harness.kinds import get_kind

    spec = load_spec(synth_spec(tmp_path, n_x=4))
    res = tmp_path / "results"
    store = ResultStore(res, "synth")
    waiting: list[str] = []
    results: list[object] = []
    monkeypatch.setattr(runner, "_say", waiting.append)
    second = threading.Thread(
        target=lambda: results.append(run_spec(spec, results_dir=res, progress=False))
    )
    with store.run_lock("quick"):  # the first run holds the lock ...
        second.start()
        deadline = time.monotonic() + 20
        while not waiting and time.monotonic() < deadline:
            time.sleep(0.02)
        assert waiting and "waiting" in waiting[0]
        assert second.is_alive() and not results  # ... the second one waits
        points = expand_grid(spec, "quick")
        first = runner._run_locked(
            get_kind(spec.kind), spec, "quick", points, store, False, 1, "loky", None, False
        )
        assert first.ok == 4
    second.join(timeout=30)
    (summary,) = results
    assert isinstance(summary, runner.SweepSummary)
    assert (summary.ok, summary.skipped) == (0, 4)  # nothing computed twice


def test_truncated_table_is_rebuilt_or_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_path = synth_spec(tmp_path, n_x=3)
    res = tmp_path / "results"
    argv = ["run", str(spec_path), "--results-dir", str(res), "--no-progress"]
    assert harness_main(argv) == 0
    table = res / "synth" / "quick.parquet"
    data = table.read_bytes()
    table.write_bytes(data[: len(data) // 2])
    capsys.readouterr()
    assert harness_main(argv) == 0  # `run` sees the table is unreadable and compacts again
    assert len(pd.read_parquet(table)) == len(pd.read_parquet(io.BytesIO(data)))
    table.write_bytes(data[: len(data) // 2])
    capsys.readouterr()
    assert harness_main(["show", "synth", "--results-dir", str(res)]) == 0  # rebuilt
    assert "rebuilt" in capsys.readouterr().err
    table.write_bytes(data[: len(data) // 2])
    shutil.rmtree(res / "synth" / "points")  # nothing to rebuild from: one error line
    assert harness_main(["show", "synth", "--results-dir", str(res)]) == 2
    assert "quick.parquet" in _one_error_line(capsys.readouterr().err)


def test_clean_refuses_a_symlink(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "precious.txt").write_text("keep")
    res = tmp_path / "results"
    res.mkdir()
    (res / "synth").symlink_to(target)
    assert harness_main(["clean", "synth", "--results-dir", str(res)]) == 2
    assert "symbolic link" in _one_error_line(capsys.readouterr().err)
    assert (target / "precious.txt").exists() and (res / "synth").is_symlink()


def test_spec_not_utf8_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "café"\n'.encode("latin-1"))
    assert harness_main(["run", str(path), "--results-dir", str(tmp_path / "r")]) == 2
    assert "not UTF-8" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "r").exists()


def test_clean_refuses_while_a_run_holds_the_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_path = synth_spec(tmp_path, n_x=2)
    res = tmp_path / "results"
    assert harness_main(["run", str(spec_path), "--results-dir", str(res), "--no-progress"]) == 0
    store = ResultStore(res, "synth")
    capsys.readouterr()
    with store.run_lock("quick"):
        assert harness_main(["clean", "synth", "--results-dir", str(res)]) == 2
        assert "a run holds" in _one_error_line(capsys.readouterr().err)
        assert (res / "synth" / "quick.parquet").is_file()
    assert harness_main(["clean", "synth", "--results-dir", str(res)]) == 0
    assert not (res / "synth").exists()
