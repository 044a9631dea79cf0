"""Checks P4, P7, P8, P9, P10, P11 and P13: the theory diagnostics, THEORY.md §A4, §3.4, §A5.

Each check reads the table of one experiment (:mod:`harness.kinds.theory`; specs
``experiments/{kappa,chernoff_rank,ridge,sharpness,maxcut}.toml``) through the evidence frame
(:mod:`harness.predictions.evidence`: failed points, NaN measurements and non-optimal solves
removed and listed; the registry's one policy withholds a PASS they could change) and applies
the rules of :mod:`harness.predictions.rules`: a trend PASSes only when its whole 95 %
interval is within the bound and the design has >= 4 levels spanning a factor >= 8 and >= 3
seeds; a frequency PASSes only when it meets the level and the Clopper–Pearson lower end is
>= level - 0.1. A missing or empty table, or one without the needed columns, gives NOT-RUN.

Decision rules (module constants name every threshold; "slope" is the least-squares slope
with a 95 % bootstrap interval, :func:`~harness.predictions.rules.slope_ci`; every point has
its own seed, so rows of different points are independent and resampled individually, rows of
one point (nested ``P`` in ``ridge``) are resampled together):

* **P4** (Thm 3.9 / Cor 3.10). (a) *kappa bounded in d*: for every ``c``, the slope of
  ``log kappa`` against ``log d`` must not be significantly above 0
  (:func:`~harness.predictions.rules.trend_rule` with ``max_slope = 0``: PASS when the whole
  interval is <= 0, FAIL when it is above 0, INCONCLUSIVE otherwise). An infinite ``kappa``
  (singular ``Sigma``) is a FAIL. (b) *kappa grows with c at fixed d*: for every ``d`` with
  at least 3 values of ``c``, the slope of ``log kappa`` against ``log c`` must be
  significantly positive (PASS when the interval is above 0, FAIL when it is below 0,
  INCONCLUSIVE otherwise). The heuristic level ``4 (1 + sqrt c)^2`` is not a theorem: the
  median ``kappa / level`` at the largest ``d`` is reported, not judged.
* **P7** (§3.4). Hard inequalities, any violation fails: ``gamma_all^2 <= maxcut_value``
  (exact MAX-CUT or certified SDP upper bound); where both are computed, ``maxcut_exact <=
  maxcut_sdp_upper`` (SDP certificate) and ``maxcut_sdp_lower <= maxcut_exact`` (rounding
  value attained). Tolerance :data:`P7_RTOL`. ``gamma_all^2`` is exact when enumerated
  (``gamma_is_exact``) and a lower estimate otherwise; the inequality is tested for both
  (a lower estimate violating it would still be a bug).
* **P8** (Prop 3.2 / Cor 3.3). Points with ``P >= 8 kappa log(n/delta)``, per ``delta``:
  the frequency of full rank ``n`` and the frequency of a zero ``beta -> 0`` value
  (``interp_residual_rel <= P8_RESIDUAL_TOL``) must be consistent with ``>= 1 - delta``
  (:func:`~harness.predictions.rules.binomial_rule`, Clopper–Pearson 95 %: PASS needs the
  lower end >= level - 0.1, i.e. >= 17 trials at level 0.9). The full-rank
  frequency against ``P / (kappa log n)`` below the threshold is reported (the transition).
* **P9** (Lemma A.1). (a) At ``P >= 8 kappa log(n/delta)``, per ``delta``: frequency of
  ``lambda_min(S_bar) / lambda_min(Sigma) >= 1/2`` consistent with ``>= 1 - delta``. (b) At
  every ``(n, d, P_mult)`` (or ``P``) group whose mean Chernoff bound ``n exp(-P / (8
  kappa))`` is below 1: success frequency consistent with ``>= 1 - mean bound`` (the
  lemma at every ``P``, not just the threshold).
* **P10** (Thm 3.4). (a) At ``P >= 8 kappa log(n/delta)``, per ``delta``: frequency of
  ``p(c2 = 2) <= p_ridge <= p(c1 = 1/2)`` consistent with ``>= 1 - 2 delta`` (both Chernoff
  tails; :data:`harness.kinds.theory.RIDGE_C2`). (b) *No plateau*: per ``(n, d, beta)``
  setting, on rows at the threshold, the slope of ``log(p_ridge / p_conc)`` against ``log
  P`` must not be significantly above :data:`P10_MAX_DRIFT` = 0.25 (the concentration value
  decays like ``1/P`` once ``P lambda_min(Sigma) >> beta``; a plateau of ``p_ridge`` makes
  the ratio grow like ``P``; Jensen makes it decrease to 1). Settings with fewer than 3
  values of ``P`` at the threshold are skipped (INCONCLUSIVE if all are).
* **P11** (Def 4.1 / Cor 4.5). (a) ``C(K, u) >= 1`` for every solved direction (hard).
  (b) Per ``(model, c)``: the slope of ``C_hat / sqrt(log n)`` against ``log n`` must be
  within 0 (whole interval) (``trend_rule``, ``max_slope = 0``), ``C_hat`` being the LOWER
  estimate of ``sup_u C(K, u)``. Because it is a lower estimate, a FAIL is conclusive (the
  true supremum grows at least as fast) while a PASS only says that the directions found do
  not grow faster than ``sqrt(log n)``.
* **P13** (Prop 4.3 / Thm 4.4). (a) Hard inequalities on the worst direction of every
  point: ``C(K, u) <= 2 Z(u) + 1`` and ``C(K, u) <= Z(u) + 1`` (tolerance
  :data:`P13_RTOL`). (b) Per ``(model, c)``: slope of ``max_u Z / sqrt(log n)`` against
  ``log n`` not significantly above 0. Points whose SOCPs did not all solve to optimality
  are excluded and listed (the exclusion policy decides whether a PASS survives).

Combination: FAIL if any part fails; NOT-RUN if no part could run; INCONCLUSIVE if a part
is inconclusive or did not run; PASS otherwise (then the exclusion policy).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness.predictions import CheckResult, register_check
from harness.predictions.evidence import (
    N_BOOT,
    Evidence,
    arr,
    combine,
    combine_groups,
    flag,
    frame,
    groups,
    label,
    not_run,
    present,
    rule_rng,
    with_c,
)
from harness.predictions.rules import (
    binomial_rule,
    hard_inequality,
    increasing_rule,
    slope_ci,
    trend_rule,
)

#: P7 relative tolerance (values are exact or certified; only floating-point rounding).
P7_RTOL = 1e-8
#: P8: relative interpolation residual below which the ``beta -> 0`` value counts as zero.
P8_RESIDUAL_TOL = 1e-8
#: P10: largest tolerated log-log drift of ``p_ridge / p_conc`` in ``P`` (plateau detector).
P10_MAX_DRIFT = 0.25
#: P11/P13: relative tolerance of the SOCP comparisons (Clarabel tol 1e-7).
P13_RTOL = 1e-5
P11_RTOL = 1e-5


# --------------------------------------------------------------------------- helpers
def _frame_c(tables: Mapping[str, pd.DataFrame], name: str, need: Sequence[str]) -> Evidence:
    """:func:`frame` of ``name`` with a ``c`` column (spec ``c``, else ``c_eff``)."""
    t = tables.get(name)
    if t is not None and len(t) and ("c" in t.columns or "c_eff" in t.columns):
        tables = {**tables, name: with_c(t)}
    return frame(tables, name, need)


def _binomial_part(
    name: str,
    df: pd.DataFrame,
    success: np.ndarray,
    level_of_delta: Callable[[float], float],
    empty_reason: str,
) -> CheckResult:
    """Per-``delta_used`` :func:`~harness.predictions.rules.binomial_rule` on ``success``."""
    work = df.assign(_ok=np.asarray(success, dtype=bool))
    entries = []
    for key, g in groups(work, ["delta_used"]):
        level = float(level_of_delta(float(key[0])))
        res = binomial_rule(int(g["_ok"].sum()), len(g), level, measured="", predicted="")
        entries.append((f"delta={float(key[0]):g}", res))
    return combine_groups(name, entries, empty_reason)


def _sqrt_log_trend(df: pd.DataFrame, column: str, name: str) -> CheckResult:
    """Per (model, c): slope of ``column`` against ``log n`` entirely <= 0 (scaling design)."""
    keys = present(df, ("model", "c"))
    rng = rule_rng()
    entries = []
    for k, g in groups(df, keys):
        n = arr(g, "n")
        cl = g["seed_index"].to_numpy() if "seed_index" in g.columns else None
        est = slope_ci(np.log(n), arr(g, column), clusters=cl, levels=n, n_boot=N_BOOT, rng=rng)
        entries.append((label(keys, k) or "all", trend_rule(est, 0.0, measured="", predicted="")))
    return combine_groups(name, entries, "no (model, c) with usable rows")


def _bool(df: pd.DataFrame, col: str) -> np.ndarray:
    return np.asarray(flag(df[col]))


# --------------------------------------------------------------------------- P4
@register_check(
    "P4",
    title="kappa is bounded in d at fixed c = n/d",
    claim=(
        "Under (A1) with c = n/d fixed, kappa = ||X||^2 / lambda_min(Sigma) stays bounded as d "
        "grows (heuristic level 4(1+sqrt c)^2) and grows with c at fixed d."
    ),
    source="Thm 3.9 / Cor 3.10 (THEORY.md §A4)",
    experiments=("kappa",),
    measured="kappa with the exact Sigma (arc-cosine kernel), per (d, c) over seeds",
    predicted="log-log slope of kappa in d <= 0 at fixed c; slope in c > 0 at fixed d",
    rule=(
        "per c (>= 4 d spanning x8, >= 3 seeds): bootstrap 95% CI of the slope of log kappa vs "
        "log d entirely <= 0 to PASS, entirely > 0 to FAIL; per d with >= 3 c: CI of the slope "
        "of log kappa vs log c entirely above 0; heuristic reported only"
    ),
)
def check_p4(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P4, THEORY.md Thm 3.9 / Cor 3.10: decision rule in the module docstring."""
    measured = "kappa = ||X||_2^2 / lambda_min(Sigma) against d (fixed c) and c (fixed d)"
    predicted = "bounded in d (slope of log kappa vs log d <= 0); increasing in c"
    ev = _frame_c(tables, "kappa", ("kappa", "c_eff", "kappa_heuristic", "d"))
    if not ev.usable:
        return not_run(measured, predicted, ev)
    ev = ev.finite("kappa", allow_inf=True).finite("d", "c")
    df = ev.rows
    rng = rule_rng()
    entries_a: list[tuple[str, CheckResult]] = []
    heur = []
    for key, g in groups(df, ["c"]):
        gk, dd = arr(g, "kappa"), arr(g, "d")
        if np.any(np.isinf(gk)):
            entries_a.append(
                (f"c={key[0]:g}", CheckResult("FAIL", "", "", "infinite kappa (singular Sigma)"))
            )
            continue
        cl = g["seed_index"].to_numpy() if "seed_index" in g.columns else None
        est = slope_ci(np.log(dd), np.log(gk), clusters=cl, levels=dd, n_boot=N_BOOT, rng=rng)
        entries_a.append((f"c={key[0]:g}", trend_rule(est, 0.0, measured="", predicted="")))
        big = g[g["d"] == g["d"].max()]
        heur.append(
            {
                "c": float(key[0]),
                "d_max": int(g["d"].max()),
                "kappa_over_level": float((big["kappa"] / big["kappa_heuristic"]).median()),
            }
        )
    part_a = combine_groups("bounded in d", entries_a, "no usable rows")
    entries_b = []
    for key, g in groups(df, ["d"]):
        gk = arr(g, "kappa")
        ok = np.isfinite(gk)
        if g["c"][ok].nunique() < 3:
            continue
        est = slope_ci(np.log(arr(g, "c")[ok]), np.log(gk[ok]), design=None, n_boot=N_BOOT, rng=rng)
        entries_b.append((f"d={key[0]:g}", increasing_rule(est, measured="", predicted="")))
    part_b = combine_groups("increasing in c", entries_b, "no d with >= 3 values of c")
    details: dict[str, Any] = {"heuristic_level": heur, "evidence": [ev.summary()]}
    notes = []
    if heur:
        lo = min(h["kappa_over_level"] for h in heur)
        hi = max(h["kappa_over_level"] for h in heur)
        notes.append(
            f"kappa / 4(1+√c)² at the largest d: {lo:.2f}–{hi:.2f} (heuristic, not judged)"
        )
    return combine(
        [("bounded in d", part_a), ("increasing in c", part_b)], measured, predicted, details, notes
    )


# --------------------------------------------------------------------------- P7
@register_check(
    "P7",
    title="MAX-CUT bound on max_i ||X^T D_i y||^2",
    claim=(
        "gamma_all^2 = max_i ||X^T D_i y||^2 over all arrangement patterns is at most "
        "max_{s in {0,1}^n} s^T diag(y) X X^T diag(y) s, a MAX-CUT value."
    ),
    source="§3.4 MAX-CUT connection (THEORY.md §A4)",
    experiments=("maxcut",),
    measured="gamma_all^2 (exact by enumeration or lower estimate) and the MAX-CUT value "
    "(exact for n <= 20, else certified SDP upper bound)",
    predicted="gamma_all^2 <= MAX-CUT value in every instance",
    rule="hard inequality, any violation beyond rtol 1e-8 fails; also SDP >= exact >= rounding",
)
def check_p7(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P7, THEORY.md §3.4: decision rule in the module docstring."""
    measured = "gamma_all^2 vs max_s s^T M s"
    predicted = "gamma_all^2 <= MAX-CUT value"
    ev = frame(tables, "maxcut", ("gamma_all_sq", "maxcut_value"))
    if not ev.usable:
        return not_run(measured, predicted, ev)
    ev = ev.finite("gamma_all_sq", "maxcut_value")
    if "sdp_status" in ev.rows.columns and "maxcut_method" in ev.rows.columns:
        bad = (ev.rows["maxcut_method"].astype(str).str.contains("sdp")) & (
            ev.rows["sdp_status"].astype(str) != "optimal"
        )
        ev = ev.exclude(bad.to_numpy(), "non-optimal", "SDP bound not optimal")
    df = ev.rows
    main = hard_inequality(
        arr(df, "gamma_all_sq"), arr(df, "maxcut_value"), rtol=P7_RTOL, measured="", predicted=""
    )
    parts = [("gamma^2 <= MAX-CUT", main)]
    if {"maxcut_exact", "maxcut_sdp_upper", "maxcut_sdp_lower"} <= set(df.columns):
        both = df[np.isfinite(arr(df, "maxcut_exact"))]
        if len(both):
            ex = arr(both, "maxcut_exact")
            kw: dict[str, Any] = {"rtol": P7_RTOL, "measured": "", "predicted": ""}
            parts.append(
                ("exact <= SDP bound", hard_inequality(ex, arr(both, "maxcut_sdp_upper"), **kw))
            )
            parts.append(
                ("rounding <= exact", hard_inequality(arr(both, "maxcut_sdp_lower"), ex, **kw))
            )
    details: dict[str, Any] = {"evidence": [ev.summary()]}
    if "gamma_is_exact" in df.columns:
        details["n_gamma_exact"] = int(_bool(df, "gamma_is_exact").sum())
        details["n_gamma_lower_estimate"] = int((~_bool(df, "gamma_is_exact")).sum())
    if "maxcut_method" in df.columns and len(df):
        details["n_by_maxcut_method"] = {
            str(k): int(v) for k, v in df["maxcut_method"].value_counts().items()
        }
        tight = arr(df, "gamma_all_sq") / arr(df, "maxcut_value")
        details["median_tightness_by_method"] = {
            str(k): float(np.median(tight[(df["maxcut_method"] == k).to_numpy()]))
            for k in df["maxcut_method"].unique()
        }
    return combine(parts, measured, predicted, details)


# --------------------------------------------------------------------------- P8
@register_check(
    "P8",
    title="Full rank of [D_1 X ... D_P X] at P >= 8 kappa log(n/delta)",
    claim=(
        "With P >= 8 kappa log(n/delta) sampled patterns, [D_1 X, ..., D_P X] has rank n with "
        "probability >= 1 - delta, so the unregularised relaxation interpolates (value 0)."
    ),
    source="Prop 3.2 / Cor 3.3 (THEORY.md §A4)",
    experiments=("chernoff_rank",),
    measured="rank of [D_i X] and the beta -> 0 residual per seed, against P / (kappa log n)",
    predicted="P(rank = n) >= 1 - delta and P(value = 0) >= 1 - delta at the threshold",
    rule=(
        "per delta: Clopper-Pearson 95% interval; FAIL if entirely below 1 - delta, PASS if the "
        "frequency is >= 1 - delta and the lower end >= 1 - delta - 0.1, else INCONCLUSIVE"
    ),
)
def check_p8(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P8, THEORY.md Prop 3.2 / Cor 3.3: decision rule in the module docstring."""
    measured = "frequency of rank n and of a zero beta -> 0 value at P >= 8 kappa log(n/delta)"
    predicted = ">= 1 - delta"
    need = ("at_threshold", "full_rank", "interp_residual_rel", "delta_used")
    ev0 = frame(tables, "chernoff_rank", need)
    if not ev0.usable:
        return not_run(measured, predicted, ev0)
    ev = ev0.finite("delta_used", "interp_residual_rel")
    ev = ev.exclude(ev.rows["full_rank"].isna().to_numpy(), "missing", "NaN in full_rank")
    at = ev.rows[_bool(ev.rows, "at_threshold")]
    empty = "no point reaches P >= 8 kappa log(n/delta)"
    level = lambda dl: 1.0 - dl  # noqa: E731
    part_rank = _binomial_part("rank n", at, _bool(at, "full_rank"), level, empty)
    zero = arr(at, "interp_residual_rel") <= P8_RESIDUAL_TOL
    part_zero = _binomial_part("beta->0 value 0", at, zero, level, empty)
    keys = present(ev.rows, ("n", "d", "P_mult"))
    details: dict[str, Any] = {
        "transition": [
            {
                "group": label(keys, k),
                "median_P_over_kappa_log_n": float(g["P_over_kappa_log_n"].median())
                if "P_over_kappa_log_n" in g
                else float("nan"),
                "freq_full_rank": float(_bool(g, "full_rank").mean()),
                "trials": len(g),
            }
            for k, g in groups(ev.rows, keys)
            if len(g)
        ],
        "evidence": [ev.summary()],
    }
    return combine(
        [("rank n", part_rank), ("beta->0 value 0", part_zero)], measured, predicted, details
    )


# --------------------------------------------------------------------------- P9
@register_check(
    "P9",
    title="Matrix Chernoff: lambda_min(S_bar) >= lambda_min(Sigma) / 2",
    claim=(
        "With P i.i.d. Gaussian patterns, lambda_min(S_bar) <= lambda_min(Sigma)/2 has "
        "probability at most n exp(-P/(8 kappa)), i.e. <= delta at P >= 8 kappa log(n/delta)."
    ),
    source="Lemma A.1 (matrix Chernoff) / Prop 3.2 (THEORY.md §A4)",
    experiments=("chernoff_rank",),
    measured="lambda_min(S_bar) / lambda_min(Sigma) per seed",
    predicted=">= 1/2 with probability >= 1 - delta at the threshold; >= 1 - n exp(-P/(8 kappa)) at every P",
    rule=(
        "Clopper-Pearson 95%: FAIL if entirely below the level, PASS if the frequency meets it "
        "and the lower end >= level - 0.1, else INCONCLUSIVE"
    ),
)
def check_p9(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P9, THEORY.md Lemma A.1: decision rule in the module docstring."""
    measured = "frequency of lambda_min(S_bar)/lambda_min(Sigma) >= 1/2"
    predicted = ">= 1 - delta at P >= 8 kappa log(n/delta); >= 1 - n exp(-P/(8 kappa)) at every P"
    need = ("at_threshold", "chernoff_ok", "chernoff_failure_bound", "delta_used")
    ev = frame(tables, "chernoff_rank", need)
    if not ev.usable:
        return not_run(measured, predicted, ev)
    ev = ev.finite("delta_used", "chernoff_failure_bound")
    ev = ev.exclude(ev.rows["chernoff_ok"].isna().to_numpy(), "missing", "NaN in chernoff_ok")
    df = ev.rows
    at = df[_bool(df, "at_threshold")]
    part_a = _binomial_part(
        "ratio >= 1/2 at threshold",
        at,
        _bool(at, "chernoff_ok"),
        lambda dl: 1.0 - dl,
        "no point reaches P >= 8 kappa log(n/delta)",
    )
    keys = present(df, ("n", "d", "P_mult" if "P_mult" in df.columns else "P"))
    entries = []
    for k, g in groups(df, keys):
        if not len(g):
            continue
        bound = float(arr(g, "chernoff_failure_bound").mean())
        if not bound < 1.0:
            continue
        ok = int(_bool(g, "chernoff_ok").sum())
        res = binomial_rule(ok, len(g), 1.0 - bound, measured="", predicted="")
        entries.append((label(keys, k) or "all", res))
    part_b = combine_groups(
        "Chernoff bound at every P", entries, "no group with a non-trivial bound (< 1)"
    )
    details: dict[str, Any] = {"evidence": [ev.summary()]}
    if "chernoff_ratio" in df.columns and len(at):
        details["min_ratio_at_threshold"] = float(np.nanmin(arr(at, "chernoff_ratio")))
        details["median_ratio_at_threshold"] = float(np.nanmedian(arr(at, "chernoff_ratio")))
    return combine([("at threshold", part_a), ("every P", part_b)], measured, predicted, details)


# --------------------------------------------------------------------------- P10
@register_check(
    "P10",
    title="l2^2 relaxation concentrates to beta/2 y^T (P Sigma + beta I)^{-1} y",
    claim=(
        "The exact value of the l2^2-regularised relaxation lies between the concentration "
        "values at c2 P Sigma and c1 P Sigma (c1 = 1/2) w.h.p. and keeps decreasing like 1/P."
    ),
    source="Thm 3.4 (THEORY.md §A4); c2 = 2 [RECON, derived here]",
    experiments=("ridge",),
    measured="p_ridge(P) on nested pattern sets, p_conc(P), bracket values",
    predicted="p(c2) <= p_ridge <= p(c1) w.p. >= 1 - 2 delta; p_ridge / p_conc does not drift up",
    rule=(
        "Clopper-Pearson 95% on the bracket frequency at P >= 8 kappa log(n/delta) (PASS needs "
        "the lower end >= level - 0.1); per setting (>= 4 P spanning x8): bootstrap CI of the "
        "slope of log(p_ridge/p_conc) vs log P entirely <= 0.25"
    ),
)
def check_p10(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P10, THEORY.md Thm 3.4: decision rule in the module docstring."""
    measured = "p_ridge(P) vs p_conc(P) = beta/2 y^T (P Sigma + beta I)^{-1} y"
    predicted = "inside the c1 = 1/2, c2 = 2 bracket w.p. >= 1 - 2 delta; no plateau"
    need = ("at_threshold", "in_bracket", "p_ridge", "p_conc", "P_used", "delta_used")
    ev = frame(tables, "ridge", need)
    if not ev.usable:
        return not_run(measured, predicted, ev)
    ev = ev.finite("p_ridge", "p_conc", "P_used", "delta_used")
    ev = ev.exclude(ev.rows["in_bracket"].isna().to_numpy(), "missing", "NaN in in_bracket")
    ev = ev.exclude(
        (arr(ev.rows, "p_ridge") <= 0) | (arr(ev.rows, "p_conc") <= 0),
        "missing",
        "non-positive p_ridge or p_conc",
    )
    at = ev.rows[_bool(ev.rows, "at_threshold")]
    part_a = _binomial_part(
        "bracket",
        at,
        _bool(at, "in_bracket"),
        lambda dl: max(0.0, 1.0 - 2.0 * dl),
        "no row reaches P >= 8 kappa log(n/delta)",
    )
    keys = present(at, ("n", "d", "beta", "beta_rel"))
    rng = rule_rng()
    entries = []
    for k, g in groups(at, keys):
        P = arr(g, "P_used")
        x = np.log(P)
        ratio = arr(g, "p_ridge") / arr(g, "p_conc")
        clusters = g["cache_key"].to_numpy() if "cache_key" in g.columns else None
        est = slope_ci(x, np.log(ratio), clusters=clusters, levels=P, n_boot=N_BOOT, rng=rng)
        entries.append(
            (label(keys, k) or "all", trend_rule(est, P10_MAX_DRIFT, measured="", predicted=""))
        )
    part_b = combine_groups("no plateau", entries, "no setting with rows at the threshold")
    return combine(
        [("bracket", part_a), ("no plateau", part_b)],
        measured,
        predicted,
        {"evidence": [ev.summary()]},
    )


# --------------------------------------------------------------------------- P11 / P13
@register_check(
    "P11",
    title="Cone sharpness grows at most like sqrt(log n)",
    claim=(
        "For cones from (A1) data (or the [a G] model) at fixed c, the cone sharpness "
        "C(K) = sup_u C(K, u) is >= 1 and O(sqrt(log n))."
    ),
    source="Def 4.1 / Cor 4.5 (THEORY.md §A5)",
    experiments=("sharpness",),
    measured="C_hat = a LOWER estimate of sup_u C(K, u) (random, adversarial, ascent directions)",
    predicted="C >= 1; C_hat / sqrt(log n) has no upward trend in n at fixed c",
    rule=(
        "hard inequality C(K, u) >= 1 (rtol 1e-5); per (model, c) bootstrap 95% CI of the slope "
        "of C_hat/sqrt(log n) vs log n entirely <= 0 (>= 4 n spanning x8, >= 3 seeds) (PASS is weak: C_hat is a lower estimate)"
    ),
)
def check_p11(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P11, THEORY.md Def 4.1 / Cor 4.5: decision rule in the module docstring."""
    measured = "C_hat = max over searched directions of C(K, u) (lower estimate of the sup)"
    predicted = "C >= 1 and C_hat / sqrt(log n) bounded in n at fixed c"
    ev = _frame_c(
        tables, "sharpness", ("C_sup_lower_est", "C_min", "C_over_sqrt_log_n", "c_eff", "n")
    )
    if not ev.usable:
        return not_run(measured, predicted, ev)
    ev = ev.optimal("sharp_status").finite("C_min", "C_over_sqrt_log_n", "n")
    df = ev.rows
    ge1 = hard_inequality(
        np.ones(len(df)), arr(df, "C_min"), rtol=P11_RTOL, measured="", predicted=""
    )
    trend = _sqrt_log_trend(df, "C_over_sqrt_log_n", "C_hat/sqrt(log n) trend")
    res = combine(
        [("C(K, u) >= 1", ge1), ("trend", trend)], measured, predicted, {"evidence": [ev.summary()]}
    )
    if res.verdict == "PASS":
        res = CheckResult(
            "PASS",
            measured,
            predicted,
            f"{res.explanation} (on a lower estimate of the sup over u)",
            res.details,
        )
    return res


@register_check(
    "P13",
    title="Chebyshev-centre bound C(K, u) <= 2 Z(u) + 1 and max_u Z = O(sqrt(log n))",
    claim=(
        "For every unit u, C(K, u) <= 2 Z(u) + 1 (and <= Z(u) + 1) with Z(u) = "
        "min {||c|| : A c >= |A u|}, and max_u Z(u) = O(sqrt(log n)) for random cones."
    ),
    source="Prop 4.3 / Thm 4.4 (THEORY.md §A5)",
    experiments=("sharpness",),
    measured="C(K, u) and Z(u) on a batch of directions per cone; max_u Z (lower estimate)",
    predicted="no direction violates either inequality; Z_max / sqrt(log n) bounded in n",
    rule=(
        "hard inequalities on the worst direction of every point (rtol 1e-5), points with "
        "non-optimal SOCPs excluded and reported; per (model, c) CI of the slope of "
        "Z_max/sqrt(log n) vs log n entirely <= 0 (>= 4 n spanning x8, >= 3 seeds)"
    ),
)
def check_p13(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P13, THEORY.md Prop 4.3 / Thm 4.4: decision rule in the module docstring."""
    measured = "C(K, u) vs Z(u) per direction; Z_max / sqrt(log n)"
    predicted = "C <= 2Z + 1 and C <= Z + 1 everywhere; Z_max = O(sqrt(log n))"
    cols = ("C_worst_2Z1", "rhs_worst_2Z1", "C_worst_Z1", "rhs_worst_Z1", "Z_over_sqrt_log_n")
    ev = _frame_c(tables, "sharpness", (*cols, "c_eff", "n"))
    if not ev.usable:
        return not_run(measured, predicted, ev)
    ev = ev.optimal("sharp_status").finite(*cols, "n")
    df = ev.rows
    details: dict[str, Any] = {"evidence": [ev.summary()]}
    for col in ("n_viol_2Z1", "n_viol_Z1", "n_dirs_checked"):
        if col in df.columns:
            details[f"total_{col}"] = int(np.nansum(arr(df, col)))
    parts = []
    for lhs, rhs, name in (
        ("C_worst_2Z1", "rhs_worst_2Z1", "C <= 2Z + 1"),
        ("C_worst_Z1", "rhs_worst_Z1", "C <= Z + 1"),
    ):
        res = hard_inequality(arr(df, lhs), arr(df, rhs), rtol=P13_RTOL, measured="", predicted="")
        parts.append((name, res))
    parts.append(("trend", _sqrt_log_trend(df, "Z_over_sqrt_log_n", "Z_max/sqrt(log n) trend")))
    return combine(parts, measured, predicted, details)
