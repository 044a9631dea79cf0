"""Objectives of THEORY.md §A2, evaluated in plain numpy.

Conventions (used everywhere in the harness, no hidden scaling):

* ``X`` has shape (n, d), ``y`` shape (n,), ``beta > 0``.
* ``D`` is a boolean array of shape (n, P); column ``i`` is the diagonal of ``D_i``.
* Convex variables are stored column-wise: ``U``, ``V``, ``W`` have shape (d, P) and
  column ``i`` is ``u_i`` / ``v_i`` / ``w_i``. Everything is vectorised over patterns
  through the n x P array ``D * (X @ W)``.
* Network weights: ``U_net`` of shape (d, m) (first layer, one column per neuron) and
  ``alpha`` of shape (m,) (second layer).

The loss is always ``1/2 ||residual||_2^2`` and the penalty exactly as written in
THEORY.md (no 1/n factor).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from harness.errors import InputError

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


# --------------------------------------------------------------------------- validation
def check_data(X: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validate and convert ``X`` (n, d) and ``y`` (n,) to finite float64 arrays.

    Raises
    ------
    InputError
        On wrong dimensions, mismatched lengths, empty arrays or non-finite values.
    """
    X_arr = np.asarray(X, dtype=np.float64)
    y_arr = np.asarray(y, dtype=np.float64)
    if X_arr.ndim != 2:
        raise InputError(f"X must be a 2-D array of shape (n, d); got shape {X_arr.shape}")
    if y_arr.ndim != 1:
        raise InputError(f"y must be a 1-D array of shape (n,); got shape {y_arr.shape}")
    if X_arr.shape[0] != y_arr.shape[0]:
        raise InputError(
            f"X and y must have the same number of rows; got {X_arr.shape[0]} and {y_arr.shape[0]}"
        )
    if X_arr.shape[0] == 0 or X_arr.shape[1] == 0:
        raise InputError(f"X must be non-empty; got shape {X_arr.shape}")
    if not np.all(np.isfinite(X_arr)):
        raise InputError("X contains NaN or infinite values")
    if not np.all(np.isfinite(y_arr)):
        raise InputError("y contains NaN or infinite values")
    return X_arr, y_arr


def check_patterns(D: ArrayLike, n: int) -> BoolArray:
    """Validate a pattern matrix: shape (n, P), entries in {0, 1}; returns bool array."""
    D_arr = np.asarray(D)
    if D_arr.ndim != 2 or D_arr.shape[0] != n:
        raise InputError(f"D must have shape (n={n}, P); got shape {D_arr.shape}")
    if D_arr.shape[1] == 0:
        raise InputError("D must contain at least one pattern (P >= 1)")
    if D_arr.dtype != np.bool_:
        if not np.all(np.isin(D_arr, (0, 1))):
            raise InputError("D must contain only 0/1 entries")
        D_arr = D_arr.astype(bool)
    return D_arr


def check_beta(beta: float) -> float:
    """Validate the weight-decay strength: a finite float > 0."""
    try:
        b = float(beta)
    except (TypeError, ValueError) as exc:
        raise InputError(f"beta must be a number > 0; got {beta!r}") from exc
    if not np.isfinite(b) or b <= 0:
        raise InputError(f"beta must be a finite number > 0; got {beta!r}")
    return b


# --------------------------------------------------------------------------- (1) network
def network_predict(X: FloatArray, U_net: FloatArray, alpha: FloatArray) -> FloatArray:
    """Two-layer ReLU network output ``sum_j (X u_j)_+ alpha_j``, THEORY.md eq. (1)."""
    return np.maximum(X @ U_net, 0.0) @ alpha


def network_objective(
    X: FloatArray, y: FloatArray, U_net: FloatArray, alpha: FloatArray, beta: float
) -> float:
    """Non-convex training objective, THEORY.md eq. (1).

    ``1/2 ||sum_j (X u_j)_+ alpha_j - y||^2 + beta/2 sum_j (||u_j||^2 + alpha_j^2)``.
    """
    r = network_predict(X, U_net, alpha) - y
    return float(0.5 * r @ r + 0.5 * beta * (np.sum(U_net * U_net) + alpha @ alpha))


def network_gradient(
    X: FloatArray, y: FloatArray, U_net: FloatArray, alpha: FloatArray, beta: float
) -> tuple[float, FloatArray, FloatArray]:
    """Value and gradient of eq. (1) w.r.t. ``(U_net, alpha)``.

    Uses the subgradient convention ``d/dz (z)_+ = 1[z > 0]``.

    Returns
    -------
    value : float
    grad_U : ndarray of shape (d, m)
    grad_alpha : ndarray of shape (m,)
    """
    Z = X @ U_net
    H = np.maximum(Z, 0.0)
    r = H @ alpha - y
    value = 0.5 * r @ r + 0.5 * beta * (np.sum(U_net * U_net) + alpha @ alpha)
    grad_alpha = H.T @ r + beta * alpha
    grad_U = X.T @ ((Z > 0) * np.outer(r, alpha)) + beta * U_net
    return float(value), grad_U, grad_alpha


# --------------------------------------------------------------------------- (3), (5)
def gated_predict(X: FloatArray, D: BoolArray, W: FloatArray) -> FloatArray:
    """``sum_i D_i X w_i`` computed as the row sums of ``D * (X @ W)``.

    Only the non-zero columns of ``W`` enter when they are fewer than half (the solutions
    of (3) and (5) are sparse in columns: 32 of 10 000 at P = 5 000).
    """
    nz = np.flatnonzero(np.any(W != 0.0, axis=0))
    if 2 * nz.size < W.shape[1]:
        return np.einsum("np,np->n", D[:, nz], X @ W[:, nz])
    return np.einsum("np,np->n", D, X @ W)


def group_norms(W: FloatArray) -> FloatArray:
    """Column norms ``||w_i||_2`` of a (d, P) array."""
    return np.sqrt(np.einsum("dp,dp->p", W, W))


def group_lasso_value(r: FloatArray, beta: float, *Ws: FloatArray) -> float:
    """``1/2 ||r||^2 + beta * (sum of the column norms of every W)`` for a residual ``r``."""
    return float(0.5 * r @ r + beta * sum(float(group_norms(W).sum()) for W in Ws))


def gated_objective(
    X: FloatArray, y: FloatArray, D: BoolArray, W: FloatArray, beta: float
) -> float:
    """Gated-ReLU group lasso, THEORY.md eq. (5).

    ``1/2 ||sum_i D_i X w_i - y||^2 + beta sum_i ||w_i||_2``.
    """
    return group_lasso_value(gated_predict(X, D, W) - y, beta, W)


def relu_objective(
    X: FloatArray, y: FloatArray, D: BoolArray, U: FloatArray, V: FloatArray, beta: float
) -> float:
    """ReLU (cone-constrained) relaxation objective, THEORY.md eq. (3) / (2).

    ``1/2 ||sum_i D_i X (u_i - v_i) - y||^2 + beta sum_i (||u_i|| + ||v_i||)``. The cone
    constraints are *not* checked here; see :func:`cone_violation`.
    """
    return group_lasso_value(gated_predict(X, D, U - V) - y, beta, U, V)


def cone_violation(X: FloatArray, D: BoolArray, *Ws: FloatArray) -> float:
    """Largest relative violation of the cone constraints ``(2 D_i - I) X w_i >= 0``.

    ``max_{i,j} (-(2 D_ji - 1) x_j^T w_i)_+ / (max_j ||x_j|| * max_i ||w_i||)`` over all
    columns of all given arrays: the violation measured against the scale of the
    solution, so numerically-zero columns do not dominate. Zero solutions give 0.
    """
    scale = float(np.max(np.linalg.norm(X, axis=1)))
    top = max((float(group_norms(W).max()) for W in Ws if W.size), default=0.0)
    if top == 0.0 or scale == 0.0:
        return 0.0
    sign = 2.0 * D - 1.0
    worst = max(float(np.maximum(-(sign * (X @ W)), 0.0).max()) for W in Ws)
    return worst / (scale * top)


# --------------------------------------------------------------------------- helpers
def beta_max(X: FloatArray, y: FloatArray, D: BoolArray) -> float:
    """``max_i ||X^T D_i y||_2`` over the given patterns.

    For ``beta >= beta_max`` the zero solution is optimal for (5) on these patterns (and
    for (3), since the cone constraints only shrink the feasible set).
    """
    G = X.T @ (D * y[:, None])
    return float(group_norms(G).max())


def masked_gram(X: FloatArray, D: BoolArray) -> FloatArray:
    """``S = sum_i D_i X X^T D_i`` (n, n), computed as ``(X X^T) * (D D^T)``."""
    Dm = D.astype(np.float64)
    return (X @ X.T) * (Dm @ Dm.T)


def ridge_value(X: FloatArray, y: FloatArray, D: BoolArray, beta: float) -> float:
    """Closed-form optimum of the l2^2-regularised relaxation, THEORY.md Thm 3.4 / (11).

    ``min 1/2||sum_i D_i X w_i - y||^2 + beta/2 sum_i ||w_i||^2
    = beta/2 * y^T (S + beta I)^{-1} y`` with ``S`` from :func:`masked_gram`.
    """
    S = masked_gram(X, D)
    n = S.shape[0]
    sol = np.linalg.solve(S + beta * np.eye(n), y)
    return float(0.5 * beta * y @ sol)


def ridge_weights(X: FloatArray, y: FloatArray, D: BoolArray, beta: float) -> FloatArray:
    """Minimiser of (11): ``w_i = X^T D_i z`` with ``z = (S + beta I)^{-1} y``; (d, P)."""
    S = masked_gram(X, D)
    z = np.linalg.solve(S + beta * np.eye(S.shape[0]), y)
    return X.T @ (D * z[:, None])


def ridge_objective(
    X: FloatArray, y: FloatArray, D: BoolArray, W: FloatArray, beta: float
) -> float:
    """Objective of (11): ``1/2||sum_i D_i X w_i - y||^2 + beta/2 sum_i ||w_i||^2``."""
    r = gated_predict(X, D, W) - y
    return float(0.5 * r @ r + 0.5 * beta * np.sum(W * W))


def dual_value(v: FloatArray, y: FloatArray) -> float:
    """Dual objective ``v^T y - 1/2 ||v||^2`` of (2) and (5) (THEORY.md Part D)."""
    return float(v @ y - 0.5 * v @ v)


# --------------------------------------------------------------------------- duality
def _best_scale(v: FloatArray, y: FloatArray, t_max: float) -> float:
    """Maximiser of ``t v^T y - t^2/2 ||v||^2`` over ``0 <= t <= t_max``."""
    vv = float(v @ v)
    if vv == 0.0:
        return 0.0
    return float(np.clip(float(v @ y) / vv, 0.0, t_max))


def gated_dual_bound(
    X: FloatArray, y: FloatArray, D: BoolArray, v: FloatArray, beta: float
) -> float:
    """Certified lower bound on the optimum of (5) on patterns ``D`` (weak duality).

    Dual of (5): ``max_v v^T y - 1/2||v||^2`` s.t. ``||X^T D_i v||_2 <= beta`` for all i.
    The candidate ``v`` (e.g. the residual ``y - y_hat``) is scaled by the best feasible
    ``t`` (THEORY.md Part D, "Scaling a candidate"). It equals :func:`relu_dual_bound`
    with zero cone multipliers.
    """
    return relu_dual_bound(X, y, D, v, beta)


def relu_dual_bound(
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    v: FloatArray,
    beta: float,
    lam: FloatArray | None = None,
    mu: FloatArray | None = None,
) -> float:
    """Certified lower bound on the optimum of (3) on patterns ``D`` (weak duality).

    Lagrangian dual of (3) with multipliers ``lam_i, mu_i >= 0`` (n, P) of the cone
    constraints ``A_i u_i >= 0``, ``A_i v_i >= 0``, ``A_i = (2 D_i - I) X``::

        max  v^T y - 1/2 ||v||^2
        s.t. ||X^T D_i v + A_i^T lam_i||_2 <= beta,  ||X^T D_i v - A_i^T mu_i||_2 <= beta.

    The constraints are homogeneous in ``(v, lam, mu)``, so the candidate is scaled by the
    best feasible ``t``. Negative multipliers are clipped to zero (keeps it valid). With
    ``lam = mu = 0`` this is the (looser) cone-dropped bound.
    """
    S = 2.0 * D - 1.0
    base = X.T @ (D * v[:, None])
    Gu = base + (X.T @ (S * np.maximum(lam, 0.0)) if lam is not None else 0.0)
    Gv = base - (X.T @ (S * np.maximum(mu, 0.0)) if mu is not None else 0.0)
    g = max(float(group_norms(Gu).max()), float(group_norms(Gv).max()))
    t_max = np.inf if g == 0 else beta / g
    t = _best_scale(v, y, float(t_max))
    return float(t * (v @ y) - 0.5 * t * t * (v @ v))


def active_mask(W: FloatArray, rtol: float = 1e-6) -> BoolArray:
    """Columns whose norm exceeds ``rtol`` times the largest column norm (active neurons)."""
    norms = group_norms(W)
    top = norms.max() if norms.size else 0.0
    return norms > rtol * top if top > 0 else np.zeros(norms.shape, dtype=bool)
