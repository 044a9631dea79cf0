"""Solvers for the convex programs of THEORY.md §A2: one result record for all.

``harness.solvers.registry.solve`` is the entry point; the record is
:class:`harness.solvers.result.SolveResult`. Nothing heavy is imported here.
"""

from harness.solvers.result import STATUSES, SolveResult

__all__ = ["STATUSES", "SolveResult"]
