"""Results store: one atomic file per point, compacted into one parquet table per scale.

Layout of ``RESULTS_DIR/NAME/``::

    points/<cache_key>.ok.json       rows of a point that ran to completion
    points/<cache_key>.failed.json   the failure row (error + traceback) of a point
    <scale>.keys.json                the cache keys of the scale's grid, in grid order
    <scale>.parquet                  the compacted tidy table of that scale
    .lock.<scale>                    held (``flock``) by the run computing that scale

Every file is written to a temporary name in the same directory and moved into place
with ``os.replace``, so a run killed at any instant (SIGKILL included) leaves either the
old file or the new one, never a torn one. Compaction reads the point files listed in
the manifest, drops duplicate ``(cache_key, row)`` pairs and writes the table the same
way. Point files are shared by the scales: a point of ``quick`` that is also in ``paper``
is computed once. Two runs of the same spec and scale never compute a point twice: the
second waits for the first's lock (:meth:`ResultStore.run_lock`) and then finds its points
done.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from harness.atomic import TMP_PREFIX, atomic_write_bytes
from harness.errors import DataError, HarnessError

POINT_STATUSES = ("ok", "failed")
#: Temporary files older than this (seconds) are leftovers of a killed run.
_STALE_TMP_S = 60.0


_LOCK_PREFIX = ".lock."


class ResultStore:
    """The results of one spec name under ``results_dir``.

    Parameters
    ----------
    results_dir : str or Path
        Root folder (``results/`` by default in the CLI).
    name : str
        Spec name (a folder name: letters, digits, ``_``, ``-``, ``.``).
    """

    def __init__(self, results_dir: str | os.PathLike[str], name: str) -> None:
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise HarnessError(f"result name must be a plain folder name; got {name!r}")
        self.root = Path(results_dir) / name
        self.name = name
        self.points_dir = self.root / "points"

    # ------------------------------------------------------------------ paths
    def point_path(self, cache_key: str, status: str) -> Path:
        """File holding the rows of point ``cache_key`` with ``status`` ok or failed."""
        return self.points_dir / f"{cache_key}.{status}.json"

    def table_path(self, scale: str) -> Path:
        """The compacted parquet table of ``scale``."""
        return self.root / f"{scale}.parquet"

    def manifest_path(self, scale: str) -> Path:
        """The list of cache keys of the grid of ``scale``."""
        return self.root / f"{scale}.keys.json"

    def lock_path(self, scale: str) -> Path:
        """The lock file of the runs of ``scale``."""
        return self.root / f"{_LOCK_PREFIX}{scale}"

    # ------------------------------------------------------------------ run lock
    @contextlib.contextmanager
    def run_lock(self, scale: str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the exclusive lock of ``scale`` (waiting for another run to release it).

        The lock is an advisory ``flock`` on ``.lock.<scale>``, released by the kernel when
        the holder exits, even by SIGKILL. ``on_wait`` is called once with a message when
        the lock is busy. Where ``fcntl`` does not exist (Windows) no lock is taken.
        """
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.lock_path(scale)
        with open(path, "a+") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait(
                        f"another run of '{self.name}' [{scale}] holds {path}; waiting for it "
                        "to finish (its points will not be computed twice)"
                    )
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    # ------------------------------------------------------------------ points
    def point_states(self) -> dict[str, str]:
        """``cache_key -> "ok" | "failed"`` for every point file present (newest wins)."""
        states: dict[str, tuple[float, str]] = {}
        if not self.points_dir.is_dir():
            return {}
        with os.scandir(self.points_dir) as it:
            for entry in it:
                parts = entry.name.split(".")
                if entry.name.startswith(".") or len(parts) != 3 or parts[2] != "json":
                    continue
                key, status = parts[0], parts[1]
                if status not in POINT_STATUSES:
                    continue
                mtime = entry.stat().st_mtime
                if key not in states or mtime >= states[key][0]:
                    states[key] = (mtime, status)
        return {key: status for key, (_, status) in states.items()}

    def write_point(self, cache_key: str, status: str, rows: Sequence[dict[str, Any]]) -> Path:
        """Atomically write the rows of one point and remove its file of the other status."""
        if status not in POINT_STATUSES:
            raise ValueError(f"status must be one of {POINT_STATUSES}; got {status!r}")
        self.points_dir.mkdir(parents=True, exist_ok=True)
        path = self.point_path(cache_key, status)
        payload = {"cache_key": cache_key, "status": status, "rows": list(rows)}
        atomic_write_bytes(path, json.dumps(payload, allow_nan=True).encode())
        other = self.point_path(cache_key, "failed" if status == "ok" else "ok")
        if other.exists():
            other.unlink()
        return path

    def read_point(self, cache_key: str) -> tuple[str, list[dict[str, Any]]] | None:
        """``(status, rows)`` of a stored point, ``None`` when it is not stored."""
        status = self.point_states().get(cache_key)
        if status is None:
            return None
        return status, self._read_rows(self.point_path(cache_key, status))

    def _read_rows(self, path: Path) -> list[dict[str, Any]]:
        try:
            payload = json.loads(path.read_text())
            return list(payload["rows"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"corrupt point file {path}: {exc}; delete it (or run with --force) to recompute"
            ) from exc

    def remove_stale_tmp(self) -> int:
        """Delete temporary files left by killed runs; returns how many were removed."""
        removed = 0
        now = time.time()
        for folder in (self.root, self.points_dir):
            if not folder.is_dir():
                continue
            for path in folder.glob(f"{TMP_PREFIX}*"):
                try:
                    if now - path.stat().st_mtime > _STALE_TMP_S:
                        path.unlink()
                        removed += 1
                except FileNotFoundError:  # removed concurrently
                    continue
        return removed

    # ------------------------------------------------------------------ manifests
    def write_manifest(self, scale: str, cache_keys: Iterable[str], meta: dict[str, Any]) -> None:
        """Record the cache keys (grid order) of ``scale`` and the spec metadata."""
        self.root.mkdir(parents=True, exist_ok=True)
        payload = {**meta, "scale": scale, "cache_keys": list(cache_keys)}
        atomic_write_bytes(self.manifest_path(scale), json.dumps(payload, indent=1).encode())

    def read_manifest(self, scale: str) -> dict[str, Any] | None:
        """The manifest of ``scale`` or ``None``."""
        path = self.manifest_path(scale)
        if not path.is_file():
            return None
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            raise DataError(f"corrupt manifest {path}: {exc}") from exc

    def scales(self) -> list[str]:
        """Scales that have a manifest (were run at least once)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name[: -len(".keys.json")] for p in self.root.glob("*.keys.json"))

    # ------------------------------------------------------------------ tables
    def compact(self, scale: str) -> pd.DataFrame:
        """Gather the stored points of ``scale``'s manifest into ``<scale>.parquet``.

        Rows appear in grid order, then row order within a point; a ``scale`` column is
        added. Pending points are simply absent. Duplicate ``(cache_key, row)`` pairs
        (impossible with one file per key, checked anyway) keep the last copy.
        """
        manifest = self.read_manifest(scale)
        if manifest is None:
            raise DataError(f"no results for '{self.name}' at scale '{scale}' in {self.root}")
        states = self.point_states()
        rows: list[dict[str, Any]] = []
        for key in manifest["cache_keys"]:
            status = states.get(key)
            if status is not None:
                rows.extend(self._read_rows(self.point_path(key, status)))
        table = pd.DataFrame(rows)
        if not table.empty:
            table["scale"] = scale
            table = table.drop_duplicates(subset=["cache_key", "row"], keep="last")
            table = table.reset_index(drop=True)
        tmp = self.root / f"{TMP_PREFIX}{scale}.parquet.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        try:
            _write_parquet_with_counts(table, tmp)
            os.replace(tmp, self.table_path(scale))
        finally:
            if tmp.exists():
                tmp.unlink()
        return table

    def load(self, scale: str) -> pd.DataFrame:
        """The table of ``scale``, checked against its point files.

        Re-compacted when point files are newer, and also when the parquet disagrees with
        them (cache keys, or row count per key recorded at compaction): a shortened or
        edited table is rebuilt from the points, with a one-line note on stderr. Without
        point files to rebuild from, a table that cannot be verified is refused
        (:class:`DataError`, one line).
        """
        table = self.table_path(scale)
        manifest = self.manifest_path(scale)
        if not manifest.is_file() and not table.is_file():
            have = self.scales()
            hint = f" (stored scales: {have})" if have else ""
            raise DataError(
                f"no results for '{self.name}' at scale '{scale}' in {self.root}{hint}; "
                f"run `harness run experiments/{self.name}.toml --scale {scale}` first"
            )
        if not manifest.is_file():
            raise DataError(
                f"{table} has no manifest {manifest.name} to check it against; "
                f"re-run `harness run experiments/{self.name}.toml --scale {scale}`"
            )
        if not table.is_file() or self._stale(table, manifest):
            return self.compact(scale)
        try:
            df = pd.read_parquet(table)
        except (OSError, ValueError) as exc:  # truncated or corrupt (ArrowInvalid)
            if not self.point_states():
                raise DataError(
                    f"{table} cannot be read ({type(exc).__name__}) and there are no point "
                    "files to rebuild it from"
                ) from exc
            print(f"note: {table} could not be read; rebuilt from its point files", file=sys.stderr)
            return self.compact(scale)
        problem = self._disagreement(df, table, scale)
        if problem:
            if not self.point_states():
                raise DataError(
                    f"{table} disagrees with its point files ({problem}) and there are no point "
                    "files to rebuild it from"
                )
            print(
                f"note: {table} disagreed with its point files ({problem}); rebuilt",
                file=sys.stderr,
            )
            return self.compact(scale)
        return df

    def _disagreement(self, df: pd.DataFrame, table: Path, scale: str) -> str:
        """Why the stored table does not match the point files ('' when it does)."""
        manifest = self.read_manifest(scale) or {}
        states = self.point_states()
        expected = {k for k in manifest.get("cache_keys", []) if k in states}
        counts = _recorded_counts(table)
        if counts is None:
            return "no row counts recorded at compaction"
        have = set(df["cache_key"].astype(str)) if "cache_key" in df.columns else set()
        if set(counts) != expected:
            return f"{len(counts)} point(s) recorded, {len(expected)} point file(s) in the manifest"
        if have != expected:
            return f"{len(have)} cache key(s) in the table, {len(expected)} expected"
        if len(df) != sum(counts.values()):
            return f"{len(df)} rows, {sum(counts.values())} expected"
        per_key = df["cache_key"].astype(str).value_counts().to_dict() if len(df) else {}
        if any(per_key.get(k, 0) != n for k, n in counts.items()):
            return "row counts per point differ from those recorded"
        return ""

    def _stale(self, table: Path, manifest: Path) -> bool:
        t = table.stat().st_mtime
        newer = manifest.stat().st_mtime > t
        if self.points_dir.is_dir():
            newer = newer or self.points_dir.stat().st_mtime > t
            with os.scandir(self.points_dir) as it:  # a point file edited in place
                newer = newer or any(e.stat().st_mtime > t for e in it if e.name.endswith(".json"))
        return newer

    def clean(self) -> bool:
        """Delete ``results_dir/NAME`` (only if it looks like a results folder).

        Raises
        ------
        HarnessError
            ``results_dir/NAME`` is a symbolic link or not a folder, holds files the
            engine did not write, or cannot be deleted (permissions).
        """
        if self.root.is_symlink():
            raise HarnessError(
                f"refusing to delete {self.root}: it is a symbolic link (to "
                f"{os.readlink(self.root)}); remove the link itself if that is what you want"
            )
        if not self.root.exists():
            return False
        if not self.root.is_dir():
            raise HarnessError(f"refusing to delete {self.root}: it is not a folder")
        known = {"points"}
        for entry in self.root.iterdir():
            ok = (
                entry.name in known
                or entry.name.endswith((".parquet", ".keys.json"))
                or entry.name.startswith((TMP_PREFIX, _LOCK_PREFIX))
            )
            if not ok:
                raise HarnessError(
                    f"refusing to delete {self.root}: it holds {entry.name!r}, which the "
                    "sweep engine did not write"
                )
        busy = [lock.name for lock in self.root.glob(_LOCK_PREFIX + "*") if _is_locked(lock)]
        if busy:
            raise HarnessError(
                f"refusing to delete {self.root}: a run holds {busy[0]} (wait for it to finish)"
            )
        for folder in (self.root.parent, self.root, self.points_dir):
            if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
                raise HarnessError(
                    f"cannot delete {self.root}: folder {folder} is not writable (permission denied)"
                )
        try:
            shutil.rmtree(self.root)
        except PermissionError as exc:
            raise HarnessError(
                f"cannot delete {self.root}: permission denied ({exc.filename}); "
                "some files may already be gone"
            ) from exc
        return True


def _is_locked(path: Path) -> bool:
    """Whether another process holds the ``flock`` of a run lock file (False where no fcntl)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return False
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return False


#: Key of the parquet metadata holding ``{cache_key: rows}`` recorded at compaction.
_COUNTS_KEY = b"harness.rows_by_key"


def _write_parquet_with_counts(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` as parquet with the row count of every cache key in its metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    counts = (
        table["cache_key"].astype(str).value_counts().to_dict()
        if "cache_key" in table.columns and len(table)
        else {}
    )
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    meta = {**(arrow.schema.metadata or {}), _COUNTS_KEY: json.dumps(counts).encode()}
    pq.write_table(arrow.replace_schema_metadata(meta), path)


def _recorded_counts(path: Path) -> dict[str, int] | None:
    """``{cache_key: rows}`` recorded in a parquet written by :meth:`ResultStore.compact`."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, ValueError):
        return None
    raw = meta.get(_COUNTS_KEY)
    if raw is None:
        return None
    try:
        return {str(k): int(v) for k, v in json.loads(raw).items()}
    except (ValueError, TypeError, AttributeError):
        return None


def load_results(
    name: str, scale: str = "quick", results_dir: str | os.PathLike[str] = "results"
) -> pd.DataFrame:
    """The tidy results table of spec ``name`` at ``scale`` (one row per point row).

    Raises
    ------
    DataError
        Nothing stored for that name and scale.
    """
    return ResultStore(results_dir, name).load(scale)
