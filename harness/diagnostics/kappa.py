"""kappa, Sigma, matrix Chernoff and the §3 bound functions, THEORY.md §A4.

* :func:`sigma_closed_form` -- ``Sigma = E_h[D_h X X^T D_h]`` exactly (Prop B.9, order-1
  arc-cosine kernel); :func:`sigma_monte_carlo` -- its Monte-Carlo mean (for cross-checks).
* :func:`kappa` -- ``||X||_2^2 / lambda_min(Sigma)``; :func:`empirical_S_bar`,
  :func:`kappa_hat` -- the empirical variant of (7); :func:`chernoff_ratio` -- P9's
  ``lambda_min(S_bar) / lambda_min(Sigma)``; :func:`chernoff_pattern_count` and
  :func:`chernoff_failure_bound` -- Lemma A.1 / Prop 3.2.
* :func:`pattern_rank` -- ``rank [D_1 X, ..., D_P X]`` (Prop 3.2, P8).
* Bound functions (plain scalars, for the predictions): :func:`prop35_bound`,
  :func:`prop35_valid_bound`, :func:`prop36_lower_bound`, :func:`cor37_lower_bound`,
  :func:`thm38_ratio_bound`, :func:`bound7`, :func:`thm34_concentration`,
  :func:`kappa_heuristic`.

Scaling: ``Sigma`` scales like ``X X^T``, so ``kappa`` is invariant to ``X -> s X``.
"""

from __future__ import annotations

import math

import numpy as np

from harness.errors import InputError
from harness.formulations import BoolArray, FloatArray, masked_gram

#: Relative eigenvalue threshold below which ``lambda_min`` is treated as zero.
_EIG_RTOL = 1e-12


def sigma_closed_form(X: FloatArray) -> FloatArray:
    """``Sigma = E_h[D_h X X^T D_h]``, THEORY.md §A4 Prop B.9 (arc-cosine kernel).

    ``Sigma_ij = <x_i, x_j> (pi - theta_ij) / (2 pi)`` with ``cos theta_ij = rho_ij`` the
    cosine between rows ``i`` and ``j``; ``Sigma_ii = ||x_i||^2 / 2``. Rows equal to zero
    give zero rows and columns.

    Parameters
    ----------
    X : ndarray of shape (n, d)

    Returns
    -------
    ndarray of shape (n, n), symmetric PSD
    """
    X = np.asarray(X, dtype=np.float64)
    G = X @ X.T
    norms = np.sqrt(np.clip(np.diag(G), 0.0, None))
    denom = np.outer(norms, norms)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(denom > 0, G / np.where(denom > 0, denom, 1.0), 0.0)
    theta = np.arccos(np.clip(rho, -1.0, 1.0))
    S = G * (np.pi - theta) / (2.0 * np.pi)
    np.fill_diagonal(S, 0.5 * norms**2)
    return 0.5 * (S + S.T)


def sigma_monte_carlo(
    X: FloatArray, n_samples: int, rng: np.random.Generator, chunk: int = 4096
) -> FloatArray:
    """Monte-Carlo mean ``(1/N) sum_k D_{h_k} X X^T D_{h_k}``, ``h_k ~ N(0, I_d)``, §A4.

    Every drawn ``h`` is used (duplicates are not removed), so this is an unbiased
    estimate of :func:`sigma_closed_form`.
    """
    if n_samples < 1:
        raise InputError(f"n_samples must be an integer >= 1; got {n_samples!r}")
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    total = np.zeros((n, n))
    left = int(n_samples)
    while left > 0:
        k = min(chunk, left)
        D = (X @ rng.standard_normal((d, k))) >= 0
        total += masked_gram(X, D)
        left -= k
    return total / n_samples


def lambda_min(S: FloatArray) -> float:
    """Smallest eigenvalue of a symmetric matrix (``eigvalsh``)."""
    return float(np.linalg.eigvalsh(0.5 * (S + S.T))[0])


def kappa(X: FloatArray, Sigma: FloatArray | None = None) -> float:
    """``kappa = ||X||_2^2 / lambda_min(Sigma)``, THEORY.md §A4 (boxed) [RECON].

    ``Sigma`` defaults to :func:`sigma_closed_form`. Returns ``inf`` when ``Sigma`` is
    singular (``lambda_min <= 1e-12 * lambda_max``), e.g. for parallel or zero rows.
    """
    X = np.asarray(X, dtype=np.float64)
    S = sigma_closed_form(X) if Sigma is None else Sigma
    return _ratio_to_lmin(float(np.linalg.norm(X, 2)) ** 2, S)


def empirical_S_bar(X: FloatArray, D: BoolArray) -> FloatArray:
    """``S_bar = (1/P) sum_i D_i X X^T D_i`` over the given patterns, THEORY.md §A4 / (7)."""
    return masked_gram(X, D) / D.shape[1]


def kappa_hat(X: FloatArray, D: BoolArray) -> float:
    """Empirical ``kappa_hat = ||X||_2^2 / lambda_min(S_bar)``, THEORY.md §A4."""
    return _ratio_to_lmin(float(np.linalg.norm(X, 2)) ** 2, empirical_S_bar(X, D))


def chernoff_ratio(X: FloatArray, D: BoolArray, Sigma: FloatArray | None = None) -> float:
    """``lambda_min(S_bar) / lambda_min(Sigma)`` (matrix Chernoff check, P9), §A4 Lemma A.1.

    Lemma A.1 with ``eps = 1/2``: the ratio is ``>= 1/2`` with probability
    ``>= 1 - n exp(-P / (8 kappa))`` when the ``P`` patterns are i.i.d. Gaussian draws
    (duplicates kept). ``inf`` if ``Sigma`` is singular.
    """
    S = sigma_closed_form(X) if Sigma is None else Sigma
    lmin_sigma = lambda_min(S)
    if lmin_sigma <= _EIG_RTOL * max(float(np.abs(S).max(initial=0.0)), 1e-300):
        return math.inf
    return lambda_min(empirical_S_bar(X, D)) / lmin_sigma


def chernoff_pattern_count(kappa_value: float, n: int, delta: float) -> int:
    """``ceil(8 kappa log(n / delta))`` patterns, THEORY.md §A4 Prop 3.2 [RECON constant 8]."""
    if not 0 < delta < 1:
        raise InputError(f"delta must be in (0, 1); got {delta!r}")
    if not math.isfinite(kappa_value):
        raise InputError(f"kappa must be finite; got {kappa_value!r}")
    return math.ceil(8.0 * kappa_value * math.log(n / delta))


def chernoff_failure_bound(P: int, kappa_value: float, n: int) -> float:
    """``min(1, n exp(-P / (8 kappa)))``: Lemma A.1 bound on ``P{lambda_min(S_bar) <=
    lambda_min(Sigma)/2}``, THEORY.md §A4."""
    return float(min(1.0, n * math.exp(-P / (8.0 * kappa_value))))


def pattern_rank(X: FloatArray, D: BoolArray, rtol: float | None = None) -> int:
    """``rank [D_1 X, ..., D_P X]`` (n x dP), THEORY.md §A4 Prop 3.2 / P8.

    Computed from the singular values of the n x dP matrix when it has at most 4e6
    entries, else from the eigenvalues of ``S = sum_i D_i X X^T D_i`` (same rank, squared
    singular values). ``rtol`` defaults to numpy's ``matrix_rank`` rule.
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    P = D.shape[1]
    if n * d * P <= 4_000_000:
        A = (D.T[:, :, None] * X[None, :, :]).transpose(1, 0, 2).reshape(n, P * d)
        sv = np.linalg.svd(A, compute_uv=False)
        tol = sv.max(initial=0.0) * (max(A.shape) * np.finfo(float).eps if rtol is None else rtol)
        return int(np.sum(sv > tol))
    ev = np.linalg.eigvalsh(masked_gram(X, D))
    sv = np.sqrt(np.clip(ev, 0.0, None))
    tol = sv.max(initial=0.0) * (n * P * d * np.finfo(float).eps if rtol is None else rtol)
    return int(np.sum(sv > max(tol, math.sqrt(np.finfo(float).eps) * sv.max(initial=0.0))))


# --------------------------------------------------------------------------- bounds
def prop35_bound(beta: float, y_norm: float, lambda_min_sigma: float) -> float:
    """``sqrt(2) beta ||y|| / sqrt(lambda_min(Sigma))``: Prop 3.5 w.h.p. upper bound on
    ``p~_u`` (valid with prob. ``>= 1 - delta`` when ``P >= 8 kappa log(n/delta)``), §A4."""
    if lambda_min_sigma <= 0:
        return math.inf
    return math.sqrt(2.0) * beta * y_norm / math.sqrt(lambda_min_sigma)


def prop35_valid_bound(beta: float, y_norm: float, lambda_min_sbar: float) -> float:
    """Always-valid Prop 3.5: ``p~_u <= min(||y||^2/2, beta ||y|| / sqrt(lambda_min(S_bar)))``.

    THEORY.md §A4: ``w_i = X^T D_i S^{-1} y`` interpolates ``y``, and by Cauchy-Schwarz
    ``sum_i ||w_i|| <= ||y|| / sqrt(lambda_min(S/P))``; ``w = 0`` gives ``||y||^2/2``.
    """
    trivial = 0.5 * y_norm**2
    if lambda_min_sbar <= 0:
        return trivial
    return min(trivial, beta * y_norm / math.sqrt(lambda_min_sbar))


def prop36_lower_bound(beta: float, y_norm: float, gamma: float) -> float:
    """Prop 3.6: ``p_u >= ||y||^2 (t - t^2/2)``, ``t = min(1, beta / gamma)``, §A4.

    ``gamma`` must be a valid *upper* bound on ``max_i ||X^T D_i y||`` over all patterns:
    ``||X||_2 ||y||`` (the paper's choice), the exact ``gamma_all`` from enumeration, or
    ``sqrt`` of the MAX-CUT value (P7). A lower estimate of ``gamma_all`` is not valid here.
    """
    if gamma <= 0:
        return 0.5 * y_norm**2
    t = min(1.0, beta / gamma)
    return y_norm**2 * (t - 0.5 * t * t)


def cor37_lower_bound(beta: float, y_norm: float, X_norm: float) -> float:
    """Cor 3.7: ``p* >= p_u >= beta ||y|| / (2 ||X||_2)`` when ``beta <= ||X||_2 ||y||``, §A4.

    Returns ``nan`` when the condition fails (the bound is then not stated).
    """
    if beta > X_norm * y_norm:
        return math.nan
    return beta * y_norm / (2.0 * X_norm)


def thm38_ratio_bound(kappa_value: float) -> float:
    """``2 sqrt(2 kappa)``: Thm 3.8 bound on ``p~_u / p_u`` (w.h.p.) [RECON constant], §A4."""
    return 2.0 * math.sqrt(2.0 * kappa_value)


def bound7(gamma_all: float, y_norm: float, lambda_min_sbar: float) -> float:
    """Improved bound (7): ``p~_u / p_u <= 2 gamma_all / (||y|| sqrt(lambda_min(S_bar)))``.

    THEORY.md §A4 (7): valid (deterministically) when ``beta <= gamma_all`` with
    ``gamma_all = max_i ||X^T D_i y||`` over all patterns, combining
    :func:`prop35_valid_bound` and :func:`prop36_lower_bound` with ``t = beta/gamma_all``.
    """
    if lambda_min_sbar <= 0 or y_norm == 0:
        return math.inf
    return 2.0 * gamma_all / (y_norm * math.sqrt(lambda_min_sbar))


def thm34_concentration(
    beta: float, y: FloatArray, P: int, Sigma: FloatArray, c: float = 1.0
) -> float:
    """``beta/2 y^T (c P Sigma + beta I)^{-1} y``, Thm 3.4 concentration value (P10), §A4.

    ``c = 1`` is the limit value; the theorem brackets the exact ridge value
    :func:`harness.formulations.ridge_value` between ``c = c2`` and ``c = c1`` (e.g. 1/2)
    with high probability.
    """
    n = Sigma.shape[0]
    sol = np.linalg.solve(c * P * Sigma + beta * np.eye(n), y)
    return float(0.5 * beta * y @ sol)


def kappa_heuristic(n: int, d: int) -> float:
    """Heuristic level ``4 (1 + sqrt(n/d))^2`` of kappa under (A1), THEORY.md Thm 3.9 (P4)."""
    return 4.0 * (1.0 + math.sqrt(n / d)) ** 2


# --------------------------------------------------------------------------- private
def ratio_to_lambda_min(num: float, lmin: float, lmax: float) -> float:
    """``num / lmin``, or ``inf`` when ``lmin <= 1e-12 * lmax`` (singular matrix).

    The one place that decides when ``Sigma`` or ``S_bar`` counts as singular; callers that
    already hold the eigenvalues use it instead of recomputing them through :func:`kappa`.
    """
    if lmin <= _EIG_RTOL * max(lmax, 1e-300):
        return math.inf
    return num / lmin


def _ratio_to_lmin(num: float, S: FloatArray) -> float:
    ev = np.linalg.eigvalsh(0.5 * (S + S.T))
    return ratio_to_lambda_min(num, float(ev[0]), float(ev[-1]))
