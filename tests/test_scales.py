"""Result scales (issue 14 item 7): quick (tests), standard (default of reproduce), paper."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

from harness.cli.app import build_parser
from harness.errors import SpecError
from harness.pipeline import reproduce
from harness.scales import DEFAULT_SCALE, REPRODUCE_SCALE, SCALE_NAMES, profile_name
from harness.sweep.grid import expand_grid
from harness.sweep.spec import load_spec, parse_spec

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = REPO / "experiments"

_SPEC: dict[str, Any] = {
    "name": "s",
    "kind": "kappa",
    "seed": 1,
    "seeds": 1,
    "grid": {"n": 20, "d": 4},
    "scales": {"quick": {"seeds": 2}},
}


def test_scale_names_and_defaults() -> None:
    assert SCALE_NAMES == ("quick", "standard", "paper")
    assert DEFAULT_SCALE == "quick" and REPRODUCE_SCALE == "standard"


def test_reproduce_defaults_to_standard() -> None:
    import inspect

    assert inspect.signature(reproduce).parameters["scale"].default == "standard"
    args = build_parser().parse_args(["reproduce"])
    assert args.scale == "standard"
    assert build_parser().parse_args(["run", "x.toml"]).scale == "quick"
    make = (REPO / "Makefile").read_text()
    assert re.search(r"^SCALE\s*\?=\s*standard\s*$", make, re.M)


def test_standard_falls_back_to_the_quick_profile() -> None:
    assert profile_name("standard", {"quick"}) == "quick"
    assert profile_name("standard", {"quick", "standard"}) == "standard"
    assert profile_name("paper", {"quick"}) is None
    spec = parse_spec(_SPEC)
    assert spec.config("standard").seeds == spec.config("quick").seeds == 2
    assert spec.config("paper").seeds == 1  # paper has no fallback: the base tables
    own = parse_spec({**_SPEC, "scales": {**_SPEC["scales"], "standard": {"seeds": 3}}})
    assert own.config("standard").seeds == 3
    with pytest.raises(SpecError, match="not a valid scale"):
        parse_spec({**_SPEC, "scales": {"huge": {"seeds": 1}}})


def _ns(spec_name: str, scale: str) -> list[dict[str, Any]]:
    return [p.params for p in expand_grid(load_spec(EXPERIMENTS / f"{spec_name}.toml"), scale)]


def test_relaxation_gap_standard_meets_the_trend_design_at_the_rule_count() -> None:
    spec = load_spec(EXPERIMENTS / "relaxation_gap.toml")
    cfg = spec.config("standard")
    ns = sorted({int(p["n"]) for p in _ns("relaxation_gap", "standard")})
    assert len(ns) >= 4 and ns[-1] / ns[0] >= 8 and cfg.seeds >= 3
    # the cap is a memory guard above every measured P_rule (<= 6 600 on the paper grid)
    for scale in ("standard", "paper"):
        assert spec.config(scale).axes["P_cap"] >= 20000
    assert spec.config("quick").axes["P_cap"] <= 400  # quick stays tiny (and capped)
    paper = _ns("relaxation_gap", "paper")
    assert any(p["n"] == 640 and p["d"] == 160 for p in paper)
    assert "P" in spec.config("paper").axes  # the fixed-P rows are kept


def test_stationary_paper_grid_at_thm_2_5_width() -> None:
    spec = load_spec(EXPERIMENTS / "stationary.toml")
    assert spec.config("paper").axes["width_at_rule"] is True
    assert "width_at_rule" not in spec.config("quick").axes


def test_coupling_paper_widths_reach_the_resource_limit_with_scaled_lr() -> None:
    spec = load_spec(EXPERIMENTS / "coupling.toml")
    paper = spec.config("paper").axes
    assert max(paper["width"]) == 16384 and paper["lr_width_ref"] >= 1
    assert len(paper["n"]) >= 2 and paper["lemma_width_over_n"] > 0
    quick = spec.config("quick").axes
    assert max(quick["width"]) <= 256  # the tests' scale stays tiny
    assert "lr_width_ref" not in quick


@pytest.mark.parametrize("spec_path", sorted(EXPERIMENTS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_spec_has_every_scale(spec_path: Path) -> None:
    spec = load_spec(spec_path)
    assert set(spec.scales) == set(SCALE_NAMES)
    assert all(math.isfinite(spec.config(s).seeds) for s in SCALE_NAMES)
