"""Tests of harness.certificates: the certified bracket on p* (THEORY.md Part D)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from bracket_instances import labelled_instance

from harness import formulations as F
from harness.certificates import (
    Bracket,
    best_combination,
    certified_bracket,
    dual_lower_bound,
    dual_norm_bound,
    optimized_dual_point,
    part_d_lower_bound,
    price_patterns,
    relu_network_value,
    subset_bound,
)
from harness.errors import InputError
from harness.instances import gaussian_instance, make_rng
from harness.nonconvex import train_restarts
from harness.patterns import enumerate_patterns, sample_patterns
from harness.solvers.registry import solve

#: Relative slack for comparisons against Clarabel solves at tol 1e-8.
RTOL = 1e-6


def _instance(n: int, d: int, seed: int, beta_rel: float = 0.1):
    inst = gaussian_instance(n, d, seed, labels="planted", width=4, noise=0.1)
    D_all = enumerate_patterns(inst.X, cap=10**5)
    D_all = D_all[:, D_all.any(axis=0)]
    beta = beta_rel * F.beta_max(inst.X, inst.y, D_all)
    return inst.X, inst.y, beta, D_all


def _exact_pstar(X, y, beta, D_all) -> tuple[float, float]:
    """Oracle: (2) on every enumerated pattern with Clarabel -> (dual bound, objective)."""
    res = solve("full", X, y, D_all, beta)
    assert res.ok
    return float(res.dual_bound), float(res.objective)


def _grid_M(X: np.ndarray, w: np.ndarray, n_grid: int = 400_001) -> float:
    """Oracle for d = 2: max over a dense grid of unit u of w^T (X u)_+ (a lower estimate)."""
    th = np.linspace(0.0, 2.0 * np.pi, n_grid)
    U = np.stack([np.cos(th), np.sin(th)])
    return float(np.max(w @ np.maximum(X @ U, 0.0)))


@pytest.mark.parametrize(("n", "d", "seed"), [(12, 2, 0), (20, 2, 1), (25, 3, 2)])
def test_exact_bracket_contains_pstar(n: int, d: int, seed: int) -> None:
    X, y, beta, D_all = _instance(n, d, seed)
    lo_ref, p_ref = _exact_pstar(X, y, beta, D_all)
    br = certified_bracket(X, y, beta, rng=make_rng(seed))
    assert isinstance(br, Bracket)
    assert br.exact
    assert br.lower_method in ("full_dual", "partD_enumerated_patterns[full_residual]")
    assert br.upper_method == "full_primal"
    assert br.pstar_lower <= p_ref * (1 + RTOL)
    assert br.pstar_upper >= lo_ref * (1 - RTOL)
    assert br.width == pytest.approx(br.pstar_upper - br.pstar_lower)
    assert 0 <= br.width <= 1e-6 * max(1.0, br.pstar_upper)
    np.testing.assert_allclose(br.pstar_upper, p_ref, rtol=1e-6)
    assert br.n_patterns == D_all.shape[1]
    rec = br.to_record()
    assert rec["pstar_exact"] is True and rec["pstar_width"] == br.width


@pytest.mark.parametrize(("n", "d", "seed", "cap"), [(20, 2, 3, 0), (30, 3, 4, 5), (24, 3, 5, 0)])
def test_partd_bracket_contains_pstar_and_is_below_feasible_values(
    n: int, d: int, seed: int, cap: int
) -> None:
    X, y, beta, D_all = _instance(n, d, seed)
    lo_ref, p_ref = _exact_pstar(X, y, beta, D_all)
    rng = make_rng(100 + seed)
    # cap=5 is below Cover's count: enumerate_patterns raises EnumerationError -> Part D.
    br = certified_bracket(X, y, beta, rng=rng, enumerate_cap=cap, P_init=20, n_restarts=2)
    assert not br.exact
    assert br.lower_method.startswith(("partD_", "trivial_zero"))
    assert br.upper_method in ("relu_cg", "nonconvex_gd")
    assert br.pstar_lower <= p_ref * (1 + RTOL) + 1e-12
    assert br.pstar_upper >= lo_ref * (1 - RTOL)
    assert math.isfinite(br.width) and br.width >= -1e-12
    assert br.rel_width == pytest.approx(br.width / br.pstar_upper)
    # The lower bound never exceeds any feasible value found independently.
    feasible = []
    for P in (5, 15, 40):
        D = sample_patterns(X, P, make_rng(P)).D
        res = solve("relu", X, y, D, beta)
        feasible.append(relu_network_value(X, y, res.variables["U"], res.variables["V"], beta))
    runs = train_restarts(X, y, beta, 8, np.random.SeedSequence(seed), 2, n_steps=300)
    feasible += [F.network_objective(X, y, r.U, r.alpha, beta) for r in runs]
    feasible += [r["objective"] for r in br.records if r.get("stage") == "nonconvex_gd"]
    feasible += [r["network_value"] for r in br.records if r.get("stage") == "relu_cg"]
    assert br.pstar_lower <= min(feasible) * (1 + 1e-9)
    # Every Part D record states the M_hat it used, and never a heuristic one.
    methods = {r["M_hat_method"] for r in br.records if r.get("stage") == "partD"}
    certified = {
        "subset_exact",
        "subset_sdp",
        "spectral",
        "subset_joint",
        "subset_sdp_joint",
        "lifted_rlt",
    }
    assert methods and methods <= certified


def test_dual_norm_bound_is_valid_d2(any_seed: int) -> None:
    rng = make_rng(any_seed)
    X = rng.standard_normal((18, 2))
    v = rng.standard_normal(18)
    grid = max(_grid_M(X, v), _grid_M(X, -v))
    for exact_max_n in (0, 24):  # certified SDP path, exact-enumeration path
        Mb = dual_norm_bound(X, v, rng, exact_max_n=exact_max_n)
        assert Mb.value >= grid * (1 - 1e-12)
        assert Mb.method in ("subset_exact", "subset_sdp", "spectral")
    D_all = enumerate_patterns(X)
    Mb2 = dual_norm_bound(X, v, rng, D_all=D_all)
    assert Mb2.value >= grid * (1 - 1e-12)
    # one-sided bounds: optimised t is never worse than bound 3 (t = 0)
    for w in (v, -v):
        g1 = _grid_M(X, w)
        b_opt, _ = subset_bound(X, w)
        b_t0, _ = subset_bound(X, w, optimize_t=False, exact_max_n=0)
        assert g1 <= b_opt * (1 + 1e-12)
        assert b_opt <= b_t0 * (1 + 1e-9)


def test_dual_norm_bound_dominates_local_ascent_d4() -> None:
    rng = make_rng(7)
    X = rng.standard_normal((40, 4))
    v = rng.standard_normal(40)
    _, vals = price_patterns(X, v, rng, n_starts=200)
    Mb = dual_norm_bound(X, v, rng)  # supports of v_+- have ~20 entries: exact path
    Mb_sdp = dual_norm_bound(X, v, rng, exact_max_n=0)  # certified SDP path
    assert vals.max() <= Mb.value * (1 + 1e-12)
    assert vals.max() <= Mb_sdp.value * (1 + 1e-12)
    crude = np.linalg.norm(X, 2) * max(
        np.linalg.norm(np.maximum(v, 0)), np.linalg.norm(np.minimum(v, 0))
    )
    assert Mb.value <= crude * (1 + 1e-12)


def test_dual_lower_bound_closed_form() -> None:
    rng = make_rng(3)
    y = rng.standard_normal(10)
    v = y + 0.3 * rng.standard_normal(10)
    for beta, M in ((0.5, 2.0), (5.0, 1.0)):
        lb, t = dual_lower_bound(v, y, beta, M)
        ts = np.linspace(0, beta / M, 200_001)
        brute = np.max(ts * (v @ y) - 0.5 * ts**2 * (v @ v))
        np.testing.assert_allclose(lb, brute, rtol=1e-9)
        assert 0 <= t <= beta / M + 1e-15
    assert dual_lower_bound(-y, y, 1.0, 1.0) == (0.0, 0.0)


def test_part_d_at_optimal_residual_is_tight_d2() -> None:
    X, y, beta, D_all = _instance(16, 2, 8)
    res = solve("full", X, y, D_all, beta)
    v = y - F.gated_predict(X, D_all, res.variables["U"] - res.variables["V"])
    lb = part_d_lower_bound(X, y, beta, v, make_rng(0))
    assert lb.value <= res.objective * (1 + RTOL)
    # at the optimal residual M(v) = beta; the refined subset bound is nearly tight in 2-D
    # (measured 0.97-1.00 over seeds 0-5), so the certificate recovers most of p*.
    assert lb.value >= 0.9 * res.objective
    assert lb.M_hat.value <= 1.1 * beta


def test_relu_network_value_equals_convex_objective() -> None:
    X, y, beta, _ = _instance(15, 3, 9)
    D = sample_patterns(X, 10, make_rng(1)).D
    res = solve("relu", X, y, D, beta)
    U, V = res.variables["U"], res.variables["V"]
    np.testing.assert_allclose(relu_network_value(X, y, U, V, beta), res.objective, rtol=1e-6)


def test_bracket_input_validation() -> None:
    X, y, beta, _ = _instance(10, 2, 0)
    with pytest.raises(InputError, match="P_grow must be an integer >= 0"):
        certified_bracket(X, y, beta, rng=make_rng(0), P_grow=-1)
    with pytest.raises(InputError, match="beta"):
        certified_bracket(X, y, -1.0, rng=make_rng(0))


@pytest.mark.parametrize("labels", ["gaussian", "planted"])
def test_every_lower_end_is_below_exact_pstar(labels: str) -> None:
    """The Part D lower ends against p* by enumeration (6 instances each)."""
    ratios = []
    for k, (n, d) in enumerate([(12, 2), (16, 2), (20, 3), (14, 3), (18, 2), (16, 3)]):
        seed = 40 + k + (0 if labels == "gaussian" else 100)
        X, y, beta, D_all = labelled_instance(n, d, seed, labels, beta_rel=(0.05, 0.1, 0.3)[k % 3])
        lo_ref, p_ref = _exact_pstar(X, y, beta, D_all)
        for lower in ("joint_sdp", "joint", "scaled"):
            br = certified_bracket(
                X,
                y,
                beta,
                rng=make_rng(seed),
                enumerate_cap=0,
                P_init=10,
                P_grow=10,
                max_rounds=2,
                n_restarts=0,
                lower=lower,
                joint_max_iter=200,
                triangle_rounds=1,
            )
            assert br.pstar_lower <= p_ref * (1 + RTOL) + 1e-12, (labels, n, d, lower)
            assert br.pstar_upper >= lo_ref * (1 - RTOL) - 1e-12, (labels, n, d, lower)
            assert br.pstar_lower >= 0.0
            ratios.append(br.pstar_lower / p_ref)
    assert max(ratios) > 0.3  # not vacuous: the certificates are far from the trivial 0


def test_optimized_dual_point_is_a_certificate_for_any_start() -> None:
    """Arbitrary starts (not residuals): the returned M_hat bounds M(v) and LB <= p*."""
    X, y, beta, D_all = labelled_instance(14, 2, 5, "gaussian")
    _, p_ref = _exact_pstar(X, y, beta, D_all)
    rng = make_rng(11)
    for start in (rng.standard_normal(14), y, -y, np.abs(rng.standard_normal(14))):
        lb = optimized_dual_point(X, y, beta, start, triangle_rounds=2, max_iter=200)
        assert lb.v is not None
        grid = max(_grid_M(X, lb.v), _grid_M(X, -lb.v))
        assert grid <= lb.M_hat.value * (1 + 1e-12)
        assert lb.value <= p_ref * (1 + RTOL) + 1e-12
        # the scaled point is dual feasible on every enumerated pattern (cone dropped)
        scaled = lb.t * lb.v
        assert F.group_norms(X.T @ (D_all * scaled[:, None])).max() <= beta * (1 + 1e-9) or (
            grid * lb.t <= beta * (1 + 1e-9)
        )


def test_triangle_cuts_and_v_optimisation_tighten_the_certificate() -> None:
    """At a fixed v, triangle cuts never loosen M_hat; optimising v raises the lower end."""
    X, y, beta, _ = labelled_instance(40, 4, 3, "planted")
    D = sample_patterns(X, 60, make_rng(3)).D
    res = solve("relu", X, y, D, beta)
    v = y - F.gated_predict(X, D, res.variables["U"] - res.variables["V"])
    plain = optimized_dual_point(X, y, beta, v, optimize_v=False, triangle_rounds=0)
    cuts = optimized_dual_point(X, y, beta, v, optimize_v=False, triangle_rounds=2)
    joint = optimized_dual_point(X, y, beta, v, triangle_rounds=2)
    scaled = part_d_lower_bound(X, y, beta, v, make_rng(0), exact_max_n=0)
    assert cuts.M_hat.value <= plain.M_hat.value * (1 + 1e-6)
    assert plain.value == pytest.approx(scaled.value, rel=2e-2)
    assert joint.value >= max(cuts.value, scaled.value)
    assert joint.value <= res.objective


def test_best_combination_of_certified_points() -> None:
    X, y, beta, D_all = labelled_instance(14, 2, 6, "planted")
    _, p_ref = _exact_pstar(X, y, beta, D_all)
    rng = make_rng(2)
    pts, vals = [], []
    for _ in range(4):
        lb = optimized_dual_point(X, y, beta, rng.standard_normal(14), max_iter=100)
        assert lb.v is not None
        pts.append(lb.t * lb.v)
        vals.append(lb.value)
    value, v = best_combination(pts, y)
    assert value >= max(vals) - 1e-12
    assert value <= p_ref * (1 + RTOL)
    np.testing.assert_allclose(value, v @ y - 0.5 * v @ v)


def test_dual_candidates_are_used_and_checked() -> None:
    X, y, beta, D_all = labelled_instance(16, 2, 7, "planted")
    res = solve("full", X, y, D_all, beta)
    v_opt = y - F.gated_predict(X, D_all, res.variables["U"] - res.variables["V"])
    br = certified_bracket(
        X,
        y,
        beta,
        rng=make_rng(0),
        enumerate_cap=0,
        P_init=5,
        P_grow=0,
        n_restarts=0,
        dual_candidates=[v_opt],
        lower="joint",  # "rlt" (auto at this n) optimises v globally and takes no candidates
    )
    names = {r["candidate"] for r in br.records if r.get("stage") == "partD"}
    assert "candidate0" in names
    assert br.pstar_lower <= res.objective * (1 + RTOL)
    with pytest.raises(InputError, match=r"dual_candidates\[0\] must be a finite vector"):
        certified_bracket(X, y, beta, rng=make_rng(0), dual_candidates=[np.ones(3)])
    with pytest.raises(InputError, match="lower must be one of"):
        certified_bracket(X, y, beta, rng=make_rng(0), lower="sdp_joint")


def test_joint_lower_end_on_a_degenerate_design_is_the_trivial_bound() -> None:
    """X = 0 leaves nothing to optimise: the joint lower end is 0 (valid), not an overflow."""
    y = np.array([1.0, -2.0, 0.5, 1.5, -1.0, 0.3])
    lb = optimized_dual_point(np.zeros((6, 2)), y, 0.1, y)
    assert lb.value == 0.0
