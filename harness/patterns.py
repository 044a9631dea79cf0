"""Hyperplane-arrangement patterns: Gaussian sampling, exact enumeration, Cover's count.

THEORY.md §A1-§A2: a pattern is ``D_h = diag(1[X h >= 0])``. The harness stores a set
of P patterns as a boolean array ``D`` of shape (n, P), column ``i`` = diagonal of ``D_i``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.errors import InputError
from harness.formulations import BoolArray, FloatArray

#: Default refusal threshold of :func:`enumerate_patterns` (predicted pattern count).
DEFAULT_ENUMERATION_CAP = 20_000


@dataclass(frozen=True)
class PatternSet:
    """Deduplicated patterns with their provenance.

    Attributes
    ----------
    D : bool ndarray of shape (n, P_unique)
    generators : float ndarray of shape (d, P_unique)
        A vector ``h_i`` with ``D_i = diag(1[X h_i >= 0])`` for every column (the first
        sampled ``h`` that produced it), used for cone-feasibility arguments.
    P_requested : int
        Number of Gaussian vectors drawn (or of candidate patterns given).
    P_unique : int
        Number of distinct non-zero patterns kept.
    """

    D: BoolArray
    generators: FloatArray
    P_requested: int
    P_unique: int


def dedupe_patterns(D: BoolArray, drop_zero: bool = True) -> tuple[BoolArray, np.ndarray]:
    """Remove duplicate columns (and the all-zero one) keeping first occurrences in order.

    Returns the kept columns and their indices into ``D``.
    """
    if D.shape[1] == 0:
        return D, np.zeros(0, dtype=np.intp)
    packed = np.packbits(D, axis=0)  # (ceil(n/8), P) uint8: cheap exact column keys
    _, first = np.unique(packed, axis=1, return_index=True)
    keep = np.sort(first)
    if drop_zero:
        keep = keep[D[:, keep].any(axis=0)]
    return D[:, keep], keep


def sample_patterns(
    X: FloatArray,
    P: int,
    rng: np.random.Generator,
    extra: BoolArray | None = None,
) -> PatternSet:
    """Gaussian relaxation patterns, THEORY.md eq. (3): ``h_i ~ N(0, I_d)``, ``1[X h_i >= 0]``.

    The ``h_i`` are drawn as rows of a (P, d) array, so a larger ``P`` with the same
    ``rng`` state extends (never reorders) a smaller draw; after stable deduplication the
    patterns for ``P1 < P2`` are a prefix of those for ``P2`` (nested pattern sets).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    P : int
        Number of Gaussian vectors to draw (``P_requested``).
    rng : numpy Generator
    extra : bool ndarray of shape (n, k), optional
        Additional patterns (e.g. a planted teacher's) placed *before* the sampled ones.
    """
    if isinstance(P, (bool, np.bool_)) or not isinstance(P, (int, np.integer)) or P < 1:
        raise InputError(f"P (number of sampled patterns) must be an integer >= 1; got {P!r}")
    H = rng.standard_normal((int(P), X.shape[1])).T
    D_all = (X @ H) >= 0
    gens = H
    if extra is not None:
        if extra.ndim != 2 or extra.shape[0] != X.shape[0]:
            raise InputError(f"extra patterns must have shape (n={X.shape[0]}, k); got {extra.shape}")
        D_all = np.concatenate([extra.astype(bool), D_all], axis=1)
        gens = np.concatenate([np.full((X.shape[1], extra.shape[1]), np.nan), H], axis=1)
    D, keep = dedupe_patterns(D_all)
    return PatternSet(D=D, generators=gens[:, keep], P_requested=int(P), P_unique=int(D.shape[1]))


def cover_count(n: int, r: int) -> int:
    """Cover (1965): number of patterns of a central arrangement in general position.

    ``2 * sum_{k=0}^{r-1} C(n-1, k)`` for ``n`` points of rank ``r`` (THEORY.md §A1). It
    counts the all-zero pattern too (the enumeration keeps it; the relaxations drop it).
    """
    if n < 1 or r < 1:
        raise InputError(f"cover_count needs n >= 1 and r >= 1; got n={n}, r={r}")
    return 2 * sum(math.comb(n - 1, k) for k in range(min(r, n)))
