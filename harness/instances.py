"""Problem instances: Gaussian design (A1), planted labels, and the .npz exchange format.

THEORY.md §A3 (A1): ``X_ij ~ N(0, 1)`` i.i.d. with ``n = c d``. Labels are either i.i.d.
``N(0, 1)`` or the output of a planted two-layer ReLU network. All randomness comes from
a ``numpy.random.Generator`` built from a ``SeedSequence``; no global state is used.
Real data sets are loaded by :mod:`harness.datasets`.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.atomic import atomic_open
from harness.errors import InputError
from harness.formulations import BoolArray, FloatArray, check_data, check_patterns
from harness.resources import check_memory

LABEL_MODELS = ("planted", "gaussian")
WEIGHT_LAWS = ("gaussian", "rademacher")


def make_rng(seed: int | np.random.SeedSequence) -> np.random.Generator:
    """A ``Generator`` from an int seed or a ``SeedSequence`` (the only RNG entry point)."""
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer; got {seed!r}")
    return np.random.default_rng(np.random.SeedSequence(int(seed)))


@dataclass(frozen=True)
class PlantedNetwork:
    """Teacher two-layer ReLU network ``x -> sum_j (x^T u_j)_+ alpha_j``."""

    U: FloatArray  # (d, m)
    alpha: FloatArray  # (m,)

    def predict(self, X: FloatArray) -> FloatArray:
        return np.maximum(X @ self.U, 0.0) @ self.alpha

    def patterns(self, X: FloatArray) -> BoolArray:
        """The teacher's activation patterns ``1[X u_j >= 0]``, shape (n, m)."""
        return (X @ self.U) >= 0


@dataclass(frozen=True)
class Instance:
    """A regression instance ``(X, y)`` with optional patterns ``D`` and metadata."""

    X: FloatArray
    y: FloatArray
    D: BoolArray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    teacher: PlantedNetwork | None = None

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])


def gaussian_design(n: int, d: int, rng: np.random.Generator) -> FloatArray:
    """(A1) design: ``X_ij ~ N(0, 1)`` i.i.d., shape (n, d)."""
    _check_positive_int("n", n)
    _check_positive_int("d", d)
    check_memory(f"a Gaussian design with n={n}, d={d}", 8.0 * n * d)
    return rng.standard_normal((n, d))


def planted_network(
    d: int, width: int, rng: np.random.Generator, weight_law: str = "gaussian"
) -> PlantedNetwork:
    """A random teacher: ``u_j ~ N(0, I_d / d)`` and ``alpha_j`` of variance ``1/width``.

    ``weight_law="gaussian"`` draws ``alpha_j ~ N(0, 1/width)``; ``"rademacher"`` draws
    ``alpha_j = +-1/sqrt(width)``. The 1/d and 1/width scalings keep ``y`` of order one.
    """
    _check_positive_int("width", width)
    if weight_law not in WEIGHT_LAWS:
        raise InputError(f"weight_law must be one of {list(WEIGHT_LAWS)}; got {weight_law!r}")
    U = rng.standard_normal((d, width)) / np.sqrt(d)
    if weight_law == "gaussian":
        alpha = rng.standard_normal(width) / np.sqrt(width)
    else:
        alpha = rng.choice([-1.0, 1.0], size=width) / np.sqrt(width)
    return PlantedNetwork(U=U, alpha=alpha)


def gaussian_instance(
    n: int,
    d: int,
    seed: int | np.random.SeedSequence,
    labels: str = "planted",
    width: int = 5,
    weight_law: str = "gaussian",
    noise: float = 0.0,
) -> Instance:
    """(A1) instance with planted-network or i.i.d. Gaussian labels.

    Parameters
    ----------
    n, d : int
        Sample count and dimension (``c = n / d``).
    seed : int or SeedSequence
        Determines every random number of the instance.
    labels : {"planted", "gaussian"}
        ``"planted"``: ``y = f_teacher(X) + noise * N(0, I)``; ``"gaussian"``: ``y ~ N(0, I)``.
    width, weight_law, noise
        Teacher width, teacher output-weight law and label-noise standard deviation.
    """
    if labels not in LABEL_MODELS:
        raise InputError(f"labels must be one of {list(LABEL_MODELS)}; got {labels!r}")
    if not np.isfinite(noise) or noise < 0:
        raise InputError(f"noise must be a finite number >= 0; got {noise!r}")
    rng = make_rng(seed)
    X = gaussian_design(n, d, rng)
    teacher: PlantedNetwork | None = None
    if labels == "planted":
        teacher = planted_network(d, width, rng, weight_law)
        y = teacher.predict(X)
        if noise > 0:
            y = y + noise * rng.standard_normal(n)
    else:
        y = rng.standard_normal(n)
    meta = {
        "source": "gaussian",
        "n": n,
        "d": d,
        "labels": labels,
        "width": width if labels == "planted" else 0,
        "weight_law": weight_law,
        "noise": float(noise),
    }
    return Instance(X=X, y=y, meta=meta, teacher=teacher)


# --------------------------------------------------------------------------- .npz format
def save_instance(path: str | os.PathLike[str], instance: Instance) -> None:
    """Write ``X``, ``y`` (float64) and optional ``D`` (uint8 0/1) to ``path`` atomically."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {
        "X": instance.X.astype(np.float64),
        "y": instance.y.astype(np.float64),
    }
    if instance.D is not None:
        arrays["D"] = instance.D.astype(np.uint8)
    if instance.teacher is not None:
        arrays["teacher_U"] = instance.teacher.U
        arrays["teacher_alpha"] = instance.teacher.alpha
    if path.is_dir():
        raise InputError(f"{path} is a directory; give a file name for the instance")
    with atomic_open(path) as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]


def load_instance(path: str | os.PathLike[str]) -> Instance:
    """Read an instance file (``X`` (n, d), ``y`` (n,), optional ``D`` (n, P) 0/1).

    Raises
    ------
    InputError
        If the file is missing, unreadable, lacks ``X``/``y`` or holds invalid arrays.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"instance file not found: {path}")
    if not zipfile.is_zipfile(path):  # np.load would try (and refuse) a pickle load
        raise InputError(f"{path} is not a valid .npz file (not a zip archive of arrays)")
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            missing = {"X", "y"} - keys
            if missing:
                raise InputError(f"instance file {path} lacks array(s) {sorted(missing)}")
            for key in ("X", "y"):
                if not np.issubdtype(data[key].dtype, np.number) or np.iscomplexobj(data[key]):
                    raise InputError(
                        f"instance file {path}: array {key!r} must be real numbers; "
                        f"got dtype {data[key].dtype}"
                    )
            X, y = check_data(data["X"], data["y"])
            D = check_patterns(data["D"], X.shape[0]) if "D" in keys else None
            teacher = None
            if {"teacher_U", "teacher_alpha"} <= keys:
                teacher = PlantedNetwork(
                    U=np.asarray(data["teacher_U"], float),
                    alpha=np.asarray(data["teacher_alpha"], float),
                )
    except InputError:
        raise
    except Exception as exc:  # zipfile/format errors
        raise InputError(f"{path} is not a valid .npz instance file: {exc}") from exc
    return Instance(X=X, y=y, D=D, meta={"source": str(path)}, teacher=teacher)


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be an integer >= 1; got {value!r}")
