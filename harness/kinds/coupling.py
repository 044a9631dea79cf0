"""Coupling-lemma experiment (Figure 2 of Kim & Pilanci), THEORY.md §A3 (A2), Lemma 2.4, §A8.

Kind ``"coupling"``: full-batch gradient descent (or Adam) on the non-convex objective
(1) from a random Gaussian initialisation, recording the activation patterns
``D_j^(t) = 1[X u_j^(t) >= 0]`` at log-spaced steps ``t`` and the preserved fractions
of THEORY.md §A8::

    frac_neuron(t) = 1/m sum_j 1[D_j^(t) = D_j^(0)]           (what (A2) / Thm 2.5 need)
    frac_entry(t)  = 1/(m n) sum_{j,i} 1[(D_j^(t))_ii = (D_j^(0))_ii]   (Li & Liang's lemma)

Settings the paper does not state (THEORY.md §A8: width, learning rate, steps, n and d are
[UNRECOVERED]) are chosen by us and recorded in every row:

* **Data.** ``dataset="gaussian"``: (A1) design ``X_ij ~ N(0, 1)`` with labels
  ``labels="gaussian"`` (``y ~ N(0, I)``, "random data") or ``"planted"`` (a random
  teacher of width ``teacher_width``). ``dataset="mnist"``: ``n`` training images of
  MNIST, digits 0-4 -> +1 and 5-9 -> -1 (:func:`harness.datasets.load_mnist_binary`),
  pixels / 255, centred, then projected on the top ``d`` principal directions
  (``projection="pca"``, default; ``"random"`` uses a Gaussian projection; ``d = 784``
  keeps raw pixels). PCA to ``d = 20..50`` keeps the experiment fast; no bias term is
  used, as in (1), which is why the pixels are centred.
* **Learning rate.** ``lr`` is the step size ``eta`` of GD on the *mean* loss
  ``L(theta) / n`` (the PyTorch ``MSELoss``-style convention in which learning rates are
  usually quoted); the step actually taken on (1) is ``eta / n`` and is recorded as
  ``step_size``. For ``method="adam"``, ``lr`` is Adam's step (Adam is invariant to the
  ``1/n`` rescaling of the gradient up to its ``eps``), used as is.
* **Weight decay.** ``beta`` is the ``beta`` of (1) (absolute; default ``1e-4``); on the
  mean loss it is ``beta / n``.
* **Initialisation.** ``u_j^(0) ~ N(0, sigma_u^2 I_d)``, ``alpha_j^(0) ~ N(0,
  sigma_alpha^2)`` with ``sigma_u = 1/sqrt(d)``, ``sigma_alpha = 1/sqrt(m)``
  (:func:`harness.nonconvex.default_init_scales`), or both equal to ``init_scale`` when
  the point sets it. Both sigmas are recorded (Lemma 2.4's bound ``1 - e tau l / sigma``
  depends on ``sigma``).

A run that diverges (non-finite objective) is kept, with ``status="diverged"``; its final
fractions and training metrics are ``nan`` (the weights at divergence mean nothing), its
recorded steps before divergence are kept.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from harness.errors import InputError
from harness.formulations import FloatArray
from harness.instances import gaussian_instance, make_rng
from harness.kinds import declare_kind_params, register_kind
from harness.nonconvex import default_init_scales, final_patterns, train_network
from harness.params import Interval, Options

DATASETS = ("gaussian", "mnist")
METHODS = ("gd", "adam")
PROJECTIONS = ("pca", "random", "none")

#: Defaults of the optional point fields (chosen by us; THEORY.md §A8 leaves them open).
DEFAULTS: dict[str, Any] = {
    "beta": 1e-4,
    "method": "gd",
    "lr": 0.01,
    "n_steps": 1000,
    "n_record": 20,
    "labels": "gaussian",
    "teacher_width": 5,
    "weight_law": "gaussian",
    "noise": 0.0,
    "projection": "pca",
}
ADAM_DEFAULT_LR = 1e-3

#: Columns of every row (besides the point parameters the sweep engine adds).
ROW_COLUMNS = (
    "step",
    "final",
    "frac_neuron",
    "frac_entry",
    "loss",
    "loss_rel",
    "status",
    "stop_reason",
    "converged",
    "n_steps_taken",
    "step_size",
    "sigma_u",
    "sigma_alpha",
    "initial_loss",
    "max_loss_ratio",
    "train_mse",
    "train_acc",
    "grad_norm",
    "time_s",
)


def log_record_steps(n_steps: int, n_record: int) -> list[int]:
    """Log-spaced recording steps for Figure 2, THEORY.md §A8: ``0`` plus ``<= n_record - 1``
    distinct integers from ``geomspace(1, n_steps)`` (``n_steps`` included).

    Parameters
    ----------
    n_steps : int
        Number of GD steps (``>= 0``).
    n_record : int
        Requested number of recorded steps including step 0 (``>= 2``); fewer are returned
        when rounding makes early steps coincide.

    Returns
    -------
    list of int
        Increasing, starts with 0.
    """
    if n_steps <= 0:
        return [0]
    grid = np.geomspace(1.0, float(n_steps), max(int(n_record) - 1, 1))
    steps = np.unique(np.round(grid).astype(np.int64))
    return [0, *(int(s) for s in steps if s >= 1)]


def coupling_data(
    point: dict[str, Any], seed: np.random.SeedSequence
) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
    """Training data ``(X, y)`` of a coupling point, THEORY.md §A3 (A1) / §A8 (MNIST task).

    Parameters
    ----------
    point : dict
        ``dataset``, ``n``, ``d`` and the optional ``labels``, ``teacher_width``,
        ``weight_law``, ``noise`` (Gaussian data) or ``projection`` (MNIST).
    seed : SeedSequence
        Seed of the data draw (the subsample / projection for MNIST).

    Returns
    -------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
    info : dict
        Scalar description of the data (``data_source``).

    Raises
    ------
    InputError
        Unknown ``dataset`` or ``projection``.
    DataError
        MNIST files missing or corrupt.
    """
    dataset = point["dataset"]
    n, d = int(point["n"]), int(point["d"])
    if dataset == "gaussian":
        inst = gaussian_instance(
            n,
            d,
            seed=seed,
            labels=point.get("labels", DEFAULTS["labels"]),
            width=int(point.get("teacher_width", DEFAULTS["teacher_width"])),
            weight_law=point.get("weight_law", DEFAULTS["weight_law"]),
            noise=float(point.get("noise", DEFAULTS["noise"])),
        )
        return inst.X, inst.y, {"data_source": f"gaussian/{inst.meta['labels']}"}
    if dataset == "mnist":
        from harness.datasets import N_PIXELS, load_mnist_binary

        projection = point.get("projection", DEFAULTS["projection"])
        if projection not in PROJECTIONS:
            raise InputError(f"projection must be one of {list(PROJECTIONS)}; got {projection!r}")
        if d == N_PIXELS:
            projection = "none"
        inst = load_mnist_binary(
            n,
            make_rng(seed),
            d=None if projection == "none" else d,
            projection=projection,
            center=True,
        )
        return inst.X, inst.y, {"data_source": f"mnist/{projection}/centred"}
    raise InputError(f"dataset must be one of {list(DATASETS)}; got {dataset!r}")


@register_kind("coupling")
def coupling(point: dict[str, Any], seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Preserved activation patterns during GD on (1), THEORY.md §A3 (A2) / §A8 Figure 2.

    Parameters
    ----------
    point : dict
        Required: ``dataset`` in {"gaussian", "mnist"}, ``n``, ``d``, ``width`` (``m``).
        Optional (defaults in :data:`DEFAULTS`): ``lr`` (GD step on the mean loss, see the
        module docstring), ``method`` in {"gd", "adam"}, ``beta`` (weight decay of (1)),
        ``n_steps``, ``n_record`` (number of log-spaced recorded steps), ``init_scale``,
        ``labels``, ``teacher_width``, ``weight_law``, ``noise``, ``projection``.
    seed : SeedSequence
        Split into a data seed and an initialisation seed.

    Returns
    -------
    list of dict
        One row per recorded step (``final=False``) plus one final row (``final=True``,
        ``step = n_steps_taken``, fractions from the returned weights) with the columns of
        :data:`ROW_COLUMNS`, plus any of the configuration fields not given in ``point``
        (so a row always names its ``lr``, ``beta``, ``method``, ...). ``loss`` is the value
        of (1) (penalty included) at ``step``; ``loss_rel = loss / initial_loss``;
        ``max_loss_ratio`` is the largest ``loss / initial_loss`` of the run (above 1 flags
        an unstable step size); ``train_mse = ||f(X) - y||^2 / n`` and ``train_acc`` (sign
        agreement, ``f >= 0`` read as +1) are for the final weights.

    Raises
    ------
    InputError
        Invalid point fields.
    DataError
        MNIST data missing.
    """
    cfg = _coupling_config(point)
    data_seed, init_seed = seed.spawn(2)
    X, y, info = coupling_data(point, data_seed)
    n, d = X.shape
    m = cfg["width"]
    if cfg["method"] == "gd":
        step_size = cfg["lr"] / n
    else:
        step_size = cfg["lr"]
    init_scale = cfg.get("init_scale")
    if init_scale is None:
        sigma_u, sigma_alpha = default_init_scales(d, m)
    else:
        sigma_u = sigma_alpha = float(init_scale)
    record = log_record_steps(cfg["n_steps"], cfg["n_record"])
    res = train_network(
        X,
        y,
        cfg["beta"],
        m,
        make_rng(init_seed),
        method=cfg["method"],
        lr=step_size,
        n_steps=cfg["n_steps"],
        init_scale=init_scale,
        record_patterns_at=record,
    )
    steps, frac_neuron, frac_entry = res.pattern_fractions()
    losses = res.losses
    loss0 = float(losses[0])
    finite = losses[np.isfinite(losses)]
    max_ratio = float(np.max(finite) / loss0) if finite.size and loss0 > 0 else math.nan
    diverged = res.stop_reason == "diverged"
    status = "diverged" if diverged else "ok"

    weights_finite = bool(np.all(np.isfinite(res.U)) and np.all(np.isfinite(res.alpha)))
    if weights_finite and not diverged:
        D0 = res.pattern_log[0]
        same = final_patterns(X, res.U) == D0
        fin_neuron = float(same.all(axis=0).mean())
        fin_entry = float(same.mean())
        pred = np.maximum(X @ res.U, 0.0) @ res.alpha
        train_mse = float(np.mean((pred - y) ** 2))
        train_acc = float(np.mean(np.where(pred >= 0, 1.0, -1.0) == np.where(y >= 0, 1.0, -1.0)))
    else:
        fin_neuron = fin_entry = train_mse = train_acc = math.nan

    common: dict[str, Any] = {
        **{k: v for k, v in cfg.items() if k != "init_scale"},
        "init_scale": math.nan if init_scale is None else float(init_scale),
        "status": status,
        "stop_reason": res.stop_reason,
        "converged": bool(res.converged),
        "n_steps_taken": int(res.n_steps),
        "step_size": float(step_size),
        "sigma_u": float(sigma_u),
        "sigma_alpha": float(sigma_alpha),
        "initial_loss": loss0,
        "max_loss_ratio": max_ratio,
        "grad_norm": float(res.grad_norm),
        "time_s": float(res.time_s),
        **info,
    }
    rows: list[dict[str, Any]] = []
    for t, fn, fe in zip(steps, frac_neuron, frac_entry):
        loss = float(losses[int(t)])
        rows.append(
            {
                **common,
                "step": int(t),
                "final": False,
                "frac_neuron": float(fn),
                "frac_entry": float(fe),
                "loss": loss,
                "loss_rel": loss / loss0 if loss0 > 0 else math.nan,
                "train_mse": math.nan,
                "train_acc": math.nan,
            }
        )
    final_loss = float(res.objective)
    rows.append(
        {
            **common,
            "step": int(res.n_steps),
            "final": True,
            "frac_neuron": fin_neuron,
            "frac_entry": fin_entry,
            "loss": final_loss,
            "loss_rel": final_loss / loss0 if loss0 > 0 else math.nan,
            "train_mse": train_mse,
            "train_acc": train_acc,
        }
    )
    # the sweep engine adds the point's own parameters; a row must not repeat them
    return [{k: v for k, v in row.items() if k not in point} for row in rows]


def _coupling_config(point: dict[str, Any]) -> dict[str, Any]:
    """Point fields with defaults filled in and checked (one-line InputError otherwise)."""
    for key in ("dataset", "n", "d", "width"):
        if key not in point:
            raise InputError(f"coupling point needs field {key!r}; got fields {sorted(point)}")
    dataset = point["dataset"]
    if dataset not in DATASETS:
        raise InputError(f"dataset must be one of {list(DATASETS)}; got {dataset!r}")
    method = point.get("method", DEFAULTS["method"])
    if method not in METHODS:
        raise InputError(f"method must be one of {list(METHODS)}; got {method!r}")
    lr_default = DEFAULTS["lr"] if method == "gd" else ADAM_DEFAULT_LR
    cfg: dict[str, Any] = {
        "dataset": dataset,
        "n": _pos_int(point, "n"),
        "d": _pos_int(point, "d"),
        "width": _pos_int(point, "width"),
        "method": method,
        "lr": _pos_float(point, "lr", lr_default),
        "beta": _pos_float(point, "beta", DEFAULTS["beta"]),
        "n_steps": _pos_int(point, "n_steps", DEFAULTS["n_steps"]),
        "n_record": _pos_int(point, "n_record", DEFAULTS["n_record"], low=2),
        "init_scale": None if "init_scale" not in point else _pos_float(point, "init_scale"),
    }
    if dataset == "gaussian":
        cfg["labels"] = point.get("labels", DEFAULTS["labels"])
        cfg["noise"] = float(point.get("noise", DEFAULTS["noise"]))
        if cfg["labels"] == "planted":
            cfg["teacher_width"] = int(point.get("teacher_width", DEFAULTS["teacher_width"]))
    else:
        cfg["projection"] = point.get("projection", DEFAULTS["projection"])
    return cfg


def _pos_int(point: dict[str, Any], key: str, default: int | None = None, low: int = 1) -> int:
    value = point.get(key, default)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{key} must be an integer >= {low}; got {value!r}")
    if value < low:
        raise InputError(f"{key} must be an integer >= {low}; got {value!r}")
    return int(value)


def _pos_float(point: dict[str, Any], key: str, default: float | None = None) -> float:
    value = point.get(key, default)
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise InputError(f"{key} must be a finite number > 0; got {value!r}") from exc
    if not math.isfinite(v) or v <= 0:
        raise InputError(f"{key} must be a finite number > 0; got {value!r}")
    return v


declare_kind_params(
    "coupling",
    params={
        "dataset": Options(DATASETS),
        "method": Options(METHODS),
        "lr": Interval(float, 0.0, None, closed="neither"),
        "n_steps": Interval(int, 1, None),
        "n_record": Interval(int, 2, None),
        "init_scale": Interval(float, 0.0, None, closed="neither"),
        "projection": Options(PROJECTIONS),
    },
    requires=[("dataset",), ("n",), ("d",), ("width",)],
)
