"""Gated group lasso, THEORY.md §A2 eq. (5), by projected Newton on its kernel weights.

Variational form. Since ``beta ||w|| = min_{theta > 0} ||w||^2 / (2 theta) + beta^2 theta / 2``
(at ``theta = ||w|| / beta``), eq. (5) is ``min_{theta >= 0} f(theta)`` with, for
``A_i = D_i X`` and the kernels ``K_i = A_i A_i^T = D_i X X^T D_i`` (n x n),

    f(theta) = 1/2 y^T S(theta)^{-1} y + beta^2/2 sum_i theta_i,
    S(theta) = I + sum_i theta_i K_i = I + (X X^T) o (D diag(theta) D^T)

(the inner problem in ``W`` is a ridge regression with closed form). At ``theta``, with
``alpha = S^{-1} y`` and ``g_i = A_i^T alpha = X^T D_i alpha``:

* the primal point ``w_i = theta_i g_i`` has residual ``y - sum_i A_i w_i = alpha``;
* ``alpha`` is a dual candidate of (5) (THEORY.md Part D, "Scaling a candidate"), with
  constraint values ``||g_i||`` already computed, so every iteration is certified;
* ``grad_i f = (beta^2 - ||g_i||^2) / 2`` and ``hess f = B^T S^{-1} B`` with
  ``B_i = K_i alpha = D_i X g_i``: a P x P Newton system for P gates.

``f`` is smooth and convex on ``theta >= 0``; Newton's method on it needs about ten
steps where FISTA on ``W`` needs hundreds to thousands (it works in ``P`` variables,
whatever ``d``). Each step:

1. the bound-constrained Newton model on the free gates (support and the most violated
   zero gates, at most ``max(ENTER_MIN, |support|)`` entering) is solved exactly
   (:func:`newton_step`, nonnegative least squares);
2. the first trial step length comes from a rational model of ``f`` along the step
   (:func:`rational_step`): far from the optimum ``f`` behaves like ``1 / theta`` and a
   Newton step only grows ``theta`` by a constant factor; Armijo backtracking decides;
3. below a relative gap ``LINEAR_DUAL_GAP`` the first-order prediction of
   ``alpha(theta + p)`` is offered as a second dual candidate: its infeasibility is of
   second order, so it certifies one factorisation early; and the trial point is first
   evaluated by conjugate gradients preconditioned with the current factorisation,
   started at that prediction (:meth:`KernelSystems.refine`): close to the optimum a few
   CG steps give ``alpha`` to ``1e-13`` for far less than a factorisation, and the Newton
   steps that follow reuse that factorisation's Hessian (a chord method).

Each other trial point costs one factorisation of ``S``, in the cheaper of two equal forms: the
n x n *kernel* form above, or, when ``m = d * |support| < n`` and that costs fewer
multiply-adds counting new Gram blocks (:meth:`KernelSystems._feature_cheaper`), the m x m
*feature* form ``I + R Z^T Z R`` (``Z = [A_i]`` on the support, ``R`` the square roots of
``theta``; Woodbury), whose Gram blocks are cached as gates enter. ``S`` does not depend on
``beta``: on a beta path the last factorisation is reused by the next solve
(:func:`harness.solvers.path.solve_path` passes ``cache`` and the optimal ``theta``).
When both forms exceed ``MAX_DIM`` the solver hands over to FISTA on a working set of
gates (:mod:`harness.solvers.gated_fista`), warm-started; when ``n > MAX_DIM`` and
``d P > MAX_DIM`` it starts there (the feature form would fit only small supports).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from harness import __version__
from harness import formulations as F
from harness.formulations import BoolArray, FloatArray
from harness.solvers.certify import build_result
from harness.solvers.common import (
    DEFAULT_TOL,
    WarmStart,
    check_options,
    check_problem,
    gap_ok,
    gated_warm_columns,
    scaled_dual_value,
    warm_variables,
)
from harness.solvers.result import SolveResult

DEFAULT_MAX_ITER = 200
#: Largest factorised dimension (n for the kernel form, d * |support| for the feature form).
MAX_DIM = 2500
#: Gates that may enter the working set in one step: ``max(ENTER_MIN, |support|)``.
ENTER_MIN = 8
#: Armijo constant and smallest step of the projected line search.
ARMIJO = 1e-4
MIN_STEP = 1e-12
#: Below this relative gap, each step also offers the linearised dual candidate and
#: evaluates its trial point by preconditioned CG first (:meth:`KernelSystems.refine`).
#: 1e-2 rather than 1e-3: on the beta path of bench_gated.py / bench_relu_regimes.py
#: 35 -> 19 factorisations at (500, 20, 100), 34 -> 13 at (1000, 50, 200), 29 -> 16 on
#: MNIST (1e-3: 28 at (500, 20, 100); 3e-2 and 1e-1 fail more CG runs, slower).
LINEAR_DUAL_GAP = 1e-2
#: Largest first trial step of the rational model (:func:`rational_step`).
MAX_EXPAND = 64.0
#: Below the relative gap ``LINEAR_DUAL_GAP`` a trial point is first evaluated without a
#: factorisation: ``S(theta') alpha = y`` by conjugate gradients preconditioned with the
#: last factorisation (:meth:`KernelSystems.refine`), accepted when the residual is below
#: ``REFINE_RTOL ||y||`` within ``REFINE_ITERS`` iterations (each two products with the
#: support's ``D_i X`` and one solve with the factor: a few percent of a factorisation).
REFINE_ITERS = 8
REFINE_RTOL = 1e-13


@dataclass
class Factor:
    """``S(theta)`` factorised on the support of ``theta``.

    ``alpha = S^{-1} y``, ``value = f(theta)``, ``hessian(B, free, G)``, the Newton matrix
    ``B^T S^{-1} B`` for the columns ``B_i = D_i X g_i = K_i alpha`` of the gates ``free``
    (``g_i`` the columns of ``G``), and ``solve(u) = S^{-1} u`` (``u`` a vector or an
    (n, k) matrix).
    """

    theta: FloatArray
    form: str
    alpha: FloatArray
    value: float
    hessian: Callable[[FloatArray, np.ndarray, FloatArray], FloatArray]
    solve: Callable[[FloatArray], FloatArray]
    #: For a point evaluated by :meth:`KernelSystems.refine`: the factorisation whose
    #: ``hessian`` and ``solve`` it uses (those of a nearby ``theta``, so approximate).
    base: Factor | None = None


class KernelSystems:
    """Factorisations of ``S(theta)`` for one instance, with caches shared along a path.

    ``cache`` (a dict, optional) keeps ``X X^T`` and the feature-form blocks ``Z_i = D_i X``
    with their Gram matrix between solves on the same ``X, D`` (a beta path); it is keyed
    by the identity, shape and sums of the arrays.
    """

    def __init__(
        self, X: FloatArray, y: FloatArray, D: BoolArray, beta: float, cache: dict | None
    ) -> None:
        self.X, self.y, self.beta = X, y, beta
        self.n, self.d = X.shape
        key = (id(X), id(D), X.shape, D.shape, float(X.sum()), int(D.sum()))
        if cache is None:
            cache = {}
        if cache.get("key") != key:
            cache.clear()
            cache.update(
                key=key,
                Df=D.astype(np.float64),
                G=None,
                slot=np.full(D.shape[1], -1),
                n_cols=0,
                Z=None,
                gram=None,
                Zty=None,
            )
        self.cache = cache
        self.Df: FloatArray = cache["Df"]
        self.seconds = 0.0
        self.n_factor = 0
        self.n_reused = 0
        self.n_refined = 0
        #: CG evaluations by the route of their products with S (see :meth:`refine`).
        self.refine_routes: dict[str, int] = {"columns": 0, "formed": 0}
        self.forms: dict[str, int] = {"kernel": 0, "feature": 0}

    def feasible(self, support: np.ndarray) -> bool:
        """Whether one of the two forms fits ``MAX_DIM`` for this support."""
        return min(self.n, self.d * int(support.size)) <= MAX_DIM

    def factor(self, theta: FloatArray) -> Factor:
        """Factorise ``S(theta)`` in the cheaper form; ``alpha = S^{-1} y`` and ``f``."""
        t0 = time.perf_counter()
        last = self.cache.get("last")
        if last is not None and np.array_equal(last.theta, theta):
            fac = dataclasses.replace(last)  # S is free of beta; only f's linear term changes
            fac.value = 0.5 * float(self.y @ fac.alpha) + 0.5 * self.beta**2 * float(theta.sum())
            self.n_reused += 1
            return fac
        support = np.flatnonzero(theta > 0.0)
        if self._feature_cheaper(support):
            fac = self._feature(theta, support)
        else:
            fac = self._kernel(theta, support)
        fac.value = 0.5 * float(self.y @ fac.alpha) + 0.5 * self.beta**2 * float(theta.sum())
        self.seconds += time.perf_counter() - t0
        self.n_factor += 1
        self.forms[fac.form] += 1
        return fac

    def refine(self, near: Factor, theta: FloatArray, start: FloatArray) -> Factor | None:
        """``alpha = S(theta)^{-1} y`` without factorising ``S(theta)``, or ``None``.

        Conjugate gradients on ``S(theta) alpha = y`` preconditioned with the factorisation
        of a nearby point (``near``, or the one it was refined from), started at ``start``
        (e.g. the linearised prediction of ``alpha(theta)``); ``S(theta) u = u + sum_i
        theta_i D_i X X^T D_i u`` costs two products with the support's columns. Returns
        ``None`` unless the residual falls below ``REFINE_RTOL ||y||`` within
        ``REFINE_ITERS`` iterations. The point keeps the preconditioner's ``hessian`` and
        ``solve`` (those of the nearby ``S``: a chord Newton method, and first-order
        predictions that are a little less accurate); ``alpha`` and ``f`` are exact to
        the tolerance, and every certificate is computed from them exactly anyway.
        """
        t0 = time.perf_counter()
        base = near.base if near.base is not None else near
        support = np.flatnonzero(theta > 0.0)
        Ds, ts = self.Df[:, support], theta[support]
        n, k = self.n, support.size
        # products with S: through the support's columns (2 n d k each), or S formed
        # once as in the kernel form (n^2 k, plus n^2 d for X X^T unless cached) and then
        # n^2 each, whichever costs less over REFINE_ITERS products
        gram = 0 if self.cache["G"] is not None else n * n * self.d
        S_full: FloatArray | None = None
        if gram + n * n * k + REFINE_ITERS * n * n < 2 * REFINE_ITERS * n * self.d * k:
            S_full = self._kernel_matrix(theta, support)
        self.refine_routes["columns" if S_full is None else "formed"] += 1

        def S(u: FloatArray) -> FloatArray:
            if S_full is not None:
                return S_full @ u
            g = self.X.T @ (Ds * u[:, None])
            out: FloatArray = u + np.einsum("nk,nk->n", Ds, self.X @ (g * ts))
            return out

        x = np.array(start, dtype=np.float64)
        r = self.y - S(x)
        z = base.solve(r)
        p = z.copy()
        rz = float(r @ z)
        limit = REFINE_RTOL * float(np.linalg.norm(self.y))
        done = False
        for _ in range(REFINE_ITERS):
            Sp = S(p)
            step = rz / float(p @ Sp)
            x += step * p
            r -= step * Sp
            if float(np.linalg.norm(r)) <= limit:
                done = True
                break
            z = base.solve(r)
            rz_new = float(r @ z)
            p = z + (rz_new / rz) * p
            rz = rz_new
        self.seconds += time.perf_counter() - t0
        if not done:
            return None
        self.n_refined += 1
        value = 0.5 * float(self.y @ x) + 0.5 * self.beta**2 * float(theta.sum())
        return Factor(theta, base.form, x, value, base.hessian, base.solve, base)

    def _feature_cheaper(self, support: np.ndarray) -> bool:
        """Whether the feature form (m = d |support| < n) costs fewer multiply-adds.

        Feature form: the Gram blocks of the gates not yet cached (``n m_new m_all``) and a
        Cholesky of order m; kernel form: ``S`` itself (``n^2 |support|``) and a Cholesky of
        order n (never above ``MAX_DIM``). A small support that later outgrows ``n / d``
        would otherwise pay for Gram blocks that the kernel form never needs.
        """
        n, d, k = self.n, self.d, int(support.size)
        if d * k >= n:
            return False
        if n > MAX_DIM:
            return True
        new = int(np.count_nonzero(self.cache["slot"][support] < 0))
        m_all = d * (self.cache["n_cols"] + new)
        feature = n * d * new * m_all + (d * k) ** 3 / 6.0
        kernel = float(n) * n * k + n**3 / 6.0
        return feature <= kernel

    # -- kernel form: S = I + (X X^T) o (D_s diag(theta_s) D_s^T), n x n -------------------
    def _kernel_matrix(self, theta: FloatArray, support: np.ndarray) -> FloatArray:
        """``S(theta) = I + (X X^T) o (D_s diag(theta_s) D_s^T)`` (n x n; ``X X^T`` cached)."""
        if self.cache["G"] is None:
            self.cache["G"] = self.X @ self.X.T
        Ds = self.Df[:, support]
        S: FloatArray = self.cache["G"] * ((Ds * theta[support]) @ Ds.T)
        S[np.diag_indices(self.n)] += 1.0
        return S

    def _kernel(self, theta: FloatArray, support: np.ndarray) -> Factor:
        S = self._kernel_matrix(theta, support)
        # S is symmetric: its transpose is the same matrix in Fortran order, which LAPACK
        # factors in place (a C-ordered array is first copied and transposed, ~40% of
        # the factorisation at n = 500)
        L = scipy.linalg.cholesky(S.T, lower=True, overwrite_a=True, check_finite=False)
        Linv_y = scipy.linalg.solve_triangular(L, self.y, lower=True, check_finite=False)
        alpha = scipy.linalg.solve_triangular(L, Linv_y, lower=True, trans="T", check_finite=False)

        def hessian(B: FloatArray, free: np.ndarray, G: FloatArray) -> FloatArray:
            Q = scipy.linalg.solve_triangular(L, B, lower=True, check_finite=False)
            out: FloatArray = Q.T @ Q
            return out

        def solve(u: FloatArray) -> FloatArray:
            out: FloatArray = scipy.linalg.cho_solve((L, True), u, check_finite=False)
            return out

        return Factor(theta, "kernel", alpha, 0.0, hessian, solve)

    # -- feature form: S^{-1} = I - Z R C^{-1} R Z^T, C = I + R Z^T Z R, m x m -------------
    def _ensure(self, cols: np.ndarray) -> np.ndarray:
        """Cache ``Z_i = D_i X``, ``Z_i^T y`` and the Gram blocks of ``cols``; their slots."""
        c = self.cache
        new = cols[c["slot"][cols] < 0]
        if new.size:
            d, k0 = self.d, c["n_cols"]
            k1 = k0 + new.size
            Znew = (self.X[:, None, :] * self.Df[:, new][:, :, None]).reshape(self.n, -1)
            if c["Z"] is None or c["Z"].shape[1] < k1 * d:
                cap = max(2 * k1, 16) * d
                Z, gram, Zty = np.empty((self.n, cap)), np.empty((cap, cap)), np.empty(cap)
                if k0:
                    Z[:, : k0 * d] = c["Z"][:, : k0 * d]
                    gram[: k0 * d, : k0 * d] = c["gram"][: k0 * d, : k0 * d]
                    Zty[: k0 * d] = c["Zty"][: k0 * d]
                c.update(Z=Z, gram=gram, Zty=Zty)
            Z, gram = c["Z"], c["gram"]
            Z[:, k0 * d : k1 * d] = Znew
            cross = Znew.T @ Z[:, : k1 * d]
            gram[k0 * d : k1 * d, : k1 * d] = cross
            gram[: k0 * d, k0 * d : k1 * d] = cross[:, : k0 * d].T
            c["Zty"][k0 * d : k1 * d] = Znew.T @ self.y
            c["slot"][new] = np.arange(k0, k1)
            c["n_cols"] = k1
        k = c["slot"][cols]
        out: np.ndarray = (k[:, None] * self.d + np.arange(self.d)[None, :]).ravel()
        return out

    def _feature(self, theta: FloatArray, support: np.ndarray) -> Factor:
        c = self.cache
        idx = self._ensure(support)
        # a view of the cached blocks (no copy); products over it cost n x (cached columns)
        Zc = c["Z"][:, : c["n_cols"] * self.d] if c["n_cols"] else np.zeros((self.n, 0))
        r = np.repeat(np.sqrt(theta[support]), self.d)
        L = np.eye(0)
        alpha = self.y.copy()
        if idx.size:
            C = c["gram"][np.ix_(idx, idx)] * np.outer(r, r)
            C[np.diag_indices(idx.size)] += 1.0
            # symmetric: factored in place in Fortran order, as in the kernel form
            L = scipy.linalg.cholesky(C.T, lower=True, overwrite_a=True, check_finite=False)
            q = scipy.linalg.solve_triangular(L, r * c["Zty"][idx], lower=True, check_finite=False)
            u = r * scipy.linalg.solve_triangular(L, q, lower=True, trans="T", check_finite=False)
            u_all = np.zeros(Zc.shape[1])
            u_all[idx] = u
            alpha -= Zc @ u_all

        def hessian(B: FloatArray, free: np.ndarray, G: FloatArray) -> FloatArray:
            BtB: FloatArray = B.T @ B
            if not idx.size:
                return BtB
            # Z_i^T B_j = X^T D_i D_j X g_j = (Gram block ij) g_j for a cached gate j: no
            # product with the n rows; the other columns take (n, m) x (n, k)
            d = self.d
            ZtB = np.empty((idx.size, free.size))
            slots = c["slot"][free]
            known = np.flatnonzero(slots >= 0)
            if known.size:
                cols = (slots[known][:, None] * d + np.arange(d)[None, :]).ravel()
                blocks = c["gram"][np.ix_(idx, cols)].reshape(idx.size, known.size, d)
                ZtB[:, known] = np.einsum("mkd,dk->mk", blocks, G[:, known])
            other = np.flatnonzero(slots < 0)
            if other.size:
                ZtB[:, other] = (Zc.T @ B[:, other])[idx]
            Q = scipy.linalg.solve_triangular(L, r[:, None] * ZtB, lower=True, check_finite=False)
            out: FloatArray = BtB - Q.T @ Q
            return out

        def solve(u: FloatArray) -> FloatArray:
            if not idx.size:
                return u.copy()
            rr = r if u.ndim == 1 else r[:, None]
            q = scipy.linalg.cho_solve((L, True), rr * (Zc.T @ u)[idx], check_finite=False)
            v_all = np.zeros((Zc.shape[1], *u.shape[1:]))
            v_all[idx] = rr * q
            out: FloatArray = u - Zc @ v_all
            return out

        return Factor(theta, "feature", alpha, 0.0, hessian, solve)


def _extend_newton(
    memo: dict[str, Any],
    free: np.ndarray,
    Gm: FloatArray,
    X: FloatArray,
    Df: FloatArray,
    fac: Factor,
) -> tuple[FloatArray, FloatArray | None]:
    """``B`` and the Newton matrix on ``free`` from those of the same ``theta`` on ``memo["free"]``.

    A beta path starts each solve where the last one stopped, with the same ``S(theta)``,
    ``alpha``, ``G`` and ``B``; only the free set grows (more gates violate a smaller
    beta). Columns of ``B`` and blocks of ``B^T S^{-1} B`` on the old free gates are kept;
    the new gates cost ``S^{-1} B_new`` (returns ``H = None`` when that is not cheaper).
    """
    old = memo["free"]
    if old.size:
        pos = np.minimum(np.searchsorted(old, free), old.size - 1)
        known = old[pos] == free
    else:
        pos, known = np.zeros(free.size, dtype=np.intp), np.zeros(free.size, dtype=bool)
    kn, nw = np.flatnonzero(known), np.flatnonzero(~known)
    B = np.empty((X.shape[0], free.size))
    B[:, kn] = memo["B"][:, pos[kn]]
    if nw.size:
        B[:, nw] = Df[:, free[nw]] * (X @ Gm[:, free[nw]])
    if memo["H"] is None or 2 * nw.size >= free.size:
        return B, None
    H = np.empty((free.size, free.size))
    H[np.ix_(kn, kn)] = memo["H"][np.ix_(pos[kn], pos[kn])]
    if nw.size:
        SB = fac.solve(B[:, nw])
        cross = B[:, kn].T @ SB
        H[np.ix_(kn, nw)] = cross
        H[np.ix_(nw, kn)] = cross.T
        Hnn = B[:, nw].T @ SB
        H[np.ix_(nw, nw)] = 0.5 * (Hnn + Hnn.T)
    return B, H


def newton_step(H: FloatArray, grad: FloatArray, x: FloatArray) -> FloatArray:
    """The step ``p`` minimising ``1/2 p^T H p + grad^T p`` subject to ``x + p >= 0``.

    The bound-constrained Newton model solved exactly, as a nonnegative least-squares
    problem in ``z = x + p``: ``H = R^T R`` and ``min ||R z - b||`` over ``z >= 0`` with
    ``R^T b = H x - grad`` (Lawson-Hanson, its optimality conditions checked:
    :func:`harness.solvers.nnls.nnls_checked`). Unlike a projected Newton step, gates
    leave or enter the support only when the model asks for it.
    """
    from harness.solvers.nnls import nnls_checked

    try:
        R = scipy.linalg.cholesky(H, lower=False, check_finite=False)
        b = scipy.linalg.solve_triangular(R, H @ x - grad, trans="T", check_finite=False)
        z = nnls_checked(R, b, maxiter=50 * max(x.size, 1))
        out: FloatArray = z - x
        return out
    except (np.linalg.LinAlgError, ValueError, RuntimeError):
        # not positive definite numerically: projected Newton direction
        fallback: FloatArray = np.asarray(
            -np.linalg.lstsq(H, grad, rcond=None)[0], dtype=np.float64
        )
        return fallback


def rational_step(
    psi: float, gn2: FloatArray, step: FloatArray, H: FloatArray, beta: float
) -> float:
    """First trial step along ``step``: the minimiser of a rational model of ``f``.

    Along ``theta + t p`` the data term ``psi(t) = 1/2 y^T S^{-1} y`` is a sum of terms
    ``c / (1 + lambda t)`` (exactly one for one gate), which a quadratic model fits badly
    far from the optimum: Newton steps then grow ``theta`` by a constant factor only.
    ``psi ~ gamma + a / (1 + b t)`` is fitted to ``psi(0)``, ``psi'(0) = -1/2 sum p_i
    ||g_i||^2`` and ``psi''(0) = p^T H p``, and ``gamma + a / (1 + b t) + beta^2/2 t sum p``
    minimised in closed form. Returns ``t >= 1`` (1 when the model gives nothing better),
    capped at ``MAX_EXPAND``; the Armijo test still decides.
    """
    d1 = -0.5 * float(gn2 @ step)
    d2 = float(step @ H @ step)
    e = 0.5 * beta * beta * float(step.sum())
    if not (d1 < 0.0 and d2 > 0.0 and e > 0.0 and psi > 0.0):
        return 1.0
    b = -d2 / (2.0 * d1)
    a = -d1 / b
    ratio = a * b / e
    if ratio <= 1.0:
        return 1.0
    return float(min(max((np.sqrt(ratio) - 1.0) / b, 1.0), MAX_EXPAND))


def solve_gated_kernel(
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    warm_start: WarmStart = None,
    problem: str = "gated",
    cache: dict | None = None,
) -> SolveResult:
    """Gated group lasso (5) by projected Newton on ``theta`` (module docstring).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
    D : bool ndarray of shape (n, P)
    beta : float > 0
    tol : float
        Stop when the certified gap ``objective - dual_bound <= tol * |objective|``.
    max_iter : int
        Newton steps (each one factorisation of ``S`` plus its line search).
    warm_start : SolveResult or dict, optional
        ``{"W"}`` of shape (d, k), k <= P; ``theta_i = ||w_i|| / beta`` (exact at the
        optimum of (5) for this beta, and the natural start on a beta path). A ReLU
        result's ``U - V`` is used when no ``W`` is given.
    problem : {"gated"}
        Only labels the record.
    cache : dict, optional
        Kept between calls on the same ``X, D`` (``X X^T``, Gram blocks): pass one dict
        along a beta path.

    Returns
    -------
    SolveResult
        ``solver="fast"``, ``extra["method"]="kernel_newton"`` (or the FISTA record, with
        ``extra["handover"]``, when both forms exceed ``MAX_DIM``); ``extra`` holds
        ``stop_reason``, ``n_factor``, the forms used and ``factor_time_s``.
    """
    t_start = time.perf_counter()
    check_problem(problem, ("gated",), "the gated kernel-Newton solver")
    X, y = F.check_data(X, y)
    D = F.check_patterns(D, X.shape[0])
    beta = F.check_beta(beta)
    tol, max_iter = check_options(tol, max_iter)
    d, P = X.shape[1], D.shape[1]
    warm = warm_variables(warm_start)
    W0 = gated_warm_columns(warm, d, P)

    n = X.shape[0]
    if n > MAX_DIM and d * P > MAX_DIM:
        # the kernel form does not fit and the feature form fits only supports of at most
        # MAX_DIM / d gates: FISTA on a working set of gates is the faster method here
        # (measured at n=5000, d=50, P=500: Newton grew to 76 gates, 1.5 s, then handed over)
        from harness.solvers.gated_fista import solve_gated_fista

        res = solve_gated_fista(X, y, D, beta, tol=tol, warm_start={"W": W0}, problem=problem)
        info = {**res.extra, "handover": f"n={n} and d*P={d * P} exceed MAX_DIM={MAX_DIM}"}
        return dataclasses.replace(res, time_s=time.perf_counter() - t_start, extra=info)
    sys_ = KernelSystems(X, y, D, beta, cache)
    Df = sys_.Df
    if "theta" in warm:  # a predicted theta (beta path), zero for gates beyond its length
        theta = np.zeros(P)
        given = np.maximum(np.asarray(warm["theta"], dtype=np.float64).ravel()[:P], 0.0)
        theta[: given.size] = np.where(np.isfinite(given), given, 0.0)
    else:
        theta = F.group_norms(W0) / beta
    if not sys_.feasible(np.flatnonzero(theta > 0)):
        theta = np.zeros(P)
    fac = sys_.factor(theta)
    best_obj, best_W, best_bound, best_v = 0.5 * float(y @ y), np.zeros((d, P)), 0.0, y
    stop_reason, n_iter, n_backtracks = "max_iter", 0, 0
    handover: str | None = None
    # the last iterate of the previous solve on this cache (a beta path): its G, B and
    # Hessian do not depend on beta, only its free set does
    memo = sys_.cache.get("memo")
    if memo is not None and not np.array_equal(memo["theta"], theta):
        memo = None
    while True:
        alpha = fac.alpha
        H: FloatArray | None = None
        if memo is not None:
            Gm = memo["Gm"]
        else:
            Gm = X.T @ (Df * alpha[:, None])  # g_i = X^T D_i alpha, (d, P)
        gn2 = np.einsum("dp,dp->p", Gm, Gm)
        support = np.flatnonzero(theta > 0.0)
        grad = 0.5 * (beta * beta - gn2)
        viol = np.flatnonzero((theta <= 0.0) & (grad < 0.0))
        cap = max(ENTER_MIN, support.size)
        enter = viol[np.argsort(grad[viol], kind="stable")[:cap]]
        free = np.union1d(support, enter)
        # B_i = D_i X g_i = K_i alpha for the free gates: one product with X serves the
        # residual (the support is in ``free``), the Hessian and the linearised candidate
        if memo is not None:
            B, H = _extend_newton(memo, free, Gm, X, Df, fac)
            memo = None
        else:
            B = Df[:, free] * (X @ Gm[:, free])
        last = {"theta": theta, "Gm": Gm, "free": free, "B": B, "H": None}
        sys_.cache["memo"] = last
        W = np.zeros((d, P))
        W[:, support] = Gm[:, support] * theta[support]
        r = B[:, np.searchsorted(free, support)] @ theta[support] - y
        obj = 0.5 * float(r @ r) + beta * float(np.sqrt(gn2[support]) @ theta[support])
        if obj < best_obj:
            best_obj, best_W = obj, W
        bound = scaled_dual_value(
            float(alpha @ y), float(alpha @ alpha), float(np.sqrt(gn2.max())), beta
        )
        if bound > best_bound:
            best_bound, best_v = bound, alpha
        if gap_ok(best_obj, best_bound, tol):
            stop_reason = "gap"
            break
        if n_iter >= max_iter:
            break
        n_iter += 1
        if not sys_.feasible(free):
            handover = f"support of {free.size} gates exceeds MAX_DIM={MAX_DIM} in both forms"
            break
        if H is None:
            H = fac.hessian(B, free, Gm[:, free])
            H = 0.5 * (H + H.T)
        last["H"] = H.copy()
        H[np.diag_indices(free.size)] += 1e-13 * max(float(np.trace(H)), 1e-300)
        step = newton_step(H, grad[free], theta[free])
        v_lin: FloatArray | None = None
        if best_obj - best_bound <= LINEAR_DUAL_GAP * best_obj:
            # dual candidate alpha(theta + p) to first order: its infeasibility is of second
            # order, so it often certifies one factorisation early (THEORY.md Part D)
            v = v_lin = alpha - fac.solve(B @ step)
            gv = F.group_norms(X.T @ (Df * v[:, None]))
            bound = scaled_dual_value(float(v @ y), float(v @ v), float(gv.max()), beta)
            if bound > best_bound:
                best_bound, best_v = bound, v
            if gap_ok(best_obj, best_bound, tol):
                stop_reason = "gap"
                break
        t = rational_step(
            fac.value - 0.5 * beta * beta * float(theta.sum()), gn2[free], step, H, beta
        )
        accepted = False
        while t >= MIN_STEP:
            trial = theta.copy()
            trial[free] = np.maximum(theta[free] + t * step, 0.0)
            if not sys_.feasible(np.flatnonzero(trial > 0.0)):
                t = 1.0 if t > 1.0 else 0.5 * t
                continue
            refined = None
            if v_lin is not None:
                # near the optimum: the trial point by CG preconditioned with this factor
                refined = sys_.refine(fac, trial, v_lin)
            new = refined if refined is not None else sys_.factor(trial)
            # rounding slack: near the optimum f changes by less than its last digits
            slack = 1e-13 * abs(fac.value)
            if new.value <= fac.value + ARMIJO * float(grad @ (trial - theta)) + slack:
                accepted = True
                break
            t = 1.0 if t > 1.0 else 0.5 * t  # a failed expansion falls back to Newton's step
            n_backtracks += 1
        if not accepted:
            stop_reason = "stalled"
            break
        theta, fac = trial, new

    extra: dict[str, Any] = {
        "stop_reason": stop_reason,
        "n_factor": sys_.n_factor,
        "n_factor_reused": sys_.n_reused,
        "n_refined": sys_.n_refined,
        "n_kernel_form": sys_.forms["kernel"],
        "n_feature_form": sys_.forms["feature"],
        "n_backtracks": n_backtracks,
        "factor_time_s": sys_.seconds,
    }
    if handover is None:
        extra["theta"] = theta
        sys_.cache["last"] = (
            fac  # S(theta) does not depend on beta: the next solve of a path reuses it
        )
    if handover is not None:
        from harness.solvers.gated_fista import solve_gated_fista

        res = solve_gated_fista(X, y, D, beta, tol=tol, warm_start={"W": best_W}, problem=problem)
        info = {**res.extra, "handover": handover, "kernel_newton": extra}
        return dataclasses.replace(res, time_s=time.perf_counter() - t_start, extra=info)
    claimed = "optimal" if stop_reason == "gap" else stop_reason
    if claimed == "stalled":
        claimed = "inaccurate"
    return build_result(
        "gated",
        X,
        y,
        D,
        beta,
        {"W": best_W},
        solver="fast",
        method="kernel_newton",
        solver_version=__version__,
        tol=tol,
        claimed_status=claimed,
        raw_status=stop_reason,
        n_iter=n_iter,
        t_start=t_start,
        residuals=[best_v],
        extra=extra,
    )
