"""Checks P4, P7, P8, P9, P10, P11 and P13: the theory diagnostics, THEORY.md §A4, §3.4, §A5.

Each check reads the table of one experiment (:mod:`harness.kinds.theory`; specs
``experiments/{kappa,chernoff_rank,ridge,sharpness,maxcut}.toml``) and applies one of the
rules of :mod:`harness.predictions.rules`. Rows of failed points (``point_status !=
"ok"``) are counted and reported in ``details["n_failed_points"]``; they never enter a
statistic, and a check that would PASS is downgraded to INCONCLUSIVE when any point of its
inputs failed (a failed point could hide a violation). A missing or empty table, or one
without the needed columns, gives NOT-RUN.

Decision rules (module constants name every threshold; "slope" is the least-squares slope
with a 95 % bootstrap interval, :func:`~harness.predictions.rules.slope_ci`; every point has
its own seed, so rows of different points are independent and resampled individually, rows of
one point (nested ``P`` in ``ridge``) are resampled together):

* **P4** (Thm 3.9 / Cor 3.10). (a) *kappa bounded in d*: for every ``c``, the slope of
  ``log kappa`` against ``log d`` must not be significantly above 0
  (:func:`~harness.predictions.rules.trend_rule` with ``max_slope = 0``: FAIL when the whole
  interval is above 0, INCONCLUSIVE when only the estimate is). An infinite ``kappa``
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
  (:func:`~harness.predictions.rules.binomial_rule`, Clopper-Pearson 95 %). The full-rank
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
  (b) Per ``(model, c)``: the slope of ``C_hat / sqrt(log n)`` against ``log n`` must not be
  significantly above 0 (``trend_rule``, ``max_slope = 0``), ``C_hat`` being the LOWER
  estimate of ``sup_u C(K, u)``. Because it is a lower estimate, a FAIL is conclusive (the
  true supremum grows at least as fast) while a PASS only says that the directions found do
  not grow faster than ``sqrt(log n)``.
* **P13** (Prop 4.3 / Thm 4.4). (a) Hard inequalities on the worst direction of every
  point: ``C(K, u) <= 2 Z(u) + 1`` and ``C(K, u) <= Z(u) + 1`` (tolerance
  :data:`P13_RTOL`). (b) Per ``(model, c)``: slope of ``max_u Z / sqrt(log n)`` against
  ``log n`` not significantly above 0. Points whose SOCPs did not all solve to optimality
  are excluded from (a) and reported; PASS is then downgraded to INCONCLUSIVE.

Combination: FAIL if any part fails; NOT-RUN if no part could run; INCONCLUSIVE if a part
is inconclusive or did not run, or if points failed; PASS otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness.instances import make_rng
from harness.predictions import CheckResult, register_check
from harness.predictions.rules import (
    SlopeEstimate,
    binomial_rule,
    hard_inequality,
    slope_ci,
    trend_rule,
    usable_rows,
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
#: Bootstrap resamples of the slope intervals.
N_BOOT = 2000
_RULE_SEED = 20240611  # fixed: a verdict must not change between two runs of `harness check`


# --------------------------------------------------------------------------- helpers
def _rng() -> np.random.Generator:
    return make_rng(_RULE_SEED)


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def _label(keys: Sequence[str], values: Any) -> str:
    vals = values if isinstance(values, tuple) else (values,)
    names = ["c" if k == "c_key" else k for k in keys]
    return ", ".join(f"{k}={_fmt(v)}" for k, v in zip(names, vals))


def _groups(df: pd.DataFrame, keys: list[str]) -> list[tuple[tuple[Any, ...], pd.DataFrame]]:
    if not keys:
        return [((), df)]
    return [
        (k if isinstance(k, tuple) else (k,), g)
        for k, g in df.groupby(keys, sort=True, dropna=False)
    ]


def _present(df: pd.DataFrame, candidates: Sequence[str]) -> list[str]:
    return [c for c in candidates if c in df.columns and df[c].notna().any()]


def _c_column(df: pd.DataFrame) -> pd.DataFrame:
    """A ``c_key`` column: the spec's ``c`` when present, else ``n/d`` rounded."""
    if "c" in df.columns and df["c"].notna().all():
        return df.assign(c_key=df["c"].astype(float))
    return df.assign(c_key=df["c_eff"].astype(float).round(6))


def _combine(
    parts: Sequence[CheckResult], measured: str, predicted: str, info: dict[str, Any]
) -> CheckResult:
    """FAIL > (NOT-RUN for all) > INCONCLUSIVE (or NOT-RUN part, failed points) > PASS."""
    verdicts = [p.verdict for p in parts]
    details = {**info, "parts": [{"verdict": p.verdict, **p.details} for p in parts]}
    text = "; ".join(p.explanation for p in parts)
    if "FAIL" in verdicts:
        return CheckResult("FAIL", measured, predicted, text, details)
    if all(v == "NOT-RUN" for v in verdicts):
        return CheckResult("NOT-RUN", measured, predicted, text, details)
    if "INCONCLUSIVE" in verdicts or "NOT-RUN" in verdicts:
        return CheckResult("INCONCLUSIVE", measured, predicted, text, details)
    if info.get("n_failed_points", 0):
        return CheckResult(
            "INCONCLUSIVE",
            measured,
            predicted,
            f"{info['n_failed_points']} point(s) failed (see details); otherwise: {text}",
            details,
        )
    return CheckResult("PASS", measured, predicted, text, details)


def _part(verdict: str, explanation: str, **details: Any) -> CheckResult:
    return CheckResult(verdict, "", "", explanation, details)


def _group_verdicts(name: str, entries: list[dict[str, Any]], empty_reason: str) -> CheckResult:
    """One part from per-group verdicts (each entry has ``verdict`` and ``group``)."""
    if not entries:
        return _part("NOT-RUN", f"{name}: {empty_reason}", groups=[])
    vs = [e["verdict"] for e in entries]
    bad = [e["group"] for e in entries if e["verdict"] == "FAIL"]
    unsure = [e["group"] for e in entries if e["verdict"] in ("INCONCLUSIVE", "NOT-RUN")]
    if bad:
        return _part("FAIL", f"{name}: fails for {bad}", groups=entries)
    if unsure and len(unsure) == len(vs) and all(v == "NOT-RUN" for v in vs):
        return _part("NOT-RUN", f"{name}: {empty_reason}", groups=entries)
    if unsure:
        return _part("INCONCLUSIVE", f"{name}: undecided for {unsure}", groups=entries)
    return _part("PASS", f"{name}: holds in all {len(vs)} groups", groups=entries)


def _increasing_rule(est: SlopeEstimate) -> str:
    """Claim "slope > 0": PASS if the interval is above 0, FAIL if below, else INCONCLUSIVE."""
    if not np.isfinite(est.slope):
        return "NOT-RUN"
    if est.low > 0:
        return "PASS"
    if est.high < 0:
        return "FAIL"
    return "INCONCLUSIVE"


def _slope_entry(label: str, est: SlopeEstimate, verdict: str, **extra: Any) -> dict[str, Any]:
    return {
        "group": label,
        "verdict": verdict,
        "slope": est.slope,
        "ci_low": est.low,
        "ci_high": est.high,
        "n_points": est.n_points,
        **extra,
    }


def _binomial_part(
    name: str, df: pd.DataFrame, success: str, level_of_delta: Any, empty_reason: str
) -> CheckResult:
    """Per-``delta_used`` binomial rule on the boolean column ``success``."""
    entries = []
    for key, g in _groups(df, ["delta_used"]):
        delta = float(key[0])
        level = float(level_of_delta(delta))
        ok = int(g[success].astype(bool).sum())
        res = binomial_rule(ok, len(g), level, measured=name, predicted=f">= {level:g}")
        entries.append(
            {
                "group": f"delta={delta:g}",
                "verdict": res.verdict,
                "level": level,
                **res.details,
                "text": res.explanation,
            }
        )
    part = _group_verdicts(name, entries, empty_reason)
    if part.verdict in ("PASS", "FAIL") and entries:
        texts = "; ".join(f"{e['group']}: {e['text']}" for e in entries)
        return _part(part.verdict, f"{name}: {texts}", groups=entries)
    return part


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
        "per c: bootstrap 95% CI of the slope of log kappa vs log d not entirely above 0; "
        "per d: CI of the slope of log kappa vs log c entirely above 0; heuristic reported only"
    ),
)
def check_p4(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P4, THEORY.md Thm 3.9 / Cor 3.10: decision rule in the module docstring."""
    measured = "kappa = ||X||_2^2 / lambda_min(Sigma) against d (fixed c) and c (fixed d)"
    predicted = "bounded in d (slope of log kappa vs log d <= 0); increasing in c"
    df, reason, info = usable_rows(tables, "kappa", ("kappa", "c_eff", "kappa_heuristic"))
    if df is None or "d" not in df.columns:
        return CheckResult("NOT-RUN", measured, predicted, reason or "no column 'd'", info)
    df = _c_column(df)
    kap = df["kappa"].to_numpy(dtype=float)
    n_inf = int(np.sum(~np.isfinite(kap)))
    info["n_infinite_kappa"] = n_inf
    rng = _rng()
    # (a) bounded in d
    entries_a = []
    heur = []
    for key, g in _groups(df, ["c_key"]):
        label = f"c={key[0]:g}"
        gk = g["kappa"].to_numpy(dtype=float)
        if np.any(~np.isfinite(gk)):
            entries_a.append({"group": label, "verdict": "FAIL", "reason": "infinite kappa"})
            continue
        est = slope_ci(np.log(g["d"].to_numpy(dtype=float)), np.log(gk), n_boot=N_BOOT, rng=rng)
        res = trend_rule(est, 0.0, measured=measured, predicted=predicted)
        big = g[g["d"] == g["d"].max()]
        ratio = float((big["kappa"] / big["kappa_heuristic"]).median())
        heur.append({"c": float(key[0]), "d_max": int(g["d"].max()), "kappa_over_level": ratio})
        entries_a.append(
            _slope_entry(label, est, res.verdict, median_kappa_at_dmax=float(big["kappa"].median()))
        )
    part_a = _group_verdicts("bounded in d", entries_a, "fewer than 3 rows per c")
    # (b) grows with c
    entries_b = []
    for key, g in _groups(df, ["d"]):
        if g["c_key"].nunique() < 3:
            continue
        gk = g["kappa"].to_numpy(dtype=float)
        ok = np.isfinite(gk)
        est = slope_ci(
            np.log(g["c_key"].to_numpy(dtype=float)[ok]), np.log(gk[ok]), n_boot=N_BOOT, rng=rng
        )
        entries_b.append(_slope_entry(f"d={_fmt(key[0])}", est, _increasing_rule(est)))
    part_b = _group_verdicts("increasing in c", entries_b, "no d with >= 3 values of c")
    info["heuristic_level"] = heur
    res = _combine([part_a, part_b], measured, predicted, info)
    if heur:
        lo = min(h["kappa_over_level"] for h in heur)
        hi = max(h["kappa_over_level"] for h in heur)
        res = CheckResult(
            res.verdict,
            res.measured,
            res.predicted,
            f"{res.explanation}; kappa / 4(1+sqrt c)^2 at the largest d: {lo:.2f}-{hi:.2f} "
            "(heuristic, not judged)",
            res.details,
        )
    return res


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
    df, reason, info = usable_rows(tables, "maxcut", ("gamma_all_sq", "maxcut_value"))
    if df is None:
        return CheckResult("NOT-RUN", measured, predicted, reason, info)
    main = hard_inequality(
        df["gamma_all_sq"], df["maxcut_value"], rtol=P7_RTOL, measured=measured, predicted=predicted
    )
    parts = [_part(main.verdict, f"gamma^2 <= MAX-CUT: {main.explanation}", **main.details)]
    if {"maxcut_exact", "maxcut_sdp_upper", "maxcut_sdp_lower"} <= set(df.columns):
        both = df[np.isfinite(df["maxcut_exact"].astype(float))]
        if len(both):
            sdp = hard_inequality(
                both["maxcut_exact"],
                both["maxcut_sdp_upper"],
                rtol=P7_RTOL,
                measured="",
                predicted="",
            )
            rnd = hard_inequality(
                both["maxcut_sdp_lower"],
                both["maxcut_exact"],
                rtol=P7_RTOL,
                measured="",
                predicted="",
            )
            parts.append(
                _part(sdp.verdict, f"exact <= SDP bound: {sdp.explanation}", **sdp.details)
            )
            parts.append(_part(rnd.verdict, f"rounding <= exact: {rnd.explanation}", **rnd.details))
    if "gamma_is_exact" in df.columns:
        info["n_gamma_exact"] = int(df["gamma_is_exact"].astype(bool).sum())
        info["n_gamma_lower_estimate"] = int((~df["gamma_is_exact"].astype(bool)).sum())
    if "maxcut_method" in df.columns:
        info["n_by_maxcut_method"] = {
            str(k): int(v) for k, v in df["maxcut_method"].value_counts().items()
        }
        tight = (df["gamma_all_sq"] / df["maxcut_value"]).astype(float)
        info["median_tightness_by_method"] = {
            str(k): float(tight[df["maxcut_method"] == k].median())
            for k in df["maxcut_method"].unique()
        }
    if "sdp_status" in df.columns:
        info["n_sdp_not_optimal"] = int((df["sdp_status"] != "optimal").sum())
    return _combine(parts, measured, predicted, info)


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
    rule="Clopper-Pearson 95% interval of each frequency not entirely below 1 - delta",
)
def check_p8(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P8, THEORY.md Prop 3.2 / Cor 3.3: decision rule in the module docstring."""
    measured = "frequency of rank n and of a zero beta -> 0 value at P >= 8 kappa log(n/delta)"
    predicted = ">= 1 - delta"
    df, reason, info = usable_rows(
        tables, "chernoff_rank", ("at_threshold", "full_rank", "interp_residual_rel", "delta_used")
    )
    if df is None:
        return CheckResult("NOT-RUN", measured, predicted, reason, info)
    at = df[df["at_threshold"].astype(bool)]
    at = at.assign(zero_value=at["interp_residual_rel"].astype(float) <= P8_RESIDUAL_TOL)
    empty = "no point reaches P >= 8 kappa log(n/delta)"
    part_rank = _binomial_part("rank n", at, "full_rank", lambda dl: 1 - dl, empty)
    part_zero = _binomial_part("beta->0 value 0", at, "zero_value", lambda dl: 1 - dl, empty)
    keys = _present(df, ("n", "d", "P_mult"))
    info["transition"] = [
        {
            "group": _label(keys, k),
            "median_P_over_kappa_log_n": float(g["P_over_kappa_log_n"].median())
            if "P_over_kappa_log_n" in g
            else math.nan,
            "freq_full_rank": float(g["full_rank"].astype(bool).mean()),
            "trials": len(g),
        }
        for k, g in _groups(df, keys)
    ]
    return _combine([part_rank, part_zero], measured, predicted, info)


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
    rule="Clopper-Pearson 95% interval of the success frequency not entirely below the level",
)
def check_p9(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P9, THEORY.md Lemma A.1: decision rule in the module docstring."""
    measured = "frequency of lambda_min(S_bar)/lambda_min(Sigma) >= 1/2"
    predicted = ">= 1 - delta at P >= 8 kappa log(n/delta); >= 1 - n exp(-P/(8 kappa)) at every P"
    df, reason, info = usable_rows(
        tables,
        "chernoff_rank",
        ("at_threshold", "chernoff_ok", "chernoff_failure_bound", "delta_used"),
    )
    if df is None:
        return CheckResult("NOT-RUN", measured, predicted, reason, info)
    at = df[df["at_threshold"].astype(bool)]
    part_a = _binomial_part(
        "ratio >= 1/2 at threshold",
        at,
        "chernoff_ok",
        lambda dl: 1 - dl,
        "no point reaches P >= 8 kappa log(n/delta)",
    )
    keys = _present(df, ("n", "d", "P_mult" if "P_mult" in df.columns else "P"))
    entries = []
    for k, g in _groups(df, keys):
        bound = float(g["chernoff_failure_bound"].astype(float).mean())
        if not bound < 1.0:
            continue
        ok = int(g["chernoff_ok"].astype(bool).sum())
        res = binomial_rule(ok, len(g), 1.0 - bound, measured="", predicted="")
        entries.append(
            {"group": _label(keys, k), "verdict": res.verdict, "mean_bound": bound, **res.details}
        )
    part_b = _group_verdicts(
        "Chernoff bound at every P", entries, "no group with a non-trivial bound (< 1)"
    )
    if "chernoff_ratio" in df.columns and len(at):
        info["min_ratio_at_threshold"] = float(at["chernoff_ratio"].astype(float).min())
        info["median_ratio_at_threshold"] = float(at["chernoff_ratio"].astype(float).median())
    return _combine([part_a, part_b], measured, predicted, info)


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
        "Clopper-Pearson 95% on the bracket frequency at P >= 8 kappa log(n/delta); per setting "
        "bootstrap CI of the slope of log(p_ridge/p_conc) vs log P not entirely above 0.25"
    ),
)
def check_p10(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P10, THEORY.md Thm 3.4: decision rule in the module docstring."""
    measured = "p_ridge(P) vs p_conc(P) = beta/2 y^T (P Sigma + beta I)^{-1} y"
    predicted = "inside the c1 = 1/2, c2 = 2 bracket w.p. >= 1 - 2 delta; no plateau"
    df, reason, info = usable_rows(
        tables,
        "ridge",
        ("at_threshold", "in_bracket", "p_ridge", "p_conc", "P_used", "delta_used"),
    )
    if df is None:
        return CheckResult("NOT-RUN", measured, predicted, reason, info)
    at = df[df["at_threshold"].astype(bool)]
    part_a = _binomial_part(
        "bracket",
        at,
        "in_bracket",
        lambda dl: max(0.0, 1 - 2 * dl),
        "no row reaches P >= 8 kappa log(n/delta)",
    )
    keys = _present(df, ("n", "d", "beta", "beta_rel"))
    rng = _rng()
    entries = []
    for k, g in _groups(at, keys):
        if g["P_used"].nunique() < 3:
            continue
        x = np.log(g["P_used"].to_numpy(dtype=float))
        ratio = (g["p_ridge"] / g["p_conc"]).to_numpy(dtype=float)
        clusters = g["cache_key"].to_numpy() if "cache_key" in g.columns else None
        est = slope_ci(x, np.log(ratio), clusters=clusters, n_boot=N_BOOT, rng=rng)
        res = trend_rule(est, P10_MAX_DRIFT, measured="", predicted="")
        slope_ridge = float(np.polyfit(x, np.log(g["p_ridge"].to_numpy(dtype=float)), 1)[0])
        slope_conc = float(np.polyfit(x, np.log(g["p_conc"].to_numpy(dtype=float)), 1)[0])
        big = g[g["P_used"] == g["P_used"].max()]
        entries.append(
            _slope_entry(
                _label(keys, k),
                est,
                res.verdict,
                slope_log_p_ridge=slope_ridge,
                slope_log_p_conc=slope_conc,
                median_ratio_at_Pmax=float((big["p_ridge"] / big["p_conc"]).median()),
            )
        )
    part_b = _group_verdicts(
        "no plateau", entries, "no setting with >= 3 values of P at the threshold"
    )
    return _combine([part_a, part_b], measured, predicted, info)


# --------------------------------------------------------------------------- P11 / P13
def _sqrt_log_trend(
    df: pd.DataFrame, column: str, name: str, rng: np.random.Generator
) -> CheckResult:
    """Per (model, c): slope of ``column`` against ``log n`` not significantly above 0."""
    keys = _present(df, ("model", "c_key"))
    entries = []
    for k, g in _groups(df, keys):
        n = g["n"].to_numpy(dtype=float)
        y = g[column].to_numpy(dtype=float)
        if len(np.unique(n)) < 3:
            continue
        est = slope_ci(np.log(n), y, n_boot=N_BOOT, rng=rng)
        res = trend_rule(est, 0.0, measured="", predicted="")
        med = g.groupby("n")[column].median()
        entries.append(
            _slope_entry(
                _label(keys, k),
                est,
                res.verdict,
                median_by_n={str(int(i)): float(v) for i, v in med.items()},
            )
        )
    return _group_verdicts(name, entries, "no (model, c) with >= 3 values of n")


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
        "of C_hat/sqrt(log n) vs log n not entirely above 0 (PASS is weak: C_hat is a lower estimate)"
    ),
)
def check_p11(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P11, THEORY.md Def 4.1 / Cor 4.5: decision rule in the module docstring."""
    measured = "C_hat = max over searched directions of C(K, u) (lower estimate of the sup)"
    predicted = "C >= 1 and C_hat / sqrt(log n) bounded in n at fixed c"
    df, reason, info = usable_rows(
        tables, "sharpness", ("C_sup_lower_est", "C_min", "C_over_sqrt_log_n", "c_eff")
    )
    if df is None or "n" not in df.columns:
        return CheckResult("NOT-RUN", measured, predicted, reason or "no column 'n'", info)
    df = _c_column(df)
    good = df  # as in P13: the hard part uses only points whose SOCPs were solved
    if "sharp_status" in df.columns:
        bad = df["sharp_status"] != "optimal"
        info["n_not_optimal"] = int(bad.sum())
        good = df[~bad]
    ones = np.ones(len(good))
    ge1 = hard_inequality(ones, good["C_min"], rtol=P11_RTOL, measured="", predicted="")
    part_a = _part(ge1.verdict, f"C(K, u) >= 1: {ge1.explanation}", **ge1.details)
    part_b = _sqrt_log_trend(df, "C_over_sqrt_log_n", "C_hat/sqrt(log n) trend", _rng())
    res = _combine([part_a, part_b], measured, predicted, info)
    if res.verdict == "PASS" and info.get("n_not_optimal", 0):
        res = CheckResult(
            "INCONCLUSIVE",
            measured,
            predicted,
            f"{info['n_not_optimal']} point(s) with non-optimal SOCPs excluded; {res.explanation}",
            res.details,
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
        "Z_max/sqrt(log n) vs log n not entirely above 0"
    ),
)
def check_p13(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P13, THEORY.md Prop 4.3 / Thm 4.4: decision rule in the module docstring."""
    measured = "C(K, u) vs Z(u) per direction; Z_max / sqrt(log n)"
    predicted = "C <= 2Z + 1 and C <= Z + 1 everywhere; Z_max = O(sqrt(log n))"
    df, reason, info = usable_rows(
        tables,
        "sharpness",
        (
            "C_worst_2Z1",
            "rhs_worst_2Z1",
            "C_worst_Z1",
            "rhs_worst_Z1",
            "Z_over_sqrt_log_n",
            "c_eff",
        ),
    )
    if df is None or "n" not in df.columns:
        return CheckResult("NOT-RUN", measured, predicted, reason or "no column 'n'", info)
    df = _c_column(df)
    good = df
    if "sharp_status" in df.columns:
        bad = df["sharp_status"] != "optimal"
        info["n_not_optimal"] = int(bad.sum())
        good = df[~bad]
    for col in ("n_viol_2Z1", "n_viol_Z1", "n_dirs_checked"):
        if col in good.columns:
            info[f"total_{col}"] = int(good[col].sum())
    parts = []
    for lhs, rhs, name in (
        ("C_worst_2Z1", "rhs_worst_2Z1", "C <= 2Z + 1"),
        ("C_worst_Z1", "rhs_worst_Z1", "C <= Z + 1"),
    ):
        res = hard_inequality(good[lhs], good[rhs], rtol=P13_RTOL, measured="", predicted="")
        parts.append(_part(res.verdict, f"{name}: {res.explanation}", **res.details))
    parts.append(_sqrt_log_trend(df, "Z_over_sqrt_log_n", "Z_max/sqrt(log n) trend", _rng()))
    res = _combine(parts, measured, predicted, info)
    if res.verdict == "PASS" and info.get("n_not_optimal", 0):
        res = CheckResult(
            "INCONCLUSIVE",
            measured,
            predicted,
            f"{info['n_not_optimal']} point(s) with non-optimal SOCPs excluded; {res.explanation}",
            res.details,
        )
    return res
