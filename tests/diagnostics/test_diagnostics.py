"""Tests of harness.diagnostics: kappa/Sigma (§A4), MAX-CUT (§3.4), cone sharpness (§A5),
``diagnose`` and the ``harness diagnose`` command."""

from __future__ import annotations

import argparse
import itertools
import json
import math

import numpy as np
import pytest

from harness import formulations as F
from harness.cli.diagnose import add_diagnose_subcommand
from harness.diagnose import diagnose
from harness.diagnostics import kappa as _kappa_fn  # the function re-exported by the package
from harness.diagnostics.kappa import (
    bound7,
    chernoff_failure_bound,
    chernoff_pattern_count,
    chernoff_ratio,
    cor37_lower_bound,
    empirical_S_bar,
    kappa,
    kappa_hat,
    lambda_min,
    pattern_rank,
    prop35_valid_bound,
    prop36_lower_bound,
    sigma_closed_form,
    sigma_monte_carlo,
    thm34_concentration,
)
from harness.diagnostics.maxcut import (
    gw_rounding,
    max_binary_quadratic,
    max_binary_quadratic_exact,
    maxcut_graph,
    maxcut_matrix,
    maxcut_value,
    sdp_upper_bound,
)
from harness.diagnostics.sharpness import (
    chebyshev_radius,
    cone_matrices,
    cone_sharpness,
    random_cone_model,
    sharpness_sup_estimate,
    solution_sharpness,
)
from harness.errors import InputError
from harness.instances import Instance, gaussian_instance, make_rng, save_instance
from harness.patterns import enumerate_patterns, sample_patterns
from harness.solvers.registry import solve


def _brute_binary_quadratic(M: np.ndarray) -> float:
    n = M.shape[0]
    S = np.array(list(itertools.product([0.0, 1.0], repeat=n)))
    return float(np.max(np.einsum("ki,ij,kj->k", S, M, S)))


# --------------------------------------------------------------------------- kappa / Sigma
def test_sigma_closed_form_matches_monte_carlo() -> None:
    rng = make_rng(0)
    X = rng.standard_normal((6, 3))
    S = sigma_closed_form(X)
    mc = sigma_monte_carlo(X, 200_000, make_rng(1))
    np.testing.assert_allclose(mc, S, rtol=0, atol=1e-2 * np.abs(S).max())
    np.testing.assert_allclose(np.diag(S), 0.5 * np.sum(X * X, axis=1), rtol=1e-12)
    np.testing.assert_allclose(S, S.T, rtol=0, atol=1e-14)
    assert lambda_min(S) > 0


def test_sigma_handles_zero_and_parallel_rows() -> None:
    X = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    S = sigma_closed_form(X)
    assert np.all(S[2] == 0) and np.all(S[:, 2] == 0)
    np.testing.assert_allclose(S[0, 1], 2.0 * 0.5)  # parallel rows: theta = 0
    np.testing.assert_allclose(S[0, 3], 0.0)  # orthogonal rows
    assert math.isinf(kappa(X))


def test_kappa_sanity_and_scale_invariance(any_seed: int) -> None:
    rng = make_rng(any_seed)
    X = rng.standard_normal((20, 5))
    k = kappa(X)
    # lambda_min(Sigma) <= min_i Sigma_ii = min ||x_i||^2 / 2 <= ||X||^2 / 2, so kappa >= 2
    assert k >= 2.0
    np.testing.assert_allclose(kappa(3.7 * X), k, rtol=1e-10)
    D = sample_patterns(X, 200, rng).D
    np.testing.assert_allclose(kappa_hat(3.7 * X, D), kappa_hat(X, D), rtol=1e-10)
    assert _kappa_fn is kappa


def test_chernoff_ratio_and_counts() -> None:
    rng = make_rng(5)
    X = rng.standard_normal((10, 4))
    k = kappa(X)
    P = chernoff_pattern_count(k, 10, 0.1)
    assert P == math.ceil(8 * k * math.log(100))
    H = rng.standard_normal((4, 4000))
    D = (X @ H) >= 0  # i.i.d. patterns with duplicates kept, as in Lemma A.1
    ratio = chernoff_ratio(X, D)
    assert 0.5 <= ratio <= 1.5
    np.testing.assert_allclose(
        lambda_min(empirical_S_bar(X, D)), ratio * lambda_min(sigma_closed_form(X))
    )
    assert chernoff_failure_bound(P, k, 10) <= 0.1 + 1e-12
    assert chernoff_failure_bound(1, k, 10) == 1.0
    with pytest.raises(InputError, match="delta"):
        chernoff_pattern_count(k, 10, 1.5)


def test_pattern_rank() -> None:
    rng = make_rng(2)
    X = rng.standard_normal((12, 3))
    D1 = np.ones((12, 1), dtype=bool)
    assert pattern_rank(X, D1) == 3
    D = sample_patterns(X, 200, rng).D
    assert pattern_rank(X, D) == 12
    # rank via the n x n masked Gram path agrees (force it with a big P)
    Dbig = np.repeat(D, 1 + 4_000_000 // (12 * 3 * D.shape[1]), axis=1)
    assert pattern_rank(X, Dbig) == 12


def test_bound_functions_on_enumerated_instance() -> None:
    inst = gaussian_instance(14, 2, 3, labels="gaussian")
    X, y = inst.X, inst.y
    D_all = enumerate_patterns(X)
    D_all = D_all[:, D_all.any(axis=0)]
    gamma_all = F.beta_max(X, y, D_all)
    beta = 0.2 * gamma_all
    D = sample_patterns(X, 30, make_rng(1)).D
    p_u = solve("gated", X, y, D_all, beta).objective
    pt_u = solve("gated", X, y, D, beta).objective
    yn, Xn = float(np.linalg.norm(y)), float(np.linalg.norm(X, 2))
    lmin_sbar = lambda_min(empirical_S_bar(X, D))
    tol = 1e-6 * p_u
    assert pt_u <= prop35_valid_bound(beta, yn, lmin_sbar) + tol
    assert prop36_lower_bound(beta, yn, Xn * yn) <= p_u + tol
    assert prop36_lower_bound(beta, yn, gamma_all) <= p_u + tol
    assert prop36_lower_bound(beta, yn, Xn * yn) <= prop36_lower_bound(beta, yn, gamma_all)
    assert cor37_lower_bound(beta, yn, Xn) <= p_u + tol
    assert math.isnan(cor37_lower_bound(10 * Xn * yn, yn, Xn))
    assert pt_u / p_u <= bound7(gamma_all, yn, lmin_sbar) * (1 + 1e-6)


def test_thm34_concentration_matches_ridge_for_many_patterns() -> None:
    rng = make_rng(4)
    X = rng.standard_normal((8, 3))
    y = rng.standard_normal(8)
    D = (X @ rng.standard_normal((3, 3000))) >= 0
    beta = 5.0
    ridge = F.ridge_value(X, y, D, beta)
    conc = thm34_concentration(beta, y, D.shape[1], sigma_closed_form(X))
    np.testing.assert_allclose(ridge, conc, rtol=0.1)
    # the c1 = 1/2 side of Thm 3.4 is larger (smaller PSD matrix inside the inverse)
    assert thm34_concentration(beta, y, D.shape[1], sigma_closed_form(X), c=0.5) > conc


# --------------------------------------------------------------------------- MAX-CUT
@pytest.mark.parametrize("n", [1, 4, 7, 10])
def test_maxcut_exact_matches_bruteforce(n: int, any_seed: int) -> None:
    rng = make_rng(10 * n + any_seed)
    A = rng.standard_normal((n, n))
    for M in ((A + A.T) / 2, maxcut_matrix(rng.standard_normal((n, 3)), rng.standard_normal(n))):
        val, s = max_binary_quadratic_exact(M)
        brute = _brute_binary_quadratic(M)
        np.testing.assert_allclose(val, brute, rtol=1e-12, atol=1e-12)
        sf = s.astype(float)
        np.testing.assert_allclose(sf @ M @ sf, brute, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("solver", ["spectral", "clarabel", "scs"])
def test_sdp_upper_and_rounding_lower_bracket_exact(solver: str, any_seed: int) -> None:
    rng = make_rng(any_seed)
    n = 9
    A = rng.standard_normal((n, n))
    for M in ((A + A.T) / 2, maxcut_matrix(rng.standard_normal((n, 2)), rng.standard_normal(n))):
        exact = _brute_binary_quadratic(M)
        upper, gram, info = sdp_upper_bound(M, solver=solver)
        assert upper >= exact - 1e-12 * max(1.0, abs(exact))
        assert info["status"] == "optimal"
        lower, s = gw_rounding(M, gram, rng)
        assert lower <= exact + 1e-12 * max(1.0, abs(exact))
        sf = s.astype(float)
        np.testing.assert_allclose(sf @ M @ sf, lower)


def test_sdp_solvers_agree() -> None:
    rng = make_rng(11)
    M = maxcut_matrix(rng.standard_normal((16, 4)), rng.standard_normal(16))
    ups = [sdp_upper_bound(M, solver=s)[0] for s in ("spectral", "clarabel")]
    np.testing.assert_allclose(ups[0], ups[1], rtol=1e-3)


def test_maxcut_graph_reproduces_binary_quadratic() -> None:
    rng = make_rng(12)
    n = 6
    A = rng.standard_normal((n, n))
    M = (A + A.T) / 2
    W, const = maxcut_graph(M)
    best = -np.inf
    for sig in itertools.product([-1.0, 1.0], repeat=n):
        z = np.array((1.0, *sig))
        cut = 0.25 * (W.sum() - z @ W @ z)
        best = max(best, cut)
    np.testing.assert_allclose(best + const, _brute_binary_quadratic(M), rtol=1e-10, atol=1e-10)


def test_maxcut_value_methods() -> None:
    rng = make_rng(13)
    X = rng.standard_normal((14, 3))
    y = rng.standard_normal(14)
    ex = maxcut_value(X, y, rng)
    sdp = maxcut_value(X, y, rng, exact_max_n=5)
    assert ex.method == "exact" and sdp.method == "sdp_upper"
    assert sdp.lower <= ex.value * (1 + 1e-12) <= sdp.value * (1 + 1e-12)
    np.testing.assert_allclose(ex.value, _brute_binary_quadratic(maxcut_matrix(X, y)))
    res = max_binary_quadratic(np.zeros((3, 3)), rng)
    assert res.value == 0.0


@pytest.mark.parametrize(("n", "d", "seed"), [(12, 2, 0), (16, 3, 1)])
def test_p7_gamma_all_below_maxcut(n: int, d: int, seed: int) -> None:
    inst = gaussian_instance(n, d, seed, labels="gaussian")
    D_all = enumerate_patterns(inst.X)
    gamma_all = F.beta_max(inst.X, inst.y, D_all)
    mc = maxcut_value(inst.X, inst.y, make_rng(seed))
    assert mc.method == "exact"
    assert gamma_all**2 <= mc.value * (1 + 1e-12)


# --------------------------------------------------------------------------- sharpness
def test_random_cone_model_shapes() -> None:
    rng = make_rng(0)
    A = random_cone_model(15, 4, rng)
    assert A.shape == (15, 4) and np.all(A[:, 0] >= 0)
    As = random_cone_model(15, 4, rng, n_cones=3)
    assert As.shape == (3, 15, 4) and np.all(As[:, :, 0] >= 0)
    assert np.all(As @ np.eye(4)[0] >= 0)  # e_1 lies in every cone
    with pytest.raises(InputError, match="n must be an integer"):
        random_cone_model(0, 4, rng)


def test_cone_sharpness_properties(any_seed: int) -> None:
    rng = make_rng(any_seed)
    n, d = 20, 4
    A = random_cone_model(n, d, rng)
    U = rng.standard_normal((d, 12))
    C = cone_sharpness(A, U)
    Z = chebyshev_radius(A, U)
    assert C.status == "optimal" and Z.status == "optimal"
    assert np.all(C.values >= 1 - 1e-6)
    assert np.all(C.values <= Z.values + 1 + 1e-6)  # Prop 4.3, tight form
    assert np.all(C.values <= 2 * Z.values + 1 + 1e-6)  # Prop 4.3, paper's form
    np.testing.assert_allclose(np.sum(C.grad * C.U, axis=0), C.values, rtol=1e-5)
    np.testing.assert_allclose(np.sum(Z.grad * Z.U, axis=0), Z.values, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(C.parts["a"] - C.parts["b"], C.U, atol=1e-7)
    # u in K and -u in K give C = 1
    e1 = np.eye(d)[:, 0]
    g = U[:, 0]
    eps = 0.5 * np.min((A @ e1) / np.abs(A @ g))  # e1 + eps g stays inside K
    inside = np.stack([e1, -e1, e1 + eps * g, -(e1 + eps * g)], axis=1)
    assert np.all(A @ inside[:, 2] > 0)
    np.testing.assert_allclose(cone_sharpness(A, inside).values, 1.0, atol=1e-6)
    # ascent step u -> z/||z|| never decreases C (convex, homogeneous)
    C2 = cone_sharpness(A, C.grad)
    assert np.all(C2.values >= C.values - 1e-6)


def test_cone_sharpness_batch_matches_single_and_2d_oracle() -> None:
    rng = make_rng(21)
    As = random_cone_model(6, 2, rng, n_cones=3)
    U = rng.standard_normal((2, 3))
    batch = cone_sharpness(As, U).values
    single = np.array([cone_sharpness(As[k], U[:, k]).values[0] for k in range(3)])
    np.testing.assert_allclose(batch, single, rtol=1e-6)
    # 2-D oracle: minimise ||a|| + ||a - u|| over a dense grid of a with a, a - u in K
    g = np.linspace(-6, 6, 1201)
    Ax, Ay = np.meshgrid(g, g)
    pts = np.stack([Ax.ravel(), Ay.ravel()])
    for k in range(3):
        A = As[k]
        u = U[:, k] / np.linalg.norm(U[:, k])
        ok = np.all(A @ pts >= 0, axis=0) & np.all(A @ (pts - u[:, None]) >= 0, axis=0)
        vals = np.linalg.norm(pts[:, ok], axis=0) + np.linalg.norm(pts[:, ok] - u[:, None], axis=0)
        assert ok.any()
        assert batch[k] <= vals.min() + 1e-6
        assert batch[k] >= vals.min() - 0.05


def test_sharpness_sup_estimate_is_a_max_over_tried_directions() -> None:
    rng = make_rng(22)
    n, d = 25, 4
    As = random_cone_model(n, d, rng, n_cones=2)
    est = sharpness_sup_estimate(As, rng, h=np.eye(d)[0], n_random=8, n_ascent=2)
    assert est.value_lower_est >= 1 - 1e-6
    assert est.value_lower_est >= max(est.by_source.values()) - 1e-9
    again = cone_sharpness(As[est.cone_best], est.u_best).values[0]
    np.testing.assert_allclose(again, est.value_lower_est, rtol=1e-5)
    assert est.value_lower_est <= est.z_at_best + 1 + 1e-6
    np.testing.assert_allclose(est.per_cone.max(), est.value_lower_est)


def test_prop42_with_solution_sharpness() -> None:
    inst = gaussian_instance(20, 3, 6, labels="planted", width=3, noise=0.1)
    X, y = inst.X, inst.y
    D = sample_patterns(X, 15, make_rng(2)).D
    beta = 0.1 * F.beta_max(X, y, D)
    gated = solve("gated", X, y, D, beta)
    relu = solve("relu", X, y, D, beta)
    C, batch = solution_sharpness(X, D, gated.variables["W"])
    assert batch is not None and C >= 1 - 1e-6
    assert relu.objective <= C * gated.objective * (1 + 1e-6)
    A = cone_matrices(X, D[:, :2])
    np.testing.assert_allclose(A[0], (2.0 * D[:, :1] - 1.0) * X)


# --------------------------------------------------------------------------- diagnose / CLI
def _tiny_instance(tmp_path, with_D: bool):
    inst = gaussian_instance(16, 2, 4, labels="planted", width=3, noise=0.05)
    D = sample_patterns(inst.X, 12, make_rng(3)).D if with_D else None
    path = tmp_path / "inst.npz"
    save_instance(path, Instance(X=inst.X, y=inst.y, D=D))
    return inst, D, path


REQUIRED = [
    "kappa", "lambda_min_sigma", "pstar_lower", "pstar_upper", "pstar_method",
    "pstar_lower_method", "relaxed_relu", "relaxed_gated", "cone_sharpness",
    "maxcut_value", "maxcut_method", "gamma_all", "gamma_all_method", "time_kappa_s",
    "time_bracket_s", "time_maxcut_s", "time_sharpness_s", "time_relaxed_relu_s",
    "time_relaxed_gated_s", "time_gamma_s", "time_total_s",
]  # fmt: skip


def test_diagnose_fields_and_orderings(tmp_path) -> None:
    inst, D, _ = _tiny_instance(tmp_path, with_D=True)
    beta = 0.1 * F.beta_max(inst.X, inst.y, D)
    out = diagnose(inst.X, inst.y, beta, rng=make_rng(0), D=D)
    for key in REQUIRED:
        assert key in out, key
    assert out["pstar_method"] == "exact" and out["gamma_all_method"] == "enumeration"
    assert out["maxcut_method"] == "exact" and out["p7_holds"]
    tol = 1e-6 * out["pstar_upper"]
    assert out["pstar_lower"] <= out["pstar_upper"] + tol
    assert out["relaxed_relu"] >= out["pstar_lower"] - tol  # p* <= p~*
    assert out["relaxed_gated"] <= out["relaxed_relu"] + tol  # p~_u <= p~*
    assert out["p_u"] <= out["pstar_upper"] + tol  # p_u <= p*
    assert out["gamma_all"] ** 2 <= out["maxcut_value"] * (1 + 1e-12)
    assert out["prop42_holds"] and out["prop43_holds"]
    assert out["cone_sharpness_method"].startswith("lower_estimate")
    assert all(out[k] >= 0 for k in out if k.startswith("time_"))
    json.dumps(out)  # flat and serialisable


def test_diagnose_cli(tmp_path, capsys) -> None:
    _, D, path = _tiny_instance(tmp_path, with_D=True)
    parser = argparse.ArgumentParser(prog="harness")
    sub = parser.add_subparsers(dest="command")
    add_diagnose_subcommand(sub)
    args = parser.parse_args(["diagnose", str(path), "--beta", "0.3", "--json", "--seed", "1"])
    assert args.func(args) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["pattern_source"] == "file" and rec["P"] == D.shape[1]
    for key in REQUIRED:
        assert key in rec
    args = parser.parse_args(["diagnose", str(path), "--beta", "0.3", "--patterns", "5"])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "pattern_source" in text and "sampled" in text
    args = parser.parse_args(["diagnose", str(tmp_path / "missing.npz"), "--beta", "1"])
    with pytest.raises(InputError, match="not found"):
        args.func(args)
    with pytest.raises(SystemExit):
        parser.parse_args(["diagnose", str(path), "--beta", "0"])
