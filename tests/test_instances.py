"""Gaussian (A1) instances, planted labels and the .npz format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.errors import InputError
from harness.instances import Instance, gaussian_instance, load_instance, make_rng, save_instance


def test_same_seed_same_instance() -> None:
    a = gaussian_instance(20, 4, 7, labels="planted", width=3, noise=0.1)
    b = gaussian_instance(20, 4, 7, labels="planted", width=3, noise=0.1)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    c = gaussian_instance(20, 4, 8)
    assert not np.array_equal(a.X, c.X)


def test_planted_labels_are_teacher_outputs() -> None:
    inst = gaussian_instance(30, 5, 0, labels="planted", width=4)
    assert inst.teacher is not None
    np.testing.assert_allclose(inst.y, inst.teacher.predict(inst.X))
    assert inst.teacher.patterns(inst.X).shape == (30, 4)


def test_gaussian_labels_and_shapes() -> None:
    inst = gaussian_instance(12, 3, 1, labels="gaussian")
    assert inst.X.shape == (12, 3) and inst.y.shape == (12,)
    assert inst.teacher is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0, "d": 2}, "n must be"),
        ({"n": 5, "d": 0}, "d must be"),
        ({"n": 5, "d": 2, "labels": "nope"}, "labels must be one of"),
        ({"n": 5, "d": 2, "noise": -1.0}, "noise"),
        ({"n": 5, "d": 2, "width": 0}, "width must be"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        gaussian_instance(seed=0, **kwargs)


def test_bad_seed() -> None:
    with pytest.raises(InputError, match="seed"):
        make_rng(-1)


def test_npz_roundtrip(tmp_path: Path) -> None:
    inst = gaussian_instance(10, 2, 3)
    D = inst.X @ np.ones((2, 3)) >= 0
    path = tmp_path / "inst.npz"
    save_instance(path, Instance(X=inst.X, y=inst.y, D=D, teacher=inst.teacher))
    back = load_instance(path)
    np.testing.assert_array_equal(back.X, inst.X)
    np.testing.assert_array_equal(back.y, inst.y)
    assert back.D is not None and back.D.dtype == bool
    np.testing.assert_array_equal(back.D, D)
    assert back.teacher is not None


def test_load_rejects_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_instance(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, X=np.ones((3, 2)), y=np.array([1.0, np.nan, 0.0]))
    with pytest.raises(InputError, match="NaN"):
        load_instance(bad)
    shapes = tmp_path / "shapes.npz"
    np.savez(shapes, X=np.ones((3, 2)), y=np.ones(4))
    with pytest.raises(InputError, match="same number of rows"):
        load_instance(shapes)
    nox = tmp_path / "nox.npz"
    np.savez(nox, y=np.ones(4))
    with pytest.raises(InputError, match="lacks"):
        load_instance(nox)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"not a valid \.npz file") as info:
        load_instance(garbage)
    assert "pickle" not in str(info.value)  # no invitation to an unsafe load
    text = tmp_path / "text.npz"
    text.write_text("X,y\n1,2\n")
    with pytest.raises(InputError, match=r"not a valid \.npz file"):
        load_instance(text)


def test_load_rejects_complex_arrays(tmp_path: Path) -> None:
    path = tmp_path / "complex.npz"
    np.savez(path, X=np.ones((3, 2)) + 1j, y=np.ones(3))
    with pytest.raises(InputError, match="'X' must be real numbers; got dtype complex128"):
        load_instance(path)
    np.savez(path, X=np.ones((3, 2)), y=np.array(["a", "b", "c"]))
    with pytest.raises(InputError, match="'y' must be real numbers"):
        load_instance(path)


def test_save_instance_uses_unique_temporary_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers never share a temporary file; a failed write leaves nothing behind."""
    import harness.atomic as atomic

    inst = gaussian_instance(6, 2, 0)
    names = [atomic.temp_path(tmp_path / "a.npz") for _ in range(2)]
    assert names[0] != names[1] and all(p.name.startswith(".tmp.a.npz.") for p in names)

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        save_instance(tmp_path / "a.npz", inst)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    with pytest.raises(InputError, match="is a directory"):
        save_instance(tmp_path, inst)
    assert list(tmp_path.iterdir()) == []
