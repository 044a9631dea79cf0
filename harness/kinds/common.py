"""Parameter dataclasses shared by the kinds: the (A1) instance, the beta rule, the solver.

Each kind's own dataclass (see :mod:`harness.kinds`) derives from these, so the fields a
spec's ``[instance]``, ``[grid]`` and ``[solver]`` tables set are declared, constrained
and defaulted once, and the instance of a point is built in one place
(:meth:`SyntheticInstance.instance`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import InputError
from harness.instances import LABEL_MODELS, WEIGHT_LAWS, Instance, gaussian_instance
from harness.params import Interval, Options, Parameters, Text, param


@dataclass(frozen=True, kw_only=True)
class SyntheticInstance(Parameters):
    """An (A1) instance: ``X_ij ~ N(0, 1)`` of shape (n, d) and its labels, THEORY.md §A3.

    ``n`` comes from the spec's ``n`` or ``c`` (``n = round(c d)``, filled in by the grid);
    the other fields are the spec's ``[instance]`` table.
    """

    n: int = param(Interval(int, 1, None))
    d: int = param(Interval(int, 1, None))
    labels: str = param(Options(LABEL_MODELS), "planted")
    teacher_width: int = param(Interval(int, 1, None), 5)
    weight_law: str = param(Options(WEIGHT_LAWS), "gaussian")
    noise: float = param(Interval(float, 0.0, None), 0.0)
    generator: str = param(Options(("gaussian",)), "gaussian")

    def instance(self, seed: int | np.random.SeedSequence, n: int | None = None) -> Instance:
        """The instance of these parameters from ``seed`` (``n`` overrides the sample count)."""
        return gaussian_instance(
            self.n if n is None else n,
            self.d,
            seed=seed,
            labels=self.labels,
            width=self.teacher_width,
            weight_law=self.weight_law,
            noise=self.noise,
        )


def synthetic_instance(
    point: Mapping[str, Any],
    seed: int | np.random.SeedSequence,
    defaults: Mapping[str, Any] | None = None,
    n: int | None = None,
) -> Instance:
    """The (A1) instance of a point dict (kinds that still take dicts): one builder for all."""
    values = {**(defaults or {}), **point}
    return SyntheticInstance.build(values).instance(seed, n=n)


@dataclass(frozen=True, kw_only=True)
class BetaRule(Parameters):
    """``beta`` directly, or ``beta_rel * beta_max`` (THEORY.md §A8 "How to choose beta")."""

    beta: float | None = param(Interval(float, 0.0, None, closed="neither"), None)
    beta_rel: float | None = param(Interval(float, 0.0, 1.0, closed="right"), None)

    def beta_value(self, beta_max: float) -> float:
        """The weight decay of the point given ``beta_max`` on its patterns."""
        if self.beta is not None:
            return float(self.beta)
        if self.beta_rel is None:
            raise InputError("one of 'beta' or 'beta_rel' is required")
        return float(self.beta_rel) * beta_max


@dataclass(frozen=True, kw_only=True)
class SolverChoice(Parameters):
    """The spec's ``[solver]`` table: solver name, tolerance, iteration limit."""

    solver: str = param(Text(), "clarabel")
    tol: float | None = param(Interval(float, 0.0, 1.0, closed="neither"), None)
    max_iter: int | None = param(Interval(int, 1, None), None)

    def solver_options(self, tol: float, max_iter: int) -> dict[str, Any]:
        """``solve(...)`` keyword arguments, with the kind's defaults for unset fields."""
        return {
            "solver": self.solver,
            "tol": tol if self.tol is None else self.tol,
            "max_iter": max_iter if self.max_iter is None else self.max_iter,
        }


@dataclass(frozen=True)
class MnistTask:
    """MNIST digits 0-4 (+1) against 5-9 (-1), THEORY.md §A8: train (and test) rows."""

    X: Any
    y: Any
    X_test: Any | None
    y_test: Any | None
    projection: str

    @property
    def source(self) -> str:
        """``"mnist/<projection>/centred"`` (the ``data_source`` column)."""
        return f"mnist/{self.projection}/centred"


def mnist_task(
    n: int, d: int, projection: str, rng: np.random.Generator, n_test: int = 0
) -> MnistTask:
    """``n`` training (and ``n_test`` test) rows of the MNIST binary task, centred, in ``d``.

    Pixels are divided by 255 and centred; the images are projected to ``d`` dimensions by
    ``projection`` (``"pca"`` or ``"random"``) unless ``d`` is the pixel count (then no
    projection). With ``n_test > 0`` the test rows come from the test split and share the
    training split's preprocessing (:func:`harness.datasets.load_mnist_binary_split`).
    """
    from harness.datasets import N_PIXELS, load_mnist_binary, load_mnist_binary_split

    if d == N_PIXELS:
        projection = "none"
    target = None if projection == "none" else d
    proj: Any = projection  # checked against harness.datasets.PROJECTIONS by the loaders
    if n_test <= 0:
        inst = load_mnist_binary(n, rng, d=target, projection=proj, center=True)
        return MnistTask(inst.X, inst.y, None, None, projection)
    train, test = load_mnist_binary_split(n, n_test, rng, d=target, projection=proj, center=True)
    return MnistTask(train.X, train.y, test.X, test.y, projection)
