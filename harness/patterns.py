"""Hyperplane-arrangement patterns: Gaussian sampling, exact enumeration, Cover's count.

THEORY.md §A1-§A2: a pattern is ``D_h = diag(1[X h >= 0])``. The harness stores a set
of P patterns as a boolean array ``D`` of shape (n, P), column ``i`` = diagonal of ``D_i``.

Exact enumeration (:func:`enumerate_patterns`) lists one pattern per full-dimensional cell
of the central arrangement ``{h : x_i^T h = 0}``. It works in the row space of ``X`` (rank
``r``) on the distinct hyperplane normals and uses

* ``r = 1``: the two half-lines;
* ``r = 2``: an angular sweep (sort the ``2m`` critical directions, take arc midpoints);
* ``r >= 3``: incremental construction by restriction. Adding hyperplane ``H_k`` to the
  arrangement of ``H_1..H_{k-1}`` splits exactly the cells that meet ``H_k``; those
  intersections are the cells of the restricted ``(r-1)``-dimensional arrangement on
  ``H_k``, enumerated recursively (down to the sweep). Each restricted cell with interior
  point ``p`` yields the two new cells through ``p +/- eps a_k``; cells not met keep their
  old interior point. No random sampling is involved. LPs (``scipy.optimize.linprog``,
  HiGHS) are only used as a fallback to re-centre candidate points whose margin is below
  the tolerance (rare; near-ties).

Every reported cell is certified by an interior point ``h`` whose margin
``min_i |x_i^T h| / (||x_i|| ||h||)`` is at least ``tol``; cells thinner than that are
treated as numerical ties and not reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from harness.errors import EnumerationError, InputError
from harness.formulations import BoolArray, FloatArray
from harness.resources import check_memory

#: Default refusal threshold of :func:`enumerate_patterns` (predicted pattern count).
DEFAULT_ENUMERATION_CAP = 20_000

#: Default certified margin of an enumerated cell (sine of the angular distance from the
#: interior point to the nearest hyperplane).
DEFAULT_MARGIN_TOL = 1e-9

# Singular values below this fraction of the largest (of the row-normalised X) are
# treated as zero when computing the rank.
_RANK_RTOL = 1e-12
# Unit normals closer than this (up to sign) define the same hyperplane.
_PARALLEL_TOL = 1e-10
# Below this, |a^T g| (unit vectors) is at rounding level: its sign is not trusted.
_AMBIGUOUS = 1e-13
# Maximum number of untrusted signs of one candidate point tried by LP (2^q LPs).
_MAX_AMBIGUOUS = 3


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
    n, d = X.shape
    # H (d, P) float, X @ H (n, P) float, its (n, P) bool signs and their packed copies
    check_memory(f"sampling P={int(P)} patterns of n={n} points", float(P) * (8 * d + 10 * n))
    H = rng.standard_normal((int(P), X.shape[1])).T
    D_all = (X @ H) >= 0
    gens = H
    if extra is not None:
        if extra.ndim != 2 or extra.shape[0] != X.shape[0]:
            raise InputError(
                f"extra patterns must have shape (n={X.shape[0]}, k); got {extra.shape}"
            )
        D_all = np.concatenate([extra.astype(bool), D_all], axis=1)
        gens = np.concatenate([np.full((X.shape[1], extra.shape[1]), np.nan), H], axis=1)
    D, keep = dedupe_patterns(D_all)
    return PatternSet(D=D, generators=gens[:, keep], P_requested=int(P), P_unique=int(D.shape[1]))


def cover_count(n: int, r: int) -> int:
    """Cover (1965) count of cells of a central arrangement, THEORY.md §A1.

    ``2 * sum_{k=0}^{r-1} C(n-1, k)`` for ``n`` hyperplanes through the origin whose
    normals span a space of dimension ``r``. It is an upper bound on the number of
    patterns ``1[X h >= 0]`` of any ``X`` with ``n`` rows and rank ``r``, with equality
    when the rows are in general position (every ``r`` of them linearly independent).
    The all-zero pattern is one of these cells exactly when the rows lie in an open
    half-space; :func:`enumerate_patterns` keeps it, the relaxations drop it.
    """
    if n < 1 or r < 1:
        raise InputError(f"cover_count needs n >= 1 and r >= 1; got n={n}, r={r}")
    return 2 * sum(math.comb(n - 1, k) for k in range(min(r, n)))


# --------------------------------------------------------------------------- enumeration
def enumerate_patterns(
    X: FloatArray, cap: int = DEFAULT_ENUMERATION_CAP, *, tol: float = DEFAULT_MARGIN_TOL
) -> BoolArray:
    """All hyperplane-arrangement patterns ``D_i``, THEORY.md §A1 (the ``P`` of problem (2)).

    One column ``1[X h >= 0]`` per full-dimensional cell of the central arrangement
    ``{h : x_i^T h = 0}``; the all-zero pattern is included when it is a cell (the rows
    lie in an open half-space). Zero rows of ``X`` carry no hyperplane and are always 1.
    Columns are in lexicographic order of the bit strings ``(D_1i, ..., D_ni)`` with
    ``0 < 1`` (so the all-zero pattern, if present, comes first). Deterministic: no
    randomness is used. See the module docstring for the algorithm.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    cap : int
        Refuse when Cover's bound ``cover_count(m, r)`` exceeds it (``m`` = number of
        distinct hyperplanes, ``r`` = rank of ``X``).
    tol : float
        Certified margin: a cell is reported only with an interior point ``h`` such that
        ``|x_i^T h| >= tol ||x_i|| ||h||`` for every non-zero row (thinner cells are ties).

    Returns
    -------
    D : bool ndarray of shape (n, P_all)

    Raises
    ------
    InputError
        If ``X`` is not a finite non-empty 2-D array, or ``cap``/``tol`` is invalid.
    EnumerationError
        If the predicted count exceeds ``cap``.
    """
    D, _ = _enumerate_cells(X, cap, tol)
    return D


def enumerate_pattern_set(
    X: FloatArray, cap: int = DEFAULT_ENUMERATION_CAP, *, tol: float = DEFAULT_MARGIN_TOL
) -> PatternSet:
    """All non-zero patterns as a :class:`PatternSet`, THEORY.md §A2 problem (2).

    Same cells and order as :func:`enumerate_patterns` except that the all-zero pattern
    is dropped (it contributes nothing to the convex programs); ``enumerate_patterns``
    keeps it. ``generators[:, i]`` is a certified interior point ``h_i`` of cell ``i``
    (unit norm, ``1[X h_i >= 0] == D[:, i]`` with margin ``>= tol``), and
    ``P_requested == P_unique`` is the number of columns.

    Raises
    ------
    InputError, EnumerationError
        As :func:`enumerate_patterns`.
    """
    D, H = _enumerate_cells(X, cap, tol)
    keep = D.any(axis=0)
    D, H = D[:, keep], H[:, keep]
    P = int(D.shape[1])
    return PatternSet(D=D, generators=H, P_requested=P, P_unique=P)


def _format_count(N: int) -> str:
    s = str(N)
    return s if len(s) <= 15 else f"~1e{len(s) - 1}"


def _enumerate_cells(X: FloatArray, cap: int, tol: float) -> tuple[BoolArray, FloatArray]:
    """Patterns (n, P_all) and unit generators (d, P_all) of all cells, sorted."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise InputError(f"X must be a non-empty 2-D array of shape (n, d); got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise InputError("X contains NaN or infinite values")
    if isinstance(cap, (bool, np.bool_)) or not isinstance(cap, (int, np.integer)) or cap < 1:
        raise InputError(
            f"cap (maximum number of enumerated patterns) must be an int >= 1; got {cap!r}"
        )
    if not (isinstance(tol, (int, float)) and 1e-12 <= tol <= 1e-2):
        raise InputError(
            f"tol (certified cell margin) must be a float in [1e-12, 1e-2]; got {tol!r}"
        )
    n, d = X.shape
    norms = np.linalg.norm(X, axis=1)
    nz = norms > 0
    if not nz.any():  # no hyperplane at all: one cell, every entry 1[0 >= 0] = 1
        H = np.zeros((d, 1))
        H[0, 0] = 1.0
        return np.ones((n, 1), dtype=bool), H
    A = X[nz] / norms[nz, None]
    V = _row_space(A)
    r = V.shape[1]
    B = _normalize_rows(A @ V)
    B = _exact_distinct(B)
    m = B.shape[0]
    predicted = cover_count(m, r)
    if predicted > cap:
        raise EnumerationError(
            f"exact enumeration would produce up to {_format_count(predicted)} patterns "
            f"(n={n}, rank={r}, {m} distinct hyperplanes), above the cap {cap}; "
            "raise --cap or sample patterns"
        )
    G = _cells(B, float(tol))
    H = V @ G
    H /= np.linalg.norm(H, axis=0, keepdims=True)
    D = np.empty((n, H.shape[1]), dtype=bool)
    for start in range(0, H.shape[1], 2048):  # blocks: no (n, P_all) float temporary
        XH = X @ H[:, start : start + 2048]
        D[:, start : start + 2048] = XH >= 0  # zero rows give exactly 0 >= 0
        # Certification against every original non-zero row (duplicates included).
        margin = np.abs(XH[nz] / norms[nz, None]).min(axis=0)
        if margin.min() < 0.5 * tol:
            raise RuntimeError("internal error: an enumerated cell lost its certified margin")
    order = np.lexsort(np.packbits(D, axis=0)[::-1])
    return D[:, order], H[:, order]


def _row_space(A: FloatArray) -> FloatArray:
    """Orthonormal basis (d, r) of the row space of ``A`` (rank by relative tolerance)."""
    m, d = A.shape
    R = np.linalg.qr(A, mode="r") if m > d else A
    _, s, Vt = np.linalg.svd(R, full_matrices=False)
    r = int(np.sum(s > _RANK_RTOL * s[0]))
    return np.ascontiguousarray(Vt[:r].T)


def _normalize_rows(A: FloatArray) -> FloatArray:
    return A / np.linalg.norm(A, axis=1, keepdims=True)


def _exact_distinct(A: FloatArray) -> FloatArray:
    """Cheap merge of (near-)identical hyperplanes by rounding a sign-canonical form.

    Only used to make Cover's bound tighter before the cap check and to shrink the
    input; the enumeration itself merges near-parallel normals with a tolerance.
    """
    lead = np.argmax(np.abs(A) > 1e-6, axis=1)
    sgn = np.sign(A[np.arange(A.shape[0]), lead])
    C = np.round(A * sgn[:, None], 12) + 0.0  # + 0.0 turns -0.0 into 0.0
    _, first = np.unique(C, axis=0, return_index=True)
    return A[np.sort(first)]


def _distinct_directions(A: FloatArray) -> FloatArray:
    """Rows of unit ``A`` with one representative per hyperplane (``+/-a`` merged)."""
    m = A.shape[0]
    if m <= 1:
        return A
    drop = np.zeros(m, dtype=bool)
    block = max(1, 2**20 // m)
    for start in range(0, m, block):
        Gb = np.abs(A[start : start + block] @ A.T)  # prefilter on |cos| close to 1
        ii, jj = np.nonzero(Gb > 1 - 1e-8)
        ii = ii + start
        sel = jj < ii
        ii, jj = ii[sel], jj[sel]
        if ii.size:
            dm = np.linalg.norm(A[ii] - A[jj], axis=1)
            dp = np.linalg.norm(A[ii] + A[jj], axis=1)
            close = np.minimum(dm, dp) < _PARALLEL_TOL
            drop[ii[close]] = True
    return A[~drop]


def _cells(A: FloatArray, tol: float) -> FloatArray:
    """Unit interior points (r, R), one per cell of the central arrangement of ``A``.

    ``A`` (m, r) has non-zero rows (any norms, parallel rows allowed, any rank). Every
    returned point ``g`` satisfies ``min_j |a_j^T g| / ||a_j|| >= tol``.
    """
    m, r = A.shape
    if m == 0:  # empty arrangement: the whole space is one cell
        e = np.zeros((r, 1))
        e[0, 0] = 1.0
        return e
    A = _normalize_rows(A)
    if r >= 3:
        A = _distinct_directions(A)
    V = _row_space(A)
    k = V.shape[1]
    if k < r:  # cells are cylinders over the cells in the row space
        G = V @ _cells(A @ V, tol)
        return G / np.linalg.norm(G, axis=0, keepdims=True)
    if r == 1:
        return np.array([[1.0, -1.0]])
    if r == 2:
        return _sweep_2d(A, tol)
    return _incremental(A, tol)


def _sweep_2d(A: FloatArray, tol: float) -> FloatArray:
    """Exact cells in the plane: midpoints of the arcs between critical directions."""
    phi = np.arctan2(A[:, 1], A[:, 0])
    crit = np.sort(np.mod(np.concatenate([phi + np.pi / 2, phi - np.pi / 2]), 2 * np.pi))
    width = np.diff(np.append(crit, crit[0] + 2 * np.pi))
    mid = crit + width / 2
    # The margin of an arc midpoint is sin(width / 2): its nearest critical direction is an
    # arc end (rank 2 means at least two distinct lines, so every arc is shorter than pi).
    keep = np.sin(np.minimum(width, np.pi) / 2) >= tol
    return np.vstack([np.cos(mid[keep]), np.sin(mid[keep])])


def _incremental(A: FloatArray, tol: float) -> FloatArray:
    """Cells of a rank-``r`` (r >= 3) arrangement of distinct unit normals, by restriction."""
    m = A.shape[0]
    sub_tol = max(tol * 1e-2, 1e-12)
    G = np.stack([A[0], -A[0]], axis=1)
    for k in range(1, m):
        a = A[k]
        prev = A[:k]
        # Orthonormal basis of the hyperplane a^perp: the last r-1 columns of a full QR.
        Q = np.linalg.qr(a[:, None], mode="complete")[0][:, 1:]
        C = prev @ Q
        C = C[np.linalg.norm(C, axis=1) >= _PARALLEL_TOL]
        P = Q @ _cells(C, sub_tol)
        P /= np.linalg.norm(P, axis=0, keepdims=True)
        new = _lift(P, a, prev)
        G = _select(np.hstack([G, new]), A[: k + 1], tol)
    return G


def _lift(P: FloatArray, a: FloatArray, prev: FloatArray) -> FloatArray:
    """Points ``p +/- eps a`` in the two cells adjacent to each restricted cell ``p``.

    ``eps`` is chosen on a small grid below the first sign flip of a previous
    hyperplane, maximising the normalised margin.
    """
    V = prev @ P  # (k, R) values a_j^T p
    c = prev @ a  # (k,)   values a_j^T a
    fracs = np.array([0.125, 0.25, 0.5, 0.75])
    out = []
    for sigma in (1.0, -1.0):
        flips = sigma * c[:, None] * V < 0
        with np.errstate(divide="ignore"):
            ratio = np.where(flips, np.abs(V) / np.abs(c)[:, None], np.inf)
        emax = np.minimum(ratio.min(axis=0), 4.0)  # (R,)
        eps = fracs[:, None] * emax[None, :]  # (4, R)
        vals = np.abs(V[None, :, :] + sigma * eps[:, None, :] * c[None, :, None])
        margin = np.minimum(eps, vals.min(axis=1)) / np.sqrt(1 + eps**2)
        best = eps[np.argmax(margin, axis=0), np.arange(P.shape[1])]
        out.append(P + sigma * best[None, :] * a[:, None])
    return np.hstack(out)


def _keys(S: np.ndarray) -> np.ndarray:
    """Sign vectors (k, c) -> 1-D array of c hashable/sortable byte keys."""
    packed = np.ascontiguousarray(np.packbits(S > 0, axis=0).T)
    return packed.view(np.dtype((np.void, packed.shape[1]))).ravel()


def _select(cand: FloatArray, A: FloatArray, tol: float) -> FloatArray:
    """One best-margin point per cell among candidate points; LP repair for near-ties."""
    cand = cand / np.linalg.norm(cand, axis=0, keepdims=True)
    S = A @ cand
    absS = np.abs(S)
    margin = absS.min(axis=0)
    good = np.nonzero(margin >= tol)[0]
    good = good[np.argsort(-margin[good], kind="stable")]
    keys = _keys(S[:, good])
    _, first = np.unique(keys, return_index=True)
    chosen = cand[:, good[np.sort(first)]]
    doubtful = np.nonzero(margin < tol)[0]
    if doubtful.size == 0:
        return chosen
    seen = {bytes(x) for x in keys[first]}
    extra = []
    for i in doubtful:
        uncertain = np.nonzero(absS[:, i] < _AMBIGUOUS)[0]
        if uncertain.size > _MAX_AMBIGUOUS:
            continue  # a point on a low-dimensional face: its cells come from elsewhere
        base = np.where(S[:, i] > 0, 1.0, -1.0)
        for bits in range(2**uncertain.size):
            s = base.copy()
            s[uncertain] = [1.0 if (bits >> b) & 1 else -1.0 for b in range(uncertain.size)]
            key = bytes(_keys(s[:, None])[0])
            if key in seen:
                continue
            seen.add(key)
            g = _lp_interior(A, s, tol)
            if g is not None:
                extra.append(g)
    if extra:
        chosen = np.hstack([chosen, np.stack(extra, axis=1)])
    return chosen


def _lp_interior(A: FloatArray, s: FloatArray, tol: float) -> FloatArray | None:
    """Most central point of the cell ``{g : s_j a_j^T g > 0}`` by LP, or None if thinner than tol.

    Solves ``max t s.t. s_j a_j^T g >= t, ||g||_inf <= 1`` with HiGHS.
    """
    k, r = A.shape
    A_ub = np.hstack([-(s[:, None] * A), np.ones((k, 1))])
    c = np.zeros(r + 1)
    c[-1] = -1.0
    res = linprog(
        c, A_ub=A_ub, b_ub=np.zeros(k), bounds=[(-1.0, 1.0)] * r + [(None, 1.0)], method="highs"
    )
    if res.status != 0 or res.x is None:
        return None
    g = np.asarray(res.x[:r], dtype=np.float64)
    nrm = float(np.linalg.norm(g))
    if nrm == 0.0:
        return None
    g = g / nrm
    if float((s * (A @ g)).min()) < tol:
        return None
    return g
