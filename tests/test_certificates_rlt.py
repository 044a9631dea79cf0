"""Tests of harness.certificates_rlt: the lifted RLT SDP certificate (THEORY.md Part D)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from bracket_instances import labelled_instance

from harness import certificates as C
from harness.certificates import certified_bracket, dual_lower_bound, resolve_lower
from harness.certificates_rlt import (
    LiftedMultipliers,
    RLTDualPoint,
    certify_lifted,
    lifted_bound,
    rlt_dual_point,
)
from harness.errors import InputError
from harness.instances import make_rng
from harness.solvers.registry import solve

RTOL = 1e-6


def _pstar(X, y, beta, D_all) -> float:
    res = solve("full", X, y, D_all, beta)
    assert res.ok
    return float(res.objective)


def _exact_M_plus_d2(X: np.ndarray, w: np.ndarray) -> float:
    """Brute force for d = 2: ``max_{||u|| <= 1} w^T (X u)_+`` exactly.

    Between consecutive angles where some ``x_i^T u`` changes sign the pattern ``s`` is fixed
    and the objective is linear, ``g_s^T u``; its maximum on that arc is at an end or at
    ``g_s / ||g_s||`` when that lies inside. Every pattern ``s in {0,1}^n`` that any unit
    ``u`` realises is visited, so this is the exact maximum (and 0 at ``u = 0``).
    """
    ang = np.arctan2(X[:, 1], X[:, 0])
    cuts = np.sort(np.mod(np.concatenate([ang + np.pi / 2, ang - np.pi / 2]), 2 * np.pi))
    cuts = np.concatenate([cuts, [cuts[0] + 2 * np.pi]])
    best = 0.0
    for lo, hi in itertools.pairwise(cuts):
        mid = 0.5 * (lo + hi)
        s = X @ np.array([np.cos(mid), np.sin(mid)]) >= 0
        g = X.T @ (s * w)
        cand = [lo, hi]
        th = np.mod(np.arctan2(g[1], g[0]) - lo, 2 * np.pi) + lo
        if lo <= th <= hi:
            cand.append(th)
        for t in cand:
            u = np.array([np.cos(t), np.sin(t)])
            best = max(best, float(w @ np.maximum(X @ u, 0.0)))
    return best


@pytest.mark.parametrize(("n", "seed"), [(8, 0), (12, 1), (14, 2)])
def test_lifted_bound_is_above_the_brute_force_maximum(n: int, seed: int) -> None:
    """``certify_lifted`` >= exact ``M_+(w)`` (d = 2 brute force), for mixed-sign ``w``."""
    rng = make_rng(seed)
    X = rng.standard_normal((n, 2))
    for w in (rng.standard_normal(n), -np.abs(rng.standard_normal(n)), np.ones(n)):
        exact = _exact_M_plus_d2(X, w)
        value, m = lifted_bound(X, w)
        assert m is not None
        assert value >= exact * (1 - 1e-12)
        # and it is not vacuous: within 50% of the exact maximum (bound 4 is far looser)
        assert value <= 1.5 * exact + 1e-9


def test_certificate_is_valid_for_perturbed_and_arbitrary_multipliers() -> None:
    """Weak duality holds for ANY multipliers: perturbed, sign-violating or zero."""
    rng = make_rng(7)
    n = 12
    X = rng.standard_normal((n, 2))
    w = rng.standard_normal(n)
    exact = _exact_M_plus_d2(X, w)
    value, m = lifted_bound(X, w)
    assert m is not None and value >= exact * (1 - 1e-12)
    for k in range(30):
        eps = (1e-6, 1e-3, 1e-1, 1.0)[k % 4]
        pert = LiftedMultipliers(
            rho=m.rho + eps * rng.standard_normal(),
            sigma=m.sigma + eps * rng.standard_normal(),
            **{
                f.name: getattr(m, f.name) + eps * rng.standard_normal(getattr(m, f.name).shape)
                for f in dataclasses.fields(m)[2:]
            },
        )
        assert certify_lifted(X, w, pert) >= exact * (1 - 1e-12)
    zero = LiftedMultipliers(
        0.0, 0.0, np.zeros(n), np.zeros(n), np.zeros(n), *(np.zeros((n, n)),) * 3
    )
    assert certify_lifted(X, w, zero) >= exact


@pytest.mark.parametrize("labels", ["gaussian", "planted"])
def test_rlt_lower_end_is_below_exact_pstar(labels: str) -> None:
    """LB <= p* (enumeration) on several instances, tiny beta included; and not vacuous."""
    ratios = []
    cases = [(12, 2, 0.1), (16, 3, 1e-3), (20, 3, 0.05), (14, 2, 0.3), (18, 3, 0.1)]
    for k, (n, d, beta_rel) in enumerate(cases):
        seed = 60 + k + (0 if labels == "gaussian" else 100)
        X, y, beta, D_all = labelled_instance(n, d, seed, labels, beta_rel=beta_rel)
        p_ref = _pstar(X, y, beta, D_all)
        pt = rlt_dual_point(X, y, beta)
        assert pt.v is not None
        value, _ = dual_lower_bound(pt.v, y, beta, pt.M_hat)
        assert 0.0 <= value <= p_ref * (1 + RTOL) + 1e-12, (labels, n, d, beta_rel)
        if d == 2:  # M_hat dominates the exact M(v) at the returned point
            exact = max(_exact_M_plus_d2(X, pt.v), _exact_M_plus_d2(X, -pt.v))
            assert pt.M_hat >= exact * (1 - 1e-12)
        ratios.append(value / p_ref)
    # not vacuous (measured 0.50-1.00, the lowest at beta = 1e-3 beta_max, Gaussian labels)
    assert min(ratios) > 0.4 and float(np.median(ratios)) > 0.8, ratios


def test_rlt_bracket_contains_pstar_and_beats_joint() -> None:
    """Fixed instance (Gaussian labels, n = 20, d = 3): rlt's lower end is within the bracket
    and far above joint's (measured LB/p* 0.97 vs 0.63; the test fails below 0.85 / margin)."""
    X, y, beta, D_all = labelled_instance(20, 3, 0, "gaussian", beta_rel=0.1)
    p_ref = _pstar(X, y, beta, D_all)
    kw = {"enumerate_cap": 0, "P_init": 50, "P_grow": 50, "max_rounds": 3, "n_restarts": 0}
    rlt = certified_bracket(X, y, beta, rng=make_rng(0), lower="rlt", **kw)
    joint = certified_bracket(X, y, beta, rng=make_rng(0), lower="joint", **kw)
    assert rlt.lower_method.endswith("[rlt_sdp]")
    assert rlt.pstar_lower <= p_ref * (1 + RTOL) <= rlt.pstar_upper * (1 + 2 * RTOL)
    assert rlt.pstar_lower >= 0.85 * p_ref
    assert rlt.pstar_lower >= joint.pstar_lower + 0.1 * p_ref


def test_option_validation_errors_name_option_and_values() -> None:
    X, y, beta, _ = labelled_instance(10, 2, 0, "planted")
    with pytest.raises(
        InputError,
        match=r"^lower must be one of \['auto', 'rlt', 'joint_sdp', 'joint', 'scaled'\]; got 'x'$",
    ):
        certified_bracket(X, y, beta, rng=make_rng(0), lower="x")
    with pytest.raises(
        InputError, match=r"^rlt_solver must be one of \['clarabel', 'scs'\]; got 'mosek'$"
    ):
        certified_bracket(X, y, beta, rng=make_rng(0), rlt_solver="mosek")
    with pytest.raises(ValueError, match="rlt_solver must be one of"):
        lifted_bound(X, y, solver="ecos")
    with pytest.raises(ValueError, match="lower must be one of"):
        resolve_lower("RLT", 10)


def test_auto_picks_the_method_by_n(monkeypatch: pytest.MonkeyPatch) -> None:
    assert C.RLT_MAX_N == 40
    assert resolve_lower("auto", C.RLT_MAX_N) == "rlt"
    assert resolve_lower("auto", C.RLT_MAX_N + 1) == "joint_sdp"
    assert resolve_lower("auto", C.JOINT_SDP_MAX_N + 1) == "joint"
    assert resolve_lower("scaled", 10) == "scaled"
    X, y, beta, _ = labelled_instance(14, 2, 3, "planted")
    kw = {"enumerate_cap": 0, "P_init": 10, "P_grow": 10, "max_rounds": 1, "n_restarts": 0}
    small = certified_bracket(X, y, beta, rng=make_rng(0), **kw)  # default lower="auto"
    assert small.lower_method == "partD_lifted_rlt[rlt_sdp]"
    monkeypatch.setattr(C, "RLT_MAX_N", 13)  # now n = 14 is "large"
    large = certified_bracket(X, y, beta, rng=make_rng(0), triangle_rounds=1, **kw)
    assert "rlt" not in large.lower_method
    assert not any(r.get("candidate") == "rlt_sdp" for r in large.records)


def test_failed_rlt_solve_falls_back_to_joint(monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.certificates_rlt as R

    X, y, beta, D_all = labelled_instance(14, 2, 4, "planted")
    monkeypatch.setattr(R, "rlt_dual_point", lambda *a, **k: RLTDualPoint(None, np.inf, 0.0))
    br = certified_bracket(
        X, y, beta, rng=make_rng(0), enumerate_cap=0, P_init=10, n_restarts=0, lower="rlt"
    )
    assert "rlt" not in br.lower_method and br.pstar_lower > 0.0
    assert br.pstar_lower <= _pstar(X, y, beta, D_all) * (1 + RTOL)
