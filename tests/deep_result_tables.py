"""Results-shaped tables of the Ergen & Pilanci 2021 experiments on which E1-E6 PASS.

Shared by ``tests/deep/test_deep_checks.py`` (registry-level verdicts) and the property test
of ``tests/predictions/test_predictions_checks.py`` (no check PASSes on an empty, single-row
or all-NaN table). Closed-form values, no solver.
"""

from __future__ import annotations

import pandas as pd

from harness.predictions.deep import TABLE1_SETS

Tables = dict[str, pd.DataFrame]


def _point(key: str, p13: float, finals: list[float], **conv: object) -> list[dict[str, object]]:
    base = {"point_status": "ok", "cache_key": key, "arrangement": "sampled"}
    rows: list[dict[str, object]] = [
        {
            **base, "record": "convex", "p13": p13, "dual_bound": p13 * (1 - 1e-9),
            "solve_status": "optimal", "mapping_rel_err": 1e-10, "W1_max_norm": 1.0, **conv,
        }
    ]  # fmt: skip
    for i, f in enumerate(finals):
        rows.append(
            {
                **base, "record": "run", "K": 1 if i < len(finals) // 2 else 20, "init": i,
                "final_objective": f, "status": "ok", "covered": True,
            }
        )  # fmt: skip
    return rows


def synthetic(n_points: int = 3) -> Tables:
    """``deep_synthetic``: per point 6 runs at K=1 (3 stuck) and 6 at K=20 (all reach)."""
    rows = []
    for k in range(n_points):
        rows += _point(f"p{k}", 1.0, [2.0, 2.0, 2.0, 1.0, 1.0, 1.0] + [1.0] * 6)
    return {"deep_synthetic": pd.DataFrame(rows)}


def uci(n_folds: int = 4) -> Tables:
    """``deep_uci``: convex 5 % below SGD in training objective and test error on every set."""
    rows = []
    for name in TABLE1_SETS:
        for f in range(n_folds):
            base = {"point_status": "ok", "dataset": name, "fold": f, "cache_key": f"{name}{f}"}
            rows.append(
                {
                    **base, "record": "convex", "solve_status": "optimal", "p13": 1.0,
                    "dual_bound": 1.0, "mapping_rel_err": 1e-10, "W1_max_norm": 1.0,
                    "train_objective": 1.0, "test_error": 1.0,
                }
            )  # fmt: skip
            gap = 0.05 + 0.01 * f
            rows.append(
                {
                    **base, "record": "run", "status": "ok", "is_best": True, "covered": True,
                    "final_objective": 1.0 + gap, "train_objective": 1.0 + gap,
                    "test_error": 1.0 + gap,
                }
            )  # fmt: skip
    return {"deep_uci": pd.DataFrame(rows)}


def fmnist(n_seeds: int = 4) -> Tables:
    rows = []
    for s in range(n_seeds):
        for method, acc in (
            ("convex16_adam", 0.9),
            ("nonconvex_sgd", 0.85),
            ("nonconvex_adam", 0.88),
        ):
            rows.append(
                {"point_status": "ok", "seed_index": s, "record": "run", "method": method,
                 "status": "ok", "test_accuracy": acc + 0.001 * s}
            )  # fmt: skip
    return {"deep_fmnist": pd.DataFrame(rows)}


def all_tables() -> Tables:
    return {**synthetic(), **uci(), **fmnist()}
