"""Run a spec: points go through joblib (loky) or a dask cluster to the kind function.

Workers only compute; the launching process writes each point's rows as they arrive
(:class:`harness.sweep.store.ResultStore`), so a remote dask cluster needs no shared
file system and a killed run loses at most the points in flight. A Python exception in
a kind fails that point only (status ``failed``, traceback saved) and the sweep goes on.
In parallel runs each worker process pins its BLAS pools to one thread (threadpoolctl),
so ``--jobs N`` uses N cores, not N times the BLAS default.

A run holds the lock of its spec and scale (:meth:`ResultStore.run_lock`): a second run
of the same spec waits, then skips the points the first one computed. Grids above
:data:`harness.sweep.grid.MAX_POINTS` points are refused unless ``allow_large=True``.
A run with nothing to compute and an up-to-date table writes nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import harness
from harness.errors import HarnessError, SpecError
from harness.sweep import provenance
from harness.sweep.grid import Point, check_grid_size, expand_grid
from harness.sweep.spec import Spec, load_spec
from harness.sweep.store import ResultStore

BACKENDS = ("loky", "dask")

#: Columns the engine adds after the point parameters and the kind's measured columns.
ENGINE_COLUMNS = (
    "row",
    "point_status",
    "point_time_s",
    "error",
    "traceback",
    "seed_index",
    "seed_entropy",
    "seed_spawn_key",
    "point_key",
    "cache_key",
    "spec_name",
    "spec_hash",
    "kind",
    "harness_version",
    "git_commit",
    "versions",
    "hostname",
    "timestamp",
    "scale",
)

#: Columns that legitimately differ between two runs of the same points.
VOLATILE_COLUMNS = ("point_time_s", "hostname", "timestamp", "versions", "git_commit")

_BLAS_PINNED = False


@dataclass
class SweepSummary:
    """What a :func:`run_spec` call did."""

    name: str
    scale: str
    total: int
    skipped: int
    ok: int
    failed: int
    wall_s: float
    table_path: Path
    n_rows: int
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def computed(self) -> int:
        return self.ok + self.failed

    def format(self) -> str:
        """Multi-line human summary (printed by ``harness run``)."""
        lines = [
            f"sweep '{self.name}' [{self.scale}]: {self.total} points: {self.computed} computed "
            f"({self.ok} ok, {self.failed} failed), {self.skipped} already done; "
            f"{self.wall_s:.1f} s wall",
            f"results: {self.table_path} ({self.n_rows} rows)",
        ]
        if self.failures:
            lines.append("failed points (full tracebacks in the 'traceback' column):")
            for key, err in self.failures[:10]:
                lines.append(f"  {key}: {err}")
            if len(self.failures) > 10:
                lines.append(f"  ... and {len(self.failures) - 10} more")
        return "\n".join(lines)


def run_spec(
    spec: Spec | str | os.PathLike[str],
    scale: str = "quick",
    n_jobs: int = 1,
    backend: str = "loky",
    scheduler: str | None = None,
    force: bool = False,
    results_dir: str | os.PathLike[str] = "results",
    progress: bool = True,
    allow_large: bool = False,
) -> SweepSummary:
    """Compute every pending point of ``spec`` at ``scale`` and compact the table.

    Parameters
    ----------
    spec : Spec or path
        A spec from :func:`harness.sweep.load_spec`, or the path of its TOML file.
    scale : {"quick", "paper"}
    n_jobs : int
        Worker processes (``-1``: all cores). With ``backend="loky"`` and ``n_jobs=1`` the
        points run in this process. For dask without ``scheduler`` it is the number of
        workers of the ``LocalCluster`` started for the run.
    backend : {"loky", "dask"}
    scheduler : str, optional
        Address of an existing dask scheduler (``tcp://host:8786``); dask backend only.
    force : bool
        Recompute points that are already stored.
    results_dir : path
        Root of the results store; results go to ``results_dir/NAME/``.
    progress : bool
        Show a tqdm progress bar on stderr.
    allow_large : bool
        Run grids above :data:`harness.sweep.grid.MAX_POINTS` points.

    Returns
    -------
    SweepSummary

    Raises
    ------
    SpecError
        Invalid spec, scale, backend or job count, or a grid over the size limit.
    HarnessError
        The run was aborted (e.g. a worker process died; finished points are kept), or
        the results folder is not writable (nothing is written).
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    if backend not in BACKENDS:
        raise SpecError(f"backend must be one of {list(BACKENDS)}. Got {backend!r}.")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise SpecError(f"jobs must be an int >= 1 or -1 (all cores). Got {n_jobs!r}.")
    if scheduler is not None and backend != "dask":
        raise SpecError("--scheduler needs --backend dask.")
    check_grid_size(spec, scale, allow_large)
    from harness.kinds import get_kind

    fn = get_kind(spec.kind)
    points = expand_grid(spec, scale)
    store = ResultStore(results_dir, spec.name)
    try:
        if not force and _up_to_date(store, spec, scale, points):
            return _summary(spec, scale, points, store, skipped=len(points), n_rows=None)
        for point in points:  # refusals from the parameters alone, before anything is written
            fn.preflight(point.params)
        with store.run_lock(scale, on_wait=_say):
            return _run_locked(
                fn, spec, scale, points, store, force, n_jobs, backend, scheduler, progress
            )
    except PermissionError as exc:
        raise HarnessError(
            f"cannot write the results of '{spec.name}' in {store.root}: permission denied "
            f"({exc.filename}); choose a writable --results-dir"
        ) from exc


def _say(message: str) -> None:
    print(f"[harness] {message}", file=sys.stderr, flush=True)


def _summary(
    spec: Spec,
    scale: str,
    points: list[Point],
    store: ResultStore,
    skipped: int,
    n_rows: int | None,
) -> SweepSummary:
    if n_rows is None:
        import pyarrow.parquet as pq

        n_rows = int(pq.ParquetFile(store.table_path(scale)).metadata.num_rows)
    return SweepSummary(
        name=spec.name,
        scale=scale,
        total=len(points),
        skipped=skipped,
        ok=0,
        failed=0,
        wall_s=0.0,
        table_path=store.table_path(scale),
        n_rows=n_rows,
    )


def _up_to_date(store: ResultStore, spec: Spec, scale: str, points: list[Point]) -> bool:
    """Every point is done, the manifest lists exactly these keys and the table is newer."""
    table = store.table_path(scale)
    manifest_path = store.manifest_path(scale)
    if not table.is_file() or not manifest_path.is_file():
        return False
    try:
        manifest = store.read_manifest(scale)
    except HarnessError:
        return False
    keys = [p.cache_key for p in points]
    if manifest is None or manifest.get("cache_keys") != keys:
        return False
    if manifest.get("spec_hash") != spec.spec_hash:
        return False
    states = store.point_states()
    if any(states.get(k) != "ok" for k in keys):
        return False
    newest = max(manifest_path.stat().st_mtime, store.points_dir.stat().st_mtime)
    if table.stat().st_mtime < newest:
        return False
    import pyarrow.parquet as pq

    try:  # a truncated or corrupt table is not up to date: it is compacted again
        pq.ParquetFile(table)
    except (OSError, ValueError):
        return False
    return True


def _run_locked(
    fn: Any,
    spec: Spec,
    scale: str,
    points: list[Point],
    store: ResultStore,
    force: bool,
    n_jobs: int,
    backend: str,
    scheduler: str | None,
    progress: bool,
) -> SweepSummary:
    """The body of :func:`run_spec`, under the run lock of ``scale``."""
    states = {} if force else store.point_states()
    todo = [p for p in points if states.get(p.cache_key) != "ok"]
    summary = _summary(spec, scale, points, store, skipped=len(points) - len(todo), n_rows=0)
    with contextlib.ExitStack() as stack:
        if backend == "dask" and todo:  # connect before writing anything
            stack.enter_context(_dask_client(scheduler, n_jobs))
        store.remove_stale_tmp()
        store.write_manifest(
            scale,
            [p.cache_key for p in points],
            {"spec_name": spec.name, "spec_path": spec.path, "spec_hash": spec.spec_hash},
        )
        _run_points(fn, spec, todo, store, summary, n_jobs, backend, progress)
    table = store.compact(scale)
    summary.n_rows = len(table)
    return summary


def _run_points(
    fn: Any,
    spec: Spec,
    todo: list[Point],
    store: ResultStore,
    summary: SweepSummary,
    n_jobs: int,
    backend: str,
    progress: bool,
) -> None:
    """Execute ``todo``, writing each point as it completes and updating ``summary``."""
    static = _static_provenance(spec)
    by_key = {p.cache_key: p for p in todo}
    bar = _progress_bar(spec.name, summary.scale, summary.total, summary.skipped, progress)
    t0 = time.perf_counter()
    try:
        for outcome in _execute_all(fn, todo, n_jobs, backend):
            point = by_key[outcome["cache_key"]]
            store.write_point(
                point.cache_key, outcome["status"], _full_rows(point, outcome, static)
            )
            if outcome["status"] == "ok":
                summary.ok += 1
            else:
                summary.failed += 1
                summary.failures.append((point.point_key, outcome["error"]))
            bar.set_postfix(failed=summary.failed, refresh=False)
            bar.update(1)
    except (KeyboardInterrupt, SystemExit, HarnessError):
        store.compact(summary.scale)
        raise
    except Exception as exc:
        store.compact(summary.scale)
        raise HarnessError(
            f"sweep '{spec.name}' [{summary.scale}] aborted after {summary.computed} of "
            f"{len(todo)} points ({type(exc).__name__}: {exc}); finished points are saved, "
            "rerun to resume"
        ) from exc
    finally:
        bar.close()
        summary.wall_s = time.perf_counter() - t0


def _static_provenance(spec: Spec) -> dict[str, Any]:
    """Provenance fixed for the whole run, taken in the launching process."""
    return {
        "seed_entropy": spec.seed,
        "spec_name": spec.name,
        "spec_hash": spec.spec_hash,
        "kind": spec.kind,
        "harness_version": harness.__version__,
        "git_commit": provenance.git_commit(),
    }


def run_point(spec: Spec, point: Point) -> list[dict[str, Any]]:
    """Run one point in this process and return its full rows (nothing is stored).

    Used to re-run a single point alone; gives the same numbers as inside a sweep.
    """
    from harness.kinds import get_kind

    outcome = _execute(get_kind(spec.kind), point.params, point.entropy, point.spawn_key, False)
    outcome["cache_key"] = point.cache_key
    return _full_rows(point, outcome, _static_provenance(spec))


# --------------------------------------------------------------------------- execution
def _execute_all(fn: Any, todo: list[Point], n_jobs: int, backend: str) -> Iterator[dict[str, Any]]:
    """Outcomes of ``todo`` in completion order (dask: inside :func:`_dask_client`)."""
    if not todo:
        return
    if backend == "loky" and n_jobs == 1:
        for p in todo:
            out = _execute(fn, p.params, p.entropy, p.spawn_key, False)
            out["cache_key"] = p.cache_key
            yield out
        return
    import joblib

    me = os.getpid()
    tasks = (
        joblib.delayed(_execute_tagged)(fn, p.params, p.entropy, p.spawn_key, p.cache_key, me)
        for p in todo
    )
    if backend == "loky":
        yield from joblib.Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")(
            tasks
        )
        return
    with joblib.parallel_config(backend="dask"):
        yield from joblib.Parallel(n_jobs=-1, return_as="generator_unordered")(tasks)


@contextlib.contextmanager
def _dask_client(scheduler: str | None, n_jobs: int) -> Iterator[Any]:
    """A distributed ``Client`` (to ``scheduler``, or to a fresh ``LocalCluster``)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dev/extra dependency
        raise SpecError(
            "backend 'dask' needs dask[distributed]: pip install 'convex-nn-harness[dask]'"
        ) from exc
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise HarnessError(f"cannot reach dask scheduler {scheduler!r}: {exc}") from exc
        try:
            yield client
        finally:
            client.close()
        return
    workers = (os.cpu_count() or 1) if n_jobs == -1 else n_jobs
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _execute_tagged(
    fn: Any,
    params: dict[str, Any],
    entropy: int,
    spawn_key: tuple[int, ...],
    cache_key: str,
    parent_pid: int,
) -> dict[str, Any]:
    """:func:`_execute` in a worker, tagged with the point's cache key.

    BLAS is pinned only in worker *processes*: dask's in-process (threaded) workers
    share the launching process, whose settings are left alone.
    """
    out = _execute(fn, params, entropy, spawn_key, os.getpid() != parent_pid)
    out["cache_key"] = cache_key
    return out


def _pin_blas() -> None:
    """Limit BLAS/OpenMP pools of this worker process to one thread, once."""
    global _BLAS_PINNED
    if _BLAS_PINNED:
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    _BLAS_PINNED = True


def _execute(
    fn: Any, params: dict[str, Any], entropy: int, spawn_key: tuple[int, ...], pin: bool
) -> dict[str, Any]:
    """Run the kind on one point; never raises for errors inside the kind."""
    if pin:
        _pin_blas()
    seed = np.random.SeedSequence(entropy, spawn_key=spawn_key)
    t0 = time.perf_counter()
    try:
        raw = fn(dict(params), seed)
        rows = _clean_rows(raw, params)
        status, error, tb = "ok", None, None
    except Exception as exc:
        rows = [{}]
        status = "failed"
        first = str(exc).splitlines()[0] if str(exc) else ""
        error = f"{type(exc).__name__}: {first}"[:500] if first else type(exc).__name__
        tb = traceback.format_exc()
    return {
        "rows": rows,
        "status": status,
        "error": error,
        "traceback": tb,
        "time_s": time.perf_counter() - t0,
        "hostname": provenance.hostname(),
        "versions": provenance.package_versions(),
        "timestamp": provenance.timestamp(),
    }


def _clean_rows(raw: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Check a kind's return value and convert numpy scalars to Python ones."""
    if not isinstance(raw, list) or not raw:
        raise TypeError(f"kind must return a non-empty list of dict rows; got {type(raw).__name__}")
    reserved = set(ENGINE_COLUMNS)
    out = []
    for i, row in enumerate(raw):
        if not isinstance(row, dict):
            raise TypeError(f"kind row {i} must be a dict; got {type(row).__name__}")
        clean: dict[str, Any] = {}
        for key, value in row.items():
            if not isinstance(key, str):
                raise TypeError(f"kind row {i} has a non-string column name {key!r}")
            if key in reserved:
                raise ValueError(f"kind row {i} uses the engine column name {key!r}")
            if key in params:
                raise ValueError(f"kind row {i} reuses the point parameter name {key!r}")
            clean[key] = _scalar(key, value)
        out.append(clean)
    return out


def _scalar(key: str, value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (int, float, bool, str)):
        return value
    raise TypeError(f"column {key!r} must hold a scalar; got {type(value).__name__}")


def _full_rows(
    point: Point, outcome: dict[str, Any], static: dict[str, Any]
) -> list[dict[str, Any]]:
    """Point parameters + measured columns + engine/provenance columns, per row."""
    rows = []
    for i, measured in enumerate(outcome["rows"]):
        row: dict[str, Any] = dict(point.params)
        row.update(measured)
        row.update(
            {
                "row": i,
                "point_status": outcome["status"],
                "point_time_s": float(outcome["time_s"]),
                "error": outcome["error"],
                "traceback": outcome["traceback"],
                "seed_index": point.seed_index,
                "seed_entropy": static["seed_entropy"],
                "seed_spawn_key": ",".join(str(k) for k in point.spawn_key),
                "point_key": point.point_key,
                "cache_key": point.cache_key,
                "spec_name": static["spec_name"],
                "spec_hash": static["spec_hash"],
                "kind": static["kind"],
                "harness_version": static["harness_version"],
                "git_commit": static["git_commit"],
                "versions": outcome["versions"],
                "hostname": outcome["hostname"],
                "timestamp": outcome["timestamp"],
            }
        )
        rows.append(row)
    return rows


def _progress_bar(name: str, scale: str, total: int, initial: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=f"{name} [{scale}]",
        unit="pt",
        disable=not enabled,
        dynamic_ncols=True,
        smoothing=0.1,
        postfix={"failed": 0},
    )
