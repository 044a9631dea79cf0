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

from harness import formulations as F
from harness.solvers.registry import solve

FIXTURE = Path(__file__).parent / "data" / "stationary_dprime_n40.npz"


def test_fast_relu_certifies_the_final_patterns_of_a_wide_run() -> None:
    z = np.load(FIXTURE)
    X, y, beta = z["X"], z["y"], float(z["beta"])
    D = np.unpackbits(z["D_packed"], axis=0, count=int(z["n"])).astype(bool)
    assert D.shape == (40, 1617)
    res = solve("relu", X, y, D, beta, solver="fast", tol=1e-8)
    assert res.status == "optimal", res.extra.get("stop_reason")
    assert res.duality_gap <= 1e-8 * abs(res.objective)
    U, V = res.variables["U"], res.variables["V"]
    assert F.cone_violation(X, D, U, V) == 0.0
    # the objective is the value of (3) at the returned (cone-feasible) weights
    assert np.isclose(F.relu_objective(X, y, D, U, V, beta), res.objective, rtol=1e-12)
