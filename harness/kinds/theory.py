"""Theory diagnostics as sweep kinds, THEORY.md §A4, §3.4 and §A5 (predictions P4, P7-P11, P13).

Every kind builds one (A1) instance (``X_ij ~ N(0, 1)``, ``n = round(c d)``) from the point's
seed and returns flat rows holding the measured numbers *and* the predicted / bound values
they are compared with, so that the checks of :mod:`harness.predictions.theory` are pure
table computations. Each diagnostic's wall time is recorded (``time_*_s``).

Kinds
-----
``kappa``
    ``kappa = ||X||_2^2 / lambda_min(Sigma)`` with the exact ``Sigma`` (arc-cosine kernel,
    Prop B.9) and the heuristic level ``4 (1 + sqrt c)^2`` (Thm 3.9; P4, Figure 3).
``chernoff_rank``
    ``P`` i.i.d. Gaussian patterns (duplicates kept, as in the matrix Chernoff lemma):
    ``lambda_min(S_bar) / lambda_min(Sigma)`` (P9), ``rank [D_1 X, ..., D_P X]`` (P8), the
    minimal-norm interpolation residual (the ``beta -> 0`` value of Cor 3.3) and the
    threshold ``8 kappa log(n / delta)`` (Prop 3.2).
``ridge``
    The exact l2^2 relaxation value (Thm 3.4 closed form) on nested pattern sets against the
    concentration value ``beta/2 y^T (P Sigma + beta I)^{-1} y`` and the bracket values at
    ``c1 = 1/2``, ``c2 = 2`` (P10).
``sharpness``
    A LOWER estimate of ``sup_u C(K, u)`` (Def 4.1), the Chebyshev radii ``Z(u)`` and the
    Prop 4.3 inequalities ``C(K, u) <= Z(u) + 1 <= 2 Z(u) + 1`` on a batch of directions
    (P11, P13, Figure 4); cones from (A1) data with a Gaussian ``h`` or the ``[a G]`` model.
``maxcut``
    ``gamma_all^2 = max_i ||X^T D_i y||^2`` (exact by enumeration for small ``d``, else a
    flagged lower estimate) against ``max_s s^T diag(y) X X^T diag(y) s`` (exact or certified
    SDP upper bound) (P7, Figure 5), and the bound (7).

Choices THEORY.md leaves open are module constants or point parameters, documented below.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from harness import formulations as F
from harness.certificates import gamma_all
from harness.diagnostics.kappa import (
    bound7,
    chernoff_failure_bound,
    chernoff_pattern_count,
    empirical_S_bar,
    kappa_heuristic,
    lambda_min,
    pattern_rank,
    ratio_to_lambda_min,
    sigma_closed_form,
    sigma_monte_carlo,
    thm34_concentration,
)
from harness.diagnostics.maxcut import max_binary_quadratic, maxcut_matrix
from harness.diagnostics.sharpness import (
    chebyshev_radius,
    cone_matrices,
    cone_sharpness,
    random_cone_model,
    sharpness_sup_estimate,
)
from harness.errors import InputError
from harness.formulations import BoolArray, FloatArray, masked_gram, ridge_value
from harness.instances import LABEL_MODELS, gaussian_design, make_rng
from harness.kinds import register_kind
from harness.kinds.common import BetaRule, SyntheticInstance
from harness.params import Interval, IntList, Options, param, parse_P_list

#: Theorem 3.4 bracket constants: ``c1 = 1/2`` is THEORY.md's example; ``c2 = 2`` is derived
#: here [RECON] from the upper tail of matrix Chernoff on the whitened matrices
#: ``Sigma^{-1/2} D X X^T D Sigma^{-1/2}`` (``R = kappa``, ``eps = 1``): failure probability
#: ``n (e/4)^{P/kappa} <= delta`` once ``P >= 8 kappa log(n/delta)``.
RIDGE_C1 = 0.5
RIDGE_C2 = 2.0
#: Relative tolerance of the Prop 4.3 per-direction comparisons (the SOCPs are solved to
#: ``tol`` ~1e-7; an excess below this is solver noise, not a violation).
SHARPNESS_RTOL = 1e-5
#: Largest ``n`` for which MAX-CUT is solved exactly by enumeration (brief: ``n <= 20``).
MAXCUT_EXACT_MAX_N = 20
#: Default random ``h`` for the lower estimate of ``gamma_all`` when enumeration is refused.
DEFAULT_N_H = 4000
#: Default enumeration cap (Cover's count above which ``gamma_all`` is only estimated).
DEFAULT_ENUM_CAP = 100_000


# --------------------------------------------------------------------------- helpers
@dataclass(frozen=True)
class _Timer:
    """``with``-free stopwatch: ``t = _Timer.start(); ...; t.elapsed()``."""

    t0: float

    @staticmethod
    def start() -> _Timer:
        return _Timer(time.perf_counter())

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


_DELTA = Interval(float, 0.0, 1.0, closed="neither")
SHARPNESS_MODELS = ("data", "aG")


@dataclass(frozen=True, kw_only=True)
class KappaParams(SyntheticInstance):
    """``kappa``: an (A1) design; ``n_mc`` Monte-Carlo draws of Sigma to compare (0: none)."""

    n_mc: int = param(Interval(int, 0, None), 0)


@dataclass(frozen=True, kw_only=True)
class ChernoffParams(SyntheticInstance):
    """``chernoff_rank``: ``P`` directly or ``P_mult`` times the Prop 3.2 threshold."""

    labels: str = param(Options(LABEL_MODELS), "gaussian")
    delta: float = param(_DELTA, 0.1)
    P: int | None = param(Interval(int, 1, None), None)
    P_mult: float | None = param(Interval(float, 0.0, None, closed="neither"), None)


@dataclass(frozen=True, kw_only=True)
class RidgeParams(SyntheticInstance, BetaRule):
    """``ridge``: nested pattern counts ``P_list``, the beta rule, ``delta``."""

    P_list: str = param(IntList())
    delta: float = param(_DELTA, 0.1)


@dataclass(frozen=True, kw_only=True)
class SharpnessParams(SyntheticInstance):
    """``sharpness``: cone model and the sizes of the direction batches; SOCP tolerance."""

    model: str = param(Options(SHARPNESS_MODELS), "data")
    n_random: int = param(Interval(int, 1, None), 16)
    n_check: int = param(Interval(int, 1, None), 16)
    n_ascent: int = param(Interval(int, 0, None), 4)
    tol: float = param(Interval(float, 0.0, 1.0, closed="neither"), 1e-7)


@dataclass(frozen=True, kw_only=True)
class MaxcutParams(SyntheticInstance):
    """``maxcut``: ``P`` patterns for S_bar; exact MAX-CUT size, enumeration cap, ``n_h``."""

    P: int = param(Interval(int, 1, None))
    exact_max_n: int = param(Interval(int, 0, 24), MAXCUT_EXACT_MAX_N)
    enum_cap: int = param(Interval(int, 1, None), DEFAULT_ENUM_CAP)
    n_h: int = param(Interval(int, 1, None), DEFAULT_N_H)


def gaussian_patterns_iid(X: FloatArray, P: int, rng: np.random.Generator) -> BoolArray:
    """``P`` i.i.d. Gaussian patterns ``1[X h_k >= 0]`` WITHOUT deduplication, §A4 Lemma A.1.

    The matrix Chernoff lemma and Theorem 3.4 are about sums over i.i.d. draws, so repeated
    patterns must be kept (``harness.patterns.sample_patterns`` removes them, which is right
    for the convex programs but changes ``S_bar``). Columns are drawn in order, so a prefix
    of the result is the draw for a smaller ``P`` (nested sets).
    """
    if P < 1:
        raise InputError(f"P must be an integer >= 1; got {P!r}")
    H = rng.standard_normal((int(P), X.shape[1])).T
    return np.asarray((X @ H) >= 0)


def _lambda_extremes(S: FloatArray) -> tuple[float, float]:
    ev = np.linalg.eigvalsh(0.5 * (S + S.T))
    return float(ev[0]), float(ev[-1])


def _pattern_count(p: ChernoffParams, kappa_value: float, n: int) -> tuple[int, int]:
    """``(P_used, P_threshold)`` from ``P`` or ``P_mult * ceil(8 kappa log(n / delta))``."""
    threshold = (
        chernoff_pattern_count(kappa_value, n, p.delta) if math.isfinite(kappa_value) else -1
    )
    if p.P is not None and p.P_mult is not None:
        raise InputError("set only one of 'P' and 'P_mult'; got both")
    if p.P is not None:
        return p.P, threshold
    if p.P_mult is None:
        raise InputError("one of 'P' or 'P_mult' is required")
    if threshold < 0:
        raise InputError("P_mult needs a finite kappa (Sigma is singular for this X)")
    return max(1, math.ceil(p.P_mult * threshold)), threshold


# --------------------------------------------------------------------------- kappa
KAPPA_COLUMNS = (
    "c_eff",
    "kappa",
    "lambda_min_sigma",
    "lambda_max_sigma",
    "X_norm2",
    "kappa_heuristic",
    "kappa_over_heuristic",
    "lambda_min_sigma_over_d",
    "sigma_mc_rel_err",
    "time_sigma_s",
    "time_kappa_s",
)


@register_kind("kappa", params=KappaParams, requires=[("n", "c"), ("d",)])
def kappa_kind(p: KappaParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """``kappa = ||X||_2^2 / lambda_min(Sigma)``, THEORY.md §A4 (boxed) and Thm 3.9 (P4).

    Parameters
    ----------
    p : the kind's parameter dataclass
        ``n`` (or ``c`` with ``n = round(c d)``), ``d``; optional ``n_mc`` (default 0): if
        positive, the Monte-Carlo mean of ``n_mc`` draws of ``D_h X X^T D_h`` is compared
        with the closed form (``sigma_mc_rel_err``, relative Frobenius error).
    seed : SeedSequence

    Returns
    -------
    list of dict
        One row with :data:`KAPPA_COLUMNS`: ``kappa`` (``inf`` if ``Sigma`` is singular),
        ``lambda_min_sigma``, ``lambda_max_sigma``, ``X_norm2 = ||X||_2^2``, the heuristic
        level ``4 (1 + sqrt(n/d))^2`` and timings.
    """
    n, d = p.n, p.d
    x_seed, mc_seed = seed.spawn(2)
    X = gaussian_design(n, d, make_rng(x_seed))
    t = _Timer.start()
    Sigma = sigma_closed_form(X)
    time_sigma = t.elapsed()
    t = _Timer.start()
    lmin, lmax = _lambda_extremes(Sigma)
    x_norm2 = float(np.linalg.norm(X, 2)) ** 2
    kap = ratio_to_lambda_min(x_norm2, lmin, lmax)
    time_kappa = t.elapsed()
    heur = kappa_heuristic(n, d)
    n_mc = p.n_mc
    mc_err = math.nan
    if n_mc > 0:
        S_mc = sigma_monte_carlo(X, n_mc, make_rng(mc_seed))
        mc_err = float(np.linalg.norm(S_mc - Sigma) / np.linalg.norm(Sigma))
    return [
        {
            "c_eff": n / d,
            "kappa": kap,
            "lambda_min_sigma": lmin,
            "lambda_max_sigma": lmax,
            "X_norm2": x_norm2,
            "kappa_heuristic": heur,
            "kappa_over_heuristic": kap / heur,
            "lambda_min_sigma_over_d": lmin / d,
            "sigma_mc_rel_err": mc_err,
            "time_sigma_s": time_sigma,
            "time_kappa_s": time_kappa,
        }
    ]


# --------------------------------------------------------------------------- chernoff_rank
CHERNOFF_COLUMNS = (
    "c_eff",
    "delta_used",
    "kappa",
    "lambda_min_sigma",
    "P_used",
    "P_threshold",
    "at_threshold",
    "P_over_threshold",
    "P_over_kappa_log_n",
    "P_unique",
    "lambda_min_sbar",
    "chernoff_ratio",
    "chernoff_ok",
    "chernoff_failure_bound",
    "rank",
    "full_rank",
    "interp_residual_rel",
    "p_beta0",
    "time_sigma_s",
    "time_patterns_s",
    "time_sbar_s",
    "time_rank_s",
    "time_residual_s",
)


@register_kind(
    "chernoff_rank",
    params=ChernoffParams,
    requires=[("n", "c"), ("d",), ("P", "P_mult"), ("delta",)],
)
def chernoff_rank_kind(p: ChernoffParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Matrix Chernoff and full rank with ``P`` sampled patterns, THEORY.md §A4 Prop 3.2 (P8, P9).

    Draws an (A1) instance and ``P`` i.i.d. Gaussian patterns (duplicates kept). ``P`` is
    given directly or as ``P_mult * ceil(8 kappa log(n / delta))`` with the instance's exact
    ``kappa``. Measures ``chernoff_ratio = lambda_min(S_bar) / lambda_min(Sigma)`` (Lemma
    A.1 predicts ``>= 1/2`` w.p. ``>= 1 - n exp(-P / (8 kappa))``), ``rank [D_1 X ... D_P
    X]`` (Prop 3.2: ``= n`` w.p. ``>= 1 - delta`` at the threshold) and the ``beta -> 0``
    value of Cor 3.3: with ``S = sum_i D_i X X^T D_i``, ``z = lstsq(S, y)`` and the
    minimal-norm weights ``w_i = X^T D_i z``, ``sum_i D_i X w_i = S z``, so
    ``p_beta0 = 1/2 ||S z - y||^2`` (zero when the rank is ``n``) and
    ``interp_residual_rel = ||S z - y|| / ||y||``.

    Parameters
    ----------
    p : the kind's parameter dataclass
        ``n`` or ``c``, ``d``, ``delta`` (in (0, 1)), and ``P`` or ``P_mult``; optional
        instance fields (labels default ``"gaussian"``, ``y ~ N(0, I)``).
    seed : SeedSequence

    Returns
    -------
    list of dict
        One row with :data:`CHERNOFF_COLUMNS` (``P_threshold`` is ``-1`` when ``kappa`` is
        infinite).
    """
    n, d = p.n, p.d
    inst_seed, pattern_seed = seed.spawn(2)
    inst = p.instance(inst_seed)
    X, y = inst.X, inst.y
    delta = p.delta
    t = _Timer.start()
    Sigma = sigma_closed_form(X)
    lmin_sigma, lmax_sigma = _lambda_extremes(Sigma)
    x_norm2 = float(np.linalg.norm(X, 2)) ** 2
    kap = ratio_to_lambda_min(x_norm2, lmin_sigma, lmax_sigma)
    time_sigma = t.elapsed()
    P, threshold = _pattern_count(p, kap, n)
    t = _Timer.start()
    D = gaussian_patterns_iid(X, P, make_rng(pattern_seed))
    P_unique = int(np.unique(np.packbits(D, axis=0), axis=1).shape[1])
    time_patterns = t.elapsed()
    t = _Timer.start()
    S = masked_gram(X, D)
    lmin_sbar = lambda_min(S / P)
    ratio = lmin_sbar / lmin_sigma if math.isfinite(kap) else math.inf
    time_sbar = t.elapsed()
    t = _Timer.start()
    rank = pattern_rank(X, D)
    time_rank = t.elapsed()
    t = _Timer.start()
    z = np.linalg.lstsq(S, y, rcond=None)[0]
    resid = float(np.linalg.norm(S @ z - y))
    time_resid = t.elapsed()
    y_norm = float(np.linalg.norm(y))
    return [
        {
            "c_eff": n / d,
            "delta_used": delta,
            "kappa": kap,
            "lambda_min_sigma": lmin_sigma,
            "P_used": P,
            "P_threshold": threshold,
            "at_threshold": bool(threshold > 0 and P >= threshold),
            "P_over_threshold": P / threshold if threshold > 0 else math.nan,
            "P_over_kappa_log_n": P / (kap * math.log(n)) if n > 1 else math.nan,
            "P_unique": P_unique,
            "lambda_min_sbar": lmin_sbar,
            "chernoff_ratio": ratio,
            "chernoff_ok": bool(ratio >= 0.5),
            "chernoff_failure_bound": (
                chernoff_failure_bound(P, kap, n) if math.isfinite(kap) else 1.0
            ),
            "rank": rank,
            "full_rank": bool(rank == n),
            "interp_residual_rel": resid / y_norm if y_norm > 0 else 0.0,
            "p_beta0": 0.5 * resid**2,
            "time_sigma_s": time_sigma,
            "time_patterns_s": time_patterns,
            "time_sbar_s": time_sbar,
            "time_rank_s": time_rank,
            "time_residual_s": time_resid,
        }
    ]


# --------------------------------------------------------------------------- ridge
RIDGE_COLUMNS = (
    "c_eff",
    "delta_used",
    "P_used",
    "P_threshold",
    "at_threshold",
    "kappa",
    "beta_used",
    "beta_max",
    "p_ridge",
    "p_conc",
    "p_c1",
    "p_c2",
    "ridge_over_conc",
    "in_bracket",
    "c1_hat",
    "c2_hat",
    "time_ridge_s",
    "time_conc_s",
)


@register_kind(
    "ridge",
    params=RidgeParams,
    requires=[("n", "c"), ("d",), ("P_list",), ("beta", "beta_rel"), ("delta",)],
)
def ridge_kind(p: RidgeParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """l2^2-regularised relaxation against its concentration value, THEORY.md §A4 Thm 3.4 (P10).

    One (A1) instance and one i.i.d. draw of ``max(P_list)`` Gaussian patterns (duplicates
    kept); for every ``P`` in ``P_list`` the prefix of ``P`` patterns gives the exact value
    ``p_ridge = beta/2 y^T (S_P + beta I)^{-1} y`` (:func:`harness.formulations.ridge_value`)
    and the concentration values ``p_conc`` (``c = 1``), ``p_c1`` (``c = 1/2``, an upper
    value) and ``p_c2`` (``c = 2``, a lower value) of ``beta/2 y^T (c P Sigma + beta I)^{-1}
    y``. ``in_bracket`` is ``p_c2 <= p_ridge <= p_c1`` (Thm 3.4 predicts it w.p. ``>= 1 -
    2 delta`` when ``P >= 8 kappa log(n/delta)``, see :data:`RIDGE_C2`). ``c1_hat``,
    ``c2_hat`` are the measured extreme generalised eigenvalues of ``(S_P / P, Sigma)``: the
    tightest constants with ``c1 P Sigma <= S_P <= c2 P Sigma``.

    Parameters
    ----------
    p : the kind's parameter dataclass
        ``n`` or ``c``, ``d``, ``P_list`` (e.g. ``"16,64,256"``), ``delta``, and ``beta``
        (absolute) or ``beta_rel`` (a fraction of ``beta_max = max_i ||X^T D_i y||`` over the
        ``max(P_list)`` patterns); optional instance fields (labels default ``"planted"``).
    seed : SeedSequence

    Returns
    -------
    list of dict
        One row per ``P`` with :data:`RIDGE_COLUMNS`.
    """
    n, d = p.n, p.d
    Ps = parse_P_list(p.P_list)
    delta = p.delta
    inst_seed, pattern_seed = seed.spawn(2)
    inst = p.instance(inst_seed)
    X, y = inst.X, inst.y
    Sigma = sigma_closed_form(X)
    lmin_sigma, lmax_sigma = _lambda_extremes(Sigma)
    x_norm2 = float(np.linalg.norm(X, 2)) ** 2
    kap = ratio_to_lambda_min(x_norm2, lmin_sigma, lmax_sigma)
    threshold = chernoff_pattern_count(kap, n, delta) if math.isfinite(kap) else -1
    D_all = gaussian_patterns_iid(X, Ps[-1], make_rng(pattern_seed))
    bmax = F.beta_max(X, y, D_all)
    beta = p.beta_value(bmax)
    if not beta > 0:
        raise InputError(f"beta must be > 0; got {beta!r} (beta_max = {bmax:g})")
    rows = []
    for P in Ps:
        D = D_all[:, :P]
        t = _Timer.start()
        p_ridge = ridge_value(X, y, D, beta)
        time_ridge = t.elapsed()
        t = _Timer.start()
        p_conc = thm34_concentration(beta, y, P, Sigma, c=1.0)
        p_c1 = thm34_concentration(beta, y, P, Sigma, c=RIDGE_C1)
        p_c2 = thm34_concentration(beta, y, P, Sigma, c=RIDGE_C2)
        time_conc = t.elapsed()
        # the generalised eigenvalues need Sigma positive definite; with d = 1 (or any X
        # whose Sigma is singular, kappa = inf) the constants c1_hat, c2_hat do not exist
        if math.isfinite(kap) and lmin_sigma > 0:
            gev = scipy.linalg.eigh(empirical_S_bar(X, D), Sigma, eigvals_only=True)
        else:
            gev = np.array([math.nan, math.nan])
        rows.append(
            {
                "c_eff": n / d,
                "delta_used": delta,
                "P_used": P,
                "P_threshold": threshold,
                "at_threshold": bool(threshold > 0 and P >= threshold),
                "kappa": kap,
                "beta_used": beta,
                "beta_max": bmax,
                "p_ridge": p_ridge,
                "p_conc": p_conc,
                "p_c1": p_c1,
                "p_c2": p_c2,
                "ridge_over_conc": p_ridge / p_conc if p_conc > 0 else math.nan,
                "in_bracket": bool(p_c2 <= p_ridge <= p_c1),
                "c1_hat": float(gev[0]),
                "c2_hat": float(gev[-1]),
                "time_ridge_s": time_ridge,
                "time_conc_s": time_conc,
            }
        )
    return rows


# --------------------------------------------------------------------------- sharpness
SHARPNESS_COLUMNS = (
    "c_eff",
    "C_sup_lower_est",
    "C_random_max",
    "C_adversarial_max",
    "C_ascent_max",
    "Z_at_best",
    "Z_max_lower_est",
    "cheb_bound",
    "cheb_bound_tight",
    "n_dirs_checked",
    "n_dirs_failed",
    "C_min",
    "n_viol_2Z1",
    "n_viol_Z1",
    "C_worst_2Z1",
    "rhs_worst_2Z1",
    "C_worst_Z1",
    "rhs_worst_Z1",
    "sqrt_log_n",
    "C_over_sqrt_log_n",
    "Z_over_sqrt_log_n",
    "h_margin_min",
    "sharp_status",
    "time_sup_s",
    "time_batch_s",
)


def _worst_pair(lhs: FloatArray, rhs: FloatArray) -> tuple[float, float, int]:
    """The ``(lhs, rhs)`` pair with the largest relative excess, and the violation count."""
    ok = np.isfinite(lhs) & np.isfinite(rhs)
    if not ok.any():
        return math.nan, math.nan, 0
    rel = (lhs[ok] - rhs[ok]) / np.maximum(np.abs(rhs[ok]), 1e-12)
    j = int(np.argmax(rel))
    n_viol = int(np.sum(rel > SHARPNESS_RTOL))
    return float(lhs[ok][j]), float(rhs[ok][j]), n_viol


@register_kind("sharpness", params=SharpnessParams, requires=[("n", "c"), ("d",)])
def sharpness_kind(p: SharpnessParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Cone sharpness and the Chebyshev-centre bound, THEORY.md §A5 Def 4.1, Prop 4.3, Thm 4.4.

    The cone ``K = {w : A w >= 0}`` is ``A = (2 D_h - I) X`` with ``X`` an (A1) design and
    ``h ~ N(0, I_d)`` (``model="data"``), or ``A = [a G]`` with ``a`` folded normal and
    ``G`` Gaussian (``model="aG"``, the rotation reduction, generator ``e_1``).

    * ``C_sup_lower_est``: :func:`harness.diagnostics.sharpness.sharpness_sup_estimate`, a
      LOWER estimate of ``C(K) = sup_{||u||=1} C(K, u)`` (random, adversarial and ascent
      directions; the best of each source is ``C_*_max``).
    * A check batch of ``n_check`` random unit directions plus the best direction: both
      ``C(K, u)`` and ``Z(u) = min {||c|| : A c >= |A u|}`` per direction; ``n_viol_2Z1``
      / ``n_viol_Z1`` count directions with ``C > 2 Z + 1`` / ``C > Z + 1`` beyond
      :data:`SHARPNESS_RTOL` (Prop 4.3 says none), and ``C_worst_*`` / ``rhs_worst_*`` is
      the pair with the largest relative excess; ``C_min`` must be ``>= 1``.
    * ``Z_max_lower_est``: max of ``Z`` over the batch after ``n_ascent`` monotone ascent
      steps ``u <- g / ||g||`` (``Z`` is convex and homogeneous; Thm 4.4 bounds its max by
      ``C sqrt(log n)``); ``cheb_bound = 2 Z_max + 1`` (paper) and ``cheb_bound_tight =
      Z_max + 1`` are the corresponding bounds on ``C(K)`` *if* ``Z_max`` were exact.

    Parameters
    ----------
    p : the kind's parameter dataclass
        ``n`` or ``c``, ``d``; optional ``model`` (``"data"``), ``n_random`` (16),
        ``n_check`` (16), ``n_ascent`` (4), ``tol`` (1e-7).
    seed : SeedSequence

    Returns
    -------
    list of dict
        One row with :data:`SHARPNESS_COLUMNS`; ``sharp_status`` is ``"optimal"`` when every
        SOCP batch solved to optimality, else the first other status.
    """
    n, d = p.n, p.d
    model = p.model
    tol, n_random, n_check, n_ascent = p.tol, p.n_random, p.n_check, p.n_ascent
    cone_seed, dir_seed = seed.spawn(2)
    crng = make_rng(cone_seed)
    if model == "data":
        X = gaussian_design(n, d, crng)
        h = crng.standard_normal(d)
        A = cone_matrices(X, (X @ h >= 0)[:, None])[0]
    else:
        A = random_cone_model(n, d, crng)
        h = np.zeros(d)
        h[0] = 1.0
    row_norms = np.linalg.norm(A, axis=1)
    h_margin = float(np.min(np.abs(A @ h) / np.maximum(row_norms, 1e-300)) / np.linalg.norm(h))
    rng = make_rng(dir_seed)
    t = _Timer.start()
    est = sharpness_sup_estimate(A, rng, h=h, n_random=n_random, tol=tol)
    time_sup = t.elapsed()
    t = _Timer.start()
    U = np.concatenate([rng.standard_normal((d, n_check)), est.u_best[:, None]], axis=1)
    C = cone_sharpness(A, U, tol=tol)
    Z = chebyshev_radius(A, U, tol=tol)
    statuses = [C.status, Z.status]
    Cv, Zv = C.values.copy(), Z.values.copy()
    # Monotone ascent on Z (convex, homogeneous): Z(g/||g||) >= ||g|| >= g^T u = Z(u).
    z_best = float(np.max(np.where(np.isfinite(Zv), Zv, -np.inf), initial=-np.inf))
    order = np.argsort(-np.where(np.isfinite(Zv), Zv, -np.inf))[: max(1, min(4, Zv.size))]
    G = Z.grad[:, order]
    for _ in range(n_ascent):
        ok = np.all(np.isfinite(G), axis=0) & (np.linalg.norm(G, axis=0) > 0)
        if not ok.any():
            break
        step = chebyshev_radius(A, G[:, ok], tol=tol)
        statuses.append(step.status)
        z_best = max(
            z_best, float(np.max(np.where(np.isfinite(step.values), step.values, -np.inf)))
        )
        G = step.grad
    time_batch = t.elapsed()
    n_failed = int(np.sum(~np.isfinite(Cv) | ~np.isfinite(Zv)))
    c2, r2, v2 = _worst_pair(Cv, 2.0 * Zv + 1.0)
    c1, r1, v1 = _worst_pair(Cv, Zv + 1.0)
    bad = [s for s in statuses if s != "optimal"]
    sl = math.sqrt(math.log(n)) if n > 1 else math.nan
    return [
        {
            "c_eff": n / d,
            "C_sup_lower_est": est.value_lower_est,
            "C_random_max": est.by_source.get("random", math.nan),
            "C_adversarial_max": est.by_source.get("adversarial", math.nan),
            "C_ascent_max": est.by_source.get("ascent", math.nan),
            "Z_at_best": est.z_at_best,
            "Z_max_lower_est": z_best,
            "cheb_bound": 2.0 * z_best + 1.0,
            "cheb_bound_tight": z_best + 1.0,
            "n_dirs_checked": int(U.shape[1]),
            "n_dirs_failed": n_failed,
            "C_min": float(np.nanmin(Cv)) if np.isfinite(Cv).any() else math.nan,
            "n_viol_2Z1": v2,
            "n_viol_Z1": v1,
            "C_worst_2Z1": c2,
            "rhs_worst_2Z1": r2,
            "C_worst_Z1": c1,
            "rhs_worst_Z1": r1,
            "sqrt_log_n": sl,
            "C_over_sqrt_log_n": est.value_lower_est / sl,
            "Z_over_sqrt_log_n": z_best / sl,
            "h_margin_min": h_margin,
            "sharp_status": bad[0] if bad else "optimal",
            "time_sup_s": time_sup,
            "time_batch_s": time_batch,
        }
    ]


# --------------------------------------------------------------------------- maxcut
MAXCUT_COLUMNS = (
    "c_eff",
    "y_norm",
    "gamma_all_sq",
    "gamma_method",
    "gamma_is_exact",
    "P_all",
    "maxcut_value",
    "maxcut_method",
    "maxcut_exact",
    "maxcut_sdp_upper",
    "maxcut_sdp_lower",
    "sdp_status",
    "gamma_sq_over_maxcut",
    "P_used",
    "lambda_min_sbar",
    "bound7",
    "bound7_maxcut",
    "time_gamma_s",
    "time_maxcut_exact_s",
    "time_sdp_s",
    "time_sbar_s",
)


@register_kind("maxcut", params=MaxcutParams, requires=[("n", "c"), ("d",), ("P",)])
def maxcut_kind(p: MaxcutParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """``gamma_all^2`` against the MAX-CUT value and the bound (7), THEORY.md §3.4 (P7, P6).

    * ``gamma_all_sq``: the square of :func:`harness.certificates.gamma_all`: exact by
      enumeration when Cover's count is at most ``enum_cap``, else the max over ``n_h``
      Gaussian ``h`` and ``+-X^T y`` (a LOWER estimate; ``gamma_is_exact`` says which).
    * ``maxcut_value``: ``max_s s^T M s``, ``M = diag(y) X X^T diag(y)``: exact by
      enumeration when the number of non-zero labels is at most ``exact_max_n`` (default
      :data:`MAXCUT_EXACT_MAX_N`, ``maxcut_method="exact"``), else the certified
      Goemans-Williamson SDP upper bound (``"sdp_upper"``). The SDP bound and its rounding
      value are always computed too (``maxcut_sdp_upper``, ``maxcut_sdp_lower``), so small
      instances give both for Figure 5. P7 predicts ``gamma_all_sq <= maxcut_value``.
    * ``bound7 = 2 gamma_all / (||y|| sqrt(lambda_min(S_bar)))`` with ``S_bar`` over ``P``
      sampled i.i.d. patterns; ``bound7_maxcut`` uses ``sqrt(maxcut_value) >= gamma_all``,
      valid even when ``gamma_all`` is only a lower estimate. The measured ``p~_u / p_u`` is
      not computed here.

    Parameters
    ----------
    p : the kind's parameter dataclass
        ``n`` or ``c``, ``d``, ``P``; optional ``exact_max_n``, ``enum_cap``
        (:data:`DEFAULT_ENUM_CAP`), ``n_h`` (:data:`DEFAULT_N_H`), instance fields (labels
        default ``"planted"``).
    seed : SeedSequence

    Returns
    -------
    list of dict
        One row with :data:`MAXCUT_COLUMNS`.
    """
    n, d = p.n, p.d
    inst_seed, h_seed, sdp_seed, pattern_seed = seed.spawn(4)
    inst = p.instance(inst_seed)
    X, y = inst.X, inst.y
    exact_max_n = p.exact_max_n
    t = _Timer.start()
    gam = gamma_all(X, y, make_rng(h_seed), enumerate_cap=p.enum_cap, n_h=p.n_h)
    gamma_sq, gmethod, P_all = gam.value**2, gam.method, gam.n_patterns
    time_gamma = t.elapsed()
    keep = y != 0
    M = maxcut_matrix(X[keep], y[keep])
    exact = math.nan
    time_exact = math.nan
    if int(keep.sum()) <= exact_max_n:
        t = _Timer.start()
        exact = max_binary_quadratic(M, make_rng(sdp_seed), exact_max_n=exact_max_n).value
        time_exact = t.elapsed()
    t = _Timer.start()
    sdp = max_binary_quadratic(M, make_rng(sdp_seed), exact_max_n=0)
    time_sdp = t.elapsed()
    if int(keep.sum()) == 0:
        sdp_upper, sdp_lower, sdp_status = 0.0, 0.0, "optimal"
    else:
        sdp_upper, sdp_lower = sdp.upper, sdp.lower
        sdp_status = str(sdp.extra.get("status", "optimal"))
    value = exact if math.isfinite(exact) else sdp_upper
    P = p.P
    t = _Timer.start()
    D = gaussian_patterns_iid(X, P, make_rng(pattern_seed))
    lmin_sbar = lambda_min(empirical_S_bar(X, D))
    time_sbar = t.elapsed()
    y_norm = float(np.linalg.norm(y))
    return [
        {
            "c_eff": n / d,
            "y_norm": y_norm,
            "gamma_all_sq": gamma_sq,
            "gamma_method": gmethod,
            "gamma_is_exact": gmethod == "enumeration",
            "P_all": P_all,
            "maxcut_value": value,
            "maxcut_method": "exact" if math.isfinite(exact) else "sdp_upper",
            "maxcut_exact": exact,
            "maxcut_sdp_upper": sdp_upper,
            "maxcut_sdp_lower": sdp_lower,
            "sdp_status": sdp_status,
            "gamma_sq_over_maxcut": gamma_sq / value if value > 0 else math.nan,
            "P_used": P,
            "lambda_min_sbar": lmin_sbar,
            "bound7": bound7(math.sqrt(gamma_sq), y_norm, lmin_sbar),
            "bound7_maxcut": bound7(math.sqrt(max(value, 0.0)), y_norm, lmin_sbar),
            "time_gamma_s": time_gamma,
            "time_maxcut_exact_s": time_exact,
            "time_sdp_s": time_sdp,
            "time_sbar_s": time_sbar,
        }
    ]


__all__ = [
    "CHERNOFF_COLUMNS",
    "KAPPA_COLUMNS",
    "MAXCUT_COLUMNS",
    "RIDGE_COLUMNS",
    "SHARPNESS_COLUMNS",
    "chernoff_rank_kind",
    "gaussian_patterns_iid",
    "kappa_kind",
    "maxcut_kind",
    "ridge_kind",
    "sharpness_kind",
]
