"""Result scales: the ``[scales.*]`` profiles of every spec, smallest first.

``quick`` is the tiny size of the tests and CI (a pipeline test, not evidence: minutes on
two cores); ``standard`` the default of ``make reproduce`` (the largest instances that fit a
budget of about 15 minutes on two cores, so that its figures look like the paper's and its
verdicts mean something, INCONCLUSIVE where the power is not there); ``paper`` the sizes of
the papers' figures (hours; see each spec's header for its run time, or "not yet
measured"). A spec without a ``[scales.X]`` table runs the profile of ``X``'s
:attr:`Scale.fallback` (``standard`` falls back to ``quick``), else its base tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.errors import SpecError
from harness.registry import Registry


@dataclass(frozen=True)
class Scale:
    """A result scale: its name and what it is for."""

    name: str
    description: str
    #: The scale whose ``[scales.*]`` profile a spec without its own table uses
    #: (``None``: the spec's base tables).
    fallback: str | None = None


SCALES: Registry[Scale] = Registry("scale", error=SpecError)
SCALES.add("quick", Scale("quick", "CI size: every spec in minutes on two cores"))
SCALES.add(
    "standard",
    Scale(
        "standard",
        "default of `make reproduce`: largest sizes within ~15 min on two cores",
        fallback="quick",
    ),
)
SCALES.add("paper", Scale("paper", "the sizes of the papers' figures and tables"))

#: The scale names in order (for argparse ``choices`` and spec validation).
SCALE_NAMES: tuple[str, ...] = tuple(SCALES)
#: Scale of the commands that run or read one spec (``harness run``, ``check``, ...): tiny.
DEFAULT_SCALE = "quick"
#: Scale of ``harness reproduce`` / ``make reproduce``: the budgeted evidence scale.
REPRODUCE_SCALE = "standard"


def profile_name(scale: str, defined: Iterable[str]) -> str | None:
    """The ``[scales.*]`` profile a spec defining ``defined`` uses at ``scale`` (or ``None``).

    The scale's own table when the spec has one, else its fallback's (recursively), else
    ``None`` (the base tables).
    """
    names = set(defined)
    current: str | None = scale
    while current is not None:
        if current in names:
            return current
        current = SCALES.get_or_fail(current).fallback
    return None
