"""``harness check`` exit codes (0 PASS/INCONCLUSIVE, 1 FAIL, 2 NOT-RUN or missing input) and
the store's integrity check (a parquet that disagrees with its point files is rebuilt)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness.cli import main
from harness.errors import DataError
from harness.predictions import CHECKS, CheckResult, load_checks, register_check
from harness.report import CheckOutcome, check_exit_code
from harness.sweep import load_spec, run_spec
from harness.sweep.store import ResultStore

SPEC = """
name = "synth_exit"
kind = "synthetic_cost"
seed = 5
seeds = 4

[grid]
x = [1, 2, 3]
"""


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, Path]:
    exp = tmp_path / "experiments"
    exp.mkdir()
    (exp / "synth_exit.toml").write_text(SPEC)
    results = tmp_path / "results"
    run_spec(load_spec(exp / "synth_exit.toml"), results_dir=results, progress=False)
    return exp, results


@pytest.fixture
def exit_checks() -> object:
    verdicts = {"X0": "PASS", "X1": "INCONCLUSIVE", "X2": "FAIL", "X3": "NOT-RUN"}
    for cid, verdict in verdicts.items():

        def fn(tables: dict[str, pd.DataFrame], v: str = verdict) -> CheckResult:
            return CheckResult(v, "m", "p", f"built to be {v}")

        register_check(
            cid, title=cid, claim=cid, source="test", experiments=("synth_exit",),
            measured="m", predicted="p", rule="r",
        )(fn)  # fmt: skip
    yield verdicts
    for cid in verdicts:
        CHECKS.pop(cid, None)


@pytest.mark.parametrize(
    "only, code", [("X0", 0), ("X0,X1", 0), ("X0,X2", 1), ("X1,X3", 2), ("X2,X3", 2)]
)
def test_harness_check_exit_codes(
    stored: tuple[Path, Path], exit_checks: object, only: str, code: int
) -> None:
    exp, results = stored
    argv = ["check", "--only", only, "--results-dir", str(results), "--experiments-dir", str(exp)]
    assert main(argv) == code


def test_missing_input_exits_2(tmp_path: Path, exit_checks: object) -> None:
    exp = tmp_path / "experiments"
    exp.mkdir()
    (exp / "synth_exit.toml").write_text(SPEC)
    argv = ["check", "--only", "X0", "--results-dir", str(tmp_path / "r"), "--experiments-dir"]
    assert main([*argv, str(exp)]) == 2


def test_every_relu_solve_inaccurate_is_exit_2() -> None:
    """Issue 15: every ReLU solve inaccurate makes P1/P12/P14/P17 NOT-RUN: exit 2, not 0."""
    checks = load_checks()
    rows = [
        {"n": n, "d": n / 4, "c": 4.0, "seed_index": s, "point_status": "ok", "P_mode": "rule",
         "P_capped": False, "p_relu": 1.2, "p_gated": 1.0, "pstar_lower": 1.0, "pstar_upper": 1.0,
         "status_relu": "inaccurate", "status_gated": "optimal", "status_decomp": "optimal",
         "sharpness_max": 2.0, "mapped_rel_err": 0.0, "P_unique": 10 * n, "time_relu_s": 0.1}
        for n in (20, 40, 80, 160) for s in range(3)
    ]  # fmt: skip
    tables = {"relaxation_gap": pd.DataFrame(rows)}
    outcomes = []
    for cid in ("P1", "P12", "P14", "P17"):
        res = checks[cid].fn(tables)
        assert res.verdict == "NOT-RUN", (cid, res.explanation)
        outcomes.append(CheckOutcome(checks[cid], res, ()))
    assert check_exit_code(outcomes) == 2


# --------------------------------------------------------------------------- store integrity
def test_shortened_parquet_is_rebuilt(
    stored: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, results = stored
    store = ResultStore(results, "synth_exit")
    full = store.load("quick")
    path = store.table_path("quick")
    full.iloc[: len(full) // 2].to_parquet(path, index=False)  # the reviewer's edit
    again = store.load("quick")
    assert len(again) == len(full)
    assert "disagreed with its point files" in capsys.readouterr().err


def test_parquet_with_counts_but_missing_rows_is_rebuilt(stored: tuple[Path, Path]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    _, results = stored
    store = ResultStore(results, "synth_exit")
    full = store.load("quick")
    path = store.table_path("quick")
    meta = pq.read_schema(path).metadata
    short = pa.Table.from_pandas(full.iloc[1:], preserve_index=False)
    pq.write_table(short.replace_schema_metadata(meta), path)  # metadata kept, one row gone
    assert len(store.load("quick")) == len(full)


def test_unverifiable_parquet_is_refused(stored: tuple[Path, Path]) -> None:
    _, results = stored
    store = ResultStore(results, "synth_exit")
    full = store.load("quick")
    for f in store.points_dir.iterdir():
        f.unlink()
    full.iloc[:3].to_parquet(store.table_path("quick"), index=False)
    import os

    os.utime(store.points_dir, (0, 0))  # the folder is older than the table: not stale
    with pytest.raises(DataError, match="no point files to rebuild"):
        store.load("quick")


def test_consistent_store_loads_unchanged(stored: tuple[Path, Path]) -> None:
    _, results = stored
    store = ResultStore(results, "synth_exit")
    a = store.load("quick")
    mtime = store.table_path("quick").stat().st_mtime_ns
    b = store.load("quick")
    assert store.table_path("quick").stat().st_mtime_ns == mtime  # not rebuilt
    pd.testing.assert_frame_equal(a, b)


def test_a_crashing_check_is_not_run_not_a_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception inside a check says nothing about the claim: NOT-RUN (exit 2), reported."""
    from harness.predictions import Check
    from harness.report import run_checks

    def boom(tables: object) -> CheckResult:
        raise KeyError("p13")

    check = Check("X1", "t", "c", "s", ("exp",), "m", "p", "r", boom)
    monkeypatch.setattr(
        "harness.report.load_tables", lambda *a, **k: ({"exp": pd.DataFrame({"a": [1]})}, {})
    )
    (out,) = run_checks([check], "quick", "results", "experiments")
    assert out.result.verdict == "NOT-RUN" and "check raised KeyError" in out.result.explanation
    assert check_exit_code([out]) == 2
