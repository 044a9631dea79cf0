"""``harness demo``: one small instance through every formulation, with certificates.

Solves, on one (A1) instance small enough to enumerate every pattern: the full program
(2) (p*), the gated program on all patterns (p_u), the ReLU relaxation (3) and the gated
relaxation (5) on sampled patterns (p~*, p~_u), and the ridge variant (Thm 3.4) both in
closed form and with Clarabel. It prints each value with its certified dual bound and
status, the mapped networks' objective (1), and the run-time invariants
``p_u <= p* <= p~*`` and ``p~_u <= p~*``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness import formulations as F
from harness.certificates import certified_bracket
from harness.instances import gaussian_instance, make_rng
from harness.mapping import cone_decomposition, relu_network_value
from harness.patterns import enumerate_pattern_set, sample_patterns
from harness.solvers.reference import solve_ridge_reference
from harness.solvers.registry import solve


@dataclass(frozen=True)
class DemoReport:
    """Rows of the demo table plus the invariant checks."""

    setting: dict[str, Any]
    rows: list[dict[str, Any]]
    invariants: list[tuple[str, bool, str]]

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.invariants)


def run_demo(
    n: int = 40,
    d: int = 3,
    P: int = 20,
    seed: int = 0,
    beta_rel: float = 0.05,
    solver: str = "clarabel",
) -> DemoReport:
    """Run every formulation on one instance; ``beta = beta_rel * beta_max`` (all patterns)."""
    inst = gaussian_instance(n, d, seed, labels="planted", width=4, noise=0.1)
    X, y = inst.X, inst.y
    full_set = enumerate_pattern_set(X)
    sampled = sample_patterns(X, P, make_rng(np.random.SeedSequence(seed, spawn_key=(1,))))
    beta = beta_rel * F.beta_max(X, y, full_set.D)
    jobs = {
        "p*    full (2), all patterns": ("full", full_set.D),
        "p_u   gated (5), all patterns": ("gated", full_set.D),
        "p~*   ReLU relaxation (3)": ("relu", sampled.D),
        "p~_u  gated relaxation (5)": ("gated", sampled.D),
    }
    solves = {name: solve(prob, X, y, D, beta, solver=solver) for name, (prob, D) in jobs.items()}
    rows: list[dict[str, Any]] = []
    for name, res in solves.items():
        if "U" in res.variables:
            mapped = relu_network_value(X, y, res.variables["U"], res.variables["V"], beta)
            note = "mapped network (1)"
        else:
            dec = cone_decomposition(X, jobs[name][1], res.variables["W"])
            mapped = relu_network_value(X, y, dec.A, dec.B, beta)
            note = f"cone decomposition, max C = {np.nanmax(dec.sharpness):.3g}"
        rows.append(
            {
                "quantity": name,
                "P": res.n_patterns,
                "objective": res.objective,
                "dual_bound": res.dual_bound,
                "status": res.status,
                "solver": res.solver,
                "n_iter": res.n_iter,
                "time_s": res.time_s,
                "cone_viol": res.max_cone_violation,
                "network_value": mapped,
                "network_note": note,
            }
        )
    # Part D bracket computed as if the arrangement were not enumerable (cap 0), so it can be
    # compared with the exact p* above
    bracket = certified_bracket(
        X,
        y,
        beta,
        rng=make_rng(np.random.SeedSequence(seed, spawn_key=(2,))),
        enumerate_cap=0,
        P_init=P,
        solver=solver,
    )
    rows.append(
        {
            "quantity": "p* bracket, Part D (no enum.)",
            "P": bracket.n_patterns,
            "objective": bracket.pstar_upper,
            "dual_bound": bracket.pstar_lower,
            "status": "certified",
            "solver": solver,
            "n_iter": None,  # several solves and GD runs: no single iteration count
            "time_s": bracket.time_s,
            "cone_viol": None,
            "network_value": bracket.pstar_upper,
            "network_note": f"upper: {bracket.upper_method}; lower: {bracket.lower_method}",
        }
    )
    ridge = solve_ridge_reference(X, y, sampled.D, beta)
    closed = F.ridge_value(X, y, sampled.D, beta)
    rows.append(
        {
            "quantity": "ridge (11) Thm 3.4: Clarabel",
            "P": ridge.n_patterns,
            "objective": ridge.objective,
            "dual_bound": None,
            "status": ridge.status,
            "solver": ridge.solver,
            "n_iter": ridge.n_iter,
            "time_s": ridge.time_s,
            "cone_viol": None,  # no cone constraints in (11)
            "network_value": closed,
            "network_note": "closed form beta/2 y^T (S + beta I)^-1 y",
        }
    )
    v = {k.split()[0]: r.objective for k, r in solves.items()}
    tol = 1e-6 * max(1.0, v["p*"])
    invariants = [
        ("p_u <= p*", v["p_u"] <= v["p*"] + tol, f"{v['p_u']:.8g} <= {v['p*']:.8g}"),
        ("p* <= p~*", v["p*"] <= v["p~*"] + tol, f"{v['p*']:.8g} <= {v['p~*']:.8g}"),
        ("p~_u <= p~*", v["p~_u"] <= v["p~*"] + tol, f"{v['p~_u']:.8g} <= {v['p~*']:.8g}"),
        ("p_u <= p~_u", v["p_u"] <= v["p~_u"] + tol, f"{v['p_u']:.8g} <= {v['p~_u']:.8g}"),
        (
            "mapped network reproduces p*",
            abs(rows[0]["network_value"] - v["p*"]) <= tol,
            f"|{rows[0]['network_value']:.10g} - {v['p*']:.10g}|",
        ),
        (
            "ridge closed form = Clarabel",
            abs(closed - ridge.objective) <= 1e-6 * max(1.0, closed),
            f"{closed:.10g} vs {ridge.objective:.10g}",
        ),
        (
            "Part D bracket contains p*",
            bracket.pstar_lower <= v["p*"] + tol and v["p*"] <= bracket.pstar_upper + tol,
            f"{bracket.pstar_lower:.8g} <= {v['p*']:.8g} <= {bracket.pstar_upper:.8g}",
        ),
        ("all solves optimal", all(r.ok for r in solves.values()) and ridge.ok, ""),
    ]
    setting = {
        "n": n,
        "d": d,
        "P_requested": P,
        "P_sampled": sampled.P_unique,
        "P_all": full_set.P_unique,
        "seed": seed,
        "beta": beta,
        "beta_rel": beta_rel,
    }
    return DemoReport(setting, rows, invariants)


def _dash(value: Any, fmt: str) -> str:
    """``value`` formatted, or ``-`` when it was not measured."""
    return "-" if value is None else format(value, fmt)


def format_demo(report: DemoReport) -> str:
    """Plain-text table of a :class:`DemoReport`."""
    s = report.setting
    lines = [
        f"Instance (A1): n={s['n']}, d={s['d']}, planted labels, seed={s['seed']}; "
        f"beta = {s['beta_rel']} * beta_max = {s['beta']:.6g}",
        f"Patterns: all {s['P_all']} enumerated; {s['P_sampled']} distinct of "
        f"{s['P_requested']} sampled",
        "",
        f"{'quantity':<32} {'P':>5} {'objective':>13} {'dual bound':>13} {'status':>8} "
        f"{'iter':>5} {'time s':>7} {'cone viol':>9}  network (1) value",
    ]
    for r in report.rows:
        db = "" if r["dual_bound"] is None else f"{r['dual_bound']:.8g}"
        lines.append(
            f"{r['quantity']:<32} {r['P']:>5} {r['objective']:>13.8g} {db:>13} {r['status']:>8} "
            f"{_dash(r['n_iter'], 'd'):>5} {r['time_s']:>7.3f} {_dash(r['cone_viol'], '.1e'):>9}  "
            f"{r['network_value']:.8g} ({r['network_note']})"
        )
    lines += ["", "Invariants (checked at run time):"]
    for name, ok, detail in report.invariants:
        lines.append(f"  [{'PASS' if ok else 'FAIL'}] {name:<32} {detail}")
    return "\n".join(lines)
