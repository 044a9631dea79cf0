"""Command-line interface of the harness: ``harness <command> ...`` (one argparse entry).

:func:`main` lives in :mod:`harness.cli.main`; the command groups are the modules of this
package (``diagnose``, ``sweep``, ``report``).
"""

from harness.cli.main import main

__all__ = ["main"]
