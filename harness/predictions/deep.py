"""Checks E1-E6: the claims of Ergen & Pilanci (ICML 2021), THEORY.md Part B.

Each check is a thin wrapper around a small decision function taking the usable rows, so
the rules are tested on hand-made tables (``tests/deep/test_deep_checks.py``, registry level
``tests/predictions/test_predictions_deep.py``) that must PASS, must FAIL and must be
INCONCLUSIVE. The wrapper builds the evidence frame (:mod:`harness.predictions.evidence`):
failed points, NaN measurements, non-optimal solves of (13) and diverged runs are removed and
listed in the exclusion ledger, and the registry's one policy withholds a PASS they could
change. Rows outside a claim by design (uncovered runs for E2) are listed as ``scope``. The
paired checks (E3/E4 per split x seed, E6 per seed) remove a cluster that lost a side
whole and list every row of it: no row is dropped unrecorded. A column a check reads that
the table lacks is missing data (NOT-RUN, or rows listed as ``missing``/``no-status``),
never an exception.

* **E1** (hard, Prop. 1): on every optimal solve of (13), ``|(5) at the mapped weights -
  p13| <= 1e-6 max(1, p13)`` and ``max_k ||W_1k||_F <= 1 + 1e-9``. Any violation: FAIL;
  fewer than :data:`MIN_ROWS` optimal solves: INCONCLUSIVE.
* **E2** (hard, Thm 1): a training run whose final (Lemma-1-rebalanced) network lies in the
  arrangement set (``covered``) ends at or above the optimum of (13): its objective must
  be >= the certified dual bound of (13) up to ``1e-6`` relative
  (:func:`harness.predictions.rules.hard_inequality`). Uncovered runs are outside the
  theorem's statement (listed as ``scope``); fewer than :data:`MIN_ROWS` covered runs:
  INCONCLUSIVE.
* **E3** (Table 1, training objective): per data set the paired relative difference
  ``(SGD - convex) / |convex|`` over splits x seeds, mean with a bootstrap 95 % interval.
  A set PASSes when the interval's low end is >= 0, FAILs when its high end is < 0, else
  is INCONCLUSIVE (also with fewer than 3 splits). Verdict: FAIL if any set fails, PASS if
  all six pass, else INCONCLUSIVE. A split without a best SGD run or a convex solve, with
  more than one row of a method, or with a zero convex objective (relative difference
  undefined) is listed as ``missing`` and withholds a PASS.
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

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from harness.predictions import CheckResult, register_check
from harness.predictions.evidence import Evidence, arr, combine, flag, frame, not_run
from harness.predictions.rules import binomial_rule, hard_inequality

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
#: Fig. 4: runs needed at the smallest and at the largest K.
MIN_RUNS_PER_K = 5
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


def _arr(df: pd.DataFrame, col: str) -> np.ndarray:
    """Column as a float array; all NaN when the table lacks it (missing data, not an error)."""
    return arr(df, col) if col in df.columns else np.full(len(df), np.nan)


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


# --------------------------------------------------------------------------- decisions
def decide_mapping(df: pd.DataFrame) -> CheckResult:
    """E1 on usable convex rows (optimal, finite): ``mapping_rel_err``, ``W1_max_norm``."""
    measured = "|(5)(mapped) - p13| / max(1, p13) and max ||W_1k||_F"
    predicted = f"<= {MAP_RTOL:g} and <= 1"
    err, norm = _arr(df, "mapping_rel_err"), _arr(df, "W1_max_norm")
    kw: dict[str, Any] = {"rtol": 0.0, "measured": "", "predicted": "", "min_count": MIN_ROWS}
    parts = [
        ("mapped value", hard_inequality(err, np.full(err.shape, MAP_RTOL), atol=0.0, **kw)),
        ("||W_1k||_F <= 1", hard_inequality(norm, np.ones(norm.shape), atol=NORM_TOL, **kw)),
    ]
    info: dict[str, Any] = {"n_solves": len(df)}
    if len(df):
        info.update(worst_rel_err=float(np.nanmax(err)), max_norm=float(np.nanmax(norm)))
    return _no_rows_inconclusive(combine(parts, measured, predicted, info), len(df), "solves")


def decide_thm1(df: pd.DataFrame) -> CheckResult:
    """E2 on usable covered runs joined with their solve: ``final_objective``,
    ``dual_bound``."""
    measured = "final objective (5) of covered runs vs certified lower bound of p13"
    predicted = "final objective >= p13 (Thm 1)"
    res = hard_inequality(
        _arr(df, "dual_bound"),
        _arr(df, "final_objective"),
        rtol=THM1_RTOL,
        measured=measured,
        predicted=predicted,
        min_count=MIN_ROWS,
    )
    res = CheckResult(
        res.verdict, measured, predicted, res.explanation, {"n_covered": len(df), **res.details}
    )
    return _no_rows_inconclusive(res, len(df), "covered runs")


def _no_rows_inconclusive(res: CheckResult, n: int, what: str) -> CheckResult:
    """A rule that could not compare anything on usable rows is INCONCLUSIVE, not NOT-RUN
    (the experiment ran; its rows were excluded or too few)."""
    if res.verdict != "NOT-RUN":
        return res
    return CheckResult(
        "INCONCLUSIVE", res.measured, res.predicted, f"{n} usable {what}: {res.explanation}",
        res.details,
    )  # fmt: skip


def _per_set(df: pd.DataFrame, column: str, relative: bool) -> dict[str, dict[str, Any]]:
    """Paired ``sgd - convex`` statistic per data set (one value per split x seed)."""
    out: dict[str, dict[str, Any]] = {}
    for name in TABLE1_SETS:
        g = df[df["dataset"] == name]
        piv = g.pivot_table(index="cluster", columns="method", values=column, aggfunc="first")
        if not {"sgd", "convex"} <= set(piv.columns):
            n_all = len(piv)
            out[name] = {"n": 0, "mean": np.nan, "low": np.nan, "high": np.nan, "unpaired": n_all}
            continue
        diff = piv["sgd"] - piv["convex"]
        if relative:
            diff = diff / piv["convex"].abs()
        n_all = int(diff.size)
        diff = diff[np.isfinite(diff)]
        mean, lo, hi = mean_ci(diff.to_numpy())
        out[name] = {
            "n": int(diff.size), "mean": mean, "low": lo, "high": hi,
            "unpaired": n_all - int(diff.size),
        }  # fmt: skip
    return out


def _fmt_sets(per: dict[str, dict[str, Any]], labels: dict[str, str]) -> str:
    def n_text(v: dict[str, Any]) -> str:
        return f"n={v['n']}" + (f", {v['unpaired']} unpaired" if v.get("unpaired") else "")

    return "; ".join(
        f"{k}: {labels[k]} {v['mean']:+.3g} [{v['low']:+.3g}, {v['high']:+.3g}] ({n_text(v)})"
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
    """E5 on usable run rows (sampled arrangements, optimal solve, run ok) joined with
    their solve: ``K``, ``final_objective``, ``p13``."""
    measured = f"runs ending within {REACH_RTOL:.0%} of p13, smallest vs largest K"
    predicted = "small K: some runs stuck above p13; large K: >= 90% reach p13"
    if df.empty:
        return CheckResult("INCONCLUSIVE", measured, predicted, "no usable runs", {})
    ok = (
        (df["status"].astype(str) == "ok").to_numpy()
        if "status" in df.columns
        else np.ones(len(df), bool)
    )
    with np.errstate(invalid="ignore"):
        reach = ok & (_arr(df, "final_objective") <= _arr(df, "p13") * (1 + REACH_RTOL))
    K = _arr(df, "K")
    k_min, k_max = float(np.min(K)), float(np.max(K))
    # A diverged run neither counts as stuck at small K (it is left out there) nor as
    # reaching at large K (it counts as not reaching): both choices work against a PASS.
    small, large_K = (K == k_min) & ok, K == k_max
    r_min, n_min = int(reach[small].sum()), int(small.sum())
    r_max, n_max = int(reach[large_K].sum()), int(large_K.sum())
    s_min, s_max = n_min - r_min, n_max - r_max
    info: dict[str, Any] = {
        "K_min": k_min,
        "K_max": k_max,
        "stuck_small_K": s_min,
        "runs_small_K": n_min,
        "reach_large_K": r_max,
        "runs_large_K": n_max,
    }
    text = f"K={k_min:g}: {s_min}/{n_min} stuck; K={k_max:g}: {r_max}/{n_max} reach"
    d_min, d_max = int(((K == k_min) & ~ok).sum()), int((large_K & ~ok).sum())
    if d_min or d_max:
        text += (
            f" (diverged runs: {d_min} left out at K={k_min:g}, "
            f"{d_max} counted as not reaching at K={k_max:g})"
        )
    info.update(diverged_small_K=d_min, diverged_large_K=d_max)
    if k_min == k_max or n_min < MIN_RUNS_PER_K or n_max < MIN_RUNS_PER_K:
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
    if p < 0.05 and large.verdict == "PASS":
        return CheckResult("PASS", measured, predicted, text, info)
    if large.verdict != "PASS":
        text += f"; large-K reach rate not shown >= {REACH_LEVEL:g}: {large.explanation}"
    return CheckResult("INCONCLUSIVE", measured, predicted, text, info)


def decide_fmnist(df: pd.DataFrame) -> CheckResult:
    """E6 on usable run rows (status ok, finite accuracy): ``cluster``, ``method``,
    ``test_accuracy``."""
    measured = "test accuracy (16)-Adam minus best of (5)-SGD/Adam per seed, mean [95% CI]"
    predicted = f"(16) at least as accurate (>= -{ACC_MARGIN:g})"
    if not {"cluster", "method", "test_accuracy"} <= set(df.columns):
        return CheckResult(
            "INCONCLUSIVE", measured, predicted, "no column 'test_accuracy' or 'method'", {}
        )
    piv = df.pivot_table(index="cluster", columns="method", values="test_accuracy")
    nonconvex = ["nonconvex_sgd", "nonconvex_adam"]
    missing = [c for c in ("convex16_adam", *nonconvex) if c not in piv.columns]
    if missing:
        return CheckResult("INCONCLUSIVE", measured, predicted, f"methods missing: {missing}", {})
    # a seed missing one of the baselines is dropped, not compared with the other alone
    diff = (piv["convex16_adam"] - piv[nonconvex].max(axis=1, skipna=False)).dropna()
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
#: Columns naming a cluster (split x seed) of Table 1 / Fig. 5-6.
CLUSTER_COLS = ("fold", "seed_index", "seed")


def _cluster(df: pd.DataFrame) -> pd.Series:
    cols = [c for c in CLUSTER_COLS if c in df.columns]
    if not cols or df.empty:
        return pd.Series(np.arange(len(df)), index=df.index, dtype=object).astype(str)
    return df[cols].astype(str).agg("/".join, axis=1)


def _point_key(df: pd.DataFrame) -> str:
    return "cache_key" if "cache_key" in df.columns else "point_key"


SOLVE_COLS = ("p13", "dual_bound", "solve_status")


def runs_with_solve(df: pd.DataFrame) -> pd.DataFrame:
    """Run rows with ``p13``, ``dual_bound``, ``solve_status`` of their point's solve.

    A solve column the table lacks stays absent (the check's evidence frame lists it as
    missing); the table must have ``cache_key`` or ``point_key``.
    """
    key = _point_key(df)
    have = [c for c in SOLVE_COLS if c in df.columns]
    conv = df[df["record"] == "convex"][[key, *have]]
    runs = df[df["record"] == "run"].drop(columns=have)
    return runs.merge(conv, on=key, how="left")


def table1_rows(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, cluster, method in {sgd, convex}) of Table 1 from usable rows
    (convex solves and best SGD runs; exclusions are the evidence frame's job)."""
    conv = df[df["record"] == "convex"].assign(method="convex")
    sgd = df[(df["record"] == "run") & _is_best(df)].assign(method="sgd")
    out = pd.concat([conv, sgd], ignore_index=True)
    out["cluster"] = _cluster(out)
    cols = ["dataset", "cluster", "method", "train_objective", "test_error"]
    # a measurement the table lacks is NaN here (the check lists it as missing)
    return out.reindex(columns=cols).assign(n_train=out.get("n_train"), d=out.get("d"))


def _is_best(df: pd.DataFrame) -> np.ndarray:
    return flag(df["is_best"]) if "is_best" in df.columns else np.zeros(len(df), bool)


# --------------------------------------------------------------------------- evidence
def _record(df: pd.DataFrame, record: str) -> np.ndarray:
    return np.asarray((df["record"].astype(str) == record).to_numpy())


def _runs_ok(ev: Evidence) -> Evidence:
    """Remove diverged training runs (the training analogue of a non-optimal solve)."""
    if "status" not in ev.rows.columns:
        return ev.exclude(np.ones(len(ev.rows), bool), "no-status", "no column 'status'")
    bad = (ev.rows["status"].astype(str) != "ok").to_numpy()
    return ev.exclude(bad, "non-optimal", "training run diverged")


def _joined(ev: Evidence) -> Evidence:
    """The run rows of ``ev`` joined with their point's solve (``p13``, ``dual_bound``,
    ``solve_status``); the row count is that of the joined table plus the failed points.
    Without a point key column the runs cannot be joined: all are listed as missing."""
    n_failed = sum(e.rows for e in ev.ledger if e.kind == "failed")
    if not {"cache_key", "point_key"} & set(ev.rows.columns):
        runs = ev.rows[_record(ev.rows, "run")]
        ev = replace(ev, rows=runs, n_total=len(runs) + n_failed)
        why = "no column 'cache_key' or 'point_key' (runs cannot be joined with their solve)"
        return ev.exclude(np.ones(len(runs), bool), "missing", why)
    rows = runs_with_solve(ev.rows)
    return replace(ev, rows=rows, n_total=len(rows) + n_failed)


def _judged(res: CheckResult, evs: list[Evidence]) -> CheckResult:
    """``res`` with the ledgers of ``evs`` (read by the registry's policy)."""
    details = {**res.details, "evidence": [e.summary() for e in evs]}
    return CheckResult(res.verdict, res.measured, res.predicted, res.explanation, details)


DEEP_RUNS = ("deep_synthetic", "deep_uci")


# --------------------------------------------------------------------------- registry
def _drop_splits(ev: Evidence, bad: np.ndarray, kind: str, reason: str) -> Evidence:
    """Remove every row of the clusters (``_split``: E3/E4 split x seed, E6 seed) that hold a
    ``bad`` row, and list them: the checks compare paired rows, so a cluster that loses one
    side loses all."""
    split = ev.rows["_split"]
    return ev.exclude(split.isin(split[np.asarray(bad, bool)]).to_numpy(), kind, reason)


def _table1_evidence(tables: Mapping[str, pd.DataFrame], column: str, relative: bool) -> Evidence:
    """Table 1 pairs of ``deep_uci`` (convex solve and best SGD run of one split x seed)
    with ``column`` usable; a data set without usable rows withholds a PASS (group
    ``dataset``). Every selected row is either in a complete pair or in the ledger: a split
    with a non-optimal solve, a NaN, a zero convex value (``relative``), no best SGD run,
    no convex solve or more than one row of a method is removed and listed."""
    ev = frame(
        tables,
        "deep_uci",
        ["record", "dataset", column],
        select=lambda d: _record(d, "convex") | (_record(d, "run") & _is_best(d)),
        group_keys=("dataset",),
    )
    if ev.reason:
        return ev
    if not set(CLUSTER_COLS) & set(ev.rows.columns):
        cols = ", ".join(CLUSTER_COLS)
        return replace(ev, reason=f"'deep_uci' lacks split columns ({cols}): cannot pair rows")
    rows = ev.rows
    ev = replace(ev, rows=rows.assign(_split=rows["dataset"].astype(str) + "|" + _cluster(rows)))
    conv = _record(ev.rows, "convex")
    if "solve_status" not in ev.rows.columns:
        why = "no column 'solve_status' (status unknown; split dropped)"
        ev = _drop_splits(ev, conv, "no-status", why)
    else:
        bad = conv & (ev.rows["solve_status"].astype(str) != "optimal").to_numpy()
        ev = _drop_splits(ev, bad, "non-optimal", "solve_status not optimal (split dropped)")
    ev = _drop_splits(ev, ~np.isfinite(arr(ev.rows, column)), "missing", f"NaN in {column}")
    if relative:
        zero = _record(ev.rows, "convex") & (arr(ev.rows, column) == 0)
        why = f"convex {column} = 0 (relative difference undefined; split dropped)"
        ev = _drop_splits(ev, zero, "missing", why)
    method = np.where(_record(ev.rows, "convex"), "convex", "sgd")
    dup = pd.Series(list(zip(ev.rows["_split"], method))).duplicated(keep=False).to_numpy()
    ev = _drop_splits(ev, dup, "missing", "more than one row of a method in the split")
    conv = _record(ev.rows, "convex")
    split = ev.rows["_split"]
    ev = ev.exclude(conv & ~split.isin(split[~conv]).to_numpy(), "missing",
                    "split without a best SGD run")  # fmt: skip
    conv = _record(ev.rows, "convex")
    split = ev.rows["_split"]
    return ev.exclude(~conv & ~split.isin(split[conv]).to_numpy(), "missing",
                      "best SGD run without a convex solve")  # fmt: skip


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
    evs = []
    for name in DEEP_RUNS:
        ev = frame(tables, name, ["record"], select=lambda d: _record(d, "convex"))
        if ev.usable:
            ev = ev.optimal("solve_status").finite("mapping_rel_err", "W1_max_norm")
        evs.append(ev)
    if not any(e.usable or (not e.reason and e.ledger) for e in evs):
        return not_run("mapped value", "= p13", evs[0], "no deep results")
    rows = pd.concat([e.rows for e in evs if not e.reason], ignore_index=True)
    return _judged(decide_mapping(rows), evs)


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
    evs = []
    for name in DEEP_RUNS:
        ev = frame(tables, name, ["record"], select=lambda d: ~_record(d, "trace"))
        if ev.usable:
            ev = _runs_ok(_joined(ev)).optimal("solve_status")
            ev = ev.finite("final_objective", "dual_bound")
            if len(ev.rows):
                cov = ev.rows.get("covered", pd.Series(np.nan, index=ev.rows.index))
                ev = ev.exclude(cov.isna().to_numpy(), "missing", "coverage unknown (NaN)")
            if len(ev.rows):
                ev = ev.scope(flag(ev.rows["covered"]), "run not covered by the arrangements")
        evs.append(ev)
    if not any(e.usable or (not e.reason and e.ledger) for e in evs):
        return not_run("final objective", ">= p13", evs[0], "no deep results")
    rows = pd.concat([e.rows for e in evs if not e.reason], ignore_index=True)
    return _judged(decide_thm1(rows), evs)


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
    return _table1_check(tables, "train_objective", decide_table1_train, "convex <= SGD")


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
    return _table1_check(tables, "test_error", decide_table1_test, "convex lower")


def _table1_check(
    tables: Mapping[str, pd.DataFrame],
    column: str,
    decide: Callable[[pd.DataFrame], CheckResult],
    predicted: str,
) -> CheckResult:
    """E3/E4: the Table 1 pairs of ``column`` through the evidence frame, then ``decide``
    (on no usable pair: INCONCLUSIVE per set, with the ledger)."""
    ev = _table1_evidence(tables, column, relative=column == "train_objective")
    if ev.reason:
        return not_run(column.replace("_", " "), predicted, ev)
    return _judged(decide(table1_rows(ev.rows)), [ev])


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
    ev = frame(
        tables,
        "deep_synthetic",
        ["record", "arrangement", "final_objective"],
        select=lambda d: ~_record(d, "trace") & (d["arrangement"].astype(str) == "sampled"),
    )
    if not ev.usable:
        return not_run("reach rate", "large K reaches", ev)
    ev = _joined(ev).optimal("solve_status").finite("p13", "K")
    if "status" not in ev.rows.columns:  # diverged runs cannot be told apart
        why = "no column 'status' (diverged runs unknown)"
        ev = ev.exclude(np.ones(len(ev.rows), bool), "no-status", why)
    return _judged(decide_fig4(ev.rows), [ev])


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
    ev = frame(
        tables, "deep_fmnist", ["record", "method", "test_accuracy"],
        select=lambda d: _record(d, "run"),
    )  # fmt: skip
    if not ev.usable:
        return not_run("test accuracy", "(16) >= (5)", ev)
    ev = _fmnist_evidence(replace(ev, rows=ev.rows.assign(_split=_cluster(ev.rows))))
    return _judged(decide_fmnist(ev.rows.assign(cluster=ev.rows["_split"])), [ev])


FMNIST_METHODS = ("convex16_adam", "nonconvex_sgd", "nonconvex_adam")


def _fmnist_evidence(ev: Evidence) -> Evidence:
    """E6 seeds (``_split``) with all three methods usable; a seed that loses one (diverged,
    NaN, absent) is removed whole and listed, so no seed is dropped unrecorded."""
    if "status" not in ev.rows.columns:
        return ev.exclude(np.ones(len(ev.rows), bool), "no-status", "no column 'status'")
    bad = (ev.rows["status"].astype(str) != "ok").to_numpy()
    ev = _drop_splits(ev, bad, "non-optimal", "training run diverged (seed dropped)")
    bad = ~np.isfinite(arr(ev.rows, "test_accuracy"))
    ev = _drop_splits(ev, bad, "missing", "NaN in test_accuracy (seed dropped)")
    ev = ev.exclude(~ev.rows["method"].isin(FMNIST_METHODS).to_numpy(), "scope",
                    "method not compared by E6")  # fmt: skip
    have = ev.rows.groupby("_split")["method"].nunique()
    partial = ev.rows["_split"].map(have).to_numpy() < len(FMNIST_METHODS)
    return ev.exclude(partial, "missing", "seed without all of (16)-Adam, SGD and Adam")
