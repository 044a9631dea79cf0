"""Solvers for the convex programs of THEORY.md §A2: one result record for all."""

from harness.solvers.reference import solve_gated_reference, solve_relu_reference
from harness.solvers.result import STATUSES, SolveResult

__all__ = ["STATUSES", "SolveResult", "solve_gated_reference", "solve_relu_reference"]
