"""The HTML report: a self-contained offline page that shows the evidence of every verdict.

Verdict counts at the top, coloured verdicts, for each INCONCLUSIVE / FAIL / NOT-RUN its
reason and its exclusion ledger (collapsible ``<details>``), the math in Unicode
(``√(log 2n)``, ``≤``, ``κ``), and every figure embedded as a ``data:`` URI, scaled to the
page width (no CDN, no external file: the page opens offline and can be mailed as is).
"""

from __future__ import annotations

import base64
import html
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.predictions import VERDICTS

#: Verdict colours (background, text); readable in colour and in grey scale.
COLOURS = {
    "PASS": ("#1e7b34", "#ffffff"),
    "FAIL": ("#b42318", "#ffffff"),
    "INCONCLUSIVE": ("#f2c94c", "#222222"),
    "NOT-RUN": ("#6b7280", "#ffffff"),
}

_WORDS = {
    "kappa": "κ",
    "lambda_min": "λ_min",
    "lambda_max": "λ_max",
    "lambda": "λ",
    "beta": "β",
    "gamma_all": "γ_all",
    "gamma": "γ",
    "delta": "δ",
    "Sigma": "Σ",
    "theta": "θ",
    "alpha": "α",
    "rho": "ρ",
    "mu": "μ",
}
_SYMBOLS = (
    ("sqrt(", "√("),
    ("<=", "≤"),
    (">=", "≥"),
    ("!=", "≠"),
    ("->", "→"),
    ("p~*", "p̃*"),
    ("p~_", "p̃_"),
    ("p~", "p̃"),
    ("^{-1}", "⁻¹"),
    ("^2", "²"),
    ("^3", "³"),
    ("^T", "ᵀ"),
    ("S_bar", "S̄"),
    ("C_hat", "Ĉ"),
    ("+/-", "±"),
)


def unicode_math(text: str) -> str:
    """ASCII math of the claims and explanations in readable Unicode (``sqrt c`` -> ``√c``)."""
    s = str(text)
    for a, b in _SYMBOLS:
        s = s.replace(a, b)
    s = re.sub(r"\bsqrt ?(\w)", r"√\1", s)
    for word, sym in _WORDS.items():
        s = re.sub(rf"(?<![A-Za-z]){word}(?![A-Za-z])", sym, s)
    return s


def _t(text: Any) -> str:
    """Escaped, Unicode-math text."""
    return html.escape(unicode_math(" ".join(str(text).split())))


def badge(verdict: str) -> str:
    """A coloured verdict label."""
    bg, fg = COLOURS.get(verdict, ("#999", "#fff"))
    return (
        f"<span class='verdict' data-verdict='{html.escape(verdict)}' "
        f"style='background:{bg};color:{fg}'>{html.escape(verdict)}</span>"
    )


def embed_png(path: Path) -> str:
    """``data:`` URI of a PNG file (the page stays one self-contained file)."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;
 padding:16px 24px;max-width:1360px;color:#1f2328;line-height:1.4}
h1{margin:.2em 0}h2{margin-top:1.6em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%;table-layout:fixed}
td,th{border:1px solid #d0d7de;padding:4px 6px;vertical-align:top;overflow-wrap:anywhere}
th{background:#f6f8fa;text-align:left}
.verdict{display:inline-block;padding:1px 7px;border-radius:4px;font-weight:600;
 font-size:.85em;white-space:nowrap}
.summary{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.count{padding:8px 14px;border-radius:6px;font-size:1.1em}
.count b{font-size:1.4em;margin-left:6px}
tr.reason td{background:#fbfbfc;font-size:.92em}
details{margin:4px 0}summary{cursor:pointer;color:#0550ae}
figure{margin:12px 0}figure img{max-width:100%;height:auto;display:block;border:1px solid #eee}
figcaption{font-size:.9em;color:#57606a}
code{font-size:.9em;background:#f6f8fa;padding:0 3px}
.muted{color:#57606a;font-size:.9em}
"""


def _ledger_table(exclusions: Sequence[Mapping[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{_t(e.get('experiment', ''))}</td><td>{_t(e.get('kind', ''))}</td>"
        f"<td>{_t(e.get('reason', ''))}</td><td>{int(e.get('rows', 0))}</td></tr>"
        for e in exclusions
    )
    return (
        "<table class='ledger'><tr><th>experiment</th><th>kind</th><th>reason</th>"
        f"<th style='width:6em'>rows</th></tr>{rows}</table>"
    )


def _reason_row(result: Any, missing: Sequence[str]) -> str:
    exclusions = list(result.details.get("exclusions", []) or [])
    withheld = list(result.details.get("pass_withheld", []) or [])
    parts = [f"<b>Why {html.escape(result.verdict)}:</b> {_t(result.explanation)}"]
    if missing:
        parts.append(f"<div>Missing inputs: {_t(', '.join(missing))}</div>")
    if withheld:
        parts.append(f"<div>PASS withheld: {_t('; '.join(withheld))}</div>")
    n = sum(int(e.get("rows", 0)) for e in exclusions)
    if exclusions:
        parts.append(
            f"<details><summary>Exclusion ledger ({len(exclusions)} entries, {n} rows)"
            f"</summary>{_ledger_table(exclusions)}</details>"
        )
    else:
        parts.append("<div class='muted'>No rows excluded.</div>")
    return f"<tr class='reason'><td colspan='5'>{''.join(parts)}</td></tr>"


def render_html(
    outcomes: Sequence[Any],
    scale: str,
    figures: Sequence[tuple[Any, Path | None, str]],
    provenance: Sequence[tuple[str, Mapping[str, Any] | None, str]],
) -> str:
    """The report page.

    ``outcomes`` are :class:`harness.report.CheckOutcome`; ``figures`` are ``(Figure,
    png path or None, note)``; ``provenance`` are ``(experiment, provenance dict or None,
    note)``.
    """
    counts = Counter(o.result.verdict for o in outcomes)
    by_id = {o.check.id: o for o in outcomes}
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Theory-verification report ({html.escape(scale)})</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Theory-verification report <span class='muted'>scale {html.escape(scale)}</span></h1>",
        "<div class='summary' id='summary'>",
    ]
    for v in VERDICTS:
        bg, fg = COLOURS[v]
        out.append(
            f"<div class='count' data-verdict='{v}' data-count='{counts.get(v, 0)}' "
            f"style='background:{bg};color:{fg}'>{v}<b>{counts.get(v, 0)}</b></div>"
        )
    out += [
        "</div>",
        "<p class='muted'>Generated by <code>harness report</code> from the stored result "
        "tables; every number is recomputed from <code>results/</code>. PASS: the data support "
        "the claim by its decision rule at the stated confidence. FAIL: the data contradict it. "
        "INCONCLUSIVE: the data cannot decide (interval straddles the bound, design or trials "
        "too small, rows excluded, a precondition unmet, a bracket too wide). NOT-RUN: inputs "
        "missing or unusable. Exit code of <code>harness check</code>: 0 all PASS/INCONCLUSIVE, "
        "1 a FAIL, 2 a NOT-RUN or missing input.</p>",
        "<h2 id='verdicts'>Verdicts</h2>",
        "<table class='verdicts'><colgroup><col style='width:4em'><col style='width:32%'>"
        "<col><col style='width:20%'><col style='width:9.5em'></colgroup>",
        "<tr><th>id</th><th>claim</th><th>measured</th><th>predicted</th><th>verdict</th></tr>",
    ]
    for o in outcomes:
        r = o.result
        out.append(
            f"<tr id='row-{html.escape(o.check.id)}' data-verdict='{html.escape(r.verdict)}'>"
            f"<td><a href='#check-{html.escape(o.check.id)}'>{html.escape(o.check.id)}</a></td>"
            f"<td>{_t(o.check.claim)}</td><td>{_t(r.measured)}</td><td>{_t(r.predicted)}</td>"
            f"<td>{badge(r.verdict)}</td></tr>"
        )
        if r.verdict != "PASS":
            out.append(_reason_row(r, o.missing_inputs))
    out.append("</table>")
    out.append("<h2 id='figures'>Figures</h2>")
    for fig, png, note in figures:
        out.append(
            f"<h3>{html.escape(fig.id)}: {_t(fig.title)} <span class='muted'>({_t(fig.paper)})</span></h3>"
        )
        if png is not None:
            out.append(
                f"<figure><img alt='{html.escape(fig.id)}' src='{embed_png(png)}'>"
                f"<figcaption>{_t(fig.title)}</figcaption></figure>"
            )
        else:
            out.append(f"<p class='muted'>{_t(note)}</p>")
        items = [
            f"<li>{badge(by_id[c].result.verdict)} <b>{html.escape(c)}</b> {_t(by_id[c].check.claim)}</li>"
            for c in fig.checks
            if c in by_id
        ]
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
    out.append("<h2 id='details'>Checks in detail</h2>")
    for o in outcomes:
        c, r = o.check, o.result
        out += [
            f"<section id='check-{html.escape(c.id)}'><h3>{html.escape(c.id)}: {_t(c.title)} "
            f"{badge(r.verdict)}</h3><ul>",
            f"<li>Claim ({_t(c.source)}): {_t(c.claim)}</li>",
            f"<li>Measured: {_t(c.measured)} → {_t(r.measured)}</li>",
            f"<li>Predicted: {_t(c.predicted)}</li>",
            f"<li>Decision rule (v{c.version}): {_t(c.rule)}</li>",
            f"<li>Reading: {_t(r.explanation)}</li>",
            "<li>Inputs: "
            + ", ".join(f"<code>{html.escape(e)}</code>" for e in c.experiments)
            + (f" (missing: {_t(', '.join(o.missing_inputs))})" if o.missing_inputs else "")
            + "</li></ul>",
        ]
        exclusions = r.details.get("exclusions", []) or []
        if exclusions:
            out.append(
                f"<details><summary>Exclusion ledger ({len(exclusions)} entries)</summary>"
                f"{_ledger_table(exclusions)}</details>"
            )
        out.append("</section>")
    out += [
        "<h2 id='provenance'>Provenance</h2>",
        "<table><tr><th>experiment</th><th>rows</th><th>points</th><th>seeds</th><th>failed rows</th>"
        "<th>spec hash</th><th>harness</th><th>git commit</th><th>versions</th><th>host</th></tr>",
    ]
    for name, p, note in provenance:
        if p is None:
            out.append(f"<tr><td>{html.escape(name)}</td><td colspan='9'>{_t(note)}</td></tr>")
            continue
        cells = [p.get(k, "") for k in ("rows", "points", "seeds", "failed_rows", "spec_hash",
                                         "harness_version", "git_commit", "versions", "hostname")]  # fmt: skip
        out.append(
            f"<tr><td>{html.escape(name)}</td>"
            + "".join(f"<td>{html.escape(str(v))}</td>" for v in cells)
            + "</tr>"
        )
    out.append("</table></body></html>")
    return "\n".join(out)
