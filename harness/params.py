"""Parameter constraints written as data: a type and an interval, a set of options, ...

In the manner of scikit-learn's ``utils/_param_validation.py`` (``Interval``,
``StrOptions``): a constraint ``check``s a value and returns it (coerced), or raises
``ValueError`` whose text is the tail of a one-line message, ``"must be an int in
[1, inf). Got 0."``. The spec schema (:mod:`harness.sweep.schema`), the kinds' declared
parameters (:mod:`harness.kinds`) and library functions use the same classes; this module
imports nothing from the harness but :mod:`harness.errors`, so anything may import it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar


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


def check_value(name: str, constraint: Constraint, value: Any) -> Any:
    """``constraint.check(value)`` with a one-line ``InputError`` naming ``name``."""
    from harness.errors import InputError

    try:
        return constraint.check(value)
    except ValueError as exc:
        raise InputError(f"{name} {exc}") from exc


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


# --------------------------------------------------------------------------- parameter sets
#: ``Field.metadata`` key holding a field's constraint.
CONSTRAINT_KEY = "constraint"

P = TypeVar("P", bound="Parameters")


def param(constraint: Constraint, default: Any = MISSING) -> Any:
    """A field of a :class:`Parameters` dataclass, checked by ``constraint``.

    ``default=None`` makes an optional field whose absence the kind handles (``beta`` or
    ``beta_rel``); ``None`` is never checked against the constraint.
    """
    meta = {CONSTRAINT_KEY: constraint}
    if default is MISSING:
        return field(metadata=meta, kw_only=True)
    return field(default=default, metadata=meta, kw_only=True)


class Parameters:
    """Base of the frozen parameter dataclasses (one per experiment kind).

    Subclasses are ``@dataclass(frozen=True, kw_only=True)`` whose fields are made with
    :func:`param`: the constraint of each field is data, the default is the kind's
    documented choice. :meth:`build` checks every value once, against those constraints,
    and the kind then reads plain attributes (``p.n``, ``p.delta``) without checking them
    again. The spec loader checks the same constraints field by field, before a run starts.
    """

    @classmethod
    def constraints(cls) -> dict[str, Constraint]:
        """Field name -> constraint."""
        found = fields(cls)  # type: ignore[arg-type]
        return {f.name: f.metadata[CONSTRAINT_KEY] for f in found if CONSTRAINT_KEY in f.metadata}

    @classmethod
    def build(cls: type[P], values: Mapping[str, Any], *, check: bool = True) -> P:
        """The parameters of ``values`` (a point); keys that are not fields are ignored.

        Raises
        ------
        InputError
            A required field is missing, or (``check``) a value breaks its constraint.
        """
        from harness.errors import InputError

        kwargs: dict[str, Any] = {}
        missing = []
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name in values:
                value = values[f.name]
                constraint = f.metadata.get(CONSTRAINT_KEY)
                if check and constraint is not None and value is not None:
                    value = check_value(f"field '{f.name}'", constraint, value)
                kwargs[f.name] = value
            elif f.default is MISSING and f.default_factory is MISSING:
                missing.append(f.name)
        if missing:
            raise InputError(
                f"{cls.__name__} needs field(s) {missing}; got fields {sorted(values)}"
            )
        out = cls(**kwargs)
        object.__setattr__(out, "_given", frozenset(kwargs))  # frozen: set once, here
        return out

    @property
    def given(self) -> frozenset[str]:
        """The fields set by the point (the others hold their defaults)."""
        return getattr(self, "_given", frozenset(f.name for f in fields(self)))  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict (field order)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def preflight(self) -> None:
        """Checks of the whole point that must pass before a sweep computes anything.

        The default has none. A kind whose point can be refused from its parameters alone
        (a program too large for memory) overrides it and raises a :class:`HarnessError`
        with the reason; ``harness run`` and ``reproduce`` call it for every point first, so a
        refused spec writes nothing.
        """
