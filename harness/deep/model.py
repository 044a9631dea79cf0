"""The non-convex three-layer parallel network (5) of THEORY.md Part B.

``f(X) = sum_k ((X W_1k)_+ w_2k)_+ w_3k`` with ``||W_1k||_F <= 1``; objective
``1/2 ||f(X) - y||^2 + beta/2 sum_k (||w_2k||^2 + w_3k^2)``. Every evaluation of (5) in the
harness goes through :func:`objective`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from harness.errors import InputError

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ParallelNet:
    """Weights of (5): ``W1`` (K, d, m1), ``w2`` (K, m1), ``w3`` (K,)."""

    W1: FloatArray
    w2: FloatArray
    w3: FloatArray

    def __post_init__(self) -> None:
        K, _, m1 = self.W1.shape
        if self.w2.shape != (K, m1) or self.w3.shape != (K,):
            raise InputError(
                f"ParallelNet shapes must be W1 (K, d, m1), w2 (K, m1), w3 (K,); got "
                f"{self.W1.shape}, {self.w2.shape}, {self.w3.shape}"
            )

    @property
    def K(self) -> int:
        return int(self.W1.shape[0])

    @property
    def d(self) -> int:
        return int(self.W1.shape[1])

    @property
    def m1(self) -> int:
        return int(self.W1.shape[2])

    def frobenius_norms(self) -> FloatArray:
        """``||W_1k||_F`` for every sub-network k."""
        return np.sqrt(np.einsum("kdm,kdm->k", self.W1, self.W1))


def random_net(
    K: int, d: int, m1: int, rng: np.random.Generator, scale: float = 1.0
) -> ParallelNet:
    """Gaussian initial weights; ``W_1k`` scaled to the unit Frobenius sphere (feasible)."""
    W1 = rng.standard_normal((K, d, m1))
    W1 /= np.sqrt(np.einsum("kdm,kdm->k", W1, W1))[:, None, None]
    w2 = scale * rng.standard_normal((K, m1)) / np.sqrt(m1)
    w3 = scale * rng.standard_normal(K) / np.sqrt(K)
    return ParallelNet(W1, w2, w3)


def forward(net: ParallelNet, X: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(Z1, z2, out)``: first-layer pre-activations (K, n, m1), second (K, n), output (n,)."""
    Z1 = np.einsum("nd,kdm->knm", X, net.W1)
    z2 = np.einsum("knm,km->kn", np.maximum(Z1, 0.0), net.w2)
    out = np.maximum(z2, 0.0).T @ net.w3
    return Z1, z2, out


def predict(net: ParallelNet, X: FloatArray) -> FloatArray:
    """Network output ``f(X)`` (n,)."""
    return forward(net, X)[2]


def regularizer(net: ParallelNet, beta: float) -> float:
    """``beta/2 sum_k (||w_2k||^2 + w_3k^2)`` of (5)."""
    return 0.5 * beta * float(np.sum(net.w2**2) + np.sum(net.w3**2))


def objective(net: ParallelNet, X: FloatArray, y: FloatArray, beta: float) -> float:
    """Value of (5) (the Frobenius constraint is not part of the value; see ``is_feasible``)."""
    r = predict(net, X) - y
    return 0.5 * float(r @ r) + regularizer(net, beta)


def is_feasible(net: ParallelNet, tol: float = 1e-9) -> bool:
    """``||W_1k||_F <= 1 + tol`` for every k."""
    return bool(np.all(net.frobenius_norms() <= 1.0 + tol))


def gradient(
    net: ParallelNet, X: FloatArray, y: FloatArray, beta: float, loss_scale: float = 1.0
) -> tuple[float, ParallelNet]:
    """Value and gradient of ``loss_scale/2 ||f(X) - y||^2 + beta/2 (...)`` (5).

    ``loss_scale = n / batch`` makes a mini-batch gradient unbiased for (5). The ReLU
    derivative at 0 is taken as 0 (a subgradient).
    """
    Z1, z2, out = forward(net, X)
    r = out - y
    A1 = np.maximum(Z1, 0.0)
    a2 = np.maximum(z2, 0.0)
    value = 0.5 * loss_scale * float(r @ r) + regularizer(net, beta)
    rs = loss_scale * r
    g3 = a2 @ rs + beta * net.w3
    dz2 = (z2 > 0) * (net.w3[:, None] * rs[None, :])  # (K, n)
    g2 = np.einsum("knm,kn->km", A1, dz2) + beta * net.w2
    dZ1 = (Z1 > 0) * (dz2[:, :, None] * net.w2[:, None, :])  # (K, n, m1)
    g1 = np.einsum("nd,knm->kdm", X, dZ1)
    return value, ParallelNet(g1, g2, g3)


def project(net: ParallelNet) -> ParallelNet:
    """Projection onto ``{||W_1k||_F <= 1}``: ``W_1k / max(1, ||W_1k||_F)``."""
    scale = np.maximum(net.frobenius_norms(), 1.0)
    return ParallelNet(net.W1 / scale[:, None, None], net.w2, net.w3)


def rebalance(net: ParallelNet) -> ParallelNet:
    """Lemma 1 rescaling: ``(w_2k, w_3k) -> (a w_2k, w_3k / a)`` with ``a^2 = |w_3k|/||w_2k||``.

    The output is unchanged and the regulariser becomes ``beta sum_k ||w_2k|| |w_3k|`` (6),
    its minimum over the rescalings; used to compare a trained network with (13).
    """
    n2 = np.linalg.norm(net.w2, axis=1)
    a3 = np.abs(net.w3)
    ok = (n2 > 0) & (a3 > 0)
    a = np.ones_like(n2)
    a[ok] = np.sqrt(a3[ok] / n2[ok])
    w2 = net.w2 * a[:, None]
    w3 = np.where(ok, net.w3 / a, 0.0)
    w2 = np.where(ok[:, None], w2, 0.0)
    return ParallelNet(net.W1.copy(), w2, w3)
