"""Nonnegative least squares with checked optimality conditions (harness.solvers.nnls)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import lsq_linear

import harness.solvers.nnls as nnls_mod
from harness.solvers.cones import project_cone
from harness.solvers.nnls import KKT_RTOL, kkt_violation, nnls_checked

# Two cone rows of a 6-dimensional projection met by the relu_al test catalogue (case 4,
# reduced; the digits are exact: the failure depends on the last bits): B is orthogonal to
# both columns to rounding, so x = 0 is the minimiser, but SciPy 1.17.1's nnls returns
# x = [0.00222, 0.00020] with a reported residual below the true one and a KKT violation
# of 0.38 (scipy/scipy#25389); B scaled by 10 gives the right answer
M = np.array(
    [
        [0.9957153901865851, 1.7882879160024885],
        [-1.2141873689841987, -0.6398277806849743],
        [0.7753862486410281, 0.21922658016656438],
        [1.2602438798825923, 1.0945159177456507],
        [-2.0564087809385283, -1.1212269270861612],
        [0.13644493951285103, 0.04168013510434051],
    ]
)
B = np.array(
    [
        0.004368847346997445,
        -0.004493308326949374,
        0.007066829178672501,
        -0.009885728614616096,
        0.0011221923908574548,
        -0.003805591131444909,
    ]
)


def _bvls(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(lsq_linear(A, b, bounds=(0.0, np.inf), method="bvls", tol=1e-15).x)


def test_checked_nnls_solves_the_case_scipy_gets_wrong() -> None:
    x = nnls_checked(M, B)
    assert (x >= 0).all() and kkt_violation(M, B, x) <= KKT_RTOL
    np.testing.assert_allclose(x, _bvls(M, B), rtol=1e-9, atol=1e-15)


def test_a_result_failing_the_conditions_is_recomputed(monkeypatch: pytest.MonkeyPatch) -> None:
    # whatever SciPy's version does on the case above: a wrong answer from nnls is caught
    # by the KKT check and replaced by the BVLS solution, and counted
    monkeypatch.setattr(nnls_mod, "nnls", lambda A, b, maxiter=None: (np.ones(A.shape[1]), 0.0))
    before = nnls_mod.n_repaired
    x = nnls_checked(M, B)
    assert nnls_mod.n_repaired == before + 1
    assert kkt_violation(M, B, x) <= KKT_RTOL
    np.testing.assert_allclose(x, _bvls(M, B), rtol=1e-9, atol=1e-15)
    # and a right answer is kept as it is (no recomputation)
    monkeypatch.undo()
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((8, 5)), rng.standard_normal(8)
    before = nnls_mod.n_repaired
    nnls_checked(A, b)
    assert nnls_mod.n_repaired == before


def test_kkt_violation_detects_a_non_minimiser() -> None:
    x = _bvls(M, B)
    assert kkt_violation(M, B, x) <= KKT_RTOL
    # here the minimiser is x = 0: B is orthogonal to both columns to rounding (the
    # degenerate case SciPy gets wrong), and any x != 0 is off the optimum
    np.testing.assert_allclose(x, 0.0, atol=1e-15)
    assert kkt_violation(M, B, np.array([0.0, 0.01])) > 1e-3
    assert kkt_violation(M, B, np.array([0.01, 0.0])) > 1e-3
    b = M @ np.array([1.0, -1.0])  # a right-hand side whose minimiser is not zero
    assert kkt_violation(M, b, np.zeros(2)) > 1e-3
    assert kkt_violation(M, np.zeros(6), np.zeros(2)) == 0.0


def test_projection_on_the_reported_case_is_feasible_and_shortest() -> None:
    # the cone {z : A z >= 0} with A = M^T (2 rows in R^6), u = -B: the projection must
    # satisfy the cone constraints and be no longer than u (Moreau)
    A, u = M.T, -B
    proj, mu = project_cone(A, u)
    assert (mu >= 0).all()
    assert (A @ proj >= -1e-12 * np.linalg.norm(u)).all()
    assert np.linalg.norm(proj) <= np.linalg.norm(u) * (1 + 1e-12)
    np.testing.assert_allclose(proj, u + A.T @ _bvls(A.T, -u), atol=1e-14)
