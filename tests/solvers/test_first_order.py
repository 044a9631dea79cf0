"""Fast solvers vs Clarabel: FISTA for (5); column generation + IPM and the AL for (3)."""

from __future__ import annotations

import numpy as np
import pytest

from harness import formulations as F
from harness.errors import InputError
from harness.instances import gaussian_instance, make_rng
from harness.patterns import enumerate_patterns, sample_patterns
from harness.solvers import SolveResult, certify, cones, pricing
from harness.solvers.cones import cone_matrix, polish_cones, project_cone
from harness.solvers.gated_fista import solve_gated_fista
from harness.solvers.ipm import soc_div, soc_max_step, soc_nt, soc_prod, soc_scale
from harness.solvers.masked import MaskedProducts
from harness.solvers.path import solve_path
from harness.solvers.pricing import dual_fista_certify
from harness.solvers.reference import solve_gated_reference, solve_relu_reference
from harness.solvers.registry import available_solvers, solve
from harness.solvers.relu_al import solve_relu_al
from harness.solvers.relu_cg import solve_relu_cg

# (seed, n, d, P, labels, beta / beta_max): a fixed catalogue of small random instances
CASES = [
    (0, 20, 2, 10, "planted", 0.9),
    (1, 30, 3, 20, "gaussian", 0.5),
    (2, 40, 4, 25, "planted", 0.3),
    (3, 50, 3, 30, "gaussian", 0.1),
    (4, 60, 6, 40, "planted", 0.05),
    (5, 25, 2, 15, "gaussian", 0.01),
    (6, 40, 5, 20, "planted", 0.9),
    (7, 35, 3, 35, "gaussian", 0.2),
    (8, 45, 4, 30, "planted", 0.01),
    (9, 30, 2, 12, "planted", 1e-3),
    (10, 55, 5, 25, "gaussian", 0.5),
    (11, 20, 3, 40, "planted", 0.05),
]
# tiny beta with 2 d P > n: many active columns, nearly interpolating (degenerate IPM end game)
TINY_BETA = [
    (12, 60, 3, 40, "planted", 1e-3),
    (13, 80, 4, 60, "gaussian", 1e-3),
]
# more instances, including beta just below beta_max
MORE_CASES = [
    (15, 30, 3, 20, "planted", 0.99),
    (16, 50, 5, 30, "gaussian", 0.999),
    (17, 70, 4, 50, "planted", 0.15),
    (18, 25, 6, 30, "gaussian", 0.3),
    (19, 90, 3, 60, "planted", 0.02),
    (20, 40, 2, 40, "gaussian", 0.7),
]
REL_OBJ = 1e-6  # agreement with Clarabel (tol 1e-8)
TOL = 1e-9  # certified relative gap asked of the fast solvers


def _instance(seed: int, n: int, d: int, P: int, labels: str) -> tuple[np.ndarray, ...]:
    inst = gaussian_instance(n, d, seed, labels=labels, width=4, noise=0.1)
    D = sample_patterns(inst.X, P, make_rng(seed + 100)).D
    return inst.X, inst.y, D


def _check_against_reference(res: SolveResult, ref: SolveResult) -> None:
    assert ref.ok
    assert res.status == "optimal", res.raw_status
    scale = max(1.0, abs(ref.objective))
    np.testing.assert_allclose(res.objective, ref.objective, rtol=REL_OBJ)
    assert res.dual_bound is not None and res.duality_gap is not None
    # certified lower bound: below Clarabel's value, gap never negative beyond rounding
    assert res.dual_bound <= ref.objective + 1e-9 * scale
    assert res.duality_gap >= -1e-12 * scale
    assert res.duality_gap <= TOL * max(1.0, abs(res.objective)) * (1 + 1e-9)


@pytest.mark.parametrize(
    "case", CASES + TINY_BETA + MORE_CASES, ids=lambda c: f"seed{c[0]}-b{c[5]:g}"
)
def test_gated_fista_matches_clarabel(case: tuple) -> None:
    seed, n, d, P, labels, frac = case
    X, y, D = _instance(seed, n, d, P, labels)
    beta = frac * F.beta_max(X, y, D)
    ref = solve_gated_reference(X, y, D, beta)
    res = solve_gated_fista(X, y, D, beta, tol=TOL)
    _check_against_reference(res, ref)
    assert (res.solver, res.extra["method"], res.problem) == ("fast", "fista", "gated")
    np.testing.assert_allclose(
        res.objective, F.gated_objective(X, y, D, res.variables["W"], beta), rtol=1e-14
    )


def _check_relu(
    res: SolveResult, ref: SolveResult, X: np.ndarray, y: np.ndarray, D: np.ndarray, beta: float
) -> None:
    _check_against_reference(res, ref)
    U, V = res.variables["U"], res.variables["V"]
    assert res.max_cone_violation <= 1e-8
    assert F.cone_violation(X, D, U, V) <= 1e-8
    np.testing.assert_allclose(res.objective, F.relu_objective(X, y, D, U, V, beta), rtol=1e-14)
    # the mapped network (THEORY.md §A2 mapping) reproduces the reported objective
    keep_u, keep_v = F.group_norms(U) > 0, F.group_norms(V) > 0
    nu, nv = np.sqrt(F.group_norms(U)[keep_u]), np.sqrt(F.group_norms(V)[keep_v])
    U_net = np.concatenate([U[:, keep_u] / nu, V[:, keep_v] / nv], axis=1)
    alpha = np.concatenate([nu, -nv])
    np.testing.assert_allclose(
        F.network_objective(X, y, U_net, alpha, beta), res.objective, rtol=1e-9
    )


@pytest.mark.parametrize(
    "case", CASES + TINY_BETA + MORE_CASES, ids=lambda c: f"seed{c[0]}-b{c[5]:g}"
)
def test_relu_cg_matches_clarabel(case: tuple) -> None:
    seed, n, d, P, labels, frac = case
    X, y, D = _instance(seed, n, d, P, labels)
    beta = frac * F.beta_max(X, y, D)
    ref = solve_relu_reference(X, y, D, beta)
    res = solve_relu_cg(X, y, D, beta, tol=TOL)
    assert (res.solver, res.extra["method"], res.problem) == ("fast", "column_generation", "relu")
    _check_relu(res, ref, X, y, D, beta)
    # the working set is a small part of the 2P columns, and holds the support
    assert res.n_active <= res.extra["working_set"] <= 2 * D.shape[1]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c[0]}-b{c[5]:g}")
def test_relu_al_matches_clarabel(case: tuple) -> None:
    seed, n, d, P, labels, frac = case
    X, y, D = _instance(seed, n, d, P, labels)
    beta = frac * F.beta_max(X, y, D)
    ref = solve_relu_reference(X, y, D, beta)
    res = solve_relu_al(X, y, D, beta, tol=TOL)
    _check_relu(res, ref, X, y, D, beta)


SOLVERS = {"gated": solve_gated_fista, "relu": solve_relu_cg, "relu_al": solve_relu_al}


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_beta_above_beta_max_gives_zero(name: str) -> None:
    X, y, D = _instance(3, 30, 3, 20, "planted")
    beta = 1.01 * F.beta_max(X, y, D)
    res = SOLVERS[name](X, y, D, beta)
    assert res.ok and res.n_active == 0
    for W in res.variables.values():
        np.testing.assert_array_equal(W, 0.0)
    np.testing.assert_allclose(res.objective, 0.5 * y @ y, rtol=1e-14)
    assert res.duality_gap is not None and abs(res.duality_gap) <= 1e-12 * res.objective


def test_relu_cg_zero_is_certified_between_cone_and_gated_beta_max() -> None:
    # below the gated beta_max but above every ||Pi_K(X^T D y)||: zero solves (3), which only
    # the cone multipliers can certify (the cone-dropped bound cannot)
    X, y, D = _instance(3, 30, 3, 20, "planted")
    G = X.T @ (D * y[:, None])
    proj = [
        project_cone(cone_matrix(X, D[:, i]), s * G[:, i])[0] for s in (1, -1) for i in range(20)
    ]
    beta_cone = max(float(np.linalg.norm(p)) for p in proj)
    beta = 1.001 * beta_cone
    assert beta < F.beta_max(X, y, D)
    res = solve_relu_cg(X, y, D, beta, tol=TOL)
    ref = solve_relu_reference(X, y, D, beta)
    assert res.ok and res.n_active == 0
    np.testing.assert_allclose(res.objective, ref.objective, rtol=REL_OBJ)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_warm_start_along_beta_reduces_iterations(name: str) -> None:
    X, y, D = _instance(2, 40, 4, 25, "planted")
    bmax = F.beta_max(X, y, D)
    fn = SOLVERS[name]
    # the gated check exercises plain FISTA; the ReLU ones their defaults
    opts = {"newton": False} if name == "gated" else {}
    first = fn(X, y, D, 0.2 * bmax, **opts)
    cold = fn(X, y, D, 0.19 * bmax, **opts)
    warm = fn(X, y, D, 0.19 * bmax, warm_start=first, **opts)
    assert cold.ok and warm.ok
    assert warm.n_iter < cold.n_iter
    np.testing.assert_allclose(warm.objective, cold.objective, rtol=1e-7)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_warm_start_nested_patterns(name: str) -> None:
    inst = gaussian_instance(40, 3, 4, labels="planted", width=4, noise=0.1)
    D_big = sample_patterns(inst.X, 30, make_rng(7)).D
    D_small = sample_patterns(inst.X, 15, make_rng(7)).D
    P_small = D_small.shape[1]
    np.testing.assert_array_equal(D_big[:, :P_small], D_small)  # nested: columns appended
    beta = 0.1 * F.beta_max(inst.X, inst.y, D_big)
    fn = SOLVERS[name]
    small = fn(inst.X, inst.y, D_small, beta)
    warm = fn(inst.X, inst.y, D_big, beta, warm_start=small)
    cold = fn(inst.X, inst.y, D_big, beta)
    assert small.ok and warm.ok and cold.ok
    np.testing.assert_allclose(warm.objective, cold.objective, rtol=1e-7)
    # more patterns can only help: p(P_big) <= p(P_small)
    assert warm.objective <= small.objective + 1e-8 * small.objective


@pytest.mark.parametrize("case", CASES[:6], ids=lambda c: f"seed{c[0]}-b{c[5]:g}")
def test_relu_cg_warm_start_from_gated(case: tuple) -> None:
    # the gated solution of (5) seeds the working set (one side per gated column);
    # whatever the seed, pricing and the certificate decide
    seed, n, d, P, labels, frac = case
    X, y, D = _instance(seed, n, d, P, labels)
    beta = frac * F.beta_max(X, y, D)
    gated = solve_gated_fista(X, y, D, beta, tol=TOL)
    warm = solve_relu_cg(X, y, D, beta, tol=TOL, warm_start=gated)
    cold = solve_relu_cg(X, y, D, beta, tol=TOL)
    assert gated.ok and warm.ok and cold.ok
    np.testing.assert_allclose(warm.objective, cold.objective, rtol=1e-8)
    assert gated.objective <= warm.objective * (1 + 1e-9)  # (5) relaxes (3)


@pytest.mark.parametrize("problem", ["gated", "relu"])
def test_solve_path_agrees_with_cold_solves(problem: str) -> None:
    X, y, D = _instance(1, 30, 3, 20, "gaussian")
    bmax = F.beta_max(X, y, D)
    betas = [0.05 * bmax, 0.5 * bmax, 0.2 * bmax, 1.5 * bmax]
    path = solve_path(problem, X, y, D, betas, tol=TOL)
    assert len(path) == len(betas)
    fn = SOLVERS[problem]
    for beta, res in zip(betas, path):
        cold = fn(X, y, D, beta, tol=TOL)
        assert res.ok and cold.ok
        assert res.solver == cold.solver
        np.testing.assert_allclose(res.objective, cold.objective, rtol=1e-7)
    # objective is nondecreasing in beta
    order = np.argsort(betas)
    objs = np.array([path[i].objective for i in order])
    assert np.all(np.diff(objs) >= -1e-9 * objs[1:])


def test_full_program_on_all_patterns() -> None:
    # problem (2): every cell of the arrangement, hundreds of columns, a handful active
    inst = gaussian_instance(12, 4, 2, labels="planted", width=3, noise=0.1)
    D = enumerate_patterns(inst.X)
    assert D.shape[1] > 200
    beta = 0.05 * F.beta_max(inst.X, inst.y, D)
    res = solve("full", inst.X, inst.y, D, beta, solver="fast", tol=TOL)
    ref = solve("full", inst.X, inst.y, D, beta, solver="clarabel")
    assert res.problem == "full" and res.solver == "fast"
    _check_against_reference(res, ref)
    assert res.max_cone_violation <= 1e-10
    assert res.extra["working_set"] < D.shape[1] // 4


def test_registry_exposes_fast_solvers() -> None:
    assert "fast" in available_solvers("gated") and "fast" in available_solvers("relu")
    assert "al" in available_solvers("relu")
    X, y, D = _instance(0, 20, 2, 10, "planted")
    beta = 0.3 * F.beta_max(X, y, D)
    g = solve("gated", X, y, D, beta, solver="fast")
    r = solve("relu", X, y, D, beta, solver="fast")
    al = solve("relu", X, y, D, beta, solver="al")
    full = solve("full", X, y, D, beta, solver="fast")
    assert (g.solver, g.extra["method"], g.problem) == ("fast", "kernel_newton", "gated")
    assert (r.solver, r.extra["method"], r.problem) == ("fast", "column_generation", "relu")
    assert (al.solver, al.extra["method"], al.problem) == ("al", "augmented_lagrangian", "relu")
    assert full.problem == "full" and full.ok
    np.testing.assert_allclose(al.objective, r.objective, rtol=1e-7)
    # the gated relaxation is below the ReLU program (THEORY.md §A2 orderings)
    assert g.objective <= r.objective + 1e-8 * r.objective
    rec = r.to_record()
    assert rec["solver_version"] and rec["stop_reason"] and "multipliers" not in rec


def test_max_iter_status_keeps_valid_bounds() -> None:
    X, y, D = _instance(4, 60, 6, 40, "planted")
    beta = 0.05 * F.beta_max(X, y, D)
    ref = solve_relu_reference(X, y, D, beta)
    runs = (
        solve_gated_fista(X, y, D, beta, max_iter=3, newton=False),
        solve_relu_al(X, y, D, beta, max_iter=3, newton=False),
        solve_relu_cg(X, y, D, beta, max_iter=3),
    )
    for res in runs:
        assert res.status == "max_iter" and not res.ok
        assert res.dual_bound is not None and res.dual_bound <= ref.objective + 1e-9
    for relu in runs[1:]:
        # even unconverged, the returned ReLU point is exactly cone-feasible: an upper bound
        assert relu.max_cone_violation <= 1e-10
        assert relu.objective >= ref.objective - 1e-7 * ref.objective


def test_relu_cg_working_set_cap_returns_bounded_point() -> None:
    X, y, D = _instance(8, 45, 4, 30, "planted")
    beta = 0.01 * F.beta_max(X, y, D)
    ref = solve_relu_reference(X, y, D, beta)
    res = solve_relu_cg(X, y, D, beta, tol=TOL, max_dim=4 * 12)  # at most 12 columns of d = 4
    assert res.status == "inaccurate" and res.raw_status == "working set too large"
    assert res.max_cone_violation <= 1e-10
    assert res.dual_bound is not None and res.dual_bound <= ref.objective + 1e-9
    assert res.objective >= ref.objective - 1e-7 * ref.objective
    assert res.objective < 0.5 * float(y @ y)  # a real point, not the zero fallback


def test_soc_scaling_and_steps(rng: np.random.Generator) -> None:
    m, k = 5, 7

    def interior() -> np.ndarray:
        u = rng.standard_normal((m, k))
        u[0] = np.linalg.norm(u[1:], axis=0) * (1 + rng.random(k))
        return u

    s, z = interior(), interior()
    eta, wbar = soc_nt(s, z)
    lam = soc_scale(eta, wbar, z, inverse=False)
    # Nesterov-Todd: W z = W^{-1} s
    np.testing.assert_allclose(lam, soc_scale(eta, wbar, s, inverse=True), rtol=1e-12)
    np.testing.assert_allclose(
        soc_scale(eta, wbar, soc_scale(eta, wbar, s, inverse=True), inverse=False),
        s,
        rtol=1e-12,
    )
    b = rng.standard_normal((m, k))
    np.testing.assert_allclose(soc_prod(lam, soc_div(lam, b)), b, atol=1e-12)
    # max step: on the boundary at the step, inside just before
    du = rng.standard_normal((m, k)) * 5
    a = soc_max_step(s, du)
    assert np.isfinite(a) and a > 0
    at = s + a * du
    gaps = at[0] - np.linalg.norm(at[1:], axis=0)
    assert gaps.min() == pytest.approx(0.0, abs=1e-9 * np.abs(at).max())
    before = s + 0.999 * a * du
    assert np.all(before[0] > np.linalg.norm(before[1:], axis=0))
    assert soc_max_step(s, s) == np.inf


def test_dual_pricing_bounds_are_valid(rng: np.random.Generator) -> None:
    # any lam >= 0 gives ||g + A^T lam|| >= ||Pi_K(g)||: the batched dual bounds never cut
    # below the exact projections, and tighten with iterations
    X = rng.standard_normal((60, 5))
    D = X @ rng.standard_normal((5, 8)) >= 0
    G = rng.standard_normal((5, 8)) * 3
    ops = MaskedProducts(X)
    x2 = float(np.linalg.norm(X, 2) ** 2)
    exact = np.array(
        [np.linalg.norm(project_cone(cone_matrix(X, D[:, j]), G[:, j])[0]) for j in range(8)]
    )
    lam0 = np.zeros((60, 8))
    _, ub_few, _ = dual_fista_certify(ops, G, D, lam0, 0.0, x2, 5)
    lam, ub, h = dual_fista_certify(ops, G, D, lam0, 0.0, x2, 5000)
    scale = 1e-12 * float(np.abs(G).max())
    assert np.all(lam >= 0)
    assert np.all(ub >= exact - scale)
    assert np.all(ub_few >= exact - scale)
    assert np.all(ub <= ub_few + scale)
    np.testing.assert_allclose(
        ub, F.group_norms(G + X.T @ ((2.0 * D - 1.0) * lam)), rtol=1e-12, atol=scale
    )
    np.testing.assert_allclose(h, X.T @ ((2.0 * D - 1.0) * lam), rtol=1e-12, atol=scale)
    np.testing.assert_allclose(ub, exact, rtol=1e-2, atol=1e-8)


def test_dual_pricing_blocks_and_column_subsets_agree(rng: np.random.Generator) -> None:
    # the columns are independent: blocks of any width, a subset updated in place and the
    # whole batch give the same multipliers; a warm start worse than zero is reset, so the
    # bound never exceeds the raw one ||g||
    X = rng.standard_normal((40, 4))
    m = 50
    D = X @ rng.standard_normal((4, m)) >= 0
    G = rng.standard_normal((4, m)) * 3
    ops = MaskedProducts(X)
    x2 = float(np.linalg.norm(X, 2) ** 2)
    bad = np.full((40, m), 5.0)  # huge multipliers: a far worse bound than lam = 0
    lam_all, ub_all, _ = dual_fista_certify(ops, G, D, bad, 0.0, x2, 30)
    assert np.all(ub_all <= F.group_norms(G) * (1 + 1e-12))
    old = cones.BLOCK_BYTES
    try:
        cones.BLOCK_BYTES = 8 * 40 * 32  # blocks of 32 columns (the smallest width)
        assert pricing.block_columns(40) == 32
        Lam_b, ub_b = bad.copy(), np.full(m, np.inf)
        pricing.tighten_bounds(ops, G, D, Lam_b, ub_b, np.arange(m)[::-1], 0.0, x2, 30)
    finally:
        cones.BLOCK_BYTES = old
    np.testing.assert_allclose(ub_b, ub_all, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(Lam_b, lam_all, rtol=1e-9, atol=1e-12)
    cols = np.array([7, 3, 41, 12])
    Lam, ub = bad.copy(), np.full(m, np.inf)
    pricing.tighten_bounds(ops, G, D, Lam, ub, cols, 0.0, x2, 30)
    np.testing.assert_allclose(ub[cols], ub_all[cols], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(Lam[:, cols], lam_all[:, cols], rtol=1e-9, atol=1e-12)
    rest = np.setdiff1d(np.arange(m), cols)
    assert np.all(np.isinf(ub[rest])) and np.all(Lam[:, rest] == 5.0)


def test_cached_products_and_single_precision_keep_the_bounds_valid(
    rng: np.random.Generator,
) -> None:
    # the products h_j = A_j^T lam_j kept beside the multipliers equal the direct formula
    # after every update; iterations in single precision return double-precision bounds
    # of the multipliers they reach (valid: >= the exact projection), close to the
    # double-precision iterations' bounds
    n, d, m = 50, 5, 70
    X = rng.standard_normal((n, d))
    D = X @ rng.standard_normal((d, m)) >= 0
    G = rng.standard_normal((d, m)) * 3
    ops = MaskedProducts(X)
    x2 = float(np.linalg.norm(X, 2) ** 2)
    S = 2.0 * D - 1.0

    def direct(lam: np.ndarray) -> np.ndarray:
        return X.T @ (S * lam)

    duals = pricing.DualMultipliers(ops.XT, D, rng.random((n, m)) - 0.3)
    np.testing.assert_allclose(duals.h, direct(duals.lam), rtol=1e-12, atol=1e-12)
    assert np.all(duals.lam >= 0)
    duals.assign(np.array([3, 9]), rng.random((n, 2)))
    duals.reset(np.array([4]))
    np.testing.assert_allclose(duals.h, direct(duals.lam), rtol=1e-12, atol=1e-12)
    assert not duals.lam[:, 4].any()
    kept = np.asfortranarray(rng.random((n, m)) - 0.2)  # e.g. a record's multipliers
    before = kept.copy()
    duals.adopt(kept)
    np.testing.assert_array_equal(duals.lam, np.maximum(kept, 0.0))
    np.testing.assert_allclose(duals.h, direct(duals.lam), rtol=1e-12, atol=1e-12)
    duals.reset(np.arange(m))
    duals.assign(np.array([0]), np.ones((n, 1)))
    np.testing.assert_array_equal(kept, before)  # the caller's array is untouched

    exact = np.array(
        [np.linalg.norm(project_cone(cone_matrix(X, D[:, j]), G[:, j])[0]) for j in range(m)]
    )
    ub64, ub32 = np.full(m, np.inf), np.full(m, np.inf)
    lam64, lam32 = duals.lam.copy(), duals.lam.copy()
    h32 = duals.h.copy()
    cols = np.arange(m)
    pricing.tighten_bounds(ops, G, D, lam64, ub64, cols, 0.0, x2, 12)
    pricing.tighten_bounds(ops, G, D, lam32, ub32, cols, 0.0, x2, 12, h32, np.float32)
    assert lam32.dtype == np.float64 and np.all(lam32 >= 0)
    np.testing.assert_allclose(h32, direct(lam32), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ub32, F.group_norms(G + direct(lam32)), rtol=1e-12, atol=1e-12)
    assert np.all(ub32 >= exact - 1e-12 * float(np.abs(G).max()))
    np.testing.assert_allclose(ub32, ub64, rtol=1e-4, atol=1e-5 * float(np.abs(G).max()))


def test_cone_products_and_sparse_prediction_match_the_direct_formulas(
    rng: np.random.Generator,
) -> None:
    n, d, P = 30, 4, 700  # several blocks of columns
    X = rng.standard_normal((n, d))
    D = X @ rng.standard_normal((d, P)) >= 0
    lam, mu = rng.random((n, P)), rng.random((n, P))
    h_lam, h_mu = cones.cone_products(np.ascontiguousarray(X.T), D, lam, mu)
    np.testing.assert_allclose(h_lam, X.T @ ((2.0 * D - 1.0) * lam), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_mu, X.T @ ((2.0 * D - 1.0) * mu), rtol=1e-12, atol=1e-12)
    W = np.zeros((d, P))
    W[:, [5, 300, 699]] = rng.standard_normal((d, 3))  # sparse: only these columns enter
    np.testing.assert_allclose(
        F.gated_predict(X, D, W), np.einsum("np,np->n", D, X @ W), rtol=1e-12, atol=1e-12
    )
    W = rng.standard_normal((d, P))  # dense
    np.testing.assert_allclose(
        F.gated_predict(X, D, W), np.einsum("np,np->n", D, X @ W), rtol=1e-12, atol=1e-12
    )


def test_gated_objective_target_stops_early() -> None:
    X, y, D = _instance(4, 60, 6, 40, "planted")
    beta = 0.05 * F.beta_max(X, y, D)
    full = solve_gated_fista(X, y, D, beta, tol=TOL)
    target = full.objective * (1 + 1e-3)
    early = solve_gated_fista(X, y, D, beta, tol=TOL, objective_target=target)
    assert full.ok and early.raw_status == "objective_target"
    assert early.objective <= target and early.n_iter < full.n_iter
    # stopped before its certificate: not usable for verdicts, bound still valid
    assert early.status == "inaccurate"
    assert early.dual_bound is not None and early.dual_bound <= full.objective + 1e-12


def test_relu_certificate_tightens_a_valid_bound_and_leaves_the_callers_arrays(
    rng: np.random.Generator,
) -> None:
    # the certificate of (3): at least the plain weak-duality bound of the multipliers it
    # is given, equal to that bound of the multipliers it returns, below the optimum; the
    # (n, 2P) form with columns replaced equals the split form on the replaced arrays and
    # changes neither array it is given
    X, y, D = _instance(2, 40, 4, 25, "planted")
    n, P = D.shape
    beta = 0.3 * F.beta_max(X, y, D)
    ref = solve_relu_reference(X, y, D, beta)
    assert ref.ok
    v = y - F.gated_predict(X, D, ref.variables["U"] - ref.variables["V"])
    lam, mu = rng.random((n, P)), rng.random((n, P))  # valid and poor
    plain = F.relu_dual_bound(X, y, D, v, beta, lam, mu)
    bound, lam_b, mu_b = certify.relu_certificate(X, y, D, v, beta, lam, mu)
    assert plain <= bound <= ref.objective * (1 + 1e-7)
    assert bound > plain + 1e-3 * abs(plain)  # the exact re-projections matter here
    assert bound == pytest.approx(F.relu_dual_bound(X, y, D, v, beta, lam_b, mu_b), rel=1e-9)
    both = np.concatenate([lam, mu], axis=1)
    kept = both.copy()
    cols, vals = np.array([1, P + 3]), rng.random((n, 2))
    b_cols, M = certify.relu_certificate_columns(X, y, D, v, beta, both, (cols, vals))
    np.testing.assert_array_equal(both, kept)
    lam2, mu2 = lam.copy(), mu.copy()
    lam2[:, 1], mu2[:, 3] = vals[:, 0], vals[:, 1]
    b_split, lam_s, mu_s = certify.relu_certificate(X, y, D, v, beta, lam2, mu2)
    assert b_cols == pytest.approx(b_split, rel=1e-12)
    np.testing.assert_allclose(M, np.concatenate([lam_s, mu_s], axis=1), rtol=1e-12, atol=1e-14)


def test_polish_cones_projects_exactly(rng: np.random.Generator) -> None:
    X = rng.standard_normal((40, 4))
    D = X @ rng.standard_normal((4, 6)) >= 0
    W = rng.standard_normal((4, 6))
    Wp = polish_cones(X, D, W)
    assert F.cone_violation(X, D, Wp) <= 1e-12
    assert np.all(F.group_norms(Wp) <= F.group_norms(W) * (1 + 1e-12))
    # a projection: any other feasible point (here 0 and the projection scaled) is farther
    for scale in (0.0, 0.5, 1.5):
        other = scale * Wp
        assert np.all(F.group_norms(W - Wp) <= F.group_norms(W - other) + 1e-12)


def test_bad_options_raise_input_error() -> None:
    X, y, D = _instance(0, 20, 2, 10, "planted")
    with pytest.raises(InputError, match="tol must be"):
        solve_gated_fista(X, y, D, 1.0, tol=0.0)
    with pytest.raises(InputError, match="max_iter must be"):
        solve_relu_al(X, y, D, 1.0, max_iter=0)
    with pytest.raises(InputError, match="max_iter must be"):
        solve_relu_cg(X, y, D, 1.0, max_iter=0)
    with pytest.raises(InputError, match="m_add must be"):
        solve_relu_cg(X, y, D, 1.0, m_add=0)
    with pytest.raises(InputError, match="warm_start 'W' must have shape"):
        solve_gated_fista(X, y, D, 1.0, warm_start={"W": np.zeros((5, 3))})
    with pytest.raises(InputError, match="warm_start 'U' must have shape"):
        solve_relu_cg(X, y, D, 0.1, warm_start={"U": np.zeros((5, 3)), "V": np.zeros((5, 3))})
    with pytest.raises(InputError, match="problem must be"):
        solve_relu_al(X, y, D, 1.0, problem="gated")
    with pytest.raises(InputError, match="problem must be"):
        solve_relu_cg(X, y, D, 1.0, problem="gated")
    with pytest.raises(InputError, match="problem must be"):
        solve_path("ridge", X, y, D, [1.0])


def test_woodbury_newton_solves_agree_with_dense(monkeypatch: pytest.MonkeyPatch) -> None:
    # n small against k d: the restricted IPM solves its Newton systems through Woodbury;
    # the dense Cholesky path must reach the same certified optimum
    from harness.solvers import ipm

    X, y, D = _instance(21, 20, 4, 30, "gaussian")
    beta = 0.02 * F.beta_max(X, y, D)
    wood = solve_relu_cg(X, y, D, beta, tol=TOL)
    monkeypatch.setattr(ipm, "WOODBURY_RATIO", 0.0)
    dense = solve_relu_cg(X, y, D, beta, tol=TOL)
    assert wood.extra["woodbury_steps"] > 0 and dense.extra["woodbury_steps"] == 0
    assert wood.ok and dense.ok
    np.testing.assert_allclose(wood.objective, dense.objective, rtol=1e-8)
