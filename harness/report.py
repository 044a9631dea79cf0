"""Run the registered checks and write the verdict table and report.

``harness check`` prints the verdict table (id, claim, measured, predicted, verdict) and
exits with :func:`check_exit_code`: 0 when every check is PASS or INCONCLUSIVE, 1 when any
check FAILs, 2 when any check is NOT-RUN or lacks an input (2 wins over 1: the run is
incomplete). ``harness reproduce`` keeps its own exit code (the pipeline's health);
``harness report`` writes ``results/report.md`` and ``results/report.html`` (rendered by
:mod:`harness.report_html`: verdict counts, coloured verdicts, reasons and exclusion
ledgers, embedded figures) with the table, each claim's key figure and the provenance of
every number (spec, scale, seeds, versions, commits).
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import DataError, HarnessError
from harness.figures import FIGURES, available_figures, find_spec, pending_points
from harness.predictions import VERDICTS, Check, CheckResult, load_checks
from harness.report_html import render_html
from harness.sweep import load_results


@dataclass(frozen=True)
class CheckOutcome:
    """A check together with its result and the state of its inputs."""

    check: Check
    result: CheckResult
    missing_inputs: tuple[str, ...]

    @property
    def blocking(self) -> bool:
        """True when the outcome makes ``harness check`` exit non-zero."""
        return self.exit_code > 0

    @property
    def exit_code(self) -> int:
        """0 PASS/INCONCLUSIVE, 1 FAIL, 2 NOT-RUN or a missing input."""
        if self.result.verdict == "NOT-RUN" or self.missing_inputs:
            return 2
        return 1 if self.result.verdict == "FAIL" else 0


#: Exit codes of ``harness check`` / ``make check``.
EXIT_OK, EXIT_FAIL, EXIT_INCOMPLETE = 0, 1, 2


def check_exit_code(outcomes: Iterable[CheckOutcome]) -> int:
    """Exit code of ``harness check``: 0 all PASS/INCONCLUSIVE, 1 any FAIL, 2 any NOT-RUN or
    missing input (2 takes precedence: verdicts on an incomplete run are not final)."""
    return max((o.exit_code for o in outcomes), default=EXIT_OK)


def select_checks(only: Iterable[str] | None = None) -> list[Check]:
    """Registered checks in id order, optionally restricted to ``only``."""
    checks = load_checks()
    if only:
        wanted = [c.strip() for c in only if c.strip()]
        unknown = [c for c in wanted if c not in checks]
        if unknown:
            raise HarnessError(
                f"--only: unknown check(s) {unknown}; valid ids are {sorted(checks, key=_id_key)}"
            )
        return [checks[c] for c in sorted(wanted, key=_id_key)]
    return [checks[c] for c in sorted(checks, key=_id_key)]


def _id_key(cid: str) -> tuple[str, int]:
    head = cid.rstrip("0123456789")
    tail = cid[len(head) :]
    return head, int(tail) if tail else 0


def load_tables(
    names: Iterable[str],
    scale: str,
    results_dir: str | os.PathLike[str],
    experiments_dir: str | os.PathLike[str],
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Tables of the named experiments, and a reason for each one that is missing/incomplete."""
    tables: dict[str, pd.DataFrame] = {}
    missing: dict[str, str] = {}
    for name in sorted(set(names)):
        try:
            spec = find_spec(name, experiments_dir)
            total, _failed, pending = pending_points(spec, scale, results_dir)
            tables[name] = load_results(name, scale, results_dir)
            if pending:
                missing[name] = f"{pending} of {total} points not computed"
        except (DataError, HarnessError) as exc:
            missing[name] = str(exc)
    return tables, missing


def run_checks(
    checks: list[Check],
    scale: str,
    results_dir: str | os.PathLike[str] = "results",
    experiments_dir: str | os.PathLike[str] = "experiments",
) -> list[CheckOutcome]:
    """Evaluate each check on the stored tables of its experiments at ``scale``."""
    tables, missing = load_tables(
        (e for c in checks for e in c.experiments), scale, results_dir, experiments_dir
    )
    outcomes = []
    for check in checks:
        lacking = tuple(e for e in check.experiments if e in missing)
        present = {e: tables[e] for e in check.experiments if e in tables}
        if len(present) < len(check.experiments):
            result = CheckResult(
                "NOT-RUN",
                "-",
                check.predicted,
                "missing input: " + "; ".join(f"{e}: {missing[e]}" for e in lacking),
            )
        else:
            try:
                result = check.fn(present)
            except Exception as exc:  # a crashing check is reported, never hidden; it says
                # nothing about the claim, so it is NOT-RUN (exit 2), not a FAIL of the claim
                result = CheckResult(
                    "NOT-RUN",
                    "-",
                    check.predicted,
                    f"check raised {type(exc).__name__}: {exc}",
                    {"traceback": traceback.format_exc()},
                )
            if lacking and result.verdict == "PASS":
                result = CheckResult(
                    "INCONCLUSIVE",
                    result.measured,
                    result.predicted,
                    f"{result.explanation} (inputs incomplete: {', '.join(lacking)})",
                    result.details,
                )
        outcomes.append(CheckOutcome(check, result, lacking))
    return outcomes


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_verdicts(outcomes: list[CheckOutcome], scale: str) -> str:
    """The verdict table as fixed-width text, plus one explanation line per check."""
    head = f"{'id':<5} {'claim':<46} {'measured':<30} {'predicted':<30} verdict"
    lines = [f"Verdicts at scale '{scale}'", head, "-" * len(head)]
    for o in outcomes:
        r = o.result
        lines.append(
            f"{o.check.id:<5} {_clip(o.check.claim, 46):<46} {_clip(r.measured, 30):<30} "
            f"{_clip(r.predicted, 30):<30} {r.verdict}"
        )
    lines.append("")
    for o in outcomes:
        lines.append(f"{o.check.id}: {o.result.explanation}")
    counts = pd.Series([o.result.verdict for o in outcomes]).value_counts()
    lines.append("")
    lines.append("summary: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return "\n".join(lines)


def outcomes_json(outcomes: list[CheckOutcome], scale: str) -> dict[str, Any]:
    """JSON-serialisable form of the outcomes (for ``--json FILE``)."""
    return {
        "scale": scale,
        "checks": [
            {
                "id": o.check.id,
                "title": o.check.title,
                "claim": o.check.claim,
                "source": o.check.source,
                "experiments": list(o.check.experiments),
                "rule": o.check.rule,
                "version": o.check.version,
                "verdict": o.result.verdict,
                "measured": o.result.measured,
                "predicted": o.result.predicted,
                "explanation": o.result.explanation,
                "missing_inputs": list(o.missing_inputs),
                "details": _jsonable(o.result.details),
            }
            for o in outcomes
        ],
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def write_json(path: str | os.PathLike[str], payload: dict[str, Any]) -> None:
    """Write JSON atomically."""
    from harness.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True))


# --------------------------------------------------------------------------- report
_PROVENANCE_COLUMNS = ("spec_hash", "harness_version", "git_commit", "versions", "hostname")


def provenance_of(df: pd.DataFrame) -> dict[str, Any]:
    """Distinct provenance values of a results table (spec hash, versions, commits, seeds)."""
    out: dict[str, Any] = {"rows": len(df)}
    if "point_key" in df:
        out["points"] = int(df["point_key"].nunique())
    if "seed_index" in df:
        out["seeds"] = int(df["seed_index"].nunique())
    if "point_status" in df:
        out["failed_rows"] = int((df["point_status"] != "ok").sum())
    for col in _PROVENANCE_COLUMNS:
        if col in df:
            vals = sorted({str(v) for v in df[col].dropna().unique()})
            out[col] = ", ".join(vals[:3]) + (f" (+{len(vals) - 3} more)" if len(vals) > 3 else "")
    return out


def write_report(
    outcomes: list[CheckOutcome],
    scale: str,
    results_dir: str | os.PathLike[str] = "results",
    figures_dir: str | os.PathLike[str] = "figures",
    experiments_dir: str | os.PathLike[str] = "experiments",
) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` into ``results_dir`` (atomically)."""
    results_dir = Path(results_dir)
    by_id = {o.check.id: o for o in outcomes}
    experiments = sorted(
        {e for o in outcomes for e in o.check.experiments}
        | {e for f in FIGURES.values() for e in f.experiments}
    )
    tables, missing = load_tables(experiments, scale, results_dir, experiments_dir)
    figs = available_figures(experiments_dir)
    counts = {v: sum(o.result.verdict == v for o in outcomes) for v in VERDICTS}
    md: list[str] = [
        f"# Theory-verification report (scale `{scale}`)",
        "",
        "**" + ", ".join(f"{v} {n}" for v, n in counts.items()) + "**",
        "",
        "Generated by `harness report` from the stored result tables; every number below is "
        "recomputed from `results/`. Verdicts: PASS (the data support the claim by its decision "
        "rule), FAIL (the data contradict it), INCONCLUSIVE (the data cannot decide: interval "
        "straddles the bound, design too small, rows excluded, precondition unmet, bracket too "
        "wide), NOT-RUN (inputs missing or unusable).",
        "",
        "## Verdicts",
        "",
        "| id | claim | source | measured | predicted | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        r = o.result
        md.append(
            f"| {o.check.id} | {_md(o.check.claim)} | {_md(o.check.source)} | {_md(r.measured)} | "
            f"{_md(r.predicted)} | **{r.verdict}** |"
        )
    md += ["", "## Figures", ""]
    html_figs: list[tuple[Any, Path | None, str]] = []
    for fig in FIGURES.values():
        md.append(f"### {fig.id}: {fig.title} ({fig.paper})")
        md.append("")
        png = Path(figures_dir) / scale / f"{fig.id}.png"
        if fig.id not in figs:
            note = "Not available in this checkout (spec or plotting module missing)."
            md.append(f"_{note}_")
            html_figs.append((fig, None, note))
        elif png.is_file():
            md.append(f"![{fig.id}]({os.path.relpath(png, results_dir)})")
            html_figs.append((fig, png, ""))
        else:
            why = missing.get(fig.experiment, "figure file missing")
            md.append(f"_Not rendered: run `make {fig.id}`_ ({why}).")
            html_figs.append((fig, None, f"Not rendered: run make {fig.id} ({why})."))
        md.append("")
        for cid in fig.checks:
            if cid in by_id:
                o = by_id[cid]
                md.append(
                    f"- **{cid} {o.result.verdict}** — {o.check.claim} {_md(o.result.explanation)}"
                )
        md.append("")
    md += ["## Checks in detail", ""]
    for o in outcomes:
        c, r = o.check, o.result
        md += [
            f"### {c.id}: {c.title} — {r.verdict}",
            "",
            f"- Claim ({c.source}): {c.claim}",
            f"- Measured: {c.measured} → {r.measured}",
            f"- Predicted: {c.predicted}",
            f"- Decision rule (v{c.version}): {c.rule}",
            f"- Reading: {r.explanation}",
            f"- Inputs: {', '.join(f'`{e}`' for e in c.experiments)}"
            + (f" (missing: {', '.join(o.missing_inputs)})" if o.missing_inputs else ""),
            "",
        ]
    md += [
        "## Provenance",
        "",
        "| experiment | rows | points | seeds | failed rows | spec hash | harness | git commit | versions | host |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    html_prov: list[tuple[str, dict[str, Any] | None, str]] = []
    for name in experiments:
        if name in tables:
            p = provenance_of(tables[name])
            html_prov.append((name, p, ""))
            md.append(
                f"| {name} | {p.get('rows', '')} | {p.get('points', '')} | {p.get('seeds', '')} | "
                f"{p.get('failed_rows', '')} | {p.get('spec_hash', '')} | {p.get('harness_version', '')} | "
                f"{p.get('git_commit', '')} | {_md(p.get('versions', ''))} | {p.get('hostname', '')} |"
            )
        else:
            md.append(f"| {name} | — | | | | | | | {_md(missing.get(name, 'no results'))} | |")
            html_prov.append((name, None, missing.get(name, "no results")))
    text = "\n".join(md) + "\n"
    md_path = results_dir / "report.md"
    html_path = results_dir / "report.html"
    results_dir.mkdir(parents=True, exist_ok=True)
    _atomic_text(md_path, text)
    _atomic_text(html_path, render_html(outcomes, scale, html_figs, html_prov))
    return md_path, html_path


def _md(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _atomic_text(path: Path, text: str) -> None:
    from harness.atomic import atomic_write_text

    atomic_write_text(path, text)
