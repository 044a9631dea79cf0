"""Projected Newton on the kernel weights of (5) (``gated_kernel``) vs Clarabel."""

from __future__ import annotations

import numpy as np
import pytest

from harness import formulations as F
from harness.errors import InputError
from harness.instances import gaussian_instance, make_rng
from harness.patterns import sample_patterns
from harness.solvers import gated_kernel as GK
from harness.solvers.gated_kernel import KernelSystems, solve_gated_kernel
from harness.solvers.path import solve_path
from harness.solvers.reference import solve_gated_reference

# (seed, n, d, P, labels, beta / beta_max); d * (active gates) below and above n, so both
# factorisations (feature form, kernel form) are used
CASES = [
    (0, 20, 2, 10, "planted", 0.9),
    (1, 30, 3, 20, "gaussian", 0.5),
    (3, 50, 3, 30, "gaussian", 0.1),
    (5, 25, 2, 15, "gaussian", 0.01),
    (8, 45, 4, 30, "planted", 0.01),
    (9, 30, 2, 12, "planted", 1e-3),
    (12, 60, 3, 40, "planted", 1e-3),
    (18, 25, 6, 30, "gaussian", 0.3),
    (21, 20, 15, 8, "gaussian", 0.02),
    (22, 40, 30, 12, "planted", 0.05),
]
REL_OBJ = 1e-6
TOL = 1e-9


def _instance(seed: int, n: int, d: int, P: int, labels: str) -> tuple[np.ndarray, ...]:
    inst = gaussian_instance(n, d, seed, labels=labels, width=4, noise=0.1)
    return inst.X, inst.y, sample_patterns(inst.X, P, make_rng(seed + 100)).D


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c[0]}-b{c[5]:g}")
def test_kernel_newton_matches_clarabel(case: tuple) -> None:
    seed, n, d, P, labels, frac = case
    X, y, D = _instance(seed, n, d, P, labels)
    beta = frac * F.beta_max(X, y, D)
    res = solve_gated_kernel(X, y, D, beta, tol=TOL)
    ref = solve_gated_reference(X, y, D, beta)
    assert ref.ok and res.ok, (ref.raw_status, res.raw_status)
    assert res.extra["method"] == "kernel_newton"
    np.testing.assert_allclose(res.objective, ref.objective, rtol=REL_OBJ)
    assert res.duality_gap is not None and res.dual_bound is not None
    assert res.duality_gap <= TOL * res.objective * (1 + 1e-9)
    assert res.dual_bound <= ref.objective * (1 + 1e-9)


def test_both_forms_are_used_and_agree() -> None:
    # the same problem factorised only in the kernel form (n x n) and in the cheaper one
    X, y, D = _instance(22, 40, 30, 12, "planted")
    beta = 0.3 * F.beta_max(X, y, D)
    res = solve_gated_kernel(X, y, D, beta, tol=TOL)
    assert res.extra["n_kernel_form"] > 0 and res.extra["n_feature_form"] > 0
    theta = res.extra["theta"]
    sys_ = KernelSystems(X, y, D, beta, None)
    feat = sys_._feature(theta, np.flatnonzero(theta > 0))
    kern = sys_._kernel(theta, np.flatnonzero(theta > 0))
    np.testing.assert_allclose(feat.alpha, kern.alpha, rtol=1e-9, atol=1e-12)
    G = X.T @ (D * kern.alpha[:, None])
    B = D * (X @ G)  # B_i = D_i X g_i = K_i alpha, all gates (cached or not in the feature form)
    free = np.arange(D.shape[1])
    np.testing.assert_allclose(feat.hessian(B, free, G), kern.hessian(B, free, G), rtol=1e-7)


def test_theta_is_the_primal_scale_and_alpha_the_residual() -> None:
    # w_i = theta_i X^T D_i alpha with alpha = y - sum_i D_i X w_i (the ridge closed form),
    # and ||X^T D_i alpha|| ~ beta on the support, so theta_i ~ ||w_i|| / beta
    X, y, D = _instance(3, 50, 3, 30, "gaussian")
    beta = 0.1 * F.beta_max(X, y, D)
    res = solve_gated_kernel(X, y, D, beta, tol=TOL)
    W, theta = res.variables["W"], res.extra["theta"]
    alpha = y - F.gated_predict(X, D, W)
    np.testing.assert_allclose(W, theta * (X.T @ (D * alpha[:, None])), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(theta, F.group_norms(W) / beta, rtol=1e-3, atol=1e-12)


def test_a_reused_factor_equals_a_fresh_one_at_another_beta() -> None:
    # S(theta) is free of beta: a path reuses the last factorisation, only f's linear
    # term is recomputed
    X, y, D = _instance(1, 30, 3, 20, "gaussian")
    bmax = F.beta_max(X, y, D)
    cache: dict = {}
    res = solve_gated_kernel(X, y, D, 0.3 * bmax, tol=TOL, cache=cache)
    theta = res.extra["theta"]
    reused = KernelSystems(X, y, D, 0.2 * bmax, cache).factor(theta)
    fresh = KernelSystems(X, y, D, 0.2 * bmax, None).factor(theta)
    assert reused.alpha is cache["last"].alpha
    np.testing.assert_allclose(reused.alpha, fresh.alpha, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(reused.value, fresh.value, rtol=1e-12)
    assert reused.value != cache["last"].value
    # the Newton matrix is that of the factorisation behind the last point: its own, or,
    # for a point evaluated by CG (KernelSystems.refine), that of the nearby point used
    base = cache["last"].base
    exact = fresh if base is None else KernelSystems(X, y, D, 0.2 * bmax, None).factor(base.theta)
    G = X.T @ (D * fresh.alpha[:, None])
    free = np.arange(D.shape[1])
    np.testing.assert_allclose(
        reused.hessian(D * (X @ G), free, G), exact.hessian(D * (X @ G), free, G), rtol=1e-8
    )


def test_refined_point_equals_its_factorisation_or_is_refused() -> None:
    # CG preconditioned with the factorisation at a nearby theta gives alpha and f of the
    # new point to the factorisation's accuracy, by both routes of its products with S
    # (the support's columns at d = 3; S formed once at d = 30 > n / 2); far away it does
    # not converge within REFINE_ITERS and says so (None: the solver factorises)
    rng = np.random.default_rng(0)
    routes = []
    for case in ((3, 50, 3, 30, "gaussian", 0.1), (22, 40, 30, 12, "planted", 0.05)):
        X, y, D = _instance(*case[:5])
        beta = case[5] * F.beta_max(X, y, D)
        theta = solve_gated_kernel(X, y, D, beta, tol=TOL).extra["theta"]
        sys_ = KernelSystems(X, y, D, beta, None)
        near = sys_.factor(theta)
        close = theta * (1.0 + 1e-4 * rng.standard_normal(theta.size))
        ref = KernelSystems(X, y, D, beta, None).factor(close)
        out = sys_.refine(near, close, near.alpha)
        assert out is not None and out.base is near and sys_.n_refined == 1
        np.testing.assert_allclose(out.alpha, ref.alpha, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(out.value, ref.value, rtol=1e-12)
        routes.append(max(sys_.refine_routes, key=sys_.refine_routes.__getitem__))
        # a refined point refines again from the same factorisation
        again = sys_.refine(out, close * (1 + 1e-5), out.alpha)
        assert again is not None and again.base is near
        far = np.where(theta > 0, 50.0 * theta, 1.0)
        sys_ = KernelSystems(X, y, D, beta, None)
        assert sys_.refine(sys_.factor(theta), far, y) is None
        assert sys_.n_refined == 0
    assert routes == ["columns", "formed"]


def test_warm_starts_reach_the_same_optimum() -> None:
    X, y, D = _instance(8, 45, 4, 30, "planted")
    bmax = F.beta_max(X, y, D)
    cold = solve_gated_kernel(X, y, D, 0.02 * bmax, tol=TOL)
    from_w = solve_gated_kernel(X, y, D, 0.02 * bmax, tol=TOL, warm_start=cold)
    from_theta = solve_gated_kernel(
        X, y, D, 0.02 * bmax, tol=TOL, warm_start={"theta": 2.0 * cold.extra["theta"]}
    )
    assert cold.ok and from_w.ok and from_theta.ok
    assert from_w.n_iter <= 1  # the optimum certifies itself
    np.testing.assert_allclose(from_theta.objective, cold.objective, rtol=1e-8)


def test_zero_is_optimal_above_beta_max() -> None:
    X, y, D = _instance(1, 30, 3, 20, "gaussian")
    res = solve_gated_kernel(X, y, D, 1.5 * F.beta_max(X, y, D), tol=TOL)
    assert res.ok and res.n_active == 0 and res.n_iter == 0


def test_max_iter_is_not_reported_optimal() -> None:
    X, y, D = _instance(12, 60, 3, 40, "planted")
    res = solve_gated_kernel(X, y, D, 1e-3 * F.beta_max(X, y, D), tol=TOL, max_iter=2)
    assert res.status == "max_iter"


def test_hands_over_to_fista_when_both_forms_are_too_large(monkeypatch) -> None:
    X, y, D = _instance(3, 50, 3, 30, "gaussian")
    beta = 0.1 * F.beta_max(X, y, D)
    monkeypatch.setattr(GK, "MAX_DIM", 6)
    res = solve_gated_kernel(X, y, D, beta, tol=TOL)
    assert res.extra["method"] == "fista" and "handover" in res.extra
    assert res.ok
    ref = solve_gated_reference(X, y, D, beta)
    np.testing.assert_allclose(res.objective, ref.objective, rtol=REL_OBJ)


def test_path_shares_its_cache_and_agrees_with_cold_solves() -> None:
    X, y, D = _instance(5, 25, 2, 15, "gaussian")
    bmax = F.beta_max(X, y, D)
    betas = list(np.geomspace(0.5, 0.005, 6) * bmax)
    path = solve_path("gated", X, y, D, betas, tol=TOL)
    assert all(r.extra["n_factor_reused"] == 1 for r in path[1:])
    for beta, res in zip(betas, path):
        cold = solve_gated_kernel(X, y, D, beta, tol=TOL)
        assert res.ok and cold.ok
        np.testing.assert_allclose(res.objective, cold.objective, rtol=1e-8)
    cache: dict = {}
    solve_gated_kernel(X, y, D, betas[0], tol=TOL, cache=cache)
    assert cache["key"][2:4] == (X.shape, D.shape)
    with pytest.raises(InputError, match="warm_start 'W'"):
        solve_gated_kernel(X, y, D, betas[0], tol=TOL, warm_start={"W": np.ones((5, 2))})


# (seed, n, d, P, labels, beta / beta_max, form of the last factorisation)
EXTEND_CASES = [
    (22, 40, 30, 12, "planted", 0.3, "kernel"),
    (3, 50, 3, 30, "gaussian", 0.1, "kernel"),
    (1, 80, 2, 20, "planted", 0.3, "feature"),
]


@pytest.mark.parametrize("case", EXTEND_CASES, ids=lambda c: c[-1] + str(c[0]))
def test_path_start_extends_the_last_newton_matrix(case: tuple) -> None:
    # a path solve starts at the last theta: B and B^T S^-1 B of the old free gates are
    # kept, the gates that newly enter are added; equal to recomputing them
    seed, n, d, P, labels, frac, form = case
    X, y, D = _instance(seed, n, d, P, labels)
    cache: dict = {}
    solve_gated_kernel(X, y, D, frac * F.beta_max(X, y, D), tol=TOL, cache=cache)
    memo, fac = cache["memo"], cache["last"]
    assert fac.form == form
    assert np.array_equal(memo["theta"], fac.theta) and memo["H"] is not None
    extra = np.setdiff1d(np.arange(P), memo["free"])[:2]
    free = np.union1d(memo["free"], extra)
    Df = D.astype(float)
    B, H = GK._extend_newton(memo, free, memo["Gm"], X, Df, fac)
    fresh_B = Df[:, free] * (X @ memo["Gm"][:, free])
    fresh_H = fac.hessian(fresh_B, free, memo["Gm"][:, free])
    np.testing.assert_allclose(B, fresh_B, rtol=1e-12, atol=1e-12)
    assert H is not None
    np.testing.assert_allclose(H, 0.5 * (fresh_H + fresh_H.T), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("frac", [1e-6, 1e-9, 1e-12])
def test_tiny_beta_is_certified(frac: float) -> None:
    # near interpolation (theta ~ 1/beta, S badly conditioned) the certificate, computed
    # from the returned W and residual candidates by certify.build_result, still closes
    X, y, D = _instance(2, 60, 5, 40, "planted")
    res = solve_gated_kernel(X, y, D, frac * F.beta_max(X, y, D), tol=1e-8)
    assert res.ok, (res.raw_status, res.duality_gap, res.objective)
    assert res.duality_gap is not None and res.duality_gap <= 1e-8 * res.objective


def test_duplicated_patterns_do_not_change_the_optimum() -> None:
    # identical kernels K_i = K_j make the Newton matrix singular along theta_i - theta_j
    X, y, D = _instance(5, 50, 4, 20, "planted")
    D2 = np.concatenate([D, D[:, :5]], axis=1)
    beta = 0.05 * F.beta_max(X, y, D)
    one = solve_gated_kernel(X, y, D, beta, tol=TOL)
    two = solve_gated_kernel(X, y, D2, beta, tol=TOL)
    assert one.ok and two.ok
    np.testing.assert_allclose(two.objective, one.objective, rtol=1e-8)


# -- FISTA on a working set of gates (gated_fista), and the route to it ---------------------
@pytest.mark.parametrize("frac", [0.3, 0.05, 1e-3])
def test_working_set_fista_equals_full_fista_and_clarabel(frac: float) -> None:
    # many gates, few active: the working set must stay well below P and reach the same
    # certified optimum as FISTA over all gates and as Clarabel
    from harness.solvers.gated_fista import solve_gated_fista

    X, y, D = _instance(31, 80, 3, 120, "planted")
    beta = frac * F.beta_max(X, y, D)
    ws = solve_gated_fista(X, y, D, beta, tol=TOL)
    full = solve_gated_fista(X, y, D, beta, tol=TOL, working_set=False)
    ref = solve_gated_reference(X, y, D, beta)
    assert ws.ok and full.ok and ref.ok, (ws.raw_status, full.raw_status, ref.raw_status)
    np.testing.assert_allclose(ws.objective, ref.objective, rtol=REL_OBJ)
    np.testing.assert_allclose(ws.objective, full.objective, rtol=REL_OBJ)
    assert ws.duality_gap is not None and ws.duality_gap <= TOL * ws.objective * (1 + 1e-9)
    assert ws.dual_bound is not None and ws.dual_bound <= ref.objective * (1 + 1e-9)
    sizes = ws.extra["working_set_sizes"]
    assert sizes and max(sizes) < D.shape[1]
    assert set(full.extra["working_set_sizes"]) == {D.shape[1]}


def test_large_n_and_dP_route_to_working_set_fista(monkeypatch: pytest.MonkeyPatch) -> None:
    # n > MAX_DIM and d P > MAX_DIM: no Newton step is tried, FISTA runs from the start
    monkeypatch.setattr(GK, "MAX_DIM", 40)
    X, y, D = _instance(32, 60, 4, 30, "planted")
    beta = 0.1 * F.beta_max(X, y, D)
    res = solve_gated_kernel(X, y, D, beta, tol=TOL)
    ref = solve_gated_reference(X, y, D, beta)
    assert res.ok and ref.ok
    assert res.extra["method"] == "fista" and "exceed MAX_DIM=40" in res.extra["handover"]
    assert "kernel_newton" not in res.extra
    np.testing.assert_allclose(res.objective, ref.objective, rtol=REL_OBJ)
