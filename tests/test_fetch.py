"""`harness data fetch` against a local HTTP server (127.0.0.1 only) serving a data copy.

The server serves a copy of ``../shared/data`` from a temporary folder and honours
``Range`` requests; tests corrupt or truncate served files, or cut a transfer half-way,
and check that only verified files are installed, atomically, and that cut transfers
resume. The canonical public URLs cannot be reached from the test machines; the
canonical-source path is exercised by pointing its URL tables at the local server.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import shutil
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import harness.fetch as fetch_mod
from harness import datasets as ds
from harness.cli import main as harness_main
from harness.data_manifest import LAYOUT_SHA256
from harness.errors import DataError

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared/data not present")


class _Server:
    """A threaded ``http.server`` on 127.0.0.1 with Range support and a request log."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.log: list[tuple[str, str | None]] = []  # (path, Range header)
        self.cut_once: dict[str, int] = {}  # path -> bytes sent before the first cut
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, directory=str(server.root), **kwargs)  # type: ignore[arg-type]

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                rel = self.path.lstrip("/")
                rng = self.headers.get("Range")
                server.log.append((rel, rng))
                path = server.root / rel
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                start = 0
                if rng:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = server.cut_once.pop(rel, None)
                if cut is not None:  # send part of the body, then drop the connection
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[_Server]:
    """A copy of the MNIST and UCI parts of shared/data behind a local server."""
    root = tmp_path / "served"
    for sub in ("mnist", "uci"):
        shutil.copytree(SHARED / sub, root / sub)
    with _Server(root) as server:
        yield server


def _fetch(dest: Path, server: _Server, *names: str) -> fetch_mod.FetchSummary:
    return fetch_mod.fetch(dest, names, mirror=server.url, say=lambda _: None, retries=2)


@needs_shared
def test_mirror_fetch_verifies_and_installs(served: _Server, tmp_path: Path) -> None:
    dest = tmp_path / "data"
    summary = _fetch(dest, served, "mnist", "uci")
    expected = [rel for rel in LAYOUT_SHA256 if rel.startswith(("mnist/", "uci/"))]
    assert sorted(summary.written) == sorted(expected)
    for rel in expected:
        assert hashlib.sha256((dest / rel).read_bytes()).hexdigest() == LAYOUT_SHA256[rel]
    assert not any(p.name.startswith(".tmp.") for p in dest.rglob("*"))
    assert not (dest / ".partial").exists()
    # the loaders read the fetched folder (their own checksum list was written)
    X, y = ds.load_mnist(split="test", data_dir=dest)
    assert X.shape == (10000, 28, 28) and y.shape == (10000,)
    assert ds.load_uci("iris", data_dir=dest).X.shape == (150, 4)
    # a second fetch finds everything present and downloads nothing
    served.log.clear()
    again = _fetch(dest, served, "mnist", "uci")
    assert again.written == [] and len(again.present) == len(expected) and served.log == []


@needs_shared
@pytest.mark.parametrize("damage", ["corrupt", "truncate"])
def test_bad_served_file_is_not_installed(damage: str, served: _Server, tmp_path: Path) -> None:
    rel = "mnist/train-labels-idx1-ubyte.gz"
    path = served.root / rel
    data = bytearray(path.read_bytes())
    if damage == "corrupt":
        data[100] ^= 0xFF
    else:
        del data[len(data) // 2 :]
    path.write_bytes(bytes(data))
    dest = tmp_path / "data"
    with pytest.raises(DataError, match=rf"{rel} from .* fails its checksum"):
        _fetch(dest, served, "mnist")
    assert not (dest / rel).exists()  # nothing of the bad file is kept
    assert not (dest / ".partial").exists()
    assert (dest / "mnist/t10k-labels-idx1-ubyte.gz").is_file()  # the good ones are
    assert rel not in (dest / "SHA256SUMS").read_text()


@needs_shared
def test_cut_transfer_resumes_with_a_range_request(served: _Server, tmp_path: Path) -> None:
    rel = "mnist/t10k-images-idx3-ubyte.gz"
    served.cut_once[rel] = 500_000
    dest = tmp_path / "data"
    summary = _fetch(dest, served, "mnist")
    assert rel in summary.written
    requests = [rng for path, rng in served.log if path == rel]
    assert requests == [None, "bytes=500000-"]
    assert hashlib.sha256((dest / rel).read_bytes()).hexdigest() == LAYOUT_SHA256[rel]


@needs_shared
def test_interrupted_fetch_resumes_on_the_next_call(served: _Server, tmp_path: Path) -> None:
    """With retries exhausted the partial file is kept; the next call resumes it."""
    rel = "mnist/train-labels-idx1-ubyte.gz"
    dest = tmp_path / "data"
    served.cut_once[rel] = 10_000
    with pytest.raises(DataError, match=r"interrupted.*rerun `harness data fetch` to resume"):
        fetch_mod.fetch(dest, ["mnist"], mirror=served.url, say=lambda _: None, retries=1)
    partial = dest / ".partial" / rel.replace("/", "__")
    assert partial.stat().st_size == 10_000 and not (dest / rel).exists()
    served.log.clear()
    _fetch(dest, served, "mnist")
    assert (rel, "bytes=10000-") in served.log
    assert hashlib.sha256((dest / rel).read_bytes()).hexdigest() == LAYOUT_SHA256[rel]


@needs_shared
def test_canonical_sources_are_content_checked(
    served: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The canonical-layout path: whole IDX archives (recompressed) and the UCI tarball."""
    canon = served.root / "canonical"
    canon.mkdir()
    # the 47 MB training images would only slow the test: the three other archives
    idx_files = tuple(f for f in fetch_mod.IDX_FILES if not f.startswith("train-images"))
    monkeypatch.setattr(fetch_mod, "IDX_FILES", idx_files)
    for name in idx_files:  # whole archives, recompressed as mirrors do
        parts = sorted((SHARED / "mnist").glob(name + "*"))
        raw = b"".join(gzip.decompress(p.read_bytes()) for p in parts)
        (canon / name).write_bytes(gzip.compress(raw, compresslevel=6, mtime=1))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for folder in sorted((SHARED / "uci").iterdir()):
            tar.add(folder, arcname=f"data/{folder.name}")
    (canon / "data.tar.gz").write_bytes(buf.getvalue())
    monkeypatch.setattr(
        fetch_mod, "MNIST_URLS", (f"{served.url}/nowhere/", f"{served.url}/canonical/")
    )
    monkeypatch.setattr(fetch_mod, "UCI_ARCHIVE_URLS", (f"{served.url}/canonical/data.tar.gz",))
    dest = tmp_path / "data"
    summary = fetch_mod.fetch(dest, ["mnist", "uci"], say=lambda _: None)
    assert len(summary.written) == 3 + sum(rel.startswith("uci/") for rel in LAYOUT_SHA256)
    X, y = ds.load_mnist(split="test", data_dir=dest)
    assert X.shape == (10000, 28, 28) and y.shape == (10000,)
    assert ds.load_uci("wine", data_dir=dest).X.shape == (178, 13)
    # a corrupted pixel in the canonical archive is caught by the content checksum
    raw = bytearray(gzip.decompress((canon / "t10k-images-idx3-ubyte.gz").read_bytes()))
    raw[5000] ^= 1
    (canon / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(bytes(raw)))
    (dest / "mnist" / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz from the archive.s content"):
        fetch_mod.fetch(dest, ["mnist"], say=lambda _: None)
    assert not (dest / "mnist" / "t10k-images-idx3-ubyte.gz").exists()


def test_fetch_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Unknown data set; unreachable mirror (nothing listens on the port): exit 2, one line."""
    assert harness_main(["data", "fetch", "--dest", str(tmp_path / "d"), "--only", "cifar"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cifar" in err[0]
    with _Server(tmp_path) as server:
        url = server.url
    code = harness_main(
        ["data", "fetch", "--dest", str(tmp_path / "d"), "--only", "uci", "--mirror", url]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot download")
    assert not any((tmp_path / "d").rglob("*.dat"))


@needs_shared
def test_reproduce_says_to_fetch_when_data_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(ds, "_REPO_ROOT", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    experiments = Path(__file__).resolve().parents[1] / "experiments"
    code = harness_main(
        [
            "reproduce",
            "--experiments-dir",
            str(experiments),
            "--results-dir",
            "r",
            "--figures-dir",
            "f",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "run `harness data fetch` first" in err[0]
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("kind", ["coupling", "regularization", "deep_uci", "deep_fmnist"])
def test_every_data_kind_is_refused_without_data(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.pipeline import check_data_available

    monkeypatch.setattr(ds, "_REPO_ROOT", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with pytest.raises(DataError, match=kind):
        check_data_available({kind, "kappa"})
    check_data_available({"kappa", "deep_synthetic"})  # synthetic kinds need no data


def test_an_empty_data_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder without SHA256SUMS (empty, or left by an interrupted fetch) is no data."""
    from harness.pipeline import check_data_available

    empty = tmp_path / "data"
    empty.mkdir()
    monkeypatch.setenv("HARNESS_DATA", str(empty))
    with pytest.raises(DataError, match="has no SHA256SUMS"):
        check_data_available({"coupling"})


def test_reproduce_refuses_a_late_spec_before_any_spec_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stand_in_data: None
) -> None:
    """Every spec is preflighted first: a refused (13) in one spec leaves nothing written."""
    experiments = Path(__file__).resolve().parents[1] / "experiments"
    exp = tmp_path / "experiments"
    shutil.copytree(experiments, exp)
    spec = exp / "deep_synthetic.toml"
    spec.write_text(
        'name = "deep_synthetic"\nkind = "deep_synthetic"\nseed = 1\n'
        "[grid]\nn = 20000\nd = 100\nP1 = 2000\nP2 = 40\nmax_memory_gb = 1.0\n"
    )
    results = tmp_path / "r"
    argv = ["reproduce", "--scale", "quick", "--experiments-dir", str(exp)]
    code = harness_main(
        [*argv, "--results-dir", str(results), "--figures-dir", str(tmp_path / "f")]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "would need about" in err[0]
    assert not results.exists() or not any(results.rglob("*.json"))


def test_a_bad_mirror_url_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "dest"
    code = harness_main(["data", "fetch", "--mirror", "notaurl", "--dest", str(dest)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--mirror" in err[0]
    assert not dest.exists()


def test_reproduce_jobs_is_validated(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        harness_main(["reproduce", "--jobs", "0"])
    assert info.value.code == 2
    assert "--jobs: must be an integer >= 1 or -1" in capsys.readouterr().err


@needs_shared
def test_fashion_training_subset_is_cut_from_the_full_file() -> None:
    """The first 8000 Fashion-MNIST training images, header count patched, as the loaders read."""
    from harness.data_manifest import CONTENT_SHA256

    raw = gzip.decompress((SHARED / fetch_mod.FASHION_TRAIN_SUBSET).read_bytes())
    assert hashlib.sha256(raw).hexdigest() == CONTENT_SHA256[fetch_mod.FASHION_TRAIN_SUBSET]
    assert fetch_mod._idx_prefix(raw, 8000) == raw
    head = fetch_mod._idx_prefix(raw, 10)
    assert head[:4] == raw[:4] and int.from_bytes(head[4:8], "big") == 10
    assert head[8:16] == raw[8:16] and head[16:] == raw[16 : 16 + 10 * 784]
    with pytest.raises(DataError, match="holds 8000 items; 9000 are needed"):
        fetch_mod._idx_prefix(raw, 9000)


# --------------------------------------------------------------------------- present files
def _canonical_labels(served: _Server, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The MNIST label archives at a canonical-like location (recompressed, as mirrors do)."""
    canon = served.root / "canonical"
    canon.mkdir()
    labels = tuple(f for f in fetch_mod.IDX_FILES if "labels" in f)
    monkeypatch.setattr(fetch_mod, "IDX_FILES", labels)
    for name in labels:
        raw = gzip.decompress((SHARED / "mnist" / name).read_bytes())
        (canon / name).write_bytes(gzip.compress(raw, compresslevel=6, mtime=1))
    monkeypatch.setattr(fetch_mod, "MNIST_URLS", (f"{served.url}/canonical/",))
    return canon


def _tamper(dest: Path, rel: str) -> bytes:
    """Change one label of ``dest/rel`` and its line in ``dest/SHA256SUMS`` to match."""
    raw = bytearray(gzip.decompress((dest / rel).read_bytes()))
    raw[100] = (raw[100] + 1) % 10
    data = gzip.compress(bytes(raw), mtime=0)
    (dest / rel).write_bytes(data)
    sums = dest / "SHA256SUMS"
    lines = [ln for ln in sums.read_text().splitlines() if not ln.endswith("  " + rel)]
    sums.write_text("\n".join([*lines, f"{hashlib.sha256(data).hexdigest()}  {rel}"]) + "\n")
    ds.clear_cache()
    assert ds.verified_read(rel, dest) == data  # the edited checksum list vouches for it
    return data


def _content_ok(path: Path, rel: str) -> bool:
    from harness.data_manifest import CONTENT_SHA256

    raw = gzip.decompress(path.read_bytes())
    return hashlib.sha256(raw).hexdigest() == CONTENT_SHA256[rel]


@needs_shared
def test_present_canonical_file_is_checked_against_the_shipped_content_hash(
    served: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file and its SHA256SUMS line edited together do not pass: fetched again."""
    _canonical_labels(served, monkeypatch)
    dest = tmp_path / "data"
    fetch_mod.fetch(dest, ["mnist"], say=lambda _: None)
    rel = "mnist/t10k-labels-idx1-ubyte.gz"
    _tamper(dest, rel)
    lines: list[str] = []
    summary = fetch_mod.fetch(dest, ["mnist"], say=lines.append)
    assert rel in summary.written and rel not in summary.present
    assert rel in summary.distrusted
    assert any(rel in ln and "shipped checksum" in ln for ln in lines)
    assert _content_ok(dest / rel, rel)
    ds.clear_cache()
    assert ds.verified_read(rel, dest) == (dest / rel).read_bytes()
    # an untouched present file is still found present and not downloaded again
    assert "mnist/train-labels-idx1-ubyte.gz" in summary.present


@needs_shared
def test_present_file_failing_its_shipped_hash_is_untrusted_when_refetch_fails(
    served: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canon = _canonical_labels(served, monkeypatch)
    dest = tmp_path / "data"
    fetch_mod.fetch(dest, ["mnist"], say=lambda _: None)
    rel = "mnist/t10k-labels-idx1-ubyte.gz"
    bad = _tamper(dest, rel)
    (canon / "t10k-labels-idx1-ubyte.gz").unlink()  # the source is gone
    with pytest.raises(DataError) as info:
        fetch_mod.fetch(dest, ["mnist"], say=lambda _: None)
    assert "\n" not in str(info.value) and "t10k-labels" in str(info.value)
    # the checksum list no longer vouches for the edited file; the loaders refuse it
    assert hashlib.sha256(bad).hexdigest() not in (dest / "SHA256SUMS").read_text()
    ds.clear_cache()
    with pytest.raises(DataError):
        ds.verified_read(rel, dest)


@needs_shared
def test_present_mirror_file_failing_its_shipped_hash_is_untrusted(
    served: _Server, tmp_path: Path
) -> None:
    """Mirror/UCI path: a present file is checked against LAYOUT_SHA256, not SHA256SUMS."""
    dest = tmp_path / "data"
    _fetch(dest, served, "uci")
    rel = "uci/iris/iris_R.dat"
    data = (dest / rel).read_bytes().replace(b"-0.897674", b"-9.897674", 1)
    (dest / rel).write_bytes(data)
    sums = dest / "SHA256SUMS"
    text = sums.read_text().replace(LAYOUT_SHA256[rel], hashlib.sha256(data).hexdigest())
    sums.write_text(text)
    (served.root / rel).unlink()  # the mirror cannot serve it again
    with pytest.raises(DataError, match=r"iris_R\.dat"):
        _fetch(dest, served, "uci")
    assert hashlib.sha256(data).hexdigest() not in sums.read_text()
    ds.clear_cache()
    with pytest.raises(DataError):
        ds.load_uci("iris", data_dir=dest)
