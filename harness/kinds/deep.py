"""Experiment kinds for Ergen & Pilanci (ICML 2021), THEORY.md Part B.

* ``deep_synthetic`` (Fig. 4): Gaussian ``X``, labels from a random three-layer parallel
  network; SGD (or Adam) from ``n_inits`` initialisations at every ``K`` of ``K_list``
  against the optimum of (13) on the same data, and its Prop. 1 network.
* ``deep_uci`` (Table 1): one UCI set and one split of the collection
  (``conxuntos_kfold.dat`` pair ``fold``); target = class index (regression); SGD with the
  learning rate chosen on the training split, best of ``n_inits``, against (13).
* ``deep_fmnist`` (Fig. 5/6 in spirit): Fashion-MNIST classes 0-4 vs 5-9 (+-1 targets),
  ``n_train`` rows, PCA to ``d``; (16) with Adam against (5) with SGD and Adam; test
  accuracy and objective against time.

Rows carry ``record``:

* ``"convex"`` — one per point: ``p13`` (value of (13), numpy), ``dual_bound``,
  ``duality_gap``, ``solve_status``, ``solve_time_s``, ``solve_iters``, ``tol``,
  ``max_cone_violation``, ``mapped_objective`` ((5) at the Prop. 1 weights),
  ``mapping_rel_err`` (``|mapped - p13| / max(1, p13)``), ``mapped_K``, ``W1_max_norm``,
  the arrangement counts (``P1_unique``, ``P2_unique``, ``n_blocks`` ...), ``test_error``
  and ``train_objective`` (``p13 / n_train``) for UCI.
* ``"run"`` — one per training run: ``method`` (optimizer), ``K``, ``init``, ``lr``,
  ``final_objective`` ((5)), ``status`` ("ok"/"diverged"), ``covered`` (every sub-network
  of the Lemma-1-rebalanced final network lies in a block of the arrangement set, so Thm 1
  gives ``final_objective >= p13``), ``n_uncovered``, ``time_s``; UCI adds ``test_error``,
  ``train_objective`` and ``is_best`` (best init at the chosen lr: the Table 1 entry).
* ``"trace"`` — objective (and for fmnist test accuracy) against ``epoch`` and ``time_s``.

Before anything is computed a point refuses (InputError, with the size) a (13) whose
estimated memory exceeds ``max_memory_gb``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.datasets import load_mnist_binary_split, resolve_data_dir, uci_instance
from harness.deep.arrangements import (
    Arrangements,
    covering_blocks,
    sample_arrangements,
    saturate_arrangements,
)
from harness.deep.convex import (
    DEFAULT_MEMORY_LIMIT_GB,
    beta_max13,
    build_program,
    check_program_memory,
    solve13_reference,
)
from harness.deep.mapping import blocks_to_network
from harness.deep.model import FloatArray, objective, predict, random_net, rebalance
from harness.deep.penalized import train_penalized
from harness.deep.training import OPTIMIZERS, TrainRun, train_many
from harness.errors import DataError, InputError
from harness.instances import make_rng
from harness.kinds import register_kind
from harness.kinds.common import BetaRule
from harness.params import Flag, Interval, IntList, Options, Parameters, Text, param, parse_P_list
from harness.solvers.result import SolveResult

#: The six sets of Table 1 (THEORY.md Part B).
UCI_SETS = (
    "acute-inflammation",
    "acute-nephritis",
    "balloons",
    "breast-tissue",
    "fertility",
    "pittsburg-bridges-SPAN",
)
ARRANGEMENTS = ("sampled", "saturated")
#: Logged trace points per run (geometric in epochs).
N_TRACE = 30
#: A sub-network counts as covered when its cone constraints hold up to this relative slack.
COVER_RTOL = 1e-7

_POS = Interval(int, 1, None)
_NONNEG = Interval(int, 0, None)
_RATE = Interval(float, 0.0, None, closed="neither")
_MOMENTUM = Interval(float, 0.0, 1.0, closed="left")


@dataclass(frozen=True, kw_only=True)
class DeepProgram(BetaRule):
    """The convex program (13) of a point: ``m1``, sampled arrangements ``P1 x P2``, the
    weight decay (``beta``, else ``beta_rel * beta_max13``) and the memory limit of the solve.
    """

    m1: int = param(_POS, 2)
    P1: int = param(_POS, 50)
    P2: int = param(_POS, 5)
    beta_rel: float | None = param(Interval(float, 0.0, 1.0, closed="right"), 0.01)
    max_memory_gb: float = param(_RATE, DEFAULT_MEMORY_LIMIT_GB)

    def check_memory(self, n: int, d: int, n_blocks: int | None = None) -> None:
        """Refuse (InputError with the size) a (13) beyond ``max_memory_gb``."""
        blocks = self.P1 * self.P2 if n_blocks is None else n_blocks
        check_program_memory(n, d, self.m1, blocks, self.max_memory_gb)

    def preflight(self) -> None:
        """Refuse a point whose (13) exceeds ``max_memory_gb`` before a sweep starts."""
        check_point_memory(self)


@dataclass(frozen=True, kw_only=True)
class DeepTraining(Parameters):
    """SGD/Adam on the nonconvex model (5): inits, optimizer, momentum, epochs, batch."""

    n_inits: int = param(_POS, 5)
    optimizer: str = param(Options(OPTIMIZERS), "sgd")
    momentum: float = param(_MOMENTUM, 0.9)
    epochs: int = param(_POS, 2000)
    batch_size: int = param(_NONNEG, 0)

    @property
    def batch(self) -> int | None:
        """Mini-batch size, ``None`` for full batch (``batch_size = 0``)."""
        return None if self.batch_size == 0 else self.batch_size


@dataclass(frozen=True, kw_only=True)
class DeepSyntheticParams(DeepProgram, DeepTraining):
    """``deep_synthetic`` (Fig. 4): data from a ``teacher_K`` teacher, SGD at every ``K``."""

    n: int = param(_POS)
    d: int = param(_POS)
    teacher_K: int = param(_POS, 2)
    K_list: str = param(IntList(), "1,2,5,20")
    lr: float = param(_RATE, 1e-3)
    arrangement: str = param(Options(ARRANGEMENTS), "sampled")
    noise: float = param(Interval(float, 0.0, None), 0.0)


@dataclass(frozen=True, kw_only=True)
class DeepUciParams(DeepProgram, DeepTraining):
    """``deep_uci`` (Table 1): one set and split, SGD with the lr chosen on the split."""

    dataset: str = param(Options(UCI_SETS))
    fold: int = param(Interval(int, 0, 3), 0)
    K: int = param(_POS, 10)
    P1: int = param(_POS, 30)
    P2: int = param(_POS, 4)
    epochs: int = param(_POS, 300)
    batch_size: int = param(_NONNEG, 16)
    lr_list: str = param(
        Text("0123456789.,e-", "a comma-separated list of floats, e.g. '1e-3,1e-2'"),
        "0.0001,0.001,0.01",
    )


@dataclass(frozen=True, kw_only=True)
class DeepFmnistParams(DeepProgram):
    """``deep_fmnist`` (Fig. 5/6): (16) with Adam against (5) with SGD and Adam."""

    n_train: int = param(_POS, 1000)
    n_test: int = param(_POS, 500)
    d: int = param(_POS, 20)
    K: int = param(_POS, 10)
    P1: int = param(_POS, 20)
    P2: int = param(_POS, 2)
    rho: float = param(_RATE, 1.0)
    lr_convex: float = param(_RATE, 1e-2)
    lr_sgd: float = param(_RATE, 1e-4)
    lr_adam: float = param(_RATE, 1e-2)
    momentum: float = param(_MOMENTUM, 0.9)
    epochs: int = param(_POS, 20)
    batch_size: int = param(_POS, 100)
    solve_clarabel: bool = param(Flag(), False)


def _beta(p: BetaRule, X: FloatArray, y: FloatArray, arr: Arrangements) -> tuple[float, float]:
    """``(beta, beta_max)``: the spec's ``beta``, else ``beta_rel * beta_max13``."""
    bmax = beta_max13(X, y, arr)
    return p.beta_value(bmax), bmax


def _lr_list(text: str) -> list[float]:
    try:
        vals = [float(v) for v in str(text).split(",")]
    except ValueError as exc:
        raise InputError(f"field 'lr_list' must be comma-separated floats; got {text!r}") from exc
    if not vals or min(vals) <= 0:
        raise InputError(f"field 'lr_list' must hold floats > 0; got {text!r}")
    return vals


def _trace_epochs(n_logged: int) -> np.ndarray:
    if n_logged <= N_TRACE:
        return np.arange(n_logged)
    geo = np.rint(np.geomspace(1, n_logged - 1, N_TRACE)).astype(int)
    return np.unique(np.concatenate([[0], geo]))


def _solve_record(res: SolveResult) -> dict[str, Any]:
    return {
        "p13": res.objective if res.ok else np.nan,
        "p13_raw": res.objective,
        "dual_bound": np.nan if res.dual_bound is None else res.dual_bound,
        "duality_gap": np.nan if res.duality_gap is None else res.duality_gap,
        "solve_status": res.status,
        "solver": res.solver,
        "solve_time_s": res.time_s,
        "solve_iters": res.n_iter,
        "tol": res.tol,
        "max_cone_violation": res.max_cone_violation,
        "n_active_groups": res.n_active,
    }


def convex_record(
    X: FloatArray, y: FloatArray, arr: Arrangements, beta: float, res: SolveResult
) -> tuple[dict[str, Any], Any]:
    """The ``record="convex"`` row and the Prop. 1 network of a solve of (13)."""
    prog = build_program(arr)
    net = blocks_to_network(prog, res.variables["Z"], arr)
    mapped = objective(net, X, y, beta)
    row: dict[str, Any] = {
        "record": "convex",
        **_solve_record(res),
        **arr.counts(),
        "mapped_objective": mapped,
        "mapping_rel_err": abs(mapped - res.objective) / max(1.0, abs(res.objective)),
        "mapped_K": net.K,
        "W1_max_norm": float(np.max(net.frobenius_norms())),
    }
    return row, net


def run_record(
    run: TrainRun, X: FloatArray, arr: Arrangements | None, **extra: Any
) -> dict[str, Any]:
    """The ``record="run"`` row of one training run (with Thm 1 coverage)."""
    n_unc = -1
    if arr is not None and run.status == "ok":
        n_unc = int(np.sum(covering_blocks(rebalance(run.net), X, arr, COVER_RTOL) == -1))
    return {
        "record": "run",
        "method": run.optimizer,
        "lr_used": run.lr,
        "final_objective": run.final_objective,
        "status": run.status,
        "covered": bool(n_unc == 0),
        "n_uncovered": n_unc,
        "time_s": float(run.times[-1]),
        "epochs_run": int(run.epochs[-1]),
        **extra,
    }


def trace_rows(run: TrainRun, **extra: Any) -> list[dict[str, Any]]:
    """``record="trace"`` rows: objective (5) (and the monitor, as ``test_accuracy``)
    against epoch and wall time."""
    rows = []
    for i in _trace_epochs(run.epochs.size):
        row = {
            "record": "trace",
            "method": run.optimizer,
            "epoch": int(run.epochs[i]),
            "time_s": float(run.times[i]),
            "objective": float(run.objectives[i]),
            **extra,
        }
        if run.monitor.size:
            row["test_accuracy"] = float(run.monitor[i])
        rows.append(row)
    return rows


def check_point_memory(p: DeepProgram) -> bool:
    """Refuse (InputError with the size) the point's (13) before anything is computed.

    Returns False when the size is known only later (saturated arrangements, checked by the
    kind after saturation) or no (13) is solved (``deep_fmnist`` without ``solve_clarabel``).
    UCI points read their split to learn ``n`` and ``d`` (a missing file is a DataError).
    """
    if isinstance(p, DeepSyntheticParams):
        if p.arrangement == "saturated":
            return False
        p.check_memory(p.n, p.d)
    elif isinstance(p, DeepUciParams):
        n, d = uci_split(p.dataset, p.fold)[0].shape
        p.check_memory(n, d)
    elif isinstance(p, DeepFmnistParams):
        if not p.solve_clarabel:
            return False
        p.check_memory(p.n_train, p.d)
    return True


# ----------------------------------------------------------------------------- Fig. 4
@register_kind("deep_synthetic", params=DeepSyntheticParams, requires=[("n",), ("d",)])
def deep_synthetic(p: DeepSyntheticParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Fig. 4 of Ergen & Pilanci 2021 (THEORY.md Part B): SGD at several K vs (13).

    Parameters
    ----------
    p : DeepSyntheticParams
        ``n``, ``d``; optional ``m1`` (2), ``teacher_K`` (2), ``K_list`` ("1,2,5,20"),
        ``n_inits`` (5), ``optimizer`` ("sgd"), ``lr`` (1e-3), ``momentum`` (0.9), ``epochs``
        (2000), ``batch_size`` (0 = full batch), ``arrangement`` ("sampled" with ``P1``,
        ``P2``, or "saturated"), ``beta_rel`` (0.01, of :func:`~harness.deep.convex.beta_max13`) or ``beta``, ``noise`` (0), ``max_memory_gb`` (4).
    seed : SeedSequence
        Children: data, arrangements, training inits.
    """
    n, d, m1 = p.n, p.d, p.m1
    if p.arrangement == "sampled":
        p.check_memory(n, d)
    K_list = parse_P_list(p.K_list)
    data_ss, arr_ss, init_ss = seed.spawn(3)
    rng = make_rng(data_ss)
    X = rng.standard_normal((n, d))
    clean = np.zeros(n)
    for _ in range(100):  # a teacher whose output on X is not identically zero
        clean = predict(random_net(p.teacher_K, d, m1, rng), X)
        if np.any(clean != 0):
            break
    rms = float(np.sqrt(np.mean(clean**2)))
    clean = clean / rms if rms > 0 else clean  # unit-RMS labels: beta_rel means the same
    y = clean + p.noise * rng.standard_normal(n)
    arng = make_rng(arr_ss)
    if p.arrangement == "saturated":
        arr = saturate_arrangements(X, m1, arng)
        p.check_memory(n, d, arr.n_blocks)
    else:
        arr = sample_arrangements(X, m1, p.P1, p.P2, arng)
    beta, bmax = _beta(p, X, y, arr)
    res = solve13_reference(X, y, arr, beta, memory_limit_gb=p.max_memory_gb)
    row, _ = convex_record(X, y, arr, beta, res)
    rows: list[dict[str, Any]] = [row]
    for K, ss in zip(K_list, init_ss.spawn(len(K_list))):
        runs = train_many(
            X,
            y,
            beta,
            K,
            m1,
            ss.spawn(p.n_inits),
            optimizer=p.optimizer,
            lr=p.lr,
            momentum=p.momentum,
            epochs=p.epochs,
            batch_size=p.batch,
        )
        for i, run in enumerate(runs):
            rows.append(run_record(run, X, arr, K=K, init=i))
            rows.extend(trace_rows(run, K=K, init=i))
    for r in rows:
        r.update(beta_used=beta, beta_max=bmax)
    return rows


# ----------------------------------------------------------------------------- Table 1
def require_uci_files(name: str) -> None:
    """DataError naming the file when a Table 1 set's folder lacks one of its files.

    (:func:`harness.datasets.load_uci` reports a set without ``<name>_R.dat`` as unknown.)
    """
    root = resolve_data_dir()
    folder = root / "uci" / name
    for fname in (f"{name}_R.dat", "conxuntos.dat", "conxuntos_kfold.dat"):
        if folder.is_dir() and not (folder / fname).is_file():
            raise DataError(f"data file uci/{name}/{fname} is missing (looked in {folder})")


def uci_split(name: str, fold: int) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Training and test rows of split ``fold``, class index as target."""
    require_uci_files(name)
    tr = uci_instance(name, "train", "label", fold=fold)
    te = uci_instance(name, "test", "label", fold=fold)
    return tr.X, tr.y, te.X, te.y


def _mse(pred: FloatArray, y: FloatArray) -> float:
    return float(np.mean((pred - y) ** 2))


@register_kind("deep_uci", params=DeepUciParams, requires=[("dataset",)])
def deep_uci(p: DeepUciParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Table 1 of Ergen & Pilanci 2021 (THEORY.md Part B) on one UCI set and split.

    ``train_objective`` is (5) divided by the number of training rows and ``test_error`` the
    mean squared error on the test rows (class index as target). SGD: for each lr of
    ``lr_list`` ``n_inits`` runs; the lr with the lowest best-of-inits training objective is
    chosen (training split only) and its best init is the Table 1 entry (``is_best``).
    Convex: (13) on sampled arrangements; its test error is that of the Prop. 1 network.

    Parameters
    ----------
    p : DeepUciParams
        ``dataset`` (one of :data:`UCI_SETS`); optional ``fold`` (0..3), ``m1``, ``K``,
        ``n_inits``, ``optimizer``, ``lr_list``, ``momentum``, ``epochs``, ``batch_size``
        (0 = full batch), ``P1``, ``P2``, ``beta_rel`` (or ``beta``), ``max_memory_gb``.
    seed : SeedSequence
    """
    name = p.dataset
    Xtr, ytr, Xte, yte = uci_split(name, p.fold)
    n, d = Xtr.shape
    p.check_memory(n, d)
    lrs = _lr_list(p.lr_list)
    m1 = p.m1
    arr_ss, init_ss = seed.spawn(2)
    arr = sample_arrangements(Xtr, m1, p.P1, p.P2, make_rng(arr_ss))
    beta, bmax = _beta(p, Xtr, ytr, arr)
    res = solve13_reference(Xtr, ytr, arr, beta, memory_limit_gb=p.max_memory_gb)
    row, net = convex_record(Xtr, ytr, arr, beta, res)
    row.update(
        method="convex",
        train_objective=row["p13"] / n,
        test_error=_mse(predict(net, Xte), yte) if res.ok else np.nan,
    )
    rows: list[dict[str, Any]] = [row]
    inits = init_ss.spawn(p.n_inits)  # the same inits for every lr
    per_lr: list[list[TrainRun]] = []
    for lr in lrs:
        per_lr.append(
            train_many(
                Xtr,
                ytr,
                beta,
                p.K,
                m1,
                inits,
                optimizer=p.optimizer,
                lr=lr,
                momentum=p.momentum,
                epochs=p.epochs,
                batch_size=p.batch,
            )
        )
    best_per_lr = [np.nanmin([r.final_objective for r in runs] + [np.inf]) for runs in per_lr]
    chosen = int(np.argmin(best_per_lr))
    best_init = int(np.nanargmin([r.final_objective for r in per_lr[chosen]] + [np.inf]))
    for j, runs in enumerate(per_lr):
        for i, run in enumerate(runs):
            ok = run.status == "ok"
            rows.append(
                run_record(
                    run,
                    Xtr,
                    arr,
                    init=i,
                    lr_chosen=bool(j == chosen),
                    is_best=bool(j == chosen and i == best_init and ok),
                    train_objective=run.final_objective / n,
                    test_error=_mse(predict(run.net, Xte), yte) if ok else np.nan,
                )
            )
    for r in rows:
        r.update(n_train=n, n_test=int(Xte.shape[0]), d_features=d, beta_used=beta, beta_max=bmax)
    return rows


# ----------------------------------------------------------------------------- Fig. 5/6
def _accuracy(pred: FloatArray, y: FloatArray) -> float:
    return float(np.mean(np.where(pred >= 0, 1.0, -1.0) == y))


@register_kind("deep_fmnist", params=DeepFmnistParams)
def deep_fmnist(p: DeepFmnistParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Fig. 5/6 in spirit: (16) with Adam vs (5) with SGD and Adam on Fashion-MNIST.

    Binary task 0-4 vs 5-9 (``harness.datasets.load_mnist_binary_split``), PCA to ``d``
    fitted on the training rows. Every method gets ``epochs`` epochs of mini-batches of
    ``batch_size``; the trace records the objective ((16) for the convex method, (5)
    otherwise) and the test accuracy of the network (Prop. 1 network for (16)).
    ``solve_clarabel`` also solves (13) on the same arrangements for reference.
    """
    d, m1 = p.d, p.m1
    if p.solve_clarabel:  # (13) is solved only on request; (16) needs no cone program
        p.check_memory(p.n_train, d)
    data_ss, arr_ss, conv_ss, nc_ss = seed.spawn(4)
    tr, te = load_mnist_binary_split(
        p.n_train,
        p.n_test,
        make_rng(data_ss),
        d=d,
        projection="pca",
        center=True,
        dataset="fashion-mnist",
    )
    X, y, Xte, yte = tr.X, tr.y, te.X, te.y
    arr = sample_arrangements(X, m1, p.P1, p.P2, make_rng(arr_ss))
    beta, bmax = _beta(p, X, y, arr)
    rows: list[dict[str, Any]] = []
    epochs, bs = p.epochs, p.batch_size
    pen = train_penalized(
        X,
        y,
        arr,
        beta,
        p.rho,
        lr=p.lr_convex,
        epochs=epochs,
        batch_size=bs,
        rng=make_rng(conv_ss),
        monitor=lambda net: _accuracy(predict(net, Xte), yte),
    )
    rows.append(
        {
            "record": "run",
            "method": "convex16_adam",
            "final_objective": float(pen.objectives16[-1]),
            "objective13": pen.objective13,
            "mapped_objective": pen.objective5,
            "max_cone_violation": pen.cone_violation,
            "status": pen.status,
            "time_s": float(pen.times[-1]),
            "train_accuracy": _accuracy(predict(pen.net, X), y),
            "test_accuracy": _accuracy(predict(pen.net, Xte), yte),
            **arr.counts(),
        }
    )
    for e in range(pen.epochs.size):
        rows.append(
            {
                "record": "trace",
                "method": "convex16_adam",
                "epoch": e,
                "time_s": float(pen.times[e]),
                "objective": float(pen.objectives16[e]),
                "test_accuracy": float(pen.monitor[e]),
            }
        )
    for opt, lr, ss in zip(OPTIMIZERS, (p.lr_sgd, p.lr_adam), nc_ss.spawn(2)):
        run = train_many(
            X,
            y,
            beta,
            p.K,
            m1,
            [ss],
            optimizer=opt,
            lr=float(lr),
            momentum=p.momentum,
            epochs=epochs,
            batch_size=bs,
            monitor=lambda net: _accuracy(predict(net, Xte), yte),
        )[0]
        ok = run.status == "ok"
        rows.append(
            {
                **run_record(run, X, None),
                "method": f"nonconvex_{opt}",
                "train_accuracy": _accuracy(predict(run.net, X), y) if ok else np.nan,
                "test_accuracy": _accuracy(predict(run.net, Xte), yte) if ok else np.nan,
            }
        )
        rows.extend(
            {**r, "method": f"nonconvex_{opt}"} for r in trace_rows(run) if r["epoch"] <= epochs
        )
    if p.solve_clarabel:
        res = solve13_reference(X, y, arr, beta, memory_limit_gb=p.max_memory_gb)
        row, net = convex_record(X, y, arr, beta, res)
        row["test_accuracy"] = _accuracy(predict(net, Xte), yte)
        rows.append(row)
    for r in rows:
        r.update(beta_used=beta, beta_max=bmax)
    return rows
