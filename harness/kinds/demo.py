"""Small kinds used to exercise the sweep engine.

``relaxation_gap_small`` is a real (small) experiment: the gap between the ReLU program
with sampled patterns, THEORY.md eq. (3), and its gated relaxation, eq. (5), on one
(A1) Gaussian instance. ``synthetic_cost`` does no mathematics at all: it draws numbers
from the point seed and sleeps, so tests can measure the engine itself (resume after a
kill, failure isolation, backends) without solver cost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.formulations import beta_max
from harness.instances import make_rng
from harness.kinds import register_kind
from harness.kinds.common import BetaRule, SolverChoice, SyntheticInstance
from harness.params import Interval, Parameters, Text, param
from harness.patterns import sample_patterns

DEFAULT_TOL = 1e-8
DEFAULT_MAX_ITER = 500
QUANTITIES = ("p_gated", "p_relu")


@dataclass(frozen=True, kw_only=True)
class GapSmallParams(SyntheticInstance, BetaRule, SolverChoice):
    """Parameters of ``relaxation_gap_small``: an instance, ``P``, the beta rule, the solver."""

    P: int = param(Interval(int, 1, None))
    quantities: str = param(Text(what="a comma-joined list of quantities"), "p_gated,p_relu")


@register_kind(
    "relaxation_gap_small",
    params=GapSmallParams,
    requires=[("n", "c"), ("d",), ("P",), ("beta", "beta_rel")],
    quantities=QUANTITIES,
)
def relaxation_gap_small(p: GapSmallParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Relaxation gap ``p_relu - p_gated`` of eqs. (3) and (5), THEORY.md §A2, one instance.

    Builds an (A1) instance ``gaussian_instance(n, d, ...)`` from the first child of
    ``seed``, samples ``P`` Gaussian patterns (eq. (3)) from the second, sets ``beta``
    directly or as ``beta_rel * beta_max`` with ``beta_max = max_i ||X^T D_i y||`` on the
    sampled patterns, and solves the gated program (5) and the cone-constrained ReLU
    program (3) with the point's solver. Since (5) relaxes (3), ``p_gated <= p_relu`` up
    to the solver tolerance.

    Parameters
    ----------
    p : GapSmallParams
        ``n``, ``d``, ``P``, ``beta`` or ``beta_rel``; optional ``labels``,
        ``teacher_width``, ``weight_law``, ``noise`` (instance), ``solver``, ``tol``,
        ``max_iter`` and ``quantities`` (``"p_gated"``, ``"p_relu"`` or both, the
        default, comma-joined; the gap columns need both).
    seed : SeedSequence

    Returns
    -------
    list of dict
        One row: ``P_unique``, ``beta_max``, ``beta_used``; for each program computed
        its objective (``p_gated``, ``p_relu``), ``status_*``, ``time_*_s``,
        ``n_active_*``, ``duality_gap_*`` (and ``max_cone_violation_relu``); with both,
        ``gap = p_relu - p_gated`` and ``rel_gap = gap / p_relu``.
    """
    from harness.solvers.registry import solve

    inst_seed, pattern_seed = seed.spawn(2)
    inst = p.instance(inst_seed)
    patterns = sample_patterns(inst.X, p.P, make_rng(pattern_seed))
    D = patterns.D
    bmax = beta_max(inst.X, inst.y, D)
    beta = p.beta_value(bmax)
    opts = p.solver_options(DEFAULT_TOL, DEFAULT_MAX_ITER)
    wanted = p.quantities.split(",")
    row: dict[str, Any] = {"P_unique": patterns.P_unique, "beta_max": bmax, "beta_used": beta}
    objectives = {}
    for quantity, problem in (("p_gated", "gated"), ("p_relu", "relu")):
        if quantity not in wanted:
            continue
        res = solve(problem, inst.X, inst.y, D, beta, **opts)
        objectives[quantity] = res.objective
        row[quantity] = res.objective
        row[f"status_{problem}"] = res.status
        row[f"time_{problem}_s"] = res.time_s
        row[f"n_active_{problem}"] = res.n_active
        row[f"duality_gap_{problem}"] = res.duality_gap
        if problem == "relu":
            row["max_cone_violation_relu"] = res.max_cone_violation
    if len(objectives) == 2:
        gap = objectives["p_relu"] - objectives["p_gated"]
        row["gap"] = gap
        row["rel_gap"] = gap / objectives["p_relu"] if objectives["p_relu"] > 0 else float("nan")
    return [row]


@dataclass(frozen=True, kw_only=True)
class SyntheticCostParams(Parameters):
    """Parameters of ``synthetic_cost`` (an engine workload, no THEORY.md quantity)."""

    x: int = param(Interval(int, None, None))
    cost_s: float = param(Interval(float, 0.0, 60.0), 0.0)
    fail_x: int | None = param(Interval(int, None, None), None)


@register_kind("synthetic_cost", params=SyntheticCostParams, requires=[("x",)])
def synthetic_cost(p: SyntheticCostParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Engine test workload (no THEORY.md quantity): seeded draws, a sleep, optional failure.

    Parameters
    ----------
    p : SyntheticCostParams
        ``x`` (int, required), ``cost_s`` (seconds to sleep, default 0) and ``fail_x``
        (raise ``RuntimeError`` when ``x == fail_x``; default never).
    seed : SeedSequence

    Returns
    -------
    list of dict
        One row: ``draw`` (a standard normal from the point's seed), ``draw_sum`` (sum of
        ten more) and ``x_squared``.
    """
    rng = make_rng(seed)
    if p.fail_x is not None and p.x == p.fail_x:
        raise RuntimeError(f"synthetic failure requested for x={p.x}")
    if p.cost_s > 0:
        time.sleep(p.cost_s)
    return [
        {
            "draw": float(rng.standard_normal()),
            "draw_sum": float(rng.standard_normal(10).sum()),
            "x_squared": p.x**2,
        }
    ]
