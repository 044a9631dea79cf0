"""Tests for harness.datasets: directory resolution, checksums, MNIST and UCI loaders.

Most logic is tested on tiny synthetic data directories written to ``tmp_path`` (always
run); tests marked by the ``real_dir`` fixture use ``shared/data`` and are skipped when it
is absent. ``shared/data`` is never modified: corruption tests work on copies.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness import datasets as ds
from harness.errors import DataError, InputError

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
FASHION_TRAIN8000_COUNTS = [747, 860, 809, 807, 763, 795, 807, 818, 792, 802]

Synth = tuple[Path, dict[str, Any]]


# --------------------------------------------------------------------------- helpers
def _idx_images(images: np.ndarray, count: int | None = None) -> bytes:
    n = len(images) if count is None else count
    return struct.pack(">IIII", 0x803, n, 28, 28) + images.astype(np.uint8).tobytes()


def _idx_labels(labels: np.ndarray, magic: int = 0x801) -> bytes:
    return struct.pack(">II", magic, len(labels)) + labels.astype(np.uint8).tobytes()


def _write_sums(root: Path, skip: tuple[str, ...] = ()) -> None:
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != "SHA256SUMS"):
        rel = path.relative_to(root).as_posix()
        if rel not in skip:
            lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {rel}\n")
    (root / "SHA256SUMS").write_text("".join(lines))


def _make_synthetic(root: Path, n_train: int = 40, n_test: int = 20) -> dict[str, Any]:
    """A tiny data dir: mnist/ (train images split in 2 gzip parts) and uci/toy/."""
    gen = np.random.default_rng(123)
    arrays: dict[str, Any] = {
        "train_images": gen.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "train_labels": np.arange(n_train) % 10,
        "test_images": gen.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "test_labels": (np.arange(n_test) * 3) % 10,
    }
    mnist = root / "mnist"
    mnist.mkdir(parents=True)
    raw = _idx_images(arrays["train_images"])
    cut = 16 + 28 * 28 * (n_train // 2) + 5  # a cut inside an image, like a byte-range split
    for k, chunk in enumerate((raw[:cut], raw[cut:])):
        (mnist / f"train-images-idx3-ubyte.gz.part{k}").write_bytes(gzip.compress(chunk))
    (mnist / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(_idx_labels(arrays["train_labels"]))
    )
    (mnist / "t10k-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(_idx_images(arrays["test_images"]))
    )
    (mnist / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(_idx_labels(arrays["test_labels"]))
    )
    toy = root / "uci" / "toy"
    toy.mkdir(parents=True)
    X = gen.standard_normal((8, 3))
    y = np.array([0, 1, 2, 2, 1, 2, 0, 2])
    rows = ["\tf1\tf2\tf3\tclase"]
    rows += [f"{i + 1}\t" + "\t".join(f"{v:.6f}" for v in X[i]) + f"\t{y[i]}" for i in range(8)]
    (toy / "toy_R.dat").write_text("\n".join(rows) + "\n")
    (toy / "conxuntos.dat").write_text("0 2 4 6 \n1 3 5 7 \n")
    (toy / "conxuntos_kfold.dat").write_text("0 1 2 3 4 5\n6 7\n2 3 4 5 6 7\n0 1\n")
    (toy / "toy.txt").write_text("n_entradas= 3\nn_clases= 3\nn_patrons1= 8\n")
    arrays["toy_X"] = X
    arrays["toy_y"] = y
    _write_sums(root)
    return arrays


@pytest.fixture
def synth(tmp_path: Path) -> Synth:
    root = tmp_path / "data"
    return root, _make_synthetic(root)


@pytest.fixture(scope="module")
def real_dir() -> Path:
    try:
        root = ds.resolve_data_dir()
    except DataError:
        pytest.skip("shared data directory not available")
    if not (root / "SHA256SUMS").is_file() or not (root / "mnist").is_dir():
        pytest.skip(f"{root} does not hold the shared data")
    return root


# --------------------------------------------------------------------------- resolution
def test_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arg_dir, env_dir = tmp_path / "arg", tmp_path / "env"
    arg_dir.mkdir()
    env_dir.mkdir()
    repo = tmp_path / "a" / "repo"
    repo.mkdir(parents=True)
    default = tmp_path / "a" / "shared" / "data"
    default.mkdir(parents=True)
    cwd = tmp_path / "b" / "work"
    cwd.mkdir(parents=True)
    monkeypatch.setattr(ds, "_REPO_ROOT", repo)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))

    monkeypatch.setenv("HARNESS_DATA", str(env_dir))
    assert ds.resolve_data_dir(arg_dir) == arg_dir.resolve()  # argument beats env
    assert ds.resolve_data_dir(str(arg_dir)) == arg_dir.resolve()
    assert ds.resolve_data_dir() == env_dir.resolve()  # env beats default

    monkeypatch.delenv("HARNESS_DATA")
    assert ds.resolve_data_dir() == default.resolve()  # repo default
    monkeypatch.setenv("HARNESS_DATA", "")  # empty means unset
    assert ds.resolve_data_dir() == default.resolve()

    shutil.rmtree(default)
    cwd_default = tmp_path / "b" / "shared" / "data"
    cwd_default.mkdir(parents=True)
    assert ds.resolve_data_dir() == cwd_default.resolve()  # <cwd>/../shared/data

    shutil.rmtree(cwd_default)
    fetched = tmp_path / "xdg" / "convex-nn-harness" / "data"  # `harness data fetch` default
    fetched.mkdir(parents=True)
    assert ds.resolve_data_dir() == fetched.resolve()

    shutil.rmtree(fetched)
    with pytest.raises(DataError, match=r"no data directory found.*harness data fetch"):
        ds.resolve_data_dir()


def test_missing_data_message_names_each_folder_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the working directory at the repository root, both defaults are one folder."""
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.setattr(ds, "_REPO_ROOT", repo)
    monkeypatch.chdir(repo)
    monkeypatch.delenv("HARNESS_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with pytest.raises(DataError) as info:
        ds.resolve_data_dir()
    message = str(info.value)
    shared = str((tmp_path / "shared" / "data").resolve())
    assert message.count(shared) == 1
    assert "\n" not in message


def test_resolution_errors_for_bad_choices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DataError, match=r"data_dir .* is not a directory"):
        ds.resolve_data_dir(tmp_path / "nope")
    monkeypatch.setenv("HARNESS_DATA", str(tmp_path / "nope"))
    with pytest.raises(DataError, match=r"HARNESS_DATA=.* is not a directory"):
        ds.resolve_data_dir()


def test_env_var_used_by_loaders(synth: Synth, monkeypatch: pytest.MonkeyPatch) -> None:
    root, arrays = synth
    monkeypatch.setenv("HARNESS_DATA", str(root))
    images, _labels = ds.load_mnist("test")
    np.testing.assert_array_equal(images, arrays["test_images"])
    assert ds.list_uci() == ["toy"]


# --------------------------------------------------------------------------- checksums
def test_synthetic_mnist_roundtrip_and_parts(synth: Synth) -> None:
    root, arrays = synth
    images, labels = ds.load_mnist("train", data_dir=root)
    assert images.shape == (40, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, arrays["train_images"])
    np.testing.assert_array_equal(labels, arrays["train_labels"])
    images[0, 0, 0] ^= 1  # returned arrays are private copies
    again, _ = ds.load_mnist("train", data_dir=root)
    np.testing.assert_array_equal(again, arrays["train_images"])


def test_checksum_mismatch_on_corrupted_copy(synth: Synth) -> None:
    root, _ = synth
    target = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    expected = hashlib.sha256(target.read_bytes()).hexdigest()
    blob = bytearray(target.read_bytes())
    blob[-1] ^= 0xFF
    target.write_bytes(bytes(blob))
    actual = hashlib.sha256(bytes(blob)).hexdigest()
    with pytest.raises(DataError) as err:
        ds.load_mnist("test", data_dir=root)
    msg = str(err.value)
    assert "mnist/t10k-labels-idx1-ubyte.gz" in msg and expected in msg and actual in msg
    assert "\n" not in msg


def test_checksum_mismatch_on_real_copy(real_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    (root / "mnist").mkdir(parents=True)
    shutil.copy(real_dir / "SHA256SUMS", root / "SHA256SUMS")
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(real_dir / "mnist" / name, root / "mnist" / name)
    ds.load_mnist("test", data_dir=root)  # the intact copy verifies
    target = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    blob = bytearray(target.read_bytes())
    blob[100] ^= 0x01
    target.write_bytes(bytes(blob))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz .*fails its checksum"):
        ds.load_mnist("test", data_dir=root)


def test_missing_file_message(synth: Synth) -> None:
    root, _ = synth
    (root / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    expected_at = root.resolve() / "mnist" / "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(DataError) as err:
        ds.load_mnist("test", data_dir=root)
    assert str(err.value) == (
        f"data file mnist/t10k-labels-idx1-ubyte.gz not found; expected at {expected_at} "
        "(set HARNESS_DATA or pass data_dir)"
    )


def test_missing_part_is_reported_not_skipped(synth: Synth) -> None:
    root, _ = synth
    (root / "mnist" / "train-images-idx3-ubyte.gz.part1").unlink()
    with pytest.raises(DataError, match=r"mnist/train-images-idx3-ubyte\.gz\.part1 not found"):
        ds.load_mnist("train", data_dir=root)


def test_unlisted_files_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _make_synthetic(root)
    _write_sums(root, skip=("mnist/t10k-images-idx3-ubyte.gz",))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz is not listed in"):
        ds.load_mnist("test", data_dir=root)
    _write_sums(root)
    extra = root / "mnist" / "train-images-idx3-ubyte.gz.part2"
    extra.write_bytes(gzip.compress(b"\0" * 10))
    with pytest.raises(DataError, match=r"\.part2 is not listed in"):
        ds.load_mnist("train", data_dir=root)


def test_missing_sums_file(synth: Synth) -> None:
    root, _ = synth
    (root / "SHA256SUMS").unlink()
    with pytest.raises(DataError, match="SHA256SUMS not found"):
        ds.load_mnist("test", data_dir=root)


def test_idx_header_validation(tmp_path: Path) -> None:
    root = tmp_path / "data"
    arrays = _make_synthetic(root)
    labels_path = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    labels_path.write_bytes(gzip.compress(_idx_labels(arrays["test_labels"], magic=0x803)))
    _write_sums(root)
    with pytest.raises(DataError, match="magic number 0x00000803; expected 0x00000801"):
        ds.load_mnist("test", data_dir=root)
    labels_path.write_bytes(gzip.compress(_idx_labels(arrays["test_labels"])))
    (root / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(_idx_images(arrays["test_images"], count=21))
    )
    _write_sums(root)
    with pytest.raises(DataError, match=r"IDX header says shape \(21, 28, 28\)"):
        ds.load_mnist("test", data_dir=root)


def test_verified_read_returns_bytes(synth: Synth) -> None:
    root, _ = synth
    blob = ds.verified_read("uci/toy/conxuntos.dat", data_dir=root)
    assert blob == (root / "uci" / "toy" / "conxuntos.dat").read_bytes()


# --------------------------------------------------------------------------- binary task
def test_binary_task_synthetic(synth: Synth) -> None:
    root, arrays = synth
    inst = ds.load_mnist_binary(None, None, split="test", data_dir=root)
    assert inst.X.shape == (20, 784) and inst.X.dtype == np.float64
    np.testing.assert_allclose(inst.X, arrays["test_images"].reshape(20, -1) / 255.0, rtol=0)
    expected_y = np.where(arrays["test_labels"] <= 4, 1.0, -1.0)
    np.testing.assert_array_equal(inst.y, expected_y)
    assert inst.meta["dataset"] == "mnist" and inst.meta["split"] == "test"
    assert inst.meta["n"] == 20 and inst.meta["d"] == 784
    assert inst.meta["projection"] == "none" and inst.meta["center"] is False
    assert inst.meta["positive_digits"] == [0, 1, 2, 3, 4]


def test_binary_subsample_projection_determinism(synth: Synth) -> None:
    root, arrays = synth
    kw: dict[str, Any] = dict(split="train", d=7, projection="random", center=True, data_dir=root)
    a = ds.load_mnist_binary(15, np.random.default_rng(5), **kw)
    b = ds.load_mnist_binary(15, np.random.default_rng(5), **kw)
    c = ds.load_mnist_binary(15, np.random.default_rng(6), **kw)
    assert a.X.shape == (15, 7) and a.y.shape == (15,)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.allclose(a.X, c.X)
    # the documented recipe, redone by hand: subsample, then G ~ N(0, 1/d)
    rng = np.random.default_rng(5)
    rows = np.sort(rng.choice(40, size=15, replace=False))
    G = rng.standard_normal((784, 7)) / np.sqrt(7)
    Z = arrays["train_images"][rows].reshape(15, -1) / 255.0
    np.testing.assert_allclose(a.X, (Z - Z.mean(axis=0)) @ G, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(a.y, np.where(arrays["train_labels"][rows] <= 4, 1.0, -1.0))


def test_random_projection_variance(synth: Synth) -> None:
    root, _ = synth
    inst = ds.load_mnist_binary(
        None, np.random.default_rng(0), split="test", d=50, projection="random", data_dir=root
    )
    G = inst.meta["preprocessing"].matrix
    assert G.shape == (784, 50)
    np.testing.assert_allclose(G.std(), 1 / np.sqrt(50), rtol=0.03)


def test_pca_projection(synth: Synth) -> None:
    root, _ = synth
    inst = ds.load_mnist_binary(
        None, None, split="test", d=6, projection="pca", center=True, data_dir=root
    )
    assert inst.X.shape == (20, 6)
    gram = inst.X.T @ inst.X
    off = gram - np.diag(np.diag(gram))
    np.testing.assert_allclose(off, 0.0, atol=1e-9 * np.abs(gram).max())
    assert np.all(np.diff(np.diag(gram)) <= 1e-9)  # decreasing explained variance
    again = ds.load_mnist_binary(
        None, None, split="test", d=6, projection="pca", center=True, data_dir=root
    )
    np.testing.assert_array_equal(inst.X, again.X)
    # without centring, X is projected on the same directions but keeps its offset
    raw = ds.load_mnist_binary(None, None, split="test", d=6, projection="pca", data_dir=root)
    prep = raw.meta["preprocessing"]
    np.testing.assert_allclose(raw.X - raw.X.mean(axis=0), inst.X, atol=1e-10)
    assert prep.mean is None


def test_split_shares_preprocessing_synthetic(synth: Synth) -> None:
    root, arrays = synth
    tr, te = ds.load_mnist_binary_split(
        30, None, np.random.default_rng(1), d=5, projection="random", center=True, data_dir=root
    )
    prep = tr.meta["preprocessing"]
    assert te.meta["preprocessing"] is prep
    assert tr.X.shape == (30, 5) and te.X.shape == (20, 5)
    np.testing.assert_allclose(tr.X.mean(axis=0), 0.0, atol=1e-12)
    Z = arrays["test_images"].reshape(20, -1) / 255.0
    np.testing.assert_allclose(te.X, (Z - prep.mean) @ prep.matrix, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n=5, rng=None), "rng .* is required when n is given"),
        (dict(n=None, rng=None, projection="random", d=3), "required with projection 'random'"),
        (dict(n=None, rng=None, d=3), "needs projection 'random' or 'pca'"),
        (dict(n=None, rng=None, projection="pca"), "d must be an integer"),
        (dict(n=None, rng=None, projection="svd", d=3), "projection must be one of"),
        (dict(n=0, rng=np.random.default_rng(0)), r"n must be an integer in \[1, 20\]"),
        (dict(n=21, rng=np.random.default_rng(0)), r"n must be an integer in \[1, 20\]"),
        (dict(n=None, rng=None, projection="pca", d=21), "must be <= the number of rows"),
        (dict(n=None, rng=None, dataset="cifar"), "dataset must be one of"),
        (dict(n=None, rng=0), "rng must be a numpy.random.Generator"),
    ],
)
def test_binary_input_errors(synth: Synth, kwargs: dict[str, Any], match: str) -> None:
    root, _ = synth
    n, rng = kwargs.pop("n"), kwargs.pop("rng")
    with pytest.raises(InputError, match=match):
        ds.load_mnist_binary(n, rng, split="test", data_dir=root, **kwargs)


def test_bad_split_name(synth: Synth) -> None:
    root, _ = synth
    with pytest.raises(InputError, match="split must be one of"):
        ds.load_mnist("val", data_dir=root)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- real MNIST
def test_real_mnist_test_split(real_dir: Path) -> None:
    images, labels = ds.load_mnist("test", data_dir=real_dir)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == MNIST_TEST_COUNTS
    np.testing.assert_allclose(images.mean(), 33.791, atol=5e-4)
    assert labels[0] == 7


def test_real_mnist_train_split(real_dir: Path) -> None:
    images, labels = ds.load_mnist("train", data_dir=real_dir)
    assert images.shape == (60000, 28, 28)
    assert np.bincount(labels, minlength=10).tolist() == MNIST_TRAIN_COUNTS
    np.testing.assert_allclose(images.mean(), 33.318, atol=5e-4)


def test_real_fashion_mnist(real_dir: Path) -> None:
    images, labels = ds.load_fashion_mnist("train", data_dir=real_dir)
    assert images.shape == (8000, 28, 28) and labels.shape == (8000,)
    assert np.bincount(labels, minlength=10).tolist() == FASHION_TRAIN8000_COUNTS
    images, labels = ds.load_fashion_mnist("test", data_dir=real_dir)
    assert images.shape == (10000, 28, 28)
    assert np.bincount(labels, minlength=10).tolist() == [1000] * 10


def test_real_binary_labels_sign_balance(real_dir: Path) -> None:
    inst = ds.load_mnist_binary(None, None, split="test", data_dir=real_dir)
    assert inst.X.shape == (10000, 784)
    assert inst.X.min() >= 0.0 and inst.X.max() <= 1.0
    assert set(np.unique(inst.y).tolist()) == {-1.0, 1.0}
    assert int((inst.y > 0).sum()) == sum(MNIST_TEST_COUNTS[:5])  # 5139
    assert int((inst.y < 0).sum()) == sum(MNIST_TEST_COUNTS[5:])  # 4861


def test_real_projection_shapes_and_determinism(real_dir: Path) -> None:
    kw: dict[str, Any] = dict(split="test", d=25, projection="random", data_dir=real_dir)
    a = ds.load_mnist_binary(200, np.random.default_rng(0), **kw)
    b = ds.load_mnist_binary(200, np.random.default_rng(0), **kw)
    assert a.X.shape == (200, 25) and a.y.shape == (200,)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    p = ds.load_mnist_binary(
        300, np.random.default_rng(0), split="test", d=10, projection="pca", data_dir=real_dir
    )
    assert p.X.shape == (300, 10) and p.meta["d"] == 10 and p.meta["projection"] == "pca"


def test_real_split_shares_preprocessing(real_dir: Path) -> None:
    tr, te = ds.load_mnist_binary_split(
        300, None, np.random.default_rng(2), center=True, data_dir=real_dir
    )
    prep = tr.meta["preprocessing"]
    assert te.meta["preprocessing"] is prep and prep.matrix is None
    assert tr.meta["split"] == "train" and te.meta["split"] == "test"
    np.testing.assert_allclose(tr.X.mean(axis=0), 0.0, atol=1e-12)
    images, _ = ds.load_mnist("test", data_dir=real_dir)
    np.testing.assert_allclose(te.X + prep.mean, images.reshape(10000, -1) / 255.0, atol=1e-12)


# --------------------------------------------------------------------------- UCI
def test_synthetic_uci(synth: Synth) -> None:
    root, arrays = synth
    data = ds.load_uci("toy", data_dir=root)
    np.testing.assert_allclose(data.X, arrays["toy_X"], atol=1e-6)
    np.testing.assert_array_equal(data.y, arrays["toy_y"])
    assert data.feature_names == ("f1", "f2", "f3") and data.n_classes == 3
    np.testing.assert_array_equal(data.train_idx, [0, 2, 4, 6])
    np.testing.assert_array_equal(data.test_idx, [1, 3, 5, 7])
    assert len(data.folds) == 2
    np.testing.assert_array_equal(data.folds[1][1], [0, 1])
    onehot = data.one_hot()
    assert onehot.shape == (8, 3)
    np.testing.assert_array_equal(onehot.argmax(axis=1), data.y)
    # majority class 2 (4 of 8) -> +1, others -> -1; test rows 1, 3, 5, 7
    inst = ds.uci_instance("toy", "test", data_dir=root)
    np.testing.assert_array_equal(inst.y, [-1.0, 1.0, 1.0, 1.0])
    assert inst.meta["positive_class"] == 2
    lab = ds.uci_instance("toy", "all", target="label", data_dir=root)
    np.testing.assert_array_equal(lab.y, arrays["toy_y"].astype(float))
    f = ds.uci_instance("toy", "train", fold=0, positive_class=0, data_dir=root)
    np.testing.assert_array_equal(f.y, np.where(arrays["toy_y"][:6] == 0, 1.0, -1.0))


def test_uci_bad_split_file(synth: Synth) -> None:
    root, _ = synth
    (root / "uci" / "toy" / "conxuntos.dat").write_text("0 2 4 6\n1 2 5 7\n")
    _write_sums(root)
    with pytest.raises(DataError, match="rows in both train and test"):
        ds.load_uci("toy", data_dir=root)
    (root / "uci" / "toy" / "conxuntos.dat").write_text("0 2 4 6\n1 3 5 8\n")
    _write_sums(root)
    with pytest.raises(DataError, match=r"outside \[0, 8\)"):
        ds.load_uci("toy", data_dir=root)


def test_uci_input_errors(synth: Synth) -> None:
    root, _ = synth
    with pytest.raises(DataError, match=r"unknown UCI data set 'nope'.*available: toy"):
        ds.load_uci("nope", data_dir=root)
    with pytest.raises(InputError, match="target must be one of"):
        ds.uci_instance("toy", target="onehot", data_dir=root)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="split must be one of"):
        ds.uci_instance("toy", split="val", data_dir=root)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"fold must be an integer in \[0, 1\]"):
        ds.uci_instance("toy", fold=2, data_dir=root)
    with pytest.raises(InputError, match="positive_class must be"):
        ds.uci_instance("toy", positive_class=3, data_dir=root)


def test_real_list_uci(real_dir: Path) -> None:
    names = ds.list_uci(real_dir)
    assert len(names) == 30 and names == sorted(names)
    assert {"iris", "fertility", "pittsburg-bridges-SPAN", "balloons"} <= set(names)


def test_real_uci_iris(real_dir: Path) -> None:
    data = ds.load_uci("iris", data_dir=real_dir)
    assert data.X.shape == (150, 4) and data.X.dtype == np.float64
    assert data.y.shape == (150,) and np.bincount(data.y).tolist() == [50, 50, 50]
    assert data.n_classes == 3 and data.feature_names == ("f1", "f2", "f3", "f4")
    # features are stored standardised (mean 0, sample std 1); the loader keeps them as is
    np.testing.assert_allclose(data.X.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(data.X.std(axis=0, ddof=1), 1.0, atol=1e-4)
    tr, te = data.train_idx, data.test_idx
    assert tr.size == 75 and te.size == 75
    assert np.intersect1d(tr, te).size == 0
    assert tr.min() >= 0 and te.min() >= 0 and max(tr.max(), te.max()) < 150
    assert len(data.folds) == 4
    for ftr, fte in data.folds:
        assert fte.size == 37 and np.intersect1d(ftr, fte).size == 0
        assert ftr.size + fte.size == 150
    inst = ds.uci_instance("iris", "train", data_dir=real_dir)
    assert inst.X.shape == (75, 4) and inst.meta["positive_class"] == 0  # tie -> smallest
    np.testing.assert_array_equal(inst.y, np.where(data.y[tr] == 0, 1.0, -1.0))


def test_real_uci_two_class_map(real_dir: Path) -> None:
    data = ds.load_uci("fertility", data_dir=real_dir)
    assert data.X.shape == (100, 9) and np.bincount(data.y).tolist() == [88, 12]
    inst = ds.uci_instance("fertility", "all", data_dir=real_dir)
    assert inst.meta["positive_class"] == 1
    assert int((inst.y > 0).sum()) == 12 and int((inst.y < 0).sum()) == 88


def test_real_uci_unknown_name(real_dir: Path) -> None:
    with pytest.raises(DataError, match=r"unknown UCI data set 'mnist'.*available: .*iris"):
        ds.load_uci("mnist", data_dir=real_dir)
