"""Checks S1-S3: the claims of Ergen & Pilanci (2019), THEORY.md Part C.

They read the long-format tables of the kinds ``shallow_single`` and ``shallow_multi``
(:mod:`harness.kinds.shallow`), using the rows with ``is_final`` (one per method and
seed). A *seed* is one sweep point (both methods share its data and initial point).

Bad rows follow the one policy of :mod:`harness.predictions.evidence`: a point the engine
marked ``point_status != "ok"`` (a harness failure, not a measurement) is excluded, listed in
``details["failed"]`` and the exclusion ledger, and withholds a PASS. A run with ``status !=
"ok"`` (the method diverged) is a measured outcome: it counts as a seed where the claim
failed. A PASS needs at least :data:`MIN_SEEDS` seeds. A run that missed a tolerance while still moving
(``converged`` False: the update direction had not shrunk below ``stationary_rtol`` of
its initial size) is *undecided*: more iterations could change it, so it makes a verdict
INCONCLUSIVE rather than FAIL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from harness.predictions import CheckResult, register_check
from harness.predictions.evidence import flag
from harness.predictions.rules import HARD_MIN_COMPARISONS

SINGLE = "shallow_single"
MULTI = "shallow_multi"
TRAIN_TOL = 1e-8
RECOVERY_TOL = 1e-6
#: Fewest seeds (runs) on which a PASS may rest.
MIN_SEEDS = HARD_MIN_COMPARISONS

_FINAL_COLUMNS = (
    "n",
    "d",
    "method",
    "is_final",
    "final_train_error",
    "converged",
)


# --------------------------------------------------------------------------- helpers
def _table(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    df = tables.get(name)
    if df is None or len(df) == 0:
        return None
    return df


def _missing(df: pd.DataFrame, columns: tuple[str, ...]) -> list[str]:
    return [c for c in columns if c not in df.columns]


def _unit(df: pd.DataFrame) -> pd.Series:
    """The seed (point) each row belongs to: ``point_key`` or ``(n, d, seed_index, ...)``."""
    if "point_key" in df.columns:
        return df["point_key"].astype(str)
    parts = [c for c in ("n", "d", "m", "mu", "seed_index") if c in df.columns]
    return df[parts].astype(str).agg("|".join, axis=1)


def _split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(ok final rows, failed points, diverged final rows)`` of a shallow table."""
    df = df.assign(_unit=_unit(df))
    if "point_status" in df.columns:
        point_failed = df["point_status"].astype(str) != "ok"
    else:
        point_failed = pd.Series(False, index=df.index)
    failed_points = df[point_failed].drop_duplicates("_unit")
    rest = df[~point_failed]
    final = rest[flag(rest["is_final"])]
    if "status" in final.columns:
        bad = final["status"].astype(str) != "ok"
    else:
        bad = pd.Series(False, index=final.index)
    return final[~bad], failed_points, final[bad]


def _describe_failed(failed: pd.DataFrame, diverged: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for _, row in failed.iterrows():
        out.append(
            {
                "unit": row["_unit"],
                "n": _num(row.get("n")),
                "d": _num(row.get("d")),
                "what": "point failed",
                "error": str(row.get("error", "")),
            }
        )
    for _, row in diverged.iterrows():
        out.append(
            {
                "unit": row["_unit"],
                "n": _num(row.get("n")),
                "d": _num(row.get("d")),
                "what": f"{row['method']} {row.get('status', '?')}",
            }
        )
    return out


def _evidence(name: str, n_rows: int, failed: pd.DataFrame) -> dict[str, Any]:
    """The exclusion ledger (``details["evidence"]``) of a shallow check: failed points."""
    excl = (
        [{"kind": "failed", "reason": "failed point", "rows": len(failed)}] if len(failed) else []
    )
    return {
        "experiment": name,
        "n_rows": n_rows + len(failed),
        "n_used": n_rows,
        "exclusions": excl,
        "groups_lost": [],
        "note": "",
    }


def _num(value: Any) -> Any:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return value
    return int(f) if np.isfinite(f) and f.is_integer() else f


def _median_iters(values: pd.Series) -> float:
    """Median iterations with 'never reached' (NaN) counted as +inf."""
    arr = values.to_numpy(dtype=float)
    if arr.size == 0:
        return float("nan")
    return float(np.median(np.where(np.isnan(arr), np.inf, arr)))


def _not_run(measured: str, predicted: str, why: str) -> CheckResult:
    return CheckResult("NOT-RUN", measured, predicted, why)


def _fmt_int(x: float) -> str:
    return "never" if not np.isfinite(x) else f"{x:.0f}"


# --------------------------------------------------------------------------- S1
_S1_MEASURED = "fraction of seeds with n <= d where RGD (5) reaches relative training error <= 1e-8"
_S1_PREDICTED = "every seed (Thm 1: min f_r = min f = 0 under (4)); plain GD (2) may stall"


@register_check(
    "S1",
    title="RGD reaches zero training error for n <= d",
    claim=(
        "Under the planted model (4), GD on the convex relaxation f_r (RGD, eq. (5)) reaches "
        "the global minimum f = 0 of the single-neuron loss when n <= d, where plain GD (2) "
        "can stall at a non-global point."
    ),
    source="Ergen & Pilanci 2019, Prop. 1 and Thm 1; Fig. 1a-b (THEORY.md Part C)",
    experiments=(SINGLE,),
    measured=_S1_MEASURED,
    predicted=_S1_PREDICTED,
    rule=(
        "PASS if RGD's final relative training error is <= 1e-8 in every seed with n <= d. "
        "FAIL if some seed misses it at a stationary point (converged) or diverged. "
        "INCONCLUSIVE if every miss is still moving (iteration budget too small), with < 3 "
        "seeds, or when a point failed (excluded and listed). "
        "The fraction of seeds where GD does not reach 1e-8 is reported."
    ),
)
def check_s1(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """S1, THEORY.md Part C Thm 1: RGD's training error ``<= 1e-8`` for ``n <= d``."""
    df = _table(tables, SINGLE)
    if df is None:
        return _not_run(_S1_MEASURED, _S1_PREDICTED, f"no results for experiment '{SINGLE}'")
    miss = _missing(df, _FINAL_COLUMNS)
    if miss:
        return _not_run(_S1_MEASURED, _S1_PREDICTED, f"table '{SINGLE}' lacks columns {miss}")
    final, failed, diverged = _split(df)
    in_scope = lambda t: t[t["n"] <= t["d"]]  # noqa: E731
    final, failed, diverged = in_scope(final), in_scope(failed), in_scope(diverged)
    rgd = final[final["method"] == "rgd"]
    gd = final[final["method"] == "gd"]
    rgd_div = diverged[diverged["method"] == "rgd"]
    n_seeds = len(rgd) + len(rgd_div) + len(failed)
    if n_seeds == 0:
        return _not_run(_S1_MEASURED, _S1_PREDICTED, "no RGD run with n <= d in the table")
    hit = rgd["final_train_error"] <= TRAIN_TOL
    stuck = rgd[~hit & rgd["converged"].astype(bool)]
    moving = rgd[~hit & ~rgd["converged"].astype(bool)]
    n_fail = len(stuck) + len(rgd_div)
    gd_total = len(gd) + int((diverged["method"] == "gd").sum())
    gd_miss = int((gd["final_train_error"] > TRAIN_TOL).sum()) + (gd_total - len(gd))
    per_n = []
    for (d, n), grp in final.groupby(["d", "n"]):
        r = grp[grp["method"] == "rgd"]
        g = grp[grp["method"] == "gd"]
        per_n.append(
            {
                "d": _num(d),
                "n": _num(n),
                "rgd_seeds": len(r),
                "rgd_reached": int((r["final_train_error"] <= TRAIN_TOL).sum()),
                "rgd_max_train_error": float(r["final_train_error"].max()) if len(r) else None,
                "gd_seeds": len(g),
                "gd_not_reached": int((g["final_train_error"] > TRAIN_TOL).sum()),
                "gd_median_train_error": float(g["final_train_error"].median()) if len(g) else None,
            }
        )
    details: dict[str, Any] = {
        "tol": TRAIN_TOL,
        "seeds": n_seeds,
        "rgd_reached": int(hit.sum()),
        "rgd_stuck": stuck[["n", "d", "_unit", "final_train_error"]].to_dict("records"),
        "rgd_still_moving": moving[["n", "d", "_unit", "final_train_error"]].to_dict("records"),
        "failed": _describe_failed(failed, diverged),
        "gd_seeds": gd_total,
        "gd_not_reached": gd_miss,
        "gd_fraction_not_reached": gd_miss / gd_total if gd_total else None,
        "per_n": per_n,
        "evidence": _evidence(SINGLE, len(rgd) + len(rgd_div), failed),
    }
    gd_text = (
        f"; GD does not reach it in {gd_miss}/{gd_total} ({gd_miss / gd_total:.0%})"
        if gd_total
        else "; no GD runs"
    )
    measured = (
        f"RGD reaches relative training error <= 1e-8 in {int(hit.sum())}/{n_seeds} seeds "
        f"with n <= d{gd_text}"
    )
    if n_fail:
        why = (
            f"{len(stuck)} RGD run(s) stopped at training error > 1e-8, "
            f"{len(rgd_div)} diverged (see details['failed'])"
        )
        return CheckResult("FAIL", measured, _S1_PREDICTED, why, details)
    if len(rgd) < MIN_SEEDS:
        why = f"only {len(rgd)} RGD run(s) with n <= d (< {MIN_SEEDS})"
        return CheckResult("INCONCLUSIVE", measured, _S1_PREDICTED, why, details)
    if len(moving):
        worst = float(moving["final_train_error"].max())
        why = (
            f"{len(moving)} RGD run(s) still moving at the end (worst training error "
            f"{worst:.2g}); increase n_iter"
        )
        return CheckResult("INCONCLUSIVE", measured, _S1_PREDICTED, why, details)
    return CheckResult(
        "PASS",
        measured,
        _S1_PREDICTED,
        f"RGD reached relative training error <= 1e-8 in all {n_seeds} seeds with n <= d",
        details,
    )


# --------------------------------------------------------------------------- S2
_S2_MEASURED = (
    "for n > d: fraction of seeds with ||x_hat - x*|| <= 1e-6 (GD and RGD); median "
    "iterations to relative training error 1e-8"
)
_S2_PREDICTED = (
    "both recover x* in a majority of seeds; RGD needs fewer iterations (median paired "
    "difference RGD - GD < 0)"
)


@register_check(
    "S2",
    title="For n > d both recover x*, RGD faster",
    claim=("When n > d both GD (2) and RGD (5) recover the planted x*, and RGD converges faster."),
    source="Ergen & Pilanci 2019, Sec. III, Fig. 1c (THEORY.md Part C)",
    experiments=(SINGLE,),
    measured=_S2_MEASURED,
    predicted=_S2_PREDICTED,
    rule=(
        "For every (d, n) with n > d: each method's recovery error <= 1e-6 in more than half "
        "of the seeds (failed points excluded and listed; FAIL otherwise, INCONCLUSIVE if the "
        "majority depends on runs still moving), and the median over seeds of the paired "
        "difference of iterations to training error 1e-8 (RGD - GD, never = inf, both never "
        "= tie) is < 0 with a one-sided sign test p < 0.05. FAIL if RGD is significantly slower (one-sided sign test p < 0.05), "
        "INCONCLUSIVE if neither. Marginal medians of both methods are reported."
    ),
)
def check_s2(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """S2, THEORY.md Part C (Fig. 1c): recovery for ``n > d`` and RGD's faster convergence."""
    df = _table(tables, SINGLE)
    if df is None:
        return _not_run(_S2_MEASURED, _S2_PREDICTED, f"no results for experiment '{SINGLE}'")
    miss = _missing(df, (*_FINAL_COLUMNS, "final_recovery_error", "iters_to_tol"))
    if miss:
        return _not_run(_S2_MEASURED, _S2_PREDICTED, f"table '{SINGLE}' lacks columns {miss}")
    final, failed, diverged = _split(df)
    scope = lambda t: t[t["n"] > t["d"]]  # noqa: E731
    final, failed, diverged = scope(final), scope(failed), scope(diverged)
    if len(final) + len(failed) + len(diverged) == 0:
        return _not_run(_S2_MEASURED, _S2_PREDICTED, "no run with n > d in the table")
    groups = []
    fails: list[str] = []
    undecided: list[str] = []
    keys = pd.concat([final[["d", "n"]], failed[["d", "n"]], diverged[["d", "n"]]])
    for d, n in sorted({(float(a), float(b)) for a, b in keys.itertuples(index=False)}):
        sel = lambda t: t[(t["d"] == d) & (t["n"] == n)]  # noqa: E731,B023
        f, fp, dv = sel(final), sel(failed), sel(diverged)
        label = f"n={_num(n)}, d={_num(d)}"
        info: dict[str, Any] = {"d": _num(d), "n": _num(n), "failed_points": len(fp)}
        medians: dict[str, float] = {}
        for method in ("gd", "rgd"):
            r = f[f["method"] == method]
            n_div = int((dv["method"] == method).sum())
            total = len(r) + n_div
            rec = int((r["final_recovery_error"] <= RECOVERY_TOL).sum())
            moving = int(
                ((r["final_recovery_error"] > RECOVERY_TOL) & ~r["converged"].astype(bool)).sum()
            )
            iters = pd.concat([r["iters_to_tol"], pd.Series([np.nan] * n_div)])
            medians[method] = _median_iters(iters)
            info[method] = {
                "seeds": total,
                "recovered": rec,
                "still_moving": moving,
                "median_iters_to_tol": medians[method],
                "median_iters_to_recovery": _median_iters(r["iters_to_recovery"])
                if "iters_to_recovery" in r.columns
                else None,
            }
            if "n_positive" in r.columns and len(r):
                info["frac_identifiable"] = float((r["n_positive"] >= d).mean())
            if total < MIN_SEEDS and 2 * rec > total:
                undecided.append(f"{label}: {method} has {total} seed(s) (< {MIN_SEEDS})")
            elif total == 0 or 2 * rec <= total:
                if total and 2 * (rec + moving) > total:
                    undecided.append(
                        f"{label}: {method} recovered {rec}/{total} (+{moving} moving)"
                    )
                else:
                    fails.append(f"{label}: {method} recovered x* in only {rec}/{total} seeds")
        speed = _paired_speed(pd.concat([f, dv]))
        info.update(speed)
        if speed["pairs"] == 0 or speed["rgd_faster"] + speed["rgd_slower"] == 0:
            undecided.append(f"{label}: no seed separates the methods' iteration counts")
        elif speed["median_paired_diff"] < 0 and speed["p_rgd_faster"] < 0.05:
            pass
        elif speed["p_rgd_slower"] < 0.05:
            fails.append(
                f"{label}: RGD significantly slower (slower in {speed['rgd_slower']} of "
                f"{speed['pairs']} seeds, sign test p = {speed['p_rgd_slower']:.2g})"
            )
        else:
            undecided.append(
                f"{label}: median paired difference RGD - GD = "
                f"{speed['median_paired_diff']:.3g} iterations (RGD faster in "
                f"{speed['rgd_faster']}, slower in {speed['rgd_slower']} of {speed['pairs']})"
            )
        groups.append(info)
    measured = "; ".join(
        f"n={g['n']}: recovered GD {g['gd']['recovered']}/{g['gd']['seeds']}, "
        f"RGD {g['rgd']['recovered']}/{g['rgd']['seeds']}; median iters GD "
        f"{_fmt_int(g['gd']['median_iters_to_tol'])} vs RGD "
        f"{_fmt_int(g['rgd']['median_iters_to_tol'])}, RGD faster in {g['rgd_faster']}/"
        f"{g['pairs']} paired seeds (median difference {g['median_paired_diff']:.3g})"
        for g in groups
    )
    details = {
        "recovery_tol": RECOVERY_TOL,
        "tol": TRAIN_TOL,
        "groups": groups,
        "failed": _describe_failed(failed, diverged),
        "fails": fails,
        "undecided": undecided,
        "evidence": _evidence(SINGLE, len(final) + len(diverged), failed),
    }
    if fails:
        return CheckResult("FAIL", measured, _S2_PREDICTED, "; ".join(fails), details)
    if undecided:
        return CheckResult("INCONCLUSIVE", measured, _S2_PREDICTED, "; ".join(undecided), details)
    return CheckResult(
        "PASS",
        measured,
        _S2_PREDICTED,
        f"majority recovery and faster RGD at all {len(groups)} n > d settings",
        details,
    )


def _paired_speed(rows: pd.DataFrame) -> dict[str, Any]:
    """Paired comparison of ``iters_to_tol`` (RGD - GD per seed; never reached = inf).

    Only seeds where both methods have a final row take part; both never reaching the
    tolerance is a tie.
    """
    iters = rows.assign(_it=rows["iters_to_tol"].astype(float).fillna(np.inf))
    gd = iters[iters["method"] == "gd"].drop_duplicates("_unit").set_index("_unit")["_it"]
    rgd = iters[iters["method"] == "rgd"].drop_duplicates("_unit").set_index("_unit")["_it"]
    both = gd.index.intersection(rgd.index)
    a = rgd.loc[both].to_numpy(dtype=float)
    b = gd.loc[both].to_numpy(dtype=float)
    diff = np.zeros(a.size)
    finite = ~(np.isinf(a) & np.isinf(b))
    diff[finite] = a[finite] - b[finite]
    faster, slower = int(np.sum(diff < 0)), int(np.sum(diff > 0))
    p_slower = float(stats.binom.sf(slower - 1, faster + slower, 0.5)) if faster + slower else 1.0
    p_faster = float(stats.binom.sf(faster - 1, faster + slower, 0.5)) if faster + slower else 1.0
    return {
        "pairs": int(diff.size),
        "rgd_faster": faster,
        "rgd_slower": slower,
        "median_paired_diff": float(np.median(diff)) if diff.size else float("nan"),
        "p_rgd_slower": p_slower,
        "p_rgd_faster": p_faster,
    }


# --------------------------------------------------------------------------- S3
_S3_MEASURED = (
    "relative training error of the runs of update (17) that converged (update direction "
    "below 1e-8 of its initial size); gap between GD and (17) against n"
)
_S3_PREDICTED = "every converged run of (17) has training error <= 1e-8; the gap closes as n grows"


@register_check(
    "S3",
    title="Modified GD (17) reaches the global minimum when it converges",
    claim=(
        "Any limit of the modified gradient update (17) is a global minimum of f_m (9) "
        "(training error 0), and its advantage over GD shrinks as n grows."
    ),
    source="Ergen & Pilanci 2019, Thm 2, Cor. 1, Fig. 2 (THEORY.md Part C)",
    experiments=(MULTI,),
    measured=_S3_MEASURED,
    predicted=_S3_PREDICTED,
    rule=(
        "PASS if every converged (17) run has relative training error <= 1e-8 and at least "
        "3 runs converged; FAIL if some converged run is above 1e-8 or a run diverged; "
        "INCONCLUSIVE if fewer than 3 runs converged or a point failed (excluded, listed). The median GD - (17) training-error gap "
        "per n and its Spearman correlation with n are reported (not part of the verdict). "
        "The paper's stationarity argument (11)-(12) needs A^T injective, i.e. n <= d; "
        "runs with n > d are included (the corollary is stated for all n) and counted apart."
    ),
)
def check_s3(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
    """S3, THEORY.md Part C Thm 2 / Cor. 1: converged runs of (17) have zero training error."""
    df = _table(tables, MULTI)
    if df is None:
        return _not_run(_S3_MEASURED, _S3_PREDICTED, f"no results for experiment '{MULTI}'")
    miss = _missing(df, _FINAL_COLUMNS)
    if miss:
        return _not_run(_S3_MEASURED, _S3_PREDICTED, f"table '{MULTI}' lacks columns {miss}")
    final, failed, diverged = _split(df)
    mod = final[final["method"] == "modified"]
    mod_div = diverged[diverged["method"] == "modified"]
    if len(mod) + len(mod_div) + len(failed) == 0:
        return _not_run(_S3_MEASURED, _S3_PREDICTED, "no run of update (17) in the table")
    conv = mod[mod["converged"].astype(bool)]
    bad = conv[conv["final_train_error"] > TRAIN_TOL]
    gap = _gap_by_n(final)
    rho = float("nan")
    if len(gap) >= 3:
        ns = [g["n"] for g in gap]
        gaps = [g["median_gap"] for g in gap]
        if np.ptp(np.asarray(gaps, dtype=float)) > 0:
            rho = float(stats.spearmanr(ns, gaps).statistic)
    small = conv["n"] <= conv["d"]
    details: dict[str, Any] = {
        "tol": TRAIN_TOL,
        "runs": len(mod) + len(mod_div) + len(failed),
        "converged": len(conv),
        "converged_n_le_d": int(small.sum()),
        "converged_n_gt_d": int((~small).sum()),
        "bad": bad[["n", "d", "_unit", "final_train_error"]].to_dict("records"),
        "failed": _describe_failed(failed, diverged),
        "gap_by_n": gap,
        "gap_spearman_rho": rho,
        "evidence": _evidence(MULTI, len(mod) + len(mod_div), failed),
    }
    gap_text = ", ".join(f"n={g['n']}: {g['median_gap']:.2g}" for g in gap)
    trend = (
        "shrinks" if rho < 0 else "does not shrink" if np.isfinite(rho) else "trend undetermined"
    )
    measured = (
        f"{len(conv) - len(bad)}/{len(conv)} converged (17) runs at <= 1e-8 "
        f"({len(mod)} runs); median GD-(17) training-error gap {gap_text} "
        f"(Spearman rho(n, gap) = {rho:.2f}: gap {trend} with n)"
    )
    if len(bad) or len(mod_div):
        why = (
            f"{len(bad)} converged (17) run(s) above 1e-8 (worst "
            f"{float(bad['final_train_error'].max()) if len(bad) else float('nan'):.2g}), "
            f"{len(mod_div)} diverged"
        )
        return CheckResult("FAIL", measured, _S3_PREDICTED, why, details)
    if len(conv) < MIN_SEEDS:
        return CheckResult(
            "INCONCLUSIVE",
            measured,
            _S3_PREDICTED,
            f"{len(conv)} run(s) of (17) converged (< {MIN_SEEDS})",
            details,
        )
    return CheckResult(
        "PASS",
        measured,
        _S3_PREDICTED,
        f"all {len(conv)} converged runs of (17) reach training error <= 1e-8 "
        f"({int(small.sum())} with n <= d, {int((~small).sum())} with n > d); "
        f"{len(mod) - len(conv)} runs did not converge",
        details,
    )


def _gap_by_n(final: pd.DataFrame) -> list[dict[str, Any]]:
    """Per ``n``: median final errors of GD and (17) and the median paired gap."""
    out = []
    for n, grp in final.groupby("n"):
        pair = grp.pivot_table(
            index="_unit", columns="method", values="final_train_error", aggfunc="first"
        )
        if not {"gd", "modified"} <= set(pair.columns):
            continue
        diff = (pair["gd"] - pair["modified"]).dropna()
        row: dict[str, Any] = {
            "n": _num(n),
            "seeds": int(diff.size),
            "median_train_gd": float(pair["gd"].median()),
            "median_train_modified": float(pair["modified"].median()),
            "median_gap": float(diff.median()) if diff.size else float("nan"),
        }
        if "final_test_error" in grp.columns:
            test = grp.pivot_table(
                index="_unit", columns="method", values="final_test_error", aggfunc="first"
            )
            row["median_test_gd"] = float(test["gd"].median())
            row["median_test_modified"] = float(test["modified"].median())
        out.append(row)
    return out
