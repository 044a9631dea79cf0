"""``harness data fetch``: download the data sets, verify every file, write atomically.

Two sources:

* the **canonical public locations** (default): MNIST (the PyTorch S3 mirror of LeCun's
  files, then yann.lecun.com), Fashion-MNIST (Zalando's S3 bucket) and the UCI collection
  of Fernandez-Delgado et al. (2014) (its ``data.tar.gz``). The MNIST-style ``.gz`` files
  are checked by the sha256 of their *uncompressed* IDX content
  (:data:`harness.data_manifest.CONTENT_SHA256`; mirrors recompress the archives), the
  Fashion-MNIST training images by their well-known md5 before the first 8000 images the
  loaders use are cut out, and every UCI file taken from the archive by its sha256
  (:data:`harness.data_manifest.LAYOUT_SHA256`);
* a **mirror** (``--mirror URL``): any HTTP(S) server holding a copy of the harness's data
  layout (``shared/data``); every file is checked byte for byte against
  :data:`harness.data_manifest.LAYOUT_SHA256`.

Downloads go to ``DEST/.partial/`` and resume with an HTTP ``Range`` request when a
transfer was cut (automatically, up to ``retries`` times, and on the next call). A file
enters ``DEST`` only after its check passed, by an atomic rename; ``DEST/SHA256SUMS``
then lists the bytes written, so the loaders (:mod:`harness.datasets`) verify them again
on every read. A file that fails its check is deleted and reported; nothing of it is kept.

A file already in ``DEST`` is trusted only by the checksums the harness *ships*
(:func:`shipped_ok`: its bytes against ``LAYOUT_SHA256`` or, for the IDX archives, its
uncompressed content against ``CONTENT_SHA256``), never by ``DEST/SHA256SUMS``, which a
file's editor may have edited too. A present file that fails is removed, dropped from
``SHA256SUMS`` (so the loaders refuse it) and fetched again; if that fails, one line says so.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import io
import os
import shutil
import struct
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harness.atomic import atomic_write_bytes, atomic_write_text
from harness.data_manifest import CONTENT_MD5, CONTENT_SHA256, LAYOUT_SHA256
from harness.errors import DataError, InputError

DATASETS = ("mnist", "fashion-mnist", "uci")
SUMS_NAME = "SHA256SUMS"
PARTIAL_DIR = ".partial"

#: Canonical public locations, tried in order.
MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
FASHION_URLS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
UCI_ARCHIVE_URLS = (
    "http://persoal.citius.usc.es/manuel.fernandez.delgado/papers/jmlr/data.tar.gz",
)
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
#: The Fashion-MNIST training images the loaders read: the first 8000 of the 60000.
FASHION_TRAIN_SUBSET = "fashion-mnist/train-images-idx3-ubyte.first8000.gz"
FASHION_TRAIN_SUBSET_N = 8000
_CHUNK = 1 << 20


@dataclass
class FetchSummary:
    """Files written, files already present and verified, present files that failed the
    shipped checksums (removed, fetched again), and failures (one line each)."""

    dest: Path
    written: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    distrusted: list[str] = field(default_factory=list)


def default_dest() -> Path:
    """``$HARNESS_DATA`` when set, else ``$XDG_DATA_HOME/convex-nn-harness/data``.

    :func:`harness.datasets.resolve_data_dir` looks in the same folder, so data fetched
    without ``--dest`` are found without further setting.
    """
    env = os.environ.get("HARNESS_DATA", "")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME", "") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "convex-nn-harness" / "data"


def fetch(
    dest: str | os.PathLike[str] | None = None,
    datasets: Iterable[str] = DATASETS,
    mirror: str | None = None,
    say: Callable[[str], None] = print,
    timeout: float = 60.0,
    retries: int = 3,
) -> FetchSummary:
    """Download, verify and install the data sets into ``dest``.

    Parameters
    ----------
    dest : path, optional
        Target folder (created); default :func:`default_dest`.
    datasets : iterable of {"mnist", "fashion-mnist", "uci"}
    mirror : str, optional
        Base URL of a copy of the harness's data layout; default: canonical locations.
    say : callable
        Receives one progress line per file.
    timeout : float
        Seconds without data before a transfer attempt is abandoned (it then resumes).
    retries : int
        Transfer attempts per file (each resumes where the previous one stopped).

    Returns
    -------
    FetchSummary

    Raises
    ------
    InputError
        Unknown data set name or a ``dest`` that is not a folder.
    DataError
        One or more files could not be downloaded or failed their check (the message
        names the first; verified files are kept, failed ones are not written).
    """
    names = list(dict.fromkeys(datasets))
    unknown = [n for n in names if n not in DATASETS]
    if unknown or not names:
        raise InputError(f"data sets must be among {list(DATASETS)}; got {names}")
    if mirror is not None:
        from urllib.parse import urlparse

        if urlparse(mirror).scheme not in ("http", "https", "file"):
            raise InputError(
                f"--mirror must be an http://, https:// or file:// URL; got {mirror!r}"
            )
    root = default_dest() if dest is None else Path(dest).expanduser()
    if root.exists() and not root.is_dir():
        raise InputError(f"--dest: {root} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    summary = FetchSummary(dest=root)
    ctx = _Fetcher(root, say, timeout, max(1, retries), summary)
    try:
        for name in names:
            if mirror is not None:
                ctx.from_mirror(mirror, name)
            elif name == "uci":
                ctx.uci_from_archive()
            else:
                ctx.idx_from_canonical(name)
    finally:  # files installed before an interruption stay listed (and so verifiable)
        ctx.write_sums()
    with contextlib.suppress(OSError):
        (root / PARTIAL_DIR).rmdir()  # only when empty: kept partial files stay
    if summary.failures:
        more = f" (and {len(summary.failures) - 1} more)" if len(summary.failures) > 1 else ""
        raise DataError(f"{summary.failures[0]}{more}")
    return summary


class _Fetcher:
    """The state of one :func:`fetch` call: destination, sums written, progress output."""

    def __init__(
        self,
        root: Path,
        say: Callable[[str], None],
        timeout: float,
        retries: int,
        summary: FetchSummary,
    ) -> None:
        self.root = root
        self.say = say
        self.timeout = timeout
        self.retries = retries
        self.summary = summary
        self.sums = _read_sums(root / SUMS_NAME)

    # ------------------------------------------------------------------ sources
    def from_mirror(self, base: str, name: str) -> None:
        """Every layout file of ``name`` from ``base``, byte-checked against the manifest."""
        for rel, expected in LAYOUT_SHA256.items():
            if not rel.startswith(name + "/") or self._present(rel):
                continue
            url = base.rstrip("/") + "/" + rel
            data = None
            try:
                data = self._download(url, rel)
                _check_sha256(data, expected, rel, url)
            except DataError as exc:
                self._fail(rel, exc, downloaded=data is not None)
                continue
            self._install(rel, data)

    def idx_from_canonical(self, name: str) -> None:
        """The four IDX archives of ``name`` (mnist or fashion-mnist), content-checked."""
        bases = MNIST_URLS if name == "mnist" else FASHION_URLS
        for fname in IDX_FILES:
            rel = f"{name}/{fname}"
            target = FASHION_TRAIN_SUBSET if rel in CONTENT_MD5 else rel
            if self._present(target):
                continue
            data = None
            try:
                data = self._download_any([b + fname for b in bases], rel)
                raw = _gunzip(data, rel)
                if rel in CONTENT_MD5:  # full Fashion-MNIST training set: keep the subset
                    _check_md5(raw, CONTENT_MD5[rel], rel)
                    raw = _idx_prefix(raw, FASHION_TRAIN_SUBSET_N)
                    _check_sha256(raw, CONTENT_SHA256[target], target, "the archive's content")
                    data = gzip.compress(raw, compresslevel=9, mtime=0)
                else:
                    _check_sha256(raw, CONTENT_SHA256[rel], rel, "the archive's content")
            except DataError as exc:
                self._fail(rel, exc, downloaded=data is not None)
                continue
            self._install(target, data)

    def uci_from_archive(self) -> None:
        """The UCI files of the layout, taken from the collection's ``data.tar.gz``."""
        wanted = {rel: h for rel, h in LAYOUT_SHA256.items() if rel.startswith("uci/")}
        todo = {rel: h for rel, h in wanted.items() if not self._present(rel)}
        if not todo:
            return
        archive = None
        try:
            archive = self._download_any(list(UCI_ARCHIVE_URLS), "uci/data.tar.gz")
            members = _tar_members(archive, [rel[len("uci/") :] for rel in todo])
        except DataError as exc:
            self._fail("uci/data.tar.gz", exc, downloaded=archive is not None)
            return
        with contextlib.suppress(FileNotFoundError):
            self._partial("uci/data.tar.gz").unlink()
        for rel, expected in todo.items():
            data = members.get(rel[len("uci/") :])
            try:
                if data is None:
                    raise DataError(f"{rel} is not in the UCI archive {UCI_ARCHIVE_URLS[0]}")
                _check_sha256(data, expected, rel, UCI_ARCHIVE_URLS[0])
            except DataError as exc:
                self._fail(rel, exc)
                continue
            self._install(rel, data)

    # ------------------------------------------------------------------ steps
    def _present(self, rel: str) -> bool:
        """The file is in ``dest`` and passes the shipped checksums (:func:`shipped_ok`;
        then it is not fetched again). A present file that fails is removed and dropped
        from ``SHA256SUMS``: the local list may have been edited with it."""
        path = self.root / rel
        if not path.is_file():
            return False
        data = path.read_bytes()
        if not shipped_ok(rel, data):
            self.sums.pop(rel, None)
            path.unlink(missing_ok=True)
            self.summary.distrusted.append(rel)
            self.say(f"{rel}: present but fails the shipped checksum; removed, fetching again")
            return False
        self.sums[rel] = hashlib.sha256(data).hexdigest()
        self.summary.present.append(rel)
        return True

    def _install(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
        self.sums[rel] = hashlib.sha256(data).hexdigest()
        self.summary.written.append(rel)
        with contextlib.suppress(FileNotFoundError):
            self._partial(rel).unlink()
        self.say(f"{rel}: {len(data)} bytes, verified")

    def _fail(self, rel: str, exc: DataError, downloaded: bool = False) -> None:
        """Record a failure; a complete download that failed its check is deleted."""
        if downloaded:
            with contextlib.suppress(FileNotFoundError):
                self._partial(rel).unlink()
        self.summary.failures.append(str(exc))
        self.say(f"{rel}: error: {exc}")

    def write_sums(self) -> None:
        """Write ``dest/SHA256SUMS`` for every file known good (atomically)."""
        if not self.sums:
            return
        text = "".join(f"{h}  {rel}\n" for rel, h in sorted(self.sums.items()))
        atomic_write_text(self.root / SUMS_NAME, text)

    def _partial(self, rel: str) -> Path:
        return self.root / PARTIAL_DIR / rel.replace("/", "__")

    def _download_any(self, urls: list[str], rel: str) -> bytes:
        errors = []
        for i, url in enumerate(urls):
            if i:  # bytes of a partial download are only resumable from the server they came from
                self._partial(rel).unlink(missing_ok=True)
            try:
                return self._download(url, rel)
            except DataError as exc:
                errors.append(str(exc))
        raise DataError(errors[0] if len(errors) == 1 else "; ".join(errors))

    def _download(self, url: str, rel: str) -> bytes:
        """The bytes at ``url``, resuming ``.partial/`` data; the partial file is kept."""
        partial = self._partial(rel)
        partial.parent.mkdir(parents=True, exist_ok=True)
        last = ""
        for _ in range(self.retries):
            try:
                if _transfer(url, partial, self.timeout):
                    data = partial.read_bytes()
                    return data
                last = "the server closed the connection early"
            except urllib.error.HTTPError as exc:
                raise DataError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from exc
            except urllib.error.URLError as exc:
                raise DataError(f"cannot download {url}: {exc.reason}") from exc
            except (TimeoutError, http.client.HTTPException, ConnectionError) as exc:
                last = f"{type(exc).__name__}: {exc}"
        size = partial.stat().st_size if partial.exists() else 0
        raise DataError(
            f"download of {url} was interrupted ({last}); {size} bytes are kept in {partial}; "
            "rerun `harness data fetch` to resume"
        )


# --------------------------------------------------------------------------- helpers
def _transfer(url: str, partial: Path, timeout: float) -> bool:
    """Append the rest of ``url`` to ``partial``; True when the file is complete."""
    have = partial.stat().st_size if partial.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "convex-nn-harness data fetch"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send: the partial file is whole
            return True
        raise
    with resp:
        resumed = have > 0 and resp.status == 206
        length = resp.headers.get("Content-Length")
        expected = None if length is None else int(length) + (have if resumed else 0)
        with open(partial, "ab" if resumed else "wb") as fh:
            while chunk := resp.read(_CHUNK):
                fh.write(chunk)
    size = partial.stat().st_size
    return expected is None or size >= expected


def shipped_ok(rel: str, data: bytes) -> bool:
    """``data`` (the bytes of layout path ``rel``) passes a checksum the harness ships: its
    sha256 is ``LAYOUT_SHA256[rel]``, or it is a gzip file whose uncompressed content has
    sha256 ``CONTENT_SHA256[rel]`` (archives from the canonical sources are recompressed).

    Raises
    ------
    KeyError
        ``rel`` has no shipped checksum (only then may a local ``SHA256SUMS`` decide).
    """
    if rel not in LAYOUT_SHA256 and rel not in CONTENT_SHA256:
        raise KeyError(f"{rel} has no shipped checksum")
    if LAYOUT_SHA256.get(rel) == hashlib.sha256(data).hexdigest():
        return True
    if rel not in CONTENT_SHA256:
        return False
    try:
        raw = gzip.decompress(data)
    except (OSError, EOFError):
        return False
    return hashlib.sha256(raw).hexdigest() == CONTENT_SHA256[rel]


def _read_sums(path: Path) -> dict[str, str]:
    """An existing ``SHA256SUMS`` of the destination (kept and extended)."""
    if not path.is_file():
        return {}
    sums = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2 and len(parts[0]) == 64:
            sums[parts[1].lstrip("*").removeprefix("./")] = parts[0].lower()
    return sums


def _check_sha256(data: bytes, expected: str, rel: str, source: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise DataError(
            f"{rel} from {source} fails its checksum (sha256 {actual}, expected {expected}; "
            f"{len(data)} bytes): corrupt or truncated, not written"
        )


def _check_md5(data: bytes, expected: str, rel: str) -> None:
    actual = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if actual != expected:
        raise DataError(
            f"{rel}: the uncompressed content fails its checksum (md5 {actual}, expected "
            f"{expected}): corrupt or truncated, not written"
        )


def _gunzip(data: bytes, rel: str) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise DataError(f"{rel} is not a valid gzip file ({exc}): corrupt or truncated") from exc


def _idx_prefix(raw: bytes, count: int) -> bytes:
    """The first ``count`` items of an IDX file, its header count set to ``count``."""
    magic, total = struct.unpack(">II", raw[:8])
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    if total < count:
        raise DataError(f"IDX file holds {total} items; {count} are needed")
    item = 1
    for d in dims[1:]:
        item *= d
    return raw[:4] + struct.pack(">I", count) + raw[8:header] + raw[header : header + count * item]


def _tar_members(archive: bytes, suffixes: list[str]) -> dict[str, bytes]:
    """Bytes of the archive members whose path ends with one of ``suffixes``."""
    wanted = set(suffixes)
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                parts = member.name.replace("\\", "/").split("/")
                key = "/".join(parts[-2:])
                if key in wanted and key not in found:
                    fh = tar.extractfile(member)
                    if fh is not None:
                        found[key] = fh.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(
            f"the UCI archive is not a valid tar.gz ({exc}): corrupt or truncated"
        ) from exc
    return found


def remove_partial(dest: str | os.PathLike[str]) -> None:
    """Delete the partial downloads kept in ``dest/.partial``."""
    shutil.rmtree(Path(dest) / PARTIAL_DIR, ignore_errors=True)
