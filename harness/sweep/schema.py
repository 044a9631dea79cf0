"""Spec schema written as data: each field maps to a type and an interval or options.

THEORY.md is not involved here; this module only states which values a spec may hold,
in the manner of scikit-learn's ``utils/_param_validation.py`` (``Interval``,
``StrOptions``). Every check returns the tail of the one-line message
``"must be an int in [1, inf). Got 0."``; :mod:`harness.sweep.spec` prefixes it with the
spec name, path and field.

Kinds may declare extra grid parameters and required ones with
:func:`declare_kind_params` (called at import time of the kind's module).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Interval:
    """A number of ``type`` (int or float) in an interval; ``None`` bounds are infinite."""

    type: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # which ends are included: both, left, right, neither

    def describe(self) -> str:
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        lo = "-inf" if self.low is None else _fmt(self.low)
        hi = "inf" if self.high is None else _fmt(self.high)
        article = "an int" if self.type is int else "a float"
        return f"{article} in {left}{lo}, {hi}{right}"

    def check(self, value: Any) -> Any:
        """The value coerced to ``type``; raises ``ValueError(message tail)`` otherwise."""
        if isinstance(value, bool):
            raise ValueError(self._msg(value))
        if self.type is int:
            if not isinstance(value, int):
                raise ValueError(self._msg(value))
            out: Any = int(value)
        else:
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(self._msg(value))
            out = float(value)
        if self.low is not None:
            bad = out < self.low if self.closed in ("both", "left") else out <= self.low
            if bad:
                raise ValueError(self._msg(value))
        if self.high is not None:
            bad = out > self.high if self.closed in ("both", "right") else out >= self.high
            if bad:
                raise ValueError(self._msg(value))
        return out

    def _msg(self, value: Any) -> str:
        return f"must be {self.describe()}. Got {value!r}."


@dataclass(frozen=True)
class Options:
    """One of a fixed set of strings (or of a set computed when checked)."""

    values: tuple[str, ...]

    def describe(self) -> str:
        return f"one of {list(self.values)}"

    def check(self, value: Any) -> Any:
        if not isinstance(value, str) or value not in self.values:
            raise ValueError(f"must be {self.describe()}. Got {value!r}.")
        return value


@dataclass(frozen=True)
class Text:
    """Any string, optionally restricted to a character set (for names used as paths)."""

    allowed: str | None = None
    what: str = "a string"

    def describe(self) -> str:
        return self.what

    def check(self, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            raise ValueError(f"must be {self.what}. Got {value!r}.")
        if self.allowed is not None and any(ch not in self.allowed for ch in value):
            raise ValueError(f"must be {self.what}. Got {value!r}.")
        return value


def parse_P_list(text: str) -> list[int]:
    """``"4,8,16"`` -> ``[4, 8, 16]``: a ``P_list`` field (nested pattern counts).

    Raises
    ------
    InputError
        Not a comma-separated strictly increasing list of positive integers.
    """
    from harness.errors import InputError

    try:
        vals = [int(v) for v in str(text).split(",")]
    except ValueError as exc:
        raise InputError(f"P_list must be comma-separated integers; got {text!r}") from exc
    if not vals or min(vals) < 1 or any(b <= a for a, b in itertools.pairwise(vals)):
        raise InputError(f"P_list must be strictly increasing positive integers; got {text!r}")
    return vals


@dataclass(frozen=True)
class IntList(Text):
    """A ``P_list``-style field: a comma-separated strictly increasing list of positive ints."""

    allowed: str | None = "0123456789,"
    what: str = "a comma-separated increasing list of positive ints, e.g. '8,32'"

    def check(self, value: Any) -> Any:
        super().check(value)
        from harness.errors import InputError

        try:
            parse_P_list(value)
        except InputError as exc:
            raise ValueError(f"must be {self.what}. Got {value!r}.") from exc
        return value


@dataclass(frozen=True)
class Flag:
    """A boolean."""

    def describe(self) -> str:
        return "a bool"

    def check(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ValueError(f"must be a bool. Got {value!r}.")
        return value


Constraint = Interval | Options | Text | Flag

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."

#: Top-level scalar fields of a spec (tables ``instance``, ``grid``, ``solver``,
#: ``scales`` are handled by :mod:`harness.sweep.spec`).
TOP_FIELDS: dict[str, Constraint] = {
    "name": Text(_NAME_CHARS, "a name of letters, digits, '_', '-', '.'"),
    "kind": Text(),  # checked against the kind registry at load time
    "seed": Interval(int, 0, 2**63 - 1),
    "description": Text(what="a non-empty string"),
    "seeds": Interval(int, 1, None),
}
REQUIRED_TOP = ("name", "kind", "seed", "grid")
TOP_TABLES = ("instance", "grid", "solver", "scales")
#: Optional top-level list of the quantities the kind should compute (a subset of the
#: kind's declared quantities); passed to the kind as the point parameter ``quantities``,
#: a comma-joined sorted string, so it is part of every point key.
TOP_LISTS = ("quantities",)

#: ``[instance]``: parameters of the instance generator (harness.instances.gaussian_instance).
INSTANCE_FIELDS: dict[str, Constraint] = {
    "generator": Options(("gaussian",)),
    "labels": Options(("planted", "gaussian")),
    "teacher_width": Interval(int, 1, None),
    "weight_law": Options(("gaussian", "rademacher")),
    "noise": Interval(float, 0.0, None),
}

#: ``[grid]``: the axes every kind may use. ``c = n / d`` replaces ``n``; ``beta_rel`` is a
#: fraction of ``beta_max = max_i ||X^T D_i y||`` (THEORY.md §A8, STYLE "No hidden scaling").
GRID_FIELDS: dict[str, Constraint] = {
    "n": Interval(int, 1, None),
    "c": Interval(float, 0.0, None, closed="neither"),
    "d": Interval(int, 1, None),
    "P": Interval(int, 1, None),
    "beta": Interval(float, 0.0, None, closed="neither"),
    "beta_rel": Interval(float, 0.0, 1.0, closed="right"),
    "width": Interval(int, 1, None),
}

#: ``[solver]``: solver name (checked against the solver registry), tolerance, iterations.
#: In a point they appear as ``solver``, ``tol`` and ``max_iter``.
SOLVER_FIELDS: dict[str, Constraint] = {
    "name": Text(),  # checked against harness.solvers.registry.available_solvers()
    "tol": Interval(float, 0.0, 1.0, closed="neither"),
    "max_iter": Interval(int, 1, None),
}
SOLVER_POINT_NAMES = {"name": "solver", "tol": "tol", "max_iter": "max_iter"}

#: Scale profiles a spec may define; each overrides ``seeds`` and the three tables.
SCALES = ("quick", "paper")
SCALE_FIELDS = ("seeds", "instance", "grid", "solver", "description")

#: Pairs of grid fields of which at most one may be set.
EXCLUSIVE = (("n", "c"), ("beta", "beta_rel"))


@dataclass(frozen=True)
class KindParams:
    """Extra grid fields a kind accepts, required field groups, computable quantities."""

    params: Mapping[str, Constraint] = field(default_factory=dict)
    requires: tuple[tuple[str, ...], ...] = ()
    quantities: tuple[str, ...] = ()


KIND_PARAMS: dict[str, KindParams] = {}


def declare_kind_params(
    kind: str,
    params: Mapping[str, Constraint] | None = None,
    requires: Sequence[Sequence[str]] = (),
    quantities: Sequence[str] = (),
) -> None:
    """Declare the extra grid fields of ``kind`` and its required field groups.

    Parameters
    ----------
    kind : str
        Registered kind name.
    params : mapping of str to constraint, optional
        Grid fields beyond :data:`GRID_FIELDS` that the kind reads.
    requires : sequence of sequences of str
        Each group lists alternatives of which exactly one must be set by the spec
        (in ``[grid]``, ``[instance]`` or ``[solver]``), e.g. ``[("n", "c"), ("d",)]``.
    quantities : sequence of str
        Names a spec may list in its top-level ``quantities``; empty means the kind takes
        no ``quantities`` selection.
    """
    KIND_PARAMS[kind] = KindParams(
        dict(params or {}), tuple(tuple(g) for g in requires), tuple(quantities)
    )


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))
