"""Solver registry: one entry point ``solve(problem, ..., solver=NAME)`` for every backend.

Each registered function has the signature
``fn(X, y, D, beta, *, tol, max_iter, warm_start=None) -> SolveResult``. Problems:
``"relu"`` (eq. (3)), ``"full"`` (eq. (2), ReLU program on all enumerated patterns) and
``"gated"`` (eq. (5)). Solvers: ``"clarabel"`` (reference, cvxpy + Clarabel) and the
fast first-order solvers registered by :mod:`harness.solvers.first_order`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.errors import InputError, SolverError
from harness.formulations import BoolArray, FloatArray
from harness.solvers.result import SolveResult

PROBLEMS = ("relu", "gated", "full")
SolverFn = Callable[..., SolveResult]
_REGISTRY: dict[tuple[str, str], SolverFn] = {}


def register_solver(problem: str, name: str) -> Callable[[SolverFn], SolverFn]:
    """Decorator registering ``fn`` as solver ``name`` for ``problem``."""

    def deco(fn: SolverFn) -> SolverFn:
        _REGISTRY[(problem, name)] = fn
        return fn

    return deco


def available_solvers(problem: str | None = None) -> list[str]:
    """Names of the solvers registered (for ``problem``, or for any problem)."""
    _load_builtin()
    return sorted({s for (p, s) in _REGISTRY if problem is None or p == problem})


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

    Raises
    ------
    InputError
        Unknown problem name.
    SolverError
        Unknown solver name for that problem.
    """
    if problem not in PROBLEMS:
        raise InputError(f"formulation must be one of {list(PROBLEMS)}; got {problem!r}")
    _load_builtin()
    key = ("relu" if problem == "full" else problem, solver)
    if key not in _REGISTRY:
        raise SolverError(
            f"solver must be one of {available_solvers(key[0])} for {problem!r}; got {solver!r}"
        )
    fn = _REGISTRY[key]
    if problem == "full":
        options = {**options, "problem": "full"}
    return fn(X, y, D, beta, **options)


_LOADED = False


def _load_builtin() -> None:
    """Import the modules that register solvers (lazy, to keep imports cheap)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    from harness.solvers import reference

    register_solver("relu", "clarabel")(reference.solve_relu_reference)
    register_solver("gated", "clarabel")(reference.solve_gated_reference)
    try:
        import harness.solvers.first_order  # noqa: F401  (registers "fast")
    except ImportError:  # pragma: no cover - module not yet present
        pass
