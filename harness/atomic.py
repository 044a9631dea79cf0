"""Atomic file writes: a unique temporary name in the target's folder, then ``os.replace``.

Two writers of the same path never share a temporary file (the name carries the process
id and a random suffix), and a process killed at any instant leaves either the old file or
the new one, never a torn one. Temporary names start with ``.tmp.`` so that folders can
recognise (and sweep away) leftovers of killed runs.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Literal

from harness.errors import InputError

TMP_PREFIX = ".tmp."


def temp_path(path: Path) -> Path:
    """A temporary name beside ``path``, unique to this process and call."""
    return path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")


def check_output_path(path: str | os.PathLike[str], what: str = "--out") -> Path:
    """``path`` as a Path, refused (``InputError``) if it cannot name a new or existing file.

    It must not be a directory, and its parent folder must exist and be writable.
    """
    out = Path(path)
    if out.is_dir():
        raise InputError(f"{what}: {out} is a directory; give a file name")
    parent = out.parent
    if not parent.is_dir():
        raise InputError(f"{what}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{what}: directory {parent} is not writable")
    return out


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a temporary file for binary writing; on success move it onto ``path``.

    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    target = Path(path)
    tmp = temp_path(target)
    try:
        with open(tmp, "wb") as fh:
            yield fh
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path) as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(
    path: str | os.PathLike[str],
    fieldnames: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    extrasaction: Literal["raise", "ignore"] = "raise",
) -> None:
    """Write ``rows`` as a CSV with a header of ``fieldnames`` to ``path`` atomically
    (``csv.DictWriter``; ``extrasaction="ignore"`` drops keys outside ``fieldnames``)."""
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=list(fieldnames), extrasaction=extrasaction)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())
