"""Theory diagnostics of THEORY.md §A4 (kappa, Sigma, Chernoff), §A5 (cone sharpness) and §3.4
(MAX-CUT).

These modules depend on the formulations, patterns and solvers only; the flat record that
``harness diagnose`` prints, which also needs the certified bracket of
:mod:`harness.certificates`, is :func:`harness.diagnose.diagnose` (one level up, so that
``certificates -> diagnostics`` is the only direction between the two).
"""

from __future__ import annotations

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
    sigma_monte_carlo,
    thm34_concentration,
    thm38_ratio_bound,
)
from harness.diagnostics.maxcut import (
    BinaryQuadResult,
    gw_rounding,
    max_binary_quadratic,
    max_binary_quadratic_exact,
    maxcut_graph,
    maxcut_matrix,
    maxcut_value,
    sdp_upper_bound,
)
from harness.diagnostics.sharpness import (
    SharpnessBatch,
    SharpnessEstimate,
    chebyshev_radius,
    cone_matrices,
    cone_sharpness,
    random_cone_model,
    sharpness_sup_estimate,
    solution_sharpness,
)

__all__ = [
    "BinaryQuadResult",
    "SharpnessBatch",
    "SharpnessEstimate",
    "bound7",
    "chebyshev_radius",
    "chernoff_failure_bound",
    "chernoff_pattern_count",
    "chernoff_ratio",
    "cone_matrices",
    "cone_sharpness",
    "cor37_lower_bound",
    "empirical_S_bar",
    "gw_rounding",
    "kappa",
    "kappa_hat",
    "kappa_heuristic",
    "lambda_min",
    "max_binary_quadratic",
    "max_binary_quadratic_exact",
    "maxcut_graph",
    "maxcut_matrix",
    "maxcut_value",
    "pattern_rank",
    "prop35_bound",
    "prop35_valid_bound",
    "prop36_lower_bound",
    "random_cone_model",
    "sdp_upper_bound",
    "sharpness_sup_estimate",
    "sigma_closed_form",
    "sigma_monte_carlo",
    "solution_sharpness",
    "thm34_concentration",
    "thm38_ratio_bound",
]
