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

import math
from typing import Any

import numpy as np

from harness import formulations as F
from harness.errors import InputError
from harness.formulations import FloatArray
from harness.instances import gaussian_instance, make_rng
from harness.kinds import declare_kind_params, register_kind
from harness.mapping import convex_to_network, gated_to_network
from harness.params import Interval, Options
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


def beta_rel_path(point: dict[str, Any]) -> list[float]:
    """The relative weight decays of a point, THEORY.md §A8 (``beta = beta_rel * beta_max``).

    ``[beta_rel]`` when the point sets ``beta_rel``; otherwise ``n_beta`` log-spaced values
    from ``beta_rel_max`` down to ``beta_rel_min`` (defaults in :data:`DEFAULTS`).

    Raises
    ------
    InputError
        Values outside ``(0, 1]`` or ``beta_rel_min > beta_rel_max``.
    """
    if "beta_rel" in point:
        b = _float(point, "beta_rel")
        if not 0 < b <= 1:
            raise InputError(f"beta_rel must be a float in (0, 1]; got {point['beta_rel']!r}")
        return [b]
    lo = _float(point, "beta_rel_min", DEFAULTS["beta_rel_min"])
    hi = _float(point, "beta_rel_max", DEFAULTS["beta_rel_max"])
    k = point.get("n_beta", DEFAULTS["n_beta"])
    if not (0 < lo <= hi <= 1):
        raise InputError(
            f"beta_rel_min and beta_rel_max must satisfy 0 < beta_rel_min <= beta_rel_max <= 1; "
            f"got {lo!r} and {hi!r}"
        )
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"n_beta must be an integer >= 1; got {k!r}")
    if k == 1:
        return [hi]
    return [float(b) for b in np.geomspace(hi, lo, int(k))]


def _float(point: dict[str, Any], key: str, default: float | None = None) -> float:
    value = point.get(key, default)
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise InputError(f"{key} must be a finite number; got {value!r}") from exc
    if not math.isfinite(v):
        raise InputError(f"{key} must be a finite number; got {value!r}")
    return v


def _load_split(point: dict[str, Any], seed: np.random.SeedSequence) -> _Split:
    """Training and test data of a point (planted teacher or MNIST 0-4 vs 5-9)."""
    dataset = point["dataset"]
    n, d = int(point["n"]), int(point["d"])
    n_test = int(point.get("n_test", DEFAULTS["n_test"]))
    if n_test < 1:
        raise InputError(f"n_test must be an integer >= 1; got {n_test!r}")
    if dataset == "planted":
        inst = gaussian_instance(
            n + n_test,
            d,
            seed=seed,
            labels="planted",
            width=int(point.get("teacher_width", DEFAULTS["teacher_width"])),
            weight_law=point.get("weight_law", DEFAULTS["weight_law"]),
            noise=float(point.get("noise", DEFAULTS["noise"])),
        )
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
    if dataset == "mnist":
        from harness.datasets import N_PIXELS, load_mnist_binary_split

        projection = point.get("projection", DEFAULTS["projection"])
        if projection not in PROJECTIONS:
            raise InputError(f"projection must be one of {list(PROJECTIONS)}; got {projection!r}")
        if d == N_PIXELS:
            projection = "none"
        train, test = load_mnist_binary_split(
            n,
            n_test,
            make_rng(seed),
            d=None if projection == "none" else d,
            projection=projection,
            center=True,
        )
        return _Split(
            train.X,
            train.y,
            test.X,
            test.y,
            train.y,
            test.y,
            None,
            f"mnist/{projection}/centred",
        )
    raise InputError(f"dataset must be one of {list(DATASETS)}; got {dataset!r}")


def _count_neurons(alpha: FloatArray, rtol: float = 1e-6) -> int:
    """Neurons of a mapped network carrying weight: ``alpha_j^2 = ||u_i||`` above ``rtol``
    times the largest (the mapping keeps every non-zero column, however small)."""
    if alpha.size == 0:
        return 0
    a2 = alpha * alpha
    return int(np.sum(a2 > rtol * a2.max())) if a2.max() > 0 else 0


def _accuracy(pred: FloatArray, target_sign: FloatArray) -> float:
    return float(np.mean(np.where(pred >= 0, 1.0, -1.0) == target_sign))


@register_kind("regularization")
def regularization(point: dict[str, Any], seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """Test accuracy of mapped convex solutions against beta, THEORY.md §A8 Appendix E.

    Parameters
    ----------
    point : dict
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

    for key in ("dataset", "n", "d", "P"):
        if key not in point:
            raise InputError(f"regularization point needs field {key!r}; got {sorted(point)}")
    if point["dataset"] not in DATASETS:
        raise InputError(f"dataset must be one of {list(DATASETS)}; got {point['dataset']!r}")
    formulation = point.get("formulation", DEFAULTS["formulation"])
    if formulation not in FORMULATIONS:
        raise InputError(f"formulation must be one of {list(FORMULATIONS)}; got {formulation!r}")
    solver = point.get("solver", DEFAULTS["solver"])
    betas_rel = beta_rel_path(point)

    data_seed, pattern_seed = seed.spawn(2)
    split = _load_split(point, data_seed)
    X, y = split.X, split.y
    patterns = sample_patterns(X, int(point["P"]), make_rng(pattern_seed))
    D = patterns.D
    bmax = F.beta_max(X, y, D)
    D_test = (split.X_test @ patterns.generators) >= 0
    majority = float(max(np.mean(split.sign_test > 0), np.mean(split.sign_test < 0)))

    opts: dict[str, Any] = {k: point[k] for k in ("tol", "max_iter") if k in point}
    config: dict[str, Any] = {
        "formulation": formulation,
        "solver": solver,
        "n_test": int(point.get("n_test", DEFAULTS["n_test"])),
        "data_source": split.source,
    }
    if point["dataset"] == "planted":
        config["teacher_width"] = int(point.get("teacher_width", DEFAULTS["teacher_width"]))
        config["noise"] = float(point.get("noise", DEFAULTS["noise"]))
    else:
        config["projection"] = point.get("projection", DEFAULTS["projection"])

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
    return [{k: v for k, v in row.items() if k not in point} for row in rows]


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
        U_net, alpha, dec = gated_to_network(X, D, W)
        map_status = dec.status
        pred_gm = F.gated_predict(split.X_test, D_test, W)
        acc_gated_model = _accuracy(pred_gm, split.sign_test)
    else:
        U_net, alpha = convex_to_network(res.variables["U"], res.variables["V"])
        map_status = "exact"
    mapped = F.network_objective(X, y, U_net, alpha, beta)
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


declare_kind_params(
    "regularization",
    params={
        "dataset": Options(DATASETS),
        "n_test": Interval(int, 1, None),
        "formulation": Options(FORMULATIONS),
        "projection": Options(PROJECTIONS),
        "beta_rel_min": Interval(float, 0.0, 1.0, closed="right"),
        "beta_rel_max": Interval(float, 0.0, 1.0, closed="right"),
        "n_beta": Interval(int, 1, None),
    },
    requires=[("dataset",), ("n",), ("d",), ("P",)],
)
