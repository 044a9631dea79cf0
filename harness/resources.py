"""Memory estimates checked before a large allocation (refuse instead of MemoryError).

A request such as ``--patterns 10**12`` would otherwise end in numpy's MemoryError after
minutes of swapping, or in an allocation of tens of GB on a shared machine. Callers
estimate the bytes they are about to allocate and call :func:`check_memory` first.
"""

from __future__ import annotations

import os

from harness.errors import InputError

#: Environment variable overriding the allowed bytes (an int; for tests and big machines).
MEMORY_ENV_VAR = "HARNESS_MAX_MEMORY"
#: Fraction of the available memory one allocation may use by default.
DEFAULT_FRACTION = 0.5


def available_memory() -> int | None:
    """Bytes of memory available now (``MemAvailable`` on Linux, else physical), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def memory_limit() -> int | None:
    """Bytes one request may allocate: ``HARNESS_MAX_MEMORY`` or half the available memory."""
    text = os.environ.get(MEMORY_ENV_VAR, "")
    if text:
        try:
            value = int(text)
        except ValueError as exc:
            raise InputError(f"{MEMORY_ENV_VAR} must be an integer >= 1; got {text!r}") from exc
        if value < 1:
            raise InputError(f"{MEMORY_ENV_VAR} must be an integer >= 1; got {text!r}")
        return value
    avail = available_memory()
    return None if avail is None else int(avail * DEFAULT_FRACTION)


def memory_budget(cap: float) -> float:
    """``cap`` bytes, or :func:`memory_limit` when that is smaller (sizing a working set)."""
    limit = memory_limit()
    return float(cap) if limit is None else min(float(cap), float(limit))


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'`` (binary units, three significant digits)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover - loop always returns


def check_memory(what: str, nbytes: float) -> None:
    """Refuse (``InputError``) a request whose estimated allocation exceeds the limit.

    Parameters
    ----------
    what : str
        The request, as the user wrote it (``"--patterns 1000000000000"``).
    nbytes : float
        Estimated peak bytes of the allocation.
    """
    limit = memory_limit()
    if limit is not None and nbytes > limit:
        source = MEMORY_ENV_VAR if os.environ.get(MEMORY_ENV_VAR) else "half the available memory"
        raise InputError(
            f"{what} would need about {format_bytes(nbytes)} of memory, more than the "
            f"{format_bytes(limit)} allowed ({source}); ask for less, or set {MEMORY_ENV_VAR}"
        )
