"""Grid expansion and per-point seeds (STYLE.md "Randomness and provenance").

A point is one combination of the spec's axes plus a repeat-seed index. Its *point key*
is the canonical JSON of its parameters and seed index; its seed is
``SeedSequence(spec.seed, spawn_key=(stable_hash(point_key),))``. The key depends on the
point alone, so adding, removing or reordering other points changes nothing for it, and
re-running one point by itself reproduces its numbers exactly.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

import harness
from harness.errors import SpecError
from harness.sweep.spec import ScaleConfig, Spec, canonical_json

#: Largest grid (points, seeds included) a run or a status expands without being asked
#: explicitly (``--allow-large``): 10**5 points are ~3 MB of keys and minutes of hashing
#: before any work, and far beyond every spec of the paper (the largest has a few hundred).
MAX_POINTS = 100_000


@dataclass(frozen=True)
class Point:
    """One unit of work of a sweep.

    Attributes
    ----------
    params : dict
        Flat parameters passed to the kind (grid, instance and solver fields; ``n`` is
        filled in from ``c = n / d`` when the spec gives ``c``).
    seed_index : int
        Repeat index in ``range(seeds)``.
    point_key : str
        Canonical JSON of ``{"params": ..., "seed_index": ...}``.
    cache_key : str
        Hash of (kind, spec seed, point key, harness version): the name of the point's
        result file. Points with the same cache key compute the same thing.
    entropy : int
        The spec seed.
    spawn_key : tuple of int
        ``(stable_hash(point_key),)``.
    """

    params: dict[str, Any]
    seed_index: int
    point_key: str
    cache_key: str
    entropy: int
    spawn_key: tuple[int, ...]

    @property
    def seed(self) -> np.random.SeedSequence:
        """A fresh ``SeedSequence`` for this point (safe to ``spawn`` from)."""
        return np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key)


def stable_hash(text: str) -> int:
    """A 64-bit integer hash of ``text`` (SHA-256 based; identical across processes)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def point_key(params: dict[str, Any], seed_index: int) -> str:
    """Canonical JSON naming a point: its parameters and its repeat-seed index."""
    return canonical_json({"params": params, "seed_index": seed_index})


def cache_key(kind: str, seed: int, key: str, version: str | None = None) -> str:
    """Hash deciding whether a point is already done (includes the harness version)."""
    version = harness.__version__ if version is None else version
    text = canonical_json({"kind": kind, "seed": seed, "point_key": key, "version": version})
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def make_point(spec: Spec, params: dict[str, Any], seed_index: int) -> Point:
    """The :class:`Point` of ``params`` (already expanded) and ``seed_index``."""
    key = point_key(params, seed_index)
    return Point(
        params=dict(params),
        seed_index=seed_index,
        point_key=key,
        cache_key=cache_key(spec.kind, spec.seed, key),
        entropy=spec.seed,
        spawn_key=(stable_hash(key),),
    )


def expand_grid(spec: Spec, scale: str = "quick") -> list[Point]:
    """All points of ``spec`` at ``scale``: Cartesian product of the axes, zip groups tied.

    Axes are taken in spec order (``[instance]``, ``[grid]``, ``[solver]``); a zip group
    sits at the position of its first axis; the seed index varies fastest.

    Raises
    ------
    SpecError
        Unknown scale name.
    """
    cfg = spec.config(scale)
    points = []
    for params in _combinations(cfg):
        for k in range(cfg.seeds):
            points.append(make_point(spec, params, k))
    return points


def grid_size(spec: Spec, scale: str = "quick") -> int:
    """The number of points of ``spec`` at ``scale``, counted without expanding the grid."""
    cfg = spec.config(scale)
    size = cfg.seeds
    for _, values in _units(cfg):
        size *= len(values)
    return size


def check_grid_size(spec: Spec, scale: str, allow_large: bool = False) -> int:
    """:func:`grid_size`, refused (``SpecError``) above :data:`MAX_POINTS` unless allowed."""
    size = grid_size(spec, scale)
    if size > MAX_POINTS and not allow_large:
        raise SpecError(
            f"spec '{spec.name}' ({spec.path}): the {scale} grid has {size} points, more than "
            f"the limit of {MAX_POINTS}; shrink the axes or pass --allow-large to run it anyway"
        )
    return size


def _units(cfg: ScaleConfig) -> list[tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    """The independent axes of the product: single list axes and zip groups, spec order."""
    zipped = {name: group for group in cfg.zip for name in group}
    units: list[tuple[tuple[str, ...], list[tuple[Any, ...]]]] = []
    placed: set[tuple[str, ...]] = set()
    for name, values in cfg.axes.items():
        if not isinstance(values, list):
            continue
        if name in zipped:
            group = zipped[name]
            if group in placed:
                continue
            placed.add(group)
            units.append((group, list(zip(*(cfg.axes[g] for g in group)))))
        else:
            units.append(((name,), [(v,) for v in values]))
    return units


def _combinations(cfg: ScaleConfig) -> list[dict[str, Any]]:
    fixed = {name: v for name, v in cfg.axes.items() if not isinstance(v, list)}
    units = _units(cfg)
    combos = []
    for choice in itertools.product(*(vals for _, vals in units)):
        params = dict(fixed)
        for (names, _), tup in zip(units, choice):
            params.update(zip(names, tup))
        if "c" in params:
            params["n"] = max(1, round(params["c"] * params["d"]))
        combos.append({name: params[name] for name in sorted(params)})
    return combos
