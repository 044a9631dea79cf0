"""Solver registry: one entry point ``solve(problem, ..., solver=NAME)`` for every backend.

Contract of every registered function::

    fn(X, y, D, beta, *, tol, max_iter, warm_start=None, problem=...) -> SolveResult

``tol`` is the certified relative gap the record's status is decided by, ``max_iter`` the
solver's own iteration budget and ``warm_start`` a previous :class:`SolveResult` (or a
variables dict; solvers that cannot use one accept and ignore it). Every record is built by
:func:`harness.solvers.certify.build_result` and carries the registry name as ``solver``
(the method is ``extra["method"]``). Problems: ``"relu"`` (eq. (3)), ``"full"`` (eq. (2),
the ReLU program on all enumerated patterns) and ``"gated"`` (eq. (5)).

Solvers are imported lazily from :data:`SOLVERS` (module, function): importing the
registry imports neither cvxpy nor scipy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from harness.errors import InputError, SolverError
from harness.formulations import BoolArray, FloatArray
from harness.solvers.result import SolveResult

PROBLEMS = ("relu", "gated", "full")

#: (program, registry name) -> (module, function). "full" uses the "relu" entries.
SOLVERS: dict[tuple[str, str], tuple[str, str]] = {
    ("relu", "clarabel"): ("harness.solvers.reference", "solve_relu_reference"),
    ("gated", "clarabel"): ("harness.solvers.reference", "solve_gated_reference"),
    ("relu", "fast"): ("harness.solvers.relu_cg", "solve_relu_cg"),
    ("gated", "fast"): ("harness.solvers.gated_kernel", "solve_gated_kernel"),
    ("relu", "al"): ("harness.solvers.relu_al", "solve_relu_al"),
}

SolverFn = Callable[..., SolveResult]


def available_solvers(problem: str | None = None) -> list[str]:
    """Names of the solvers registered (for ``problem``, or for any problem)."""
    program = "relu" if problem == "full" else problem
    return sorted({s for (p, s) in SOLVERS if program is None or p == program})


def solver_function(problem: str, solver: str) -> SolverFn:
    """The function registered as ``solver`` for ``problem`` (imported on first use).

    Raises
    ------
    InputError
        Unknown problem name.
    SolverError
        Unknown solver name for that problem.
    """
    if problem not in PROBLEMS:
        raise InputError(f"formulation must be one of {list(PROBLEMS)}; got {problem!r}")
    key = ("relu" if problem == "full" else problem, solver)
    if key not in SOLVERS:
        raise SolverError(
            f"solver must be one of {available_solvers(key[0])} for {problem!r}; got {solver!r}"
        )
    module, name = SOLVERS[key]
    fn: SolverFn = getattr(importlib.import_module(module), name)
    return fn


def solve(
    problem: str,
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    solver: str = "clarabel",
    **options: Any,
) -> SolveResult:
    """Solve ``problem`` in {"relu", "gated", "full"} with the named solver.

    ``options`` go to the solver (``tol``, ``max_iter``, ``warm_start`` for every solver,
    and solver-specific ones). Raises InputError / SolverError as :func:`solver_function`.
    """
    fn = solver_function(problem, solver)
    return fn(X, y, D, beta, problem=problem, **options)
