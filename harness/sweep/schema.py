"""Spec schema written as data: each field maps to a type and an interval or options.

THEORY.md is not involved here; this module only states which values a spec may hold,
in the manner of scikit-learn's ``utils/_param_validation.py`` (``Interval``,
``StrOptions``). Every check returns the tail of the one-line message
``"must be an int in [1, inf). Got 0."``; :mod:`harness.sweep.spec` prefixes it with the
spec name, path and field.

The constraint classes live in the leaf module :mod:`harness.params`; kinds declare their
extra grid parameters with :func:`harness.kinds.declare_kind_params`.
"""

from __future__ import annotations

from harness.params import Constraint as Constraint
from harness.params import Flag as Flag
from harness.params import Interval as Interval
from harness.params import IntList as IntList
from harness.params import Options as Options
from harness.params import Text as Text
from harness.params import parse_P_list as parse_P_list
from harness.scales import SCALE_NAMES

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."

#: Top-level scalar fields of a spec (tables ``instance``, ``grid``, ``solver``,
#: ``scales`` are handled by :mod:`harness.sweep.spec`).
TOP_FIELDS: dict[str, Constraint] = {
    "name": Text(_NAME_CHARS, "a name of letters, digits, '_', '-', '.'"),
    "kind": Text(),  # checked against the kind registry at load time
    "seed": Interval(int, 0, 2**63 - 1),
    "description": Text(what="a non-empty string"),
    "seeds": Interval(int, 1, None),
}
REQUIRED_TOP = ("name", "kind", "seed", "grid")
TOP_TABLES = ("instance", "grid", "solver", "scales")
#: Optional top-level list of the quantities the kind should compute (a subset of the
#: kind's declared quantities); passed to the kind as the point parameter ``quantities``,
#: a comma-joined sorted string, so it is part of every point key.
TOP_LISTS = ("quantities",)

#: ``[instance]``: parameters of the instance generator (harness.instances.gaussian_instance).
INSTANCE_FIELDS: dict[str, Constraint] = {
    "generator": Options(("gaussian",)),
    "labels": Options(("planted", "gaussian")),
    "teacher_width": Interval(int, 1, None),
    "weight_law": Options(("gaussian", "rademacher")),
    "noise": Interval(float, 0.0, None),
}

#: ``[grid]``: the axes every kind may use. ``c = n / d`` replaces ``n``; ``beta_rel`` is a
#: fraction of ``beta_max = max_i ||X^T D_i y||`` (THEORY.md §A8, STYLE "No hidden scaling").
GRID_FIELDS: dict[str, Constraint] = {
    "n": Interval(int, 1, None),
    "c": Interval(float, 0.0, None, closed="neither"),
    "d": Interval(int, 1, None),
    "P": Interval(int, 1, None),
    "beta": Interval(float, 0.0, None, closed="neither"),
    "beta_rel": Interval(float, 0.0, 1.0, closed="right"),
    "width": Interval(int, 1, None),
}

#: ``[solver]``: solver name (checked against the solver registry), tolerance, iterations.
#: In a point they appear as ``solver``, ``tol`` and ``max_iter``.
SOLVER_FIELDS: dict[str, Constraint] = {
    "name": Text(),  # checked against harness.solvers.registry.available_solvers()
    "tol": Interval(float, 0.0, 1.0, closed="neither"),
    "max_iter": Interval(int, 1, None),
}
SOLVER_POINT_NAMES = {"name": "solver", "tol": "tol", "max_iter": "max_iter"}

#: Scale profiles a spec may define (:data:`harness.scales.SCALES`); each overrides
#: ``seeds`` and the three tables.
SCALES = SCALE_NAMES
SCALE_FIELDS = ("seeds", "instance", "grid", "solver", "description")

#: Pairs of grid fields of which at most one may be set.
EXCLUSIVE = (("n", "c"), ("beta", "beta_rel"))
