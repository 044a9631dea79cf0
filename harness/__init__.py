"""Empirical theory-verification harness for convex neural networks.

Implements the programs and quantities of ``THEORY.md`` (Kim & Pilanci 2024; Ergen &
Pilanci 2019, 2021): exact and relaxed convex formulations, reference and fast solvers,
certified brackets on the global optimum, theory diagnostics, sweeps and checks.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("convex-nn-harness")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
