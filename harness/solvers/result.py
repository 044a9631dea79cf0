"""The one result record every solver returns (STYLE.md "One result record")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Normalised solver statuses. "inaccurate" results are never used in verdicts.
STATUSES = ("optimal", "inaccurate", "max_iter", "infeasible", "error")


@dataclass(frozen=True)
class SolveResult:
    """Outcome of one convex solve.

    Attributes
    ----------
    problem : {"relu", "gated", "full", "ridge", "decomposition"}
        Which program of THEORY.md §A2 was solved ((3), (5), (2), Thm 3.4, §A5).
    solver : str
        Solver name, e.g. ``"clarabel"`` or ``"fista"``.
    solver_version : str
        Version string of the solver package.
    status : str
        One of :data:`STATUSES`; ``raw_status`` keeps the backend's own word.
    objective : float
        Objective recomputed in numpy by :mod:`harness.formulations` from the
        returned variables (not the solver's own number, which is
        ``solver_objective``).
    variables : dict of str to ndarray
        ``{"U", "V"}`` (each (d, P)) for ReLU programs, ``{"W"}`` (d, P) for gated.
    duality_gap : float or None
        Certified gap ``objective - dual_bound`` when the solver provides one.
    max_cone_violation : float
        Largest relative cone violation, :func:`harness.formulations.cone_violation`;
        ``0.0`` for unconstrained programs.
    """

    problem: str
    solver: str
    solver_version: str
    status: str
    raw_status: str
    objective: float
    solver_objective: float
    n_iter: int
    time_s: float
    tol: float
    n_patterns: int
    n_active: int
    max_cone_violation: float
    variables: dict[str, np.ndarray] = field(repr=False)
    duality_gap: float | None = None
    dual_bound: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @property
    def ok(self) -> bool:
        """True when the solve is usable for verdicts (status ``optimal``)."""
        return self.status == "optimal"

    def to_record(self) -> dict[str, Any]:
        """Flat JSON-serialisable dict of every scalar field (no arrays)."""
        rec: dict[str, Any] = {
            "problem": self.problem,
            "solver": self.solver,
            "solver_version": self.solver_version,
            "status": self.status,
            "raw_status": self.raw_status,
            "objective": float(self.objective),
            "solver_objective": float(self.solver_objective),
            "n_iter": int(self.n_iter),
            "time_s": float(self.time_s),
            "tol": float(self.tol),
            "n_patterns": int(self.n_patterns),
            "n_active": int(self.n_active),
            "max_cone_violation": float(self.max_cone_violation),
            "duality_gap": None if self.duality_gap is None else float(self.duality_gap),
            "dual_bound": None if self.dual_bound is None else float(self.dual_bound),
        }
        for key, value in self.extra.items():
            if isinstance(value, (int, float, str, bool)) or value is None:
                rec[key] = value
        return rec
