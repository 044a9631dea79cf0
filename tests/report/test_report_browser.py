"""The HTML report in a real browser: headless Chromium loads it offline, every image loads
and fits a 1400-px window, and the verdict counts match ``harness check`` (skipped when no
Chromium is installed: ``apt-get install chromium``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from harness.cli import main
from harness.figures import FIGURES
from harness.predictions import CHECKS, CheckResult, register_check
from harness.sweep import load_spec, run_spec

REPO = Path(__file__).resolve().parents[2]
BROWSER = next(
    (
        b
        for b in ("chromium", "chromium-browser", "google-chrome", "chrome", "headless_shell")
        if shutil.which(b)
    ),
    None,
)
SPEC = """
name = "synth_html"
kind = "synthetic_cost"
seed = 5
seeds = 3

[grid]
x = [1, 2]
"""
PROBE = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const rows = {};
  document.querySelectorAll('tr[data-verdict]').forEach(
    (r) => { rows[r.dataset.verdict] = (rows[r.dataset.verdict] || 0) + 1; });
  const counts = {};
  document.querySelectorAll('.count').forEach((e) => { counts[e.dataset.verdict] = +e.dataset.count; });
  const probe = {
    images: imgs.length,
    broken: imgs.filter((i) => !(i.complete && i.naturalWidth > 0)).length,
    too_wide: imgs.filter((i) => i.getBoundingClientRect().right > window.innerWidth + 1).length,
    scroll_width: document.documentElement.scrollWidth,
    inner_width: window.innerWidth,
    counts: counts, rows: rows,
    details: document.querySelectorAll('details').length,
  };
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(probe);
  document.body.appendChild(pre);
});
</script></body>"""


@pytest.fixture
def report_dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Specs of the repo plus a synthetic one; results of the synthetic one; wide figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    exp = tmp_path / "experiments"
    shutil.copytree(REPO / "experiments", exp)
    (exp / "synth_html.toml").write_text(SPEC)
    results = tmp_path / "results"
    run_spec(load_spec(exp / "synth_html.toml"), results_dir=results, progress=False)
    figs = tmp_path / "figures" / "quick"
    figs.mkdir(parents=True)
    for fid in list(FIGURES)[:3]:  # 2000 px wide: must be scaled down to the window
        fig, ax = plt.subplots(figsize=(20, 4), dpi=100)
        ax.plot([0, 1], [0, 1])
        fig.savefig(figs / f"{fid}.png")
        plt.close(fig)
    return exp, results, tmp_path / "figures"


@pytest.fixture
def html_checks() -> object:
    for cid, verdict in (("H1", "PASS"), ("H2", "FAIL"), ("H3", "INCONCLUSIVE")):

        def fn(tables: dict[str, pd.DataFrame], v: str = verdict) -> CheckResult:
            ev = {"experiment": "synth_html", "n_rows": 6, "n_used": 5, "groups_lost": [],
                  "exclusions": [{"kind": "non-optimal", "reason": "status not optimal", "rows": 1}]}  # fmt: skip
            return CheckResult(v, "m", "p", f"slope <= 0, sqrt(log 2n): {v}", {"evidence": ev})

        register_check(
            cid, title=cid, claim="R <= C sqrt(log 2n)", source="test",
            experiments=("synth_html",), measured="m", predicted="p", rule="r",
        )(fn)  # fmt: skip
    yield ["H1", "H2", "H3"]
    for cid in ("H1", "H2", "H3"):
        CHECKS.pop(cid, None)


def _render(exp: Path, results: Path, figures: Path, only: str) -> tuple[Path, Counter[str]]:
    common = ["--results-dir", str(results), "--experiments-dir", str(exp)]
    out = results / "v.json"
    main(["check", "--only", only, *common, "--json", str(out)])
    counts = Counter(c["verdict"] for c in json.loads(out.read_text())["checks"])
    assert main(["report", *common, "--figures-dir", str(figures)]) == 0
    return results / "report.html", counts


def test_report_is_self_contained(
    report_dirs: tuple[Path, Path, Path], html_checks: list[str]
) -> None:
    exp, results, figures = report_dirs
    page, _ = _render(exp, results, figures, ",".join(html_checks))
    text = page.read_text()
    assert not re.search(r"(src|href)=['\"](https?:)?//", text)  # no CDN, nothing remote
    assert text.count("data:image/png;base64,") == 3
    assert "√(log 2n)" in text and "≤" in text and "sqrt(" not in text
    assert "Exclusion ledger" in text and "<details>" in text


@pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (apt-get install chromium)")
def test_report_in_headless_chromium(
    report_dirs: tuple[Path, Path, Path], html_checks: list[str], tmp_path: Path
) -> None:
    exp, results, figures = report_dirs
    # the report covers every registered check; `harness check` without --only as well
    page, _ = _render(exp, results, figures, ",".join(html_checks))
    out = results / "all.json"
    main(
        ["check", "--results-dir", str(results), "--experiments-dir", str(exp), "--json", str(out)]
    )
    expected = Counter(c["verdict"] for c in json.loads(out.read_text())["checks"])
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(page.read_text().replace("</body>", PROBE))
    cmd = [
        str(BROWSER), "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
        "--virtual-time-budget=10000", f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom", probe_page.as_uri(),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    m = re.search(r"<pre id=\"probe\">(.*?)</pre>", proc.stdout, re.S)
    assert m, f"no probe in the rendered page: {proc.stderr[-2000:]}"
    probe = json.loads(m.group(1).replace("&quot;", '"'))
    assert probe["images"] == 3 and probe["broken"] == 0, probe
    assert probe["too_wide"] == 0 and probe["scroll_width"] <= 1400, probe
    assert {k: v for k, v in probe["counts"].items() if v} == dict(expected), probe
    assert probe["rows"] == dict(expected), probe
    assert probe["details"] >= 2, probe  # the ledgers of H2 and H3 at least
