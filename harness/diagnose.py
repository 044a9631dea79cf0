"""``diagnose``: every THEORY.md §A4/§A5/§3.4/Part D diagnostic of one instance, as a flat dict.

The dict is what ``harness diagnose`` prints. Every diagnostic carries its wall time
(``time_<name>_s``); quantities that are estimates say so in their name or ``*_method``
field (``cone_sharpness`` is a LOWER estimate of a supremum; ``gamma_all_method`` is
``"enumeration"`` or ``"sampled_lower"``; ``maxcut_method`` is ``"exact"`` or
``"sdp_upper"``). ``pstar_lower``/``pstar_upper`` are certified (:mod:`harness.certificates`).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from harness import formulations as F
from harness.certificates import DEFAULT_ENUMERATE_CAP, certified_bracket, gamma_all
from harness.diagnostics.kappa import (
    bound7,
    chernoff_failure_bound,
    chernoff_pattern_count,
    chernoff_ratio,
    cor37_lower_bound,
    empirical_S_bar,
    kappa,
    kappa_hat,
    kappa_heuristic,
    lambda_min,
    pattern_rank,
    prop35_bound,
    prop35_valid_bound,
    prop36_lower_bound,
    sigma_closed_form,
    thm34_concentration,
    thm38_ratio_bound,
)
from harness.diagnostics.maxcut import EXACT_MAX_N, maxcut_value
from harness.diagnostics.sharpness import (
    cone_matrices,
    sharpness_sup_estimate,
    solution_sharpness,
)
from harness.errors import EnumerationError, InputError
from harness.formulations import BoolArray, FloatArray
from harness.patterns import enumerate_patterns, sample_patterns
from harness.solvers.registry import solve

#: Relative slack used for the inequality checks reported as ``*_holds``.
CHECK_RTOL = 1e-6


def diagnose(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    *,
    rng: np.random.Generator,
    D: BoolArray | None = None,
    P: int | None = None,
    delta: float = 0.1,
    solver: str = "clarabel",
    enumerate_cap: int = DEFAULT_ENUMERATE_CAP,
    exact_max_n: int = EXACT_MAX_N,
    n_sharpness_cones: int = 8,
    bracket_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """All diagnostics of THEORY.md §A4, §A5, §3.4 and Part D for one instance.

    Parameters
    ----------
    X : ndarray (n, d); y : ndarray (n,); beta : float > 0
    rng : numpy Generator
        Pattern sampling (when ``D`` is None), bracket, sharpness directions, SDP rounding.
    D : bool ndarray (n, P), optional
        The relaxation's patterns; default ``P`` Gaussian patterns (``P`` default 100).
    delta : float
        Failure probability used for the Chernoff pattern count ``8 kappa log(n/delta)``.
    solver : str
        Registry solver of (3), (5) and (2).
    enumerate_cap : int
        Arrangements predicted at most this large are enumerated (exact ``p*``,
        ``gamma_all`` and ``p_u``).
    exact_max_n : int
        Largest ``n`` for which MAX-CUT values are computed by exact enumeration.
    n_sharpness_cones : int
        Number of the relaxation's cones on which the sharpness sup is estimated.
    bracket_options : dict, optional
        Extra keyword arguments of :func:`harness.certificates.certified_bracket`.

    Returns
    -------
    dict of str to scalar
        Flat record; see the module docstring for the naming of estimates and times.
    """
    t_start = time.perf_counter()
    X, y = F.check_data(X, y)
    beta = F.check_beta(beta)
    if not 0 < delta < 1:
        raise InputError(f"delta must be in (0, 1); got {delta!r}")
    n, d = X.shape
    if D is None:
        P_req = 100 if P is None else P
        D = sample_patterns(X, P_req, rng).D
    else:
        D = F.check_patterns(D, n)
    out: dict[str, Any] = {"n": n, "d": d, "P": int(D.shape[1]), "beta": beta}
    y_norm = float(np.linalg.norm(y))
    X_norm = float(np.linalg.norm(X, 2))
    out.update(y_norm=y_norm, X_norm=X_norm, beta_max_sampled=F.beta_max(X, y, D))

    # ---------------------------------------------------------------- kappa (§A4)
    t0 = time.perf_counter()
    Sigma = sigma_closed_form(X)
    lmin_sigma = lambda_min(Sigma)
    S_bar = empirical_S_bar(X, D)
    lmin_sbar = lambda_min(S_bar)
    kap = kappa(X, Sigma)
    out.update(
        kappa=kap,
        lambda_min_sigma=lmin_sigma,
        kappa_hat=kappa_hat(X, D),
        lambda_min_sbar=lmin_sbar,
        chernoff_ratio=chernoff_ratio(X, D, Sigma),
        chernoff_P_required=chernoff_pattern_count(kap, n, delta) if math.isfinite(kap) else -1,
        chernoff_failure_bound=chernoff_failure_bound(D.shape[1], kap, n)
        if math.isfinite(kap)
        else 1.0,
        kappa_heuristic=kappa_heuristic(n, d),
        rank_patterns=pattern_rank(X, D),
        time_kappa_s=time.perf_counter() - t0,
    )

    # ---------------------------------------------------------------- enumeration
    t0 = time.perf_counter()
    D_all: BoolArray | None = None
    if enumerate_cap > 0:
        try:
            D_all = enumerate_patterns(X, cap=enumerate_cap)
            D_all = D_all[:, D_all.any(axis=0)]
        except EnumerationError:
            D_all = None
    out["P_all"] = int(D_all.shape[1]) if D_all is not None else -1
    out["time_enumeration_s"] = time.perf_counter() - t0

    # ---------------------------------------------------------------- relaxations
    t0 = time.perf_counter()
    relu = solve("relu", X, y, D, beta, solver=solver)
    out.update(
        relaxed_relu=relu.objective,
        relaxed_relu_status=relu.status,
        relaxed_relu_dual_bound=relu.dual_bound,
        time_relaxed_relu_s=time.perf_counter() - t0,
    )
    t0 = time.perf_counter()
    gated = solve("gated", X, y, D, beta, solver=solver)
    out.update(
        relaxed_gated=gated.objective,
        relaxed_gated_status=gated.status,
        time_relaxed_gated_s=time.perf_counter() - t0,
    )
    if D_all is not None:
        t0 = time.perf_counter()
        pu = solve("gated", X, y, D_all, beta, solver=solver)
        out.update(p_u=pu.objective, p_u_status=pu.status, time_p_u_s=time.perf_counter() - t0)

    # ---------------------------------------------------------------- bracket (Part D)
    t0 = time.perf_counter()
    br = certified_bracket(
        X,
        y,
        beta,
        rng=rng,
        D=D,
        solver=solver,
        enumerate_cap=enumerate_cap,
        exact_max_n=exact_max_n,
        **(bracket_options or {}),
    )
    out.update(br.to_record())
    out["pstar_method"] = "exact" if br.exact else br.upper_method
    out["time_bracket_s"] = time.perf_counter() - t0
    out["R_est"] = _ratio(relu.objective, br.pstar_upper)
    out["R_cert"] = _ratio(relu.objective, br.pstar_lower)

    # ---------------------------------------------------------------- gamma_all, MAX-CUT
    t0 = time.perf_counter()
    # exact over the enumerated arrangement, else a lower estimate from the solve's patterns,
    # +-X^T y and priced patterns (no Gaussian draws: n_h = 0)
    gam = gamma_all(X, y, rng, D_all=D_all, n_h=0, D_hint=D, price=True)
    gamma_all_value = gam.value
    out["gamma_all_method"] = gam.method
    out["gamma_all"] = gamma_all_value
    out["time_gamma_s"] = time.perf_counter() - t0
    mc = maxcut_value(X, y, rng, exact_max_n=exact_max_n)
    out.update(
        maxcut_value=mc.value,
        maxcut_method=mc.method,
        maxcut_lower=mc.lower,
        time_maxcut_s=mc.time_s,
        p7_holds=bool(gamma_all_value**2 <= mc.upper * (1 + CHECK_RTOL)),
    )

    # ---------------------------------------------------------------- §A4 bounds
    out["prop35_bound"] = prop35_bound(beta, y_norm, lmin_sigma)
    out["prop35_valid_bound"] = prop35_valid_bound(beta, y_norm, lmin_sbar)
    out["prop36_lower"] = prop36_lower_bound(beta, y_norm, X_norm * y_norm)
    out["cor37_lower"] = cor37_lower_bound(beta, y_norm, X_norm)
    out["thm38_bound"] = thm38_ratio_bound(kap) if math.isfinite(kap) else math.inf
    gamma_up = gamma_all_value if gam.exact else math.sqrt(max(mc.upper, 0.0))
    out["bound7"] = bound7(gamma_up, y_norm, lmin_sbar)
    out["bound7_gamma_source"] = "enumeration" if gam.exact else "sqrt_maxcut_upper"
    if "p_u" in out:
        out["ratio_gated_pu"] = _ratio(gated.objective, out["p_u"])
    out["ridge_value"] = F.ridge_value(X, y, D, beta)
    out["thm34_concentration"] = thm34_concentration(beta, y, D.shape[1], Sigma)

    # ---------------------------------------------------------------- sharpness (§A5)
    t0 = time.perf_counter()
    k = min(n_sharpness_cones, D.shape[1])
    if k > 0:
        idx = rng.choice(D.shape[1], size=k, replace=False)
        est = sharpness_sup_estimate(cone_matrices(X, D[:, idx]), rng)
        out.update(
            cone_sharpness=est.value_lower_est,
            cone_sharpness_method=f"lower_estimate_sup_over_{k}_sampled_cones",
            chebyshev_Z_at_best=est.z_at_best,
            prop43_holds=bool(est.value_lower_est <= est.z_at_best + 1 + CHECK_RTOL * 10),
        )
    W = gated.variables["W"]
    C_sol, _ = solution_sharpness(X, D, W)
    out["cone_sharpness_solution"] = C_sol
    out["prop42_holds"] = bool(
        relu.objective <= C_sol * gated.objective * (1 + CHECK_RTOL) + CHECK_RTOL
    )
    out["time_sharpness_s"] = time.perf_counter() - t0
    out["time_total_s"] = time.perf_counter() - t_start
    return out


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else math.inf
