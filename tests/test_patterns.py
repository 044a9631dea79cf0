"""Tests of harness.patterns: Gaussian sampling, exact enumeration, Cover's count."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from harness.errors import EnumerationError, InputError
from harness.patterns import (
    _select,
    cover_count,
    enumerate_pattern_set,
    enumerate_patterns,
    sample_patterns,
)


def _gauss(n: int, d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d))


def _columns(D: np.ndarray) -> set[bytes]:
    return {col.tobytes() for col in np.asarray(D, dtype=bool).T}


def _brute_force_cells(X: np.ndarray, tol: float = 1e-7) -> set[bytes]:
    """Oracle: try every 0/1 vector and keep those with a strictly interior point (LP)."""
    n, d = X.shape
    nz = np.linalg.norm(X, axis=1) > 0
    A = X[nz] / np.linalg.norm(X[nz], axis=1, keepdims=True)
    found = set()
    for bits in itertools.product([False, True], repeat=n):
        b = np.array(bits)
        if not b[~nz].all():  # zero rows are always 1
            continue
        s = np.where(b[nz], 1.0, -1.0)
        res = linprog(
            np.r_[np.zeros(d), -1.0],
            A_ub=np.hstack([-(s[:, None] * A), np.ones((A.shape[0], 1))]),
            b_ub=np.zeros(A.shape[0]),
            bounds=[(-1, 1)] * d + [(None, 1)],
            method="highs",
        )
        if res.status == 0 and -res.fun > tol:
            found.add(b.tobytes())
    return found


# --------------------------------------------------------------------------- Cover count
def test_cover_count_closed_forms() -> None:
    assert cover_count(30, 3) == 872
    for n in (1, 2, 7, 40):
        assert cover_count(n, 1) == 2
        assert cover_count(n, 2) == 2 * n
    assert cover_count(6, 6) == 2**6
    assert cover_count(6, 9) == 2**6  # rank above n: every orthant
    with pytest.raises(InputError, match="cover_count needs n >= 1 and r >= 1"):
        cover_count(0, 2)


@pytest.mark.parametrize(
    ("n", "d", "expected"),
    [(30, 3, 872), (7, 1, 2), (3, 2, 6), (8, 2, 16), (25, 2, 50), (10, 4, 260), (8, 5, 198)],
)
def test_enumeration_count_equals_cover_in_general_position(n: int, d: int, expected: int) -> None:
    D = enumerate_patterns(_gauss(n, d, seed=n + d))
    assert expected == cover_count(n, d)
    assert D.shape == (n, expected)
    assert len(_columns(D)) == expected


# --------------------------------------------------------------------------- oracles
@pytest.mark.parametrize("seed", [0, 1])
def test_enumeration_contains_every_sampled_pattern(seed: int) -> None:
    X = _gauss(12, 3, seed)
    D = enumerate_patterns(X)
    assert D.shape[1] == cover_count(12, 3)
    H = np.random.default_rng(100 + seed).standard_normal((3, 20_000))
    sampled = _columns((X @ H) >= 0)
    enumerated = _columns(D)
    assert sampled <= enumerated
    # Dense sampling reaches most cells of this small arrangement (sanity of the oracle).
    assert len(sampled) >= 0.9 * len(enumerated)


@pytest.mark.parametrize(
    "X",
    [
        _gauss(7, 3, 3),
        # integer data: many coplanar triples, duplicate and opposite rows
        np.array(
            [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, -1, 0], [1, 1, 1], [-2, -2, 0]],
            dtype=float,
        ),
        np.random.default_rng(4).integers(-1, 2, size=(8, 4)).astype(float),
    ],
    ids=["gauss7x3", "int_coplanar", "int8x4"],
)
def test_enumeration_equals_brute_force_lp(X: np.ndarray) -> None:
    assert _columns(enumerate_patterns(X)) == _brute_force_cells(X)


@pytest.mark.parametrize(("n", "d"), [(12, 3), (9, 4), (6, 2)])
def test_generators_certify_their_patterns(n: int, d: int) -> None:
    X = _gauss(n, d, 7)
    ps = enumerate_pattern_set(X)
    H = ps.generators
    assert H.shape == (d, ps.P_unique)
    np.testing.assert_allclose(np.linalg.norm(H, axis=0), 1.0, rtol=1e-12)
    XH = X @ H
    np.testing.assert_array_equal(XH >= 0, ps.D)
    margin = np.abs(XH / np.linalg.norm(X, axis=1, keepdims=True)).min(axis=0)
    assert margin.min() >= 1e-9


# --------------------------------------------------------------------------- degenerate X
def test_rank_deficient_gives_rank_count() -> None:
    rng = np.random.default_rng(5)
    for d in (3, 4):
        X = rng.standard_normal((10, 2)) @ rng.standard_normal((2, d))
        assert np.linalg.matrix_rank(X) == 2
        D = enumerate_patterns(X)
        assert D.shape[1] == cover_count(10, 2) == 20


def test_duplicate_parallel_and_zero_rows() -> None:
    X0 = _gauss(10, 3, 11)
    X = np.vstack([X0, 2.5 * X0[:3], -0.5 * X0[3:5], np.zeros((2, 3))])
    D = enumerate_patterns(X)
    assert D.shape[1] == cover_count(10, 3)
    np.testing.assert_array_equal(D[10:13], D[:3])  # positive multiples agree
    np.testing.assert_array_equal(D[13:15], ~D[3:5])  # negative multiples are complements
    assert D[15:].all()  # 1[0 >= 0] = 1
    np.testing.assert_array_equal(D[:10], enumerate_patterns(X0))


def test_one_dimensional_and_zero_data() -> None:
    X = np.array([[2.0], [-1.0], [0.0], [3.0]])
    D = enumerate_patterns(X)
    np.testing.assert_array_equal(D, [[False, True], [True, False], [True, True], [False, True]])
    D0 = enumerate_patterns(np.zeros((3, 2)))
    np.testing.assert_array_equal(D0, np.ones((3, 1), dtype=bool))


def test_all_zero_pattern_kept_by_enumerate_dropped_by_set() -> None:
    X = np.abs(_gauss(9, 3, 2)) + np.array([1.0, 0.0, 0.0])  # open half-space {h_1 > 0}
    D = enumerate_patterns(X)
    assert D.shape[1] == cover_count(9, 3)
    assert not D[:, 0].any()  # lexicographic order: the all-zero pattern first
    ps = enumerate_pattern_set(X)
    assert ps.P_unique == ps.P_requested == D.shape[1] - 1
    assert ps.D.any(axis=0).all()
    np.testing.assert_array_equal(ps.D, D[:, 1:])
    # Gaussian rows with n >> d are not in a half-space: no all-zero cell.
    assert enumerate_patterns(_gauss(30, 3, 0)).any(axis=0).all()


def test_enumeration_is_deterministic_and_sorted() -> None:
    X = _gauss(15, 3, 9)
    D1, D2 = enumerate_patterns(X), enumerate_patterns(X.copy())
    np.testing.assert_array_equal(D1, D2)
    keys = [tuple(col) for col in D1.astype(int).T]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    ps1, ps2 = enumerate_pattern_set(X), enumerate_pattern_set(X)
    np.testing.assert_array_equal(ps1.generators, ps2.generators)


def test_lp_repair_of_a_point_on_a_hyperplane() -> None:
    # The candidate (1, 1, 0) lies on the plane h_3 = 0: both adjacent octants are found.
    G = _select(np.array([[1.0], [1.0], [0.0]]), np.eye(3), 1e-9)
    signs = {tuple(col) for col in np.sign(G).astype(int).T}
    assert signs == {(1, 1, 1), (1, 1, -1)}


# --------------------------------------------------------------------------- input checks
def test_cap_refusal_message() -> None:
    X = _gauss(30, 3, 1)
    msg = (
        r"exact enumeration would produce up to 872 patterns \(n=30, rank=3, "
        r"30 distinct hyperplanes\), above the cap 100; raise --cap or sample patterns"
    )
    with pytest.raises(EnumerationError, match=msg):
        enumerate_patterns(X, cap=100)
    with pytest.raises(EnumerationError, match="above the cap 871"):
        enumerate_pattern_set(X, cap=871)
    assert enumerate_patterns(X, cap=872).shape[1] == 872
    # duplicated rows do not inflate the prediction
    assert enumerate_patterns(np.vstack([X, X]), cap=872).shape[1] == 872
    # a high-rank request is refused quickly, before any enumeration
    with pytest.raises(EnumerationError, match="rank=40"):
        enumerate_patterns(_gauss(200, 40, 0))


@pytest.mark.parametrize("cap", [0, -3, 2.5, True])
def test_bad_cap_raises(cap: object) -> None:
    with pytest.raises(InputError, match="cap"):
        enumerate_patterns(_gauss(5, 2, 0), cap=cap)  # type: ignore[arg-type]


def test_bad_X_raises() -> None:
    X = _gauss(5, 2, 0)
    X[1, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        enumerate_patterns(X)
    with pytest.raises(InputError, match="2-D"):
        enumerate_patterns(np.ones(4))


# --------------------------------------------------------------------------- sampling
def test_sample_patterns_dedup_no_zero_and_generators(any_seed: int) -> None:
    X = _gauss(10, 2, any_seed)
    ps = sample_patterns(X, 300, np.random.default_rng(any_seed))
    assert ps.P_requested == 300
    assert ps.P_unique == ps.D.shape[1] == len(_columns(ps.D))
    assert ps.P_unique <= cover_count(10, 2)
    assert ps.D.any(axis=0).all()
    np.testing.assert_array_equal((X @ ps.generators) >= 0, ps.D)
    assert _columns(ps.D) <= _columns(enumerate_patterns(X))


def test_sample_patterns_nested_prefix_and_deterministic() -> None:
    X = _gauss(20, 3, 2)
    small = sample_patterns(X, 40, np.random.default_rng(7))
    large = sample_patterns(X, 400, np.random.default_rng(7))
    again = sample_patterns(X, 400, np.random.default_rng(7))
    assert small.P_unique < large.P_unique
    np.testing.assert_array_equal(large.D[:, : small.P_unique], small.D)
    np.testing.assert_array_equal(large.generators[:, : small.P_unique], small.generators)
    np.testing.assert_array_equal(again.D, large.D)
    np.testing.assert_array_equal(again.generators, large.generators)
    other = sample_patterns(X, 400, np.random.default_rng(8))
    assert not np.array_equal(other.D, large.D)


def test_sample_patterns_extra_placed_first() -> None:
    X = _gauss(12, 3, 4)
    extra = (X @ _gauss(3, 3, 5)) >= 0  # (n, 3) teacher patterns
    extra = extra[:, extra.any(axis=0)]
    ps = sample_patterns(X, 50, np.random.default_rng(0), extra=extra)
    k = len(_columns(extra))
    np.testing.assert_array_equal(ps.D[:, :k], extra[:, :k])
    assert np.isnan(ps.generators[:, :k]).all()
    assert ps.P_requested == 50 and ps.P_unique == ps.D.shape[1]
    with pytest.raises(InputError, match="extra patterns must have shape"):
        sample_patterns(X, 5, np.random.default_rng(0), extra=extra[:5])


@pytest.mark.parametrize("P", [0, -1, 2.5, True, "10"])
def test_sample_patterns_bad_P(P: object) -> None:
    with pytest.raises(InputError, match="P \\(number of sampled patterns\\)"):
        sample_patterns(_gauss(5, 2, 0), P, np.random.default_rng(0))  # type: ignore[arg-type]
