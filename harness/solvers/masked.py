"""The masked products of THEORY.md §A2 and the group prox, shared by the fast solvers.

The forward map ``W -> sum_i D_i X w_i`` is the row sum of ``D * (X @ W)`` and its adjoint
``r -> (X^T D_i r)_i`` is ``X.T @ (D * r[:, None])``: the n x dP lifted matrix is never
formed, and the masks stay boolean (no float copy of ``D`` per call).
"""

from __future__ import annotations

import time

import numpy as np

from harness import formulations as F
from harness.formulations import FloatArray


class MaskedProducts:
    """``X @ W``, the masked forward map and ``X.T @ R`` with a clock on their arithmetic.

    ``forward(W, M) = rowsum(M * (X @ W))`` for a mask ``M`` (bool, or float signs),
    ``matmul(W) = X @ W`` and ``adjoint(R) = X.T @ R`` for an (n, k) array ``R`` built by
    the caller. The time spent in them is accumulated in ``seconds`` so benchmarks can
    report how close a solver is to the cost of its own products.
    """

    def __init__(self, X: FloatArray) -> None:
        self.X = X
        self.XT = np.ascontiguousarray(X.T)
        self.seconds = 0.0
        self.count = 0
        self._single: tuple[np.ndarray, np.ndarray] | None = None

    def single(self) -> tuple[np.ndarray, np.ndarray]:
        """``X`` and ``X^T`` in single precision (made on first use, then kept)."""
        if self._single is None:
            self._single = (self.X.astype(np.float32), self.XT.astype(np.float32))
        return self._single

    def matmul(self, W: FloatArray) -> FloatArray:
        t0 = time.perf_counter()
        out: FloatArray = self.X @ W
        self.seconds += time.perf_counter() - t0
        self.count += 1
        return out

    def forward(self, W: FloatArray, M: np.ndarray) -> FloatArray:
        t0 = time.perf_counter()
        pred: FloatArray = np.einsum("np,np->n", M, self.X @ W)
        self.seconds += time.perf_counter() - t0
        self.count += 1
        return pred

    def adjoint(self, R: FloatArray) -> FloatArray:
        t0 = time.perf_counter()
        out: FloatArray = self.XT @ R
        self.seconds += time.perf_counter() - t0
        self.count += 1
        return out

    def masked_adjoint(self, M: np.ndarray, r: FloatArray) -> FloatArray:
        """``(X^T D_i r)_i`` as a (d, P) array: ``X.T @ (M * r[:, None])``."""
        return self.adjoint(M * r[:, None])


def group_soft_threshold(Z: FloatArray, thresh: float) -> tuple[FloatArray, FloatArray]:
    """Prox of ``thresh * sum_i ||z_i||``: shrink each column norm by ``thresh``.

    Returns the shrunk array and its column norms.
    """
    norms = F.group_norms(Z)
    keep = np.maximum(norms - thresh, 0.0)
    scale = np.divide(keep, norms, out=np.zeros_like(norms), where=norms > 0)
    return Z * scale, keep


def power_lipschitz(
    ops: MaskedProducts, M: np.ndarray, y: FloatArray, n_iter: int = 100, rtol: float = 1e-4
) -> float:
    """Estimate ``||A||_2^2`` for ``A W = rowsum(M * (X @ W))`` by power iteration on A A^T.

    Deterministic start ``1 + |y| / ||y||`` (the top singular vector of a masked Gram
    matrix is close to a positive vector); the Rayleigh quotient is a lower bound, so
    callers pad it and keep an exact step-size check.
    """
    z = 1.0 + np.abs(y) / max(float(np.linalg.norm(y)), 1e-300)
    z = z / np.linalg.norm(z)
    lam = 0.0
    for _ in range(n_iter):
        w = ops.forward(ops.masked_adjoint(M, z), M)
        lam_new = float(np.linalg.norm(w))
        if lam_new == 0.0:
            return 0.0
        z = w / lam_new
        if abs(lam_new - lam) <= rtol * lam_new:
            return lam_new
        lam = lam_new
    return lam
