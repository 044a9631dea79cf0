"""Experiment specs: a TOML file validated in full before anything runs.

A spec (``experiments/NAME.toml``) names the experiment kind, the instance generator
parameters (``[instance]``), the grid axes (``[grid]``; a list is a Cartesian axis, a
scalar is fixed, ``zip`` ties list axes together), the solver settings (``[solver]``),
the number of repeat ``seeds`` per point and the scale profiles ``[scales.quick]`` /
``[scales.paper]`` that override any of these. The beta rule is written as ``beta``
(absolute) or ``beta_rel`` (fraction of ``beta_max = max_i ||X^T D_i y||``, THEORY.md §A8
"How to choose beta"). The allowed fields live as data in :mod:`harness.sweep.schema`.

Every problem is reported as one line, ``spec 'NAME' (PATH): field 'grid.P' must be an
int in [1, inf). Got 0.``, raised as :class:`harness.errors.SpecError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from harness.errors import SpecError
from harness.scales import profile_name
from harness.sweep import schema as S

if TYPE_CHECKING:
    from harness.kinds import Kind

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: Name used for the grid of a scale a spec does not override (the base tables).
DEFAULT_SCALE = "quick"


@dataclass(frozen=True)
class ScaleConfig:
    """The effective grid of one scale: base tables merged with the scale's overrides.

    Attributes
    ----------
    scale : str
        ``"quick"`` or ``"paper"``.
    seeds : int
        Repeat seeds per grid point.
    axes : dict
        Point parameter name -> scalar (fixed) or list (axis), in spec order. ``[solver]``
        fields appear as ``solver``, ``tol``, ``max_iter``.
    zip : tuple of tuple of str
        Groups of list axes that advance together.
    """

    scale: str
    seeds: int
    axes: dict[str, Any]
    zip: tuple[tuple[str, ...], ...]
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def source(self, name: str) -> str:
        """The spec field path that set point parameter ``name`` (for messages)."""
        return self.sources.get(name, name)


@dataclass(frozen=True)
class Spec:
    """A validated experiment spec.

    Attributes
    ----------
    name, kind, description : str
    seed : int
        Root entropy of every point's ``SeedSequence``.
    path : str
        File the spec was read from (``"<dict>"`` for :func:`parse_spec` input).
    scales : dict of str to ScaleConfig
        One entry per name in :data:`harness.sweep.schema.SCALES`.
    data : dict
        The parsed TOML content (plain data).
    spec_hash : str
        SHA-256 of the canonical JSON of ``data`` (whitespace and comments do not count).
    """

    name: str
    kind: str
    seed: int
    description: str
    path: str
    scales: dict[str, ScaleConfig]
    data: dict[str, Any]
    spec_hash: str

    def config(self, scale: str) -> ScaleConfig:
        """The :class:`ScaleConfig` of ``scale``; ``SpecError`` for an unknown name."""
        if scale not in self.scales:
            raise SpecError(
                f"spec '{self.name}' ({self.path}): scale must be one of "
                f"{list(self.scales)}. Got {scale!r}."
            )
        return self.scales[scale]


class _Ctx:
    """Where we are (spec name and file) so every message has the same shape."""

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path

    def fail(self, field: str, tail: str) -> NoReturn:
        raise SpecError(f"spec '{self.name}' ({self.path}): field '{field}' {tail}")


def load_spec(path: str | os.PathLike[str]) -> Spec:
    """Read and validate the spec file ``path`` (TOML).

    Raises
    ------
    SpecError
        Missing or unreadable file, invalid TOML, unknown key, wrong type, empty axis,
        impossible value, unknown kind or solver; one line naming the file and field.
    """
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"spec file not found: {p}")
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"spec '{p.stem}' ({p}): invalid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"spec '{p.stem}' ({p}): not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
            f"offset {exc.start}); save the file as UTF-8"
        ) from exc
    except OSError as exc:
        raise SpecError(f"spec '{p.stem}' ({p}): cannot read file: {exc}") from exc
    return parse_spec(data, path=str(p))


def parse_spec(data: Mapping[str, Any], path: str = "<dict>") -> Spec:
    """Validate spec content already parsed from TOML (see :func:`load_spec`)."""
    raw_name = data.get("name")
    fallback = Path(path).stem if path != "<dict>" else "?"
    ctx = _Ctx(raw_name if isinstance(raw_name, str) and raw_name else fallback, path)

    allowed_top = [*S.TOP_FIELDS, *S.TOP_TABLES, *S.TOP_LISTS]
    for key in data:
        if key not in allowed_top:
            ctx.fail(key, f"is not a valid key; valid keys are {sorted(allowed_top)}.")
    for key in S.REQUIRED_TOP:
        if key not in data:
            ctx.fail(key, "is required.")
    top = {
        key: _check_scalar(ctx, key, S.TOP_FIELDS[key], data[key])
        for key in S.TOP_FIELDS
        if key in data
    }

    kind = top["kind"]
    if not _is_kind_name(kind):
        ctx.fail("kind", f"must be one of {_known_kind_names()}. Got {kind!r}.")
    kp = _kind_info(kind)
    table_fields = {*S.INSTANCE_FIELDS, *S.SOLVER_POINT_NAMES.values()}
    extra = {k: c for k, c in kp.params.items() if k not in table_fields}
    grid_fields: dict[str, S.Constraint] = {**S.GRID_FIELDS, **extra}

    quantities = _check_quantities(ctx, data.get("quantities"), kind, kp)
    base = _check_layer(ctx, "", data, grid_fields, top_level=True)
    if not base["grid"]:
        ctx.fail("grid", "must be a non-empty table of axes.")
    if quantities is not None:  # a fixed point parameter, so it enters every point key
        base["grid"]["quantities"] = quantities

    overrides: dict[str, dict[str, Any]] = {}
    scales_raw = data.get("scales", {})
    if not isinstance(scales_raw, dict):
        ctx.fail("scales", f"must be a table with keys {list(S.SCALES)}. Got {scales_raw!r}.")
    for sname, layer in scales_raw.items():
        if sname not in S.SCALES:
            ctx.fail(f"scales.{sname}", f"is not a valid scale; valid scales are {list(S.SCALES)}.")
        if not isinstance(layer, dict):
            ctx.fail(f"scales.{sname}", f"must be a table. Got {layer!r}.")
        overrides[sname] = _check_layer(
            ctx, f"scales.{sname}.", layer, grid_fields, top_level=False
        )

    solvers = None
    scales: dict[str, ScaleConfig] = {}
    for sname in S.SCALES:
        profile = profile_name(sname, overrides)  # e.g. standard -> quick when absent
        over = overrides.get(profile) if profile is not None else None
        cfg = _merge(ctx, sname, base, over, top.get("seeds", 1))
        _check_structure(ctx, cfg, kind, kp)
        _check_kind_constraints(ctx, cfg, kp)
        if "solver" in cfg.axes:
            solvers = solvers if solvers is not None else _registered_solvers()
            values = (
                cfg.axes["solver"] if isinstance(cfg.axes["solver"], list) else [cfg.axes["solver"]]
            )
            for value in values:
                if value not in solvers:
                    ctx.fail(cfg.source("solver"), f"must be one of {solvers}. Got {value!r}.")
        scales[sname] = cfg

    plain = json.loads(json.dumps(dict(data), default=str))
    return Spec(
        name=top["name"],
        kind=kind,
        seed=top["seed"],
        description=top.get("description", ""),
        path=path,
        scales=scales,
        data=plain,
        spec_hash=hashlib.sha256(canonical_json(plain).encode()).hexdigest(),
    )


def canonical_json(obj: Any) -> str:
    """Canonical JSON (sorted keys, no spaces): the text hashed for keys and seeds."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


# --------------------------------------------------------------------------- internals
def _check_quantities(ctx: _Ctx, value: Any, kind: str, kp: Kind) -> str | None:
    """``quantities = [...]``: unique names the kind declares; sorted, comma-joined."""
    if value is None:
        return None
    if not kp.quantities:
        ctx.fail("quantities", f"is not supported by kind {kind!r} (it declares none).")
    allowed = list(kp.quantities)
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) for v in value)
        or len(set(value)) != len(value)
    ):
        ctx.fail(
            "quantities",
            f"must be a non-empty list of distinct names from {allowed}. Got {value!r}.",
        )
    unknown = [v for v in value if v not in allowed]
    if unknown:
        ctx.fail("quantities", f"must name quantities from {allowed}. Got {unknown!r}.")
    return ",".join(sorted(value))


def _is_kind_name(kind: str) -> bool:
    from harness.kinds import is_kind_name

    return is_kind_name(kind)


def _known_kind_names() -> list[str]:
    """Built-in kinds plus any registered at run time (imports no kind module)."""
    from harness.kinds import BUILTIN_KINDS, KINDS

    return sorted({*BUILTIN_KINDS, *KINDS.registered_names()})


def _kind_info(kind: str) -> Kind:
    from harness.kinds import kind_info

    return kind_info(kind)


def _registered_solvers() -> list[str]:
    from harness.solvers.registry import available_solvers

    return available_solvers()


def _check_scalar(ctx: _Ctx, field: str, constraint: S.Constraint, value: Any) -> Any:
    try:
        return constraint.check(value)
    except ValueError as exc:
        ctx.fail(field, str(exc))


def _check_axis(ctx: _Ctx, field: str, constraint: S.Constraint, value: Any) -> Any:
    """A scalar (fixed value) or a non-empty list without repeats (an axis)."""
    if isinstance(value, list):
        if not value:
            ctx.fail(field, f"must be {constraint.describe()} or a non-empty list of them. Got [].")
        out = [_check_scalar(ctx, field, constraint, v) for v in value]
        keys = [canonical_json(v) for v in out]
        if len(set(keys)) != len(keys):
            ctx.fail(field, f"must not repeat a value. Got {value!r}.")
        return out
    return _check_scalar(ctx, field, constraint, value)


def _check_table(
    ctx: _Ctx, field: str, table: Any, fields: Mapping[str, S.Constraint], allow_zip: bool
) -> tuple[dict[str, Any], list[tuple[str, ...]] | None]:
    """Validate ``[instance]``/``[grid]``/``[solver]``; returns (axes, zip groups or None)."""
    if not isinstance(table, dict):
        ctx.fail(field, f"must be a table. Got {table!r}.")
    valid = sorted([*fields, "zip"] if allow_zip else fields)
    axes: dict[str, Any] = {}
    groups: list[tuple[str, ...]] | None = None
    for key, value in table.items():
        if allow_zip and key == "zip":
            groups = []
            if not isinstance(value, list) or not value:
                ctx.fail(
                    f"{field}.zip",
                    f"must be a list of axis-name lists or of tables. Got {value!r}.",
                )
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    if not item:
                        ctx.fail(f"{field}.zip[{i}]", "must be a non-empty table of list axes.")
                    for name, vals in item.items():
                        sub = f"{field}.zip[{i}].{name}"
                        if name not in fields:
                            ctx.fail(sub, f"is not a valid key; valid keys are {sorted(fields)}.")
                        if not isinstance(vals, list):
                            ctx.fail(sub, f"must be a list (a zipped axis). Got {vals!r}.")
                        if name in axes or name in table:
                            ctx.fail(sub, "is set twice (in the zip table and elsewhere).")
                        axes[name] = _check_axis(ctx, sub, fields[name], vals)
                    groups.append(tuple(item))
                elif isinstance(item, list) and item and all(isinstance(s, str) for s in item):
                    groups.append(tuple(item))
                else:
                    ctx.fail(
                        f"{field}.zip[{i}]",
                        f"must be a list of axis names or a table of list axes. Got {item!r}.",
                    )
            continue
        if key not in fields:
            ctx.fail(f"{field}.{key}", f"is not a valid key; valid keys are {valid}.")
        axes[key] = _check_axis(ctx, f"{field}.{key}", fields[key], table[key])
    return axes, groups


def _check_layer(
    ctx: _Ctx,
    prefix: str,
    layer: Mapping[str, Any],
    grid_fields: Mapping[str, S.Constraint],
    top_level: bool,
) -> dict[str, Any]:
    """Validate the tables of the base spec (``top_level``) or of one scale override."""
    out: dict[str, Any] = {"prefix": prefix}
    if not top_level:
        for key in layer:
            if key not in S.SCALE_FIELDS:
                ctx.fail(
                    f"{prefix}{key}",
                    f"is not a valid key; valid keys are {sorted(S.SCALE_FIELDS)}.",
                )
        if "seeds" in layer:
            out["seeds"] = _check_scalar(
                ctx, f"{prefix}seeds", S.TOP_FIELDS["seeds"], layer["seeds"]
            )
        if "description" in layer:
            _check_scalar(
                ctx, f"{prefix}description", S.TOP_FIELDS["description"], layer["description"]
            )
    out["instance"], _ = _check_table(
        ctx, f"{prefix}instance", layer.get("instance", {}), S.INSTANCE_FIELDS, False
    )
    out["grid"], out["zip"] = _check_table(
        ctx, f"{prefix}grid", layer.get("grid", {}), grid_fields, True
    )
    out["solver"], _ = _check_table(
        ctx, f"{prefix}solver", layer.get("solver", {}), S.SOLVER_FIELDS, False
    )
    return out


def _merge(
    ctx: _Ctx, scale: str, base: dict[str, Any], over: dict[str, Any] | None, seeds: int
) -> ScaleConfig:
    """Base tables updated key by key with the scale's; flat point names, source paths."""
    axes: dict[str, Any] = {}
    sources: dict[str, str] = {}
    layers = [base] if over is None else [base, over]
    for table in ("instance", "grid", "solver"):
        for layer in layers:
            for key, value in layer[table].items():
                name = S.SOLVER_POINT_NAMES[key] if table == "solver" else key
                src = f"{layer['prefix']}{table}.{key}"
                if name in sources and not sources[name].endswith(f"{table}.{key}"):
                    ctx.fail(
                        src, f"clashes with '{sources[name]}' (same point parameter '{name}')."
                    )
                axes[name] = value
                sources[name] = src
    zip_layer = over if over is not None and over["zip"] is not None else base
    zip_groups = tuple(zip_layer["zip"] or ())
    if over is not None and "seeds" in over:
        seeds = over["seeds"]
    sources["zip"] = f"{zip_layer['prefix']}grid.zip"
    return ScaleConfig(scale=scale, seeds=seeds, axes=axes, zip=zip_groups, sources=sources)


def _check_structure(ctx: _Ctx, cfg: ScaleConfig, kind: str, kp: Kind) -> None:
    """Cross-field rules on a merged scale: zip groups, exclusive and required fields."""
    src = cfg.sources
    where = src["zip"]
    seen: set[str] = set()
    for group in cfg.zip:
        for name in group:
            if name not in cfg.axes:
                ctx.fail(where, f"names unknown axis {name!r}; axes are {list(cfg.axes)}.")
            if not isinstance(cfg.axes[name], list):
                ctx.fail(
                    where, f"must name list axes only; {name!r} is the scalar {cfg.axes[name]!r}."
                )
            if name in seen:
                ctx.fail(where, f"must name each axis at most once; {name!r} is repeated.")
            seen.add(name)
        lengths = [len(cfg.axes[name]) for name in group]
        if len(set(lengths)) > 1:
            ctx.fail(where, f"group {list(group)} must have axes of equal length. Got {lengths}.")
    for pair in S.EXCLUSIVE:
        present = [name for name in pair if name in cfg.axes]
        if len(present) > 1:
            field = _group_field(src, present)
            ctx.fail(field, f"must set only one of {list(pair)}. Got both.")
    if "c" in cfg.axes and "d" not in cfg.axes:
        ctx.fail(src["c"], "needs 'd' in the grid (n = round(c * d)).")
    for group in kp.requires:
        if not any(name in cfg.axes for name in group):
            ctx.fail("grid", f"must set one of {list(group)} (kind {kind!r} needs it). Got none.")


def _check_kind_constraints(ctx: _Ctx, cfg: ScaleConfig, kp: Kind) -> None:
    """Every point parameter the kind declares, checked against the kind's own constraint.

    The tables were checked against the common schema; a kind may narrow a common field
    (``n >= 2``) or constrain an ``[instance]``/``[solver]`` field, and its parameter
    dataclass is built from these values without a second check.
    """
    for name, value in cfg.axes.items():
        constraint = kp.params.get(name)
        if constraint is None:
            continue
        for v in value if isinstance(value, list) else [value]:
            _check_scalar(ctx, cfg.source(name), constraint, v)


def _group_field(src: dict[str, str], names: list[str]) -> str:
    """The table path holding the later-set name of a conflicting pair."""
    paths = [src[name] for name in names]
    scale_paths = [p for p in paths if p.startswith("scales.")]
    chosen = scale_paths[0] if scale_paths else paths[0]
    return chosen.rsplit(".", 1)[0]
