"""harness.registry: the one registry class behind kinds, figures and scales."""

from __future__ import annotations

import pytest

from harness.errors import SpecError
from harness.registry import Registry


def test_lookup_lists_valid_names_and_load_runs_once() -> None:
    calls: list[int] = []
    reg: Registry[int] = Registry("thing", error=SpecError, load=lambda: calls.append(1))
    reg.add("b", 2)
    reg.add("a", 1)
    assert reg.registered("a") == 1 and calls == []  # no load for a registration check
    assert reg.names() == ["a", "b"] and calls == [1]
    assert reg["a"] == 1 and "b" in reg and len(reg) == 2 and dict(reg) == {"b": 2, "a": 1}
    with pytest.raises(SpecError, match=r"field 'kind' must be one of \['a', 'b'\]; got 'z'"):
        reg.get_or_fail("z", field="kind")
    assert calls == [1]


def test_kinds_figures_and_scales_are_registries() -> None:
    from harness.figures import FIGURES
    from harness.kinds import KINDS, get_kind, kind_info
    from harness.scales import SCALE_NAMES, SCALES

    for reg in (KINDS, FIGURES, SCALES):
        assert isinstance(reg, Registry)
    assert (
        SCALE_NAMES == ("quick", "standard", "paper")
        and SCALES.get_or_fail("paper").name == "paper"
    )
    assert "kappa" in KINDS and kind_info("kappa").requires == (("n", "c"), ("d",))
    assert get_kind("kappa") is KINDS["kappa"]
    assert "fig1" in FIGURES
    with pytest.raises(SpecError, match="field 'kind' must be one of"):
        get_kind("no_such_kind")
