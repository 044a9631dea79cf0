"""Real data sets: MNIST / Fashion-MNIST binary tasks and the small UCI sets.

THEORY.md §A8 (Figure 2, Appendix E: MNIST digits 0-4 -> +1, 5-9 -> -1) and Part B,
Table 1 (UCI sets of the Fernandez-Delgado et al. 2014 collection).

Every file is read from one data directory laid out like ``shared/data``::

    SHA256SUMS                     "<sha256 hex>  <relative path>" per line
    mnist/                         IDX files, gzip (large ones split into *.gz.partN)
    fashion-mnist/
    uci/<name>/<name>_R.dat        plus conxuntos.dat, conxuntos_kfold.dat, <name>.txt

The directory is found by :func:`resolve_data_dir` (explicit argument > ``HARNESS_DATA``
> ``../shared/data`` next to the repository). The sha256 of every byte that a loader
parses is checked against ``SHA256SUMS`` first; a missing, unlisted or corrupt file raises
:class:`~harness.errors.DataError` with one line naming the file and where it was expected.

No normalisation happens beyond what each function documents: MNIST pixels are divided
by 255 and, only when asked, centred and projected; UCI features are returned exactly as
stored (the collection's authors already standardised them).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from harness.errors import DataError, InputError
from harness.formulations import FloatArray
from harness.instances import Instance

__all__ = [
    "DATA_ENV_VAR",
    "MNIST_DATASETS",
    "MnistPreprocessing",
    "UCIData",
    "clear_cache",
    "list_uci",
    "load_fashion_mnist",
    "load_mnist",
    "load_mnist_binary",
    "load_mnist_binary_split",
    "load_uci",
    "resolve_data_dir",
    "uci_instance",
    "verified_read",
]

DATA_ENV_VAR = "HARNESS_DATA"
SUMS_NAME = "SHA256SUMS"
MNIST_DATASETS = ("mnist", "fashion-mnist")
PROJECTIONS = ("none", "random", "pca")
UCI_TARGETS = ("binary", "label")
UCI_SPLITS = ("train", "test", "all")
MNIST_SPLITS = ("train", "test")
POSITIVE_DIGITS = (0, 1, 2, 3, 4)
NEGATIVE_DIGITS = (5, 6, 7, 8, 9)
IMAGE_SIDE = 28
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE

# Repository root: harness/datasets.py -> parents[1]. Tests monkeypatch it.
_REPO_ROOT = Path(__file__).resolve().parents[1]

_HOW_TO_GET = (
    "run `harness data fetch` (downloads and verifies MNIST, Fashion-MNIST and the UCI sets), "
    f"or set {DATA_ENV_VAR} to a folder laid out like shared/data (mnist/, fashion-mnist/, "
    f"uci/<name>/, with {SUMS_NAME})"
)

# Relative paths of the logical IDX files (a logical file may be stored as .partN pieces).
_MNIST_FILES: dict[str, dict[str, tuple[str, str]]] = {
    "mnist": {
        "train": ("mnist/train-images-idx3-ubyte.gz", "mnist/train-labels-idx1-ubyte.gz"),
        "test": ("mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"),
    },
    "fashion-mnist": {
        "train": (
            "fashion-mnist/train-images-idx3-ubyte.first8000.gz",
            "fashion-mnist/train-labels-idx1-ubyte.gz",
        ),
        "test": (
            "fashion-mnist/t10k-images-idx3-ubyte.gz",
            "fashion-mnist/t10k-labels-idx1-ubyte.gz",
        ),
    },
}
_IDX_IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
_IDX_LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension

# Caches. Sums: keyed by the SHA256SUMS file's (path, mtime_ns, size). Hashes: the actual
# sha256 of a file keyed by (path, mtime_ns, size), so an unchanged file is hashed once.
# Decoded IDX arrays: keyed by the verified hashes of their parts (content-addressed, so
# never stale).
_SUMS_CACHE: dict[tuple[str, int, int], dict[str, str]] = {}
_HASH_CACHE: dict[tuple[str, int, int], str] = {}
_IDX_CACHE: dict[tuple[str, ...], NDArray[np.uint8]] = {}
_IDX_CACHE_MAX = 8


def clear_cache() -> None:
    """Forget cached checksum lists, verified file hashes and decoded IDX arrays."""
    _SUMS_CACHE.clear()
    _HASH_CACHE.clear()
    _IDX_CACHE.clear()


# --------------------------------------------------------------------------- data directory
def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Locate the data directory (issue 2, "Instances"): argument > env var > default.

    Parameters
    ----------
    data_dir : str, PathLike or None
        Explicit directory. When given it must exist; nothing else is tried.

    Returns
    -------
    Path
        The resolved (absolute) directory. Order: ``data_dir``; else the environment
        variable ``HARNESS_DATA`` (when set and non-empty; it must then exist); else
        ``<repo root>/../shared/data`` if it is a directory; else ``<cwd>/../shared/data``
        if it is a directory; else the folder ``harness data fetch`` fills by default
        (:func:`harness.fetch.default_dest`).

    Raises
    ------
    DataError
        If the chosen directory does not exist, or no candidate exists.
    """
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        if not path.is_dir():
            raise DataError(f"data_dir {str(path)!r} is not a directory; {_HOW_TO_GET}")
        return path.resolve()
    env = os.environ.get(DATA_ENV_VAR, "")
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise DataError(f"{DATA_ENV_VAR}={env!r} is not a directory; {_HOW_TO_GET}")
        return path.resolve()
    from harness.fetch import default_dest

    candidates = [
        _REPO_ROOT / ".." / "shared" / "data",
        Path.cwd() / ".." / "shared" / "data",
        default_dest(),
    ]
    for cand in candidates:
        if cand.is_dir():
            return cand.resolve()
    looked = list(dict.fromkeys(str(c.resolve()) for c in candidates))  # once each
    raise DataError(
        f"no data directory found ({DATA_ENV_VAR} is not set; {', '.join(looked)} "
        f"{'does' if len(looked) == 1 else 'do'} not exist); {_HOW_TO_GET}"
    )


# --------------------------------------------------------------------------- checksums
def _signature(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path), st.st_mtime_ns, st.st_size)


def _read_sums(root: Path) -> dict[str, str]:
    """Parse ``root/SHA256SUMS`` into {relative posix path: lowercase hex}, cached."""
    sums_path = root / SUMS_NAME
    if not sums_path.is_file():
        raise DataError(f"checksum list {SUMS_NAME} not found in {root}; {_HOW_TO_GET}")
    key = _signature(sums_path)
    cached = _SUMS_CACHE.get(key)
    if cached is not None:
        return cached
    sums: dict[str, str] = {}
    text = sums_path.read_text(encoding="utf-8")
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", stripped)
        if match is None:
            raise DataError(
                f"{sums_path}: line {lineno} is not '<sha256 hex>  <relative path>': {line!r}"
            )
        rel = match.group(2).strip()
        if rel.startswith("./"):
            rel = rel[2:]
        sums[rel] = match.group(1).lower()
    _SUMS_CACHE[key] = sums
    return sums


def _missing(root: Path, rel: str) -> DataError:
    return DataError(
        f"data file {rel} not found; expected at {root / rel} (set {DATA_ENV_VAR} or pass data_dir)"
    )


def verified_read(rel: str, data_dir: str | os.PathLike[str] | None = None) -> bytes:
    """Read one data file after checking its sha256 against ``SHA256SUMS``.

    Parameters
    ----------
    rel : str
        Path relative to the data directory, with forward slashes (``"mnist/..."``).
    data_dir : str, PathLike or None
        See :func:`resolve_data_dir`.

    Returns
    -------
    bytes
        The exact bytes whose hash was verified.

    Raises
    ------
    DataError
        If the file is missing, not listed in ``SHA256SUMS``, or its hash differs.
    """
    return _verified_read(resolve_data_dir(data_dir), rel)


def _verified_read(root: Path, rel: str) -> bytes:
    path = root / rel
    if not path.is_file():
        raise _missing(root, rel)
    sums = _read_sums(root)
    expected = sums.get(rel)
    if expected is None:
        raise DataError(
            f"data file {rel} is not listed in {root / SUMS_NAME}; refusing to read an "
            "unverified file (add its sha256 line)"
        )
    key = _signature(path)
    data = path.read_bytes()
    actual = _HASH_CACHE.get(key) if len(data) == key[2] else None
    if actual is None:
        actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        _HASH_CACHE.pop(key, None)
        raise DataError(
            f"data file {rel} at {path} fails its checksum: expected sha256 {expected}, "
            f"got {actual}"
        )
    _HASH_CACHE[key] = actual
    return data


def _part_number(rel: str, base: str) -> int | None:
    suffix = rel[len(base) :]
    match = re.fullmatch(r"\.part(\d+)", suffix)
    return int(match.group(1)) if match else None


def _logical_parts(root: Path, rel: str) -> list[str]:
    """Relative paths holding logical file ``rel``: itself, or its ``.partN`` pieces.

    The pieces are taken from ``SHA256SUMS`` (so a deleted piece is reported, not skipped),
    ordered by part number; a piece on disk that is not listed is an error.
    """
    sums = _read_sums(root)
    if rel in sums:
        return [rel]
    listed = {
        num: name
        for name in sums
        if name.startswith(rel) and (num := _part_number(name, rel)) is not None
    }
    on_disk = {p.name for p in (root / rel).parent.glob(Path(rel).name + ".part*")}
    for name in sorted(on_disk):
        part_rel = str(Path(rel).parent / name).replace(os.sep, "/")
        if _part_number(part_rel, rel) is not None and part_rel not in sums:
            raise DataError(
                f"data file {part_rel} is not listed in {root / SUMS_NAME}; refusing to read "
                "an unverified file (add its sha256 line)"
            )
    if not listed:
        if (root / rel).is_file():
            raise DataError(
                f"data file {rel} is not listed in {root / SUMS_NAME}; refusing to read an "
                "unverified file (add its sha256 line)"
            )
        raise _missing(root, rel)
    numbers = sorted(listed)
    if numbers != list(range(len(numbers))):
        raise DataError(
            f"data file {rel}: {SUMS_NAME} lists parts {numbers}; expected .part0 .. "
            f".part{len(numbers) - 1} without gaps"
        )
    return [listed[k] for k in numbers]


# --------------------------------------------------------------------------- IDX / MNIST
def _read_idx(root: Path, rel: str, magic: int) -> NDArray[np.uint8]:
    """Decode a (possibly split) gzip IDX file of unsigned bytes; validates the header."""
    parts = _logical_parts(root, rel)
    blobs = [_verified_read(root, p) for p in parts]
    sums = _read_sums(root)
    key = (*(sums[p] for p in parts), f"{magic:x}")
    cached = _IDX_CACHE.get(key)
    if cached is not None:
        return cached
    try:
        raw = b"".join(gzip.decompress(b) for b in blobs)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"data file {rel} in {root} is not valid gzip: {exc}") from exc
    ndim = magic & 0xFF
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataError(f"data file {rel} is too short for an IDX header ({len(raw)} bytes)")
    (found,) = struct.unpack(">I", raw[:4])
    if found != magic:
        raise DataError(
            f"data file {rel} has IDX magic number 0x{found:08x}; expected 0x{magic:08x}"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header_len])
    expected_len = header_len + int(np.prod(dims, dtype=np.int64))
    if len(raw) != expected_len:
        raise DataError(
            f"data file {rel}: IDX header says shape {dims} ({expected_len} bytes) but the "
            f"decompressed file has {len(raw)} bytes"
        )
    arr = np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(dims)
    if len(_IDX_CACHE) >= _IDX_CACHE_MAX:
        _IDX_CACHE.pop(next(iter(_IDX_CACHE)))
    _IDX_CACHE[key] = arr
    return arr


def _load_idx_pair(
    dataset: str, split: str, data_dir: str | os.PathLike[str] | None
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    if dataset not in MNIST_DATASETS:
        raise InputError(f"dataset must be one of {list(MNIST_DATASETS)}; got {dataset!r}")
    if split not in MNIST_SPLITS:
        raise InputError(f"split must be one of {list(MNIST_SPLITS)}; got {split!r}")
    root = resolve_data_dir(data_dir)
    img_rel, lab_rel = _MNIST_FILES[dataset][split]
    images = _read_idx(root, img_rel, _IDX_IMAGES_MAGIC)
    labels = _read_idx(root, lab_rel, _IDX_LABELS_MAGIC)
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(
            f"data file {img_rel}: images have shape {images.shape[1:]}; expected (28, 28)"
        )
    n_img = images.shape[0]
    if dataset == "fashion-mnist" and split == "train":
        # The stored Fashion-MNIST training images are the first 8000 of 60000.
        if labels.shape[0] < n_img:
            raise DataError(f"data file {lab_rel} has {labels.shape[0]} labels < {n_img} images")
        labels = labels[:n_img]
    if labels.shape[0] != n_img:
        raise DataError(
            f"{img_rel} holds {n_img} images but {lab_rel} holds {labels.shape[0]} labels"
        )
    if labels.size and int(labels.max()) > 9:
        raise DataError(f"data file {lab_rel} has a label {int(labels.max())} outside 0..9")
    return images.copy(), labels.copy()


def load_mnist(
    split: Literal["train", "test"], data_dir: str | os.PathLike[str] | None = None
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """MNIST images and digit labels, as stored (THEORY.md §A8, Figure 2 / Appendix E).

    Parameters
    ----------
    split : {"train", "test"}
        ``"train"``: 60000 images (read from the 4 ``.gz.partN`` pieces, concatenated in
        part order); ``"test"``: 10000 images.
    data_dir : str, PathLike or None
        See :func:`resolve_data_dir`.

    Returns
    -------
    images : ndarray of shape (N, 28, 28), uint8
        Raw pixel values 0..255 (no scaling).
    labels : ndarray of shape (N,), uint8
        Digits 0..9.

    Raises
    ------
    DataError
        Missing, unlisted or corrupt file, bad IDX magic number or header counts.
    InputError
        Unknown ``split``.
    """
    return _load_idx_pair("mnist", split, data_dir)


def load_fashion_mnist(
    split: Literal["train", "test"], data_dir: str | os.PathLike[str] | None = None
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Fashion-MNIST images and class labels, as stored (THEORY.md Part B, Fig. 5 data).

    Parameters
    ----------
    split : {"train", "test"}
        ``"train"`` holds only the **first 8000** training images (all that ships in
        ``shared/data``); the labels are truncated to match. ``"test"``: all 10000.
    data_dir : str, PathLike or None
        See :func:`resolve_data_dir`.

    Returns
    -------
    images : ndarray of shape (N, 28, 28), uint8
    labels : ndarray of shape (N,), uint8
        Classes 0..9 (T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker,
        Bag, Ankle boot).

    Raises
    ------
    DataError, InputError
        As :func:`load_mnist`.
    """
    return _load_idx_pair("fashion-mnist", split, data_dir)


@dataclass(frozen=True)
class MnistPreprocessing:
    """Affine map fitted on training rows, THEORY.md §A8 (MNIST binary task).

    ``apply(images) = ((images / 255) - mean) @ matrix`` where ``mean`` is omitted when
    ``None`` (no centring) and ``matrix`` (784, d) is omitted when ``None`` (no projection).
    """

    mean: FloatArray | None
    matrix: FloatArray | None
    projection: str
    center: bool

    @property
    def d(self) -> int:
        """Output dimension."""
        return N_PIXELS if self.matrix is None else int(self.matrix.shape[1])

    def apply(self, images: NDArray[np.uint8]) -> FloatArray:
        """Map uint8 images of shape (N, 28, 28) or (N, 784) to features of shape (N, d)."""
        X = np.asarray(images).reshape(len(images), N_PIXELS).astype(np.float64) / 255.0
        if self.mean is not None:
            X -= self.mean
        if self.matrix is not None:
            X = X @ self.matrix
        return X


def _binary_labels(labels: NDArray[np.uint8]) -> FloatArray:
    return np.where(labels <= POSITIVE_DIGITS[-1], 1.0, -1.0)


def _check_n(name: str, n: int | None, available: int) -> None:
    if n is None:
        return
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise InputError(f"{name} must be an integer in [1, {available}] or None; got {n!r}")
    if not 1 <= n <= available:
        raise InputError(f"{name} must be an integer in [1, {available}] or None; got {n}")


def _check_projection(projection: str, d: int | None, rng: np.random.Generator | None) -> None:
    if projection not in PROJECTIONS:
        raise InputError(f"projection must be one of {list(PROJECTIONS)}; got {projection!r}")
    if projection == "none":
        if d is not None and d != N_PIXELS:
            raise InputError(
                f"d={d!r} needs projection 'random' or 'pca' (projection 'none' keeps d=784)"
            )
        return
    if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
        raise InputError(f"d must be an integer in [1, 784] with projection {projection!r}")
    if not 1 <= d <= N_PIXELS:
        raise InputError(f"d must be an integer in [1, 784]; got {d}")
    if projection == "random" and rng is None:
        raise InputError("rng (np.random.Generator) is required with projection 'random'")


def _require_rng(rng: np.random.Generator | None, **sizes: int | None) -> None:
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise InputError(f"rng must be a numpy.random.Generator or None; got {type(rng).__name__}")
    for name, value in sizes.items():
        if value is not None and rng is None:
            raise InputError(f"rng (np.random.Generator) is required when {name} is given")


def _subsample(
    n: int | None, available: int, rng: np.random.Generator | None, name: str
) -> NDArray[np.intp]:
    """Row indices: all rows, or ``n`` drawn without replacement, returned in file order."""
    if n is None:
        return np.arange(available)
    if rng is None:
        raise InputError(f"rng (np.random.Generator) is required when {name} is given")
    return np.sort(rng.choice(available, size=int(n), replace=False))


def _fit_preprocessing(
    images: NDArray[np.uint8],
    rng: np.random.Generator | None,
    d: int | None,
    projection: str,
    center: bool,
) -> MnistPreprocessing:
    X = images.reshape(len(images), N_PIXELS).astype(np.float64) / 255.0
    mean = X.mean(axis=0) if center else None
    matrix: FloatArray | None = None
    if projection == "random":
        assert rng is not None and d is not None  # checked by _check_projection
        matrix = rng.standard_normal((N_PIXELS, d)) / np.sqrt(d)
    elif projection == "pca":
        assert d is not None
        if d > X.shape[0]:
            raise InputError(f"d={d} must be <= the number of rows ({X.shape[0]}) for PCA")
        Xc = X - X.mean(axis=0)
        _, _, Vt = np.linalg.svd(Xc, full_matrices=False)
        V = Vt[:d].T.copy()
        # Deterministic signs: the largest-|.| entry of every direction is positive.
        idx = np.argmax(np.abs(V), axis=0)
        V *= np.sign(V[idx, np.arange(d)])
        matrix = V
    return MnistPreprocessing(mean=mean, matrix=matrix, projection=projection, center=center)


def _binary_meta(
    dataset: str,
    split: str,
    n_rows: int,
    n_available: int,
    prep: MnistPreprocessing,
    root: Path,
) -> dict[str, Any]:
    return {
        "source": dataset,
        "dataset": dataset,
        "split": split,
        "n": n_rows,
        "n_available": n_available,
        "d": prep.d,
        "d_input": N_PIXELS,
        "projection": prep.projection,
        "center": prep.center,
        "scale": "pixels / 255",
        "positive_digits": list(POSITIVE_DIGITS),
        "negative_digits": list(NEGATIVE_DIGITS),
        "label_map": "labels 0-4 -> +1, 5-9 -> -1",
        "data_dir": str(root),
        "preprocessing": prep,
    }


def load_mnist_binary(
    n: int | None,
    rng: np.random.Generator | None,
    *,
    split: Literal["train", "test"] = "train",
    d: int | None = None,
    projection: Literal["none", "random", "pca"] = "none",
    center: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    dataset: Literal["mnist", "fashion-mnist"] = "mnist",
) -> Instance:
    """MNIST binary task of THEORY.md §A8 (Appendix E): digits 0-4 -> +1, 5-9 -> -1.

    Steps, in this order (nothing else is done to the data):

    1. load ``split`` of ``dataset``; keep all rows (``n=None``) or ``n`` rows drawn
       without replacement with ``rng`` (kept in file order);
    2. flatten to 784 features and divide by 255, so ``X`` lies in [0, 1];
    3. if ``center``: subtract the mean of the selected rows;
    4. if ``projection="random"``: ``X <- X G`` with ``G_jk ~ N(0, 1/d)`` i.i.d., shape
       (784, d), drawn from ``rng`` after the subsample; if ``projection="pca"``:
       ``X <- X V_d`` with ``V_d`` the top-``d`` right singular vectors of the selected rows
       **after subtracting their mean** (the mean is subtracted from ``X`` itself only
       when ``center``), each sign-fixed so its largest-magnitude entry is positive.

    Parameters
    ----------
    n : int or None
        Number of rows, in [1, N]; ``None`` keeps all ``N`` rows of the split.
    rng : numpy.random.Generator or None
        Required when ``n`` is given or ``projection="random"``; otherwise may be ``None``.
    split : {"train", "test"}
        Which file set to read. The preprocessing is fitted on the rows returned here; use
        :func:`load_mnist_binary_split` for a test set that reuses a training fit.
    d : int or None
        Output dimension for ``projection`` "random" or "pca" (1..784; PCA also needs
        ``d <= n``). Must be ``None`` (or 784) when ``projection="none"``.
    projection : {"none", "random", "pca"}
    center : bool
    data_dir : str, PathLike or None
        See :func:`resolve_data_dir`.
    dataset : {"mnist", "fashion-mnist"}
        Fashion-MNIST uses the same map on class indices (0-4 -> +1, 5-9 -> -1); its
        training split has only 8000 rows.

    Returns
    -------
    Instance
        ``X`` (n, d) float64, ``y`` (n,) float64 in {+1, -1}; ``meta`` records ``dataset``,
        ``split``, ``n``, ``d``, ``projection``, ``center``, the digit map and the fitted
        :class:`MnistPreprocessing` under ``"preprocessing"``.

    Raises
    ------
    InputError
        Bad ``n``, ``d``, ``projection``, ``split``, ``dataset`` or a missing ``rng``.
    DataError
        Missing or corrupt data files.
    """
    _check_projection(projection, d, rng)
    _require_rng(rng, n=n)
    images, labels = _load_idx_pair(dataset, split, data_dir)
    _check_n("n", n, len(images))
    rows = _subsample(n, len(images), rng, "n")
    prep = _fit_preprocessing(images[rows], rng, d, projection, center)
    X = prep.apply(images[rows])
    y = _binary_labels(labels[rows])
    root = resolve_data_dir(data_dir)
    meta = _binary_meta(dataset, split, len(rows), len(images), prep, root)
    return Instance(X=X, y=y, meta=meta)


def load_mnist_binary_split(
    n_train: int | None,
    n_test: int | None,
    rng: np.random.Generator | None,
    *,
    d: int | None = None,
    projection: Literal["none", "random", "pca"] = "none",
    center: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    dataset: Literal["mnist", "fashion-mnist"] = "mnist",
) -> tuple[Instance, Instance]:
    """Train and test instances of the §A8 binary task sharing one preprocessing fit.

    The centring mean, the random matrix or the PCA directions are fitted on the selected
    training rows exactly as in :func:`load_mnist_binary` and applied unchanged to the test
    rows. Random draws, in order: training subsample, test subsample, projection matrix.

    Parameters
    ----------
    n_train, n_test : int or None
        Rows drawn without replacement from the training / test split (``None``: all).
    rng : numpy.random.Generator or None
        Required when ``n_train`` or ``n_test`` is given or ``projection="random"``.
    d, projection, center, data_dir, dataset
        As in :func:`load_mnist_binary`.

    Returns
    -------
    train, test : Instance
        Both ``meta["preprocessing"]`` are the same :class:`MnistPreprocessing` object.

    Raises
    ------
    InputError, DataError
        As :func:`load_mnist_binary`.
    """
    _check_projection(projection, d, rng)
    _require_rng(rng, n_train=n_train, n_test=n_test)
    tr_images, tr_labels = _load_idx_pair(dataset, "train", data_dir)
    te_images, te_labels = _load_idx_pair(dataset, "test", data_dir)
    _check_n("n_train", n_train, len(tr_images))
    _check_n("n_test", n_test, len(te_images))
    tr_rows = _subsample(n_train, len(tr_images), rng, "n_train")
    te_rows = _subsample(n_test, len(te_images), rng, "n_test")
    prep = _fit_preprocessing(tr_images[tr_rows], rng, d, projection, center)
    root = resolve_data_dir(data_dir)
    train = Instance(
        X=prep.apply(tr_images[tr_rows]),
        y=_binary_labels(tr_labels[tr_rows]),
        meta=_binary_meta(dataset, "train", len(tr_rows), len(tr_images), prep, root),
    )
    test = Instance(
        X=prep.apply(te_images[te_rows]),
        y=_binary_labels(te_labels[te_rows]),
        meta=_binary_meta(dataset, "test", len(te_rows), len(te_images), prep, root),
    )
    return train, test


# --------------------------------------------------------------------------- UCI
@dataclass(frozen=True)
class UCIData:
    """One UCI set of the Fernandez-Delgado collection (THEORY.md Part B, Table 1).

    Attributes
    ----------
    name : str
    X : ndarray of shape (n, d), float64
        Features ``f1..fd`` exactly as stored (already standardised by the collection).
    y : ndarray of shape (n,), int64
        Class labels 0..C-1 (column ``clase``).
    feature_names : tuple of str
    train_idx, test_idx : ndarray of int
        0-based rows of ``conxuntos.dat``: line 1 is the training half, line 2 the test
        half of the collection's parameter-tuning split (disjoint, together all n rows).
    folds : list of (train_idx, test_idx)
        The 4 pairs of ``conxuntos_kfold.dat`` (lines 1-2, 3-4, 5-6, 7-8). Each pair splits
        all rows about 75/25; the 4 test sets are random splits and **overlap**.
    n_classes : int
        ``n_clases`` of ``<name>.txt`` when present, else ``max(y) + 1``.
    """

    name: str
    X: FloatArray
    y: NDArray[np.int64]
    feature_names: tuple[str, ...]
    train_idx: NDArray[np.int64]
    test_idx: NDArray[np.int64]
    folds: list[tuple[NDArray[np.int64], NDArray[np.int64]]] = field(default_factory=list)
    n_classes: int = 0

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    def one_hot(self) -> FloatArray:
        """One-hot targets, shape (n, n_classes), float64 (1 in column ``y_i``)."""
        out = np.zeros((self.n, self.n_classes))
        out[np.arange(self.n), self.y] = 1.0
        return out


def _uci_root(root: Path) -> Path:
    return root / "uci"


def _uci_names(root: Path) -> list[str]:
    base = _uci_root(root)
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / f"{p.name}_R.dat").is_file())


def list_uci(data_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the UCI sets present (THEORY.md Part B, Table 1 data).

    Parameters
    ----------
    data_dir : str, PathLike or None
        See :func:`resolve_data_dir`.

    Returns
    -------
    list of str
        Sorted names ``<name>`` of the folders ``uci/<name>/`` holding ``<name>_R.dat``
        (empty when the data directory has no ``uci/`` folder).
    """
    return _uci_names(resolve_data_dir(data_dir))


def _parse_index_lines(text: str, rel: str, n: int) -> list[NDArray[np.int64]]:
    lines = [line for line in text.splitlines() if line.strip()]
    out: list[NDArray[np.int64]] = []
    for k, line in enumerate(lines, start=1):
        try:
            idx = np.array([int(tok) for tok in line.split()], dtype=np.int64)
        except ValueError as exc:
            raise DataError(f"data file {rel}: line {k} is not a list of integers") from exc
        if idx.size == 0 or idx.min() < 0 or idx.max() >= n:
            raise DataError(f"data file {rel}: line {k} has row indices outside [0, {n})")
        if np.unique(idx).size != idx.size:
            raise DataError(f"data file {rel}: line {k} repeats a row index")
        out.append(idx)
    return out


def _check_pair(
    rel: str, k: int, train: NDArray[np.int64], test: NDArray[np.int64], n: int
) -> None:
    if np.intersect1d(train, test).size:
        raise DataError(f"data file {rel}: split {k} has rows in both train and test")
    if train.size + test.size != n:
        raise DataError(
            f"data file {rel}: split {k} covers {train.size + test.size} rows; expected {n}"
        )


def _parse_txt_meta(text: str) -> dict[str, str]:
    meta: dict[str, str] = {}
    for line in text.splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            meta[key.strip()] = value.strip()
    return meta


def load_uci(name: str, data_dir: str | os.PathLike[str] | None = None) -> UCIData:
    """Load ``uci/<name>/`` (THEORY.md Part B, Table 1): features, labels and splits.

    Reads ``<name>_R.dat`` (tab-separated, header row, leading 1-based row id, features
    ``f1..fd``, last column ``clase``), ``conxuntos.dat``, ``conxuntos_kfold.dat`` and, when
    present, ``<name>.txt`` (cross-checked: ``n_entradas = d``, ``n_clases = C``,
    ``n_patrons1 = n``). Every file's sha256 is verified first.

    Parameters
    ----------
    name : str
        One of :func:`list_uci`.
    data_dir : str, PathLike or None
        See :func:`resolve_data_dir`.

    Returns
    -------
    UCIData

    Raises
    ------
    DataError
        Unknown ``name`` (the message lists the available names), or a missing, corrupt or
        malformed file.
    """
    root = resolve_data_dir(data_dir)
    names = _uci_names(root)
    if not isinstance(name, str) or name not in names:
        listing = ", ".join(names) if names else "(none)"
        raise DataError(f"unknown UCI data set {name!r} in {_uci_root(root)}; available: {listing}")
    folder = f"uci/{name}"
    rel = f"{folder}/{name}_R.dat"
    text = _verified_read(root, rel).decode("utf-8")
    header = text.splitlines()[0].split("\t") if text else []
    if len(header) < 3 or header[-1].strip() != "clase":
        raise DataError(f"data file {rel}: header must be '<id>\\tf1..fd\\tclase'; got {header!r}")
    try:
        M = np.loadtxt(io.StringIO(text), delimiter="\t", skiprows=1, ndmin=2)
    except ValueError as exc:
        raise DataError(f"data file {rel}: cannot parse numbers: {exc}") from exc
    if M.shape[1] != len(header):
        raise DataError(f"data file {rel}: {M.shape[1]} columns but {len(header)} header cells")
    n = M.shape[0]
    if not np.array_equal(M[:, 0], np.arange(1, n + 1)):
        raise DataError(f"data file {rel}: first column must be the row ids 1..{n}")
    X = np.ascontiguousarray(M[:, 1:-1])
    if not np.all(np.isfinite(X)):
        raise DataError(f"data file {rel}: features contain NaN or infinite values")
    clase = M[:, -1]
    if not np.all(clase == np.round(clase)) or clase.min() < 0:
        raise DataError(f"data file {rel}: column 'clase' must hold integers >= 0")
    y = clase.astype(np.int64)
    n_classes = int(y.max()) + 1
    txt_rel = f"{folder}/{name}.txt"
    if (root / txt_rel).is_file():
        info = _parse_txt_meta(_verified_read(root, txt_rel).decode("utf-8"))
        for key, value in (("n_entradas", X.shape[1]), ("n_patrons1", n)):
            if key in info and int(info[key]) != value:
                raise DataError(f"{txt_rel} says {key}={info[key]} but {rel} gives {value}")
        if "n_clases" in info:
            n_classes = int(info["n_clases"])
            if y.max() >= n_classes:
                raise DataError(
                    f"{rel} has class {y.max()} but {txt_rel} says n_clases={n_classes}"
                )
    cx_rel = f"{folder}/conxuntos.dat"
    tune = _parse_index_lines(_verified_read(root, cx_rel).decode("utf-8"), cx_rel, n)
    if len(tune) != 2:
        raise DataError(f"data file {cx_rel}: expected 2 lines (train, test); got {len(tune)}")
    _check_pair(cx_rel, 1, tune[0], tune[1], n)
    kf_rel = f"{folder}/conxuntos_kfold.dat"
    kf = _parse_index_lines(_verified_read(root, kf_rel).decode("utf-8"), kf_rel, n)
    if len(kf) == 0 or len(kf) % 2:
        raise DataError(f"data file {kf_rel}: expected pairs of (train, test) lines; got {len(kf)}")
    folds = [(kf[2 * k], kf[2 * k + 1]) for k in range(len(kf) // 2)]
    for k, (tr, te) in enumerate(folds, start=1):
        _check_pair(kf_rel, k, tr, te, n)
    return UCIData(
        name=name,
        X=X,
        y=y,
        feature_names=tuple(h.strip() for h in header[1:-1]),
        train_idx=tune[0],
        test_idx=tune[1],
        folds=folds,
        n_classes=n_classes,
    )


def uci_instance(
    name: str,
    split: Literal["train", "test", "all"] = "train",
    target: Literal["binary", "label"] = "binary",
    *,
    fold: int | None = None,
    positive_class: int | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> Instance:
    """A regression instance from a UCI set (THEORY.md Part B, Table 1).

    Targets (no other change is made to ``X`` or ``y``):

    - ``target="binary"``: ``y_i = +1`` if ``class_i == positive_class`` else ``-1``. By
      default ``positive_class`` is 1 for a 2-class set (so class 0 -> -1, class 1 -> +1)
      and, for C > 2 classes, the majority class over **all** n rows (ties go to the
      smallest class index): a one-vs-rest task.
    - ``target="label"``: ``y_i = class_i`` as a float (the class index used directly as a
      regression target, one reading of Table 1's "UCI regression").

    One-hot targets do not fit an :class:`Instance` (``y`` is 1-D); use
    :meth:`UCIData.one_hot` on :func:`load_uci` instead.

    Parameters
    ----------
    name : str
        One of :func:`list_uci`.
    split : {"train", "test", "all"}
        Rows of the ``conxuntos.dat`` tuning split (or of k-fold pair ``fold``); ``"all"``
        keeps every row in file order.
    target : {"binary", "label"}
    fold : int or None
        Use pair ``fold`` (0..3) of ``conxuntos_kfold.dat`` instead of ``conxuntos.dat``.
    positive_class : int or None
        Override the positive class of ``target="binary"``.
    data_dir : str, PathLike or None
        See :func:`resolve_data_dir`.

    Returns
    -------
    Instance
        ``X`` (n_split, d), ``y`` (n_split,) float64; ``meta`` records dataset, split, fold,
        target, positive_class, n, d and n_classes.

    Raises
    ------
    InputError
        Bad ``split``, ``target``, ``fold`` or ``positive_class``.
    DataError
        Unknown ``name`` or a bad data file.
    """
    if split not in UCI_SPLITS:
        raise InputError(f"split must be one of {list(UCI_SPLITS)}; got {split!r}")
    if target not in UCI_TARGETS:
        raise InputError(
            f"target must be one of {list(UCI_TARGETS)}; got {target!r} "
            "(for one-hot targets use load_uci(name).one_hot())"
        )
    data = load_uci(name, data_dir)
    if fold is None:
        train_idx, test_idx = data.train_idx, data.test_idx
    else:
        n_folds = len(data.folds)
        if (
            isinstance(fold, (bool, np.bool_))
            or not isinstance(fold, (int, np.integer))
            or not (0 <= fold < n_folds)
        ):
            raise InputError(f"fold must be an integer in [0, {n_folds - 1}] or None; got {fold!r}")
        train_idx, test_idx = data.folds[int(fold)]
    rows = {"train": train_idx, "test": test_idx, "all": np.arange(data.n)}[split]
    pos: int | None = None
    if target == "binary":
        if positive_class is None:
            if data.n_classes == 2:
                pos = 1
            else:
                counts = np.bincount(data.y, minlength=data.n_classes)
                pos = int(np.argmax(counts))
        else:
            if (
                isinstance(positive_class, (bool, np.bool_))
                or not isinstance(positive_class, (int, np.integer))
                or not (0 <= positive_class < data.n_classes)
            ):
                raise InputError(
                    f"positive_class must be an integer in [0, {data.n_classes - 1}]; "
                    f"got {positive_class!r}"
                )
            pos = int(positive_class)
        y = np.where(data.y[rows] == pos, 1.0, -1.0)
    else:
        y = data.y[rows].astype(np.float64)
    meta: dict[str, Any] = {
        "source": "uci",
        "dataset": name,
        "split": split,
        "fold": fold,
        "target": target,
        "positive_class": pos,
        "n": int(rows.size),
        "d": data.d,
        "n_classes": data.n_classes,
    }
    return Instance(X=data.X[rows].copy(), y=y, meta=meta)
