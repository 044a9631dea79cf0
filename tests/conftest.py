"""Shared fixtures: tiny instances with fixed seeds."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from harness.instances import Instance, gaussian_instance, make_rng
from harness.patterns import PatternSet, sample_patterns


@pytest.fixture(params=[0, 1, 2], ids=lambda s: f"seed{s}")
def any_seed(request: pytest.FixtureRequest) -> int:
    """A test using this fixture must pass for every seed."""
    return int(request.param)


def small_problem(seed: int, n: int = 30, d: int = 3, P: int = 25) -> tuple[Instance, PatternSet]:
    inst = gaussian_instance(n, d, seed, labels="planted", width=4, noise=0.1)
    ps = sample_patterns(inst.X, P, make_rng(seed + 1000))
    return inst, ps


def restricted_columns(
    seed: int, n: int, d: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A restricted ReLU program for :class:`harness.solvers.ipm.WorkingSetIPM`: Gaussian
    ``X`` (n, d) and ``y``, ``k`` arrangement patterns of ``X`` as floats and random
    column signs."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    Dc = (X @ rng.standard_normal((d, k)) >= 0).astype(np.float64)
    sig = np.where(rng.random(k) < 0.5, 1.0, -1.0)
    return X, y, Dc, sig


@pytest.fixture
def rng() -> np.random.Generator:
    return make_rng(12345)


@pytest.fixture
def stand_in_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``HARNESS_DATA`` at an empty folder with a ``SHA256SUMS``: the data check passes.

    Lets a test reach a refusal that comes after the data check on machines without the
    data sets (nothing may be read from it).
    """
    stand_in = tmp_path / "data"
    stand_in.mkdir()
    (stand_in / "SHA256SUMS").write_text("")
    monkeypatch.setenv("HARNESS_DATA", str(stand_in))
