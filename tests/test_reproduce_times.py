"""``reproduce`` records what each spec cost: points computed / reused and wall time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from harness.pipeline import ReproduceSummary, reproduce

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def test_reproduce_writes_per_spec_times_and_a_resumed_call_reuses(tmp_path: Path) -> None:
    exp = tmp_path / "experiments"
    exp.mkdir()
    shutil.copy(EXPERIMENTS / "kappa.toml", exp)  # one cheap spec; the others are skipped
    lines: list[str] = []

    def run() -> ReproduceSummary:
        return reproduce(
            scale="quick",
            jobs=1,
            results_dir=tmp_path / "r",
            figures_dir=tmp_path / "f",
            experiments_dir=exp,
            say=lines.append,
        )

    first = run()
    path = tmp_path / "r" / "reproduce_times_quick.json"
    assert first.times_path == path
    record = json.loads(path.read_text())
    kappa = record["specs"]["kappa"]
    assert set(record["specs"]) == {"kappa"} and record["scale"] == "quick"
    assert kappa["points"] > 0 and kappa["computed"] == kappa["points"]
    assert kappa["reused"] == 0 and kappa["failed"] == 0 and kappa["wall_s"] >= 0
    assert any(line.startswith("[reproduce] kappa:") for line in lines)

    second = run()
    again = json.loads(path.read_text())["specs"]["kappa"]
    assert again["computed"] == 0 and again["reused"] == kappa["points"]
    assert second.spec_times["kappa"] == again
