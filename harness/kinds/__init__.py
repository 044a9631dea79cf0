"""Experiment kinds: the per-point computation a sweep runs.

A kind is a function ``fn(point, seed) -> list[dict]``: ``point`` is the dict of one grid
point's parameters (already validated by the spec loader), ``seed`` the point's
``numpy.random.SeedSequence``. It returns flat rows (scalars only); the sweep engine adds
provenance columns. Kinds are registered with :func:`register_kind` and looked up by the
name used in spec files (``kind = "..."``).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import numpy as np

from harness.errors import SpecError

KindFn = Callable[[dict[str, Any], np.random.SeedSequence], list[dict[str, Any]]]
KINDS: dict[str, KindFn] = {}


def register_kind(name: str) -> Callable[[KindFn], KindFn]:
    """Decorator registering an experiment kind under ``name``."""

    def deco(fn: KindFn) -> KindFn:
        KINDS[name] = fn
        return fn

    return deco


def load_kinds() -> dict[str, KindFn]:
    """Import every module of this package (each registers its kinds) and return them."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return KINDS


def get_kind(name: str) -> KindFn:
    """The kind registered as ``name``; ``SpecError`` listing valid names otherwise."""
    kinds = load_kinds()
    if name not in kinds:
        raise SpecError(f"field 'kind' must be one of {sorted(kinds)}; got {name!r}")
    return kinds[name]
