"""Experiment kinds: the per-point computation a sweep runs.

A kind is a function ``fn(params, seed) -> list[dict]``: ``params`` is the kind's frozen
parameter dataclass (a :class:`harness.params.Parameters`) built from one grid point,
``seed`` the point's ``numpy.random.SeedSequence``. It returns flat rows (scalars only); the
sweep engine adds provenance columns. Kinds live in the registry :data:`KINDS` (a
:class:`harness.registry.Registry`) and are looked up by the name used in spec files
(``kind = "..."``). A registered :class:`Kind` is called with a point dict or with its
parameters (``get_kind("kappa")({"n": 40, "d": 10}, seed)``).

Adding a kind
-------------
1. Write ``harness/kinds/NAME.py``. Declare the parameters as one frozen dataclass::

       @dataclass(frozen=True, kw_only=True)
       class MyParams(SyntheticInstance):          # n, d, labels, ... and .instance(seed)
           P: int = param(Interval(int, 1, None))   # required
           delta: float = param(Interval(float, 0.0, 1.0, closed="neither"), 0.1)

   one :func:`harness.params.param` per field: its constraint (``Interval``, ``Options``,
   ``Flag``, ``IntList`` of :mod:`harness.params`) and its default, the kind's documented
   choice. Common bases live in :mod:`harness.kinds.common`.
2. Register the function ``fn(p: MyParams, seed)`` with
   ``@register_kind("NAME", params=MyParams, requires=[("n", "c"), ("d",)])``; ``requires``
   lists the groups of fields a spec must set one of, ``quantities`` the names a spec may
   select.
3. The spec loader validates every field of every point against the dataclass's
   constraints before anything runs (one ``error:`` line naming the spec, the field and the
   allowed values); building the dataclass applies the same constraints (that is how a
   derived ``n = round(c d)`` is checked), and the kind reads attributes (``p.delta``),
   never the raw point.
4. Import only library modules (never :mod:`harness.sweep`): the sweep engine depends on
   the kinds, not the reverse. Importing the module registers the kind (the registry imports
   every module of this package on its first lookup).

Every kind of this package follows this pattern. :func:`declare_kind_params` remains for a
kind that still takes the raw point dict (a kind written before the dataclasses): it
declares that kind's extra fields and their constraints instead; move such a kind to the
pattern above.
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
from harness.params import Constraint, Parameters
from harness.registry import Registry

KindFn = Callable[[Any, np.random.SeedSequence], list[dict[str, Any]]]


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
    params_cls: type[Parameters] | None = None

    def __call__(
        self, point: Mapping[str, Any] | Parameters, seed: np.random.SeedSequence
    ) -> list[dict[str, Any]]:
        """Run the kind on a point dict or on its parameter dataclass.

        The dataclass is built with the same constraints the spec loader checked; points
        of a loaded spec pass them by construction, and values the grid derives (``n``
        from ``c``) or a direct library call supplies are caught here, once.
        """
        return self.fn(self.parameters(point), seed)

    def preflight(self, point: Mapping[str, Any] | Parameters) -> None:
        """Run the parameters' :meth:`~harness.params.Parameters.preflight` (dict kinds: none)."""
        params = self.parameters(point)
        if isinstance(params, Parameters):
            params.preflight()

    def parameters(self, point: Mapping[str, Any] | Parameters, check: bool = True) -> Any:
        """The kind's parameter dataclass of ``point`` (a plain dict for dict kinds)."""
        if self.params_cls is None:
            return dict(point) if not isinstance(point, Parameters) else point
        if isinstance(point, self.params_cls):
            return point
        if isinstance(point, Parameters):
            point = point.as_dict()
        return self.params_cls.build(point, check=check)


def _import_kind_modules() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


KINDS: Registry[Kind] = Registry("kind", error=SpecError, load=_import_kind_modules)

#: The names the modules of this package register. The spec loader refuses any other name
#: (unless registered at run time) without importing the kind modules, so a misspelt kind is
#: a fast one-line error (issue 11); ``tests/kinds/test_kind_names.py`` keeps this list equal
#: to what the modules register.
BUILTIN_KINDS: tuple[str, ...] = (
    "chernoff_rank",
    "coupling",
    "deep_fmnist",
    "deep_synthetic",
    "deep_uci",
    "kappa",
    "maxcut",
    "regularization",
    "relaxation_gap",
    "relaxation_gap_small",
    "relaxation_width",
    "ridge",
    "shallow_multi",
    "shallow_single",
    "sharpness",
    "stationary",
    "synthetic_cost",
)


def is_kind_name(name: str) -> bool:
    """Whether ``name`` is a kind, without importing the kind modules when it is not one."""
    if name in BUILTIN_KINDS or KINDS.registered(name) is not None:
        return name in KINDS
    return False


def register_kind(
    name: str,
    params: type[Parameters] | None = None,
    requires: Sequence[Sequence[str]] = (),
    quantities: Sequence[str] = (),
) -> Callable[[KindFn], KindFn]:
    """Decorator registering an experiment kind under ``name``.

    Parameters
    ----------
    name : str
    params : Parameters subclass, optional
        The kind's frozen parameter dataclass; its fields' constraints are what the spec
        loader validates. Without it the kind takes the point dict (older kinds).
    requires, quantities
        See :func:`declare_kind_params`.
    """

    def deco(fn: KindFn) -> KindFn:
        KINDS.add(
            name,
            Kind(
                name,
                fn,
                params=params.constraints() if params is not None else {},
                requires=tuple(tuple(g) for g in requires),
                quantities=tuple(quantities),
                params_cls=params,
            ),
        )
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


def load_kinds() -> dict[str, Kind]:
    """Every registered kind, by name (imports the kind modules once)."""
    return dict(KINDS.items())


def get_kind(name: str) -> Kind:
    """The kind ``name`` (callable as ``kind(point, seed)``); ``SpecError`` if unknown."""
    return kind_info(name)
