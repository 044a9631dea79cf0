"""Experiment kinds for Ergen & Pilanci (2019), THEORY.md Part C: Fig. 1 and Fig. 2.

``shallow_single`` (m = 1: GD (2) vs RGD (5)) and ``shallow_multi`` (m neurons: GD (11) vs
the modified update (17)). Both methods of a point are trained on the *same* data and
the same initial point (paired comparison), so the point parameter is ``methods`` (one
method or ``"both"``) and each row carries the column ``method``.

Rows are in a long, tidy format: one row per ``(method, logged iteration)``. Columns:

* ``method``; ``iter`` (iteration index ``t``); ``is_final`` (True on the row of the last
  iteration, ``t = n_iter`` or the divergence point);
* ``train_error``, ``test_error`` (relative squared errors ``||pred - y||^2 / ||y||^2``,
  training set and ``n_test`` fresh samples), ``recovery_error`` (``||x_t - x*||_2``,
  NaN for ``shallow_multi``), ``grad_norm_rel`` (``||G_t|| / ||G_0||`` of the update
  direction);
* per-run summaries repeated on every row of the run: ``final_train_error``,
  ``final_test_error``, ``final_recovery_error``, ``iters_to_tol`` (first ``t`` with
  training error ``<= tol``; NaN if never), ``iters_to_recovery`` (first ``t`` with
  recovery error ``<= recovery_tol``; NaN if never), ``final_grad_rel`` (largest
  ``grad_norm_rel`` over the last 10 iterations), ``converged`` (``final_grad_rel <=
  stationary_rtol``: the iteration has stopped moving), ``status`` (``"ok"`` or
  ``"diverged"``), ``n_positive`` (number of nonzero labels), ``tol``, ``recovery_tol``,
  ``stationary_rtol``, ``stop_iter`` (iteration where the run reached a fixed point up to
  round-off, ``||G_t|| <= stop_rtol ||G_0||``, and stopped; later logged rows repeat its
  values; NaN if it ran all ``n_iter`` iterations), and for ``shallow_multi`` ``final_objective`` (9) and
  ``final_surrogate`` (14);
* the effective settings not given by the spec (``m``, ``mu``, ``n_iter``, ``data_scale``,
  ``n_test``, ``n_log``): the engine already adds the point parameters to every row.

Logged iterations are ``0``, ``n_iter`` and ``n_log`` geometrically spaced ones (the
figures use a log iteration axis).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import InputError
from harness.instances import make_rng
from harness.kinds import register_kind
from harness.params import Interval, Options, Parameters, param
from harness.shallow import (
    DATA_SCALES,
    MULTI_METHODS,
    N_TEST,
    SINGLE_METHODS,
    ShallowRun,
    iterations_to_tolerance,
    multi_objective,
    planted_problem,
    surrogate_objective,
    train,
)

#: Defaults (the paper's settings where it gives them; THEORY.md Part C, Experiments).
SINGLE_DEFAULTS: dict[str, Any] = {
    "methods": "both",
    "mu": 0.1,
    "n_iter": 20000,
    "data_scale": "sqrt_d",
    "n_test": N_TEST,
    "n_log": 60,
    "tol": 1e-8,
    "recovery_tol": 1e-6,
    "stationary_rtol": 1e-8,
    "stop_rtol": 1e-13,
}
MULTI_DEFAULTS: dict[str, Any] = {**SINGLE_DEFAULTS, "m": 3, "mu": 0.08, "n_iter": 5000}
_POSITIVE = Interval(float, 0.0, None, closed="neither")


@dataclass(frozen=True, kw_only=True)
class SingleParams(Parameters):
    """``shallow_single``: problem size, methods, step, iterations, logging and stopping."""

    n: int = param(Interval(int, 1, None))
    d: int = param(Interval(int, 1, None))
    methods: str = param(Options(("both", *SINGLE_METHODS)), SINGLE_DEFAULTS["methods"])
    mu: float = param(_POSITIVE, SINGLE_DEFAULTS["mu"])
    n_iter: int = param(Interval(int, 0, 10_000_000), SINGLE_DEFAULTS["n_iter"])
    data_scale: str = param(Options(DATA_SCALES), SINGLE_DEFAULTS["data_scale"])
    n_test: int = param(Interval(int, 1, None), SINGLE_DEFAULTS["n_test"])
    n_log: int = param(Interval(int, 2, 10_000), SINGLE_DEFAULTS["n_log"])
    tol: float = param(Interval(float, 0.0, 1.0, closed="neither"), SINGLE_DEFAULTS["tol"])
    recovery_tol: float = param(_POSITIVE, SINGLE_DEFAULTS["recovery_tol"])
    stationary_rtol: float = param(_POSITIVE, SINGLE_DEFAULTS["stationary_rtol"])
    stop_rtol: float = param(Interval(float, 0.0, 1e-6), SINGLE_DEFAULTS["stop_rtol"])


@dataclass(frozen=True, kw_only=True)
class MultiParams(SingleParams):
    """``shallow_multi``: as :class:`SingleParams`, with ``m`` neurons and its methods."""

    methods: str = param(Options(("both", *MULTI_METHODS)), MULTI_DEFAULTS["methods"])
    mu: float = param(_POSITIVE, MULTI_DEFAULTS["mu"])
    n_iter: int = param(Interval(int, 0, 10_000_000), MULTI_DEFAULTS["n_iter"])
    m: int = param(Interval(int, 1, None), MULTI_DEFAULTS["m"])


#: Columns of every row returned by the two kinds (besides the effective settings).
ROW_COLUMNS = (
    "method",
    "iter",
    "is_final",
    "train_error",
    "test_error",
    "recovery_error",
    "grad_norm_rel",
    "final_train_error",
    "final_test_error",
    "final_recovery_error",
    "iters_to_tol",
    "iters_to_recovery",
    "final_grad_rel",
    "converged",
    "stop_iter",
    "status",
    "n_positive",
)
#: Number of final iterations over which ``final_grad_rel`` takes the maximum.
_STATIONARY_WINDOW = 10


def log_iterations(n_iter: int, n_log: int) -> np.ndarray:
    """Logged iteration indices: 0, ``n_iter`` and ``n_log`` geometric points in between."""
    if n_iter == 0:
        return np.array([0])
    geo = np.rint(np.geomspace(1, n_iter, max(n_log, 2))).astype(int)
    return np.unique(np.concatenate([[0], geo, [n_iter]]))


def _methods(value: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if value == "both":
        return allowed
    if value not in allowed:
        raise InputError(
            f"point field 'methods' must be one of {['both', *allowed]}; got {value!r}"
        )
    return (value,)


def run_rows(run: ShallowRun, cfg: dict[str, Any], extra: dict[str, Any]) -> list[dict[str, Any]]:
    """Long-format rows of one run (module docstring) on the logged iterations."""
    g0 = run.grad_norm[0]
    grad_rel = run.grad_norm / g0 if g0 > 0 else np.where(run.grad_norm > 0, np.inf, 0.0)
    finite = np.flatnonzero(np.isfinite(run.train_error))
    last = int(finite[-1]) if finite.size else 0
    window = grad_rel[max(0, last - _STATIONARY_WINDOW + 1) : last + 1]
    final_grad_rel = float(np.max(window)) if run.status == "ok" else float("nan")
    its = iterations_to_tolerance(run.train_error, cfg["tol"])
    its_rec = iterations_to_tolerance(run.recovery_error, cfg["recovery_tol"])
    summary = {
        "final_train_error": float(run.train_error[last]) if run.status == "ok" else np.nan,
        "final_test_error": float(run.test_error[last]) if run.status == "ok" else np.nan,
        "final_recovery_error": (float(run.recovery_error[last]) if run.status == "ok" else np.nan),
        "iters_to_tol": float(its) if its is not None else np.nan,
        "iters_to_recovery": float(its_rec) if its_rec is not None else np.nan,
        "final_grad_rel": final_grad_rel,
        "converged": bool(run.status == "ok" and final_grad_rel <= cfg["stationary_rtol"]),
        "stop_iter": float(run.stop_iter) if run.stop_iter is not None else np.nan,
        "status": run.status,
        **extra,
    }
    logged = log_iterations(run.n_iter, int(cfg["n_log"]))
    if run.status != "ok":
        logged = np.unique(np.append(logged[logged <= last], last))
    rows = []
    for t in logged:
        rows.append(
            {
                "method": run.method,
                "iter": int(t),
                "is_final": bool(t == logged[-1]),
                "train_error": float(run.train_error[t]),
                "test_error": float(run.test_error[t]),
                "recovery_error": float(run.recovery_error[t]),
                "grad_norm_rel": float(grad_rel[t]),
                **summary,
            }
        )
    return rows


def _run_kind(p: SingleParams, seed: np.random.SeedSequence, model: str) -> list[dict[str, Any]]:
    cfg = p.as_dict()
    given = p.given
    allowed = SINGLE_METHODS if model == "single" else MULTI_METHODS
    methods = _methods(p.methods, allowed)
    m = p.m if isinstance(p, MultiParams) else 1
    n, d = p.n, p.d
    data_seed, init_seed = seed.spawn(2)
    problem = planted_problem(
        n, d, m, make_rng(data_seed), data_scale=cfg["data_scale"], n_test=int(cfg["n_test"])
    )
    X0 = make_rng(init_seed).standard_normal((d, m))
    settings = {
        key: cfg[key]
        for key in ("mu", "n_iter", "data_scale", "n_test", "n_log", "tol", "recovery_tol")
        if key not in given
    }
    for key in ("stationary_rtol", "stop_rtol"):
        if key not in given:
            settings[key] = cfg[key]
    if "m" not in given:
        settings["m"] = m
    rows: list[dict[str, Any]] = []
    for method in methods:
        run = train(
            problem,
            X0,
            method=method,
            mu=float(cfg["mu"]),
            n_iter=int(cfg["n_iter"]),
            tol=float(cfg["tol"]),
            model=model,
            stop_rtol=float(cfg["stop_rtol"]),
        )
        extra: dict[str, Any] = {"n_positive": problem.n_positive, **settings}
        if model == "multi":
            ok = run.status == "ok"
            extra["final_objective"] = (
                multi_objective(problem.A, problem.y, run.X) if ok else np.nan
            )
            extra["final_surrogate"] = (
                surrogate_objective(problem.A, problem.y, run.X) if ok else np.nan
            )
        rows.extend(run_rows(run, cfg, extra))
    return rows


@register_kind("shallow_single", params=SingleParams, requires=[("n", "c"), ("d",)])
def shallow_single(p: SingleParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Fig. 1 of Ergen & Pilanci (2019): GD (2) vs RGD (5) on the planted model (4), Part C.

    Draws ``A`` (n, d), ``x* ~ N(0, I_d)`` and 100 test rows from the first child of
    ``seed`` and ``x_0 ~ N(0, I_d)`` from the second, then trains every requested method
    from the same ``x_0`` for ``n_iter`` iterations with step ``mu``.

    Parameters
    ----------
    p : the kind's parameter dataclass
        ``n`` (or ``c`` with ``n = round(c d)``), ``d``; optional ``methods``
        (``"both"``, ``"gd"``, ``"rgd"``; default both), ``mu`` (0.1), ``n_iter`` (20000),
        ``data_scale`` (``"sqrt_d"``: rows of ``A`` divided by ``sqrt(d)``, see
        :mod:`harness.shallow`), ``n_test`` (100), ``n_log`` (60), ``tol`` (1e-8, relative
        training error), ``recovery_tol`` (1e-6), ``stationary_rtol`` (1e-8), ``stop_rtol``
        (1e-13: early stop at a round-off fixed point; 0 disables).
    seed : SeedSequence

    Returns
    -------
    list of dict
        Long-format rows, one per (method, logged iteration); columns in the module
        docstring.
    """
    return _run_kind(p, seed, "single")


@register_kind("shallow_multi", params=MultiParams, requires=[("n", "c"), ("d",)])
def shallow_multi(p: MultiParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Fig. 2 of Ergen & Pilanci (2019): GD (11) vs modified GD (17) on model (8), Part C.

    Same protocol as :func:`shallow_single` with ``m`` planted and trained neurons
    (``X*`` and ``X_0`` with i.i.d. ``N(0, 1)`` entries); ``recovery_error`` is NaN
    (the minimisers are defined up to a permutation of the neurons).

    Parameters
    ----------
    p : the kind's parameter dataclass
        ``n`` (or ``c``), ``d``; optional ``m`` (3), ``methods`` (``"both"``, ``"gd"``,
        ``"modified"``), ``mu`` (0.08), ``n_iter`` (5000), ``data_scale``, ``n_test``,
        ``n_log``, ``tol``, ``recovery_tol``, ``stationary_rtol``, ``stop_rtol`` as for
        :func:`shallow_single`.
    seed : SeedSequence

    Returns
    -------
    list of dict
        Long-format rows; also ``final_objective`` (9) and ``final_surrogate`` (14).
    """
    return _run_kind(p, seed, "multi")
