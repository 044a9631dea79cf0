"""Nonnegative least squares with its optimality conditions checked.

``scipy.optimize.nnls`` (Lawson-Hanson; reimplemented in SciPy 1.12 and again in 1.15)
can return a point that is not the minimiser, with a wrong residual, on small problems
(scipy/scipy#25389; met here with SciPy 1.17.1 on a degenerate 6 x 60 cone projection of
the test catalogue, whose result violated its cone by 0.65 where the norm of the
projected vector was 0.014; the same problem with ``b`` scaled by 10 was solved right).
The solvers use NNLS for exact cone projections and bound-constrained Newton steps, so
``b`` is scaled to unit norm, every result is checked against the KKT conditions of
``min ||A x - b||, x >= 0`` and, where they fail, recomputed by bounded-variable least
squares (``scipy.optimize.lsq_linear``, ``method="bvls"``).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import lsq_linear, nnls

from harness.formulations import FloatArray

#: The KKT conditions hold to this fraction of ``||A||_F ||b||`` (a bound on the scale of
#: the gradient ``A^T (b - A x)``): ``w <= tol`` everywhere and ``|w_i| <= tol`` where
#: ``x_i > 0``. Rounding in a correct solution stays many orders of magnitude below.
KKT_RTOL = 1e-9

#: Calls whose SciPy NNLS result failed the check (and were recomputed), since import.
n_repaired = 0


def kkt_violation(A: FloatArray, b: FloatArray, x: FloatArray) -> float:
    """Largest violation of the NNLS optimality conditions at ``x >= 0``, relative to
    ``||A||_F ||b||`` (:data:`KKT_RTOL`): ``max(w)`` and ``max |w_i|`` over ``x_i > 0``,
    ``w = A^T (b - A x)``."""
    w = A.T @ (b - A @ x)
    scale = float(np.linalg.norm(A)) * float(np.linalg.norm(b))
    if scale == 0.0:
        return 0.0
    worst = max(float(w.max(initial=0.0)), float(np.abs(w[x > 0.0]).max(initial=0.0)))
    return worst / scale


def nnls_checked(A: FloatArray, b: FloatArray, maxiter: int | None = None) -> FloatArray:
    """``argmin ||A x - b||`` over ``x >= 0``: SciPy's NNLS, checked (module docstring).

    ``b`` is scaled to unit norm for the solve (the problem is positively homogeneous in
    ``b``). Raises ``RuntimeError`` when neither method satisfies the conditions.
    """
    global n_repaired
    norm_b = float(np.linalg.norm(b))
    if norm_b == 0.0:
        return np.zeros(A.shape[1])
    x: FloatArray | None = None
    try:
        x = nnls(A, b / norm_b, maxiter=maxiter)[0] * norm_b
    except RuntimeError:  # iteration limit: try the other method
        pass
    if x is not None and kkt_violation(A, b, x) <= KKT_RTOL:
        return x
    n_repaired += 1
    fit = lsq_linear(A, b / norm_b, bounds=(0.0, np.inf), method="bvls", tol=1e-15)
    y: FloatArray = np.maximum(fit.x, 0.0) * norm_b
    if kkt_violation(A, b, y) > KKT_RTOL:
        raise RuntimeError("NNLS: neither Lawson-Hanson nor BVLS met the KKT conditions")
    return y
