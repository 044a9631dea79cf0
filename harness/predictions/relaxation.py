"""Checks P1 P2 P3 P5 P6 P12 P14 P16 P17: the relaxation experiments, THEORY.md "Testable predictions".

Inputs are the tables of the kinds of :mod:`harness.kinds.relaxation`: ``relaxation_width``
(P3), ``relaxation_gap`` (P1 P2 P5 P6 P12 P14 P17) and ``stationary`` (P16). Every check
drops failed points and counts them (``n_failed_points``), uses only solves whose status
is ``optimal`` and counts the others (``n_excluded_*``); nothing is dropped silently.

Decision rules (our reading of the claims; thresholds are module constants):

* **Hard inequalities** (P2, P3, P12, P14, the hard parts of P1 P5 P6 P16):
  :func:`harness.predictions.rules.hard_inequality` with ``rtol`` :data:`HARD_RTOL` and
  ``atol`` :data:`HARD_ATOL` (solver tolerance 1e-8 plus margin); any violation FAILS.
* **Ratios against p_u** (P5, P6): ``p_u`` is exact only when the arrangement was
  enumerated. On the other rows only ``p_u_lower`` is certified, so ``p_gated / p_u_lower``
  is an UPPER bound on the ratio: a row where it is below the bound holds for the whole
  bracket; a row where it is above is undecided (INCONCLUSIVE, never FAIL).
* **Preconditions** (P5): Thm 3.8 needs ``P >= 8 kappa log(n/delta)``. Rows whose rule was
  capped (``P_capped``) do not meet it; because the pattern sets are nested, a ratio that
  satisfies the bound at the capped ``P`` also satisfies it at the rule's ``P`` for the
  same draw, so a capped row that holds counts as holding, and a capped row that violates
  the bound is INCONCLUSIVE, not FAIL.
* **Scaling claims** (P1, P5, P16): for every ``c`` (and labels / beta_rel / method when
  they vary) with at least 3 distinct ``n``, the least-squares slope against the log of
  ``n`` (or ``sqrt(log 2n)``) with a 95 % seed-cluster bootstrap interval
  (:func:`~harness.predictions.rules.slope_ci`) and
  :func:`~harness.predictions.rules.trend_rule` with maximum slope 0 ("no significant
  upward trend"). Where p* is only bracketed, the statistic is computed at both ends and
  combined with :func:`~harness.predictions.rules.bracket_rule` (worst end: the certified
  lower end of p*, i.e. ``R_cert``; best end: ``R_est``), as the brief prescribes. Groups
  with fewer than 3 values of ``n`` are listed and skipped; if no group can be evaluated
  the scaling part is NOT-RUN.
* **Combining parts**: FAIL if any part fails; NOT-RUN if no part could be evaluated;
  INCONCLUSIVE if any part is inconclusive or could not be evaluated; else PASS.
* **P17** (sanity): log-log slope of the ReLU solve time against ``d * P_unique`` with a
  bootstrap interval, ``<= 3``; a FAIL of the trend rule is downgraded to INCONCLUSIVE
  when the fit is noisy (``R^2 <`` :data:`P17_MIN_R2`) or the sizes span less than
  :data:`P17_MIN_DECADES` decades.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness.predictions import CheckResult, register_check
from harness.predictions.rules import (
    bracket_rule,
    hard_inequality,
    slope_ci,
    trend_rule,
    usable_rows,
)

#: Relative and absolute slack of the hard inequalities (solver tolerance 1e-8 + margin).
HARD_RTOL = 1e-6
HARD_ATOL = 1e-9
#: P14: largest relative difference between (1) at the mapped weights and the convex optimum.
P14_RTOL = 1e-6
#: P16: a run counts as at a stationary point of the Wang et al. kind when
#: ``(L - p_cvx(D')) / L <=`` this.
P16_STATIONARY_RTOL = 1e-3
#: P17: predicted maximum exponent of time in ``d * P`` (Thm 2.3, O(d^3 P^3)).
P17_MAX_EXPONENT = 3.0
P17_MIN_R2 = 0.5
P17_MIN_DECADES = 1.0
#: Fewest distinct ``n`` for a slope.
MIN_N_VALUES = 3
#: Bootstrap resamples of the slope intervals.
N_BOOT = 1000

_RULE_SEED = 20240704  # fixed: a verdict must not change between two runs of `harness check`
_GROUP_CANDIDATES = ("labels", "beta_rel", "beta", "method_used", "methods")


# --------------------------------------------------------------------------- helpers
def _optimal(df: pd.DataFrame, status_cols: Sequence[str]) -> np.ndarray:
    """Mask of rows whose every listed status column is ``"optimal"`` (absent columns pass)."""
    mask = np.ones(len(df), dtype=bool)
    for col in status_cols:
        if col in df.columns:
            mask &= (df[col] == "optimal").to_numpy()
    return mask


def _arr(df: pd.DataFrame, col: str) -> np.ndarray:
    return df[col].to_numpy(dtype=float)


def _c_values(df: pd.DataFrame) -> pd.Series:
    """The ``c = n / d`` of each row (the spec's ``c`` when present, else ``n / d``)."""
    if "c" in df.columns and df["c"].notna().all():
        return df["c"].astype(float).round(6)
    if "c_eff" in df.columns:
        return df["c_eff"].astype(float).round(6)
    return (df["n"].astype(float) / df["d"].astype(float)).round(6)


def _group_keys(df: pd.DataFrame) -> list[str]:
    return [c for c in _GROUP_CANDIDATES if c in df.columns and df[c].nunique(dropna=True) > 1]


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def _hard(
    lhs: np.ndarray, rhs: np.ndarray, what: str, measured: str, predicted: str
) -> CheckResult:
    res = hard_inequality(
        lhs, rhs, rtol=HARD_RTOL, atol=HARD_ATOL, measured=measured, predicted=predicted
    )
    return CheckResult(
        res.verdict, measured, predicted, res.explanation, {"what": what, **res.details}
    )


def _combine_parts(
    parts: Sequence[tuple[str, CheckResult]],
    measured: str,
    predicted: str,
    details: dict[str, Any],
    notes: Sequence[str] = (),
) -> CheckResult:
    """FAIL > NOT-RUN (all) > INCONCLUSIVE (any, or a part not run) > PASS."""
    details = {**details, "parts": {name: {"verdict": r.verdict, **r.details} for name, r in parts}}
    verdicts = [r.verdict for _, r in parts]
    text = "; ".join(f"{name}: {r.explanation}" for name, r in parts)
    if notes:
        text += " (" + "; ".join(notes) + ")"
    if "FAIL" in verdicts:
        failed = ", ".join(name for name, r in parts if r.verdict == "FAIL")
        return CheckResult("FAIL", measured, predicted, f"fails [{failed}]: {text}", details)
    if all(v == "NOT-RUN" for v in verdicts):
        return CheckResult("NOT-RUN", measured, predicted, text, details)
    if any(v != "PASS" for v in verdicts):
        return CheckResult("INCONCLUSIVE", measured, predicted, text, details)
    return CheckResult("PASS", measured, predicted, text, details)


def _combine_groups(
    groups: Sequence[tuple[str, CheckResult]], measured: str, predicted: str
) -> CheckResult:
    """Across groups: NOT-RUN groups are listed and skipped (NOT-RUN only if all are)."""
    evaluated = [(g, r) for g, r in groups if r.verdict != "NOT-RUN"]
    skipped = [g for g, r in groups if r.verdict == "NOT-RUN"]
    details: dict[str, Any] = {
        "groups": [{"group": g, "verdict": r.verdict, **_flat(r.details)} for g, r in groups],
        "groups_skipped": skipped,
    }
    if not evaluated:
        return CheckResult(
            "NOT-RUN",
            measured,
            predicted,
            f"no group with >= {MIN_N_VALUES} distinct n",
            details,
        )
    text = "; ".join(f"[{g}] {r.explanation}" for g, r in evaluated)
    if skipped:
        text += f" ({len(skipped)} group(s) with < {MIN_N_VALUES} distinct n skipped)"
    verdicts = [r.verdict for _, r in evaluated]
    verdict = (
        "FAIL" if "FAIL" in verdicts else "INCONCLUSIVE" if "INCONCLUSIVE" in verdicts else "PASS"
    )
    return CheckResult(verdict, measured, predicted, text, details)


def _flat(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update({f"{k}_{kk}": vv for kk, vv in v.items()})
        else:
            out[k] = v
    return out


def _trend(
    x: np.ndarray,
    y: np.ndarray,
    clusters: np.ndarray,
    max_slope: float,
    measured: str,
    predicted: str,
    rng: np.random.Generator,
) -> CheckResult:
    keep = np.isfinite(x) & np.isfinite(y)
    est = slope_ci(x[keep], y[keep], clusters=clusters[keep], n_boot=N_BOOT, rng=rng)
    return trend_rule(est, max_slope, measured=measured, predicted=predicted)


def _scaling_groups(
    df: pd.DataFrame,
    worst_col: str,
    best_col: str,
    xfun: str,
    measured: str,
    predicted: str,
    extra_keys: Sequence[str] = (),
    unmet_col: str | None = None,
) -> CheckResult:
    """Slope of ``worst``/``best`` columns against ``log n`` or ``sqrt(log 2n)`` per ``c``
    group, bracket-combined (module docstring).

    ``unmet_col`` names a boolean column flagging rows where the theorem's precondition is
    not met (capped pattern rule, too narrow network); a FAIL of a group holding such rows
    is reported as INCONCLUSIVE.
    """
    rng = np.random.default_rng(_RULE_SEED)
    work = df.assign(_c=_c_values(df))
    keys = ["_c", *_group_keys(work), *[k for k in extra_keys if k in work.columns]]
    keys = list(dict.fromkeys(keys))
    groups: list[tuple[str, CheckResult]] = []
    clusters_col = "seed_index" if "seed_index" in work.columns else None
    for key, g in work.groupby(keys, sort=True, dropna=False):
        vals = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{'c' if k == '_c' else k}={_fmt(v)}" for k, v in zip(keys, vals))
        n = _arr(g, "n")
        if np.unique(n[np.isfinite(n)]).size < MIN_N_VALUES:
            groups.append((label, CheckResult("NOT-RUN", measured, predicted, "too few n")))
            continue
        x = np.log(n) if xfun == "log_n" else np.sqrt(np.log(2.0 * n))
        cl = g[clusters_col].to_numpy() if clusters_col else np.arange(len(g))
        worst = _trend(x, _arr(g, worst_col), cl, 0.0, measured, predicted, rng)
        best = _trend(x, _arr(g, best_col), cl, 0.0, measured, predicted, rng)
        res = worst if worst_col == best_col else bracket_rule(worst, best)
        if res.verdict == "FAIL" and unmet_col is not None and unmet_col in g:
            k = int(g[unmet_col].astype(bool).sum())
            if k:
                res = CheckResult(
                    "INCONCLUSIVE",
                    measured,
                    predicted,
                    f"{res.explanation}; precondition not met on {k} of {len(g)} rows, "
                    "so not a failure of the claim",
                    res.details,
                )
        groups.append((label, res))
    return _combine_groups(groups, measured, predicted)


# --------------------------------------------------------------------------- P1
@register_check(
    "P1",
    title="Relative gap R = p~*/p* grows at most like sqrt(log 2n)",
    claim=(
        "With P >= 8 kappa log(n/delta) sampled patterns the Gaussian relaxation (3) is within a "
        "factor C sqrt(log 2n) of p* under (A1) at fixed c = n/d."
    ),
    source="Thm 2.1 / D.1 (THEORY.md §A6)",
    experiments=("relaxation_gap",),
    measured="R_cert = p_relu/pstar_lower and R_est = p_relu/pstar_upper against n at fixed c (rule rows)",
    predicted="R >= 1; R / sqrt(log 2n) has no significant upward trend in log n",
    rule=(
        "hard: pstar_lower <= p_relu (R_cert >= 1); per c with >= 3 n: slope of R/sqrt(log 2n) "
        "vs log n, seed-cluster bootstrap 95% CI, trend_rule(max 0) at R_cert (worst) and R_est "
        "(best), bracket_rule"
    ),
)
def check_p1(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P1, THEORY.md Thm 2.1: decision rule in the module docstring."""
    measured = "R / sqrt(log 2n) against log n (R_cert and R_est), P by the Chernoff rule"
    predicted = "R >= 1 and no significant upward trend of R / sqrt(log 2n)"
    need = ("n", "P_mode", "p_relu", "pstar_lower", "pstar_upper", "R_cert", "R_est")
    df, reason, info = usable_rows(tables, "relaxation_gap", need)
    if df is None:
        return CheckResult("NOT-RUN", measured, predicted, reason, info)
    rule = df[df["P_mode"] == "rule"]
    if rule.empty:
        return CheckResult("NOT-RUN", measured, predicted, "no rows with P_mode == 'rule'", info)
    ok = _optimal(rule, ("status_relu",))
    use = rule[ok]
    details: dict[str, Any] = {
        **info,
        "n_rows": len(rule),
        "n_excluded_nonoptimal": int((~ok).sum()),
        "n_capped": int(use["P_capped"].astype(bool).sum()) if "P_capped" in use else 0,
        "n_zero_lower": int((_arr(use, "pstar_lower") <= 0).sum()),
        "n_exact_pstar": int(use["pstar_exact"].astype(bool).sum()) if "pstar_exact" in use else 0,
    }
    if use.empty:
        return CheckResult("NOT-RUN", measured, predicted, "no optimal ReLU solve", details)
    hard = _hard(
        _arr(use, "pstar_lower"), _arr(use, "p_relu"), "pstar_lower <= p_relu", measured, predicted
    )
    sl = np.sqrt(np.log(2.0 * _arr(use, "n")))
    scaled = use.assign(_w=_arr(use, "R_cert") / sl, _b=_arr(use, "R_est") / sl)
    trend = _scaling_groups(scaled, "_w", "_b", "log_n", measured, predicted, unmet_col="P_capped")
    fixed = df[(df["P_mode"] == "fixed") & _optimal(df, ("status_relu",))]
    if not fixed.empty:  # informational: Thm 2.1 does not cover a fixed P
        slf = np.sqrt(np.log(2.0 * _arr(fixed, "n")))
        info_fixed = _scaling_groups(
            fixed.assign(_w=_arr(fixed, "R_cert") / slf, _b=_arr(fixed, "R_est") / slf),
            "_w",
            "_b",
            "log_n",
            measured,
            predicted,
        )
        details["fixed_P_trend"] = {"verdict": info_fixed.verdict, "text": info_fixed.explanation}
    details["median_R_cert"] = float(np.nanmedian(_arr(use, "R_cert")))
    details["median_R_est"] = float(np.nanmedian(_arr(use, "R_est")))
    notes = []
    if details["n_capped"]:
        notes.append(f"{details['n_capped']} row(s) with the rule capped at P_cap")
    if details["n_excluded_nonoptimal"]:
        notes.append(f"{details['n_excluded_nonoptimal']} non-optimal solve(s) excluded")
    if info["n_failed_points"]:
        notes.append(f"{info['n_failed_points']} failed point(s)")
    return _combine_parts([("R >= 1", hard), ("trend", trend)], measured, predicted, details, notes)


# --------------------------------------------------------------------------- P2
@register_check(
    "P2",
    title="Orderings p_u <= p* <= p~*, p~_u <= p~*",
    claim="The relaxations order as p_u <= p* <= p~* and p~_u <= p~* (fewer constraints, fewer patterns).",
    source="§A2 orderings (proof D.1)",
    experiments=("relaxation_gap",),
    measured="p_u (exact or certified lower), p* bracket, p_relu (3), p_gated (5) per row",
    predicted="every ordering holds up to solver tolerance",
    rule="hard inequalities, rtol 1e-6 / atol 1e-9; any violation fails; only optimal solves",
)
def check_p2(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P2, THEORY.md §A2: every ordering as a hard inequality."""
    measured = "orderings between p_u, pstar bracket, p_gated and p_relu"
    predicted = "p_u <= pstar_upper, pstar_lower <= p_relu, p_gated <= p_relu, p_u <= p_gated"
    need = ("p_relu", "p_gated", "pstar_lower", "pstar_upper", "p_u_exact", "p_u_lower")
    df, reason, info = usable_rows(tables, "relaxation_gap", need)
    if df is None:
        return CheckResult("NOT-RUN", measured, predicted, reason, info)
    relu_ok = _optimal(df, ("status_relu",))
    gated_ok = _optimal(df, ("status_gated",))
    both = relu_ok & gated_ok
    exact = np.isfinite(_arr(df, "p_u_exact")) & _optimal(df, ("status_pu",))
    a = {c: _arr(df, c) for c in need}
    comparisons = [
        ("p_u_exact <= pstar_upper", a["p_u_exact"][exact], a["pstar_upper"][exact]),
        ("p_u_lower <= pstar_upper", a["p_u_lower"], a["pstar_upper"]),
        ("pstar_lower <= pstar_upper", a["pstar_lower"], a["pstar_upper"]),
        ("pstar_lower <= p_relu", a["pstar_lower"][relu_ok], a["p_relu"][relu_ok]),
        ("p_gated <= p_relu", a["p_gated"][both], a["p_relu"][both]),
        ("p_u_exact <= p_gated", a["p_u_exact"][exact & gated_ok], a["p_gated"][exact & gated_ok]),
    ]
    parts = [(name, _hard(lhs, rhs, name, measured, predicted)) for name, lhs, rhs in comparisons]
    details = {
        **info,
        "n_rows": len(df),
        "n_excluded_relu": int((~relu_ok).sum()),
        "n_excluded_gated": int((~gated_ok).sum()),
        "n_p_u_exact": int(exact.sum()),
    }
    # comparisons with no rows (e.g. no enumerated p_u) are reported, not counted as a failure
    evaluated = [(n, r) for n, r in parts if r.verdict != "NOT-RUN"]
    details["comparisons_not_run"] = [n for n, r in parts if r.verdict == "NOT-RUN"]
    if not evaluated:
        return CheckResult("NOT-RUN", measured, predicted, "no comparable rows", details)
    notes = []
    if details["n_excluded_relu"] or details["n_excluded_gated"]:
        notes.append(
            f"non-optimal solves excluded: relu {details['n_excluded_relu']}, "
            f"gated {details['n_excluded_gated']}"
        )
    if info["n_failed_points"]:
        notes.append(f"{info['n_failed_points']} failed point(s)")
    return _combine_parts(evaluated, measured, predicted, details, notes)


# --------------------------------------------------------------------------- P3
def _point_ids(df: pd.DataFrame) -> pd.Series:
    for col in ("cache_key", "point_key"):
        if col in df.columns:
            return df[col].astype(str)
    keys = [c for c in ("n", "d", "c", "beta_rel", "beta", "labels", "seed_index") if c in df]
    return df[keys].astype(str).agg("|".join, axis=1)


@register_check(
    "P3",
    title="Relaxation objectives are non-increasing in nested P",
    claim="On nested pattern sets p~*(P) and p~_u(P) are non-increasing in P, converging to p* / p_u.",
    source="monotonicity (§A2: more patterns, larger feasible set)",
    experiments=("relaxation_width",),
    measured="p_relu and p_gated at consecutive P of each nested list",
    predicted="p(P_{k+1}) <= p(P_k); pstar_lower <= p_relu(P)",
    rule="hard inequalities between consecutive optimal solves, rtol 1e-6 / atol 1e-9",
)
def check_p3(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P3, THEORY.md "Testable predictions": consecutive nested P as hard inequalities."""
    measured = "p_relu, p_gated at consecutive nested P (per point)"
    predicted = "non-increasing in P; above the certified lower end of p*"
    need = ("P_sampled", "p_relu", "p_gated", "pstar_lower")
    df, reason, info = usable_rows(tables, "relaxation_width", need)
    if df is None:
        return CheckResult("NOT-RUN", measured, predicted, reason, info)
    df = df.assign(_pid=_point_ids(df)).sort_values(["_pid", "P_sampled"])
    pairs: dict[str, tuple[list[float], list[float]]] = {"p_relu": ([], []), "p_gated": ([], [])}
    skipped = 0
    for _, g in df.groupby("_pid", sort=False):
        for col, status in (("p_relu", "status_relu"), ("p_gated", "status_gated")):
            ok = _optimal(g, (status,))
            vals = _arr(g, col)
            for k in range(len(g) - 1):
                if ok[k] and ok[k + 1]:
                    pairs[col][0].append(vals[k + 1])
                    pairs[col][1].append(vals[k])
                else:
                    skipped += 1
    relu_ok = _optimal(df, ("status_relu",))
    parts = [
        (
            f"{col}(P_k+1) <= {col}(P_k)",
            _hard(np.asarray(lhs), np.asarray(rhs), f"{col} non-increasing", measured, predicted),
        )
        for col, (lhs, rhs) in pairs.items()
    ]
    parts.append(
        (
            "pstar_lower <= p_relu",
            _hard(
                _arr(df, "pstar_lower")[relu_ok],
                _arr(df, "p_relu")[relu_ok],
                "pstar_lower <= p_relu",
                measured,
                predicted,
            ),
        )
    )
    last = df.groupby("_pid").tail(1)
    last = last[_optimal(last, ("status_relu",))]
    details: dict[str, Any] = {
        **info,
        "n_points": int(df["_pid"].nunique()),
        "n_pairs_skipped_nonoptimal": skipped,
        "median_p_relu_Pmax_over_pstar_upper": (
            float(np.nanmedian(_arr(last, "p_relu") / _arr(last, "pstar_upper")))
            if "pstar_upper" in last and len(last)
            else math.nan
        ),
    }
    notes = [f"{skipped} pair(s) with a non-optimal solve skipped"] if skipped else []
    if info["n_failed_points"]:
        notes.append(f"{info['n_failed_points']} failed point(s)")
    return _combine_parts(parts, measured, predicted, details, notes)


# --------------------------------------------------------------------------- P5, P6
def _ratio_vs_bound(
    df: pd.DataFrame,
    bound_col: str,
    name: str,
    measured: str,
    predicted: str,
    valid: np.ndarray | None = None,
    capped: np.ndarray | None = None,
) -> CheckResult:
    """``p_gated/p_u <= bound``: hard on exact rows, certified or undecided on the others."""
    ok = _optimal(df, ("status_gated",))
    if valid is not None:
        ok &= valid
    exact = ok & np.isfinite(_arr(df, "p_u_exact")) & _optimal(df, ("status_pu",))
    cert = ok & ~exact & np.isfinite(_arr(df, "ratio_gated_pu_cert"))
    bound = _arr(df, bound_col)
    ratio = _arr(df, "ratio_gated_pu")
    cap = np.zeros(len(df), bool) if capped is None else capped
    slack = HARD_ATOL + HARD_RTOL * np.abs(bound)
    viol = exact & (ratio - bound > slack)
    hard_viol = viol & ~cap
    cap_viol = viol & cap
    cert_hold = cert & (_arr(df, "ratio_gated_pu_cert") <= bound + slack)
    undecided = cert & ~cert_hold
    details = {
        "n_exact": int(exact.sum()),
        "n_violations": int(hard_viol.sum()),
        "n_violations_capped": int(cap_viol.sum()),
        "n_certified_hold": int(cert_hold.sum()),
        "n_undecided": int(undecided.sum()),
        "median_tightness": (
            float(np.nanmedian(ratio[exact] / bound[exact])) if exact.any() else math.nan
        ),
        "max_tightness": float(np.nanmax(ratio[exact] / bound[exact])) if exact.any() else math.nan,
        # rows judged by neither route are counted, never dropped silently
        "n_excluded": int((~(exact | cert)).sum()),
    }
    total = int(exact.sum() + cert.sum())
    text = (
        f"{name}: {int(exact.sum()) - int(viol.sum())}/{int(exact.sum())} exact rows hold "
        f"(median ratio/bound {details['median_tightness']:.3g}), "
        f"{details['n_certified_hold']} certified by p_u_lower, {details['n_undecided']} undecided"
        + (
            f", {details['n_excluded']} row(s) excluded (non-optimal solve, bound not "
            "applicable, or no p_u)"
            if details["n_excluded"]
            else ""
        )
    )
    if total == 0:
        return CheckResult("NOT-RUN", measured, predicted, f"{name}: no usable rows", details)
    if hard_viol.any():
        return CheckResult("FAIL", measured, predicted, text, details)
    if cap_viol.any() or undecided.any():
        extra = (
            f"; {int(cap_viol.sum())} violation(s) only where the rule was capped"
            if cap_viol.any()
            else ""
        )
        return CheckResult("INCONCLUSIVE", measured, predicted, text + extra, details)
    return CheckResult("PASS", measured, predicted, text, details)


@register_check(
    "P5",
    title="Unconstrained gap p~_u/p_u <= 2 sqrt(2 kappa), no log n factor",
    claim=(
        "With P >= 8 kappa log(n/delta) the gated relaxation satisfies p_u <= p~_u <= "
        "2 sqrt(2 kappa) p_u, a bound free of any log n factor."
    ),
    source="Thm 3.8 (THEORY.md §A4) [RECON constant]",
    experiments=("relaxation_gap",),
    measured="p_gated / p_u (exact where enumerated; upper bound p_gated/p_u_lower elsewhere)",
    predicted="<= 2 sqrt(2 kappa); no significant growth with sqrt(log 2n)",
    rule=(
        "hard on exact rows (capped-rule violations INCONCLUSIVE, certified/undecided rows as in "
        "the module docstring); per c with >= 3 n: slope of the exact ratio vs sqrt(log 2n), "
        "trend_rule(max 0)"
    ),
)
def check_p5(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P5, THEORY.md Thm 3.8: decision rule in the module docstring."""
    measured = "p_gated / p_u against 2 sqrt(2 kappa), and its trend in sqrt(log 2n)"
    predicted = "ratio <= 2 sqrt(2 kappa); no sqrt(log n) growth"
    need = (
        "n",
        "P_mode",
        "p_gated",
        "p_u_exact",
        "ratio_gated_pu",
        "ratio_gated_pu_cert",
        "thm38_bound",
    )
    df, reason, info = usable_rows(tables, "relaxation_gap", need)
    if df is None:
        return CheckResult("NOT-RUN", measured, predicted, reason, info)
    rule = df[df["P_mode"] == "rule"]
    if rule.empty:
        return CheckResult("NOT-RUN", measured, predicted, "no rows with P_mode == 'rule'", info)
    capped = rule["P_capped"].astype(bool).to_numpy() if "P_capped" in rule else None
    hard = _ratio_vs_bound(
        rule, "thm38_bound", "ratio <= 2 sqrt(2 kappa)", measured, predicted, capped=capped
    )
    exact = rule[np.isfinite(_arr(rule, "ratio_gated_pu")) & _optimal(rule, ("status_gated",))]
    if exact.empty:
        trend = CheckResult("NOT-RUN", measured, predicted, "no row with an exact p_u")
    else:
        trend = _scaling_groups(
            exact,
            "ratio_gated_pu",
            "ratio_gated_pu",
            "sqrt_log",
            measured,
            predicted,
            unmet_col="P_capped",
        )
    details = {
        **info,
        "n_rows": len(rule),
        "n_capped": int(capped.sum()) if capped is not None else 0,
    }
    notes = [f"{info['n_failed_points']} failed point(s)"] if info["n_failed_points"] else []
    return _combine_parts(
        [("bound", hard), ("no growth", trend)], measured, predicted, details, notes
    )


@register_check(
    "P6",
    title="Improved bound (7) on p~_u / p_u",
    claim=(
        "p~_u / p_u <= 2 gamma_all / (||y|| sqrt(lambda_min(S_bar))) whenever beta <= gamma_all, "
        "combining Prop 3.5 (upper bound on p~_u) and Prop 3.6 (lower bound on p_u)."
    ),
    source="bound (7), Props 3.5/3.6 (THEORY.md §A4)",
    experiments=("relaxation_gap",),
    measured="p_gated / p_u against bound7; p_gated against Prop 3.5; p_u against Prop 3.6",
    predicted="bound holds (deterministically); tightness reported",
    rule=(
        "hard on exact-p_u rows with beta <= gamma_all (certified/undecided rows as in the module "
        "docstring); hard: p_gated <= prop35_valid, prop36_lower(_gamma) <= p_u_exact"
    ),
)
def check_p6(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P6, THEORY.md (7): hard inequalities, tightness in the details."""
    measured = "p_gated / p_u vs bound (7); Props 3.5/3.6 values"
    predicted = "ratio <= bound7; p_gated <= Prop 3.5; p_u >= Prop 3.6"
    need = ("p_gated", "p_u_exact", "ratio_gated_pu", "ratio_gated_pu_cert", "bound7")
    df, reason, info = usable_rows(tables, "relaxation_gap", need)
    if df is None:
        return CheckResult("NOT-RUN", measured, predicted, reason, info)
    valid = (
        df["bound7_valid"].astype(bool).to_numpy()
        if "bound7_valid" in df
        else np.ones(len(df), bool)
    )
    parts = [
        (
            "bound (7)",
            _ratio_vs_bound(df, "bound7", "ratio <= bound (7)", measured, predicted, valid=valid),
        )
    ]
    gated_ok = _optimal(df, ("status_gated",))
    if "prop35_valid" in df:
        parts.append(
            (
                "Prop 3.5",
                _hard(
                    _arr(df, "p_gated")[gated_ok],
                    _arr(df, "prop35_valid")[gated_ok],
                    "p_gated <= Prop 3.5",
                    measured,
                    predicted,
                ),
            )
        )
    exact = np.isfinite(_arr(df, "p_u_exact")) & _optimal(df, ("status_pu",))
    for col in ("prop36_lower", "prop36_lower_gamma"):
        if col in df and exact.any():
            parts.append(
                (
                    f"Prop 3.6 ({col})",
                    _hard(
                        _arr(df, col)[exact],
                        _arr(df, "p_u_exact")[exact],
                        f"{col} <= p_u",
                        measured,
                        predicted,
                    ),
                )
            )
    details = {**info, "n_rows": len(df), "n_bound7_not_valid": int((~valid).sum())}
    notes = [f"{info['n_failed_points']} failed point(s)"] if info["n_failed_points"] else []
    return _combine_parts(parts, measured, predicted, details, notes)


# --------------------------------------------------------------------------- P12, P14
@register_check(
    "P12",
    title="Prop 4.2: p~_c <= C p~_u with C the cone sharpness at the gated solution",
    claim=(
        "On the same sampled patterns the ReLU relaxation is at most max_i C(K_i, w_i/||w_i||) "
        "times the gated relaxation."
    ),
    source="Prop 4.2 (THEORY.md §A5)",
    experiments=("relaxation_gap",),
    measured="p_relu / p_gated against sharpness_max (cone decomposition of the gated solution)",
    predicted="p_relu <= sharpness_max * p_gated (and p_relu <= value of the decomposed network)",
    rule="hard inequalities, rtol 1e-6 / atol 1e-9; rows with relu, gated and decomposition optimal",
)
def check_p12(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P12, THEORY.md Prop 4.2: hard inequality."""
    measured = "p_relu vs sharpness_max * p_gated"
    predicted = "p_relu <= C * p_gated"
    need = ("p_relu", "p_gated", "sharpness_max")
    df, reason, info = usable_rows(tables, "relaxation_gap", need)
    if df is None:
        return CheckResult("NOT-RUN", measured, predicted, reason, info)
    ok = _optimal(df, ("status_relu", "status_gated", "status_decomp"))
    ok &= np.isfinite(_arr(df, "sharpness_max"))
    use = df[ok]
    parts = [
        (
            "Prop 4.2",
            _hard(
                _arr(use, "p_relu"),
                _arr(use, "sharpness_max") * _arr(use, "p_gated"),
                "p_relu <= C p_gated",
                measured,
                predicted,
            ),
        )
    ]
    if "p_decomp" in use:
        parts.append(
            (
                "decomposed network",
                _hard(
                    _arr(use, "p_relu"),
                    _arr(use, "p_decomp"),
                    "p_relu <= p_decomp",
                    measured,
                    predicted,
                ),
            )
        )
    ratio = _arr(use, "p_relu") / _arr(use, "p_gated")
    details = {
        **info,
        "n_rows": len(df),
        "n_excluded": int((~ok).sum()),
        "median_ratio_relu_gated": float(np.nanmedian(ratio)) if len(use) else math.nan,
        "median_sharpness": float(np.nanmedian(_arr(use, "sharpness_max")))
        if len(use)
        else math.nan,
        "median_ratio_over_C": (
            float(np.nanmedian(ratio / _arr(use, "sharpness_max"))) if len(use) else math.nan
        ),
    }
    notes = (
        [f"{details['n_excluded']} row(s) with a non-optimal solve excluded"]
        if details["n_excluded"]
        else []
    )
    if info["n_failed_points"]:
        notes.append(f"{info['n_failed_points']} failed point(s)")
    return _combine_parts(parts, measured, predicted, details, notes)


@register_check(
    "P14",
    title="Mapped network reproduces the convex optimum",
    claim="Mapping a solution of (3) to network weights gives exactly its objective in (1).",
    source="§A2 'Mapping a convex solution to network weights'",
    experiments=("relaxation_gap",),
    measured="|(1) at the mapped weights - p_relu| / p_relu",
    predicted=f"<= {P14_RTOL:g}",
    rule=f"hard: relative difference <= {P14_RTOL:g} on every optimal ReLU solve",
)
def check_p14(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P14, THEORY.md §A2: hard inequality on the relative mapping error."""
    measured = "relative difference of (1) at the mapped weights and p_relu"
    predicted = f"<= {P14_RTOL:g}"
    df, reason, info = usable_rows(tables, "relaxation_gap", ("mapped_rel_err",))
    if df is None:
        return CheckResult("NOT-RUN", measured, predicted, reason, info)
    ok = _optimal(df, ("status_relu",))
    err = _arr(df, "mapped_rel_err")[ok]
    res = hard_inequality(
        err,
        np.full(err.shape, P14_RTOL),
        rtol=0.0,
        atol=0.0,
        measured=measured,
        predicted=predicted,
    )
    details = {
        **info,
        **res.details,
        "n_excluded_nonoptimal": int((~ok).sum()),
        "max_rel_err": float(np.nanmax(err)) if err.size else math.nan,
    }
    text = res.explanation
    if res.verdict != "NOT-RUN":
        text = (
            f"largest relative error {details['max_rel_err']:.2g} over {err.size} optimal solves "
            f"({details['n_violations']} above {P14_RTOL:g})"
        )
    if details["n_excluded_nonoptimal"]:
        text += f" ({details['n_excluded_nonoptimal']} non-optimal solve(s) excluded)"
    return CheckResult(res.verdict, measured, predicted, text, details)


# --------------------------------------------------------------------------- P16
@register_check(
    "P16",
    title="Stationary points of local methods are within C sqrt(log n) of p*",
    claim=(
        "A local method from random initialisation that converges to a stationary point theta' "
        "has L(theta') <= C sqrt(log n) L(theta*); at a stationary point L(theta') = p_cvx(D')."
    ),
    source="Thm 2.5 / D.3 (THEORY.md §A6), Wang et al. 2021",
    experiments=("stationary",),
    measured="L(theta')/p* (both bracket ends) against n; L(theta') vs p_cvx(D')",
    predicted="no significant upward trend of (L/p*)/sqrt(log 2n); p* <= p_cvx(D') <= L",
    rule=(
        "hard: pstar_lower <= p_cvx(D') <= L; per (c, method) with >= 3 n: slope of "
        "(L/p*)/sqrt(log 2n) vs log n, bootstrap 95% CI, trend_rule(max 0) at both ends, "
        "bracket_rule; fraction of runs with (L - p_cvx(D'))/L <= 1e-3 reported"
    ),
)
def check_p16(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P16, THEORY.md Thm 2.5: decision rule in the module docstring."""
    measured = "(L(theta')/p*)/sqrt(log 2n) against log n; L vs p_cvx(D')"
    predicted = "bounded shape; p* <= p_cvx(D') <= L(theta')"
    need = (
        "n",
        "loss",
        "loss_over_pstar_lower",
        "loss_over_pstar_upper",
        "p_cvx_Dprime",
        "pstar_lower",
    )
    df, reason, info = usable_rows(tables, "stationary", need)
    if df is None:
        return CheckResult("NOT-RUN", measured, predicted, reason, info)
    finite = np.isfinite(_arr(df, "loss"))
    use = df[finite]
    details: dict[str, Any] = {**info, "n_runs": len(df), "n_diverged": int((~finite).sum())}
    if use.empty:
        return CheckResult("NOT-RUN", measured, predicted, "every run diverged", details)
    ok = _optimal(use, ("status_Dprime",))
    details["n_excluded_Dprime_nonoptimal"] = int((~ok).sum())
    L, pc = _arr(use, "loss"), _arr(use, "p_cvx_Dprime")
    parts = [
        ("p_cvx(D') <= L", _hard(pc[ok], L[ok], "p_cvx(D') <= L", measured, predicted)),
        (
            "pstar_lower <= p_cvx(D')",
            _hard(
                _arr(use, "pstar_lower")[ok],
                pc[ok],
                "pstar_lower <= p_cvx(D')",
                measured,
                predicted,
            ),
        ),
    ]
    sl = np.sqrt(np.log(2.0 * _arr(use, "n")))
    scaled = use.assign(
        _w=_arr(use, "loss_over_pstar_lower") / sl, _b=_arr(use, "loss_over_pstar_upper") / sl
    )
    unmet = None
    if "width_meets_rule" in use:
        unmet = "_unmet"
        scaled = scaled.assign(_unmet=~use["width_meets_rule"].astype(bool).to_numpy())
        details["n_width_below_rule"] = int(scaled["_unmet"].sum())
    parts.append(
        (
            "trend",
            _scaling_groups(
                scaled,
                "_w",
                "_b",
                "log_n",
                measured,
                predicted,
                extra_keys=("method_used",),
                unmet_col=unmet,
            ),
        )
    )
    gap = (L - pc) / L
    stat = ok & (gap <= P16_STATIONARY_RTOL)
    details["fraction_at_stationary_point"] = float(stat[ok].mean()) if ok.any() else math.nan
    details["median_gap_Dprime_rel"] = float(np.nanmedian(gap[ok])) if ok.any() else math.nan
    details["median_loss_over_pstar_upper"] = float(
        np.nanmedian(_arr(use, "loss_over_pstar_upper"))
    )
    details["max_loss_over_pstar_lower"] = float(np.nanmax(_arr(use, "loss_over_pstar_lower")))
    if "grad_norm" in use:
        details["median_grad_norm"] = float(np.nanmedian(_arr(use, "grad_norm")))
    if "frac_neuron_preserved" in use:
        details["median_frac_neuron_preserved"] = float(
            np.nanmedian(_arr(use, "frac_neuron_preserved"))
        )
    notes = [
        f"{details['fraction_at_stationary_point']:.0%} of runs with L = p_cvx(D') to "
        f"{P16_STATIONARY_RTOL:g}; median L/pstar_upper {details['median_loss_over_pstar_upper']:.4g}"
    ]
    if details["n_diverged"]:
        notes.append(f"{details['n_diverged']} diverged run(s) excluded")
    if details["n_excluded_Dprime_nonoptimal"]:
        notes.append(
            f"{details['n_excluded_Dprime_nonoptimal']} non-optimal p_cvx(D') solve(s) excluded "
            "from the hard part"
        )
    if info["n_failed_points"]:
        notes.append(f"{info['n_failed_points']} failed point(s)")
    return _combine_parts(parts, measured, predicted, details, notes)


# --------------------------------------------------------------------------- P17
@register_check(
    "P17",
    title="Solve time of (3) is polynomial, exponent <= 3 in d P",
    claim="The relaxation (3) is solved by an interior-point method in O(d^3 P^3) time.",
    source="Thm 2.3 / D.2 (THEORY.md §A6)",
    experiments=("relaxation_gap",),
    measured="log-log slope of the ReLU solve time against d * P_unique",
    predicted=f"exponent <= {P17_MAX_EXPONENT:g} (sanity check)",
    rule=(
        "bootstrap 95% CI of the slope, trend_rule(max 3); a FAIL on a noisy fit (R^2 < 0.5 or "
        "< 1 decade of sizes) is reported as INCONCLUSIVE"
    ),
)
def check_p17(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P17, THEORY.md Thm 2.3: sanity check of the polynomial cost."""
    measured = "slope of log(time_relu_s) vs log(d * P_unique)"
    predicted = f"<= {P17_MAX_EXPONENT:g}"
    df, reason, info = usable_rows(tables, "relaxation_gap", ("d", "P_unique", "time_relu_s"))
    if df is None:
        return CheckResult("NOT-RUN", measured, predicted, reason, info)
    ok = _optimal(df, ("status_relu",))
    use = df[ok]
    x = np.log(_arr(use, "d") * _arr(use, "P_unique"))
    t = _arr(use, "time_relu_s")
    keep = np.isfinite(x) & (t > 0)
    x, y = x[keep], np.log(t[keep])
    cl = use["seed_index"].to_numpy()[keep] if "seed_index" in use else None
    est = slope_ci(x, y, clusters=cl, n_boot=N_BOOT, rng=np.random.default_rng(_RULE_SEED))
    res = trend_rule(est, P17_MAX_EXPONENT, measured=measured, predicted=predicted)
    r2 = math.nan
    if x.size >= 3 and np.ptp(x) > 0:
        r2 = float(np.corrcoef(x, y)[0, 1] ** 2)
    decades = float(np.ptp(x) / math.log(10)) if x.size else 0.0
    details = {
        **info,
        **res.details,
        "r2": r2,
        "decades": decades,
        "n_excluded_nonoptimal": int((~ok).sum()),
    }
    noisy = not (r2 >= P17_MIN_R2) or decades < P17_MIN_DECADES
    verdict, text = res.verdict, res.explanation + f"; R^2 {r2:.2f} over {decades:.2f} decades"
    if verdict == "FAIL" and noisy:
        verdict, text = "INCONCLUSIVE", text + " (noisy fit: not a failure)"
    return CheckResult(verdict, measured, predicted, text, details)
