"""Effect of regularisation on test accuracy (Appendix E of Kim & Pilanci), THEORY.md §A8.

Kind ``"regularization"``: fit the convex program -- the cone-constrained ReLU program (3)
(``formulation="relu"``) or the gated group lasso (5) (``formulation="gated"``) -- on
``P`` sampled patterns for a path of weight-decay strengths, map every solution to a
two-layer ReLU network (THEORY.md §A2 "Mapping"; the cone decomposition for the gated
program) and measure its test accuracy.

Settings the paper does not state (THEORY.md §A8: n, d, the lambda grid and the widths are
[UNRECOVERED]; the paper used SCNN, we use the harness's own solvers):

* ``dataset="planted"``: ``n + n_test`` rows of (A1) data labelled by one planted teacher
  of width ``teacher_width`` (default 50, as in App. E) with label noise ``noise``
  (:func:`harness.instances.gaussian_instance`); the first ``n`` rows train, the rest
  test. Accuracy is sign agreement between the network and the *noise-free* teacher,
  ``sign f(x) == sign f_teacher(x)``; ``test_mse`` is against the noisy held-out labels
  and ``test_mse_teacher`` against the teacher's output.
* ``dataset="mnist"``: MNIST digits 0-4 -> +1, 5-9 -> -1; ``n`` training rows from the
  training split and ``n_test`` rows from the test split
  (:func:`harness.datasets.load_mnist_binary_split`), pixels / 255, centred, projected to
  ``d`` principal directions fitted on the training rows (``projection="pca"``).
* ``beta = beta_rel * beta_max`` with ``beta_max = max_i ||X^T D_i y||`` over the point's
  sampled patterns (above it the optimum is the zero network). The point gives either one
  ``beta_rel`` or a path ``beta_rel_min``, ``beta_rel_max``, ``n_beta`` (log-spaced). A
  path is solved on the *same* data and patterns for every beta, so the variation of
  accuracy across beta is not confounded with resampling the data (paired design).
* Signs: ``f(x) >= 0`` counts as +1 (the zero network predicts +1).

All solves are reported, whatever their status; only ``status == "optimal"`` rows enter
the P18 verdict (:mod:`harness.predictions.training`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness import formulations as F
from harness.errors import InputError
from harness.formulations import FloatArray
from harness.instances import make_rng
from harness.kinds import register_kind
from harness.kinds.common import SolverChoice, SyntheticInstance, mnist_task
from harness.mapping import cone_decomposition, convex_to_network, relu_network_value
from harness.params import Interval, Options, Parameters, param
from harness.patterns import sample_patterns
from harness.solvers.result import SolveResult

DATASETS = ("planted", "mnist")
FORMULATIONS = ("relu", "gated")
PROJECTIONS = ("pca", "random", "none")

#: Defaults of the optional point fields (chosen by us; THEORY.md §A8 leaves them open).
DEFAULTS: dict[str, Any] = {
    "n_test": 500,
    "formulation": "relu",
    "solver": "clarabel",
    "teacher_width": 50,
    "weight_law": "gaussian",
    "noise": 0.1,
    "projection": "pca",
    "beta_rel_min": 1e-3,
    "beta_rel_max": 0.3,
    "n_beta": 6,
}

#: Measured columns of every row (besides the point parameters).
ROW_COLUMNS = (
    "beta_rel",
    "beta",
    "beta_max",
    "P_unique",
    "status",
    "raw_status",
    "objective",
    "solver_objective",
    "duality_gap",
    "n_active",
    "max_cone_violation",
    "solve_time_s",
    "n_neurons",
    "mapped_objective",
    "mapped_rel_err",
    "mapped_ratio",
    "map_status",
    "train_acc",
    "test_acc",
    "test_acc_gated_model",
    "test_acc_majority",
    "test_mse",
    "test_mse_teacher",
)


class _Split:
    """Train/test data of one point and the targets used for accuracy."""

    def __init__(
        self,
        X: FloatArray,
        y: FloatArray,
        X_test: FloatArray,
        y_test: FloatArray,
        sign_train: FloatArray,
        sign_test: FloatArray,
        f_test: FloatArray | None,
        source: str,
    ) -> None:
        self.X, self.y, self.X_test, self.y_test = X, y, X_test, y_test
        self.sign_train, self.sign_test = sign_train, sign_test
        self.f_test = f_test
        self.source = source


_BETA_REL = Interval(float, 0.0, 1.0, closed="right")


@dataclass(frozen=True, kw_only=True)
class BetaPath(Parameters):
    """One ``beta_rel`` or a log-spaced path of ``n_beta`` values (``beta = beta_rel beta_max``)."""

    beta_rel: float | None = param(_BETA_REL, None)
    beta_rel_min: float = param(_BETA_REL, DEFAULTS["beta_rel_min"])
    beta_rel_max: float = param(_BETA_REL, DEFAULTS["beta_rel_max"])
    n_beta: int = param(Interval(int, 1, None), DEFAULTS["n_beta"])

    def path(self) -> list[float]:
        """``[beta_rel]``, or ``n_beta`` values from ``beta_rel_max`` down to ``beta_rel_min``.

        Raises
        ------
        InputError
            ``beta_rel_min > beta_rel_max``.
        """
        if self.beta_rel is not None:
            return [float(self.beta_rel)]
        lo, hi = self.beta_rel_min, self.beta_rel_max
        if lo > hi:
            raise InputError(
                "beta_rel_min and beta_rel_max must satisfy beta_rel_min <= beta_rel_max; "
                f"got {lo!r} and {hi!r}"
            )
        if self.n_beta == 1:
            return [hi]
        return [float(b) for b in np.geomspace(hi, lo, self.n_beta)]


@dataclass(frozen=True, kw_only=True)
class RegularizationParams(SyntheticInstance, BetaPath, SolverChoice):
    """``regularization``: the data set, ``P`` patterns, the beta path, the program solved."""

    dataset: str = param(Options(DATASETS))
    P: int = param(Interval(int, 1, None))
    n_test: int = param(Interval(int, 1, None), DEFAULTS["n_test"])
    formulation: str = param(Options(FORMULATIONS), DEFAULTS["formulation"])
    projection: str = param(Options(PROJECTIONS), DEFAULTS["projection"])
    teacher_width: int = param(Interval(int, 1, None), DEFAULTS["teacher_width"])
    noise: float = param(Interval(float, 0.0, None), DEFAULTS["noise"])


def beta_rel_path(p: BetaPath | Mapping[str, Any]) -> list[float]:
    """The relative weight decays of a point, THEORY.md §A8 (see :meth:`BetaPath.path`)."""
    if not isinstance(p, BetaPath):
        p = BetaPath.build(p)
    return p.path()


def _load_split(p: RegularizationParams, seed: np.random.SeedSequence) -> _Split:
    """Training and test data of a point (planted teacher or MNIST 0-4 vs 5-9)."""
    n, n_test = p.n, p.n_test
    if p.dataset == "planted":
        inst = dataclasses.replace(p, labels="planted").instance(seed, n=n + n_test)
        assert inst.teacher is not None  # labels="planted" always sets it
        f_all = inst.teacher.predict(inst.X)
        sign_all = np.where(f_all >= 0, 1.0, -1.0)
        return _Split(
            inst.X[:n],
            inst.y[:n],
            inst.X[n:],
            inst.y[n:],
            sign_all[:n],
            sign_all[n:],
            f_all[n:],
            f"planted/width{inst.meta['width']}",
        )
    task = mnist_task(n, p.d, p.projection, make_rng(seed), n_test=n_test)
    assert task.X_test is not None and task.y_test is not None
    return _Split(task.X, task.y, task.X_test, task.y_test, task.y, task.y_test, None, task.source)


def _count_neurons(alpha: FloatArray, rtol: float = 1e-6) -> int:
    """Neurons of a mapped network carrying weight: ``alpha_j^2 = ||u_i||`` above ``rtol``
    times the largest (the mapping keeps every non-zero column, however small)."""
    if alpha.size == 0:
        return 0
    a2 = alpha * alpha
    return int(np.sum(a2 > rtol * a2.max())) if a2.max() > 0 else 0


def _accuracy(pred: FloatArray, target_sign: FloatArray) -> float:
    return float(np.mean(np.where(pred >= 0, 1.0, -1.0) == target_sign))


@register_kind(
    "regularization",
    params=RegularizationParams,
    requires=[("dataset",), ("n",), ("d",), ("P",)],
)
def regularization(p: RegularizationParams, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Test accuracy of mapped convex solutions against beta, THEORY.md §A8 Appendix E.

    Parameters
    ----------
    p : RegularizationParams
        Required: ``dataset`` in {"planted", "mnist"}, ``n`` (training rows), ``d``, ``P``
        (number of sampled patterns), and either ``beta_rel`` or the path fields
        ``beta_rel_min``, ``beta_rel_max``, ``n_beta``. Optional: ``n_test``,
        ``formulation`` in {"relu", "gated"}, ``solver`` (registry name, default
        "clarabel"), ``tol``, ``max_iter``, ``teacher_width``, ``weight_law``, ``noise``,
        ``projection``.
    seed : SeedSequence
        Split into a data seed and a pattern seed.

    Returns
    -------
    list of dict
        One row per beta with the columns of :data:`ROW_COLUMNS` (and the configuration
        fields not given in ``point``). ``objective`` is the convex objective recomputed
        from the solver's variables; ``mapped_objective`` the value of (1) at the mapped
        network; ``mapped_rel_err = |mapped - objective| / objective`` (zero up to solver
        tolerance for the ReLU program, THEORY.md §A2) and ``mapped_ratio = mapped /
        objective`` (>= 1 for the gated program, at most the cone sharpness, Prop 4.2).
        ``test_acc_gated_model`` is the accuracy of the gated model itself (test
        patterns ``1[X_test h_i >= 0]`` from the sampled generators ``h_i``; ``nan`` for
        the ReLU program). ``test_acc_majority`` is the majority-class rate of the test
        targets (the accuracy of a constant predictor).

    Raises
    ------
    InputError
        Invalid point fields.
    DataError
        MNIST data missing.
    """
    from harness.solvers.registry import solve

    formulation = p.formulation
    solver = p.solver
    betas_rel = p.path()

    data_seed, pattern_seed = seed.spawn(2)
    split = _load_split(p, data_seed)
    X, y = split.X, split.y
    patterns = sample_patterns(X, p.P, make_rng(pattern_seed))
    D = patterns.D
    bmax = F.beta_max(X, y, D)
    D_test = (split.X_test @ patterns.generators) >= 0
    majority = float(max(np.mean(split.sign_test > 0), np.mean(split.sign_test < 0)))

    opts: dict[str, Any] = {}
    if p.tol is not None:
        opts["tol"] = p.tol
    if p.max_iter is not None:
        opts["max_iter"] = p.max_iter
    config: dict[str, Any] = {
        "formulation": formulation,
        "solver": solver,
        "n_test": p.n_test,
        "data_source": split.source,
    }
    if p.dataset == "planted":
        config["teacher_width"] = p.teacher_width
        config["noise"] = p.noise
    else:
        config["projection"] = p.projection

    rows: list[dict[str, Any]] = []
    previous: SolveResult | None = None
    for b_rel in betas_rel:
        beta = b_rel * bmax
        kwargs = dict(opts)
        if previous is not None and solver != "clarabel":
            kwargs["warm_start"] = previous  # first-order solvers accept warm starts
        res = solve(formulation, X, y, D, beta, solver=solver, **kwargs)
        previous = res
        rows.append(
            {
                **config,
                "beta_rel": float(b_rel),
                "beta": float(beta),
                "beta_max": float(bmax),
                "P_unique": int(patterns.P_unique),
                **_evaluate(res, split, D, D_test, beta),
                "test_acc_majority": majority,
            }
        )
    return [{k: v for k, v in row.items() if k not in p.given} for row in rows]


def _evaluate(
    res: SolveResult, split: _Split, D: F.BoolArray, D_test: F.BoolArray, beta: float
) -> dict[str, Any]:
    """Map one solution to a network and score it (THEORY.md §A2 "Mapping")."""
    X, y = split.X, split.y
    out: dict[str, Any] = {
        "status": res.status,
        "raw_status": res.raw_status,
        "objective": float(res.objective),
        "solver_objective": float(res.solver_objective),
        "duality_gap": math.nan if res.duality_gap is None else float(res.duality_gap),
        "n_active": int(res.n_active),
        "max_cone_violation": float(res.max_cone_violation),
        "solve_time_s": float(res.time_s),
    }
    acc_gated_model = math.nan
    if res.problem == "gated":
        W = res.variables["W"]
        dec = cone_decomposition(X, D, W)
        A, B = dec.A, dec.B
        map_status = dec.status
        pred_gm = F.gated_predict(split.X_test, D_test, W)
        acc_gated_model = _accuracy(pred_gm, split.sign_test)
    else:
        A, B = res.variables["U"], res.variables["V"]
        map_status = "exact"
    U_net, alpha = convex_to_network(A, B)  # the network scored below
    mapped = relu_network_value(X, y, A, B, beta)
    obj = float(res.objective)
    scale = max(abs(obj), np.finfo(np.float64).tiny)
    pred_train = F.network_predict(X, U_net, alpha)
    pred_test = F.network_predict(split.X_test, U_net, alpha)
    out.update(
        {
            "n_neurons": _count_neurons(alpha),
            "mapped_objective": float(mapped),
            "mapped_rel_err": float(abs(mapped - obj) / scale),
            "mapped_ratio": float(mapped / scale),
            "map_status": map_status,
            "train_acc": _accuracy(pred_train, split.sign_train),
            "test_acc": _accuracy(pred_test, split.sign_test),
            "test_acc_gated_model": acc_gated_model,
            "test_mse": float(np.mean((pred_test - split.y_test) ** 2)),
            "test_mse_teacher": (
                math.nan
                if split.f_test is None
                else float(np.mean((pred_test - split.f_test) ** 2))
            ),
        }
    )
    return out
