"""One FISTA step for "smooth + beta * sum of column norms", shared by (5) and the AL of (3).

FISTA [Beck & Teboulle 2009] with the gradient-based adaptive restart of O'Donoghue &
Candès (2015) and an exact backtracking check. The smooth part is seen only through a
linear *image* ``A Z`` (the masked forward product for (5), ``X @ Z`` for the augmented
Lagrangian), so the extrapolated image ``A Y = A Z + mom (A Z - A Z_prev)`` costs no
product: one image and one gradient (adjoint) product per iteration. The step is ``1/L``;
``curvature(dZ, dA)`` returns the curvature of the smooth part along the step taken, and a
step is accepted when it is at most ``L`` (the descent lemma), else ``L`` grows. With
``shrink < 1`` the constant also decreases before every step (optimistic growth of the
step, then backtracking through the same check): iterates live on a sparse support where
the curvature is well below the global constant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.formulations import FloatArray
from harness.solvers.masked import group_soft_threshold


@dataclass
class FistaStep:
    """What one step computed: extrapolated point, its image and gradient, the new point."""

    Y: FloatArray
    AY: Any
    G: FloatArray
    Z: FloatArray
    AZ: Any
    norms: FloatArray
    dZ: FloatArray


class GroupFista:
    """State of FISTA on ``h(Z) + beta sum_j ||z_j||`` with ``h`` seen through ``A Z``.

    Parameters
    ----------
    image : callable ``Z -> A Z`` (linear)
    gradient : callable ``(Y, A Y) -> grad h(Y)`` of the shape of ``Z``
    curvature : callable ``(dZ, A dZ) -> float``, the curvature of ``h`` along ``dZ``
    beta : float, the group-norm weight
    L : float, the initial constant (an upper estimate of the curvature)
    Z0 : the starting point
    shrink, L_floor : optimistic decrease of ``L`` before each step, and its floor
    """

    def __init__(
        self,
        image: Callable[[FloatArray], Any],
        gradient: Callable[[FloatArray, Any], FloatArray],
        curvature: Callable[[FloatArray, Any], float],
        beta: float,
        L: float,
        Z0: FloatArray,
        shrink: float = 1.0,
        L_floor: float = 0.0,
    ) -> None:
        self.image, self.gradient, self.curvature = image, gradient, curvature
        self.beta, self.L, self.shrink, self.L_floor = beta, L, shrink, L_floor
        self.n_iter = self.n_restarts = self.n_backtracks = 0
        self.restart_at(Z0, image(Z0))

    def restart_at(self, Z: FloatArray, AZ: Any) -> None:
        """Continue from ``Z`` (image ``AZ``) without momentum."""
        self.Z, self.AZ, self.Z_prev, self.AZ_prev, self.t = Z, AZ, Z, AZ, 1.0

    def step(self) -> FistaStep:
        """One accelerated proximal-gradient step with backtracking and adaptive restart."""
        self.n_iter += 1
        self.L = max(self.L_floor, self.shrink * self.L)
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * self.t * self.t))
        mom = (self.t - 1.0) / t_next
        if mom > 0.0:
            Y = self.Z + mom * (self.Z - self.Z_prev)
            AY = self.AZ + mom * (self.AZ - self.AZ_prev)
        else:
            Y, AY = self.Z, self.AZ
        G = self.gradient(Y, AY)
        while True:
            Z_new, norms = group_soft_threshold(Y - G / self.L, self.beta / self.L)
            AZ_new = self.image(Z_new)
            dZ = Z_new - Y
            rhs = float(np.vdot(dZ, dZ))
            if rhs == 0.0:
                break
            q = self.curvature(dZ, AZ_new - AY)
            if q <= self.L * (1.0 + 1e-12):
                break
            self.L = max(1.5 * self.L, 1.05 * q)
            self.n_backtracks += 1
        if float(np.vdot(Y - Z_new, Z_new - self.Z)) > 0.0:
            t_next = 1.0
            self.n_restarts += 1
        self.Z_prev, self.AZ_prev = self.Z, self.AZ
        self.Z, self.AZ, self.t = Z_new, AZ_new, t_next
        return FistaStep(Y, AY, G, Z_new, AZ_new, norms, dZ)
