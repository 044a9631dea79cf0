"""The ``harness`` entry point: one argparse parser, one error contract, BLAS pinning.

Every user error is a :class:`harness.errors.HarnessError` (or an operating-system error
such as a read-only folder): the CLI prints one line ``error: <message>`` on stderr and
exits with code 2, writing nothing. Commands that write files write them atomically,
after all validation. Ctrl-C exits with 130 and one line; a closed output pipe
(``harness ... | head -1``) ends the command quietly.

Only the standard library is imported at start-up; each command imports its numerical
modules when it runs, so ``harness --help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from harness.errors import HarnessError, InputError

#: Modules contributing sub-commands through ``add_subcommands(subparsers)``, in help order.
COMMAND_MODULES = (
    "harness.cli.instance",
    "harness.cli.diagnose",
    "harness.cli.sweep",
    "harness.cli.report",
    "harness.cli.deep",
    "harness.cli.data",
)

#: Thread-count variables of the BLAS libraries numpy/scipy may load (OpenBLAS, MKL, BLIS).
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")

#: Exit codes.
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    """The ``harness`` argument parser with every sub-command."""
    from harness import __version__

    parser = argparse.ArgumentParser(
        prog="harness",
        description="Theory-verification harness for convex neural networks (THEORY.md).",
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_subcommands(sub)
    return parser


def limit_blas_threads() -> None:
    """Pin BLAS to ``HARNESS_BLAS_THREADS`` threads (default 1) in this process.

    Sets the BLAS thread variables (:data:`BLAS_THREAD_VARS`, read when numpy loads its
    BLAS, which the commands do after this call; child processes inherit them) and limits
    any BLAS already loaded with threadpoolctl.

    The harness's matrices are small (n up to a few thousand) and its parallelism comes from
    sweep workers; multi-threaded BLAS on them only adds contention, which on a loaded
    2-core machine made one demo 40x slower (175 s vs 4.5 s). Sweep workers pin themselves.
    """
    text = os.environ.get("HARNESS_BLAS_THREADS", "1")
    try:
        limit = int(text)
    except ValueError as exc:
        raise InputError(f"HARNESS_BLAS_THREADS must be an integer >= 1; got {text!r}") from exc
    if limit < 1:
        raise InputError(f"HARNESS_BLAS_THREADS must be an integer >= 1; got {text!r}")
    # The commands import numpy after this point and threadpoolctl only limits libraries
    # already loaded: the environment variables are what a BLAS loaded later reads.
    for var in BLAS_THREAD_VARS:
        os.environ[var] = str(limit)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=limit, user_api="blas")


def _os_error_line(exc: OSError) -> str:
    """``PermissionError(13, 'Permission denied', 'results/x')`` -> one readable line."""
    what = exc.strerror or type(exc).__name__
    where = f": {exc.filename}" if exc.filename is not None else ""
    if exc.filename2 is not None:
        where += f" -> {exc.filename2}"
    return f"{what}{where}"


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the exit flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harness`` console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        limit_blas_threads()
        code = int(args.func(args))
        sys.stdout.flush()
        return code
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # read-only folder, disk full, a path that is a directory, ...
        print(f"error: {_os_error_line(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
