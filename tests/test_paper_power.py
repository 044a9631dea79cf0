"""The paper-scale designs can PASS their probability checks (power, not only FAIL).

A binomial check with fewer trials than :func:`min_trials_to_pass` stays INCONCLUSIVE
whatever the data; these tests keep the paper grids above that floor.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from harness.predictions.rules import min_trials_to_pass
from harness.sweep.grid import expand_grid
from harness.sweep.spec import load_spec

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def test_chernoff_rank_paper_has_the_trials_p9_needs() -> None:
    # P9 (b) asks, per (n, d, P_mult), for a frequency >= 1 - n exp(-P / (8 kappa)), a
    # level up to 1 at P_mult = 2; the most trials any level needs is that of level 1
    points = expand_grid(load_spec(EXPERIMENTS / "chernoff_rank.toml"), "paper")
    groups = Counter((p.params["n"], p.params["d"], p.params["P_mult"]) for p in points)
    need = min_trials_to_pass(1.0)
    assert min(groups.values()) >= need, (min(groups.values()), need)


def test_coupling_paper_has_the_trials_p15_needs_at_every_wide_width() -> None:
    # P15 decides (A2) per (dataset, width) over the seeds and the n the width covers
    # (width >= lemma_width_over_n * n); at widths that cover every n the design must be
    # able to reach a PASS at level 0.9
    points = expand_grid(load_spec(EXPERIMENTS / "coupling.toml"), "paper")
    n_max = max(p.params["n"] * p.params["lemma_width_over_n"] for p in points)
    groups = Counter(
        (p.params["dataset"], p.params["width"])
        for p in points
        if p.params["width"] >= p.params["lemma_width_over_n"] * p.params["n"]
    )
    wide = {k: v for k, v in groups.items() if k[1] >= n_max}
    assert wide, "no width covers every n"
    assert min(wide.values()) >= min_trials_to_pass(0.9), wide
