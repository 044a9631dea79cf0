"""Shallow networks of Ergen & Pilanci (2019), THEORY.md Part C: GD vs regularized GD.

Notation follows THEORY.md Part C (and the paper), *not* the X/U convention of Part A:
the data matrix is ``A`` of shape (n, d) with rows ``a_i``, the labels are ``y`` (n,), a
single neuron's weights are ``x`` (d,), and the m-neuron weights are ``X`` of shape
(d, m) with column ``j`` the neuron ``x_j``. ``g`` is the ReLU.

Single neuron (m = 1)
    * ``f(x) = 1/2 ||g(Ax) - y||^2`` (1), GD (2): ``x <- x - mu A^T D_t (g(Ax) - y)``.
    * Relaxation (3): ``f_r(x) = ||g(Ax)||^2 - 2 y^T A x + ||y||^2``, convex under the
      planted model ``y = g(A x*)`` (4) (Prop. 1), ``f_r >= f`` and ``min f_r = min f``
      (Thm 1). RGD (5): ``x <- x - mu A^T (g(Ax) - y)`` (GD on ``f_r / 2``).

Multi-neuron (m >= 1, model (8) ``y_i = sum_j g(a_i^T x_j*)``)
    * ``f_m(X) = 1/2 ||sum_j g(A x_j) - y||^2`` (9), residual ``r`` (10).
    * Plain GD uses the paper's gradient (11), ``2 A^T D_j r`` (the paper writes the factor
      2 although (9) carries a 1/2; THEORY.md says to use (17) literally, and GD uses the
      same factor so that the two updates differ *only* by the term added in (13)).
    * Modified gradient (13): ``2 A^T D_j r + 2 A^T (prod_k D_k^c) r``; update (17).
    * Surrogate (14): ``f_mp(X) = ||sum_j g(A x_j) - y||^2 - 2 y^T (prod_j D_j^c) A sum_j x_j``,
      evaluated for monitoring only.

Errors (the paper's three, made scale-free)
    * training error ``||pred(A) - y||^2 / ||y||^2`` (relative; equals ``2 f / ||y||^2``);
    * test error: the same ratio on ``n_test = 100`` fresh samples of the same law;
    * recovery error ``||x_hat - x*||_2`` (single neuron only; absolute, as in the paper).

Data scaling (``data_scale``)
    The paper draws ``a_i ~ N(0, I_d)`` and uses ``mu = 0.1`` (m = 1) / ``0.08`` (m = 3).
    Unscaled, ``||A||_2^2 ~ (sqrt(n) + sqrt(d))^2`` is about 290 for ``n = 2d = 100``, so
    ``mu = 0.1`` diverges (GD needs ``mu ||A||^2 < 2``). With ``data_scale="sqrt_d"`` (the
    default) the rows are divided by ``sqrt(d)`` (so ``a_i ~ N(0, I_d / d)``, unit expected
    row norm) and ``||A||_2^2 ~ (1 + sqrt(n/d))^2``, which keeps the paper's ``mu`` stable
    over ``n <= 4d``. This is *exactly* the paper's experiment with step ``mu / d`` on
    unscaled data: scaling ``A`` and ``y = g(A x*)`` by ``c`` maps the GD/RGD/(17)
    iterates to those with step ``c^2 mu`` on the unscaled problem, and the relative
    training/test errors and the recovery error are unchanged. ``data_scale="none"`` keeps
    the paper's literal law (use a small ``mu``). ``x*``, ``X*`` and the initial points are
    ``N(0, I_d)`` per neuron in both cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness.errors import InputError

FloatArray = NDArray[np.float64]

DATA_SCALES = ("sqrt_d", "none")
SINGLE_METHODS = ("gd", "rgd")
MULTI_METHODS = ("gd", "modified")
N_TEST = 100
#: A run whose iterate or residual exceeds this (or is not finite) is marked ``diverged``.
_DIVERGENCE_LIMIT = 1e100


# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class ShallowProblem:
    """A planted shallow-network instance with a fresh test set, THEORY.md Part C (4)/(8).

    Attributes
    ----------
    A : ndarray of shape (n, d)       training data (rows ``a_i``).
    y : ndarray of shape (n,)         training labels ``sum_j g(A x_j*)``.
    X_star : ndarray of shape (d, m)  planted neurons (``m = 1`` for model (4)).
    A_test : ndarray of shape (n_test, d)
    y_test : ndarray of shape (n_test,)
    data_scale : str                  ``"sqrt_d"`` or ``"none"`` (module docstring).
    """

    A: FloatArray
    y: FloatArray
    X_star: FloatArray
    A_test: FloatArray
    y_test: FloatArray
    data_scale: str

    @property
    def n(self) -> int:
        return int(self.A.shape[0])

    @property
    def d(self) -> int:
        return int(self.A.shape[1])

    @property
    def m(self) -> int:
        return int(self.X_star.shape[1])

    @property
    def n_positive(self) -> int:
        """Number of nonzero labels (rows where some planted neuron is active)."""
        return int(np.count_nonzero(self.y > 0))


def relu(z: FloatArray) -> FloatArray:
    """The activation ``g(z) = max(z, 0)`` of THEORY.md Part C, elementwise."""
    return np.maximum(z, 0.0)


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InputError(f"'{name}' must be an int >= {low}; got {value!r}")
    if value < low:
        raise InputError(f"'{name}' must be an int >= {low}; got {value!r}")
    return int(value)


def _check_option(name: str, value: Any, options: tuple[str, ...]) -> str:
    if value not in options:
        raise InputError(f"'{name}' must be one of {list(options)}; got {value!r}")
    return str(value)


def _check_mu(mu: Any) -> float:
    try:
        mu_f = float(mu)
    except (TypeError, ValueError) as exc:
        raise InputError(f"'mu' must be a finite number > 0; got {mu!r}") from exc
    if not np.isfinite(mu_f) or mu_f <= 0:
        raise InputError(f"'mu' must be a finite number > 0; got {mu!r}")
    return mu_f


def gaussian_rows(n: int, d: int, rng: np.random.Generator, data_scale: str) -> FloatArray:
    """Data rows ``a_i ~ N(0, I_d)`` (Part C, Experiments), divided by ``sqrt(d)`` if asked.

    Parameters
    ----------
    n, d : int
    rng : numpy.random.Generator
    data_scale : {"sqrt_d", "none"}
        ``"sqrt_d"`` returns ``a_i ~ N(0, I_d / d)`` (see the module docstring).

    Returns
    -------
    ndarray of shape (n, d)
    """
    _check_option("data_scale", data_scale, DATA_SCALES)
    A = rng.standard_normal((n, d))
    if data_scale == "sqrt_d":
        A /= np.sqrt(d)
    return A


def planted_problem(
    n: int,
    d: int,
    m: int,
    rng: np.random.Generator,
    *,
    data_scale: str = "sqrt_d",
    n_test: int = N_TEST,
) -> ShallowProblem:
    """Planted instance of model (4) (``m = 1``) or (8): ``y_i = sum_j g(a_i^T x_j*)``.

    Draws, in this order, ``A`` (n, d), ``X*`` (d, m) with i.i.d. ``N(0, 1)`` entries, and
    the test rows ``A_test`` (n_test, d); ``A`` and ``A_test`` follow
    :func:`gaussian_rows`. Labels are noiseless.

    Raises
    ------
    InputError
        If ``n, d, m, n_test`` are not positive ints or ``data_scale`` is unknown.
    """
    n = _check_int("n", n, 1)
    d = _check_int("d", d, 1)
    m = _check_int("m", m, 1)
    n_test = _check_int("n_test", n_test, 1)
    _check_option("data_scale", data_scale, DATA_SCALES)
    A = gaussian_rows(n, d, rng, data_scale)
    X_star = rng.standard_normal((d, m))
    A_test = gaussian_rows(n_test, d, rng, data_scale)
    return ShallowProblem(
        A=A,
        y=relu(A @ X_star).sum(axis=1),
        X_star=X_star,
        A_test=A_test,
        y_test=relu(A_test @ X_star).sum(axis=1),
        data_scale=data_scale,
    )


# --------------------------------------------------------------------------- single neuron
def single_objective(A: FloatArray, y: FloatArray, x: FloatArray) -> float:
    """Non-convex loss (1): ``f(x) = 1/2 ||g(Ax) - y||_2^2``."""
    r = relu(A @ x) - y
    return 0.5 * float(r @ r)


def single_gradient(A: FloatArray, y: FloatArray, x: FloatArray) -> FloatArray:
    """Gradient of (1) used by GD (2): ``A^T D (g(Ax) - y)`` with ``D = diag(1[Ax >= 0])``.

    At ``a_i^T x = 0`` this is the subgradient the paper's ``D_t`` selects (value 1).
    """
    z = A @ x
    return A.T @ ((z >= 0) * (relu(z) - y))


def relaxed_objective(A: FloatArray, y: FloatArray, x: FloatArray) -> float:
    """Relaxation (3): ``f_r(x) = ||g(Ax)||^2 - 2 y^T A x + ||y||^2``.

    Convex (Prop. 1: ``||g(z)||^2`` is convex and the rest is affine), and under (4)
    ``f_r(x) >= ||g(Ax) - y||^2 >= f(x)`` (the paper's Thm 1 compares with the un-halved
    loss; ``y >= 0`` suffices) with ``f_r(x*) = f(x*) = 0``.
    """
    z = A @ x
    gz = relu(z)
    return float(gz @ gz - 2.0 * (y @ z) + y @ y)


def relaxed_gradient(A: FloatArray, y: FloatArray, x: FloatArray) -> FloatArray:
    """Gradient of (3): ``grad f_r(x) = 2 A^T (g(Ax) - y)``; RGD (5) steps along half of it."""
    return 2.0 * (A.T @ (relu(A @ x) - y))


def gd_step(A: FloatArray, y: FloatArray, x: FloatArray, mu: float) -> FloatArray:
    """One GD step (2): ``x - mu A^T D_t (g(A x) - y)``."""
    return x - mu * single_gradient(A, y, x)


def rgd_step(A: FloatArray, y: FloatArray, x: FloatArray, mu: float) -> FloatArray:
    """One RGD step (5): ``x - mu A^T (g(A x) - y)`` (GD on ``f_r / 2``)."""
    return x - mu * (A.T @ (relu(A @ x) - y))


# --------------------------------------------------------------------------- multi-neuron
def multi_residual(A: FloatArray, y: FloatArray, X: FloatArray) -> FloatArray:
    """Residual (10): ``r = sum_j g(A x_j) - y``, shape (n,); ``X`` has shape (d, m)."""
    return relu(A @ X).sum(axis=1) - y


def multi_objective(A: FloatArray, y: FloatArray, X: FloatArray) -> float:
    """Loss (9): ``f_m(X) = 1/2 ||sum_j g(A x_j) - y||_2^2``."""
    r = multi_residual(A, y, X)
    return 0.5 * float(r @ r)


def multi_gradient(A: FloatArray, y: FloatArray, X: FloatArray) -> FloatArray:
    """The paper's GD direction (11) on (9): column ``j`` is ``2 A^T D_j r``, shape (d, m).

    This is twice the gradient of (9) as written (factor-2 convention of the paper, kept so
    that GD and (17) differ only by the added term of (13)).
    """
    Z = A @ X
    r = relu(Z).sum(axis=1) - y
    return 2.0 * (A.T @ ((Z >= 0) * r[:, None]))


def modified_gradient(A: FloatArray, y: FloatArray, X: FloatArray) -> FloatArray:
    """Modified gradient (13): column ``j`` is ``2 A^T D_j r + 2 A^T (prod_k D_k^c) r``.

    ``prod_k D_k^c`` selects the rows where *no* neuron is active (``a_i^T x_k < 0`` for
    every ``k``); the added term is the same for every neuron.
    """
    Z = A @ X
    active = Z >= 0
    r = relu(Z).sum(axis=1) - y
    dead = ~active.any(axis=1)
    extra = A.T @ (dead * r)
    return 2.0 * (A.T @ (active * r[:, None])) + 2.0 * extra[:, None]


def surrogate_objective(A: FloatArray, y: FloatArray, X: FloatArray) -> float:
    """Surrogate (14): ``||r||^2 - 2 y^T (prod_j D_j^c) A sum_j x_j`` (monitoring only).

    Upper-bounds ``f_m`` (Thm 2 [READ]): on rows with no active neuron ``A sum_j x_j < 0``
    and ``y >= 0``, so the subtracted term is ``<= 0``.
    """
    Z = A @ X
    r = relu(Z).sum(axis=1) - y
    dead = ~(Z >= 0).any(axis=1)
    return float(r @ r - 2.0 * (y * dead) @ Z.sum(axis=1))


# --------------------------------------------------------------------------- errors
def relative_error(pred: FloatArray, y: FloatArray) -> float:
    """Relative squared error ``||pred - y||^2 / ||y||^2`` (the harness's training/test error).

    Returns ``||pred||^2`` if ``y = 0`` (never happens for Gaussian data with ``n >= 1``
    except with tiny probability).
    """
    r = pred - y
    den = float(y @ y)
    return float(r @ r) / den if den > 0 else float(r @ r)


def iterations_to_tolerance(curve: FloatArray, tol: float) -> int | None:
    """First iteration ``t`` with ``curve[t] <= tol``, or ``None`` if never reached."""
    hit = np.flatnonzero(np.asarray(curve) <= tol)
    return int(hit[0]) if hit.size else None


@dataclass
class ShallowRun:
    """Result of one training run (GD, RGD or (17)) with per-iteration error curves.

    Attributes
    ----------
    method : str
    mu : float
    n_iter : int                       iterations requested.
    X : ndarray of shape (d, m)        final weights (``m = 1`` for a single neuron).
    train_error, test_error : ndarray of shape (n_iter + 1,)
        Relative errors at iterates ``0..n_iter`` (NaN after a divergence).
    recovery_error : ndarray of shape (n_iter + 1,)
        ``||x_t - x*||_2`` (single neuron) or all-NaN (multi-neuron: permutation-invariant).
    grad_norm : ndarray of shape (n_iter + 1,)
        Norm of the update direction at each iterate (``||.||_F`` of (2), (5), (11) or (13)).
    status : str                       ``"ok"`` or ``"diverged"``.
    tol : float                        training-error tolerance for ``iters_to_tol``.
    stop_iter : int or None
        Iteration at which the run reached a fixed point up to round-off and stopped
        (``stop_rtol`` of :func:`train`); later entries repeat the values there.
    extra : dict                       e.g. final surrogate value (14).
    """

    method: str
    mu: float
    n_iter: int
    X: FloatArray
    train_error: FloatArray
    test_error: FloatArray
    recovery_error: FloatArray
    grad_norm: FloatArray
    status: str
    tol: float
    stop_iter: int | None = None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def final_train_error(self) -> float:
        return float(self.train_error[-1])

    @property
    def final_test_error(self) -> float:
        return float(self.test_error[-1])

    @property
    def final_recovery_error(self) -> float:
        return float(self.recovery_error[-1])

    @property
    def iters_to_tol(self) -> int | None:
        """First iteration with relative training error ``<= tol`` (None if never)."""
        return iterations_to_tolerance(self.train_error, self.tol)


def train(
    problem: ShallowProblem,
    X0: FloatArray,
    *,
    method: str,
    mu: float,
    n_iter: int,
    tol: float = 1e-8,
    model: str | None = None,
    stop_rtol: float = 0.0,
) -> ShallowRun:
    """Run GD (2) / RGD (5) (``m = 1``) or GD (11) / modified GD (17) from ``X0``.

    Parameters
    ----------
    problem : ShallowProblem
    X0 : ndarray of shape (d, m)
        Initial weights (``m`` must equal ``problem.m``).
    method : str
        ``"gd"`` (2) or ``"rgd"`` (5) for ``model="single"``; ``"gd"`` (11) or
        ``"modified"`` (17) for ``model="multi"``.
    mu : float
        Step size (the paper's ``mu``), applied literally to (2), (5) or (17).
    n_iter : int
        Number of iterations; the curves always have ``n_iter + 1`` entries, so curves of
        different seeds align.
    tol : float
        Relative training-error tolerance reported by :attr:`ShallowRun.iters_to_tol`.
    model : {"single", "multi"} or None
        ``None`` means ``"single"`` if ``problem.m == 1`` else ``"multi"``. ``"single"``
        requires ``m = 1`` and records the recovery error.
    stop_rtol : float
        If > 0, stop once the update direction is at most ``stop_rtol`` times its initial
        norm (a fixed point up to round-off, e.g. 1e-13) and repeat the values of that
        iterate up to ``n_iter`` (``ShallowRun.stop_iter`` records where). 0 (default)
        runs all ``n_iter`` iterations. Runs that oscillate never stop early.

    Returns
    -------
    ShallowRun
        Errors at every iterate ``0..n_iter``; a run whose iterate becomes non-finite or
        larger than 1e100 stops with ``status="diverged"`` and NaN afterwards.
    """
    mu = _check_mu(mu)
    n_iter = _check_int("n_iter", n_iter, 0)
    X = np.array(X0, dtype=np.float64, copy=True)
    if X.ndim != 2 or X.shape != problem.X_star.shape:
        raise InputError(f"X0 must have shape {problem.X_star.shape}; got {X.shape}")
    if model is None:
        model = "single" if problem.m == 1 else "multi"
    _check_option("model", model, ("single", "multi"))
    if model == "single" and problem.m != 1:
        raise InputError(f"model 'single' needs m = 1; got m = {problem.m}")
    single = model == "single"
    _check_option("method", method, SINGLE_METHODS if single else MULTI_METHODS)
    A, y = problem.A, problem.y
    yy = float(y @ y) or 1.0
    yy_test = float(problem.y_test @ problem.y_test) or 1.0
    train_err = np.full(n_iter + 1, np.nan)
    test_err = np.full(n_iter + 1, np.nan)
    rec_err = np.full(n_iter + 1, np.nan)
    gnorm = np.full(n_iter + 1, np.nan)
    status = "ok"
    stop_iter: int | None = None
    stop_rtol = float(stop_rtol)
    for t in range(n_iter + 1):
        Z = A @ X
        r = relu(Z).sum(axis=1) - y
        rt = relu(problem.A_test @ X).sum(axis=1) - problem.y_test
        train_err[t] = float(r @ r) / yy
        test_err[t] = float(rt @ rt) / yy_test
        if single:
            rec_err[t] = float(np.linalg.norm(X[:, 0] - problem.X_star[:, 0]))
            res = (Z[:, 0] >= 0) * r if method == "gd" else r
            G = (A.T @ res)[:, None]
        else:
            active = Z >= 0
            G = 2.0 * (A.T @ (active * r[:, None]))
            if method == "modified":
                dead = ~active.any(axis=1)
                G += 2.0 * (A.T @ (dead * r))[:, None]
        gnorm[t] = float(np.linalg.norm(G))
        if not (np.isfinite(train_err[t]) and np.isfinite(gnorm[t])) or (
            np.abs(X).max() > _DIVERGENCE_LIMIT
        ):
            status = "diverged"
            train_err[t] = test_err[t] = rec_err[t] = gnorm[t] = np.nan
            break
        if t < n_iter and stop_rtol > 0 and gnorm[t] <= stop_rtol * gnorm[0]:
            stop_iter = t
            for arr in (train_err, test_err, rec_err, gnorm):
                arr[t + 1 :] = arr[t]
            break
        if t < n_iter:
            X = X - mu * G
    extra: dict[str, float] = {}
    if status == "ok" and not single:
        extra["surrogate_objective"] = surrogate_objective(A, y, X)
        extra["objective"] = multi_objective(A, y, X)
    elif status == "ok":
        extra["objective"] = single_objective(A, y, X[:, 0])
        extra["relaxed_objective"] = relaxed_objective(A, y, X[:, 0])
    return ShallowRun(
        method=method,
        mu=mu,
        n_iter=n_iter,
        X=X,
        train_error=train_err,
        test_error=test_err,
        recovery_error=rec_err,
        grad_norm=gnorm,
        status=status,
        tol=float(tol),
        stop_iter=stop_iter,
        extra=extra,
    )


def _initial_weights(d: int, m: int, rng: np.random.Generator) -> FloatArray:
    """Initial point ``x_0 ~ N(0, I_d)`` per neuron (Part C, Experiments), shape (d, m)."""
    return rng.standard_normal((d, m))


def run_single_neuron(
    n: int,
    d: int,
    rng: np.random.Generator,
    *,
    method: str = "rgd",
    mu: float = 0.1,
    n_iter: int = 1000,
    data_scale: str = "sqrt_d",
    n_test: int = N_TEST,
    tol: float = 1e-8,
    stop_rtol: float = 0.0,
) -> ShallowRun:
    """Draw a planted instance (4) and run GD (2) or RGD (5) on it, THEORY.md Part C.

    The instance and ``x_0`` are drawn before training and do not depend on ``method``, so
    two calls with generators in the same state train both methods on the same data.

    Parameters
    ----------
    n, d : int
        Samples and dimension.
    rng : numpy.random.Generator
    method : {"gd", "rgd"}
    mu : float
        Step size (paper: 0.1 with ``data_scale="sqrt_d"``).
    n_iter : int
    data_scale : {"sqrt_d", "none"}
        See the module docstring.
    n_test : int
        Fresh test samples (paper: 100).
    tol : float
        Relative training-error tolerance for ``iters_to_tol``.
    stop_rtol : float
        Early stop at a round-off fixed point (see :func:`train`); 0 never stops.

    Returns
    -------
    ShallowRun
        Per-iteration relative training/test errors, recovery error ``||x_t - x*||``.
    """
    method = _check_option("method", method, SINGLE_METHODS)
    problem = planted_problem(n, d, 1, rng, data_scale=data_scale, n_test=n_test)
    x0 = _initial_weights(problem.d, 1, rng)
    return train(
        problem,
        x0,
        method=method,
        mu=mu,
        n_iter=n_iter,
        tol=tol,
        model="single",
        stop_rtol=stop_rtol,
    )


def run_multi_neuron(
    n: int,
    d: int,
    m: int,
    rng: np.random.Generator,
    *,
    method: str = "modified",
    mu: float = 0.08,
    n_iter: int = 1000,
    data_scale: str = "sqrt_d",
    n_test: int = N_TEST,
    tol: float = 1e-8,
    stop_rtol: float = 0.0,
) -> ShallowRun:
    """Draw a planted instance (8) with ``m`` neurons and run GD (11) or update (17).

    Same conventions as :func:`run_single_neuron`; ``X_0`` has i.i.d. ``N(0, 1)`` entries.
    The recovery error is NaN (the minimisers are only defined up to permutation).
    """
    method = _check_option("method", method, MULTI_METHODS)
    problem = planted_problem(n, d, m, rng, data_scale=data_scale, n_test=n_test)
    X0 = _initial_weights(problem.d, problem.m, rng)
    return train(
        problem,
        X0,
        method=method,
        mu=mu,
        n_iter=n_iter,
        tol=tol,
        model="multi",
        stop_rtol=stop_rtol,
    )
