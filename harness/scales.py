"""Result scales: the ``[scales.*]`` profiles of every spec, smallest first.

``quick`` is the CI size (minutes on two cores); ``paper`` the sizes of the papers'
figures (hours; see each spec's header for its measured run time).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import SpecError
from harness.registry import Registry


@dataclass(frozen=True)
class Scale:
    """A result scale: its name and what it is for."""

    name: str
    description: str


SCALES: Registry[Scale] = Registry("scale", error=SpecError)
SCALES.add("quick", Scale("quick", "CI size: every spec in minutes on two cores"))
SCALES.add("paper", Scale("paper", "the sizes of the papers' figures and tables"))

#: The scale names in order (for argparse ``choices`` and spec validation).
SCALE_NAMES: tuple[str, ...] = tuple(SCALES)
DEFAULT_SCALE = "quick"
