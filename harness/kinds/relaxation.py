"""Relaxation experiments of Kim & Pilanci (2024): Figures 1, 2 and 8, THEORY.md §A2, §A4-§A6.

Three sweep kinds share one (A1) instance builder (``X_ij ~ N(0, 1)``, ``n = round(c d)``,
labels ``"planted"`` or ``"gaussian"`` from the spec's ``[instance]`` table), one beta rule
and one certified bracket on p* (:func:`harness.certificates.certified_bracket`, THEORY.md
Part D). Every solve's normalised status is recorded next to its value; the checks and
plots use optimal solves only and count the others.

Kinds
-----
``relaxation_width`` (Figure 1, P3)
    The Gaussian relaxation (3) and its gated version (5) on NESTED sampled pattern sets,
    ``P`` in ``P_list`` (one point solves the whole list, patterns drawn from one
    generator, so the set for a smaller ``P`` is a prefix of the next one; warm starts
    are passed along the list when the solver is not ``"clarabel"``). One row per ``P``:
    ``p_relu``, ``p_gated``, statuses, ``P_unique``, ``neurons = 2 P_unique`` (the
    width the relaxation represents), plus per point the p* bracket and the best of
    ``gd_restarts`` non-convex runs on (1) (``gd_best``).
``relaxation_gap`` (Figure 2, P1 P2 P5 P6 P12 P14 P17)
    ``R = p~*/p*`` with ``P`` chosen by the rule ``P = ceil(8 kappa log(n/delta))``
    (capped at ``P_cap``; ``P_rule``, ``P_capped`` recorded; row ``P_mode = "rule"``) and,
    when the point sets ``P``, at that fixed ``P`` (row ``P_mode = "fixed"``). Both rows
    share the instance, kappa, ``p_u`` and the bracket. ``R_cert = p_relu / pstar_lower``
    is a certified UPPER bound on ``R``; ``R_est = p_relu / pstar_upper`` a lower one.
``stationary`` (Figure 8, P16)
    ``n_inits`` random initialisations of GD or Adam on (1) with width ``m``: the final
    loss ``L(theta')`` against the p* bracket, the gradient norm, and ``p_cvx(D')``, the
    ReLU program (3) on the final activation patterns ``D'_j = 1[X u'_j >= 0]`` (Wang et
    al. 2021: equal to ``L(theta')`` at a true stationary point; always ``<= L(theta')``,
    since the network is a feasible point of that program and ``beta/2 (||u||^2 +
    alpha^2) >= beta |alpha| ||u||``).

Beta rule (THEORY.md "How to choose beta"): ``beta = beta_rel * beta_max`` with
``beta_max = max_i ||X^T D_i y||`` over ALL patterns when the arrangement can be enumerated
(``beta_max_method = "enumerated"``; Cover's count at most ``enum_cap``), otherwise over
``beta_patterns`` Gaussian patterns plus ``h = +-X^T y`` (``"sampled"``, a lower estimate
of the true ``beta_max``, so ``beta`` stays below it). ``beta_rel`` must be ``< 1``. An
absolute ``beta`` is also accepted (``beta_over_max`` is then recorded).

The bracket's upper end is tightened with every value of (1) at actual weights that the
kind computes (mapped ReLU solutions, GD runs): ``pstar_upper = min(bracket, those)`` and
``pstar_upper_bracket`` keeps the bracket's own value. Lower ends are certificates only.

``p_u`` (gated program (5) over all patterns) is a LOWER-side quantity, so only valid
values are reported: ``p_u_exact`` when the arrangement is enumerated (nan otherwise) and
``p_u_lower``, a certified lower bound by weak duality (the enumerated solve's dual bound,
or THEORY.md Part D with ``M_hat = sqrt(max_s s^T diag(v) X X^T diag(v) s)`` from
:func:`harness.diagnostics.maxcut.maxcut_value`, exact for ``n <= 24``, else the certified
SDP bound). ``p_u_method`` says which.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness import formulations as F
from harness.certificates import (
    Bracket,
    certified_bracket,
    dual_lower_bound,
    gamma_all,
)
from harness.diagnostics.kappa import (
    bound7,
    chernoff_pattern_count,
    cor37_lower_bound,
    empirical_S_bar,
    kappa,
    kappa_hat,
    lambda_min,
    prop35_bound,
    prop35_valid_bound,
    prop36_lower_bound,
    sigma_closed_form,
    thm38_ratio_bound,
)
from harness.diagnostics.maxcut import maxcut_value
from harness.errors import EnumerationError, InputError
from harness.formulations import BoolArray, FloatArray
from harness.instances import make_rng
from harness.kinds import register_kind
from harness.kinds.common import BetaRule, SolverChoice, SyntheticInstance
from harness.mapping import cone_decomposition, relu_network_value
from harness.nonconvex import final_patterns, train_restarts
from harness.params import Flag, Interval, IntList, Options, Text, param, parse_P_list
from harness.patterns import dedupe_patterns, enumerate_pattern_set, sample_patterns
from harness.solvers.registry import solve
from harness.solvers.result import SolveResult

#: Defaults of optional point fields (choices THEORY.md leaves open; recorded in the rows).
DEFAULTS: dict[str, Any] = {
    "labels": "planted",
    "teacher_width": 5,
    "weight_law": "gaussian",
    "noise": 0.0,
    "solver": "clarabel",
    "enum_cap": 2000,
    "beta_patterns": 2000,
    "delta": 0.1,
    "P_cap": 400,
    "use_rule": True,
    "decompose": True,
    "bracket_P_init": 100,
    "bracket_P_grow": 100,
    "bracket_rounds": 4,
    "bracket_restarts": 4,
    "bracket_gd_steps": 2000,
    "gd_restarts": 4,
    "gd_method": "adam",
    "gd_lr": 1e-2,
    "gd_steps": 3000,
    "n_inits": 10,
    "methods": "gd",
    "n_steps": 3000,
}
GD_METHODS = ("gd", "adam")
#: Default Adam step on (1) (Adam lr ~1e-2 reaches the optimum on small cases; GD without a
#: step uses backtracking line search).
ADAM_LR = 1e-2
#: Relative size above which a gated column counts as active (cone decomposition, Prop 4.2).
ACTIVE_RTOL = 1e-6
_DELTA = Interval(float, 0.0, 1.0, closed="neither")
_STEP = Interval(float, 0.0, None, closed="neither")


@dataclass(frozen=True, kw_only=True)
class RelaxationParams(SyntheticInstance, BetaRule, SolverChoice):
    """Fields shared by the relaxation kinds: instance, beta rule, solver, p* bracket.

    ``beta_rel`` must be below 1 (``beta < beta_max``, else the zero network is optimal);
    ``beta_max`` is over all patterns when at most ``enum_cap`` exist, else over
    ``beta_patterns`` sampled ones. The ``bracket_*`` fields are passed to
    :func:`harness.certificates.certified_bracket`.
    """

    n: int = param(Interval(int, 2, None))
    beta_rel: float | None = param(Interval(float, 0.0, 1.0, closed="neither"), None)
    enum_cap: int = param(Interval(int, 0, None), DEFAULTS["enum_cap"])
    beta_patterns: int = param(Interval(int, 1, None), DEFAULTS["beta_patterns"])
    bracket_P_init: int = param(Interval(int, 1, None), DEFAULTS["bracket_P_init"])
    bracket_P_grow: int = param(Interval(int, 0, None), DEFAULTS["bracket_P_grow"])
    bracket_rounds: int = param(Interval(int, 0, None), DEFAULTS["bracket_rounds"])
    bracket_restarts: int = param(Interval(int, 0, None), DEFAULTS["bracket_restarts"])
    bracket_gd_steps: int = param(Interval(int, 0, None), DEFAULTS["bracket_gd_steps"])


@dataclass(frozen=True, kw_only=True)
class WidthParams(RelaxationParams):
    """``relaxation_width``: nested ``P_list`` and the non-convex GD restarts."""

    P_list: str = param(IntList())
    gd_restarts: int = param(Interval(int, 0, None), DEFAULTS["gd_restarts"])
    gd_method: str = param(Options(GD_METHODS), DEFAULTS["gd_method"])
    gd_lr: float | None = param(_STEP, None)  # None: Adam's ADAM_LR, GD's line search
    gd_steps: int = param(Interval(int, 1, None), DEFAULTS["gd_steps"])
    gd_width: int | None = param(Interval(int, 1, None), None)  # None: n + 1


@dataclass(frozen=True, kw_only=True)
class GapParams(RelaxationParams):
    """``relaxation_gap``: the Chernoff pattern rule and/or a fixed ``P``."""

    delta: float = param(_DELTA, DEFAULTS["delta"])
    P_cap: int = param(Interval(int, 1, None), DEFAULTS["P_cap"])
    use_rule: bool = param(Flag(), DEFAULTS["use_rule"])
    decompose: bool = param(Flag(), DEFAULTS["decompose"])
    P: int | None = param(Interval(int, 1, None), None)


#: Columns of the ``relaxation_width`` rows (besides the point parameters).
WIDTH_COLUMNS = (
    "P_sampled",
    "P_unique",
    "neurons",
    "p_relu",
    "p_gated",
    "status_relu",
    "status_gated",
    "mapped_objective_relu",
    "mapped_rel_err",
    "n_active_relu",
    "n_active_gated",
    "max_cone_violation_relu",
    "duality_gap_relu",
    "duality_gap_gated",
    "time_relu_s",
    "time_gated_s",
    "beta_used",
    "beta_max",
    "beta_max_method",
    "pstar_lower",
    "pstar_upper",
    "pstar_upper_bracket",
    "pstar_lower_method",
    "pstar_upper_method",
    "pstar_exact",
    "gd_best",
    "gd_best_grad_norm",
    "gd_n_converged",
    "gd_width",
)

#: Columns of the ``relaxation_gap`` rows (besides the point parameters).
GAP_COLUMNS = (
    "P_mode",
    "P_used",
    "P_rule",
    "P_capped",
    "P_unique",
    "neurons",
    "p_relu",
    "p_gated",
    "status_relu",
    "status_gated",
    "p_u_exact",
    "p_u_lower",
    "p_u_method",
    "status_pu",
    "pstar_lower",
    "pstar_upper",
    "pstar_upper_bracket",
    "pstar_exact",
    "R_cert",
    "R_est",
    "sqrt_log_2n",
    "kappa",
    "kappa_hat",
    "lambda_min_sigma",
    "lambda_min_sbar",
    "gamma_all",
    "gamma_all_method",
    "bound7",
    "bound7_valid",
    "thm38_bound",
    "prop35_whp",
    "prop35_valid",
    "prop36_lower",
    "prop36_lower_gamma",
    "cor37_lower",
    "ratio_gated_pu",
    "ratio_gated_pu_cert",
    "ratio_relu_gated",
    "sharpness_max",
    "status_decomp",
    "p_decomp",
    "mapped_objective_relu",
    "mapped_rel_err",
    "time_relu_s",
    "time_gated_s",
    "time_pu_s",
    "time_decomp_s",
    "time_bracket_s",
)

#: Columns of the ``stationary`` rows (one per initialisation).
STATIONARY_COLUMNS = (
    "method_used",
    "lr_used",
    "lr_decay_used",
    "init",
    "loss",
    "loss_over_pstar_lower",
    "loss_over_pstar_upper",
    "grad_norm",
    "stop_reason",
    "converged",
    "n_steps_taken",
    "p_cvx_Dprime",
    "gap_cert_Dprime",
    "status_Dprime",
    "P_Dprime",
    "gap_Dprime_rel",
    "frac_neuron_preserved",
    "pstar_lower",
    "pstar_upper",
    "pstar_upper_bracket",
    "pstar_exact",
    "sqrt_log_2n",
    "kappa",
    "P_rule",
    "width_used",
    "width_meets_rule",
)


# --------------------------------------------------------------------------- shared steps
@dataclass(frozen=True)
class BetaChoice:
    """Weight decay of a point and how it was set (THEORY.md "How to choose beta")."""

    beta: float
    beta_max: float
    method: str


@dataclass(frozen=True)
class PstarBracket:
    """The certified bracket, tightened with the kind's own values of (1) at real weights."""

    lower: float
    upper: float
    upper_bracket: float
    lower_method: str
    upper_method: str
    exact: bool
    time_s: float

    def record(self) -> dict[str, Any]:
        return {
            "pstar_lower": self.lower,
            "pstar_upper": self.upper,
            "pstar_upper_bracket": self.upper_bracket,
            "pstar_lower_method": self.lower_method,
            "pstar_upper_method": self.upper_method,
            "pstar_exact": self.exact,
            "time_bracket_s": self.time_s,
        }

    def tightened(self, value: float, method: str) -> PstarBracket:
        """The bracket with ``upper = min(upper, value)`` (``value`` a value of (1))."""
        if math.isfinite(value) and value < self.upper:
            return PstarBracket(
                self.lower,
                value,
                self.upper_bracket,
                self.lower_method,
                method,
                self.exact,
                self.time_s,
            )
        return self


def all_patterns(X: FloatArray, cap: int) -> BoolArray | None:
    """All non-zero arrangement patterns (THEORY.md §A1) or ``None`` above ``cap``."""
    if cap <= 0:
        return None
    try:
        return enumerate_pattern_set(X, cap=cap).D
    except EnumerationError:
        return None


def choose_beta(
    p: RelaxationParams,
    X: FloatArray,
    y: FloatArray,
    D_all: BoolArray | None,
    rng: np.random.Generator,
) -> BetaChoice:
    """``beta = beta_rel * beta_max`` (or the point's absolute ``beta``), THEORY.md §A8.

    ``beta_max = max_i ||X^T D_i y||`` over all patterns (``D_all``) or, when they are not
    enumerated, over ``beta_patterns`` Gaussian patterns and the two patterns of
    ``h = +-X^T y`` (a lower estimate of the true maximum).

    Raises
    ------
    InputError
        ``beta_rel`` outside ``(0, 1)``, non-positive ``beta``, or neither given.
    """
    if D_all is not None and D_all.shape[1] > 0:
        bmax, method = F.beta_max(X, y, D_all), "enumerated"
    else:
        P_beta = p.beta_patterns
        H = rng.standard_normal((X.shape[1], P_beta))
        g = X.T @ y
        H = np.concatenate([H, g[:, None], -g[:, None]], axis=1)
        bmax, method = F.beta_max(X, y, (X @ H) >= 0), "sampled"
    if p.beta is None and p.beta_rel is None:
        raise InputError("relaxation point needs 'beta' or 'beta_rel'; got neither")
    beta = p.beta_value(bmax)
    if not beta > 0:
        raise InputError(f"beta must be > 0; got {beta!r} (beta_max = {bmax!r}, y = 0?)")
    return BetaChoice(float(beta), float(bmax), method)


def pstar_bracket(
    p: RelaxationParams, X: FloatArray, y: FloatArray, beta: float, rng: np.random.Generator
) -> PstarBracket:
    """Certified bracket on p*, THEORY.md Part D (:func:`harness.certificates.certified_bracket`)."""
    b: Bracket = certified_bracket(
        X,
        y,
        beta,
        rng=rng,
        P_init=p.bracket_P_init,
        P_grow=p.bracket_P_grow,
        max_rounds=p.bracket_rounds,
        n_restarts=p.bracket_restarts,
        gd_steps=p.bracket_gd_steps,
        enumerate_cap=p.enum_cap,
        solver=p.solver,
    )
    return PstarBracket(
        lower=float(b.pstar_lower),
        upper=float(b.pstar_upper),
        upper_bracket=float(b.pstar_upper),
        lower_method=str(b.lower_method),
        upper_method=str(b.upper_method),
        exact=bool(b.exact),
        time_s=float(b.time_s),
    )


def solver_options(p: SolverChoice) -> dict[str, Any]:
    """``solver``, and ``tol`` / ``max_iter`` when the spec's ``[solver]`` table sets them."""
    opts: dict[str, Any] = {"solver": p.solver}
    if p.tol is not None:
        opts["tol"] = p.tol
    if p.max_iter is not None:
        opts["max_iter"] = p.max_iter
    return opts


def _solve(
    problem: str,
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    opts: dict[str, Any],
    warm: SolveResult | None = None,
) -> SolveResult:
    kwargs = dict(opts)
    if warm is not None and kwargs["solver"] != "clarabel":
        kwargs["warm_start"] = warm  # first-order solvers accept warm starts; Clarabel does not
    return solve(problem, X, y, D, beta, **kwargs)


def _relu_gated_record(
    X: FloatArray, y: FloatArray, beta: float, gated: SolveResult, relu: SolveResult
) -> dict[str, Any]:
    mapped = relu_network_value(X, y, relu.variables["U"], relu.variables["V"], beta)
    scale = max(abs(relu.objective), np.finfo(np.float64).tiny)
    return {
        "p_relu": float(relu.objective),
        "p_gated": float(gated.objective),
        "status_relu": relu.status,
        "status_gated": gated.status,
        "mapped_objective_relu": float(mapped),
        "mapped_rel_err": float(abs(mapped - relu.objective) / scale),
        "n_active_relu": int(relu.n_active),
        "n_active_gated": int(gated.n_active),
        "max_cone_violation_relu": float(relu.max_cone_violation),
        "duality_gap_relu": _num(relu.duality_gap),
        "duality_gap_gated": _num(gated.duality_gap),
        "time_relu_s": float(relu.time_s),
        "time_gated_s": float(gated.time_s),
    }


# --------------------------------------------------------------------------- Figure 1
@register_kind(
    "relaxation_width",
    params=WidthParams,
    requires=[("n", "c"), ("d",), ("P_list",), ("beta", "beta_rel")],
)
def relaxation_width(p: WidthParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Objective of (3) and (5) against the number of sampled patterns, THEORY.md §A8 Fig. 1.

    Parameters
    ----------
    p : the kind's parameter dataclass
        Required: ``n`` (or ``c``) and ``d``, ``P_list`` (e.g. ``"2,4,8,16"``), ``beta_rel``
        (or ``beta``). Optional (defaults in :data:`DEFAULTS`): instance fields
        (``labels``, ``teacher_width``, ``weight_law``, ``noise``), ``solver``, ``tol``,
        ``max_iter``, ``enum_cap``, ``beta_patterns``, ``bracket_P_init``,
        ``bracket_P_grow``, ``bracket_rounds``, ``bracket_restarts``, ``bracket_gd_steps``,
        ``gd_restarts`` (0 disables), ``gd_method``, ``gd_lr``, ``gd_steps``, ``gd_width``
        (default ``n + 1``, Caratheodory's ``m* <= n + 1``).
    seed : SeedSequence
        Split into instance, pattern, beta/bracket and GD seeds.

    Returns
    -------
    list of dict
        One row per ``P`` with the columns of :data:`WIDTH_COLUMNS` (``P_sampled`` is the
        number of Gaussian vectors drawn, ``P_unique`` the distinct non-zero patterns,
        ``neurons = 2 P_unique``); ``gd_best`` is the smallest value of (1) over the GD
        restarts (``nan`` with none).

    Raises
    ------
    InputError
        Invalid point fields.
    """
    P_list = parse_P_list(p.P_list)
    inst_seed, pattern_seed, bracket_seed, gd_seed = seed.spawn(4)
    inst = p.instance(inst_seed)
    X, y = inst.X, inst.y
    n = X.shape[0]
    brng = make_rng(bracket_seed)
    D_all = all_patterns(X, p.enum_cap)
    bc = choose_beta(p, X, y, D_all, brng)
    beta = bc.beta
    opts = solver_options(p)
    bracket = pstar_bracket(p, X, y, beta, brng)

    gd_best, gd_grad, gd_conv = math.nan, math.nan, 0
    gd_width = n + 1 if p.gd_width is None else p.gd_width
    n_restarts = p.gd_restarts
    if n_restarts > 0:
        method = p.gd_method
        runs = train_restarts(
            X,
            y,
            beta,
            gd_width,
            gd_seed,
            n_restarts,
            method=method,
            lr=_step(p.gd_lr, method),
            n_steps=p.gd_steps,
        )
        finite = [r for r in runs if math.isfinite(r.objective)]
        gd_conv = sum(bool(r.converged) for r in runs)
        if finite:
            best = min(finite, key=lambda r: r.objective)
            gd_best, gd_grad = float(best.objective), float(best.grad_norm)
            bracket = bracket.tightened(gd_best, "nonconvex_gd")

    rows: list[dict[str, Any]] = []
    warm_g: SolveResult | None = None
    warm_r: SolveResult | None = None
    for P in P_list:
        ps = sample_patterns(X, P, make_rng(pattern_seed))  # same generator: nested sets
        gated = _solve("gated", X, y, ps.D, beta, opts, warm_g)
        relu = _solve("relu", X, y, ps.D, beta, opts, warm_r)
        warm_g, warm_r = gated, relu
        rec = _relu_gated_record(X, y, beta, gated, relu)
        if relu.ok:
            bracket = bracket.tightened(rec["mapped_objective_relu"], "mapped_relu")
        rows.append(
            {
                "P_sampled": int(P),
                "P_unique": int(ps.P_unique),
                "neurons": 2 * int(ps.P_unique),
                **rec,
            }
        )
    common = {
        "beta_used": beta,
        "beta_max": bc.beta_max,
        "beta_max_method": bc.method,
        "beta_over_max": beta / bc.beta_max if bc.beta_max > 0 else math.nan,
        **bracket.record(),
        "gd_best": gd_best,
        "gd_best_grad_norm": gd_grad,
        "gd_n_converged": int(gd_conv),
        "gd_restarts_run": int(n_restarts),
        "gd_width": int(gd_width),
        "solver_used": opts["solver"],
        "labels_used": inst.meta["labels"],
    }
    return _strip([{**row, **common} for row in rows], p)


# --------------------------------------------------------------------------- Figure 2
def p_u_values(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    D_all: BoolArray | None,
    candidates: dict[str, FloatArray],
    rng: np.random.Generator,
    opts: dict[str, Any],
) -> dict[str, Any]:
    """``p_u`` (problem (5) over ALL patterns) or a certified lower bound, THEORY.md §A2, Part D.

    With ``D_all``: the gated program on every pattern (``p_u_exact``) and its dual bound
    (``p_u_lower``). Otherwise ``p_u_exact = nan`` and ``p_u_lower = max_v LB(v)`` over the
    candidate dual vectors, ``LB(v) = t* v^T y - t*^2/2 ||v||^2`` with ``t* <= beta / M_hat``
    and ``M_hat = sqrt(max_{s in {0,1}^n} s^T diag(v) X X^T diag(v) s) >= max_i ||X^T D_i v||``
    (the dual constraint of (5) over all patterns; exact enumeration or certified SDP).
    """
    t0 = time.perf_counter()
    if D_all is not None:
        res = _solve("gated", X, y, D_all, beta, opts)
        lower = _num(res.dual_bound)
        return {
            "p_u_exact": float(res.objective) if res.ok else math.nan,
            "p_u_lower": max(lower, 0.0) if math.isfinite(lower) else math.nan,
            "p_u_method": "enumerated",
            "status_pu": res.status,
            "time_pu_s": time.perf_counter() - t0,
        }
    best, method = 0.0, "trivial_zero"
    for name, v in candidates.items():
        keep = v != 0
        if not keep.any():
            continue
        mc = maxcut_value(X[keep], v[keep], rng)
        M_hat = math.sqrt(max(mc.upper, 0.0))
        lb, _ = dual_lower_bound(v, y, beta, M_hat)
        if lb > best:
            best, method = lb, f"partD_maxcut_{mc.method}[{name}]"
    return {
        "p_u_exact": math.nan,
        "p_u_lower": float(best),
        "p_u_method": method,
        "status_pu": "certificate",
        "time_pu_s": time.perf_counter() - t0,
    }


@register_kind(
    "relaxation_gap", params=GapParams, requires=[("n", "c"), ("d",), ("beta", "beta_rel")]
)
def relaxation_gap(p: GapParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Relative gap ``R = p~*/p*`` and the §3-§4 quantities, THEORY.md §A4-§A6 (Fig. 2).

    Parameters
    ----------
    p : the kind's parameter dataclass
        Required: ``n`` (or ``c``), ``d``, ``beta_rel`` (or ``beta``), and the pattern
        rule (``use_rule``, default true; ``delta``, ``P_cap``) and/or a fixed ``P``.
        Optional: instance fields, ``solver``, ``tol``, ``max_iter``, ``enum_cap``,
        ``beta_patterns``, ``decompose`` (cone decomposition for Prop 4.2, default true),
        bracket fields as in :func:`relaxation_width`.
    seed : SeedSequence
        Split into instance, pattern and beta/bracket seeds; the rule row and the fixed-P
        row draw from the same pattern generator (nested sets).

    Returns
    -------
    list of dict
        One row per ``P_mode`` with the columns of :data:`GAP_COLUMNS`. Notation:
        ``p_relu`` = (3), ``p_gated`` = (5) on the same sampled patterns; ``kappa`` =
        ``||X||^2 / lambda_min(Sigma)`` (exact Sigma); ``kappa_hat`` and
        ``lambda_min_sbar`` from ``S_bar`` over the ``P_unique`` distinct sampled patterns
        (the set the programs use, which keeps Prop 3.5's interpolation argument and (7)
        deterministic); ``bound7`` = (7) with ``gamma_all`` (exact or a certified upper
        bound, ``bound7_valid`` = ``beta <= gamma_all``); ``thm38_bound = 2 sqrt(2 kappa)``;
        ``prop35_whp`` (w.h.p. bound on ``p_gated`` given ``P >= P_rule``) and
        ``prop35_valid`` (deterministic); ``prop36_lower`` (``gamma = ||X|| ||y||``) and
        ``prop36_lower_gamma`` (``gamma_all``) lower-bound ``p_u``; ``sharpness_max`` =
        ``max_i C(K_i, w_i/||w_i||)`` at the gated solution (Prop 4.2) and ``p_decomp`` the
        value of (1) at the cone-decomposed gated network (``p_relu <= p_decomp <=
        sharpness_max * p_gated``); ``ratio_gated_pu_cert = p_gated / p_u_lower`` is an
        upper bound on ``p_gated / p_u``.

    Raises
    ------
    InputError
        Invalid point fields, or neither the rule nor a fixed ``P`` requested.
    """
    use_rule = p.use_rule
    if not use_rule and p.P is None:
        raise InputError("relaxation_gap point needs use_rule = true or a fixed 'P'; got neither")
    inst_seed, pattern_seed, bracket_seed = seed.spawn(3)
    inst = p.instance(inst_seed)
    X, y = inst.X, inst.y
    n, d = X.shape
    brng = make_rng(bracket_seed)
    opts = solver_options(p)

    t0 = time.perf_counter()
    Sigma = sigma_closed_form(X)
    kap = kappa(X, Sigma)
    lmin_sigma = lambda_min(Sigma)
    X_norm = float(np.linalg.norm(X, 2))
    y_norm = float(np.linalg.norm(y))
    time_kappa = time.perf_counter() - t0

    D_all = all_patterns(X, p.enum_cap)
    bc = choose_beta(p, X, y, D_all, brng)
    beta = bc.beta
    gam = gamma_all(X, y, brng, D_all=D_all, fallback="upper")  # exact or >= gamma_all
    gamma_value, gamma_method = gam.value, gam.method

    delta = p.delta
    P_cap = p.P_cap
    P_rule = chernoff_pattern_count(kap, n, delta) if math.isfinite(kap) else -1
    modes: list[tuple[str, int]] = []
    if use_rule:
        if P_rule < 0:
            raise InputError("the pattern rule needs a finite kappa (Sigma is singular)")
        modes.append(("rule", min(P_rule, P_cap)))
    if p.P is not None:
        modes.append(("fixed", p.P))

    bracket = pstar_bracket(p, X, y, beta, brng)
    decompose = p.decompose

    rows: list[dict[str, Any]] = []
    residuals: dict[str, FloatArray] = {"y": y}
    for mode, P_used in modes:
        ps = sample_patterns(X, P_used, make_rng(pattern_seed))
        D = ps.D
        gated = _solve("gated", X, y, D, beta, opts)
        relu = _solve("relu", X, y, D, beta, opts)
        rec = _relu_gated_record(X, y, beta, gated, relu)
        if relu.ok:
            bracket = bracket.tightened(rec["mapped_objective_relu"], "mapped_relu")
        if gated.ok:
            residuals[f"gated_residual_{mode}"] = y - F.gated_predict(X, D, gated.variables["W"])
        S_bar = empirical_S_bar(X, D)
        lmin_sbar = lambda_min(S_bar)
        kap_hat = kappa_hat(X, D)
        dec = _decomposition(X, y, D, gated, beta) if decompose else _NO_DECOMP
        if dec["status_decomp"] == "optimal":
            bracket = bracket.tightened(dec["p_decomp"], "decomposed_gated")
        rows.append(
            {
                "P_mode": mode,
                "P_used": int(P_used),
                "P_rule": int(P_rule),
                "P_capped": bool(mode == "rule" and P_rule > P_cap),
                "P_unique": int(ps.P_unique),
                "neurons": 2 * int(ps.P_unique),
                **rec,
                "kappa_hat": float(kap_hat),
                "lambda_min_sbar": float(lmin_sbar),
                "bound7": bound7(gamma_value, y_norm, lmin_sbar),
                "prop35_valid": prop35_valid_bound(beta, y_norm, lmin_sbar),
                **dec,
            }
        )

    pu = p_u_values(X, y, beta, D_all, residuals, brng, opts)
    common = {
        "beta_used": beta,
        "beta_max": bc.beta_max,
        "beta_max_method": bc.method,
        "beta_over_max": beta / bc.beta_max if bc.beta_max > 0 else math.nan,
        "c_eff": n / d,
        "sqrt_log_2n": math.sqrt(math.log(2 * n)),
        "kappa": float(kap),
        "lambda_min_sigma": float(lmin_sigma),
        "X_norm": X_norm,
        "y_norm": y_norm,
        "delta_used": float(delta),
        "P_cap_used": int(P_cap),
        "gamma_all": float(gamma_value),
        "gamma_all_method": gamma_method,
        "bound7_valid": bool(beta <= gamma_value),
        "thm38_bound": thm38_ratio_bound(kap) if math.isfinite(kap) else math.inf,
        "prop35_whp": prop35_bound(beta, y_norm, lmin_sigma),
        "prop36_lower": prop36_lower_bound(beta, y_norm, X_norm * y_norm),
        "prop36_lower_gamma": prop36_lower_bound(beta, y_norm, gamma_value),
        "cor37_lower": cor37_lower_bound(beta, y_norm, X_norm),
        "time_kappa_s": time_kappa,
        **pu,
        **bracket.record(),
        "solver_used": opts["solver"],
        "labels_used": inst.meta["labels"],
    }
    out = []
    for row in rows:
        full = {**row, **common}
        p_relu, p_gated = full["p_relu"], full["p_gated"]
        full["R_cert"] = _ratio(p_relu, bracket.lower)
        full["R_est"] = _ratio(p_relu, bracket.upper)
        full["ratio_relu_gated"] = _ratio(p_relu, p_gated)
        full["ratio_gated_pu"] = _ratio(p_gated, pu["p_u_exact"])
        full["ratio_gated_pu_cert"] = _ratio(p_gated, pu["p_u_lower"])
        out.append(full)
    return _strip(out, p)


_NO_DECOMP: dict[str, Any] = {
    "sharpness_max": math.nan,
    "status_decomp": "not_run",
    "p_decomp": math.nan,
    "n_decomposed": 0,
    "time_decomp_s": 0.0,
}


def _decomposition(
    X: FloatArray, y: FloatArray, D: BoolArray, gated: SolveResult, beta: float
) -> dict[str, Any]:
    """Prop 4.2 quantities at the gated solution (THEORY.md §A5): sharpness and mapped value."""
    W = gated.variables["W"]
    if not gated.ok:
        return {**_NO_DECOMP, "status_decomp": "gated_not_optimal"}
    active = F.active_mask(W, ACTIVE_RTOL)
    if not active.any():
        return {
            **_NO_DECOMP,
            "sharpness_max": 1.0,
            "status_decomp": "optimal",
            "p_decomp": 0.5 * float(y @ y),
        }
    dec = cone_decomposition(X, D, W, rtol_active=ACTIVE_RTOL)
    sharp = dec.sharpness[np.isfinite(dec.sharpness)]
    p_dec = relu_network_value(X, y, dec.A, dec.B, beta)
    return {
        "sharpness_max": float(sharp.max()) if sharp.size else math.nan,
        "status_decomp": dec.status,
        "p_decomp": float(p_dec),
        "n_decomposed": int(active.sum()),
        "time_decomp_s": float(dec.time_s),
    }


# --------------------------------------------------------------------------- Figure 8
class _MethodList(Text):
    """A comma-separated list of distinct local methods from :data:`GD_METHODS`."""

    def check(self, value: Any) -> Any:
        super().check(value)
        try:
            parse_methods(str(value))
        except InputError as exc:
            raise ValueError(f"must be {self.what}. Got {value!r}.") from exc
        return value


def parse_methods(text: str) -> list[str]:
    """``"gd,adam"`` -> ``["gd", "adam"]`` (the ``methods`` field of ``stationary``).

    Raises
    ------
    InputError
        Empty, repeated or unknown names.
    """
    vals = [v.strip() for v in str(text).split(",")]
    if not vals or len(set(vals)) != len(vals) or any(v not in GD_METHODS for v in vals):
        raise InputError(
            f"methods must be a comma-separated list of distinct names from {list(GD_METHODS)}; "
            f"got {text!r}"
        )
    return vals


@dataclass(frozen=True, kw_only=True)
class StationaryParams(RelaxationParams):
    """``stationary``: network width ``m``, local methods, paired initialisations."""

    width: int = param(Interval(int, 1, None))
    methods: str = param(
        _MethodList("abcdefghijklmnopqrstuvwxyz,", "a comma-separated list from 'gd', 'adam'"),
        DEFAULTS["methods"],
    )
    n_inits: int = param(Interval(int, 1, None), DEFAULTS["n_inits"])
    delta: float = param(_DELTA, DEFAULTS["delta"])
    gd_lr: float | None = param(_STEP, None)  # None: GD's backtracking line search
    adam_lr: float | None = param(_STEP, None)  # None: ADAM_LR
    # inverse-time decay of the fixed steps (Adam, fixed-step GD): lr / (1 + t / lr_decay)
    lr_decay: float | None = param(_STEP, None)
    n_steps: int = param(Interval(int, 1, None), DEFAULTS["n_steps"])
    init_scale: float | None = param(_STEP, None)  # None: nonconvex's default
    # True: the width used is max(width, 2 P_rule), the width Thm 2.5 assumes [RECON]
    width_at_rule: bool = param(Flag(), False)


@register_kind(
    "stationary",
    params=StationaryParams,
    requires=[("n", "c"), ("d",), ("width",), ("beta", "beta_rel")],
)
def stationary(p: StationaryParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Final losses of local methods on (1) against the p* bracket, THEORY.md §A6 Thm 2.5.

    Every method of ``methods`` is run from the SAME ``n_inits`` random initialisations
    (paired runs) on the same instance, so methods are compared on equal terms and share
    one bracket.

    Parameters
    ----------
    p : the kind's parameter dataclass
        Required: ``n`` (or ``c``), ``d``, ``width`` (``m``), ``beta_rel`` (or ``beta``).
        Optional: ``methods`` (comma-separated from {"gd", "adam"}, default ``"gd"``: GD
        with Armijo backtracking unless ``gd_lr`` fixes its step; Adam with step
        ``adam_lr``, default ``1e-2``), ``lr_decay`` (inverse-time decay of the fixed
        steps, ``lr / (1 + t / lr_decay)``; default none), ``n_inits`` (default 10), ``n_steps``,
        ``init_scale``, ``delta`` (of the width condition, default 0.1), ``width_at_rule``
        (default false; true: the width used is ``max(width, 2 P_rule)``, the width of
        Thm 2.5, recorded as ``width_used``), instance, solver and bracket fields as in
        :func:`relaxation_width`.
    seed : SeedSequence
        Split into instance, beta/bracket and initialisation seeds.

    Returns
    -------
    list of dict
        One row per (method, initialisation) with the columns of
        :data:`STATIONARY_COLUMNS`: ``loss = L(theta')`` (eq. (1) at the final weights;
        ``nan`` ratios for a diverged run), ``loss_over_pstar_lower`` (worst end) and
        ``loss_over_pstar_upper`` (best end), ``p_cvx_Dprime`` = (3) on the distinct
        non-zero final patterns (``||y||^2/2`` when every neuron is dead), ``gap_cert_Dprime``
        its certified relative gap (also when its status is not ``optimal``),
        ``gap_Dprime_rel = (L - p_cvx(D')) / L`` (``>= 0`` up to solver tolerance; ``0`` at
        a true stationary point), ``frac_neuron_preserved`` = fraction of neurons whose
        pattern is unchanged since initialisation ((A2)). ``pstar_upper`` includes the
        best final loss of the point's own runs. ``width_meets_rule`` says whether
        ``m / 2 >= P_rule = ceil(8 kappa log(n/delta))``, the width Thm 2.5 assumes [RECON].
    """
    methods = parse_methods(p.methods)
    n_inits = p.n_inits
    n_steps = p.n_steps
    inst_seed, bracket_seed, init_seed = seed.spawn(3)
    inst = p.instance(inst_seed)
    X, y = inst.X, inst.y
    n = X.shape[0]
    brng = make_rng(bracket_seed)
    opts = solver_options(p)
    D_all = all_patterns(X, p.enum_cap)
    bc = choose_beta(p, X, y, D_all, brng)
    beta = bc.beta
    bracket = pstar_bracket(p, X, y, beta, brng)
    kap = kappa(X)
    delta = p.delta
    P_rule = chernoff_pattern_count(kap, n, delta) if math.isfinite(kap) else -1
    m = max(p.width, 2 * P_rule) if p.width_at_rule and P_rule > 0 else p.width

    all_runs: list[tuple[str, float | None, int, Any]] = []
    for method in methods:
        lr = _step(p.adam_lr if method == "adam" else p.gd_lr, method)
        kw: dict[str, Any] = {
            "method": method,
            "lr": lr,
            "n_steps": n_steps,
            "record_patterns_at": [0],
        }
        if p.init_scale is not None:
            kw["init_scale"] = p.init_scale
        if p.lr_decay is not None and lr is not None:
            kw["lr_decay"] = p.lr_decay
        # same init_seed for every method: identical initialisations (paired runs)
        runs = train_restarts(X, y, beta, m, init_seed, n_inits, **kw)
        all_runs.extend((method, lr, k, run) for k, run in enumerate(runs))
    finite = [r.objective for *_, r in all_runs if math.isfinite(r.objective)]
    if finite:
        bracket = bracket.tightened(min(finite), "nonconvex_runs")

    rows: list[dict[str, Any]] = []
    for method, lr, k, run in all_runs:
        L = float(run.objective)
        row: dict[str, Any] = {
            "method_used": method,
            "lr_used": math.nan if lr is None else float(lr),
            "lr_decay_used": math.nan if run.lr_decay is None else float(run.lr_decay),
            "init": k,
            "loss": L,
            "grad_norm": float(run.grad_norm),
            "stop_reason": run.stop_reason,
            "converged": bool(run.converged),
            "n_steps_taken": int(run.n_steps),
            "time_gd_s": float(run.time_s),
            **_dprime(X, y, beta, run, opts),
            "loss_over_pstar_lower": _ratio(L, bracket.lower),
            "loss_over_pstar_upper": _ratio(L, bracket.upper),
        }
        rows.append(row)
    common = {
        "beta_used": beta,
        "beta_max": bc.beta_max,
        "beta_max_method": bc.method,
        "beta_over_max": beta / bc.beta_max if bc.beta_max > 0 else math.nan,
        "c_eff": n / X.shape[1],
        "sqrt_log_2n": math.sqrt(math.log(2 * n)),
        **bracket.record(),
        "kappa": float(kap),
        "P_rule": int(P_rule),
        "width_used": int(m),
        "width_meets_rule": bool(P_rule > 0 and m / 2 >= P_rule),
        "n_steps_max": n_steps,
        "solver_used": opts["solver"],
        "labels_used": inst.meta["labels"],
    }
    return _strip([{**row, **common} for row in rows], p)


def _dprime(
    X: FloatArray, y: FloatArray, beta: float, run: Any, opts: dict[str, Any]
) -> dict[str, Any]:
    """``p_cvx(D')`` on the final patterns of a run (Wang et al. 2021; THEORY.md Thm 2.5)."""
    L = float(run.objective)
    if not (math.isfinite(L) and np.all(np.isfinite(run.U))):
        return {
            "p_cvx_Dprime": math.nan,
            "gap_cert_Dprime": math.nan,
            "status_Dprime": "diverged",
            "P_Dprime": 0,
            "gap_Dprime_rel": math.nan,
            "frac_neuron_preserved": math.nan,
            "time_Dprime_s": 0.0,
        }
    D_final = final_patterns(X, run.U)
    D_prime, _ = dedupe_patterns(D_final)
    if D_prime.shape[1] == 0:
        p_cvx, status, t_cvx, gap = 0.5 * float(y @ y), "optimal", 0.0, 0.0
    else:
        res = _solve("relu", X, y, D_prime, beta, opts)
        p_cvx, status, t_cvx = float(res.objective), res.status, float(res.time_s)
        # certified relative gap of THIS solve (also for a non-optimal status: objective at
        # a cone-feasible point, dual bound by weak duality)
        gap = (p_cvx - _num(res.dual_bound)) / abs(p_cvx) if p_cvx != 0 else math.nan
    same = D_final == run.pattern_log[0]
    return {
        "p_cvx_Dprime": p_cvx,
        "gap_cert_Dprime": float(gap) if math.isfinite(gap) else math.nan,
        "status_Dprime": status,
        "P_Dprime": int(D_prime.shape[1]),
        "gap_Dprime_rel": (L - p_cvx) / L if L > 0 else math.nan,
        "frac_neuron_preserved": float(same.all(axis=0).mean()),
        "time_Dprime_s": t_cvx,
    }


# --------------------------------------------------------------------------- private
def _strip(rows: list[dict[str, Any]], p: RelaxationParams) -> list[dict[str, Any]]:
    """Drop columns named like a parameter the point set (the engine adds those itself)."""
    given = p.given
    return [{k: v for k, v in row.items() if k not in given} for row in rows]


def _step(lr: float | None, method: str) -> float | None:
    """Step size: the point's, else Adam's :data:`ADAM_LR` / GD's line search (``None``)."""
    if lr is not None:
        return lr
    return ADAM_LR if method == "adam" else None


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _ratio(a: float, b: float) -> float:
    """``a / b`` for finite ``a`` and ``b > 0``, else ``nan`` (a zero lower bound certifies no ratio)."""
    if not (math.isfinite(a) and math.isfinite(b)) or b <= 0:
        return math.nan
    return a / b
