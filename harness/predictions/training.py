"""Checks P15 (coupling lemma, Figure 2) and P18 (effect of regularisation, Appendix E).

THEORY.md "Testable predictions" rows P15 and P18; the experiments are the kinds
``coupling`` (:mod:`harness.kinds.coupling`) and ``regularization``
(:mod:`harness.kinds.regularization`). Rows come from the evidence frame
(:mod:`harness.predictions.evidence`): failed points, diverged runs, non-optimal solves and
NaN measurements are removed and listed, and the one exclusion policy applies.

Decision rules (our reading of the claims; thresholds are module constants):

* **P15** ((A2), Lemma 2.4, Figure 2). A *run* is one final row (``final == True``) of
  the ``coupling`` table, i.e. one (point, seed). (a) For every (dataset, width ``m``), and
  pooled over the widths of a dataset, the runs whose final ``frac_neuron >= 1/2`` are
  counted; "(A2) holds with high probability" is read as "in at least
  :data:`P15_RUN_LEVEL` = 90 % of runs", tested with
  :func:`harness.predictions.rules.binomial_rule` (FAIL when the 95 % Clopper–Pearson
  interval lies below 0.9; PASS only when the frequency is >= 0.9 and the lower end >= 0.8).
  Per width only a FAIL counts (a width significantly below the level); the pooled test
  carries the power of a PASS. Lemma 2.4 is a statement about wide networks, so (a) is
  decided on the widths the lemma covers: rows with ``lemma_covered == False`` (width
  below the spec's ``lemma_min_width``) are listed as out of scope, not held against it
  (tables without the column: every width counts). The *crossing width* per (dataset, n,
  method, lr) — the smallest tested ``m`` from which every wider width has >= 90 % of runs
  with ``frac_neuron >= 1/2`` — is reported (``details["crossing_width"]``), not tested.
  (b) "The fraction increases with width": on ALL widths, for every (dataset, method, lr,
  and n / lr scaling when they vary) the
  least-squares slope of final ``frac_neuron`` against ``log m`` with a seed bootstrap 95 %
  interval: PASS when the whole interval is >= 0, FAIL when it is < 0, INCONCLUSIVE
  otherwise or below the scaling design (>= 4 widths spanning x8, >= 3 seeds). Verdict:
  FAIL if any part fails; INCONCLUSIVE if any part is inconclusive or an expected dataset is
  absent; PASS otherwise.
* **P18** (Appendix E). A *curve* is one (dataset, P, formulation, n, d) setting; its spread
  is ``max - min`` over ``beta_rel`` of the median (over seeds) test accuracy, a statistic
  biased upward by seed noise. The statistic of a dataset is the median of its curves'
  spreads, with a seed-bootstrap 95 % interval and a permutation p-value against "beta has
  no effect" (beta labels shuffled within each seed, :func:`~harness.predictions.rules.
  effect_vs_noise`). The paper reports spreads of "up to about 5 %" (synthetic) and "about
  10 %" (MNIST); we read "several percent" as ``spread >= 2 %`` (:data:`P18_PASS_SPREAD`).
  Per dataset: PASS when the spread is >= 2 %, the interval's lower end is >= 0.5 %
  (:data:`P18_MIN_LOW`) and ``p <`` :data:`P18_ALPHA`; FAIL when the whole interval is
  below 2 %; INCONCLUSIVE otherwise. Verdict: FAIL if any dataset fails; PASS if all
  expected datasets pass; INCONCLUSIVE otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from harness.predictions import CheckResult, register_check
from harness.predictions.evidence import (
    N_BOOT,
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
)
from harness.predictions.rules import (
    binomial_rule,
    effect_vs_noise,
    increasing_rule,
    p_value,
    slope_ci,
)

#: (A2): "at least half of the patterns are preserved".
P15_FRACTION_LEVEL = 0.5
#: Fraction of runs that must satisfy (A2) ("with high probability", our reading).
P15_RUN_LEVEL = 0.9
#: Datasets of Figure 2.
P15_DATASETS = ("gaussian", "mnist")
#: Spread of test accuracy over beta that counts as "several percent" (our reading).
P18_PASS_SPREAD = 0.02
#: A PASS needs the bootstrap lower end of the spread at least this.
P18_MIN_LOW = 0.005
#: Permutation test level: the spread must exceed seed-to-seed noise.
P18_ALPHA = 0.05
#: Datasets of Appendix E.
P18_DATASETS = ("planted", "mnist")
#: Bootstrap / permutation resamples of the P18 interval and test.
P18_N_BOOT = 1000


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
        "on the widths the lemma covers (lemma_covered; others out of scope, listed), per "
        "(dataset, m) and pooled per dataset: frequency of frac_neuron(T) >= 1/2 against 90% "
        "(Clopper-Pearson 95%: FAIL if below, PASS if >= 90% with lower end >= 80%); crossing "
        "width per (dataset, n) reported; on all widths, per "
        "(dataset, method, lr) with >= 4 widths spanning x8 and >= 3 seeds: bootstrap 95% CI of "
        "the slope of frac_neuron(T) vs log m entirely >= 0; diverged runs excluded and listed"
    ),
)
def check_p15(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P15, THEORY.md (A2) / Lemma 2.4 / §A8 Figure 2: decision rule in the module docstring."""
    measured = "final frac_neuron per (dataset, width m)"
    predicted = (
        f"frac_neuron(T) >= {P15_FRACTION_LEVEL:g} in >= {P15_RUN_LEVEL:.0%} of runs per m; "
        "non-decreasing in m"
    )
    ev = frame(
        tables,
        "coupling",
        ("final", "frac_neuron", "width"),
        select=lambda d: flag(d["final"]),
        group_keys=("dataset", "width"),
    )
    if not ev.usable:
        return not_run(measured, predicted, ev, "" if ev.reason else "no final rows in 'coupling'")
    if "status" in ev.rows.columns:
        ev = ev.exclude(
            (ev.rows["status"].astype(str) == "diverged").to_numpy(), "non-optimal", "run diverged"
        )
    ev = ev.finite("frac_neuron", "width")
    trend_rows = ev.rows.assign(_ok=arr(ev.rows, "frac_neuron") >= P15_FRACTION_LEVEL)
    crossing = _crossing_widths(trend_rows)
    if "lemma_covered" in ev.rows.columns:
        ev = ev.scope(flag(ev.rows["lemma_covered"]), "width below the lemma's regime")
    fin = ev.rows.assign(_ok=arr(ev.rows, "frac_neuron") >= P15_FRACTION_LEVEL)
    dkeys = present(fin, ("dataset",))
    width_entries, pooled_entries, trend_entries = [], [], []
    rng = rule_rng()
    for dk, dg in groups(fin, dkeys):
        dlab = label(dkeys, dk) or "all"
        pooled_entries.append(
            (
                dlab,
                binomial_rule(
                    int(dg["_ok"].sum()), len(dg), P15_RUN_LEVEL, measured="", predicted=""
                ),
            )
        )
        for wk, wg in groups(dg, ["width"]):
            res = binomial_rule(
                int(wg["_ok"].sum()), len(wg), P15_RUN_LEVEL, measured="", predicted=""
            )
            width_entries.append((f"{dlab}, m={wk[0]:g}", res))
    tdkeys = present(trend_rows, ("dataset",))
    for dk, dg in groups(trend_rows, tdkeys):
        dlab = label(tdkeys, dk) or "all"
        tkeys = present(dg, ("method", "lr")) + present(dg, ("n", "lr_scaling"), varying=True)
        for tk, tg in groups(dg, tkeys):
            w = arr(tg, "width")
            cl = tg["seed_index"].to_numpy() if "seed_index" in tg.columns else None
            est = slope_ci(
                np.log(w), arr(tg, "frac_neuron"), clusters=cl, levels=w, n_boot=N_BOOT, rng=rng
            )
            tlab = ", ".join(x for x in (dlab, label(tkeys, tk)) if x)
            trend_entries.append((tlab, increasing_rule(est, measured="", predicted="")))
    per_width = combine_groups("(A2) per width", width_entries, "no runs")
    if per_width.verdict == "INCONCLUSIVE":  # power comes from the pooled test; a width may FAIL
        per_width = CheckResult(
            "PASS",
            "",
            "",
            f"no width significantly below: {per_width.explanation}",
            per_width.details,
        )
    parts = [
        ("(A2) per width", per_width),
        ("(A2) pooled", combine_groups("(A2) pooled", pooled_entries, "no runs")),
        ("width trend", combine_groups("width trend", trend_entries, "no group with >= 3 runs")),
    ]
    present_ds = set(fin["dataset"].astype(str)) if "dataset" in fin.columns else set(P15_DATASETS)
    absent = [d for d in P15_DATASETS if d not in present_ds]
    notes = [f"dataset(s) {absent} not run"] if absent else []
    if not fin.empty and "lemma_covered" in trend_rows.columns:
        notes.append(f"(A2) decided on widths >= lemma_min_width ({len(fin)} runs)")
    notes.extend(f"crossing width {k}: {v}" for k, v in crossing.items())
    res = combine(
        parts,
        measured,
        predicted,
        {"missing_datasets": absent, "crossing_width": crossing, "evidence": [ev.summary()]},
        notes,
    )
    if res.verdict == "PASS" and absent:
        return CheckResult(
            "INCONCLUSIVE", res.measured, res.predicted, res.explanation, res.details
        )
    return res


def _crossing_widths(fin: pd.DataFrame) -> dict[str, str]:
    """Per (dataset, n, method, lr): the smallest tested width from which (A2) holds.

    The crossing width is the smallest ``m`` such that at ``m`` and at every wider tested
    width at least :data:`P15_RUN_LEVEL` of the runs have ``frac_neuron >= 1/2`` (point
    frequencies; a description of the data, not a test). ``"not reached up to m = M"``
    when even the widest width misses it.
    """
    keys = present(fin, ("dataset", "n", "method", "lr", "lr_scaling"))
    out: dict[str, str] = {}
    for k, g in groups(fin, keys):
        freq = g.groupby("width")["_ok"].mean().sort_index()
        widths = freq.index.to_numpy(dtype=float)
        ok = freq.to_numpy() >= P15_RUN_LEVEL
        tail_ok = np.flip(np.logical_and.accumulate(np.flip(ok)))
        name = label(keys, k) or "all"
        if tail_ok.any():
            out[name] = f"m = {widths[int(np.argmax(tail_ok))]:g}"
        else:
            out[name] = f"not reached up to m = {widths.max():g}"
    return out


# --------------------------------------------------------------------------- P18
def _curve_matrix(g: pd.DataFrame) -> np.ndarray:
    """(seeds, betas) matrix of test accuracies of one curve (nan where missing)."""
    g = g.assign(_beta=np.round(arr(g, "beta_rel"), 12))
    if "seed_index" in g.columns and g["seed_index"].notna().all():
        g = g.assign(_seed=g["seed_index"].to_numpy())
    else:
        g = g.assign(_seed=g.groupby("_beta").cumcount().to_numpy())
    mat = g.pivot_table(index="_seed", columns="_beta", values="test_acc", aggfunc="mean")
    return np.asarray(mat.to_numpy(dtype=float))


def _dataset_effect(
    dg: pd.DataFrame, ckeys: list[str], rng: np.random.Generator
) -> dict[str, Any] | None:
    """Median over curves of the spread, its bootstrap interval and permutation p-value."""
    curves, boots, nulls = [], [], []
    for ck, cg in groups(dg, ckeys):
        eff = effect_vs_noise(_curve_matrix(cg), n_resample=P18_N_BOOT, rng=rng)
        if not np.isfinite(eff.spread) or not np.isfinite(eff.p_value):
            continue
        curves.append(
            {
                "curve": label(ckeys, ck),
                "spread": eff.spread,
                "p_value": eff.p_value,
                "n_seeds": eff.n_seeds,
            }
        )
        boots.append(eff.boot)
        nulls.append(eff.null)
    if not curves:
        return None
    stat = float(np.median([c["spread"] for c in curves]))
    with np.errstate(all="ignore"):
        boot = np.nanmedian(np.vstack(boots), axis=0)
        null = np.nanmedian(np.vstack(nulls), axis=0)
    boot = boot[np.isfinite(boot)]
    low, high = (
        (float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975)))
        if boot.size
        else (np.nan, np.nan)
    )
    return {
        "spread": stat,
        "ci_low": low,
        "ci_high": high,
        "p_value": p_value(null, stat),
        "curves": curves,
    }


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
        "per dataset, median over curves of the spread: PASS if >= 2%, bootstrap 95% lower end "
        ">= 0.5% and above seed noise (within-seed permutation of beta, p < 0.05); FAIL if the "
        "whole bootstrap interval is below 2%; INCONCLUSIVE otherwise; only optimal solves"
    ),
)
def check_p18(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """P18, THEORY.md §A8 Appendix E: decision rule in the module docstring."""
    measured = "spread over beta of median test accuracy"
    predicted = f"several percent (PASS >= {P18_PASS_SPREAD:.0%}; paper: ~5% synthetic, ~10% MNIST)"
    ev = frame(
        tables, "regularization", ("test_acc", "beta_rel", "status"), group_keys=("dataset",)
    )
    if not ev.usable:
        return not_run(measured, predicted, ev)
    ev = ev.optimal("status").finite("test_acc", "beta_rel")
    good = ev.rows
    dkeys = present(good, ("dataset",))
    ckeys = present(good, ("P", "formulation", "n", "d", "solver", "noise", "teacher_width"))
    rng = rule_rng()
    entries: list[tuple[str, CheckResult]] = []
    for dk, dg in groups(good, dkeys):
        eff = _dataset_effect(dg, ckeys, rng)
        name = label(dkeys, dk) or "all"
        if eff is None:
            entries.append(
                (name, CheckResult("NOT-RUN", "", "", "no curve with >= 2 seeds and >= 2 beta"))
            )
            continue
        text = (
            f"spread {eff['spread']:.1%} [{eff['ci_low']:.1%}, {eff['ci_high']:.1%}] "
            f"(median of {len(eff['curves'])} curves), permutation p = {eff['p_value']:.3f}"
        )
        if eff["ci_high"] < P18_PASS_SPREAD:
            verdict, why = "FAIL", f"whole interval below {P18_PASS_SPREAD:.0%}"
        elif (
            eff["spread"] >= P18_PASS_SPREAD
            and eff["ci_low"] >= P18_MIN_LOW
            and eff["p_value"] < P18_ALPHA
        ):
            verdict, why = "PASS", "above seed noise"
        else:
            verdict, why = "INCONCLUSIVE", "not distinguishable from seed noise or below 2%"
        entries.append((name, CheckResult(verdict, "", "", f"{why}: {text}", eff)))
    part = combine_groups("spread", entries, "no curve with at least two beta values")
    have = {e[0].split("=", 1)[-1] for e in entries}
    absent = [d for d in P18_DATASETS if d not in have] if dkeys else []
    notes = [f"dataset(s) {absent} not run"] if absent else []
    res = combine(
        [("spread", part)],
        measured,
        predicted,
        {"missing_datasets": absent, "evidence": [ev.summary()]},
        notes,
    )
    if res.verdict == "PASS" and absent:
        return CheckResult(
            "INCONCLUSIVE", res.measured, res.predicted, res.explanation, res.details
        )
    return res
