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
* **Learning rate against width.** With ``lr_width_ref`` unset the rate is the same at
  every width (``lr_scaling = "constant"``). With ``lr_width_ref = m0`` it is scaled as
  ``1/m``: the rate used is ``lr_effective = lr * m0 / m`` (``lr_scaling = "1/m"``), the
  given ``lr`` being the rate at width ``m0``. In this parameterisation
  (``alpha_j ~ N(0, 1/m)``) the top eigenvalue of the mean-loss Hessian grows like
  ``~0.16 m``, so a constant rate diverges at large ``m``; ``1/m`` keeps every width at
  the same fraction of the stability limit ``2 / lambda_max`` (the wide-network regime of
  Li & Liang 2018 in which the lemma is stated).
* **Widths the lemma covers.** Lemma 2.4 is a statement about wide networks (Li & Liang
  need ``m >= poly(n)``); the point's ``lemma_width_over_n`` (default 0: every width) sets
  the smallest width we read it as covering, ``lemma_min_width = ceil(lemma_width_over_n
  n)``, recorded with ``lemma_covered = width >= lemma_min_width`` (check P15 decides (A2)
  on the covered widths and lists the others as out of scope).
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
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.formulations import FloatArray
from harness.instances import LABEL_MODELS, make_rng
from harness.kinds import register_kind
from harness.kinds.common import SyntheticInstance, mnist_task
from harness.nonconvex import default_init_scales, final_patterns, train_network
from harness.params import Interval, Options, param

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
    "lemma_width_over_n": 0.0,
}
ADAM_DEFAULT_LR = 1e-3
_POSITIVE = Interval(float, 0.0, None, closed="neither")


@dataclass(frozen=True, kw_only=True)
class CouplingParams(SyntheticInstance):
    """``coupling``: the data set, network width, optimiser and its recording schedule.

    ``lr`` defaults to ``DEFAULTS["lr"]`` for GD (a step on the mean loss) and to
    :data:`ADAM_DEFAULT_LR` for Adam; ``init_scale`` to :func:`default_init_scales`.
    """

    dataset: str = param(Options(DATASETS))
    width: int = param(Interval(int, 1, None))
    labels: str = param(Options(LABEL_MODELS), DEFAULTS["labels"])
    method: str = param(Options(METHODS), DEFAULTS["method"])
    lr: float | None = param(_POSITIVE, None)
    beta: float = param(_POSITIVE, DEFAULTS["beta"])
    n_steps: int = param(Interval(int, 1, None), DEFAULTS["n_steps"])
    n_record: int = param(Interval(int, 2, None), DEFAULTS["n_record"])
    init_scale: float | None = param(_POSITIVE, None)
    projection: str = param(Options(PROJECTIONS), DEFAULTS["projection"])
    lr_width_ref: int | None = param(Interval(int, 1, None), None)  # None: constant lr
    lemma_width_over_n: float = param(Interval(float, 0.0, None), DEFAULTS["lemma_width_over_n"])

    @property
    def lemma_min_width(self) -> int:
        """``ceil(lemma_width_over_n * n)``: the smallest width Lemma 2.4 is read to cover."""
        return max(1, math.ceil(self.lemma_width_over_n * self.n))

    def lr_effective(self, lr: float) -> float:
        """The rate used at this width: ``lr`` (constant) or ``lr * lr_width_ref / width``."""
        if self.lr_width_ref is None:
            return lr
        return lr * self.lr_width_ref / self.width

    def config(self) -> dict[str, Any]:
        """The settings a row names (whether the point set them or not)."""
        lr = self.lr
        if lr is None:
            lr = DEFAULTS["lr"] if self.method == "gd" else ADAM_DEFAULT_LR
        cfg: dict[str, Any] = {
            "dataset": self.dataset,
            "n": self.n,
            "d": self.d,
            "width": self.width,
            "method": self.method,
            "lr": lr,
            "lr_scaling": "constant" if self.lr_width_ref is None else "1/m",
            "lr_width_ref": math.nan if self.lr_width_ref is None else self.lr_width_ref,
            "lr_effective": self.lr_effective(lr),
            "lemma_min_width": self.lemma_min_width,
            "lemma_covered": bool(self.width >= self.lemma_min_width),
            "beta": self.beta,
            "n_steps": self.n_steps,
            "n_record": self.n_record,
        }
        if self.dataset == "gaussian":
            cfg["labels"] = self.labels
            cfg["noise"] = self.noise
            if self.labels == "planted":
                cfg["teacher_width"] = self.teacher_width
        else:
            cfg["projection"] = self.projection
        return cfg


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
    p: CouplingParams, seed: np.random.SeedSequence
) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
    """Training data ``(X, y)`` of a coupling point, THEORY.md §A3 (A1) / §A8 (MNIST task).

    Returns ``X`` (n, d), ``y`` (n,) and ``info``, a scalar description of the data
    (``data_source``). Raises ``DataError`` when the MNIST files are missing or corrupt.
    """
    if p.dataset == "gaussian":
        inst = p.instance(seed)
        return inst.X, inst.y, {"data_source": f"gaussian/{inst.meta['labels']}"}
    task = mnist_task(p.n, p.d, p.projection, make_rng(seed))
    return task.X, task.y, {"data_source": task.source}


@register_kind(
    "coupling", params=CouplingParams, requires=[("dataset",), ("n",), ("d",), ("width",)]
)
def coupling(p: CouplingParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Preserved activation patterns during GD on (1), THEORY.md §A3 (A2) / §A8 Figure 2.

    Parameters
    ----------
    p : CouplingParams
        Required: ``dataset`` in {"gaussian", "mnist"}, ``n``, ``d``, ``width`` (``m``).
        Optional (defaults in :data:`DEFAULTS`): ``lr`` (GD step on the mean loss, see the
        module docstring), ``lr_width_ref`` (``1/m`` scaling of ``lr``),
        ``lemma_width_over_n``, ``method`` in {"gd", "adam"}, ``beta`` (weight decay of (1)),
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
    cfg = p.config()
    data_seed, init_seed = seed.spawn(2)
    X, y, info = coupling_data(p, data_seed)
    n, d = X.shape
    m = cfg["width"]
    if cfg["method"] == "gd":
        step_size = cfg["lr_effective"] / n
    else:
        step_size = cfg["lr_effective"]
    init_scale = p.init_scale
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
        **cfg,
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
    return [{k: v for k, v in row.items() if k not in p.given} for row in rows]
