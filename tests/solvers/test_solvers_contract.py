"""Registry contract: every registered solver, one small catalogue, against Clarabel."""

from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest

from harness import formulations as F
from harness.instances import gaussian_instance, make_rng
from harness.patterns import sample_patterns
from harness.solvers.registry import SOLVERS, available_solvers, solve, solver_function

# (seed, n, d, P, labels, beta / beta_max)
CATALOGUE = [
    (30, 25, 2, 12, "planted", 0.5),
    (31, 40, 3, 20, "gaussian", 0.1),
    (32, 50, 4, 25, "planted", 0.02),
]
ENTRIES = sorted(SOLVERS)
REL = 1e-6  # agreement with the Clarabel reference
TOL = 1e-8  # certified relative gap asked of every solver


def _instance(seed: int, n: int, d: int, P: int, labels: str) -> tuple[np.ndarray, ...]:
    inst = gaussian_instance(n, d, seed, labels=labels, width=4, noise=0.1)
    return inst.X, inst.y, sample_patterns(inst.X, P, make_rng(seed + 7)).D


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e[0]}-{e[1]}")
def test_signature_has_the_keyword_contract(entry: tuple[str, str]) -> None:
    params = inspect.signature(solver_function(*entry)).parameters
    for name in ("tol", "max_iter", "warm_start", "problem"):
        assert name in params, name
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, name
    assert list(params)[:4] == ["X", "y", "D", "beta"]


@pytest.mark.parametrize("case", CATALOGUE, ids=lambda c: f"seed{c[0]}-b{c[5]:g}")
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e[0]}-{e[1]}")
def test_every_solver_agrees_with_clarabel(entry: tuple[str, str], case: tuple) -> None:
    problem, name = entry
    seed, n, d, P, labels, frac = case
    X, y, D = _instance(seed, n, d, P, labels)
    beta = frac * F.beta_max(X, y, D)
    ref = solve(problem, X, y, D, beta, solver="clarabel", tol=TOL)
    res = solve(problem, X, y, D, beta, solver=name, tol=TOL, max_iter=100_000)
    assert ref.ok and res.ok, (ref.raw_status, res.raw_status)
    # names agree: the record says which registry entry produced it
    assert res.solver == name and res.problem == problem and res.extra["method"]
    assert abs(res.objective - ref.objective) <= REL * ref.objective
    # every record is certified the same way: objective in numpy, gap within tol
    assert res.duality_gap is not None and res.dual_bound is not None
    assert 0.0 <= res.duality_gap + 1e-12 * res.objective
    assert res.duality_gap <= TOL * res.objective
    assert res.dual_bound <= ref.objective * (1 + 1e-9)
    if problem == "relu":
        U, V = res.variables["U"], res.variables["V"]
        np.testing.assert_allclose(res.objective, F.relu_objective(X, y, D, U, V, beta), rtol=1e-13)
        assert F.cone_violation(X, D, U, V) <= 1e-10
    else:
        W = res.variables["W"]
        np.testing.assert_allclose(res.objective, F.gated_objective(X, y, D, W, beta), rtol=1e-13)
    rec = res.to_record()
    assert rec["solver"] == name and rec["method"] == res.extra["method"]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e[0]}-{e[1]}")
def test_every_solver_accepts_a_warm_start(entry: tuple[str, str]) -> None:
    problem, name = entry
    X, y, D = _instance(*CATALOGUE[1][:5])
    bmax = F.beta_max(X, y, D)
    first = solve(problem, X, y, D, 0.2 * bmax, solver=name, tol=TOL)
    again = solve(problem, X, y, D, 0.15 * bmax, solver=name, tol=TOL, warm_start=first)
    cold = solve(problem, X, y, D, 0.15 * bmax, solver=name, tol=TOL)
    assert first.ok and again.ok and cold.ok
    assert abs(again.objective - cold.objective) <= REL * cold.objective


def test_full_program_uses_the_relu_entries() -> None:
    assert available_solvers("full") == available_solvers("relu")
    assert set(available_solvers()) == {name for _, name in SOLVERS}


def test_registry_import_is_light() -> None:
    # the registry imports solvers lazily from its table: neither cvxpy nor scipy on import
    code = (
        "import sys, harness.solvers.registry, harness.solvers.result; "
        "print(sorted(m for m in ('cvxpy', 'scipy', 'clarabel') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
