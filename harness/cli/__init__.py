"""Command-line interface of the harness: ``harness <command> ...`` (one argparse entry).

:func:`main` lives in :mod:`harness.cli.app`; the command groups are the modules of this
package (``diagnose``, ``sweep``, ``report``).
"""

from harness.cli.app import main

__all__ = ["main"]
