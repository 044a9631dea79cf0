"""Hyperplane arrangements of the three-layer program (13): Remark 3, THEORY.md Part B.

A *combination* (one block of (13)) is ``(D_11..D_1m1, D_2, s)``: one first-layer pattern
per first-layer neuron, one second-layer pattern and a sign vector ``s in {+-1}^m1``. Two
routes build the set:

* :func:`sample_arrangements` (Remark 3): ``P1`` Gaussian ``H_i`` (d, m1) give the
  first-layer tuples ``D_1iq = diag(1[X H_i[:, q] >= 0])``; for each tuple ``P2`` Gaussian
  ``h'`` (m1,) give ``D_2 = diag(1[(X H_i)_+ h' >= 0])`` and ``s = sign(h')`` (the choice is
  explained in :mod:`harness.deep`).
* :func:`saturate_arrangements` (tiny instances): the same joint draws in batches until a
  whole batch adds no new combination. This is *exhaustive-by-saturation*, not a proof of
  completeness; :func:`covering_blocks` decides per trained network whether each of its
  sub-networks is feasible for some block, which is what the bound ``p13 <= p5`` needs.

Combinations whose output is identically zero (``D_2 = 0``, or no positive sign: then
``sum_q s_q D_1q X u_q <= 0`` and the ReLU output is 0) are dropped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from harness.deep.model import FloatArray, ParallelNet
from harness.errors import InputError

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
METHODS = ("sampled", "saturated")


@dataclass(frozen=True)
class Arrangements:
    """A set of combinations (blocks of (13)).

    Attributes
    ----------
    D1 : bool (n, A1)      distinct first-layer patterns
    D2 : bool (n, A2)      distinct second-layer patterns
    first : int (B, m1)    first-layer pattern of neuron q of block b (column of ``D1``)
    second : int (B,)      second-layer pattern of block b (column of ``D2``)
    signs : float (B, m1)  sign vector ``s`` of block b
    method : str           ``"sampled"`` or ``"saturated"``
    n_tuples : int         distinct first-layer tuples (``P1_unique``)
    n_draws : int          joint draws used
    n_dropped : int        zero-output combinations removed
    """

    D1: BoolArray
    D2: BoolArray
    first: IntArray
    second: IntArray
    signs: FloatArray
    method: str
    n_tuples: int
    n_draws: int
    n_dropped: int

    @property
    def n_blocks(self) -> int:
        return int(self.first.shape[0])

    @property
    def m1(self) -> int:
        return int(self.first.shape[1])

    @property
    def n(self) -> int:
        return int(self.D1.shape[0])

    def block_masks(self) -> tuple[FloatArray, FloatArray]:
        """``(D1b, D2b)``: float masks (B, m1, n) and (B, n) of every block."""
        D1b = self.D1.T[self.first].astype(float)
        D2b = self.D2.T[self.second].astype(float)
        return D1b, D2b

    def counts(self) -> dict[str, int | str]:
        """Scalar summary for result rows."""
        return {
            "arrangement_method": self.method,
            "P1_unique": self.n_tuples,
            "P2_unique": int(self.D2.shape[1]),
            "first_patterns": int(self.D1.shape[1]),
            "n_blocks": self.n_blocks,
            "n_draws": self.n_draws,
            "n_dropped": self.n_dropped,
        }


def _check_sizes(m1: int, P1: int, P2: int) -> None:
    for name, value in (("m1", m1), ("P1", P1), ("P2", P2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(f"{name} must be an int >= 1; got {value!r}")


def _draw(
    X: FloatArray, m1: int, P1: int, P2: int, rng: np.random.Generator
) -> tuple[BoolArray, BoolArray, FloatArray]:
    """Joint draws: tuples (P1, m1, n), second patterns (P1, P2, n), signs (P1, P2, m1)."""
    H = rng.standard_normal((P1, X.shape[1], m1))
    Z = np.einsum("nd,idm->imn", X, H)  # (P1, m1, n)
    hp = rng.standard_normal((P1, P2, m1))
    pre2 = np.einsum("imn,ilm->iln", np.maximum(Z, 0.0), hp)
    signs = np.where(hp >= 0, 1.0, -1.0)
    return Z >= 0, pre2 >= 0, signs


def _combos(
    tuples: BoolArray, second: BoolArray, signs: FloatArray
) -> tuple[BoolArray, BoolArray, IntArray, IntArray, FloatArray, int, int]:
    """Deduplicated combinations of joint draws (see :func:`_draw` for the shapes)."""
    P1, m1, n = tuples.shape
    P2 = second.shape[1]
    D1, inv1 = np.unique(tuples.reshape(P1 * m1, n), axis=0, return_inverse=True)
    first = np.asarray(inv1, dtype=np.int64).reshape(P1, m1)
    n_tuples = int(np.unique(first, axis=0).shape[0])
    D2, inv2 = np.unique(second.reshape(P1 * P2, n), axis=0, return_inverse=True)
    sec = np.asarray(inv2, dtype=np.int64).reshape(P1 * P2)
    rows = np.concatenate(
        [np.repeat(first, P2, axis=0), sec[:, None], signs.reshape(P1 * P2, m1).astype(np.int64)],
        axis=1,
    )
    rows = np.unique(rows, axis=0)
    keep = D2[rows[:, m1]].any(axis=1) & (rows[:, m1 + 1 :] > 0).any(axis=1)
    dropped = int((~keep).sum())
    rows = rows[keep]
    return (
        D1.T.copy(),
        D2.T.copy(),
        rows[:, :m1].copy(),
        rows[:, m1].copy(),
        rows[:, m1 + 1 :].astype(float),
        n_tuples,
        dropped,
    )


def _reindex(
    D1: BoolArray, D2: BoolArray, first: IntArray, second: IntArray
) -> tuple[BoolArray, BoolArray, IntArray, IntArray]:
    """Drop patterns no block uses and renumber."""
    used1, new1 = np.unique(first, return_inverse=True)
    used2, new2 = np.unique(second, return_inverse=True)
    return (
        D1[:, used1],
        D2[:, used2],
        np.asarray(new1, dtype=np.int64).reshape(first.shape),
        np.asarray(new2, dtype=np.int64).reshape(second.shape),
    )


def sample_arrangements(
    X: FloatArray, m1: int, P1: int, P2: int, rng: np.random.Generator
) -> Arrangements:
    """Remark 3 sampling: ``P1`` first-layer tuples, ``P2`` second-layer draws per tuple."""
    _check_sizes(m1, P1, P2)
    tuples, second, signs = _draw(X, m1, P1, P2, rng)
    D1, D2, first, sec, sg, n_tuples, dropped = _combos(tuples, second, signs)
    D1, D2, first, sec = _reindex(D1, D2, first, sec)
    return Arrangements(D1, D2, first, sec, sg, "sampled", n_tuples, P1 * P2, dropped)


def saturate_arrangements(
    X: FloatArray,
    m1: int,
    rng: np.random.Generator,
    batch: int = 500,
    patience: int = 2,
    max_draws: int = 400_000,
) -> Arrangements:
    """Joint draws in batches of ``batch`` tuples x 4 second layers until ``patience``
    consecutive batches add no new combination (exhaustive-by-saturation).
    """
    _check_sizes(m1, batch, patience)
    P2 = 4
    T: list[BoolArray] = []
    S: list[BoolArray] = []
    G: list[FloatArray] = []
    seen = -1
    quiet = 0
    draws = 0
    while draws < max_draws and quiet < patience:
        t, s, g = _draw(X, m1, batch, P2, rng)
        T.append(t)
        S.append(s)
        G.append(g)
        draws += batch * P2
        combos = _combos(np.concatenate(T), np.concatenate(S), np.concatenate(G))
        count = combos[2].shape[0] + combos[6]
        quiet = quiet + 1 if count == seen else 0
        seen = count
    D1, D2, first, sec, sg, n_tuples, dropped = _combos(
        np.concatenate(T), np.concatenate(S), np.concatenate(G)
    )
    D1, D2, first, sec = _reindex(D1, D2, first, sec)
    return Arrangements(D1, D2, first, sec, sg, "saturated", n_tuples, draws, dropped)


def subnet_factors(net: ParallelNet) -> tuple[FloatArray, FloatArray]:
    """``(V, s)``: ``v_kq = |w_2kq| w_1kq`` (K, m1, d) and ``s_kq = sign(w_2kq)`` (K, m1)."""
    V = np.abs(net.w2)[:, :, None] * np.transpose(net.W1, (0, 2, 1))
    s = np.where(net.w2 >= 0, 1.0, -1.0)
    return V, s


def covering_blocks(
    net: ParallelNet, X: FloatArray, arr: Arrangements, rtol: float = 1e-9
) -> IntArray:
    """For each sub-network the first block whose cones contain it, ``-1`` if none.

    Sub-network ``k`` fits block ``b`` when ``s_bq = sign(w_2kq)`` for every ``q`` with
    ``v_kq != 0`` and the cone constraints of (13) hold for ``u_q = v_kq`` up to
    ``rtol * max|X v_kq|``. A sub-network with identically zero output on ``X`` gets
    ``-2`` (it adds only penalty, so dropping it keeps ``p13 <= p5``).
    """
    V, s = subnet_factors(net)
    D1b, D2b = arr.block_masks()
    S1 = 2.0 * D1b - 1.0  # (B, m1, n)
    S2 = 2.0 * D2b - 1.0  # (B, n)
    out = np.full(net.K, -1, dtype=np.int64)
    XV = np.einsum("nd,kmd->kmn", X, V)  # (K, m1, n)
    for k in range(net.K):  # K is the network width (small); blocks are vectorised
        xv = XV[k]
        scale = max(float(np.max(np.abs(xv))), 1e-300)
        tol = rtol * scale
        pre = (np.maximum(xv, 0.0) * s[k][:, None]).sum(axis=0)
        if float(np.max(np.maximum(pre, 0.0) * abs(net.w3[k]))) <= tol or net.w3[k] == 0:
            out[k] = -2
            continue
        nonzero = np.abs(xv).max(axis=1) > tol
        sign_ok = np.all((arr.signs == s[k][None, :]) | ~nonzero[None, :], axis=1)
        first_ok = np.all(S1 * xv[None] >= -tol, axis=(1, 2))
        pre_b = np.einsum("bm,bmn,mn->bn", arr.signs, D1b, xv)
        second_ok = np.all(S2 * pre_b >= -tol, axis=1)
        hit = np.flatnonzero(sign_ok & first_ok & second_ok)
        if hit.size:
            out[k] = int(hit[0])
    return out
