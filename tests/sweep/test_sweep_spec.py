"""Spec validation (table-driven), grid expansion, zip groups, scales and per-point seeds."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main as harness_main
from harness.errors import SpecError
from harness.sweep import expand_grid, load_spec, parse_spec, stable_hash
from harness.sweep.grid import point_key

GOOD = """
name = "gap"
kind = "relaxation_gap_small"
seed = 7
description = "test spec"
seeds = 2

[instance]
labels = "planted"
noise = 0.0

[grid]
n = [10, 20]
d = [2, 3]
P = [4, 8, 16]
beta_rel = 0.1

[solver]
name = "clarabel"
tol = 1e-8
max_iter = 200

[scales.paper]
seeds = 3
[scales.paper.grid]
P = [4, 8, 16, 32]
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# (id, transformation of GOOD, regex the one-line message must match)
MALFORMED = [
    ("unknown-top-key", lambda s: "foo = 1\n" + s, r"field 'foo' is not a valid key; valid keys"),
    (
        "unknown-grid-key",
        lambda s: edit(s, "beta_rel = 0.1", "beta_rel = 0.1\nq = 3"),
        r"field 'grid.q' is not a valid key; valid keys are \[.*'P'",
    ),
    (
        "P-zero",
        lambda s: edit(s, "P = [4, 8, 16]", "P = 0"),
        r"^spec 'gap' \(.*spec\.toml\): field 'grid\.P' must be an int in \[1, inf\)\. Got 0\.$",
    ),
    (
        "P-in-list-zero",
        lambda s: edit(s, "P = [4, 8, 16]", "P = [4, 0]"),
        r"field 'grid\.P' must be an int in \[1, inf\)\. Got 0\.",
    ),
    (
        "P-wrong-type",
        lambda s: edit(s, "P = [4, 8, 16]", 'P = "ten"'),
        r"field 'grid\.P' must be an int in \[1, inf\)\. Got 'ten'\.",
    ),
    ("P-bool", lambda s: edit(s, "P = [4, 8, 16]", "P = true"), r"field 'grid\.P' .* Got True\."),
    ("P-float", lambda s: edit(s, "P = [4, 8, 16]", "P = 4.5"), r"field 'grid\.P' .* Got 4\.5\."),
    (
        "empty-axis",
        lambda s: edit(s, "d = [2, 3]", "d = []"),
        r"field 'grid\.d' must be an int in \[1, inf\) or a non-empty list of them\. Got \[\]\.",
    ),
    (
        "repeated-axis-value",
        lambda s: edit(s, "d = [2, 3]", "d = [2, 2]"),
        r"field 'grid\.d' must not repeat a value",
    ),
    (
        "n-zero",
        lambda s: edit(s, "n = [10, 20]", "n = [0, 20]"),
        r"field 'grid\.n' must be an int in \[1",
    ),
    (
        "beta-zero",
        lambda s: edit(s, "beta_rel = 0.1", "beta = 0.0"),
        r"field 'grid\.beta' must be a float in \(0, inf\)\. Got 0\.0\.",
    ),
    (
        "beta-rel-above-one",
        lambda s: edit(s, "beta_rel = 0.1", "beta_rel = 1.5"),
        r"field 'grid\.beta_rel' must be a float in \(0, 1\]\. Got 1\.5\.",
    ),
    (
        "beta-rel-zero",
        lambda s: edit(s, "beta_rel = 0.1", "beta_rel = [0.0, 0.5]"),
        r"field 'grid\.beta_rel' must be a float in \(0, 1\]",
    ),
    (
        "beta-and-beta-rel",
        lambda s: edit(s, "beta_rel = 0.1", "beta_rel = 0.1\nbeta = 1.0"),
        r"field 'grid' must set only one of \['beta', 'beta_rel'\]\. Got both\.",
    ),
    (
        "n-and-c",
        lambda s: edit(s, "beta_rel = 0.1", "beta_rel = 0.1\nc = 2.0"),
        r"field 'grid' must set only one of \['n', 'c'\]",
    ),
    (
        "no-beta",
        lambda s: edit(s, "beta_rel = 0.1", ""),
        r"field 'grid' must set one of \['beta', 'beta_rel'\] \(kind 'relaxation_gap_small'",
    ),
    (
        "unknown-kind",
        lambda s: edit(s, 'kind = "relaxation_gap_small"', 'kind = "nope"'),
        r"field 'kind' must be one of \[.*'relaxation_gap_small'.*\]\. Got 'nope'\.",
    ),
    (
        "unknown-solver",
        lambda s: edit(s, 'name = "clarabel"', 'name = "mosek"'),
        r"field 'solver\.name' must be one of \[.*'clarabel'.*\]\. Got 'mosek'\.",
    ),
    (
        "tol-negative",
        lambda s: edit(s, "tol = 1e-8", "tol = -1e-8"),
        r"field 'solver\.tol' must be a float in \(0, 1\)",
    ),
    ("missing-seed", lambda s: edit(s, "seed = 7\n", ""), r"field 'seed' is required\."),
    (
        "negative-seed",
        lambda s: edit(s, "seed = 7", "seed = -1"),
        r"field 'seed' must be an int in \[0, ",
    ),
    (
        "seeds-zero",
        lambda s: edit(s, "seeds = 2", "seeds = 0"),
        r"field 'seeds' must be an int in \[1, inf\)",
    ),
    (
        "bad-name",
        lambda s: edit(s, 'name = "gap"', 'name = "../x"'),
        r"field 'name' must be a name of letters",
    ),
    (
        "bad-label",
        lambda s: edit(s, 'labels = "planted"', 'labels = "cats"'),
        r"field 'instance\.labels' must be one of \['planted', 'gaussian'\]\. Got 'cats'\.",
    ),
    (
        "instance-unknown",
        lambda s: edit(s, "noise = 0.0", "noise = 0.0\nsigma = 1"),
        r"field 'instance\.sigma' is not a valid key",
    ),
    (
        "empty-grid",
        lambda s: s.split("[grid]")[0] + "[grid]\n",
        r"field 'grid' must be a non-empty table",
    ),
    (
        "unknown-scale",
        lambda s: s + "\n[scales.huge]\nseeds = 1\n",
        r"field 'scales\.huge' is not a valid scale",
    ),
    (
        "scale-bad-value",
        lambda s: edit(s, "P = [4, 8, 16, 32]", "P = [4, 0]"),
        r"field 'scales\.paper\.grid\.P' must be an int in \[1, inf\)\. Got 0\.",
    ),
    (
        "scale-unknown-key",
        lambda s: edit(s, "seeds = 3", "seeds = 3\nwidth = 2"),
        r"field 'scales\.paper\.width' is not a valid key",
    ),
    (
        "scale-conflict",
        lambda s: edit(s, "P = [4, 8, 16, 32]", "P = 4\nc = [2.0]"),
        r"field 'scales\.paper\.grid' must set only one of \['n', 'c'\]",
    ),
    (
        "zip-unequal",
        lambda s: edit(s, "beta_rel = 0.1", 'beta_rel = 0.1\nzip = [["n", "P"]]'),
        r"field 'grid\.zip' group \['n', 'P'\] must have axes of equal length\. Got \[2, 3\]\.",
    ),
    (
        "zip-scalar",
        lambda s: edit(s, "beta_rel = 0.1", 'beta_rel = 0.1\nzip = [["n", "beta_rel"]]'),
        r"field 'grid\.zip' must name list axes only; 'beta_rel' is the scalar",
    ),
    (
        "zip-unknown",
        lambda s: edit(s, "beta_rel = 0.1", 'beta_rel = 0.1\nzip = [["n", "m"]]'),
        r"field 'grid\.zip' names unknown axis 'm'",
    ),
    (
        "c-without-d",
        lambda s: edit(edit(s, "n = [10, 20]", "c = [2.0]"), "d = [2, 3]\n", ""),
        r"field 'grid\.c' needs 'd'",
    ),
    (
        "grid-not-table",
        lambda s: "grid = 3\n" + s.split("[instance]")[0],
        r"field 'grid' must be a table\. Got 3\.",
    ),
    (
        "quantity-unknown",
        lambda s: 'quantities = ["p_gated", "p_full"]\n' + s,
        r"field 'quantities' must name quantities from \['p_gated', 'p_relu'\]\. Got \['p_full'\]\.",
    ),
    (
        "quantity-repeated",
        lambda s: 'quantities = ["p_gated", "p_gated"]\n' + s,
        r"field 'quantities' must be a non-empty list of distinct names",
    ),
    ("invalid-toml", lambda s: s + "\n[grid\n", r"invalid TOML"),
]


def test_good_spec_loads(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    assert spec.name == "gap"
    assert spec.kind == "relaxation_gap_small"
    assert spec.config("quick").seeds == 2
    assert spec.config("paper").seeds == 3
    assert len(spec.spec_hash) == 64


def test_at_least_ten_malformed_specs() -> None:
    assert len(MALFORMED) >= 10


@pytest.mark.parametrize(("case", "mutate", "pattern"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_spec_rejected(tmp_path: Path, case: str, mutate, pattern: str) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, mutate(GOOD))
    with pytest.raises(SpecError, match=pattern) as info:
        load_spec(path)
    message = str(info.value)
    assert "\n" not in message, "spec errors are one line"
    assert str(path) in message, "spec errors name the file"


def test_missing_file_is_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"spec file not found: .*nope\.toml"):
        load_spec(tmp_path / "nope.toml")


def test_unknown_scale_name_rejected(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    with pytest.raises(
        SpecError, match=r"scale must be one of \['quick', 'standard', 'paper'\]\. Got 'huge'\."
    ):
        expand_grid(spec, "huge")


def test_cli_rejects_bad_spec_with_exit_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, edit(GOOD, "P = [4, 8, 16]", "P = 0"))
    results = tmp_path / "results"
    code = harness_main(["run", str(path), "--results-dir", str(results), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: spec 'gap' (")
    assert err.endswith("field 'grid.P' must be an int in [1, inf). Got 0.")
    assert len(err.splitlines()) == 1
    assert not results.exists()


# --------------------------------------------------------------------------- expansion
def test_cartesian_product_and_seeds(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    quick = expand_grid(spec, "quick")
    assert len(quick) == 2 * 2 * 3 * 2  # n x d x P x seeds
    combos = {(p.params["n"], p.params["d"], p.params["P"], p.seed_index) for p in quick}
    assert len(combos) == len(quick)
    for p in quick:  # scalars are fixed and solver fields are flattened
        assert p.params["beta_rel"] == 0.1
        assert p.params["labels"] == "planted"
        assert p.params["solver"] == "clarabel"
        assert p.params["max_iter"] == 200
    assert len({p.point_key for p in quick}) == len(quick)
    assert len({p.cache_key for p in quick}) == len(quick)
    # the seed index varies fastest, then the last axis (P)
    assert [p.seed_index for p in quick[:4]] == [0, 1, 0, 1]
    assert [p.params["P"] for p in quick[:6:2]] == [4, 8, 16]


def test_scale_overrides(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    paper = expand_grid(spec, "paper")
    assert len(paper) == 2 * 2 * 4 * 3
    assert sorted({p.params["P"] for p in paper}) == [4, 8, 16, 32]
    assert sorted({p.seed_index for p in paper}) == [0, 1, 2]
    # points shared by both scales have the same key, so they are computed once
    quick_keys = {p.cache_key for p in expand_grid(spec, "quick")}
    assert quick_keys <= {p.cache_key for p in paper}


def test_zip_group_ties_axes(tmp_path: Path) -> None:
    text = edit(GOOD, "beta_rel = 0.1", 'beta_rel = 0.1\nzip = [["n", "d"]]')
    spec = load_spec(write(tmp_path, text))
    pts = expand_grid(spec, "quick")
    assert len(pts) == 2 * 3 * 2
    assert {(p.params["n"], p.params["d"]) for p in pts} == {(10, 2), (20, 3)}


def test_zip_table_form(tmp_path: Path) -> None:
    text = edit(GOOD, "n = [10, 20]\nd = [2, 3]\n", "")
    text = edit(text, "[solver]", "[[grid.zip]]\nn = [10, 20, 40]\nd = [2, 3, 4]\n\n[solver]")
    spec = load_spec(write(tmp_path, text))
    pts = expand_grid(spec, "quick")
    assert len(pts) == 3 * 3 * 2
    assert {(p.params["n"], p.params["d"]) for p in pts} == {(10, 2), (20, 3), (40, 4)}


def test_ratio_c_sets_n(tmp_path: Path) -> None:
    text = edit(GOOD, "n = [10, 20]", "c = [1.5, 4]")
    pts = expand_grid(load_spec(write(tmp_path, text)), "quick")
    assert {(p.params["c"], p.params["d"], p.params["n"]) for p in pts} == {
        (1.5, 2, 3),
        (1.5, 3, 4),
        (4.0, 2, 8),
        (4.0, 3, 12),
    }


def test_int_written_for_float_field_gives_same_key(tmp_path: Path) -> None:
    a = load_spec(write(tmp_path, edit(GOOD, "beta_rel = 0.1", "beta_rel = 1"), "a.toml"))
    b = load_spec(write(tmp_path, edit(GOOD, "beta_rel = 0.1", "beta_rel = 1.0"), "b.toml"))
    assert [p.cache_key for p in expand_grid(a)] == [p.cache_key for p in expand_grid(b)]


# --------------------------------------------------------------------------- seeds
def test_point_seed_depends_on_point_only(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD, "a.toml"))
    bigger = load_spec(
        write(tmp_path, edit(GOOD, "P = [4, 8, 16]", "P = [2, 16, 4, 8, 64]"), "b.toml")
    )
    by_key = {p.point_key: p for p in expand_grid(bigger, "quick")}
    for p in expand_grid(spec, "quick"):
        q = by_key[p.point_key]
        assert q.spawn_key == p.spawn_key
        assert q.cache_key == p.cache_key
        np.testing.assert_array_equal(
            p.seed.generate_state(4), q.seed.generate_state(4)
        )  # same entropy -> same stream, bit for bit
    assert p.seed.entropy == 7
    assert p.spawn_key == (stable_hash(point_key(p.params, p.seed_index)),)


def test_spec_seed_changes_every_stream(tmp_path: Path) -> None:
    a = expand_grid(load_spec(write(tmp_path, GOOD, "a.toml")))
    b = expand_grid(load_spec(write(tmp_path, edit(GOOD, "seed = 7", "seed = 8"), "b.toml")))
    for p, q in zip(a, b):
        assert p.point_key == q.point_key
        assert p.cache_key != q.cache_key
        assert not np.array_equal(p.seed.generate_state(4), q.seed.generate_state(4))


def test_stable_hash_is_stable_across_processes() -> None:
    code = "from harness.sweep.grid import stable_hash; print(stable_hash('abc'))"
    outs = set()
    for hashseed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        res = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        outs.add(res.stdout.strip())
    assert outs == {str(stable_hash("abc"))}


def test_quantities_become_a_sorted_point_parameter(tmp_path: Path) -> None:
    a = load_spec(write(tmp_path, 'quantities = ["p_relu", "p_gated"]\n' + GOOD, "a.toml"))
    b = load_spec(write(tmp_path, 'quantities = ["p_gated", "p_relu"]\n' + GOOD, "b.toml"))
    c = load_spec(write(tmp_path, 'quantities = ["p_gated"]\n' + GOOD, "c.toml"))
    pa, pb, pc = expand_grid(a)[0], expand_grid(b)[0], expand_grid(c)[0]
    assert pa.params["quantities"] == "p_gated,p_relu"
    assert pa.cache_key == pb.cache_key
    assert pc.params["quantities"] == "p_gated" and pc.cache_key != pa.cache_key


def test_quantities_rejected_for_kind_without_them() -> None:
    data = {"name": "s", "kind": "synthetic_cost", "seed": 1, "grid": {"x": 1}}
    with pytest.raises(SpecError, match=r"field 'quantities' is not supported by kind"):
        parse_spec({**data, "quantities": ["draw"]})


def test_parse_spec_from_dict() -> None:
    spec = parse_spec({"name": "s", "kind": "synthetic_cost", "seed": 1, "grid": {"x": [1, 2, 3]}})
    assert [p.params["x"] for p in expand_grid(spec)] == [1, 2, 3]
    with pytest.raises(SpecError, match=r"spec 's' \(<dict>\): field 'grid\.x' must be an int"):
        parse_spec({"name": "s", "kind": "synthetic_cost", "seed": 1, "grid": {"x": 1.5}})
