"""Experiment kinds: the per-point computation a sweep runs.

A kind is a function ``fn(point, seed) -> list[dict]``: ``point`` is the dict of one grid
point's parameters, ``seed`` the point's ``numpy.random.SeedSequence``. It returns flat rows
(scalars only); the sweep engine adds provenance columns. Kinds live in the registry
:data:`KINDS` (a :class:`harness.registry.Registry`) and are looked up by the name used in
spec files (``kind = "..."``).

Adding a kind
-------------
1. Write ``harness/kinds/NAME.py`` with the function, decorated ``@register_kind("NAME")``.
2. Declare, right after it, the parameters it reads beyond the common spec fields
   (:data:`harness.sweep.schema.GRID_FIELDS`, ``[instance]``, ``[solver]``) with
   :func:`declare_kind_params`: one constraint of :mod:`harness.params` per field
   (``Interval``, ``Options``, ``Flag``, ``IntList``, ...), the groups of fields a spec must
   set (``requires=[("n", "c"), ("d",)]``) and the quantities a spec may select.
3. The spec loader validates every field of every point against those constraints before
   anything runs (one ``error:`` line naming the spec, the field and the allowed values), so
   the kind reads its parameters without checking them again; defaults of optional fields
   are the kind's documented choices.
4. Import only library modules (never :mod:`harness.sweep`): the sweep engine depends on
   the kinds, not the reverse. Importing the module registers the kind (the registry imports
   every module of this package on its first lookup).
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.errors import SpecError
from harness.params import Constraint
from harness.registry import Registry

KindFn = Callable[[dict[str, Any], np.random.SeedSequence], list[dict[str, Any]]]


@dataclass(frozen=True)
class Kind:
    """A registered kind: its function and the parameters the spec loader validates.

    Attributes
    ----------
    name : str
    fn : callable ``(point, seed) -> list of dict rows``
    params : mapping of str to constraint
        Grid fields beyond the common ones that the kind reads.
    requires : tuple of tuple of str
        Groups of alternatives of which a spec must set one (``("n", "c")``).
    quantities : tuple of str
        Names a spec may list in its top-level ``quantities``.
    """

    name: str
    fn: KindFn
    params: Mapping[str, Constraint] = field(default_factory=dict)
    requires: tuple[tuple[str, ...], ...] = ()
    quantities: tuple[str, ...] = ()


def _import_kind_modules() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


KINDS: Registry[Kind] = Registry("kind", error=SpecError, load=_import_kind_modules)


def register_kind(name: str) -> Callable[[KindFn], KindFn]:
    """Decorator registering an experiment kind under ``name``."""

    def deco(fn: KindFn) -> KindFn:
        KINDS.add(name, Kind(name, fn))
        return fn

    return deco


def declare_kind_params(
    kind: str,
    params: Mapping[str, Constraint] | None = None,
    requires: Sequence[Sequence[str]] = (),
    quantities: Sequence[str] = (),
) -> None:
    """Declare the extra grid fields of the registered ``kind`` and its required groups.

    Parameters
    ----------
    kind : str
        A name already registered with :func:`register_kind` (in the same module).
    params : mapping of str to constraint, optional
        Grid fields beyond :data:`harness.sweep.schema.GRID_FIELDS` that the kind reads.
    requires : sequence of sequences of str
        Each group lists alternatives of which exactly one must be set by the spec
        (in ``[grid]``, ``[instance]`` or ``[solver]``), e.g. ``[("n", "c"), ("d",)]``.
    quantities : sequence of str
        Names a spec may list in its top-level ``quantities``; empty means the kind takes
        no ``quantities`` selection.
    """
    current = KINDS.registered(kind)
    if current is None:
        raise ValueError(f"declare_kind_params: kind {kind!r} is not registered")
    KINDS.add(
        kind,
        dataclasses.replace(
            current,
            params=dict(params or {}),
            requires=tuple(tuple(g) for g in requires),
            quantities=tuple(quantities),
        ),
    )


def kind_info(name: str) -> Kind:
    """The registered :class:`Kind` ``name``; ``SpecError`` listing valid names otherwise."""
    return KINDS.get_or_fail(name, field="kind")


def load_kinds() -> dict[str, KindFn]:
    """Every registered kind's function, by name (imports the kind modules once)."""
    return {name: k.fn for name, k in KINDS.items()}


def get_kind(name: str) -> KindFn:
    """The function of kind ``name``; ``SpecError`` listing valid names otherwise."""
    return kind_info(name).fn
