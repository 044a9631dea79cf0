"""Table 1 of Ergen & Pilanci 2021 (THEORY.md Part B): our numbers beside the paper's.

:func:`table1_frame` summarises the ``deep_uci`` results (mean, sd and count per set and
method over splits x seeds); :func:`table1_markdown` renders it with the definitions used
for our numbers and the verdicts of checks E3/E4. Writing is the CLI's job
(``harness table1``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.predictions.deep import table1_rows

#: Table 1 of the paper (THEORY.md Part B): n, d, train SGD, train convex, test SGD, test convex.
PAPER_TABLE1: dict[str, tuple[int, int, float, float, float, float]] = {
    "acute-inflammation": (120, 6, 0.0029, 0.0013, 0.0224, 0.0217),
    "acute-nephritis": (120, 6, 0.0039, 0.0021, 0.0198, 0.0192),
    "balloons": (16, 4, 0.7901, 0.6695, 0.2693, 0.1496),
    "breast-tissue": (106, 9, 0.5219, 0.3979, 1.4082, 1.0377),
    "fertility": (100, 9, 0.125, 0.1224, 0.3551, 0.5050),
    "pittsburg-bridges-SPAN": (92, 7, 0.1723, 0.1668, 1.4373, 1.3112),
}
DEFINITIONS = """\
Definitions used for *our* numbers (the paper's definitions and settings were not
recoverable, THEORY.md Part B [UNRECOVERED]):

* training objective = value of (5), `1/2 ||f(X) - y||^2 + beta/2 sum_k (||w_2k||^2 + w_3k^2)`,
  divided by the number of training rows; for the convex method it is the optimum of (13)
  on the sampled arrangements (equal to (5) at the Prop. 1 weights, check E1);
* test error = mean squared error `mean_i (f(x_i) - y_i)^2` on the test rows, with the class
  index as the regression target; the convex method predicts with its Prop. 1 network;
* SGD = momentum 0.9, mini-batches, `W_1k` projected onto the unit Frobenius ball; for each
  split the learning rate with the lowest best-of-inits training objective (training split
  only) is chosen and the best init at that rate is the entry;
* beta = beta_rel x beta_max13 (the smallest beta at which the zero network solves (13)),
  the same for both methods; splits = the collection's 4 train/test pairs
  (`conxuntos_kfold.dat`, 75/25), times the spec's seeds;
* mean +- standard deviation over splits x seeds; `n` = rows used (all splits), the paper's
  `n` is the full set.
"""


def table1_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Our Table 1 (mean, sd, count per set and method) beside the paper's numbers."""
    ok = df[df["point_status"] == "ok"] if "point_status" in df else df
    failed_solve = (ok["record"] == "convex") & (ok["solve_status"] != "optimal")
    rows = table1_rows(ok[~failed_solve])
    out = []
    for name, paper in PAPER_TABLE1.items():
        g = rows[rows["dataset"] == name]
        rec: dict[str, object] = {
            "dataset": name,
            "paper_n": paper[0],
            "paper_d": paper[1],
            "n_train_ours": float(g["n_train"].mean()) if len(g) else np.nan,
            "d_ours": float(g["d"].mean()) if len(g) else np.nan,
        }
        for col, label, pi in (
            ("train_objective", "train", 2),
            ("test_error", "test", 4),
        ):
            for j, method in enumerate(("sgd", "convex")):
                vals = g[g["method"] == method][col].to_numpy(float)
                vals = vals[np.isfinite(vals)]
                rec[f"{label}_{method}_paper"] = paper[pi + j]
                rec[f"{label}_{method}_mean"] = float(vals.mean()) if vals.size else np.nan
                rec[f"{label}_{method}_sd"] = float(vals.std(ddof=1)) if vals.size > 1 else np.nan
                rec[f"{label}_{method}_count"] = int(vals.size)
        out.append(rec)
    return pd.DataFrame(out)


def _pm(mean: float, sd: float) -> str:
    if not np.isfinite(mean):
        return "n/a"
    return f"{mean:.4g} ± {sd:.2g}" if np.isfinite(sd) else f"{mean:.4g}"


def table1_markdown(tab: pd.DataFrame, scale: str, verdicts: list[str]) -> str:
    """Markdown of :func:`table1_frame` with the definitions and the E3/E4 verdicts."""
    lines = [
        f"# Table 1 (Ergen & Pilanci 2021), scale `{scale}`: ours beside the paper's",
        "",
        "| dataset | n (paper) | n_train ours | d | train SGD paper | train SGD ours | "
        "train convex paper | train convex ours | test SGD paper | test SGD ours | "
        "test convex paper | test convex ours | splits |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in tab.iterrows():
        lines.append(
            f"| {r['dataset']} | {r['paper_n']} | {r['n_train_ours']:.0f} | {r['paper_d']} | "
            f"{r['train_sgd_paper']} | {_pm(r['train_sgd_mean'], r['train_sgd_sd'])} | "
            f"{r['train_convex_paper']} | {_pm(r['train_convex_mean'], r['train_convex_sd'])} | "
            f"{r['test_sgd_paper']} | {_pm(r['test_sgd_mean'], r['test_sgd_sd'])} | "
            f"{r['test_convex_paper']} | {_pm(r['test_convex_mean'], r['test_convex_sd'])} | "
            f"{int(r['train_convex_count'])} |"
        )
    lines += ["", *verdicts, "", DEFINITIONS]
    return "\n".join(lines)
