"""Exception types raised by the harness.

Every error that a user can cause (bad file, bad value, impossible request) is a
subclass of :class:`HarnessError`; the CLI prints its message on one line and exits
with code 2. Internal bugs are left as ordinary exceptions.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base class of every user-facing error (CLI exit code 2)."""


class InputError(HarnessError, ValueError):
    """An argument or an input array is invalid (shape, NaN, range, option)."""


class DataError(HarnessError):
    """A data file is missing, corrupt, or fails its checksum."""


class EnumerationError(HarnessError):
    """Exact pattern enumeration was refused (predicted count above the cap)."""


class SolverError(HarnessError):
    """A solver could not be run (not installed, unknown name, bad options)."""


class SpecError(HarnessError):
    """An experiment spec file is invalid."""
