"""Provenance columns attached to every result row (STYLE.md "Randomness and provenance").

Code identity (harness version, git commit of the harness checkout) is taken in the
process that launches the sweep; machine identity (hostname, package versions, time) in
the process that computed the point, which on a dask cluster is a remote worker.
"""

from __future__ import annotations

import datetime as _dt
import functools
import platform
import socket
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import harness

#: Packages whose versions are recorded, as ``name=version`` joined by ``;``.
TRACKED_PACKAGES = ("numpy", "scipy", "cvxpy", "clarabel", "pandas", "joblib")


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """``git rev-parse HEAD`` of the harness source tree, ``"unknown"`` if unavailable.

    A ``+dirty`` suffix marks uncommitted changes to tracked files.
    """
    root = Path(harness.__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not head:
        return "unknown"
    return head + ("+dirty" if dirty else "")


@functools.lru_cache(maxsize=1)
def package_versions() -> str:
    """Compact ``"python=3.11.7;numpy=2.1.0;..."`` string of the tracked packages."""
    parts = [f"python={platform.python_version()}"]
    for name in TRACKED_PACKAGES:
        try:
            parts.append(f"{name}={version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name}=missing")
    return ";".join(parts)


@functools.lru_cache(maxsize=1)
def hostname() -> str:
    """Name of the machine that runs this process."""
    return socket.gethostname()


def timestamp() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
