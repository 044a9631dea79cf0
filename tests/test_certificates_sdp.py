"""Tests of harness.certificates_sdp: the joint Part D model solved as one convex SDP."""

from __future__ import annotations

import numpy as np
import pytest
from bracket_instances import labelled_instance

from harness import certificates_sdp
from harness import formulations as F
from harness.certificates import (
    JOINT_SDP_MAX_N,
    RLT_MAX_N,
    certified_bracket,
    optimized_dual_point,
    resolve_lower,
)
from harness.certificates_sdp import sdp_dual_point
from harness.errors import InputError
from harness.instances import make_rng
from harness.patterns import sample_patterns
from harness.solvers.registry import solve

RTOL = 1e-6


def _pstar(X: np.ndarray, y: np.ndarray, beta: float, D_all: np.ndarray) -> float:
    res = solve("full", X, y, D_all, beta)
    assert res.ok
    return float(res.objective)


def _grid_M(X: np.ndarray, w: np.ndarray, n_grid: int = 400_001) -> float:
    """d = 2: max over a dense grid of unit u of w^T (X u)_+ (a lower estimate of M_+(w))."""
    th = np.linspace(0.0, 2.0 * np.pi, n_grid)
    U = np.stack([np.cos(th), np.sin(th)])
    return float(np.max(w @ np.maximum(X @ U, 0.0)))


def test_sdp_dual_point_is_a_certificate_for_any_start() -> None:
    """Arbitrary starts: M_hat bounds M(v) (dense-grid oracle, d = 2) and LB <= p*."""
    X, y, beta, D_all = labelled_instance(14, 2, 5, "gaussian")
    p_ref = _pstar(X, y, beta, D_all)
    rng = make_rng(11)
    for start in (rng.standard_normal(14), y, -y, np.abs(rng.standard_normal(14))):
        lb = sdp_dual_point(X, y, beta, start, triangle_rounds=2)
        if lb.v is None:  # -y: v = 0 is optimal on its sign pattern, the trivial bound
            assert lb.value == 0.0
            continue
        assert lb.M_hat.method == "subset_sdp_joint"
        grid = max(_grid_M(X, lb.v), _grid_M(X, -lb.v))
        assert grid <= lb.M_hat.value * (1 + 1e-12)
        assert 0.0 <= lb.value <= p_ref * (1 + RTOL) + 1e-12
        # the scaled point is dual feasible (grid oracle), and the value is its Part D value
        assert grid * lb.t <= beta * (1 + 1e-9)
        v = lb.t * lb.v
        assert lb.value == pytest.approx(v @ y - 0.5 * v @ v, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("labels", ["gaussian", "planted"])
def test_sdp_dual_point_is_below_exact_pstar(labels: str) -> None:
    """Residual starts on enumerable instances (d = 2, 3), three beta levels."""
    ratios = []
    for k, (n, d) in enumerate([(12, 2), (16, 3), (20, 3), (18, 2)]):
        seed = 60 + k + (0 if labels == "gaussian" else 100)
        X, y, beta, D_all = labelled_instance(n, d, seed, labels, beta_rel=(0.05, 0.1, 0.3)[k % 3])
        p_ref = _pstar(X, y, beta, D_all)
        D = sample_patterns(X, 10, make_rng(seed)).D
        res = solve("relu", X, y, D, beta)
        v0 = y - F.gated_predict(X, D, res.variables["U"] - res.variables["V"])
        lb = sdp_dual_point(X, y, beta, v0)
        assert lb.value <= p_ref * (1 + RTOL) + 1e-12, (labels, n, d)
        ratios.append(lb.value / p_ref)
    assert min(ratios) > 0.3  # not vacuous (Gaussian labels: the subset bound is loose)


def test_solver_output_is_recertified_not_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A corrupted certificate (multipliers scaled down: it claims a smaller M(v)) and a
    barely-iterated solve still give LB <= p*, because the value is recomputed with the exact
    lambda_max; the solver's own objective at such a point is NOT a lower bound."""
    X, y, beta, D_all = labelled_instance(16, 2, 8, "planted")
    p_ref = _pstar(X, y, beta, D_all)
    v0 = y.copy()
    real_polish = certificates_sdp._polish

    def corrupt(Xs, vs, side, part, iters):  # type: ignore[no-untyped-def]
        out = real_polish(Xs, vs, side, part, iters)
        return 1e-3 * out  # mu, pi ~ 0: the claimed sum(c) + sum(pi) is ~0, far below beta^2

    monkeypatch.setattr(certificates_sdp, "_polish", corrupt)
    lb = sdp_dual_point(X, y, beta, v0, triangle_rounds=1)
    assert lb.v is not None
    assert max(_grid_M(X, lb.v), _grid_M(X, -lb.v)) <= lb.M_hat.value * (1 + 1e-12)
    assert lb.value <= p_ref * (1 + RTOL)
    monkeypatch.undo()
    # Uncertified: the SDP's v taken as dual feasible (M(v) <= beta assumed, as the solver
    # claims) exceeds p* after a few SCS iterations; the certified value does not.
    import cvxpy as cp

    raw: list[float] = []
    real_solve = cp.Problem.solve

    def spy(self, *a, **k):  # type: ignore[no-untyped-def]
        out = real_solve(self, *a, **k)
        v = self.variables()[0]
        for var in self.variables():
            if var.shape == (16,) and var.name() == v.name():
                w = np.asarray(var.value) * beta / np.sqrt(np.mean(X * X))
                raw.append(float(w @ y - 0.5 * w @ w))
        return out

    monkeypatch.setattr(cp.Problem, "solve", spy)
    lb = sdp_dual_point(
        X, y, beta, v0, triangle_rounds=0, max_iters=3, final_max_iters=3, polish_iters=0
    )
    assert lb.value <= p_ref * (1 + RTOL)
    assert raw and max(raw) > p_ref  # the oracle p* would have caught the raw value


def test_sdp_is_at_least_as_tight_as_lbfgs_on_the_same_model() -> None:
    """Same start, partition, cut rounds: the SDP solve beats the smoothed L-BFGS-B one."""
    X, y, beta, _ = labelled_instance(40, 4, 3, "planted")
    D = sample_patterns(X, 60, make_rng(3)).D
    res = solve("relu", X, y, D, beta)
    v = y - F.gated_predict(X, D, res.variables["U"] - res.variables["V"])
    lbfgs = optimized_dual_point(X, y, beta, v, triangle_rounds=2)
    sdp = sdp_dual_point(X, y, beta, v, triangle_rounds=2)
    assert sdp.value >= lbfgs.value
    assert sdp.value <= res.objective * (1 + RTOL)


def test_resolve_lower_and_input_checks() -> None:
    assert resolve_lower("auto", RLT_MAX_N) == "rlt"
    assert resolve_lower("auto", RLT_MAX_N + 1) == "joint_sdp"
    assert resolve_lower("auto", JOINT_SDP_MAX_N) == "joint_sdp"
    assert resolve_lower("auto", JOINT_SDP_MAX_N + 1) == "joint"
    assert resolve_lower("joint_sdp", 10) == "joint_sdp"
    X, y, beta, _ = labelled_instance(12, 2, 1, "planted")
    with pytest.raises(InputError, match="sdp solver"):
        sdp_dual_point(X, y, beta, y, solver="mosek")
    assert sdp_dual_point(np.zeros((6, 2)), y[:6], 0.1, y[:6]).value == 0.0
    assert sdp_dual_point(X, y, beta, np.zeros(12)).v is None


def test_bracket_with_joint_sdp_records_its_method() -> None:
    X, y, beta, D_all = labelled_instance(16, 2, 9, "planted")
    p_ref = _pstar(X, y, beta, D_all)
    br = certified_bracket(
        X, y, beta, rng=make_rng(0), enumerate_cap=0, P_init=10, n_restarts=0, lower="joint_sdp"
    )
    assert br.pstar_lower <= p_ref * (1 + RTOL) <= br.pstar_upper * (1 + 2 * RTOL)
    methods = {r["M_hat_method"] for r in br.records if r.get("stage") == "partD"}
    assert methods <= {"subset_sdp_joint", "subset_joint", "enumerated_patterns"}
    assert br.pstar_lower > 0.3 * p_ref
