"""``python -m harness.cli ...``: the same entry point as the ``harness`` script."""

import sys

from harness.cli.app import main

sys.exit(main())
