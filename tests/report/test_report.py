"""`harness check / figures / report`: verdicts from stored tables, missing inputs, report files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness.errors import HarnessError
from harness.figures import Figure, render_figure
from harness.predictions import CHECKS, CheckResult, register_check
from harness.report import run_checks, select_checks, write_report
from harness.sweep import load_spec, run_spec

SPEC = """
name = "synth_report"
kind = "synthetic_cost"
seed = 5
seeds = 3

[grid]
x = [1, 2]
"""


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    exp = tmp_path / "experiments"
    exp.mkdir()
    (exp / "synth_report.toml").write_text(SPEC)
    return exp, tmp_path / "results", tmp_path / "figures"


@pytest.fixture
def synth_checks() -> list[str]:
    @register_check(
        "T1",
        title="draws are finite",
        claim="every draw is finite",
        source="test",
        experiments=("synth_report",),
        measured="max |draw|",
        predicted="< inf",
        rule="all finite",
    )
    def _t1(tables: dict[str, pd.DataFrame]) -> CheckResult:
        df = tables["synth_report"]
        ok = bool(df["draw"].abs().lt(float("inf")).all())
        return CheckResult("PASS" if ok else "FAIL", f"{df['draw'].abs().max():.3g}", "< inf", "ok")

    @register_check(
        "T2",
        title="x squared is odd",
        claim="x^2 is odd",
        source="test",
        experiments=("synth_report",),
        measured="x^2",
        predicted="odd",
        rule="all odd",
    )
    def _t2(tables: dict[str, pd.DataFrame]) -> CheckResult:
        odd = bool((tables["synth_report"]["x_squared"] % 2 == 1).all())
        return CheckResult("PASS" if odd else "FAIL", "x^2", "odd", "built to fail")

    @register_check(
        "T3",
        title="needs a missing experiment",
        claim="c",
        source="test",
        experiments=("no_such_experiment",),
        measured="m",
        predicted="p",
        rule="r",
    )
    def _t3(tables: dict[str, pd.DataFrame]) -> CheckResult:
        raise AssertionError("never called without its input")

    yield ["T1", "T2", "T3"]
    for cid in ("T1", "T2", "T3"):
        CHECKS.pop(cid, None)


def test_verdicts_from_stored_tables(
    dirs: tuple[Path, Path, Path], synth_checks: list[str]
) -> None:
    exp, results, _ = dirs
    run_spec(load_spec(exp / "synth_report.toml"), results_dir=results, progress=False)
    outcomes = run_checks(select_checks(synth_checks), "quick", results, exp)
    verdicts = {o.check.id: o.result.verdict for o in outcomes}
    assert verdicts == {"T1": "PASS", "T2": "FAIL", "T3": "NOT-RUN"}
    blocking = {o.check.id: o.blocking for o in outcomes}
    assert blocking == {"T1": False, "T2": True, "T3": True}


def test_incomplete_inputs_never_pass(
    dirs: tuple[Path, Path, Path], synth_checks: list[str]
) -> None:
    exp, results, figures = dirs
    # nothing computed yet: NOT-RUN
    outcomes = run_checks(select_checks(["T1"]), "quick", results, exp)
    assert outcomes[0].result.verdict == "NOT-RUN" and outcomes[0].blocking
    fig = Figure("figT", "t", "test", "synth_report", "harness.plots.shallow:plot_shallow_fig1")
    with pytest.raises(HarnessError, match="points not computed"):
        render_figure(fig, "quick", results, figures, exp)


def test_unknown_check_id() -> None:
    with pytest.raises(HarnessError, match="unknown check"):
        select_checks(["NOPE"])


def test_report_files(dirs: tuple[Path, Path, Path], synth_checks: list[str]) -> None:
    exp, results, figures = dirs
    run_spec(load_spec(exp / "synth_report.toml"), results_dir=results, progress=False)
    outcomes = run_checks(select_checks(synth_checks), "quick", results, exp)
    md, html = write_report(outcomes, "quick", results, figures, exp)
    text = md.read_text()
    assert "| T2 |" in text and "**FAIL**" in text and "synth_report" in text
    page = html.read_text()
    assert "<table class='verdicts'>" in page and "data-verdict='FAIL'" in page
    assert "data-count='1'" in page  # the verdict counts at the top
