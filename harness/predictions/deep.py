"""Checks E1-E6: the claims of Ergen & Pilanci (ICML 2021), THEORY.md Part B.

Each check is a thin wrapper (select usable rows, count what is excluded) around a small
decision function taking a DataFrame, so the rules are tested on hand-made tables
(``tests/test_deep_checks.py``) that must PASS, must FAIL and must be INCONCLUSIVE.
Failed points, non-optimal solves and diverged runs are excluded and counted.

* **E1** (hard, Prop. 1): on every optimal solve of (13), ``|(5) at the mapped weights -
  p13| <= 1e-6 max(1, p13)`` and ``max_k ||W_1k||_F <= 1 + 1e-9``. Any violation: FAIL;
  fewer than :data:`MIN_ROWS` optimal solves: INCONCLUSIVE.
* **E2** (hard, Thm 1): a training run whose final (Lemma-1-rebalanced) network lies in the
  arrangement set (``covered``) ends at or above the optimum of (13): its objective must
  be >= the certified dual bound of (13) up to ``1e-6`` relative
  (:func:`harness.predictions.rules.hard_inequality`). Uncovered runs are excluded and
  counted; fewer than :data:`MIN_ROWS` covered runs: INCONCLUSIVE.
* **E3** (Table 1, training objective): per data set the paired relative difference
  ``(SGD - convex) / |convex|`` over splits x seeds, mean with a bootstrap 95 % interval.
  A set PASSes when the interval's low end is >= 0, FAILs when its high end is < 0, else
  is INCONCLUSIVE (also with fewer than 3 splits). Verdict: FAIL if any set fails, PASS if
  all six pass, else INCONCLUSIVE.
* **E4** (Table 1, test error): the same interval on ``SGD - convex`` test error; a set is
  "convex lower" (low end > 0), "convex higher" (high end < 0) or undecided. PASS when at
  least 5 of 6 are lower; FAIL when lower + undecided < 5; else INCONCLUSIVE.
* **E5** (Fig. 4): a run *reaches* the convex value when its final objective is <=
  ``p13 (1 + 0.02)``. Large K (largest of ``K_list``): FAIL when the Clopper-Pearson 95 %
  interval of the reach rate lies entirely below 0.9 (:func:`binomial_rule`). Small K
  (smallest): PASS needs the stuck rate at small K significantly above that at large K
  (one-sided Fisher exact test, p < 0.05); FAIL when the stuck-rate interval at small K
  lies entirely below 0.1 (small K does not get stuck); otherwise INCONCLUSIVE.
  At least 5 runs per K are needed. Only instances with ``arrangement == "sampled"``.
* **E6** (Fig. 5/6 in spirit): per seed ``acc((16)) - max(acc(SGD), acc(Adam))`` on test
  data; PASS when the bootstrap interval's low end is >= -0.01 ("at least the same"),
  FAIL when its high end is < -0.01, else INCONCLUSIVE (also with fewer than 3 seeds).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from harness.predictions import CheckResult, register_check
from harness.predictions.rules import binomial_rule, hard_inequality, usable_rows

#: Minimum usable rows for a hard check to PASS.
MIN_ROWS = 3
#: Prop. 1 tolerance (relative) and the Frobenius-norm slack.
MAP_RTOL = 1e-6
NORM_TOL = 1e-9
#: Thm 1 tolerance (relative) against the certified dual bound.
THM1_RTOL = 1e-6
#: Fig. 4: a run reaches the convex value within this relative excess.
REACH_RTOL = 0.02
REACH_LEVEL = 0.9
STUCK_FLOOR = 0.1
#: Fig. 5/6: "at least the same" accuracy, up to this margin.
ACC_MARGIN = 0.01
MIN_CLUSTERS = 3
N_BOOT = 2000
_RULE_SEED = 20210718  # fixed: a verdict must not change between two runs of `harness check`
TABLE1_SETS = (
    "acute-inflammation",
    "acute-nephritis",
    "balloons",
    "breast-tissue",
    "fertility",
    "pittsburg-bridges-SPAN",
)


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap interval of ``values`` (one value per cluster)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(_RULE_SEED)
    boots = v[rng.integers(0, v.size, size=(N_BOOT, v.size))].mean(axis=1)
    a = (1 - level) / 2
    lo, hi = np.quantile(boots, [a, 1 - a])
    return float(v.mean()), float(lo), float(hi)


def _note(n_excluded: int, what: str) -> str:
    return f"; {n_excluded} {what} excluded" if n_excluded else ""


# --------------------------------------------------------------------------- decisions
def decide_mapping(df: pd.DataFrame) -> CheckResult:
    """E1 on convex rows: ``solve_status``, ``mapping_rel_err``, ``W1_max_norm``."""
    measured = "|(5)(mapped) - p13| / max(1, p13) and max ||W_1k||_F"
    predicted = f"<= {MAP_RTOL:g} and <= 1"
    ok = df["solve_status"] == "optimal"
    n_bad = int((~ok).sum())
    use = df[ok]
    info: dict[str, Any] = {"n_solves": len(use), "n_not_optimal": n_bad}
    if len(use) < MIN_ROWS:
        return CheckResult(
            "INCONCLUSIVE", measured, predicted, f"{len(use)} optimal solves (< {MIN_ROWS})", info
        )
    err = use["mapping_rel_err"].to_numpy(float)
    norm = use["W1_max_norm"].to_numpy(float)
    bad = ~(np.isfinite(err) & (err <= MAP_RTOL) & np.isfinite(norm) & (norm <= 1 + NORM_TOL))
    info.update(worst_rel_err=float(np.nanmax(err)), max_norm=float(np.nanmax(norm)))
    if bad.any():
        return CheckResult(
            "FAIL",
            measured,
            predicted,
            f"{int(bad.sum())} of {len(use)} solves: mapped network does not reproduce p13 "
            f"(worst {np.nanmax(err):.3g}, max norm {np.nanmax(norm):.6g})",
            info,
        )
    return CheckResult(
        "PASS",
        measured,
        predicted,
        f"all {len(use)} optimal solves: worst rel. error {np.nanmax(err):.2g}, max "
        f"||W_1k||_F {np.nanmax(norm):.6g}{_note(n_bad, 'non-optimal solves')}",
        info,
    )


def decide_thm1(df: pd.DataFrame) -> CheckResult:
    """E2 on run rows joined with their solve: ``final_objective``, ``dual_bound``,
    ``covered``, ``status``, ``solve_status``."""
    measured = "final objective (5) of covered runs vs certified lower bound of p13"
    predicted = "final objective >= p13 (Thm 1)"
    ok = (df["status"] == "ok") & (df["solve_status"] == "optimal")
    cov = ok & df["covered"].astype(bool)
    info = {
        "n_runs": len(df),
        "n_failed": int((~ok).sum()),
        "n_uncovered": int((ok & ~df["covered"].astype(bool)).sum()),
        "n_covered": int(cov.sum()),
    }
    use = df[cov]
    if len(use) < MIN_ROWS:
        return CheckResult(
            "INCONCLUSIVE",
            measured,
            predicted,
            f"{len(use)} covered runs (< {MIN_ROWS}); {info['n_uncovered']} uncovered, "
            f"{info['n_failed']} failed",
            info,
        )
    res = hard_inequality(
        use["dual_bound"],
        use["final_objective"],
        rtol=THM1_RTOL,
        measured=measured,
        predicted=predicted,
    )
    if res.verdict == "NOT-RUN":
        return CheckResult("INCONCLUSIVE", measured, predicted, res.explanation, info)
    return CheckResult(
        res.verdict,
        measured,
        predicted,
        f"{res.explanation}; {info['n_uncovered']} uncovered and {info['n_failed']} failed "
        "runs excluded",
        {**info, **res.details},
    )


def _per_set(df: pd.DataFrame, column: str, relative: bool) -> dict[str, dict[str, Any]]:
    """Paired ``sgd - convex`` statistic per data set (one value per split x seed)."""
    out: dict[str, dict[str, Any]] = {}
    for name in TABLE1_SETS:
        g = df[df["dataset"] == name]
        piv = g.pivot_table(index="cluster", columns="method", values=column, aggfunc="first")
        if not {"sgd", "convex"} <= set(piv.columns):
            out[name] = {"n": 0, "mean": np.nan, "low": np.nan, "high": np.nan}
            continue
        diff = piv["sgd"] - piv["convex"]
        if relative:
            diff = diff / piv["convex"].abs()
        diff = diff[np.isfinite(diff)]
        mean, lo, hi = mean_ci(diff.to_numpy())
        out[name] = {"n": int(diff.size), "mean": mean, "low": lo, "high": hi}
    return out


def _fmt_sets(per: dict[str, dict[str, Any]], labels: dict[str, str]) -> str:
    return "; ".join(
        f"{k}: {labels[k]} {v['mean']:+.3g} [{v['low']:+.3g}, {v['high']:+.3g}] (n={v['n']})"
        for k, v in per.items()
    )


def decide_table1_train(df: pd.DataFrame) -> CheckResult:
    """E3 on Table 1 rows: ``dataset``, ``cluster``, ``method`` (sgd/convex),
    ``train_objective`` (failed rows already removed)."""
    measured = "(SGD - convex) / convex training objective per set, mean [95% CI]"
    predicted = "convex <= SGD on every set"
    per = _per_set(df, "train_objective", relative=True)
    labels = {}
    for k, v in per.items():
        if v["n"] < MIN_CLUSTERS:
            labels[k] = "INCONCLUSIVE"
        elif v["low"] >= 0:
            labels[k] = "PASS"
        elif v["high"] < 0:
            labels[k] = "FAIL"
        else:
            labels[k] = "INCONCLUSIVE"
    text = _fmt_sets(per, labels)
    details = {"per_set": per}
    if "FAIL" in labels.values():
        return CheckResult("FAIL", measured, predicted, text, details)
    if all(v == "PASS" for v in labels.values()):
        return CheckResult("PASS", measured, predicted, text, details)
    return CheckResult("INCONCLUSIVE", measured, predicted, text, details)


def decide_table1_test(df: pd.DataFrame) -> CheckResult:
    """E4 on Table 1 rows: as :func:`decide_table1_train` with ``test_error``."""
    measured = "SGD - convex test error per set, mean [95% CI]"
    predicted = "convex lower on >= 5 of 6 sets"
    per = _per_set(df, "test_error", relative=False)
    labels = {}
    for k, v in per.items():
        if v["n"] >= MIN_CLUSTERS and v["low"] > 0:
            labels[k] = "lower"
        elif v["n"] >= MIN_CLUSTERS and v["high"] < 0:
            labels[k] = "higher"
        else:
            labels[k] = "undecided"
    n_lower = sum(v == "lower" for v in labels.values())
    n_und = sum(v == "undecided" for v in labels.values())
    text = f"convex lower on {n_lower}, undecided on {n_und} of 6: " + _fmt_sets(per, labels)
    details = {"per_set": per, "n_lower": n_lower, "n_undecided": n_und}
    if n_lower >= 5:
        return CheckResult("PASS", measured, predicted, text, details)
    if n_lower + n_und < 5:
        return CheckResult("FAIL", measured, predicted, text, details)
    return CheckResult("INCONCLUSIVE", measured, predicted, text, details)


def decide_fig4(df: pd.DataFrame) -> CheckResult:
    """E5 on run rows joined with their solve: ``K``, ``final_objective``, ``p13``,
    ``status``, ``solve_status``."""
    measured = f"runs ending within {REACH_RTOL:.0%} of p13, smallest vs largest K"
    predicted = "small K: some runs stuck above p13; large K: >= 90% reach p13"
    ok = (df["status"] == "ok") & (df["solve_status"] == "optimal")
    use = df[ok & np.isfinite(df["final_objective"]) & np.isfinite(df["p13"])]
    n_excl = int(len(df) - len(use))
    if use.empty:
        return CheckResult("INCONCLUSIVE", measured, predicted, "no usable runs", {})
    reach = use["final_objective"] <= use["p13"] * (1 + REACH_RTOL)
    k_min, k_max = use["K"].min(), use["K"].max()
    r_min, n_min = int(reach[use["K"] == k_min].sum()), int((use["K"] == k_min).sum())
    r_max, n_max = int(reach[use["K"] == k_max].sum()), int((use["K"] == k_max).sum())
    s_min, s_max = n_min - r_min, n_max - r_max
    info: dict[str, Any] = {
        "K_min": float(k_min),
        "K_max": float(k_max),
        "stuck_small_K": s_min,
        "runs_small_K": n_min,
        "reach_large_K": r_max,
        "runs_large_K": n_max,
        "n_excluded": n_excl,
    }
    text = (
        f"K={k_min:g}: {s_min}/{n_min} stuck; K={k_max:g}: {r_max}/{n_max} reach"
        f"{_note(n_excl, 'failed runs')}"
    )
    if k_min == k_max or n_min < 5 or n_max < 5:
        return CheckResult(
            "INCONCLUSIVE", measured, predicted, f"too few runs or one K: {text}", info
        )
    large = binomial_rule(r_max, n_max, REACH_LEVEL, measured=measured, predicted=predicted)
    p = float(stats.fisher_exact([[s_min, r_min], [s_max, r_max]], alternative="greater").pvalue)
    info["fisher_p"] = p
    stuck_hi = 1.0 if s_min == n_min else float(stats.beta.ppf(0.975, s_min + 1, n_min - s_min))
    info["stuck_small_K_ci_high"] = stuck_hi
    text += f"; Fisher one-sided p = {p:.3g}"
    if large.verdict == "FAIL":
        return CheckResult("FAIL", measured, predicted, f"large K does not reach: {text}", info)
    if stuck_hi < STUCK_FLOOR:
        return CheckResult("FAIL", measured, predicted, f"small K never stuck: {text}", info)
    if p < 0.05:
        return CheckResult("PASS", measured, predicted, text, info)
    return CheckResult("INCONCLUSIVE", measured, predicted, text, info)


def decide_fmnist(df: pd.DataFrame) -> CheckResult:
    """E6 on run rows: ``cluster``, ``method``, ``test_accuracy``, ``status``."""
    measured = "test accuracy (16)-Adam minus best of (5)-SGD/Adam per seed, mean [95% CI]"
    predicted = f"(16) at least as accurate (>= -{ACC_MARGIN:g})"
    ok = df[df["status"] == "ok"]
    piv = ok.pivot_table(index="cluster", columns="method", values="test_accuracy")
    nonconvex = [c for c in ("nonconvex_sgd", "nonconvex_adam") if c in piv.columns]
    if "convex16_adam" not in piv.columns or not nonconvex:
        return CheckResult("INCONCLUSIVE", measured, predicted, "methods missing", {})
    diff = (piv["convex16_adam"] - piv[nonconvex].max(axis=1)).dropna()
    mean, lo, hi = mean_ci(diff.to_numpy())
    info = {"n": int(diff.size), "mean": mean, "low": lo, "high": hi}
    text = f"{mean:+.3g} [{lo:+.3g}, {hi:+.3g}] over {diff.size} seeds"
    if diff.size < MIN_CLUSTERS:
        return CheckResult("INCONCLUSIVE", measured, predicted, f"too few seeds: {text}", info)
    if lo >= -ACC_MARGIN:
        return CheckResult("PASS", measured, predicted, text, info)
    if hi < -ACC_MARGIN:
        return CheckResult("FAIL", measured, predicted, text, info)
    return CheckResult("INCONCLUSIVE", measured, predicted, text, info)


# --------------------------------------------------------------------------- table prep
def _cluster(df: pd.DataFrame) -> pd.Series:
    cols = [c for c in ("fold", "seed_index", "seed") if c in df.columns]
    if not cols:
        return pd.Series(np.arange(len(df)), index=df.index).astype(str)
    return df[cols].astype(str).agg("/".join, axis=1)


def _point_key(df: pd.DataFrame) -> str:
    return "cache_key" if "cache_key" in df.columns else "point_key"


def runs_with_solve(df: pd.DataFrame) -> pd.DataFrame:
    """Run rows with ``p13``, ``dual_bound``, ``solve_status`` of their point's solve."""
    key = _point_key(df)
    conv = df[df["record"] == "convex"][[key, "p13", "dual_bound", "solve_status"]]
    runs = df[df["record"] == "run"].drop(
        columns=[c for c in ("p13", "dual_bound", "solve_status") if c in df.columns]
    )
    return runs.merge(conv, on=key, how="left")


def table1_rows(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, cluster, method in {sgd, convex}) of Table 1; failed solves
    and SGD points without a best run are dropped (their count is in ``attrs``)."""
    conv = df[df["record"] == "convex"].copy()
    n_bad = int((conv["solve_status"] != "optimal").sum())
    conv = conv[conv["solve_status"] == "optimal"]
    conv["method"] = "convex"
    sgd = df[(df["record"] == "run") & (df.get("is_best", False) == True)].copy()  # noqa: E712
    sgd["method"] = "sgd"
    out = pd.concat([conv, sgd], ignore_index=True)
    out["cluster"] = _cluster(out)
    out.attrs["n_failed_solves"] = n_bad
    return out[["dataset", "cluster", "method", "train_objective", "test_error"]].assign(
        n_train=out.get("n_train"), d=out.get("d")
    )


# --------------------------------------------------------------------------- registry
def _with_failed(res: CheckResult, info: dict[str, Any]) -> CheckResult:
    n = int(info.get("n_failed_points", 0))
    if not n:
        return res
    verdict = "INCONCLUSIVE" if res.verdict == "PASS" else res.verdict
    return CheckResult(
        verdict,
        res.measured,
        res.predicted,
        f"{res.explanation}; {n} failed points excluded",
        {**res.details, **info},
    )


@register_check(
    "E1",
    title="Prop. 1: the mapped network reproduces the convex optimum",
    claim="The weights built from a solution of (13) are feasible for (5) and attain p13.",
    source="Ergen & Pilanci 2021, Thm 1 / Prop. 1 / A.5 (THEORY.md Part B)",
    experiments=("deep_synthetic", "deep_uci"),
    measured="|(5) at mapped weights - p13| / max(1, p13); max ||W_1k||_F",
    predicted=f"<= {MAP_RTOL:g}; <= 1",
    rule="hard: any optimal solve beyond tolerance is FAIL; < 3 optimal solves INCONCLUSIVE",
)
def check_e1(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """E1: module docstring."""
    frames, info = [], {"n_failed_points": 0}
    for name in ("deep_synthetic", "deep_uci"):
        df, _reason, inf = usable_rows(tables, name, ["record"])
        info["n_failed_points"] += inf["n_failed_points"]
        if df is not None:
            frames.append(df[df["record"] == "convex"])
    if not frames:
        return CheckResult("NOT-RUN", "mapped value", "= p13", "no deep results")
    return _with_failed(decide_mapping(pd.concat(frames, ignore_index=True)), info)


@register_check(
    "E2",
    title="Thm 1: no trained network ends below the convex optimum",
    claim="On arrangements containing a network's patterns, (13) lower-bounds (5) at it.",
    source="Ergen & Pilanci 2021, Thm 1 (THEORY.md Part B)",
    experiments=("deep_synthetic", "deep_uci"),
    measured="final (5) of covered SGD runs vs certified dual bound of (13)",
    predicted=">= p13",
    rule="hard: any covered run below the certified bound (1e-6 rel.) is FAIL; uncovered "
    "runs excluded and counted; < 3 covered runs INCONCLUSIVE",
)
def check_e2(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """E2: module docstring."""
    frames, info = [], {"n_failed_points": 0}
    for name in ("deep_synthetic", "deep_uci"):
        df, _reason, inf = usable_rows(tables, name, ["record"])
        info["n_failed_points"] += inf["n_failed_points"]
        if df is not None:
            frames.append(runs_with_solve(df))
    if not frames:
        return CheckResult("NOT-RUN", "final objective", ">= p13", "no deep results")
    return _with_failed(decide_thm1(pd.concat(frames, ignore_index=True)), info)


@register_check(
    "E3",
    title="Table 1: convex training objective <= SGD's",
    claim="The convex program reaches a lower training objective than SGD on all six sets.",
    source="Ergen & Pilanci 2021, Table 1 (THEORY.md Part B)",
    experiments=("deep_uci",),
    measured="(SGD - convex)/convex training objective per set (splits x seeds)",
    predicted=">= 0 on every set",
    rule="per set bootstrap 95% CI: low >= 0 PASS, high < 0 FAIL; all six PASS -> PASS",
)
def check_e3(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """E3: module docstring."""
    df, reason, info = usable_rows(tables, "deep_uci", ["record", "dataset"])
    if df is None:
        return CheckResult("NOT-RUN", "training objective", "convex <= SGD", reason)
    return _with_failed(decide_table1_train(table1_rows(df)), info)


@register_check(
    "E4",
    title="Table 1: convex test error lower on 5 of 6 sets",
    claim="The convex program has the lower test error on five of the six sets.",
    source="Ergen & Pilanci 2021, Table 1 (THEORY.md Part B)",
    experiments=("deep_uci",),
    measured="SGD - convex test error per set (splits x seeds)",
    predicted="> 0 on >= 5 sets",
    rule="per set bootstrap 95% CI: lower / higher / undecided; >= 5 lower PASS, "
    "lower + undecided < 5 FAIL",
)
def check_e4(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """E4: module docstring."""
    df, reason, info = usable_rows(tables, "deep_uci", ["record", "dataset"])
    if df is None:
        return CheckResult("NOT-RUN", "test error", "convex lower", reason)
    return _with_failed(decide_table1_test(table1_rows(df)), info)


@register_check(
    "E5",
    title="Fig. 4: small K gets stuck, large K reaches the convex optimum",
    claim="SGD with few sub-networks gets stuck above p13; with many, all trials reach it.",
    source="Ergen & Pilanci 2021, Fig. 4 / Sec. 3 (THEORY.md Part B)",
    experiments=("deep_synthetic",),
    measured=f"runs within {REACH_RTOL:.0%} of p13 at smallest and largest K",
    predicted="stuck at small K more often than at large K; >= 90% reach at large K",
    rule="Fisher one-sided p < 0.05 and large-K reach rate not below 0.9 (Clopper-Pearson)",
)
def check_e5(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """E5: module docstring."""
    df, reason, info = usable_rows(tables, "deep_synthetic", ["record", "arrangement"])
    if df is None:
        return CheckResult("NOT-RUN", "reach rate", "large K reaches", reason)
    runs = runs_with_solve(df)
    return _with_failed(decide_fig4(runs[runs["arrangement"] == "sampled"]), info)


@register_check(
    "E6",
    title="Fig. 5/6: the penalised convex program (16) is at least as accurate",
    claim="Training on the convex formulation reaches at least the accuracy of (5).",
    source="Ergen & Pilanci 2021, Fig. 5/6, A.1 (THEORY.md Part B)",
    experiments=("deep_fmnist",),
    measured="test accuracy (16)-Adam minus best of (5)-SGD/Adam, per seed",
    predicted=f">= -{ACC_MARGIN:g}",
    rule="bootstrap 95% CI: low >= -0.01 PASS, high < -0.01 FAIL, < 3 seeds INCONCLUSIVE",
)
def check_e6(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """E6: module docstring."""
    df, reason, info = usable_rows(tables, "deep_fmnist", ["record", "method"])
    if df is None:
        return CheckResult("NOT-RUN", "test accuracy", "(16) >= (5)", reason)
    runs = df[df["record"] == "run"].copy()
    runs["cluster"] = _cluster(runs)
    return _with_failed(decide_fmnist(runs), info)
