"""Local training of the non-convex network, THEORY.md §A2 eq. (1), §A6 Thm 2.5, §A8 Fig. 2.

Full-batch gradient descent and Adam on the *regularised* objective (1)::

    L(U, alpha) = 1/2 ||sum_j (X u_j)_+ alpha_j - y||^2 + beta/2 sum_j (||u_j||^2 + alpha_j^2)

exactly as written in THEORY.md (no 1/n factor): the weight decay is part of the objective,
so "GD with weight decay" is plain GD on ``L`` and Adam sees the gradient of ``L`` (L2
regularisation inside the gradient, not decoupled AdamW decay). Value and gradient are those
of :func:`harness.formulations.network_gradient` (subgradient convention ``1[z > 0]`` for the
ReLU), computed in reused buffers (:class:`_Workspace`; equal to rounding). Network weights are ``U`` of shape (d, m) (column ``j`` is ``u_j``) and ``alpha``
of shape (m,).

The trainers also record activation patterns ``D_j^(t) = 1[X u_j^(t) >= 0]`` at chosen
steps, from which :meth:`TrainResult.pattern_fractions` computes the preserved fractions
``frac_neuron`` and ``frac_entry`` of THEORY.md §A8 (Figure 2, assumption (A2)).
``train_restarts`` runs independent random initialisations in parallel (joblib/loky) with
results that do not depend on the number of workers.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from harness.errors import InputError
from harness.formulations import (
    BoolArray,
    FloatArray,
    check_beta,
    check_data,
    network_objective,
)

METHODS = ("gd", "adam")
STOP_REASONS = ("tol", "gradient", "max_steps", "diverged", "line_search_failed")
#: Stop reasons that count as convergence (a certificate-like criterion was met).
CONVERGED_REASONS = ("tol", "gradient")

#: Adam's default step (Kingma & Ba 2015) and moment parameters.
ADAM_LR = 1e-3
ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8

#: Armijo constant and step growth of the backtracking line search used by GD with ``lr=None``.
ARMIJO_C = 1e-4
STEP_GROW = 2.0
STEP_SHRINK = 0.5


@dataclass(frozen=True, eq=False)
class TrainResult:
    """Outcome of one local-training run on eq. (1) (THEORY.md §A2, Thm 2.5).

    Attributes
    ----------
    U : ndarray of shape (d, m)
        Final first-layer weights (column ``j`` is ``u_j``).
    alpha : ndarray of shape (m,)
        Final second-layer weights.
    losses : ndarray of shape (n_steps + 1,)
        Objective (1) (with the weight-decay penalty) at every iterate, step 0 included.
        A diverged run ends with the non-finite value.
    objective : float
        Objective (1) recomputed by :func:`harness.formulations.network_objective` at the
        returned ``(U, alpha)`` (non-finite for a diverged run).
    pattern_log : dict of int to bool ndarray of shape (n, m)
        Activation patterns ``1[X u_j^(t) >= 0]`` at the requested steps ``t`` (only steps
        actually reached); always holds step 0 when recording was requested, else empty.
    n_steps : int
        Number of update steps actually taken.
    converged : bool
        True when ``stop_reason`` is ``"tol"`` or ``"gradient"``.
    stop_reason : {"tol", "gradient", "max_steps", "diverged", "line_search_failed"}
        Why the run stopped, see :func:`train_network`.
    method : {"gd", "adam"}
    lr : float or None
        Fixed step size used; ``None`` for GD with backtracking line search.
    lr_decay : float or None
        Inverse-time decay constant of the fixed step (``lr / (1 + t / lr_decay)``);
        ``None``: constant step (always ``None`` with the line search).
    init_scale : float or None
        The ``init_scale`` argument; ``None`` means the default per-layer rule (or an
        explicit ``init``).
    time_s : float
        Wall-clock training time.
    grad_norm : float
        Euclidean norm of the full gradient ``(grad_U, grad_alpha)`` at the returned point.
    """

    U: FloatArray
    alpha: FloatArray
    losses: FloatArray
    objective: float
    pattern_log: dict[int, BoolArray] = field(repr=False)
    n_steps: int
    converged: bool
    stop_reason: str
    method: str
    lr: float | None
    init_scale: float | None
    time_s: float
    grad_norm: float
    lr_decay: float | None = None

    @property
    def width(self) -> int:
        """Number of neurons ``m``."""
        return int(self.alpha.shape[0])

    @property
    def initial_objective(self) -> float:
        """Objective (1) at the initialisation (``losses[0]``)."""
        return float(self.losses[0])

    def pattern_fractions(self) -> tuple[np.ndarray, FloatArray, FloatArray]:
        """Preserved-pattern fractions, THEORY.md §A8 (Figure 2).

        ``frac_neuron(t) = 1/m sum_j 1[D_j^(t) = D_j^(0)]`` (whole pattern of neuron ``j``
        unchanged since step 0) and ``frac_entry(t) = 1/(m n) sum_{j,i}
        1[(D_j^(t))_ii = (D_j^(0))_ii]``.

        Returns
        -------
        steps : int ndarray of shape (k,)
            Recorded steps in increasing order (starts with 0).
        frac_neuron, frac_entry : float ndarray of shape (k,)

        Raises
        ------
        InputError
            If no patterns were recorded (``record_patterns_at=None``).
        """
        if 0 not in self.pattern_log:
            raise InputError(
                "pattern_log is empty: train with record_patterns_at=[...] or 'all' to get "
                "pattern fractions"
            )
        steps = np.array(sorted(self.pattern_log), dtype=np.int64)
        D0 = self.pattern_log[0]
        stack = np.stack([self.pattern_log[int(t)] for t in steps])  # (k, n, m)
        same = stack == D0[None, :, :]
        frac_neuron = same.all(axis=1).mean(axis=1)
        frac_entry = same.mean(axis=(1, 2))
        return steps, frac_neuron.astype(np.float64), frac_entry.astype(np.float64)

    def to_record(self) -> dict[str, Any]:
        """Flat JSON-serialisable dict of the scalar fields (no arrays)."""
        return {
            "method": self.method,
            "lr": None if self.lr is None else float(self.lr),
            "lr_decay": None if self.lr_decay is None else float(self.lr_decay),
            "init_scale": None if self.init_scale is None else float(self.init_scale),
            "width": self.width,
            "objective": float(self.objective),
            "initial_objective": self.initial_objective,
            "n_steps": int(self.n_steps),
            "converged": bool(self.converged),
            "stop_reason": self.stop_reason,
            "grad_norm": float(self.grad_norm),
            "time_s": float(self.time_s),
        }


def final_patterns(X: FloatArray, U: FloatArray) -> BoolArray:
    """Activation patterns ``D_j = 1[X u_j >= 0]`` of a network, THEORY.md §A8; (n, m) bool.

    These are the patterns ``D'`` of Thm 2.5's mechanism (the convex program restricted to
    a stationary point's own patterns).
    """
    return np.asarray(X @ U >= 0)


def default_init_scales(d: int, width: int) -> tuple[float, float]:
    """Default initialisation standard deviations ``(1/sqrt(d), 1/sqrt(width))``.

    With ``X_ij ~ N(0, 1)`` this keeps every pre-activation ``x_i^T u_j`` and the output
    ``sum_j (x_i^T u_j)_+ alpha_j`` of order one (the scaling of the planted teacher in
    :func:`harness.instances.planted_network`).
    """
    return 1.0 / math.sqrt(d), 1.0 / math.sqrt(width)


def train_network(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    width: int,
    rng: np.random.Generator,
    *,
    method: Literal["gd", "adam"] | str = "gd",
    lr: float | None = None,
    n_steps: int = 2000,
    init_scale: float | None = None,
    tol: float = 1e-10,
    record_patterns_at: Iterable[int] | Literal["all"] | None = None,
    init: tuple[FloatArray, FloatArray] | None = None,
    window: int = 10,
    gtol: float = 1e-8,
    lr_decay: float | None = None,
) -> TrainResult:
    """Full-batch GD or Adam on eq. (1) with weight decay, THEORY.md §A2 / Thm 2.5.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
    beta : float
        Weight-decay strength ``beta > 0``; the penalty ``beta/2 (||U||_F^2 + ||alpha||^2)``
        is part of the minimised objective.
    width : int
        Number of neurons ``m >= 1``.
    rng : numpy.random.Generator
        Source of the initialisation (``U`` drawn first, then ``alpha``).
    method : {"gd", "adam"}
        ``"gd"``: full-batch gradient descent. With ``lr=None`` (default) the step is chosen
        by Armijo backtracking (condition ``L(theta - t g) <= L(theta) - 1e-4 t ||g||^2``;
        first trial ``t = 1/L_est`` with ``L_est = ||X||_2^2 (||U||_F^2 + ||alpha||^2) +
        ||X||_2 ||r|| + beta`` at the initial point, later trials start from twice the last
        accepted step), so ``losses`` is non-increasing; it is still gradient descent, with a
        data-driven step. With a float ``lr`` it is fixed-step GD, which may diverge.
        ``"adam"``: bias-corrected Adam (betas 0.9, 0.999, eps 1e-8) on the gradient of (1);
        default ``lr = 1e-3``. Adam is not monotone.
    lr : float or None
        Step size ``>= 0`` (``0`` leaves the weights fixed; useful as a control).
    n_steps : int
        Maximum number of update steps (``>= 0``).
    init_scale : float or None
        Standard deviation ``sigma > 0`` of the i.i.d. ``N(0, sigma^2)`` initialisation of
        both ``U`` and ``alpha``. ``None``: ``U ~ N(0, 1/d)``, ``alpha ~ N(0, 1/width)``
        (:func:`default_init_scales`). Any isotropic Gaussian ``u_j^(0)`` gives initial
        patterns with exactly the law of the Gaussian-relaxation patterns (Thm 2.5).
    tol : float
        Relative-change stop: stop with ``"tol"`` when ``|L_{t-window} - L_t| <= tol *
        max(|L_t|, tiny)``.
    record_patterns_at : iterable of int, "all" or None
        Steps at which to store ``1[X u_j^(t) >= 0]``; step 0 is always added. ``"all"``
        stores every step (memory ``n * m * (n_steps + 1)`` bytes). ``None``: no recording.
    init : (U0, alpha0) or None
        Explicit initial weights of shapes (d, width) and (width,); overrides the random
        initialisation (``rng`` is then not used).
    window : int
        Window (in steps) of the relative-change stop.
    gtol : float
        Gradient stop: ``"gradient"`` when ``||grad L(theta_t)|| <= gtol * max(1,
        ||grad L(theta_0)||)``.
    lr_decay : float or None
        Inverse-time decay of a fixed step (Adam, or GD with a float ``lr``): step ``t``
        uses ``lr / (1 + t / lr_decay)``. ``None`` (default): constant step. Adam with a
        constant step keeps oscillating at a scale set by the step and rarely meets the
        ``tol`` stop; a decaying step lets it settle (the stationary experiment uses it).
        Ignored by GD's line search.

    Returns
    -------
    TrainResult
        ``stop_reason`` is ``"gradient"``, ``"tol"`` (both count as ``converged``),
        ``"max_steps"``, ``"diverged"`` (non-finite objective; the non-finite iterate is
        returned) or ``"line_search_failed"`` (backtracking could not decrease ``L`` with a
        step that still moves the weights in floating point, e.g. at a ReLU kink or at the
        precision floor).

    Raises
    ------
    InputError
        On invalid data, ``beta``, ``width``, ``method``, ``lr``, ``n_steps``,
        ``init_scale``, ``tol``, ``record_patterns_at``, ``init``, ``window``, ``gtol``
        or ``lr_decay``.

    Notes
    -----
    (1) is not differentiable where some ``x_i^T u_j = 0``. GD can settle on such a kink
    with its one-sided gradient (convention ``1[z > 0]``) far from zero while the objective
    no longer moves; the run then stops with ``"tol"``. ``grad_norm`` is recorded so callers
    can tell such kink points from smooth stationary points.
    """
    X, y = check_data(X, y)
    beta = check_beta(beta)
    d = X.shape[1]
    _check_int("width", width, 1)
    _check_int("n_steps", n_steps, 0)
    _check_int("window", window, 1)
    if method not in METHODS:
        raise InputError(f"method must be one of {list(METHODS)}; got {method!r}")
    if lr is not None:
        lr = _check_nonneg_float("lr", lr)
    tol = _check_nonneg_float("tol", tol)
    gtol = _check_nonneg_float("gtol", gtol)
    if lr_decay is not None:
        lr_decay = _check_nonneg_float("lr_decay", lr_decay)
        if lr_decay == 0.0:
            raise InputError("lr_decay must be a finite number > 0 or None; got 0.0")
    if init_scale is not None:
        init_scale = _check_nonneg_float("init_scale", init_scale)
        if init_scale == 0.0:
            raise InputError("init_scale must be a finite number > 0 or None; got 0.0")
    record = _parse_record_steps(record_patterns_at)

    if init is not None:
        U, alpha = _check_init(init, d, width)
    else:
        if not isinstance(rng, np.random.Generator):
            raise InputError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
        sU, sa = default_init_scales(d, width) if init_scale is None else (init_scale,) * 2
        U = sU * rng.standard_normal((d, width))
        alpha = sa * rng.standard_normal(width)

    use_line_search = method == "gd" and lr is None
    if method == "adam" and lr is None:
        lr = ADAM_LR

    start = time.perf_counter()
    pattern_log: dict[int, BoolArray] = {}
    losses: list[float] = []
    work = _Workspace(X, y, beta, width)
    with np.errstate(over="ignore", invalid="ignore"):
        f, gU, ga = work.value_and_grad(U, alpha)
        losses.append(f)
        gnorm0 = work.norm2(gU, ga)
        step_size = 0.0
        if use_line_search:
            # first trial step is 1 / L_est (each trial starts at STEP_GROW * last step)
            step_size = 1.0 / (STEP_GROW * _curvature_estimate(X, y, U, alpha, beta))
        adam = _AdamState(U, alpha) if method == "adam" else None
        t = 0
        while True:
            gnorm = work.norm2(gU, ga)
            if not math.isfinite(f):
                stop_reason = "diverged"
                break
            if record is True or (record is not None and t in record):
                pattern_log[t] = final_patterns(X, U)
            if gnorm <= gtol * max(1.0, gnorm0):
                stop_reason = "gradient"
                break
            if t >= window and abs(losses[t - window] - f) <= tol * max(abs(f), 1e-300):
                stop_reason = "tol"
                break
            if t >= n_steps:
                stop_reason = "max_steps"
                break

            if use_line_search:
                accepted = _backtrack(X, y, U, alpha, beta, f, gU, ga, gnorm, STEP_GROW * step_size)
                if accepted is None:
                    stop_reason = "line_search_failed"
                    break
                step_size, f_new = accepted
                U = U - step_size * gU
                alpha = alpha - step_size * ga
                _, gU, ga = work.value_and_grad(U, alpha)
                f = f_new  # the Armijo-checked value, so losses is exactly non-increasing
            else:
                assert lr is not None
                lr_t = lr if lr_decay is None else lr / (1.0 + t / lr_decay)
                if adam is None:
                    U -= np.multiply(lr_t, gU, out=work.tmp_U)
                    alpha = alpha - lr_t * ga
                else:
                    alpha = adam.step(U, alpha, gU, ga, t + 1, lr_t)
                f, gU, ga = work.value_and_grad(U, alpha)
            losses.append(f)
            t += 1
        objective = network_objective(X, y, U, alpha, beta)
    elapsed = time.perf_counter() - start

    return TrainResult(
        U=U,
        alpha=alpha,
        losses=np.asarray(losses, dtype=np.float64),
        objective=objective,
        pattern_log=pattern_log,
        n_steps=t,
        converged=stop_reason in CONVERGED_REASONS,
        stop_reason=stop_reason,
        method=str(method),
        lr=None if use_line_search else lr,
        init_scale=None if init is not None else init_scale,
        time_s=elapsed,
        grad_norm=gnorm,
        lr_decay=None if use_line_search else lr_decay,
    )


def train_restarts(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    width: int,
    seed: np.random.SeedSequence,
    n_restarts: int,
    n_jobs: int = 1,
    *,
    blas_threads: int | None = 1,
    **kw: Any,
) -> list[TrainResult]:
    """Independent random restarts of :func:`train_network`, THEORY.md Thm 2.5 / §A8.

    Restart ``k`` uses ``numpy.random.default_rng(children[k])`` with ``children =
    seed.spawn(n_restarts)`` computed on a copy of ``seed`` (the caller's ``SeedSequence``
    is not advanced, so the same ``seed`` always gives the same runs).

    Parameters
    ----------
    X, y, beta, width
        As in :func:`train_network`.
    seed : numpy.random.SeedSequence
        Parent seed of the restarts.
    n_restarts : int
        Number of restarts ``>= 1``.
    n_jobs : int
        joblib worker count (loky backend when ``n_jobs != 1``; ``-1`` = all cores).
    blas_threads : int or None
        BLAS threads per run (threadpoolctl). The default 1 makes every run bitwise
        identical whatever ``n_jobs`` is (a different BLAS thread count can change the
        rounding of matrix products); ``None`` leaves BLAS threading unchanged.
    **kw
        Keyword arguments of :func:`train_network` (``method``, ``lr``, ``n_steps``, ...).

    Returns
    -------
    list of TrainResult
        In restart order.
    """
    X, y = check_data(X, y)
    if not isinstance(seed, np.random.SeedSequence):
        raise InputError(f"seed must be a numpy.random.SeedSequence; got {type(seed).__name__}")
    _check_int("n_restarts", n_restarts, 1)
    if (
        isinstance(n_jobs, (bool, np.bool_))
        or not isinstance(n_jobs, (int, np.integer))
        or n_jobs == 0
    ):
        raise InputError(f"n_jobs must be a non-zero integer (-1 = all cores); got {n_jobs!r}")
    if blas_threads is not None:
        _check_int("blas_threads", blas_threads, 1)
    children = copy.deepcopy(seed).spawn(n_restarts)
    if n_jobs == 1:
        return [_run_one(X, y, beta, width, child, blas_threads, kw) for child in children]
    results = Parallel(n_jobs=n_jobs, backend="loky")(
        delayed(_run_one)(X, y, beta, width, child, blas_threads, kw) for child in children
    )
    return list(results)


def best_objective(results: Iterable[TrainResult]) -> float:
    """Smallest finite objective (1) over runs (converged or not); ``nan`` if none is finite.

    Every run's ``objective`` is the value of (1) at real weights, so the minimum is a valid
    upper bound on ``p*`` whether or not the run converged.
    """
    values = [r.objective for r in results if math.isfinite(r.objective)]
    return float(min(values)) if values else math.nan


# --------------------------------------------------------------------------- private
class _Workspace:
    """Buffers for the value and gradient of (1) at a fixed width (one training run).

    Memory-lean form of :func:`harness.formulations.network_gradient`: one reused (n, m)
    array holds ``X U``, then ``(X U)_+``, then the mask ``1[X u_j > 0]`` as floats, and
    the gradient in ``U`` is ``grad_U = ((X * r)^T S) * alpha + beta U`` (``S`` the mask,
    ``r`` the residual): the same sum as ``X^T (S * r alpha^T)`` with the scalings moved
    out of the (n, m) products, so it agrees with the reference to rounding (about 1e-15
    relative). A training step costs 1.3-2x less than with the allocating form at the
    stationary and coupling experiments' widths (``benchmarks/bench_training.py``). The
    returned gradient arrays are overwritten by the next call.
    """

    def __init__(self, X: FloatArray, y: FloatArray, beta: float, width: int) -> None:
        n, d = X.shape
        self.X, self.y, self.beta = X, y, beta
        self.H = np.empty((n, width))
        self.grad_U = np.empty((d, width))
        self.tmp_U = np.empty((d, width))

    def value_and_grad(
        self, U: FloatArray, alpha: FloatArray
    ) -> tuple[float, FloatArray, FloatArray]:
        """``(L, grad_U, grad_alpha)`` of (1), subgradient convention ``1[z > 0]``."""
        X, beta = self.X, self.beta
        H = np.maximum(np.matmul(X, U, out=self.H), 0.0, out=self.H)
        r = H @ alpha - self.y
        value = 0.5 * r @ r + 0.5 * beta * (self.sum_squares(U) + alpha @ alpha)
        grad_alpha = H.T @ r + beta * alpha
        S = np.greater(H, 0.0, out=self.H, casting="unsafe")  # 1[X u_j > 0] = 1[H > 0]
        grad_U = np.matmul((X * r[:, None]).T, S, out=self.grad_U)
        grad_U *= alpha
        grad_U += np.multiply(beta, U, out=self.tmp_U)
        return float(value), grad_U, grad_alpha

    def sum_squares(self, A: FloatArray) -> float:
        """``np.sum(A * A)`` of a (d, m) array without a temporary."""
        return float(np.sum(np.multiply(A, A, out=self.tmp_U)))

    def norm2(self, A: FloatArray, b: FloatArray) -> float:
        """``sqrt(||A||_F^2 + ||b||^2)`` (:func:`_norm2` without a temporary)."""
        return math.sqrt(self.sum_squares(A) + float(b @ b))


class _AdamState:
    """Bias-corrected Adam moments (betas 0.9, 0.999, eps 1e-8); ``U`` updated in place.

    Each expression of the textbook update is evaluated in the same order as
    ``U - lr (m / c1) / (sqrt(v / c2) + eps)`` with ``m = b1 m + (1 - b1) g`` and ``v = b2 v +
    (1 - b2) g^2``, so the iterates are bitwise those of the allocating form.
    """

    def __init__(self, U: FloatArray, alpha: FloatArray) -> None:
        self.mU = np.zeros_like(U)
        self.vU = np.zeros_like(U)
        self.ma = np.zeros_like(alpha)
        self.va = np.zeros_like(alpha)
        self.t1 = np.empty_like(U)
        self.t2 = np.empty_like(U)

    def step(
        self, U: FloatArray, alpha: FloatArray, gU: FloatArray, ga: FloatArray, k: int, lr: float
    ) -> FloatArray:
        """Step ``k >= 1``: update ``U`` in place and return the new ``alpha``."""
        b1, b2 = ADAM_BETA1, ADAM_BETA2
        mU, vU, t1, t2 = self.mU, self.vU, self.t1, self.t2
        mU *= b1
        mU += np.multiply(1.0 - b1, gU, out=t1)
        vU *= b2
        vU += np.multiply(1.0 - b2, np.multiply(gU, gU, out=t1), out=t1)
        self.ma = b1 * self.ma + (1.0 - b1) * ga
        self.va = b2 * self.va + (1.0 - b2) * (ga * ga)
        c1 = 1.0 - b1**k
        c2 = 1.0 - b2**k
        np.sqrt(np.divide(vU, c2, out=t1), out=t1)
        t1 += ADAM_EPS
        np.multiply(lr, np.divide(mU, c1, out=t2), out=t2)
        U -= np.divide(t2, t1, out=t2)
        return alpha - lr * (self.ma / c1) / (np.sqrt(self.va / c2) + ADAM_EPS)


def _run_one(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    width: int,
    child: np.random.SeedSequence,
    blas_threads: int | None,
    kw: dict[str, Any],
) -> TrainResult:
    rng = np.random.default_rng(child)
    if blas_threads is None:
        return train_network(X, y, beta, width, rng, **kw)
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        return train_network(X, y, beta, width, rng, **kw)


def _backtrack(
    X: FloatArray,
    y: FloatArray,
    U: FloatArray,
    alpha: FloatArray,
    beta: float,
    f: float,
    gU: FloatArray,
    ga: FloatArray,
    gnorm: float,
    step: float,
) -> tuple[float, float] | None:
    """Armijo backtracking from ``step``; ``(step, value)`` or ``None`` when it fails.

    Fails once the step no longer moves the weights in floating point
    (``step * ||g|| <= eps * ||theta||``).
    """
    g2 = gnorm * gnorm
    theta_norm = _norm2(U, alpha)
    floor = np.finfo(np.float64).eps * max(theta_norm, np.finfo(np.float64).tiny)
    while step * gnorm > floor:
        f_new = network_objective(X, y, U - step * gU, alpha - step * ga, beta)
        if math.isfinite(f_new) and f_new <= f - ARMIJO_C * step * g2:
            return step, f_new
        step *= STEP_SHRINK
    return None


def _curvature_estimate(
    X: FloatArray, y: FloatArray, U: FloatArray, alpha: FloatArray, beta: float
) -> float:
    """Heuristic local curvature ``||X||_2^2 (||U||_F^2 + ||alpha||^2) + ||X||_2 ||r|| + beta``.

    The first two terms bound the Gauss-Newton part of the Hessian of (1); the third the
    residual-times-second-derivative part (for ``alpha``-``U`` cross terms). Not a
    certified Lipschitz constant: it only seeds the backtracking search.
    """
    sx = float(np.linalg.norm(X, 2))
    r = np.maximum(X @ U, 0.0) @ alpha - y
    L = (
        sx * sx * (float(np.sum(U * U)) + float(alpha @ alpha))
        + sx * float(np.linalg.norm(r))
        + beta
    )
    return max(L, np.finfo(np.float64).tiny)


def _norm2(A: FloatArray, b: FloatArray) -> float:
    return math.sqrt(float(np.sum(A * A)) + float(b @ b))


def _parse_record_steps(
    steps: Iterable[int] | Literal["all"] | None,
) -> set[int] | Literal[True] | None:
    if steps is None:
        return None
    if isinstance(steps, str):
        if steps != "all":
            raise InputError(
                f"record_patterns_at must be None, 'all' or an iterable of step indices >= 0; "
                f"got {steps!r}"
            )
        return True
    out = {0}
    for s in steps:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) or s < 0:
            raise InputError(
                f"record_patterns_at must contain integer step indices >= 0; got {s!r}"
            )
        out.add(int(s))
    return out


def _check_init(
    init: tuple[FloatArray, FloatArray], d: int, width: int
) -> tuple[FloatArray, FloatArray]:
    try:
        U0, a0 = init
    except (TypeError, ValueError) as exc:
        raise InputError("init must be a pair (U0, alpha0)") from exc
    U = np.array(U0, dtype=np.float64)
    alpha = np.array(a0, dtype=np.float64)
    if U.shape != (d, width) or alpha.shape != (width,):
        raise InputError(
            f"init must have shapes (d, width)={(d, width)} and (width,)={(width,)}; "
            f"got {U.shape} and {alpha.shape}"
        )
    if not (np.all(np.isfinite(U)) and np.all(np.isfinite(alpha))):
        raise InputError("init contains NaN or infinite values")
    return U, alpha


def _check_int(name: str, value: int, low: int) -> None:
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, np.integer))
        or value < low
    ):
        raise InputError(f"{name} must be an integer >= {low}; got {value!r}")


def _check_nonneg_float(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a finite number >= 0; got {value!r}") from exc
    if not math.isfinite(v) or v < 0:
        raise InputError(f"{name} must be a finite number >= 0; got {value!r}")
    return v
