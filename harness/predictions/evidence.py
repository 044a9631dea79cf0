"""One evidence frame for every check: usable rows plus an exclusion ledger, one policy.

Every check starts from :func:`frame` (the table of one experiment) and narrows it with
:meth:`Evidence.optimal`, :meth:`Evidence.finite`, :meth:`Evidence.precondition` and
:meth:`Evidence.exclude`. Each step removes rows *and records them* in the ledger with a
kind:

``failed``        the sweep point failed (``point_status != "ok"``)
``missing``       a required measurement is NaN/inf
``no-status``     a status column the check needs is absent (rows treated as unusable)
``non-optimal``   the solver did not report ``optimal`` (or the run diverged)
``precondition``  the theorem's precondition is unmet on the row
``scope``         the row is outside the claim by design (listed, not counted against it)

The check puts :meth:`Evidence.summary` into ``details["evidence"]`` and the registry
applies :func:`apply_policy` to its result, the same for every check:

* the ledger is listed in the explanation and in ``details["exclusions"]``;
* a PASS becomes INCONCLUSIVE when a row was lost to a failed point, a missing value, a
  missing status column or an unmet precondition (a violation could hide there, or the
  theorem does not apply), when non-optimal rows exceed :data:`MAX_EXCLUDED_FRACTION` of
  the rows, or when exclusions remove a whole group;
* FAIL and NOT-RUN are kept (a FAIL is decided on usable rows only).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from harness.predictions import CheckResult

#: Largest share of rows that non-optimal solves may remove before a PASS is withheld.
MAX_EXCLUDED_FRACTION = 0.1
#: Exclusion kinds that withhold a PASS whatever their number.
BLOCKING_KINDS = ("failed", "missing", "no-status", "precondition")
#: Seed of every bootstrap/permutation of the checks: a verdict must not change between runs.
RULE_SEED = 20240704
#: Bootstrap resamples of the slope intervals.
N_BOOT = 1000


def rule_rng() -> np.random.Generator:
    """The fixed generator of every resampling rule."""
    return np.random.default_rng(RULE_SEED)


def fmt(v: Any) -> str:
    """Short text of a group value (``0.5``, ``mnist``)."""
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    if isinstance(v, np.integer):
        return str(int(v))
    return str(v)


def label(keys: Sequence[str], values: Any) -> str:
    """``"c=0.5, labels=gauss"`` for group ``values`` of ``keys``."""
    vals = values if isinstance(values, tuple) else (values,)
    return ", ".join(f"{k}={fmt(v)}" for k, v in zip(keys, vals))


def groups(df: pd.DataFrame, keys: Sequence[str]) -> list[tuple[tuple[Any, ...], pd.DataFrame]]:
    """``(key tuple, rows)`` per group of ``keys`` (one group ``()`` when no keys)."""
    if not keys:
        return [((), df)]
    return [
        (k if isinstance(k, tuple) else (k,), g)
        for k, g in df.groupby(list(keys), sort=True, dropna=False)
    ]


def present(df: pd.DataFrame, candidates: Sequence[str], varying: bool = False) -> list[str]:
    """Columns of ``candidates`` in ``df`` with a non-null value (and > 1 value if ``varying``)."""
    return [
        c
        for c in candidates
        if c in df.columns
        and df[c].notna().any()
        and (not varying or df[c].nunique(dropna=True) > 1)
    ]


def with_c(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``c`` = n/d per row: the spec's ``c`` when complete, else ``c_eff`` or ``n/d``."""
    if "c" in df.columns and df["c"].notna().all():
        c = df["c"].astype(float)
    elif "c_eff" in df.columns:
        c = df["c_eff"].astype(float)
    else:
        c = df["n"].astype(float) / df["d"].astype(float)
    return df.assign(c=c.round(6))


def arr(df: pd.DataFrame, col: str) -> np.ndarray:
    """Column as a float array (NaN where missing)."""
    return np.asarray(pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float))


def flag(s: pd.Series) -> np.ndarray:
    """A boolean column as a bool array, missing values False (whatever the dtype)."""
    return np.asarray(s.astype(object).where(s.notna(), False).astype(bool).to_numpy())


@dataclass(frozen=True)
class Exclusion:
    """Rows removed from the evidence: how many, of which kind, and why."""

    kind: str
    reason: str
    rows: int


@dataclass(frozen=True)
class Evidence:
    """Usable rows of one experiment and the ledger of the rows removed on the way."""

    experiment: str
    rows: pd.DataFrame
    n_total: int
    ledger: tuple[Exclusion, ...] = ()
    reason: str = ""
    group_keys: tuple[str, ...] = ()
    all_groups: tuple[str, ...] = ()
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ narrowing
    @property
    def usable(self) -> bool:
        """True when the table exists, has the columns and some row survived."""
        return not self.reason and len(self.rows) > 0

    def exclude(self, bad: np.ndarray | pd.Series, kind: str, reason: str) -> Evidence:
        """Remove rows where ``bad`` is True and record them."""
        mask = np.asarray(bad, dtype=bool)
        k = int(mask.sum())
        if k == 0:
            return self
        return replace(
            self, rows=self.rows[~mask], ledger=(*self.ledger, Exclusion(kind, reason, k))
        )

    def optimal(self, *status_cols: str, kind: str = "non-optimal") -> Evidence:
        """Keep rows whose every ``status_cols`` is ``"optimal"``; an absent column removes all."""
        ev = self
        for col in status_cols:
            if col not in ev.rows.columns:
                ev = ev.exclude(
                    np.ones(len(ev.rows), bool), "no-status", f"no column {col!r} (status unknown)"
                )
            else:
                ev = ev.exclude(
                    (ev.rows[col].astype(str) != "optimal").to_numpy(), kind, f"{col} not optimal"
                )
        return ev

    def finite(self, *cols: str, allow_inf: bool = False) -> Evidence:
        """Keep rows with a finite value (or ±inf when ``allow_inf``) in every ``cols``."""
        ev = self
        for col in cols:
            if col not in ev.rows.columns:
                ev = ev.exclude(np.ones(len(ev.rows), bool), "missing", f"no column {col!r}")
                continue
            v = arr(ev.rows, col)
            bad = np.isnan(v) if allow_inf else ~np.isfinite(v)
            ev = ev.exclude(bad, "missing", f"NaN in {col}")
        return ev

    def precondition(self, met: np.ndarray | pd.Series, what: str) -> Evidence:
        """Remove rows where the theorem's precondition ``what`` is not met."""
        return self.exclude(
            ~np.asarray(met, dtype=bool), "precondition", f"precondition {what} unmet"
        )

    def scope(self, inside: np.ndarray | pd.Series, what: str) -> Evidence:
        """Remove rows outside the claim by design (listed, not held against the check).

        A group left without rows by this step is out of scope, not lost.
        """
        ev = self.exclude(~np.asarray(inside, dtype=bool), "scope", f"outside scope: {what}")
        if not self.group_keys or ev is self:
            return ev
        before = {label(self.group_keys, k) for k, _ in groups(self.rows, self.group_keys)}
        after = {label(self.group_keys, k) for k, _ in groups(ev.rows, self.group_keys)}
        after = after if len(ev.rows) else set()
        gone = before - after
        return replace(ev, all_groups=tuple(g for g in ev.all_groups if g not in gone))

    def where(self, keep: np.ndarray | pd.Series) -> Evidence:
        """Narrow to a sub-selection *without* recording (a part of a check, not an exclusion)."""
        mask = np.asarray(keep, dtype=bool)
        return replace(self, rows=self.rows[mask])

    # ------------------------------------------------------------------ report
    def lost_groups(self) -> list[str]:
        """Groups of the input that no usable row represents."""
        if not self.group_keys or self.reason:
            return []
        have = {label(self.group_keys, k) for k, _ in groups(self.rows, self.group_keys)}
        have = have if len(self.rows) else set()
        return [g for g in self.all_groups if g not in have]

    def summary(self) -> dict[str, Any]:
        """JSON-able ledger for ``details["evidence"]`` (read by :func:`apply_policy`)."""
        return {
            "experiment": self.experiment,
            "n_rows": self.n_total,
            "n_used": len(self.rows) if not self.reason else 0,
            "exclusions": [
                {"kind": e.kind, "reason": e.reason, "rows": e.rows} for e in self.ledger
            ],
            "groups_lost": self.lost_groups(),
            "note": self.reason,
        }


def frame(
    tables: Mapping[str, pd.DataFrame],
    name: str,
    required: Sequence[str],
    *,
    select: Callable[[pd.DataFrame], Any] | None = None,
    group_keys: Sequence[str] = (),
) -> Evidence:
    """The evidence of experiment ``name``: failed points removed and recorded.

    ``required`` columns must exist (else ``reason`` is set: the check is NOT-RUN);
    ``select`` picks the rows the claim is about (e.g. ``P_mode == "rule"``) before any
    exclusion (failed points all count: their rows may lack the selecting columns); ``group_keys`` name the groups whose complete loss withholds a PASS.
    """
    df = tables.get(name)
    if df is None:
        return Evidence(name, pd.DataFrame(), 0, reason=f"no results for experiment {name!r}")
    if len(df) == 0:
        return Evidence(name, df, 0, reason=f"results table of {name!r} is empty")
    df = df.reset_index(drop=True)
    failed = (
        (df["point_status"].astype(str) != "ok").to_numpy()
        if "point_status" in df.columns
        else np.zeros(len(df), bool)
    )
    errors = (
        sorted({str(e) for e in df.loc[failed, "error"]})[:3]
        if "error" in df.columns and failed.any()
        else []
    )
    missing = [c for c in required if c not in df.columns]
    if missing:
        return Evidence(name, df.iloc[0:0], len(df), reason=f"{name!r} lacks columns {missing}")
    ok_rows = df[~failed]
    if select is not None:
        ok_rows = ok_rows[np.asarray(select(ok_rows), dtype=bool)]
    # every failed point counts, selected or not: its row may lack the selecting columns
    n_failed = int(failed.sum())
    keys = tuple(k for k in group_keys if k in df.columns)
    all_groups: tuple[str, ...] = ()
    if keys:
        all_groups = tuple(label(keys, k) for k, _ in groups(ok_rows, keys))
    ledger: tuple[Exclusion, ...] = ()
    if n_failed:
        why = "failed point" + (f" ({'; '.join(errors)})" if errors else "")
        ledger = (Exclusion("failed", why, n_failed),)
    return Evidence(
        name,
        ok_rows,
        len(ok_rows) + n_failed,
        ledger,
        group_keys=keys,
        all_groups=all_groups,
    )


def merged_exclusions(summaries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (experiment, kind, reason); frames narrowed from one another share
    their first exclusions, so the largest count is kept, not the sum."""
    merged: dict[tuple[str, str, str], int] = {}
    for s in summaries:
        for e in s.get("exclusions", []):
            key = (str(s.get("experiment", "")), e["kind"], e["reason"])
            merged[key] = max(merged.get(key, 0), int(e["rows"]))
    return [{"experiment": x, "kind": k, "reason": r, "rows": n} for (x, k, r), n in merged.items()]


def ledger_text(summaries: Sequence[Mapping[str, Any]]) -> str:
    """``"3 row(s) failed point; 2 row(s) NaN in pstar_lower"`` over the summaries."""
    return "; ".join(f"{e['rows']} row(s) {e['reason']}" for e in merged_exclusions(summaries))


def withheld(summaries: Sequence[Mapping[str, Any]]) -> list[str]:
    """Reasons why the evidence cannot support a PASS (empty when it can)."""
    out: list[str] = []
    for s in summaries:
        exp = s.get("experiment", "?")
        excl = s.get("exclusions", [])
        blocking = sorted({e["reason"] for e in excl if e["kind"] in BLOCKING_KINDS})
        if blocking:
            out.append(f"{exp}: rows lost to {', '.join(blocking)}")
        counted = sum(int(e["rows"]) for e in excl if e["kind"] != "scope")
        total = int(s.get("n_rows", 0))
        if total and counted / total > MAX_EXCLUDED_FRACTION:
            out.append(f"{exp}: {counted} of {total} rows excluded (> {MAX_EXCLUDED_FRACTION:.0%})")
        if s.get("groups_lost"):
            out.append(f"{exp}: whole group(s) excluded: {', '.join(s['groups_lost'])}")
    return list(dict.fromkeys(out))


def apply_policy(res: CheckResult) -> CheckResult:
    """The one exclusion policy (module docstring), applied by the registry to every result."""
    ev = res.details.get("evidence")
    if not ev:
        return res
    summaries = [ev] if isinstance(ev, Mapping) else list(ev)
    text = ledger_text(summaries)
    blocks = withheld(summaries)
    details = {
        **res.details,
        "evidence": summaries,
        "exclusions": merged_exclusions(summaries),
        "pass_withheld": blocks,
    }
    explanation = res.explanation
    if text and "excluded:" not in explanation:
        explanation += f" [excluded: {text}]"
    verdict = res.verdict
    unmet = [e for e in details["exclusions"] if e["kind"] == "precondition"]
    if verdict == "NOT-RUN" and unmet:  # data complete, theorem not applicable: not a gap
        verdict = "INCONCLUSIVE"
        explanation = f"precondition unmet on the rows: {explanation}"
    if verdict == "PASS" and blocks:
        verdict = "INCONCLUSIVE"
        explanation = f"PASS withheld ({'; '.join(blocks)}): {explanation}"
    return CheckResult(verdict, res.measured, res.predicted, explanation, details)


def combine(
    parts: Sequence[tuple[str, CheckResult]],
    measured: str,
    predicted: str,
    details: dict[str, Any],
    notes: Sequence[str] = (),
) -> CheckResult:
    """FAIL if any part fails; NOT-RUN if all are; INCONCLUSIVE if any is not PASS; else PASS."""
    details = {
        **details,
        "parts": {name: {"verdict": r.verdict, **r.details} for name, r in parts},
    }
    verdicts = [r.verdict for _, r in parts]
    text = "; ".join(f"{name}: {r.explanation}" for name, r in parts)
    if notes:
        text += " (" + "; ".join(notes) + ")"
    if not parts:
        return CheckResult("NOT-RUN", measured, predicted, "nothing to judge", details)
    if "FAIL" in verdicts:
        failed = ", ".join(name for name, r in parts if r.verdict == "FAIL")
        return CheckResult("FAIL", measured, predicted, f"fails [{failed}]: {text}", details)
    if all(v == "NOT-RUN" for v in verdicts):
        return CheckResult("NOT-RUN", measured, predicted, text, details)
    if any(v != "PASS" for v in verdicts):
        return CheckResult("INCONCLUSIVE", measured, predicted, text, details)
    return CheckResult("PASS", measured, predicted, text, details)


def combine_groups(
    name: str, entries: Sequence[tuple[str, CheckResult]], empty_reason: str
) -> CheckResult:
    """One part from per-group results: FAIL if any fails, PASS only if every group passes."""
    det: dict[str, Any] = {
        "groups": [{"group": g, "verdict": r.verdict, **r.details} for g, r in entries]
    }
    if not entries or all(r.verdict == "NOT-RUN" for _, r in entries):
        return CheckResult("NOT-RUN", "", "", f"{name}: {empty_reason}", det)
    text = "; ".join(f"[{g}] {r.explanation}" for g, r in entries)
    vs = [r.verdict for _, r in entries]
    verdict = "FAIL" if "FAIL" in vs else "PASS" if all(v == "PASS" for v in vs) else "INCONCLUSIVE"
    return CheckResult(verdict, "", "", text, det)


def not_run(measured: str, predicted: str, ev: Evidence, reason: str = "") -> CheckResult:
    """NOT-RUN with the ledger attached (the reason: ``reason`` or the frame's own)."""
    why = reason or ev.reason or f"no usable row of {ev.experiment!r}"
    return CheckResult("NOT-RUN", measured, predicted, why, {"evidence": [ev.summary()]})
