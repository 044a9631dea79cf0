"""Projections onto the pattern cones ``K_i = {u : (2 D_i - I) X u >= 0}`` (THEORY.md §A1)."""

from __future__ import annotations

import numpy as np

from harness.formulations import BoolArray, FloatArray
from harness.solvers.nnls import nnls_checked


def signed_values(D: BoolArray, XW: FloatArray) -> FloatArray:
    """Cone values ``(2 D_i - I) X w_i`` from ``X @ W`` without a float copy of ``D``.

    The signs are taken as one byte each (``int8``, the size of the boolean mask): a
    multiplication by them is several times faster than ``np.where(D, XW, -XW)``, which
    allocates ``-XW`` and branches per entry.
    """
    out: FloatArray = XW * sign_bytes(D)
    return out


def sign_bytes(D: BoolArray) -> np.ndarray:
    """The cone signs ``2 D - 1`` as ``int8`` (one byte per entry, like the boolean mask)."""
    signs: np.ndarray = np.asarray(D, dtype=np.bool_).view(np.int8) * 2 - 1
    return signs


#: Bytes of one (n, block) float array in the blocked column loops (fits in cache): the
#: cone products here and the pricing iterations (:mod:`harness.solvers.pricing`).
BLOCK_BYTES = 256 * 1024


def block_columns(n: int) -> int:
    """Columns per block of the blocked column loops: an (n, block) float array of ~256 KiB."""
    return max(32, BLOCK_BYTES // (8 * max(n, 1)))


def float_signs(D: BoolArray, dtype: type = np.float64) -> FloatArray:
    """The cone signs ``2 D - 1`` of a block as floats (cast in place: no temporaries)."""
    S: FloatArray = np.asarray(D, dtype=np.bool_).astype(dtype)
    S *= 2.0
    S -= 1.0
    return S


def cone_products(
    XT: FloatArray, D: BoolArray, *lams: FloatArray, masked: FloatArray | None = None
) -> list[FloatArray]:
    """``A_i^T lam_i = X^T ((2 D_i - 1) * lam_i)`` for every column, for each (n, P) ``lam``.

    Runs on blocks of columns whose (n, block) arrays fit in cache, the signs of a block
    made once for all the ``lams``: no (n, P) float copy of the patterns or of a signed
    ``lam`` is formed. Returns one (d, P) array per ``lam``, preceded, when a vector
    ``masked`` (n,) is given, by the masked products ``X^T D_i masked`` (d, P).
    """
    n, P = D.shape
    outs = [np.empty((XT.shape[0], P)) for _ in range(len(lams) + (masked is not None))]
    width = block_columns(n)
    for lo in range(0, P, width):
        b = slice(lo, min(lo + width, P))
        S = float_signs(D[:, b])
        k = 0
        if masked is not None:
            outs[0][:, b] = XT @ (np.asarray(D[:, b]) * masked[:, None])
            k = 1
        for lam, out in zip(lams, outs[k:], strict=True):
            S_lam = S * lam[:, b]
            out[:, b] = XT @ S_lam
    return outs


def project_cone(A: FloatArray, u: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Projection of ``u`` onto ``{z : A z >= 0}`` and its multiplier ``mu >= 0`` (n,).

    Dual NNLS ``min_{mu >= 0} ||A^T mu + u||`` over all rows (Lawson-Hanson, its
    optimality conditions checked: :func:`harness.solvers.nnls.nnls_checked`);
    ``u' = u + A^T mu``. By the NNLS optimality conditions
    ``A u' >= 0`` and ``mu_j (A u')_j = 0``. ``||u'||`` is the smallest ``||u + A^T mu||``
    over ``mu >= 0`` (Moreau), which is also what the dual certificate of (3) needs
    (THEORY.md Part D, bound 1). One NNLS over all n rows: growing a working set of rows
    from the violated ones took 2-3 NNLS calls and twice the time (n = 160-1000,
    d = 20-50). Should NNLS fail, ``u`` itself is returned with ``mu = 0``: not a
    projection, but still the valid upper bound ``||u||`` on ``||u'||``.
    """
    mu = np.zeros(A.shape[0])
    if not np.any(A @ u < 0.0):
        return u.copy(), mu
    try:
        mu = nnls_checked(A.T, -u, maxiter=max(100, 20 * A.shape[0]))
    except RuntimeError:  # pragma: no cover - neither NNLS method converged
        return u.copy(), mu
    out: FloatArray = u + A.T @ mu
    return out, mu


def cone_matrix(X: FloatArray, d_col: BoolArray) -> FloatArray:
    """``A_i = (2 D_i - I) X`` for one pattern column (n,)."""
    out: FloatArray = np.where(d_col[:, None], X, -X)
    return out


def polish_cones(X: FloatArray, D: BoolArray, W: FloatArray) -> FloatArray:
    """Project each column of ``W`` onto its cone ``K_i``, THEORY.md §A1; returns a copy.

    Only columns with a violated row are touched (through :func:`project_cone`);
    projection onto a cone never increases a norm.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    D : bool ndarray of shape (n, k)
    W : ndarray of shape (d, k)
    """
    out = W.copy()
    nz = np.flatnonzero(np.any(W != 0.0, axis=0))
    if nz.size == 0:
        return out
    C = signed_values(D[:, nz], X @ W[:, nz])
    for k in np.flatnonzero((C < 0.0).any(axis=0)):
        i = nz[k]
        out[:, i], _ = project_cone(cone_matrix(X, D[:, i]), W[:, i])
    return out
