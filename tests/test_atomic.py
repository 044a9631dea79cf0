"""harness.atomic: unique temporary names, all-or-nothing writes; the report writers use it."""

from __future__ import annotations

from pathlib import Path

import pytest

import harness.atomic as atomic
from harness.errors import InputError


def test_two_writers_never_share_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    with atomic.atomic_open(target) as first, atomic.atomic_open(target) as second:
        assert first.name != second.name
        first.write(b"one")
        second.write(b"two")
    assert target.read_bytes() == b"one"  # the outer writer finished last
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    atomic.atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic.atomic_open(target) as fh:
        fh.write(b"new, half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_check_output_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        atomic.check_output_path(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        atomic.check_output_path(tmp_path / "no" / "x.npz")
    assert atomic.check_output_path(tmp_path / "x.npz") == tmp_path / "x.npz"


def test_report_writers_use_unique_temporary_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.report import write_json

    used: list[Path] = []
    original = atomic.temp_path
    monkeypatch.setattr(atomic, "temp_path", lambda p: used.append(original(p)) or used[-1])
    write_json(tmp_path / "v.json", {"a": 1})
    write_json(tmp_path / "v.json", {"a": 2})
    assert len(used) == 2 and used[0] != used[1]
    assert all(p.name.startswith(".tmp.v.json.") for p in used)
    assert (tmp_path / "v.json").read_text().strip().endswith("}")


def test_atomic_write_csv(tmp_path: Path) -> None:
    import csv

    target = tmp_path / "rows.csv"
    rows = [{"a": 1, "b": 2.5, "extra": "x"}, {"a": 3, "b": "s,t"}]
    atomic.atomic_write_csv(target, ["a", "b"], rows, extrasaction="ignore")
    with target.open(newline="") as fh:
        back = list(csv.DictReader(fh))
    assert back == [{"a": "1", "b": "2.5"}, {"a": "3", "b": "s,t"}]
    with pytest.raises(ValueError, match="extra"):  # default: unknown keys are an error
        atomic.atomic_write_csv(target, ["a", "b"], rows)
    assert [p.name for p in tmp_path.iterdir()] == ["rows.csv"]  # old file kept, no temp left
    assert list(csv.DictReader(target.open(newline="")))[1]["b"] == "s,t"
