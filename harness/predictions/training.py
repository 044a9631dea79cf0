"""Checks P15 (coupling lemma, Figure 2) and P18 (effect of regularisation, Appendix E).

THEORY.md "Testable predictions" rows P15 and P18; the experiments are the kinds
``coupling`` (:mod:`harness.kinds.coupling`) and ``regularization``
(:mod:`harness.kinds.regularization`).

Decision rules (our reading of the claims; thresholds are module constants):

* **P15** ((A2), Lemma 2.4, Figure 2). A *run* is one final row (``final == True``) of
  the ``coupling`` table, i.e. one (point, seed). (a) For every (dataset, width ``m``)
  the runs whose final ``frac_neuron >= 1/2`` are counted; "(A2) holds with high
  probability" is read as "in at least :data:`P15_RUN_LEVEL` = 90 % of runs", tested with
  :func:`harness.predictions.rules.binomial_rule` (FAIL when the 95 % Clopper-Pearson
  interval lies entirely below 0.9). Runs of all learning rates and methods at that width
  are pooled. (b) "The fraction increases with width": for every (dataset, method, lr)
  the least-squares slope of final ``frac_neuron`` against ``log m`` with a bootstrap
  95 % interval (:func:`~harness.predictions.rules.slope_ci`); FAIL when the interval lies
  entirely below 0, INCONCLUSIVE when the estimate is negative but the interval reaches 0.
  Diverged runs (``status == "diverged"``) are reported and left out of both counts;
  a (dataset, width) group with no valid run is INCONCLUSIVE. Verdict: FAIL if any part
  fails; INCONCLUSIVE if any part is inconclusive, an expected dataset is absent, or
  points failed; PASS otherwise.
* **P18** (Appendix E). Only ``status == "optimal"`` rows count (the others are reported).
  A *curve* is one (dataset, P, formulation, n, d) setting; its spread is
  ``max - min`` over ``beta_rel`` of the median (over seeds) test accuracy. The
  statistic of a dataset is the median of its curves' spreads, with a bootstrap 95 %
  interval from resampling seeds within each curve. The paper reports spreads of "up to
  about 5 %" (synthetic) and "about 10 %" (MNIST); we read "several percent" as
  ``spread >= 2 %`` (:data:`P18_PASS_SPREAD`). Per dataset: PASS when the spread is
  >= 2 % and the interval's lower end is >= 0.5 % (so a spread carried by one seed does
  not pass); FAIL when the spread is below 0.5 % (:data:`P18_FAIL_SPREAD`); INCONCLUSIVE
  otherwise. Verdict: FAIL if any dataset fails; PASS if all expected datasets pass;
  INCONCLUSIVE otherwise (including a missing dataset or failed points).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness.predictions import CheckResult, register_check
from harness.predictions.rules import (
    SlopeEstimate,
    binomial_rule,
    slope_ci,
    trend_rule,
    usable_rows,
)

#: (A2): "at least half of the patterns are preserved".
P15_FRACTION_LEVEL = 0.5
#: Fraction of runs that must satisfy (A2) ("with high probability", our reading).
P15_RUN_LEVEL = 0.9
#: Datasets of Figure 2.
P15_DATASETS = ("gaussian", "mnist")
#: Spread of test accuracy over beta that counts as "several percent" (our reading).
P18_PASS_SPREAD = 0.02
#: Below this the accuracy does not depend on beta at all: the claim fails.
P18_FAIL_SPREAD = 0.005
#: Datasets of Appendix E.
P18_DATASETS = ("planted", "mnist")
#: Bootstrap resamples of the P18 interval.
P18_N_BOOT = 1000

_RULE_SEED = 20240611  # fixed: a verdict must not change between two runs of `harness check`


def _keys(df: pd.DataFrame, candidates: Sequence[str]) -> list[str]:
    """Columns of ``candidates`` present in ``df`` with at least one non-null value."""
    return [c for c in candidates if c in df.columns and df[c].notna().any()]


def _label(keys: Sequence[str], values: Any) -> str:
    vals = values if isinstance(values, tuple) else (values,)
    return ", ".join(f"{k}={_fmt(v)}" for k, v in zip(keys, vals))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _groups(df: pd.DataFrame, keys: list[str]) -> list[tuple[Any, pd.DataFrame]]:
    if not keys:
        return [((), df)]
    return [
        (k if isinstance(k, tuple) else (k,), g)
        for k, g in df.groupby(keys, sort=True, dropna=False)
    ]


# --------------------------------------------------------------------------- P15
@register_check(
    "P15",
    title="Coupling lemma: activation patterns preserved during GD",
    claim=(
        "During full-batch GD on the squared loss from a random initialisation at least half "
        "of the neurons keep their initial activation pattern, more so for wider networks."
    ),
    source="(A2), Lemma 2.4 (Li & Liang 2018), Figure 2 (THEORY.md §A3, §A8)",
    experiments=("coupling",),
    measured="final frac_neuron(T) (and frac_entry(T)) per run, Gaussian data and MNIST 0-4/5-9",
    predicted="frac_neuron(T) >= 1/2; non-decreasing in width m",
    rule=(
        "per (dataset, m): runs with frac_neuron(T) >= 1/2 consistent with >= 90% (Clopper-Pearson "
        "95%); per (dataset, method, lr): slope of frac_neuron(T) vs log m not significantly < 0 "
        "(bootstrap 95%); diverged runs reported, not counted"
    ),
)
def check_p15(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P15, THEORY.md (A2) / Lemma 2.4 / §A8 Figure 2: decision rule in the module docstring."""
    measured = "final frac_neuron per (dataset, width m)"
    predicted = (
        f"frac_neuron(T) >= {P15_FRACTION_LEVEL:g} in >= {P15_RUN_LEVEL:.0%} of runs per m; "
        "non-decreasing in m"
    )
    df, reason, info = usable_rows(tables, "coupling", ("final", "frac_neuron", "width"))
    if df is None:
        return CheckResult("NOT-RUN", measured, predicted, reason, info)
    fin = df[df["final"].astype(bool)]
    if fin.empty:
        return CheckResult(
            "NOT-RUN", measured, predicted, "no final rows (final == True) in 'coupling'", info
        )
    diverged = (
        (fin["status"] == "diverged").to_numpy()
        if "status" in fin.columns
        else np.zeros(len(fin), bool)
    )
    frac = fin["frac_neuron"].to_numpy(dtype=float)
    valid_mask = ~diverged & np.isfinite(frac)
    fin = fin.assign(_valid=valid_mask)
    details: dict[str, Any] = {
        **info,
        "n_runs": len(fin),
        "n_diverged": int(diverged.sum()),
        "n_nonfinite": int((~diverged & ~np.isfinite(frac)).sum()),
    }

    # (a) >= 1/2 per (dataset, width)
    gkeys = _keys(fin, ("dataset", "width"))
    width_groups: list[dict[str, Any]] = []
    failing: list[str] = []
    undecided: list[str] = []
    for key, g in _groups(fin, gkeys):
        v = g[g["_valid"]]
        ok = int((v["frac_neuron"] >= P15_FRACTION_LEVEL).sum())
        label = _label(gkeys, key)
        res = binomial_rule(ok, len(v), P15_RUN_LEVEL, measured=measured, predicted=predicted)
        verdict = res.verdict if len(v) else "INCONCLUSIVE"
        if verdict == "FAIL":
            failing.append(label)
        elif verdict != "PASS":
            undecided.append(label)
        entry: dict[str, Any] = {
            "group": label,
            "successes": ok,
            "trials": len(v),
            "n_diverged": int(len(g) - len(v)),
            "median_frac_neuron": float(v["frac_neuron"].median()) if len(v) else math.nan,
            "median_frac_entry": (
                float(v["frac_entry"].median()) if len(v) and "frac_entry" in v else math.nan
            ),
            "verdict": verdict,
            **{k: res.details[k] for k in ("ci_low", "ci_high") if k in res.details},
        }
        width_groups.append(entry)
    details["width_groups"] = width_groups

    # (b) trend in log m per (dataset, method, lr)
    tkeys = _keys(fin, ("dataset", "method", "lr"))
    trends: list[dict[str, Any]] = []
    rng = np.random.default_rng(_RULE_SEED)
    for key, g in _groups(fin, tkeys):
        v = g[g["_valid"]]
        if v["width"].nunique() < 2:
            continue
        est = slope_ci(
            np.log(v["width"].to_numpy(dtype=float)),
            v["frac_neuron"].to_numpy(dtype=float),
            rng=rng,
        )
        # "slope >= 0" is checked as "-slope <= 0" with trend_rule
        neg = SlopeEstimate(-est.slope, -est.high, -est.low, est.n_points, est.level)
        res = trend_rule(neg, 0.0, measured=measured, predicted=predicted)
        trends.append(
            {
                "group": _label(tkeys, key),
                "slope": est.slope,
                "ci_low": est.low,
                "ci_high": est.high,
                "verdict": res.verdict,
            }
        )
    details["trends"] = trends
    trend_fail = [t["group"] for t in trends if t["verdict"] == "FAIL"]
    trend_inc = [t["group"] for t in trends if t["verdict"] == "INCONCLUSIVE"]
    details["trends_too_few_points"] = [t["group"] for t in trends if t["verdict"] == "NOT-RUN"]

    present = set(fin["dataset"].unique()) if "dataset" in fin.columns else set(P15_DATASETS)
    absent = [d for d in P15_DATASETS if d not in present]
    details["missing_datasets"] = absent

    summary = "; ".join(
        f"{w['group']}: {w['successes']}/{w['trials']} (median {w['median_frac_neuron']:.2f})"
        for w in width_groups
    )
    entry_med = (
        float(fin.loc[fin["_valid"], "frac_entry"].median()) if "frac_entry" in fin else math.nan
    )
    measured_text = (
        f"runs with frac_neuron(T) >= 1/2: {summary}; median frac_entry(T) {entry_med:.3f}; "
        f"{details['n_diverged']} diverged"
    )
    notes = []
    if details["n_diverged"]:
        notes.append(f"{details['n_diverged']} diverged run(s) left out")
    if info["n_failed_points"]:
        notes.append(f"{info['n_failed_points']} failed point(s)")
    if absent:
        notes.append(f"dataset(s) {absent} not run")
    note = f" ({'; '.join(notes)})" if notes else ""

    if failing or trend_fail:
        parts = []
        if failing:
            parts.append(
                f"frac_neuron(T) >= 1/2 in fewer than {P15_RUN_LEVEL:.0%} of runs at {failing}"
            )
        if trend_fail:
            parts.append(f"significant decrease with width for {trend_fail}")
        return CheckResult("FAIL", measured_text, predicted, "; ".join(parts) + note, details)
    # the width half of the claim must have been tested by at least one slope
    no_trend = not any(t["verdict"] in ("PASS", "FAIL", "INCONCLUSIVE") for t in trends)
    if undecided or trend_inc or absent or info["n_failed_points"] or no_trend:
        parts = []
        if undecided:
            parts.append(f"no valid runs at {undecided}")
        if no_trend:
            parts.append("no group with >= 2 widths and enough runs: width trend not tested")
        if trend_inc:
            parts.append(f"width trend negative but not significant for {trend_inc}")
        return CheckResult(
            "INCONCLUSIVE",
            measured_text,
            predicted,
            ("; ".join(parts) or "holds on the runs present") + note,
            details,
        )
    return CheckResult(
        "PASS",
        measured_text,
        predicted,
        f"frac_neuron(T) >= 1/2 consistent with >= {P15_RUN_LEVEL:.0%} of runs at every width "
        f"({len(width_groups)} groups), no significant decrease with width" + note,
        details,
    )


# --------------------------------------------------------------------------- P18
def _curve_matrix(g: pd.DataFrame) -> np.ndarray:
    """(seeds, betas) matrix of test accuracies of one curve (nan where missing)."""
    g = g.assign(_beta=np.round(g["beta_rel"].to_numpy(dtype=float), 12))
    if "seed_index" in g.columns and g["seed_index"].notna().all():
        g = g.assign(_seed=g["seed_index"].to_numpy())
    else:
        g = g.assign(_seed=g.groupby("_beta").cumcount().to_numpy())
    mat = g.pivot_table(index="_seed", columns="_beta", values="test_acc", aggfunc="mean")
    return np.asarray(mat.to_numpy(dtype=float))


def _spread(mat: np.ndarray) -> float:
    """``max - min`` over betas of the median over seeds (betas with no value skipped)."""
    with np.errstate(all="ignore"):
        cols = [mat[:, j][np.isfinite(mat[:, j])] for j in range(mat.shape[1])]
        med = np.array([np.median(c) for c in cols if c.size])
    if med.size < 2:
        return math.nan
    return float(med.max() - med.min())


def _boot_spreads(mat: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """:func:`_spread` of ``mat[idx[b]]`` for every bootstrap row ``b`` (vectorised)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan columns of a resample
        med = np.nanmedian(mat[idx], axis=1)  # (n_boot, n_beta)
        n_ok = np.sum(np.isfinite(med), axis=1)
        out = np.nanmax(med, axis=1) - np.nanmin(med, axis=1)
    return np.where(n_ok >= 2, out, np.nan)


@register_check(
    "P18",
    title="Regularisation changes test accuracy by several percent",
    claim=(
        "Across regularisation strengths the test accuracy of the convex model mapped to a "
        "network varies by several percent (about 5% planted width-50 teacher, 10% MNIST)."
    ),
    source="Appendix E (THEORY.md §A8)",
    experiments=("regularization",),
    measured="max - min over beta of the median test accuracy, per (dataset, P, formulation)",
    predicted="spread of several percent (our reading: >= 2%)",
    rule=(
        "per dataset, median over curves of the spread: PASS >= 2% with bootstrap 95% lower end "
        ">= 0.5%; FAIL < 0.5%; INCONCLUSIVE otherwise; only status 'optimal' solves count"
    ),
)
def check_p18(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P18, THEORY.md §A8 Appendix E: decision rule in the module docstring."""
    measured = "spread over beta of median test accuracy"
    predicted = f"several percent (PASS >= {P18_PASS_SPREAD:.0%}; paper: ~5% synthetic, ~10% MNIST)"
    df, reason, info = usable_rows(tables, "regularization", ("test_acc", "beta_rel", "status"))
    if df is None:
        return CheckResult("NOT-RUN", measured, predicted, reason, info)
    optimal = df["status"] == "optimal"
    details: dict[str, Any] = {
        **info,
        "n_rows": len(df),
        "n_not_optimal": int((~optimal).sum()),
        "not_optimal_statuses": sorted({str(s) for s in df.loc[~optimal, "status"]}),
    }
    good = df[optimal & np.isfinite(df["test_acc"].to_numpy(dtype=float))]
    if good.empty:
        return CheckResult(
            "NOT-RUN", measured, predicted, "no optimal solves in 'regularization'", details
        )
    dkeys = _keys(good, ("dataset",))
    ckeys = _keys(good, ("P", "formulation", "n", "d", "solver", "noise", "teacher_width"))
    rng = np.random.default_rng(_RULE_SEED)
    datasets: list[dict[str, Any]] = []
    for dkey, dg in _groups(good, dkeys):
        curves = []
        boots = []
        for ckey, cg in _groups(dg, ckeys):
            mat = _curve_matrix(cg)
            s = _spread(mat)
            if not math.isfinite(s):
                continue
            k = mat.shape[0]
            b = _boot_spreads(mat, rng.integers(0, k, size=(P18_N_BOOT, k)))
            curves.append({"curve": _label(ckeys, ckey), "spread": s, "n_seeds": k})
            boots.append(b)
        if not curves:
            continue
        spreads = np.array([c["spread"] for c in curves])
        stat = float(np.median(spreads))
        with np.errstate(all="ignore"):
            boot_stat = np.nanmedian(np.vstack(boots), axis=0)
        boot_stat = boot_stat[np.isfinite(boot_stat)]
        low, high = (
            (float(np.quantile(boot_stat, 0.025)), float(np.quantile(boot_stat, 0.975)))
            if boot_stat.size
            else (math.nan, math.nan)
        )
        if stat < P18_FAIL_SPREAD:
            verdict = "FAIL"
        elif stat >= P18_PASS_SPREAD and low >= P18_FAIL_SPREAD:
            verdict = "PASS"
        else:
            verdict = "INCONCLUSIVE"
        datasets.append(
            {
                "dataset": _label(dkeys, dkey) if dkeys else "all",
                "name": dkey[0] if dkeys else "all",
                "spread": stat,
                "ci_low": low,
                "ci_high": high,
                "max_curve_spread": float(spreads.max()),
                "n_curves": len(curves),
                "curves": curves,
                "verdict": verdict,
            }
        )
    details["datasets"] = datasets
    if not datasets:
        return CheckResult(
            "NOT-RUN",
            measured,
            predicted,
            "no curve with at least two beta values among the optimal solves",
            details,
        )
    present = {d["name"] for d in datasets}
    absent = [d for d in P18_DATASETS if d not in present] if dkeys else []
    details["missing_datasets"] = absent
    measured_text = "; ".join(
        f"{d['name']}: {d['spread']:.1%} [{d['ci_low']:.1%}, {d['ci_high']:.1%}] "
        f"(median of {d['n_curves']} curves, max {d['max_curve_spread']:.1%})"
        for d in datasets
    )
    notes = []
    if details["n_not_optimal"]:
        notes.append(
            f"{details['n_not_optimal']} non-optimal solve(s) left out "
            f"({', '.join(details['not_optimal_statuses'])})"
        )
    if info["n_failed_points"]:
        notes.append(f"{info['n_failed_points']} failed point(s)")
    if absent:
        notes.append(f"dataset(s) {absent} not run")
    note = f" ({'; '.join(notes)})" if notes else ""
    fails = [d["name"] for d in datasets if d["verdict"] == "FAIL"]
    if fails:
        return CheckResult(
            "FAIL",
            measured_text,
            predicted,
            f"test accuracy essentially independent of beta (spread < {P18_FAIL_SPREAD:.1%}) "
            f"for {fails}" + note,
            details,
        )
    if all(d["verdict"] == "PASS" for d in datasets) and not absent and not info["n_failed_points"]:
        return CheckResult(
            "PASS",
            measured_text,
            predicted,
            f"spread >= {P18_PASS_SPREAD:.0%} with lower bootstrap end >= {P18_FAIL_SPREAD:.1%} "
            "for every dataset" + note,
            details,
        )
    weak = [d["name"] for d in datasets if d["verdict"] != "PASS"]
    reason_text = (
        f"spread below {P18_PASS_SPREAD:.0%} or not distinguishable from seed noise for {weak}"
        if weak
        else "holds on the datasets present"
    )
    return CheckResult("INCONCLUSIVE", measured_text, predicted, reason_text + note, details)
