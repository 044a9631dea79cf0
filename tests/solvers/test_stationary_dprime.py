"""Regression: the ReLU program (3) on the final activation patterns of a wide Adam run.

The fixture is one ``p_cvx(D')`` solve of the ``stationary`` kind at its paper scale
(planted labels, n = 40, d = 20, beta = 0.1 beta_max, width 2 P_rule, 5000 Adam steps):
1 617 distinct final patterns, many of them nearly parallel. Before the matrix-free
restricted IPM (Woodbury refinement against the exact matrix, dense hand-over on a
collapsing step) and the warm-started rounds, the fast solver stopped here with
``ipm stalled`` and a certified gap of 6e-4 (status ``inaccurate``), which removed such
rows from P16. cvxpy + Clarabel agrees with the fast solver's objective to 6e-11 relative
(25 s, not repeated here); the certificate below is weak duality computed in numpy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness import formulations as F
from harness.solvers.registry import solve

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("stationary_dprime_n40.npz", (40, 1617)),
        # n = 80, d = 40, 3 267 final patterns of a 5000-step Adam run at width 2 P_rule.
        # Before the final-residual repricing, the restricted solve was judged at a
        # working set priced at its MID_GAP residual: the final residual violated ten
        # near-duplicate outside columns by 4e-5 beta, the IPM's breakdown at gap 2e-10
        # was read as a stall, and the solve ended 'inaccurate' (certified gap 3.3e-5)
        # after a 370 s Newton crossover; cvxpy + Clarabel agrees with the certified
        # objective (README, P16).
        ("stationary_dprime_n80.npz", (80, 3267)),
    ],
)
def test_fast_relu_certifies_the_final_patterns_of_a_wide_run(
    name: str, shape: tuple[int, int]
) -> None:
    z = np.load(DATA / name)
    X, y, beta = z["X"], z["y"], float(z["beta"])
    D = np.unpackbits(z["D_packed"], axis=0, count=int(z["n"])).astype(bool)
    assert D.shape == shape
    res = solve("relu", X, y, D, beta, solver="fast", tol=1e-8)
    assert res.status == "optimal", res.extra.get("stop_reason")
    assert res.duality_gap <= 1e-8 * abs(res.objective)
    U, V = res.variables["U"], res.variables["V"]
    assert F.cone_violation(X, D, U, V) == 0.0
    # the objective is the value of (3) at the returned (cone-feasible) weights
    assert np.isclose(F.relu_objective(X, y, D, U, V, beta), res.objective, rtol=1e-12)
