"""Certified bracket ``pstar_lower <= p* <= pstar_upper``, THEORY.md Part D and "Getting p*".

Upper bounds are values of eq. (1) at actual network weights, so every one is >= p*:

* ``relu_cg``: the ReLU relaxation (3) on a pattern set grown by column generation. A
  convex solution ``(U, V)`` is evaluated as the network of its mapping (THEORY.md §A2),
  ``1/2 ||sum_i (X u_i)_+ - (X v_i)_+ - y||^2 + beta sum_i (||u_i|| + ||v_i||)``, which
  equals the convex objective when the cone constraints hold and is an honest value of (1)
  when they hold only to solver tolerance. New patterns are priced with the residual
  ``v = y - y_hat`` (the dual variable of (3)): local ascent of ``+-v^T (X u)_+`` over unit
  ``u`` from many starts; the pattern ``1[X u >= 0]`` of any ``u`` with value ``> beta``
  violates the dual constraint of (2) and is added.
* ``nonconvex_gd``: the best of several GD restarts on (1)
  (:func:`harness.nonconvex.train_restarts`), re-evaluated with
  :func:`harness.formulations.network_objective`.

Lower bounds are certificates by weak duality, never heuristics:

* exact path (arrangement enumerable, :func:`harness.patterns.enumerate_patterns`): the
  full program (2) is solved on all patterns; its certified dual bound
  (:func:`harness.formulations.relu_dual_bound` with the solver's cone multipliers) is a
  lower bound on p*, and the bracket is ``exact`` when it meets the upper bound to
  ``exact_rtol``.
* otherwise, Part D, option ``lower`` (default ``"auto"``: ``"rlt"`` for ``n <= RLT_MAX_N``,
  ``"joint_sdp"`` up to ``JOINT_SDP_MAX_N``, ``"joint"`` above, :func:`resolve_lower`):

  - ``"rlt"``: the dual point of one convex SDP, ``max v^T y - ||v||^2/2`` subject to a
    lifted SDP relaxation of ``M(v)`` in ``(u, (X u)_+)`` strengthened with RLT
    (McCormick) products, dualised so that its multipliers certify ``M_hat >= M(v)`` in
    numpy whatever the solver did (:mod:`harness.certificates_rlt`). Unlike the subset
    bound it keeps the cone geometry (``f_i (f_i - x_i^T u) = 0``), so mixed-sign ``v`` are
    not penalised. O(n^2) multipliers: small ``n`` only.
  - ``"joint"``: the residual of the best relaxed solution (and any caller-given
    ``dual_candidates``, e.g. the relaxation's residual at the rule's pattern count) starts
    :func:`optimized_dual_point`, which optimises the dual point ``v`` together with its
    certificate ``M_hat >= M(v)`` (the subset bound below in eigenvalue form, tightened by
    triangle-inequality cuts); every point is then scaled to certified feasibility and the
    best point of their convex hull with 0 is taken (:func:`best_combination`; the feasible
    set ``{M(v) <= beta}`` is convex). Measured on the paper spec (README, "Certified
    bracket"): about half the width of the previous method up to n = 160, at 1.2-3.3x its time.
  - ``"joint_sdp"``: the same starts, model and combination as ``"joint"``, but each start's
    model (partition fixed by the start) is solved as ONE convex SDP
    (:func:`harness.certificates_sdp.sdp_dual_point`, SCS, triangle cuts separated from its
    primal matrix, certificate polished and re-certified in numpy); ``"joint"`` runs for a
    start where the SDP gave no point. L-BFGS-B on the smoothed model stops far from the
    model's optimum; the (capped, polished) SDP solve gets much closer (README, "Certified
    bracket", for widths and times).
  - ``"scaled"`` (the previous method): a candidate ``v`` (the residual of the best relaxed
    solution and of the best GD run) is scaled to dual feasibility with a VALID upper bound
    ``M_hat >= M(v) = max_{||u|| <= 1} |v^T (X u)_+|`` (:func:`dual_norm_bound`): Part D
    bound 3 refined -- ``M(v) = max(M_+(v), M_+(-v))`` and ``M_+(w)^2 <= max_{s in {0,1}^P}
    ||B s - C t||^2`` for every ``t in [0, 1]^N`` (bound 3 is ``t = 0``), a binary quadratic
    maximisation that is enumerated exactly when the support has at most ``exact_max_n``
    entries and otherwise bounded by the certified Goemans-Williamson SDP
    (:mod:`harness.diagnostics.maxcut`), with ``t`` optimised jointly with the SDP
    certificate -- or the crude bound 4 ``||X||_2 max(||v_+||, ||v_-||)`` if smaller. The
    scale is optimised in closed form, ``t* = min(v^T y / ||v||^2, beta / M_hat)``.

  Heuristic maxima (the pricing ascent) are never used as ``M_hat``. Where the width comes
  from (measured at n = 80, 160, c = 4, planted labels): column generation converges (the
  pricing ascent finds few or no patterns with ``|v^T (X u)_+| > beta``, and ``LB`` with the
  heuristic maximum in place of ``M_hat`` -- not a certificate -- is within 1% of the upper
  end); nearly the whole width is the looseness of the certified ``M_hat`` (``M_hat / beta`` = 1.18-1.22 at the residual),
  which the joint method reduces by moving ``v`` to where the certificate is tighter.

Caveat on "exact": it relies on the enumeration being complete; ``enumerate_patterns``
certifies each cell with a margin and may treat cells thinner than its ``tol`` as ties.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from harness import certificates_rlt
from harness import formulations as F
from harness.certificates_joint import (
    DualNormBound,
    LowerBound,
    dual_lower_bound,
    optimized_dual_point,
    staged_minimize,
)
from harness.certificates_rlt import RLT_SOLVERS
from harness.certificates_sdp import sdp_dual_point
from harness.diagnostics.maxcut import (
    EXACT_MAX_N,
    max_binary_quadratic_exact,
    sdp_upper_bound,
)
from harness.errors import EnumerationError, InputError
from harness.formulations import BoolArray, FloatArray
from harness.mapping import relu_network_value
from harness.patterns import dedupe_patterns, enumerate_patterns, sample_patterns
from harness.solvers.registry import solve

#: Largest predicted arrangement size for which the exact path solves (2) by default.
DEFAULT_ENUMERATE_CAP = 2000
#: Lower-end methods of :func:`certified_bracket`.
LOWER_METHODS = ("auto", "rlt", "joint_sdp", "joint", "scaled")
#: Largest ``n`` for which ``lower="auto"`` uses ``"rlt"`` (``"joint_sdp"`` above): the lifted
#: RLT SDP has O(n^2) multipliers and a PSD block of size ``1 + d + n`` per side.
RLT_MAX_N = 40
#: Largest ``n`` for which ``lower="auto"`` uses ``"joint_sdp"`` (``"joint"`` above): its SCS
#: iterations cost two eigendecompositions of size ``|S| + 1 + d`` (about ``n/2 + d``);
#: measured as tight and as fast as ``"joint"`` up to n = 320 (README, "Certified bracket").
JOINT_SDP_MAX_N = 320


IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class Bracket:
    """Certified bracket on p* (THEORY.md Part D).

    Attributes
    ----------
    pstar_lower, pstar_upper : float
        ``pstar_lower <= p* <= pstar_upper``.
    lower_method : str
        ``"full_dual"`` (dual bound of (2) on all patterns), ``"partD_<M>[<candidate>]"``
        (Part D scaling of a candidate ``v`` in {``relu_cg``, ``nonconvex_gd``,
        ``full_residual``, ``candidate<k>``, ``rlt_sdp``} with ``M_hat`` from ``<M>`` in
        {``lifted_rlt``, ``subset_joint``, ``subset_sdp_joint``, ``subset_exact``,
        ``subset_sdp``, ``spectral``, ``enumerated_patterns``}, see :class:`DualNormBound`),
        ``"partD_combination"`` (:func:`best_combination`) or ``"trivial_zero"`` (``p* >= 0``).
    upper_method : str
        ``"full_primal"``, ``"relu_cg"``, ``"nonconvex_gd"`` or ``"zero_network"``.
    exact : bool
        Whether the arrangement was enumerated and the two ends agree to ``exact_rtol``.
    width : float
        ``pstar_upper - pstar_lower``.
    rel_width : float
        ``width / pstar_upper`` (0 when ``pstar_upper == 0``).
    n_patterns : int
        Size of the final pattern set (all patterns on the exact path).
    records : list of dict
        The solves behind the bracket (solver records, GD runs, ``M_hat`` bounds).
    time_s : float
    """

    pstar_lower: float
    pstar_upper: float
    lower_method: str
    upper_method: str
    exact: bool
    width: float
    rel_width: float
    n_patterns: int
    records: list[dict[str, Any]] = field(repr=False)
    time_s: float = 0.0

    def to_record(self) -> dict[str, Any]:
        """Flat scalar fields (no solve records)."""
        return {
            "pstar_lower": self.pstar_lower,
            "pstar_upper": self.pstar_upper,
            "pstar_lower_method": self.lower_method,
            "pstar_upper_method": self.upper_method,
            "pstar_exact": self.exact,
            "pstar_width": self.width,
            "pstar_rel_width": self.rel_width,
            "pstar_n_patterns": self.n_patterns,
            "time_bracket_s": self.time_s,
        }


# --------------------------------------------------------------------------- values
# --------------------------------------------------------------------------- M_hat
def enumerated_bound(X: FloatArray, v: FloatArray, D_all: BoolArray) -> float:
    """Part D bound 2, ``max_D ||X^T D v|| >= M(v)`` when ``D_all`` holds every arrangement
    pattern (cone dropped), inflated by 1e-12 relative against rounding."""
    return float(F.group_norms(X.T @ (D_all * v[:, None])).max(initial=0.0)) * (1.0 + 1e-12)


def dual_norm_bound(
    X: FloatArray,
    v: FloatArray,
    rng: np.random.Generator,
    *,
    D_all: BoolArray | None = None,
    exact_max_n: int = EXACT_MAX_N,
    sdp_solver: str = "spectral",
) -> DualNormBound:
    """A valid upper bound on ``M(v) = max_{||u|| <= 1} |v^T (X u)_+|``, THEORY.md Part D.

    The smallest of the applicable bounds:

    * ``D_all`` given (must hold *every* arrangement pattern): bound 2,
      ``max_D ||X^T D v||`` (cone dropped);
    * the subset bound (Part D bound 3, refined): ``M(v) = max(M_+(v), M_+(-v))`` with
      ``M_+(w) = max_u sum_i w_i (x_i^T u)_+``. Bound 3 drops the negative terms; here they
      are kept through ``(a)_+ >= t a`` for any ``t in [0, 1]``, so for every
      ``t in [0,1]^{N}`` (``N`` = negative entries of ``w``, ``P`` the positive ones)::

          M_+(w)^2 <= max_{s in {0,1}^P} ||B s - C t||^2,  B = X_P^T diag(w_P),
                                                          C = X_N^T diag(|w_N|),

      a binary quadratic (``t = 0`` is bound 3 exactly). ``t`` is optimised jointly with the
      GW SDP certificate (:func:`subset_bound`); the final value at that ``t`` is the
      certified SDP bound, or the exact enumeration value when ``|P| <= exact_max_n``;
    * bound 4, ``||X||_2 max(||v_+||, ||v_-||)``.

    ``rng`` only drives the SDP rounding (which does not affect the bound).
    """
    t0 = time.perf_counter()
    cands: list[tuple[float, str]] = []
    vp, vm = np.maximum(v, 0.0), np.maximum(-v, 0.0)
    Xn = float(np.linalg.norm(X, 2))
    crude = Xn * max(float(np.linalg.norm(vp)), float(np.linalg.norm(vm)))
    cands.append((crude * (1.0 + 1e-12), "spectral"))
    if D_all is not None:
        cands.append((enumerated_bound(X, v, D_all), "enumerated_patterns"))
    plus = subset_bound(X, v, exact_max_n=exact_max_n, sdp_solver=sdp_solver)
    minus = subset_bound(X, -v, exact_max_n=exact_max_n, sdp_solver=sdp_solver)
    method = "subset_sdp" if "sdp" in (plus[1], minus[1]) else "subset_exact"
    cands.append((max(plus[0], minus[0]), method))
    value, method = min(cands, key=lambda c: c[0])
    return DualNormBound(value=float(value), method=method, time_s=time.perf_counter() - t0)


def subset_bound(
    X: FloatArray,
    w: FloatArray,
    *,
    exact_max_n: int = EXACT_MAX_N,
    sdp_solver: str = "spectral",
    optimize_t: bool = True,
) -> tuple[float, str]:
    """Certified upper bound on ``M_+(w) = max_{||u|| <= 1} w^T (X u)_+``, THEORY.md Part D.

    See :func:`dual_norm_bound`: ``M_+(w)^2 <= min_{t in [0,1]^N} max_s ||B s - C t||^2``.
    With ``optimize_t`` the GW relaxation of the inner maximum is minimised jointly over the
    SDP multipliers and ``t`` (one smooth convex problem, L-BFGS-B with the box on ``t``);
    the returned value is then re-certified at the final ``t``: by exact enumeration when
    ``|P| <= exact_max_n`` (also tried at ``t = 0``), else by the certified eigenvalue bound.
    ``sdp_solver`` other than ``"spectral"`` evaluates bound 3 (``t = 0``) with that solver.

    Returns
    -------
    value : float
        ``>= M_+(w)``.
    method : {"exact", "sdp", "zero"}
    """
    P = w > 0
    if not P.any():
        return 0.0, "zero"
    N = w < 0
    B = (X[P] * w[P, None]).T
    C = (X[N] * (-w[N])[:, None]).T
    Q0 = B.T @ B
    K = B.T @ C
    CtC = C.T @ C
    p, q = Q0.shape[0], CtC.shape[0]
    values: list[tuple[float, str]] = []
    t_opt = np.zeros(q)
    if p > exact_max_n or (optimize_t and q > 0 and sdp_solver == "spectral"):
        if sdp_solver == "spectral":
            val, t_opt = _spectral_subset_bound(Q0, K, CtC, optimize_t=optimize_t)
        else:
            val = sdp_upper_bound(Q0, solver=sdp_solver)[0]
        values.append((val, "sdp"))
    if p <= exact_max_n:
        for t in (t_opt, np.zeros(q)) if q > 0 else (t_opt,):
            Qt = Q0 - 2.0 * np.diag(K @ t)
            best, _ = max_binary_quadratic_exact(Qt)
            margin = 4.0 * (p + 2) * np.finfo(float).eps * (np.abs(Qt).sum() + float(t @ CtC @ t))
            values.append((best + float(t @ CtC @ t) + margin, "exact"))
    val, method = min(values, key=lambda c: c[0])
    return math.sqrt(max(val, 0.0)), method


def _spectral_subset_bound(
    Q0: FloatArray, K: FloatArray, CtC: FloatArray, optimize_t: bool = True
) -> tuple[float, FloatArray]:
    """``min_{mu, t in [0,1]^q} (N lambda_max(E^T Q(t) E + diag mu) - sum mu)/4 + t^T CtC t``.

    ``Q(t) = Q0 - 2 diag(K t)``, ``E = [1 | I]`` (so ``E^T Q E`` is the ``+-1`` form of
    ``s^T Q s``, :func:`harness.diagnostics.maxcut.sdp_upper_bound`). Jointly convex in
    ``(mu, t)``; smoothed by log-sum-exp of the eigenvalues and solved by L-BFGS-B in stages.
    Returns the certified value (exact ``lambda_max`` plus a rounding margin) and ``t``.
    """
    p, q = Q0.shape[0], CtC.shape[0]
    Nn = p + 1
    scale = max(float(np.abs(Q0).max(initial=0.0)), float(np.abs(CtC).max(initial=0.0)), 1e-300)
    Q0s, Ks, Cs = Q0 / scale, K / scale, CtC / scale

    def btilde(t: np.ndarray) -> FloatArray:
        Q = Q0s - 2.0 * np.diag(Ks @ t) if q else Q0s
        one = Q.sum(axis=1)
        return np.block([[np.array([[one.sum()]]), one[None, :]], [one[:, None], Q]])

    def fun(x: np.ndarray, tau: float) -> tuple[float, np.ndarray]:
        mu, t = x[:Nn], x[Nn:]
        w, V = np.linalg.eigh(btilde(t) + np.diag(mu))
        pr = np.exp((w - w[-1]) / tau)
        tot = pr.sum()
        pr /= tot
        val = (Nn * (w[-1] + tau * np.log(tot)) - mu.sum()) / 4.0
        g_mu = (Nn * ((V * V) @ pr) - 1.0) / 4.0
        grad = [g_mu]
        if q:
            G = Nn * (V * pr) @ V.T
            diag_eGe = G[0, 0] + 2.0 * G[0, 1:] + np.diag(G)[1:]
            g_t = -0.5 * (Ks.T @ diag_eGe) + 2.0 * (Cs @ t)
            val += float(t @ Cs @ t)
            grad.append(g_t)
        return float(val), np.concatenate(grad)

    t_init = np.zeros(q)
    x = np.concatenate([-np.diag(btilde(t_init)), t_init])
    bounds = [(None, None)] * Nn + [(0.0, 1.0) if optimize_t else (0.0, 0.0)] * q
    x = staged_minimize(fun, x, (1e-1, 1e-2, 1e-3, 1e-4), bounds, 2000, gtol=1e-10)
    mu, t = x[:Nn], np.clip(x[Nn:], 0.0, 1.0)
    Bm = btilde(t) + np.diag(mu)
    lam_max = float(np.linalg.eigvalsh(Bm)[-1])
    margin = 8.0 * Nn * np.finfo(float).eps * float(np.abs(Bm).sum())
    val = (Nn * (lam_max + margin) - float(mu.sum())) / 4.0 + float(t @ Cs @ t) * (1 + 1e-14)
    return float(val * scale), t


def part_d_lower_bound(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    v: FloatArray,
    rng: np.random.Generator,
    *,
    candidate: str = "v",
    D_all: BoolArray | None = None,
    exact_max_n: int = EXACT_MAX_N,
    sdp_solver: str = "spectral",
) -> LowerBound:
    """Certified lower bound on p* from a candidate dual vector ``v``, THEORY.md Part D.

    ``LB(v) = t* v^T y - t*^2/2 ||v||^2`` with ``t* = min(v^T y/||v||^2, beta/M_hat)`` and
    ``M_hat`` from :func:`dual_norm_bound` (always a valid bound, never a heuristic).
    """
    Mb = dual_norm_bound(X, v, rng, D_all=D_all, exact_max_n=exact_max_n, sdp_solver=sdp_solver)
    value, t = dual_lower_bound(v, y, beta, Mb.value)
    return LowerBound(value=value, candidate=candidate, t=t, M_hat=Mb)


# --------------------------------------------------------------------------- gamma_all
#: Gaussian directions of the sampled lower estimate of ``gamma_all`` (:func:`gamma_all`).
GAMMA_N_H = 4000


@dataclass(frozen=True)
class GammaAll:
    """``gamma_all = max_i ||X^T D_i y||`` over all arrangement patterns, or a bound on it.

    Attributes
    ----------
    value : float
        ``gamma_all`` (``exact``), a certified upper bound or a lower estimate.
    exact : bool
    method : str
        ``"enumeration"`` (exact), ``"maxcut_<method>"`` (upper bound: square root of a
        certified MAX-CUT upper bound) or ``"sampled_lower"`` (lower estimate).
    n_patterns : int
        Patterns the maximum was taken over (0 for the MAX-CUT bound).
    """

    value: float
    exact: bool
    method: str
    n_patterns: int

    @property
    def is_upper(self) -> bool:
        """``value >= gamma_all`` (exact or a certified upper bound)."""
        return self.exact or self.method.startswith("maxcut_")


def gamma_all(
    X: FloatArray,
    y: FloatArray,
    rng: np.random.Generator,
    *,
    D_all: BoolArray | None = None,
    enumerate_cap: int = 0,
    fallback: str = "lower",
    n_h: int = GAMMA_N_H,
    D_hint: BoolArray | None = None,
    price: bool = False,
) -> GammaAll:
    """``gamma_all = max_i ||X^T D_i y||`` (THEORY.md §3.4), exact or bounded: one implementation.

    Exact over ``D_all`` when given, else over the enumerated arrangement when Cover's count
    is at most ``enumerate_cap``. Otherwise ``fallback="upper"`` returns the square root of
    the certified MAX-CUT upper bound of the rows with ``y_i != 0`` (valid where a
    ``gamma >= gamma_all`` is needed: Prop 3.6, bound (7)); ``fallback="lower"`` returns
    the maximum over ``n_h`` Gaussian ``h`` plus ``h = +-X^T y``, the patterns ``D_hint``
    and, with ``price``, those found by :func:`price_patterns` (a LOWER estimate).
    """
    if fallback not in ("lower", "upper"):
        raise InputError(f"fallback must be one of ['lower', 'upper']; got {fallback!r}")
    D = D_all
    if D is None and enumerate_cap > 0:
        from harness.patterns import enumerate_pattern_set

        try:
            D = enumerate_pattern_set(X, cap=enumerate_cap).D
        except EnumerationError:
            D = None
    if D is not None:
        value = F.beta_max(X, y, D) if D.shape[1] else 0.0
        return GammaAll(value, True, "enumeration", int(D.shape[1]))
    if fallback == "upper":
        from harness.diagnostics.maxcut import maxcut_value

        keep = y != 0
        mc = maxcut_value(X[keep], y[keep], rng)
        return GammaAll(math.sqrt(max(mc.upper, 0.0)), False, f"maxcut_{mc.method}", 0)
    g = X.T @ y
    H = np.concatenate([rng.standard_normal((X.shape[1], n_h)), g[:, None], -g[:, None]], axis=1)
    parts = [(X @ H) >= 0]
    if D_hint is not None and D_hint.shape[1]:
        parts.append(D_hint)
    if price:
        Dp, _ = price_patterns(X, y, rng, D_hint=D_hint)
        if Dp.shape[1]:
            parts.append(Dp)
    D = np.concatenate(parts, axis=1)
    return GammaAll(F.beta_max(X, y, D), False, "sampled_lower", int(D.shape[1]))


def best_combination(points: list[FloatArray], y: FloatArray) -> tuple[float, FloatArray]:
    """``max v^T y - ||v||^2/2`` over the convex hull of ``{0} + points``, THEORY.md Part D.

    Each point must be dual feasible (``M(p) <= beta``, certified). ``M`` is sublinear (a
    maximum of linear functions of ``v``), so ``{v : M(v) <= beta}`` is convex and contains
    0: every ``sum_k lam_k p_k`` with ``lam >= 0``, ``sum lam <= 1`` is feasible and its
    value is a lower bound on p* by weak duality. Solved as a small QP over ``lam``
    (projected gradient with exact line search would do; SLSQP here), then clipped back
    into the simplex and re-evaluated in numpy. Returns ``(value, v)``.
    """
    W = np.stack(points, axis=1)
    a = W.T @ y
    Qm = W.T @ W
    k = W.shape[1]

    def neg(lam: FloatArray) -> tuple[float, FloatArray]:
        return float(-(lam @ a) + 0.5 * lam @ Qm @ lam), -a + Qm @ lam

    best = int(np.argmax(a - 0.5 * np.diag(Qm)))
    lam0 = np.zeros(k)
    lam0[best] = 1.0
    res = minimize(
        neg,
        lam0,
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * k,
        constraints=[{"type": "ineq", "fun": lambda lam: 1.0 - lam.sum()}],
    )
    cands = [lam0]
    if np.all(np.isfinite(res.x)):
        lam = np.clip(res.x, 0.0, None)
        if lam.sum() > 1.0:
            lam = lam / lam.sum() * (1.0 - 1e-15)
        cands.append(lam)
    vals = [float(lam @ a - 0.5 * lam @ Qm @ lam) for lam in cands]
    j = int(np.argmax(vals))
    v = W @ cands[j]
    return float(v @ y - 0.5 * v @ v), v


# --------------------------------------------------------------------------- pricing
def price_patterns(
    X: FloatArray,
    v: FloatArray,
    rng: np.random.Generator,
    *,
    n_starts: int = 256,
    n_iter: int = 25,
    D_hint: BoolArray | None = None,
) -> tuple[BoolArray, FloatArray]:
    """Local ascent of ``+-v^T (X u)_+`` over unit ``u`` (column-generation pricing), Part D.

    From ``n_starts`` Gaussian directions, plus ``X^T D_i (+-v)`` for the patterns in
    ``D_hint``, iterate ``u <- X^T (1[X u >= 0] * w) / ||.||`` for ``w = +-v`` (the best
    direction for the current pattern, ignoring its cone) and keep each start's best point.
    This is a heuristic: the values are LOWER estimates of ``M(v)`` and are never used as a
    certificate; the patterns ``1[X u >= 0]`` come with ``u`` in their cone.

    Returns
    -------
    D : bool ndarray (n, k)
        Distinct patterns found, sorted by decreasing value.
    values : ndarray (k,)
        ``|v^T (X u)_+|`` at the best ``u`` of each pattern.
    """
    d = X.shape[1]
    pats: list[BoolArray] = []
    vals: list[FloatArray] = []
    for w in (v, -v):
        U = rng.standard_normal((d, n_starts))
        if D_hint is not None and D_hint.shape[1] > 0:
            U = np.concatenate([U, X.T @ (D_hint * w[:, None])], axis=1)
        U /= np.linalg.norm(U, axis=0).clip(1e-300)
        best_val = np.full(U.shape[1], -np.inf)
        best_pat = np.zeros((X.shape[0], U.shape[1]), dtype=bool)
        for _ in range(n_iter):
            Z = X @ U
            Dm = Z >= 0
            f = w @ np.where(Dm, Z, 0.0)
            better = f > best_val
            best_val[better] = f[better]
            best_pat[:, better] = Dm[:, better]
            U = X.T @ (Dm * w[:, None])
            nrm = np.linalg.norm(U, axis=0)
            dead = nrm == 0
            if dead.all():
                break
            U[:, dead] = rng.standard_normal((d, int(dead.sum())))
            U /= np.linalg.norm(U, axis=0)
        pats.append(best_pat)
        vals.append(best_val)
    D = np.concatenate(pats, axis=1)
    val = np.concatenate(vals)
    order = np.argsort(-val, kind="stable")
    D, val = D[:, order], val[order]
    D, keep = dedupe_patterns(D)
    return D, val[keep]


# --------------------------------------------------------------------------- bracket
def certified_bracket(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    *,
    rng: np.random.Generator,
    D: BoolArray | None = None,
    P_init: int = 100,
    P_grow: int = 100,
    max_rounds: int = 4,
    n_price_starts: int = 256,
    n_restarts: int = 4,
    width: int | None = None,
    gd_steps: int = 2000,
    enumerate_cap: int = DEFAULT_ENUMERATE_CAP,
    solver: str = "clarabel",
    sdp_solver: str = "spectral",
    exact_max_n: int = EXACT_MAX_N,
    exact_rtol: float = 1e-6,
    lower: str = "auto",
    rlt_solver: str = "clarabel",
    dual_candidates: Sequence[FloatArray] = (),
    joint_max_iter: int = 1000,
    triangle_rounds: int = 3,
    triangles_per_round: int | None = None,
) -> Bracket:
    """Certified bracket ``pstar_lower <= p* <= pstar_upper``, THEORY.md Part D.

    Parameters
    ----------
    X : ndarray (n, d); y : ndarray (n,); beta : float > 0
    rng : numpy Generator
        Drives pattern sampling, pricing starts, GD initialisations and SDP rounding.
    D : bool ndarray (n, P), optional
        Initial patterns of the non-exact path (default: ``P_init`` Gaussian patterns).
    P_grow : int
        Total number of patterns column generation may add (``0`` disables it).
    max_rounds : int
        Column-generation rounds (each: one solve of (3), one pricing).
    n_price_starts : int
        Random starts per sign of the pricing ascent.
    n_restarts : int
        GD restarts on (1) (``0`` disables them).
    width : int, optional
        GD network width (default ``n + 1 >= m*``, Carathéodory).
    gd_steps : int
        Maximum GD steps per restart.
    enumerate_cap : int
        Exact path when Cover's predicted count is at most this (``0`` disables it).
    solver : str
        Registry solver for (2)/(3) (``"clarabel"`` or ``"fast"``).
    sdp_solver : {"spectral", "clarabel", "scs"}
        Solver of the MAX-CUT SDP of bound 3 (certified in every case).
    exact_max_n : int
        Largest support enumerated exactly in bound 3.
    exact_rtol : float
        ``exact`` when ``width <= exact_rtol * max(1, |pstar_upper|)``.
    lower : {"auto", "rlt", "joint_sdp", "joint", "scaled"}
        Lower end of the non-exact path. ``"auto"`` (default): ``"rlt"`` when
        ``n <= RLT_MAX_N``, ``"joint_sdp"`` when ``n <= JOINT_SDP_MAX_N``, else ``"joint"``
        (:func:`resolve_lower`). ``"joint_sdp"``: as ``"joint"``, with each start's model
        solved as one convex SDP (:func:`harness.certificates_sdp.sdp_dual_point`; ``"joint"``'s
        optimiser for a start where it gives no point). ``"rlt"``: the dual point of one lifted SDP of
        ``M(v)`` strengthened by RLT inequalities
        (:func:`harness.certificates_rlt.rlt_dual_point`, certified in numpy); if the SDP
        solve returns nothing, ``"joint"`` runs instead. ``"joint"``: the best residual (column
        generation's, else GD's) and every ``dual_candidates`` entry is the start of
        :func:`optimized_dual_point` (dual point and certificate optimised together), and
        the certified points are combined by :func:`best_combination`. ``"scaled"``: the
        previous method, each residual (CG and GD) scaled with :func:`dual_norm_bound`.
    rlt_solver : {"clarabel", "scs"}
        SDP solver of ``"rlt"`` (its multipliers are re-certified in numpy either way).
    dual_candidates : sequence of ndarray (n,)
        Extra dual points, e.g. the residual ``y - y_hat`` of the caller's relaxation solved
        at the rule's pattern count (any vector is allowed: every one is certified).
    joint_max_iter : int
        L-BFGS-B iterations per smoothing stage of :func:`optimized_dual_point`.
    triangle_rounds, triangles_per_round : int
        Rounds of triangle-inequality cuts in :func:`optimized_dual_point` (and
        :func:`harness.certificates_sdp.sdp_dual_point`) and cuts added per round and side
        (default ``8 (|support| + 1)``).

    Returns
    -------
    Bracket
    """
    t0 = time.perf_counter()
    X, y = F.check_data(X, y)
    beta = F.check_beta(beta)
    for name, ival, low in (
        ("P_init", P_init, 1),
        ("P_grow", P_grow, 0),
        ("max_rounds", max_rounds, 0),
        ("n_price_starts", n_price_starts, 1),
        ("n_restarts", n_restarts, 0),
        ("gd_steps", gd_steps, 0),
        ("enumerate_cap", enumerate_cap, 0),
        ("joint_max_iter", joint_max_iter, 1),
        ("triangle_rounds", triangle_rounds, 0),
        ("triangles_per_round", 1 if triangles_per_round is None else triangles_per_round, 1),
    ):
        _check_int(name, ival, low)
    if not (isinstance(exact_rtol, (int, float)) and 0 <= exact_rtol < 1):
        raise InputError(f"exact_rtol must be a number in [0, 1); got {exact_rtol!r}")
    if lower not in LOWER_METHODS:
        raise InputError(f"lower must be one of {list(LOWER_METHODS)}; got {lower!r}")
    if rlt_solver not in RLT_SOLVERS:
        raise InputError(f"rlt_solver must be one of {list(RLT_SOLVERS)}; got {rlt_solver!r}")
    n = X.shape[0]
    lower = resolve_lower(lower, n)
    extra: list[FloatArray] = []
    for k, start in enumerate(dual_candidates):
        c = np.asarray(start, dtype=np.float64)
        if c.shape != (n,) or not np.all(np.isfinite(c)):
            raise InputError(
                f"dual_candidates[{k}] must be a finite vector of shape ({n},); got {c.shape}"
            )
        extra.append(c)
    records: list[dict[str, Any]] = []

    D_all: BoolArray | None = None
    if enumerate_cap > 0:
        try:
            D_all = enumerate_patterns(X, cap=enumerate_cap)
        except EnumerationError:
            D_all = None
    if D_all is not None:
        D_all = D_all[:, D_all.any(axis=0)]
        if D_all.shape[1] == 0:  # y can only be fit by zero: p* = ||y||^2 / 2
            val = 0.5 * float(y @ y)
            return Bracket(
                val,
                val,
                "trivial_zero",
                "trivial_zero",
                True,
                0.0,
                0.0,
                0,
                [],
                time.perf_counter() - t0,
            )
        bracket = _exact_bracket(X, y, beta, D_all, solver, exact_rtol, records, t0)
        if bracket.exact:
            return bracket

    # ---------------------------------------------------------------- upper bounds
    best_upper, upper_method = 0.5 * float(y @ y), "zero_network"
    best_resid: dict[str, FloatArray] = {}
    if D is None:
        D_cur = sample_patterns(X, P_init, rng).D
    else:
        D_cur = F.check_patterns(D, n)
    if n_restarts > 0:
        from harness.nonconvex import train_restarts

        m = int(width) if width is not None else n + 1
        seed = np.random.SeedSequence(rng.integers(0, 2**63, size=2).tolist())
        runs = train_restarts(X, y, beta, m, seed, n_restarts, n_steps=gd_steps)
        best_run = None
        for k, run in enumerate(runs):
            if not np.all(np.isfinite(run.U)) or not np.all(np.isfinite(run.alpha)):
                records.append({"stage": "nonconvex_gd", "restart": k, "objective": math.nan})
                continue
            val = F.network_objective(X, y, run.U, run.alpha, beta)
            records.append(
                {
                    "stage": "nonconvex_gd",
                    "restart": k,
                    "objective": val,
                    "stop_reason": run.stop_reason,
                    "n_steps": run.n_steps,
                    "time_s": run.time_s,
                }
            )
            if math.isfinite(val) and (best_run is None or val < best_run[0]):
                best_run = (val, run)
        if best_run is not None:
            val, run = best_run
            best_resid["nonconvex_gd"] = y - F.network_predict(X, run.U, run.alpha)
            if val < best_upper:
                best_upper, upper_method = val, "nonconvex_gd"
            active = np.abs(run.alpha) * np.linalg.norm(run.U, axis=0) > 1e-8
            D_cur = _append_new(D_cur, (X @ run.U[:, active]) >= 0)

    added = 0
    cg_best = math.inf
    for rnd in range(max_rounds + 1):
        res = solve("relu", X, y, D_cur, beta, solver=solver)
        U, V = res.variables["U"], res.variables["V"]
        val = relu_network_value(X, y, U, V, beta)
        rec = res.to_record()
        rec.update(stage="relu_cg", round=rnd, network_value=val)
        records.append(rec)
        v = y - F.gated_predict(X, D_cur, U - V)
        if val < cg_best:
            cg_best = val
            best_resid["relu_cg"] = v
        if val < best_upper:
            best_upper, upper_method = val, "relu_cg"
        if rnd == max_rounds or added >= P_grow:
            break
        cand, cvals = price_patterns(X, v, rng, n_starts=n_price_starts, D_hint=D_cur)
        viol = cvals > beta * (1.0 + 1e-6)
        cand = cand[:, viol]
        k_add = min(P_grow - added, max(10, -(-P_grow // max(max_rounds, 1))))
        new = _new_columns(D_cur, cand)[:, :k_add]
        records[-1]["n_priced_violations"] = int(viol.sum())
        if new.shape[1] == 0:
            break
        D_cur = np.concatenate([D_cur, new], axis=1)
        added += new.shape[1]

    # ---------------------------------------------------------------- lower bounds
    lb_value, lower_method = 0.0, "trivial_zero"
    if lower == "rlt":
        lb_value, lower_method = _rlt_lower(X, y, beta, D_all, rlt_solver, records)
    if lower == "scaled":
        lb_value, lower_method = _scaled_lower(
            X, y, beta, best_resid, rng, D_all, exact_max_n, sdp_solver, records
        )
    elif lower in ("joint", "joint_sdp") or lb_value <= 0.0:
        starts = dict(best_resid)
        if "relu_cg" in starts:
            starts.pop("nonconvex_gd", None)
        starts.update({f"candidate{k}": c for k, c in enumerate(extra)})
        lb_value, lower_method = _joint_lower(  # also the fallback of a failed "rlt" solve
            X,
            y,
            beta,
            starts,
            D_all,
            records,
            max_iter=joint_max_iter,
            triangle_rounds=triangle_rounds,
            triangles_per_round=triangles_per_round,
            sdp=lower == "joint_sdp",
        )
    if D_all is not None:  # exact path ran but was not tight: keep its certificate too
        full_lower = max(
            (
                r["dual_bound"]
                for r in records
                if r.get("stage") == "full"
                and r["dual_bound"] is not None
                and r.get("status") != "error"  # a bound above a feasible value is flagged
            ),
            default=-math.inf,
        )
        full_upper = min(
            (r["network_value"] for r in records if r.get("stage") == "full"), default=math.inf
        )
        if full_lower > lb_value:
            lb_value, lower_method = full_lower, "full_dual"
        if full_upper < best_upper:
            best_upper, upper_method = full_upper, "full_primal"
    width_ = best_upper - lb_value
    return Bracket(
        pstar_lower=float(lb_value),
        pstar_upper=float(best_upper),
        lower_method=lower_method,
        upper_method=upper_method,
        exact=False,
        width=float(width_),
        rel_width=float(width_ / best_upper) if best_upper > 0 else 0.0,
        n_patterns=int(D_cur.shape[1]),
        records=records,
        time_s=time.perf_counter() - t0,
    )


def resolve_lower(lower: str, n: int) -> str:
    """The lower-end method ``certified_bracket`` runs: ``"auto"`` -> ``"rlt"`` if ``n <=
    RLT_MAX_N``, else ``"joint_sdp"`` if ``n <= JOINT_SDP_MAX_N``, else ``"joint"``; any other
    method of :data:`LOWER_METHODS` unchanged."""
    if lower not in LOWER_METHODS:
        raise InputError(f"lower must be one of {list(LOWER_METHODS)}; got {lower!r}")
    if lower == "auto":
        if n <= RLT_MAX_N:
            return "rlt"
        return "joint_sdp" if n <= JOINT_SDP_MAX_N else "joint"
    return lower


# --------------------------------------------------------------------------- private
def _rlt_lower(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    D_all: BoolArray | None,
    solver: str,
    records: list[dict[str, Any]],
) -> tuple[float, str]:
    """Lower end from :func:`harness.certificates_rlt.rlt_dual_point` (Part D, lifted RLT SDP).

    With ``D_all``, ``M_hat`` is also capped by bound 2 over all patterns. Returns
    ``(0, "trivial_zero")`` when the solve gave nothing (the caller then runs ``"joint"``).
    """
    lb = certificates_rlt.rlt_dual_point(X, y, beta, solver=solver)
    if lb.v is None:
        records.append({"stage": "partD", "candidate": "rlt_sdp", "lower": 0.0, "failed": True})
        return 0.0, "trivial_zero"
    M_hat, M_method = lb.M_hat, "lifted_rlt"
    if D_all is not None:
        g = enumerated_bound(X, lb.v, D_all)
        if g < M_hat:
            M_hat, M_method = g, "enumerated_patterns"
    value, t = dual_lower_bound(lb.v, y, beta, M_hat)
    records.append(
        {
            "stage": "partD",
            "candidate": "rlt_sdp",
            "lower": value,
            "t": t,
            "M_hat": M_hat,
            "M_hat_method": M_method,
            "time_s": lb.time_s,
        }
    )
    if value <= 0.0:
        return 0.0, "trivial_zero"
    return value, f"partD_{M_method}[rlt_sdp]"


def _exact_bracket(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    D_all: BoolArray,
    solver: str,
    exact_rtol: float,
    records: list[dict[str, Any]],
    t0: float,
) -> Bracket:
    """Solve (2) on every pattern; certified dual bound and mapped-network value."""
    res = solve("full", X, y, D_all, beta, solver=solver)
    U, V = res.variables["U"], res.variables["V"]
    upper = relu_network_value(X, y, U, V, beta)
    rec = res.to_record()
    rec.update(stage="full", network_value=upper)
    records.append(rec)
    lower, lower_method = -math.inf, "none"
    if res.dual_bound is not None and math.isfinite(res.dual_bound) and res.status != "error":
        lower, lower_method = float(res.dual_bound), "full_dual"
    # Independent certificate: the residual scaled with bound 2 over all patterns.
    v = y - F.gated_predict(X, D_all, U - V)
    lb2, _ = dual_lower_bound(v, y, beta, enumerated_bound(X, v, D_all))
    if lb2 > lower:
        lower, lower_method = lb2, "partD_enumerated_patterns[full_residual]"
    lower = max(lower, 0.0)
    width = upper - lower
    exact = bool(width <= exact_rtol * abs(upper))
    return Bracket(
        pstar_lower=float(lower),
        pstar_upper=float(upper),
        lower_method=lower_method,
        upper_method="full_primal",
        exact=exact,
        width=float(width),
        rel_width=float(width / upper) if upper > 0 else 0.0,
        n_patterns=int(D_all.shape[1]),
        records=records,
        time_s=time.perf_counter() - t0,
    )


def _scaled_lower(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    resid: dict[str, FloatArray],
    rng: np.random.Generator,
    D_all: BoolArray | None,
    exact_max_n: int,
    sdp_solver: str,
    records: list[dict[str, Any]],
) -> tuple[float, str]:
    """Previous lower end: each residual scaled with :func:`dual_norm_bound` (Part D)."""
    best, method = 0.0, "trivial_zero"
    for name, v in resid.items():
        lb = part_d_lower_bound(
            X,
            y,
            beta,
            v,
            rng,
            candidate=name,
            D_all=D_all,
            exact_max_n=exact_max_n,
            sdp_solver=sdp_solver,
        )
        records.append(
            {
                "stage": "partD",
                "candidate": name,
                "lower": lb.value,
                "t": lb.t,
                "M_hat": lb.M_hat.value,
                "M_hat_method": lb.M_hat.method,
                "time_s": lb.M_hat.time_s,
            }
        )
        if lb.value > best:
            best, method = lb.value, f"partD_{lb.M_hat.method}[{name}]"
    return best, method


def _joint_lower(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    starts: dict[str, FloatArray],
    D_all: BoolArray | None,
    records: list[dict[str, Any]],
    *,
    max_iter: int,
    triangle_rounds: int,
    triangles_per_round: int | None,
    sdp: bool = False,
) -> tuple[float, str]:
    """Lower end from :func:`optimized_dual_point` at each start, combined (Part D).

    With ``sdp``, :func:`harness.certificates_sdp.sdp_dual_point` (the same model solved as
    one convex SDP) replaces it, and :func:`optimized_dual_point` runs only for a start where
    the SDP gave no point. Each optimised point is scaled to certified dual feasibility (``t* v``, ``t* <= beta /
    M_hat``; with ``D_all``, ``M_hat`` is also capped by bound 2 over all patterns), and the
    best point of their convex hull with 0 is taken (:func:`best_combination`).
    """
    best, method = 0.0, "trivial_zero"
    feasible: list[FloatArray] = []
    for name, v0 in starts.items():
        lb = None
        if sdp:
            lb = sdp_dual_point(
                X,
                y,
                beta,
                v0,
                candidate=name,
                triangle_rounds=triangle_rounds,
                triangles_per_round=triangles_per_round,
            )
        if lb is None or lb.v is None:
            lb = optimized_dual_point(
                X,
                y,
                beta,
                v0,
                candidate=name,
                max_iter=max_iter,
                triangle_rounds=triangle_rounds,
                triangles_per_round=triangles_per_round,
            )
        M_method = lb.M_hat.method
        if lb.v is None:
            continue
        v, M_hat = lb.v, lb.M_hat.value
        if D_all is not None:
            g = enumerated_bound(X, v, D_all)
            if g < M_hat:
                M_hat, M_method = g, "enumerated_patterns"
        value, t = dual_lower_bound(v, y, beta, M_hat)
        records.append(
            {
                "stage": "partD",
                "candidate": name,
                "lower": value,
                "t": t,
                "M_hat": M_hat,
                "M_hat_method": M_method,
                "time_s": lb.M_hat.time_s,
            }
        )
        if t > 0:
            feasible.append(t * v)
        if value > best:
            best, method = value, f"partD_{M_method}[{name}]"
    if len(feasible) > 1:
        value, _ = best_combination(feasible, y)
        records.append({"stage": "partD", "candidate": "combination", "lower": value})
        if value > best:
            best, method = value, "partD_combination"
    return best, method


def _new_columns(D: BoolArray, cand: BoolArray) -> BoolArray:
    """Columns of ``cand`` not already in ``D`` (order kept)."""
    if cand.shape[1] == 0:
        return cand
    both = np.concatenate([D, cand], axis=1)
    _, keep = dedupe_patterns(both)
    keep = keep[keep >= D.shape[1]] - D.shape[1]
    return cand[:, keep]


def _append_new(D: BoolArray, cand: BoolArray) -> BoolArray:
    return np.concatenate([D, _new_columns(D, cand)], axis=1)


def _check_int(name: str, value: int, low: int) -> None:
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, np.integer))
        or value < low
    ):
        raise InputError(f"{name} must be an integer >= {low}; got {value!r}")
