"""The papers' claims as executable checks (registry and verdict types).

A check reads result tables (pandas DataFrames loaded from the results store, keyed by
experiment name) and returns a :class:`CheckResult`. Checks are registered in one place
with :func:`register_check`; modules in this package are auto-imported by
:func:`load_checks`, so adding a claim is one new function plus one spec.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE", "NOT-RUN")


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check: a verdict, the numbers behind it and a one-line reason."""

    verdict: str
    measured: str
    predicted: str
    explanation: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}; got {self.verdict!r}")


CheckFn = Callable[[Mapping[str, pd.DataFrame]], CheckResult]


@dataclass(frozen=True)
class Check:
    """A registered claim.

    Attributes
    ----------
    id : str            e.g. ``"P2"`` or ``"S1"``
    title : str         short name
    claim : str         the claim in one sentence
    source : str        theorem / proposition it comes from
    experiments : tuple of str
        Names of the experiment specs (``experiments/NAME.toml``) whose results it reads.
    measured, predicted, rule : str
        What is measured, the predicted behaviour, and the decision rule in words.
    fn : CheckFn
        ``fn(tables) -> CheckResult`` with ``tables[name]`` the results of each experiment.
    version : int
    """

    id: str
    title: str
    claim: str
    source: str
    experiments: tuple[str, ...]
    measured: str
    predicted: str
    rule: str
    fn: CheckFn
    version: int = 1


CHECKS: dict[str, Check] = {}


def register_check(
    id: str,
    *,
    title: str,
    claim: str,
    source: str,
    experiments: tuple[str, ...],
    measured: str,
    predicted: str,
    rule: str,
    version: int = 1,
) -> Callable[[CheckFn], CheckFn]:
    """Decorator registering a check function under ``id``.

    The registered (and returned) function applies the one exclusion policy to every result
    (:func:`harness.predictions.evidence.apply_policy`), so a direct call and a registry call
    give the same verdict.
    """

    def deco(fn: CheckFn) -> CheckFn:
        judged = _judged(fn)
        CHECKS[id] = Check(
            id, title, claim, source, experiments, measured, predicted, rule, judged, version
        )
        return judged

    return deco


def _judged(fn: CheckFn) -> CheckFn:
    """``fn`` followed by the one exclusion policy (:func:`harness.predictions.evidence.apply_policy`).

    Every registered check goes through it, so a check cannot PASS on evidence the policy
    withholds (rows lost to failed points, NaN, missing status, unmet preconditions, ...).
    """
    from harness.predictions.evidence import apply_policy

    def judged(tables: Mapping[str, pd.DataFrame]) -> CheckResult:
        return apply_policy(fn(tables))

    judged.__doc__ = fn.__doc__
    judged.__name__ = getattr(fn, "__name__", "check")
    return judged


def load_checks() -> dict[str, Check]:
    """Import every module of this package (each registers its checks) and return them."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return CHECKS
