"""Fast first-order solvers for the relaxations of THEORY.md §A2, eqs. (5) and (3)/(2).

Both solvers work on the n x P masked products only: the forward map
``W -> sum_i D_i X w_i`` is the row sum of ``D * (X @ W)`` and its adjoint
``r -> (X^T D_i r)_i`` is ``X.T @ (D * r[:, None])``. The n x dP lifted matrix is never
formed. Both stop on a *certificate*, never on iterate change, and record why they stopped
(``raw_status`` and ``extra["stop_reason"]``).

Gated group lasso (5)
    FISTA [Beck & Teboulle 2009] with the gradient-based adaptive restart of O'Donoghue &
    Candès (2015). The step is ``1/L`` with ``L`` from a power-iteration estimate of
    ``||A||^2`` (``A`` the forward map), padded by 5% and safeguarded by the exact check
    ``||A (x+ - y)||^2 <= L ||x+ - y||^2`` (both sides are at hand), which enlarges ``L`` if
    the estimate was low. The prox is group soft-thresholding. Every iteration gives a dual
    candidate for free: the residual ``v = y - A y_k`` at the extrapolated point, whose
    constraint values ``||X^T D_i v||`` are the group norms of the gradient just computed.
    Scaled to dual feasibility (THEORY.md Part D) it is a certified lower bound; the solver
    stops when ``objective - bound <= tol * max(1, |objective|)``. The reported bound is
    recomputed by :func:`harness.formulations.gated_dual_bound`.

Cone-constrained ReLU program (3)
    Augmented Lagrangian (method of multipliers) on the cone constraints
    ``(2 D_i - I) X z >= 0`` of the 2P columns ``Z = [U, V]``, with the FISTA above as the
    inner solver. Why this and not ADMM:

    * the AL subproblem is again "smooth + group norm", and its smooth part shares the one
      product ``X @ Z`` between the fit term and the cone term: one forward and one adjoint
      product per inner iteration, the arithmetic of the gated solver on 2P columns. An
      ADMM with an exact linear step needs a Woodbury solve with the n x n masked Gram
      matrix (an O(n^3) factorisation, about four products per iteration);
    * the AL multipliers ``Lambda = (Lambda - rho C)_+`` are the cone multipliers
      ``lam, mu >= 0`` of :func:`harness.formulations.relu_dual_bound`, so every inner
      iterate gives a certified lower bound for free (the gradient's group norms are the
      dual constraint values), valid whatever the accuracy of the inner solve;
    * the penalty's curvature is known exactly: ``G^T G = I (x) X^T X`` because
      ``(2 D_i - I)^2 = I``, so ``L = 2 ||A||^2 + rho ||X||_2^2``; ``rho`` starts balanced
      (``rho ||X||^2 = 2 ||A||^2``), so the subproblem is about as well conditioned as the
      gated problem, and grows only when the cone violation stalls.

    First-order multiplier methods identify the support fast but converge slowly to high
    accuracy on these degenerate programs, so both solvers also try a *reduced Newton
    step* once the support looks settled: on the active columns, restricted to the null
    space of their tight cone rows, (3) and (5) are smooth group-norm problems of dimension
    ``m = sum (d - #tight rows)``; a damped Newton method solves them to machine precision
    (one m x m Cholesky per step; tried only when ``m <= NEWTON_MAX_DIM``). Tight rows and
    support are corrected in a few rounds (add rows that became violated, release rows
    with negative multipliers, drop vanishing columns). The candidate is accepted only
    through the same certificate, so a wrong guess costs time, never correctness.

    The AL stops on the primal-dual residuals (inner stationarity in units of ``beta``)
    AND the maximum relative cone violation AND the certified gap. Every reported point is
    *polished* to exact cone feasibility: each column is projected onto its cone
    ``K_i = {u : (2 D_i - I) X u >= 0}`` through the dual NNLS of the projection,
    ``min_{mu >= 0} ||A_J^T mu + u||`` over a growing set ``J`` of violated rows
    (:func:`polish_cones`). The objective is recomputed at the polished point (a true
    upper bound on p~*), the gap is certified there, and the mapped network reproduces it.

Warm starts (a previous :class:`SolveResult` or a variables dict) pad new pattern columns
with zeros, so nested pattern sets (P growing, columns appended) and beta paths work;
:func:`solve_path` runs a whole beta path with warm starts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.linalg
from scipy.optimize import nnls

from harness import __version__
from harness import formulations as F
from harness.errors import InputError
from harness.formulations import BoolArray, FloatArray
from harness.solvers.registry import register_solver
from harness.solvers.result import SolveResult

DEFAULT_TOL = 1e-8
DEFAULT_MAX_ITER_GATED = 50_000
DEFAULT_MAX_ITER_RELU = 100_000
#: Largest reduced dimension for which the Newton step is tried (m x m Cholesky).
NEWTON_MAX_DIM = 2500

WarmStart = SolveResult | Mapping[str, Any] | None
IntArray = np.ndarray


# --------------------------------------------------------------------------- helpers
class _MaskedProducts:
    """The masked products of THEORY.md §A2 with a clock on their arithmetic.

    ``forward(W, M) = rowsum(M * (X @ W))``, ``matmul(W) = X @ W`` and
    ``adjoint(R) = X.T @ R`` for an (n, k) array ``R`` built by the caller. The time spent
    in them is accumulated in ``seconds`` so benchmarks can report how close a solver is
    to the cost of its own products.
    """

    def __init__(self, X: FloatArray) -> None:
        self.X = X
        self.XT = np.ascontiguousarray(X.T)
        self.seconds = 0.0
        self.count = 0

    def matmul(self, W: FloatArray) -> FloatArray:
        t0 = time.perf_counter()
        out: FloatArray = self.X @ W
        self.seconds += time.perf_counter() - t0
        self.count += 1
        return out

    def forward(self, W: FloatArray, M: FloatArray) -> FloatArray:
        t0 = time.perf_counter()
        pred: FloatArray = np.einsum("np,np->n", M, self.X @ W)
        self.seconds += time.perf_counter() - t0
        self.count += 1
        return pred

    def adjoint(self, R: FloatArray) -> FloatArray:
        t0 = time.perf_counter()
        out: FloatArray = self.XT @ R
        self.seconds += time.perf_counter() - t0
        self.count += 1
        return out


def _group_soft_threshold(Z: FloatArray, thresh: float) -> tuple[FloatArray, FloatArray]:
    """Prox of ``thresh * sum_i ||z_i||``: shrink each column norm by ``thresh``.

    Returns the shrunk array and its column norms.
    """
    norms = F.group_norms(Z)
    keep = np.maximum(norms - thresh, 0.0)
    scale = np.divide(keep, norms, out=np.zeros_like(norms), where=norms > 0)
    return Z * scale, keep


def _scaled_dual_value(vy: float, vv: float, g: float, beta: float) -> float:
    """Weak-duality bound ``t v^T y - t^2/2 ||v||^2`` at the best feasible ``t``.

    Same formula as :func:`harness.formulations.gated_dual_bound` (THEORY.md Part D,
    "Scaling a candidate"), from the scalars ``v^T y``, ``||v||^2`` and the largest dual
    constraint value ``g``; used inside the loops where ``g`` comes for free. The bound
    that is *reported* is always recomputed by :mod:`harness.formulations`.
    """
    if vv <= 0.0:
        return 0.0
    t_max = np.inf if g <= 0.0 else beta / g
    t = min(max(vy / vv, 0.0), t_max)
    return float(t * vy - 0.5 * t * t * vv)


def _power_lipschitz(
    ops: _MaskedProducts, M: FloatArray, y: FloatArray, n_iter: int = 100, rtol: float = 1e-4
) -> float:
    """Estimate ``||A||_2^2`` for ``A W = rowsum(M * (X @ W))`` by power iteration on A A^T.

    Deterministic start ``1 + |y| / ||y||`` (the top singular vector of a masked Gram
    matrix is close to a positive vector); the Rayleigh quotient is a lower bound, so
    callers pad it and keep the exact step-size check.
    """
    z = 1.0 + np.abs(y) / max(float(np.linalg.norm(y)), 1e-300)
    z = z / np.linalg.norm(z)
    lam = 0.0
    for _ in range(n_iter):
        w = ops.forward(ops.adjoint(M * z[:, None]), M)
        lam_new = float(np.linalg.norm(w))
        if lam_new == 0.0:
            return 0.0
        z = w / lam_new
        if abs(lam_new - lam) <= rtol * lam_new:
            return lam_new
        lam = lam_new
    return lam


def _check_options(tol: float, max_iter: int) -> tuple[float, int]:
    try:
        tol_f = float(tol)
    except (TypeError, ValueError) as exc:
        raise InputError(f"tol must be a number in (0, 1); got {tol!r}") from exc
    if not (0.0 < tol_f < 1.0):
        raise InputError(f"tol must be a number in (0, 1); got {tol!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InputError(f"max_iter must be an integer >= 1; got {max_iter!r}")
    return tol_f, int(max_iter)


def _warm_variables(warm_start: WarmStart) -> dict[str, Any]:
    if warm_start is None:
        return {}
    if isinstance(warm_start, SolveResult):
        out: dict[str, Any] = dict(warm_start.variables)
        mult = warm_start.extra.get("multipliers")
        if isinstance(mult, Mapping):
            out.update(mult)
        if "rho" in warm_start.extra:
            out["rho"] = warm_start.extra["rho"]
        return out
    if isinstance(warm_start, Mapping):
        return dict(warm_start)
    raise InputError(
        "warm_start must be a SolveResult, a dict of variables ({'W'} or {'U', 'V'}) or None; "
        f"got {type(warm_start).__name__}"
    )


def _pad_columns(A: Any, rows: int, P: int, name: str) -> FloatArray:
    """Warm-start array padded with zero columns up to P (nested pattern sets)."""
    arr = np.asarray(A, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != rows or arr.shape[1] > P:
        raise InputError(
            f"warm_start {name!r} must have shape ({rows}, k) with k <= P={P}; got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise InputError(f"warm_start {name!r} contains NaN or infinite values")
    out = np.zeros((rows, P))
    out[:, : arr.shape[1]] = arr
    return out


def _gap_ok(obj: float, bound: float, tol: float) -> bool:
    return obj - bound <= tol * max(1.0, abs(obj))


# --------------------------------------------------------------------------- cones
def _project_cone(
    A: FloatArray, u: FloatArray, max_rounds: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Projection of ``u`` onto ``{z : A z >= 0}`` and its multiplier ``mu >= 0`` (n,).

    Dual NNLS ``min_{mu >= 0} ||A_J^T mu + u||`` over a working set ``J`` of rows, started
    at the violated rows and grown until no row is violated; ``u' = u + A_J^T mu``. By the
    NNLS optimality conditions ``A_J u' >= 0`` and ``mu_j (A u')_j = 0``. ``||u'||`` is the
    smallest ``||u + A^T mu||`` over ``mu >= 0`` (Moreau), which is also what the dual
    certificate of (3) needs (THEORY.md Part D, bound 1).
    """
    mu_full = np.zeros(A.shape[0])
    J = np.flatnonzero(A @ u < 0.0)
    if J.size == 0:
        return u.copy(), mu_full
    u_new = u
    mu = np.zeros(J.size)
    for _ in range(max_rounds):
        AJt = A[J].T
        try:
            mu, _ = nnls(AJt, -u, maxiter=max(100, 20 * J.size))
        except RuntimeError:  # pragma: no cover - NNLS iteration limit
            break
        u_new = u + AJt @ mu
        extra = np.setdiff1d(np.flatnonzero(A @ u_new < 0.0), J)
        if extra.size == 0:
            break
        J = np.union1d(J, extra)
        mu = np.zeros(J.size)
    mu_full[J[: mu.size]] = mu
    return u_new, mu_full


def polish_cones(X: FloatArray, D: BoolArray, W: FloatArray) -> FloatArray:
    """Project each column of ``W`` onto its cone ``K_i``, THEORY.md §A1; returns a copy.

    ``K_i = {u : (2 D_i - I) X u >= 0}``. Only columns with a violated row are touched
    (through :func:`_project_cone`); projection onto a cone never increases a norm.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    D : bool ndarray of shape (n, k)
    W : ndarray of shape (d, k)
    """
    S = 2.0 * D - 1.0
    C = S * (X @ W)
    out = W.copy()
    for i in np.flatnonzero((C < 0.0).any(axis=0)):
        out[:, i], _ = _project_cone(S[:, i, None] * X, W[:, i])
    return out


# --------------------------------------------------------------------------- Newton
def _newton_group_lasso(
    B: FloatArray, gid: IntArray, y: FloatArray, beta: float, w: FloatArray, max_iter: int = 60
) -> tuple[FloatArray, bool, bool]:
    """Damped Newton on ``1/2||B w - y||^2 + beta sum_g ||w_g||`` with every group nonzero.

    ``gid`` (m,) gives each coordinate's group. Returns the final ``w``, whether some
    group collapsed to (numerically) zero (the caller drops it) and whether the gradient
    vanished (relative 1e-9); a stalled line search returns ``False``.
    """
    n_groups = int(gid.max()) + 1
    H0 = B.T @ B
    b = B.T @ y
    same = gid[:, None] == gid[None, :]
    diag = np.arange(w.size)
    scale = float(np.linalg.norm(b)) + beta * np.sqrt(n_groups)

    def penalty(w_: FloatArray) -> float:
        return float(beta * np.sqrt(np.bincount(gid, w_ * w_, n_groups)).sum())

    r = B @ w - y
    f0 = float(0.5 * r @ r) + penalty(w)
    converged = False
    for _ in range(max_iter):
        nrm = np.sqrt(np.bincount(gid, w * w, n_groups))
        if nrm.min() <= 1e-9 * nrm.max():
            return w, True, False
        wh = w / nrm[gid]
        grad = B.T @ r + beta * wh
        gn = float(np.linalg.norm(grad))
        converged = gn <= 1e-9 * scale
        if gn <= 1e-13 * scale:
            break
        H = H0 - same * np.outer(wh, wh) * (beta / nrm[gid])[:, None]
        H[diag, diag] += beta / nrm[gid] + 1e-13 * float(np.max(np.diag(H0)))
        try:
            step = -scipy.linalg.cho_solve(scipy.linalg.cho_factor(H), grad)
        except np.linalg.LinAlgError:
            step = -np.linalg.lstsq(H, grad, rcond=None)[0]
        slope = float(grad @ step)
        if slope >= 0.0:
            break
        # f(w + s step) = 1/2 ||r + s B step||^2 + penalty: O(n + m) per trial
        Bs = B @ step
        rr, rb, bb = float(r @ r), float(r @ Bs), float(Bs @ Bs)
        s = 1.0
        while True:
            f1 = 0.5 * (rr + 2.0 * s * rb + s * s * bb) + penalty(w + s * step)
            if f1 <= f0 + 1e-4 * s * slope or s < 1e-12:
                break
            s *= 0.5
        if f1 > f0:
            break
        w = w + s * step
        r = r + s * Bs
        done = f0 - f1 <= 1e-16 * max(1.0, abs(f0))
        f0 = f1
        if done:
            break
    nrm = np.sqrt(np.bincount(gid, w * w, n_groups))
    if not converged:
        grad = B.T @ (B @ w - y) + beta * w / np.maximum(nrm[gid], 1e-300)
        converged = float(np.linalg.norm(grad)) <= 1e-9 * scale
    return w, bool(nrm.min() <= 1e-9 * nrm.max()), converged


def _null_basis(A: FloatArray, d: int) -> FloatArray:
    """Orthonormal basis (d, k) of the null space of the rows of ``A`` (identity if none)."""
    if A.shape[0] == 0:
        return np.eye(d)
    _, s, Vt = np.linalg.svd(A, full_matrices=True)
    rank = int(np.sum(s > 1e-10 * s[0])) if s.size else 0
    return np.ascontiguousarray(Vt[rank:].T)


def _support_newton(
    X: FloatArray, y: FloatArray, beta: float, M: FloatArray, W: FloatArray, cols: IntArray
) -> FloatArray | None:
    """Newton on the support ``cols`` of the gated problem (5); vanishing columns dropped.

    Returns the new (d, P) array, or None when the reduced dimension exceeds
    :data:`NEWTON_MAX_DIM`.
    """
    d = X.shape[1]
    W = W.copy()
    cols = np.asarray(cols)
    while cols.size:
        m = d * cols.size
        if m > NEWTON_MAX_DIM:
            return None
        B = np.concatenate([M[:, j, None] * X for j in cols], axis=1)
        gid = np.repeat(np.arange(cols.size), d)
        w, collapsed, converged = _newton_group_lasso(B, gid, y, beta, W[:, cols].T.ravel())
        W[:, cols] = w.reshape(cols.size, d).T
        if not collapsed:
            return W if converged else None
        norms = F.group_norms(W[:, cols])
        keep = norms > 1e-9 * norms.max()
        W[:, cols[~keep]] = 0.0
        cols = cols[keep]
    return W


def _active_set_newton(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    Fs: FloatArray,
    Ss: FloatArray,
    Z: FloatArray,
    guess: FloatArray | None = None,
    max_changes: int = 500,
) -> tuple[FloatArray, FloatArray] | None:
    """Feasible active-set Newton method for (3) from a cone-feasible ``Z`` (d, 2P).

    Each support column ``j`` keeps a working set ``W_j`` of tight cone rows and moves in
    the null space of ``A_j[W_j]`` (``A_j = (2 D_j - I) X``). One step solves the smooth
    reduced problem by damped Newton, then walks from the current point towards its
    solution until the first cone row blocks (ratio test; the objective cannot increase,
    by convexity, and this is checked); a blocking row joins the working set; at a reduced
    optimum the rows with negative multipliers leave it, and columns off the support whose
    best dual value ``||Pi_K(sigma X^T D v)||`` exceeds ``beta`` enter it (pricing).
    ``guess`` (n, 2P), e.g. the AL's cone values, seeds the working sets with its smallest
    relative entries (dropped if that first guess does not descend). Returns the new
    ``Z`` (feasible up to rounding) and the row multipliers (n, 2P) of its support
    columns, or None when the reduced problem exceeds ``NEWTON_MAX_DIM``, is degenerate,
    or the change budget runs out.
    """
    n, d = X.shape
    xn = np.linalg.norm(X, axis=1)
    half = Z.shape[1] // 2
    Z0 = Z
    Z = Z.copy()
    norms0 = F.group_norms(Z)
    if norms0.max() > 0:
        # tiny columns of a first-order iterate are mostly noise; pricing brings back real ones
        Z[:, norms0 < 1e-3 * norms0.max()] = 0.0
    cols = np.flatnonzero(F.group_norms(Z) > 0)
    A = {int(j): Ss[:, j, None] * X for j in cols}
    work: dict[int, IntArray] = {}

    def seed_work(use_guess: bool) -> None:
        for j in cols:
            zn = np.linalg.norm(Z[:, j])
            Az = guess[:, j] if (use_guess and guess is not None) else A[int(j)] @ Z[:, j]
            T = np.flatnonzero(Az <= (1e-3 if use_guess else 1e-10) * xn * zn)
            work[int(j)] = T[np.argsort(Az[T] / xn[T])][: d - 1]

    seeded_by_guess = guess is not None
    seed_work(seeded_by_guess)
    lam_full = np.zeros((n, Z.shape[1]))
    cache: dict[int, tuple[bytes, FloatArray, FloatArray]] = {}
    top_norm = max(float(norms0.max()), 1e-300)

    def basis(j: int) -> tuple[FloatArray, FloatArray]:
        key = work[j].tobytes()
        hit = cache.get(j)
        if hit is None or hit[0] != key:
            N = _null_basis(A[j][work[j]], d)
            hit = (key, N, (Fs[:, j, None] * X) @ N)
            cache[j] = hit
        return hit[1], hit[2]

    def value(Zc: FloatArray) -> float:
        r = np.einsum("np,np->n", Fs[:, cols], X @ Zc) - y
        return float(0.5 * r @ r + beta * F.group_norms(Zc).sum())

    for _ in range(max_changes):
        lam_full[:] = 0.0
        if cols.size:
            NB = [basis(int(j)) for j in cols]
            dims = np.array([nb[0].shape[1] for nb in NB])
            if np.any(dims == 0):
                # d independent working rows: if they are all tight the column is zero;
                # otherwise keep only the rows that are tight now (guessed ones may not be)
                for j in cols[dims == 0]:
                    T = work[int(j)]
                    z = Z[:, j]
                    now = A[int(j)][T] @ z <= 1e-10 * xn[T] * np.linalg.norm(z)
                    if now.all():
                        Z[:, j] = 0.0
                    work[int(j)] = T[now] if not now.all() else T
                cols = cols[F.group_norms(Z[:, cols]) > 0]
                continue
            if int(dims.sum()) > NEWTON_MAX_DIM:
                return None
            B = np.concatenate([nb[1] for nb in NB], axis=1)
            gid = np.repeat(np.arange(cols.size), dims)
            w0 = np.concatenate([nb[0].T @ Z[:, j] for j, nb in zip(cols, NB)])
            w, _, converged = _newton_group_lasso(B, gid, y, beta, w0)
            offs = np.concatenate([[0], np.cumsum(dims)])
            target = np.zeros((d, cols.size))
            for k, nb in enumerate(NB):
                target[:, k] = nb[0] @ w[offs[k] : offs[k + 1]]
            if value(target) > value(Z[:, cols]) * (1.0 + 1e-12):
                if seeded_by_guess:  # the guessed working sets do not descend: start exact
                    seeded_by_guess = False
                    seed_work(False)
                    continue
                return None
            step = target - Z[:, cols]
            AZ = Ss[:, cols] * (X @ Z[:, cols])
            AS = Ss[:, cols] * (X @ step)
            free = np.ones(AZ.shape, dtype=bool)
            for k, j in enumerate(cols):
                free[work[int(j)], k] = False
            blocking = free & (AS < -1e-14 * xn[:, None] * np.maximum(F.group_norms(step), 1e-300))
            ratios = np.full(AZ.shape, np.inf)
            ratios[blocking] = np.maximum(AZ[blocking], 0.0) / -AS[blocking]
            alpha = float(ratios.min()) if ratios.size else np.inf
            if alpha < 1.0:
                Z[:, cols] += alpha * step
                row, kb = np.unravel_index(int(np.argmin(ratios)), ratios.shape)
                jb = int(cols[kb])
                work[jb] = np.union1d(work[jb], [row])
                continue
            Z[:, cols] = target
            norms = F.group_norms(Z[:, cols])
            top_norm = float(norms.max())
            gone = norms <= 1e-9 * top_norm
            if gone.any():
                Z[:, cols[gone]] = 0.0
                cols = cols[~gone]
                continue
            # multipliers of the working rows: sigma X^T D v + A_W^T lam = beta z / ||z||
            v = y - np.einsum("np,np->n", Fs[:, cols], X @ Z[:, cols])
            Cv = X.T @ (Fs[:, cols] * v[:, None])
            released = False
            for k, j in enumerate(cols):
                T = work[int(j)]
                if T.size == 0:
                    continue
                z = Z[:, j]
                rhs = beta * z / np.linalg.norm(z) - Cv[:, k]
                lam = np.linalg.lstsq(A[int(j)][T].T, rhs, rcond=None)[0]
                lam_full[T, j] = np.maximum(lam, 0.0)
                negative = lam * xn[T] / beta < -1e-9
                if negative.any():
                    work[int(j)] = T[~negative]
                    released = True
            if released:
                continue
        else:
            converged = True
            v = y.copy()
        # pricing: columns off the support whose best dual value exceeds beta enter it
        out_cols = np.setdiff1d(np.arange(Z.shape[1]), cols)
        Cout = X.T @ (Fs[:, out_cols] * v[:, None])
        entering: list[int] = []
        for kp in np.flatnonzero(F.group_norms(Cout) > beta * (1.0 + 1e-9)):
            j = int(out_cols[kp])
            Aj = Ss[:, j, None] * X
            proj, mu = _project_cone(Aj, Cout[:, kp])
            pn = float(np.linalg.norm(proj))
            if pn > beta * (1.0 + 1e-9):
                entering.append(j)
                A[j] = Aj
                T = np.flatnonzero(mu > 0)
                work[j] = T[np.argsort(-mu[T])][: d - 1]
                Z[:, j] = 1e-6 * top_norm * proj / pn
        if not entering:
            start = float(
                F.relu_objective(X, y, Fs[:, :half] > 0, Z0[:, :half], Z0[:, half:], beta)
            )
            end = float(F.relu_objective(X, y, Fs[:, :half] > 0, Z[:, :half], Z[:, half:], beta))
            return (Z, lam_full) if converged and end <= start * (1.0 + 1e-12) else None
        cols = np.union1d(cols, entering)
    return None


# --------------------------------------------------------------------------- gated (5)
@register_solver("gated", "fast")
def solve_gated_fista(
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER_GATED,
    warm_start: WarmStart = None,
    problem: str = "gated",
    lipschitz: float | None = None,
    newton: bool = True,
) -> SolveResult:
    """Gated group lasso, THEORY.md §A2 eq. (5), by FISTA with adaptive restart.

    ``min_W 1/2 ||sum_i D_i X w_i - y||^2 + beta sum_i ||w_i||_2`` (no 1/n factor).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
    D : bool ndarray of shape (n, P)
    beta : float > 0
    tol : float
        Stop when the certified gap ``objective - dual_bound <= tol * max(1, |objective|)``.
    max_iter : int
        FISTA iterations (one forward and one adjoint masked product each).
    warm_start : SolveResult or dict, optional
        ``{"W"}`` of shape (d, k), k <= P (new columns start at zero); a ReLU result's
        ``U - V`` is used when no ``W`` is given.
    problem : {"gated"}
        Only labels the record.
    lipschitz : float, optional
        Known ``||A||^2`` for these ``X, D`` (e.g. from a previous solve on a beta path);
        skips the power iteration. Still safeguarded by the step-size check.
    newton : bool
        Try the reduced Newton step on the support (module docstring).

    Returns
    -------
    SolveResult
        ``solver="fista"``; status ``optimal`` only when the gap certificate is met,
        ``max_iter`` otherwise. ``extra`` holds ``stop_reason``, ``lipschitz``,
        ``n_restarts``, ``n_newton``, ``product_time_s`` and ``product_fraction``.
    """
    t_start = time.perf_counter()
    if problem != "gated":
        raise InputError(f"problem must be 'gated' for the FISTA solver; got {problem!r}")
    X, y = F.check_data(X, y)
    D = F.check_patterns(D, X.shape[0])
    beta = F.check_beta(beta)
    tol, max_iter = _check_options(tol, max_iter)
    d, P = X.shape[1], D.shape[1]
    warm = _warm_variables(warm_start)
    if "W" in warm:
        W = _pad_columns(warm["W"], d, P, "W")
    elif "U" in warm and "V" in warm:
        W = _pad_columns(np.asarray(warm["U"]) - np.asarray(warm["V"]), d, P, "U - V")
    else:
        W = np.zeros((d, P))

    M = D.astype(np.float64)
    ops = _MaskedProducts(X)
    bmax = float(F.group_norms(ops.adjoint(M * y[:, None])).max())
    stop_reason = "max_iter"
    n_iter = n_restarts = n_backtracks = n_newton = 0
    L = 0.0
    v_best = y.copy()
    if beta >= bmax:
        # zero is optimal (beta >= beta_max); the residual y certifies it with gap 0
        W = np.zeros((d, P))
        stop_reason = "beta_max"
    else:
        L = float(lipschitz) if lipschitz else 1.05 * _power_lipschitz(ops, M, y)
        Ax = ops.forward(W, M)
        W_prev, Ax_prev = W, Ax
        t_k = 1.0
        r0 = Ax - y
        best_obj = float(0.5 * r0 @ r0 + beta * F.group_norms(W).sum())
        best_W = W
        best_bound = -np.inf
        next_newton, last_support = 50, np.zeros(P, dtype=bool)
        for it in range(1, max_iter + 1):
            n_iter = it
            t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_k * t_k))
            mom = (t_k - 1.0) / t_next
            if mom > 0.0:
                Yk = W + mom * (W - W_prev)
                AY = Ax + mom * (Ax - Ax_prev)
            else:
                Yk, AY = W, Ax
            r = AY - y
            G = ops.adjoint(M * r[:, None])
            # dual candidate v = -r: v^T y, ||v||^2 and max_i ||X^T D_i v|| are all at hand
            bound = _scaled_dual_value(
                -float(r @ y), float(r @ r), float(F.group_norms(G).max()), beta
            )
            if bound > best_bound:
                best_bound, v_best = bound, -r
            while True:
                W_new, norms_new = _group_soft_threshold(Yk - G / L, beta / L)
                Ax_new = ops.forward(W_new, M)
                dW = W_new - Yk
                dA = Ax_new - AY
                # exact descent-lemma check for the quadratic loss: ||A dW||^2 <= L ||dW||^2
                lhs, rhs = float(dA @ dA), float(np.vdot(dW, dW))
                if lhs <= L * rhs * (1.0 + 1e-12) or rhs == 0.0:
                    break
                L = max(1.5 * L, 1.05 * lhs / rhs)
                n_backtracks += 1
            r_new = Ax_new - y
            obj = float(0.5 * r_new @ r_new + beta * norms_new.sum())
            if obj < best_obj:
                best_obj, best_W = obj, W_new
            # gradient-based adaptive restart (O'Donoghue & Candès 2015)
            if float(np.vdot(Yk - W_new, W_new - W)) > 0.0:
                t_next = 1.0
                n_restarts += 1
            W_prev, Ax_prev = W, Ax
            W, Ax, t_k = W_new, Ax_new, t_next
            if _gap_ok(best_obj, best_bound, tol):
                stop_reason = "gap"
                break
            if newton and it >= next_newton:
                next_newton = 2 * it
                support = norms_new > 0
                if support.any() and not np.array_equal(support, last_support):
                    last_support = support
                    n_newton += 1
                    cols = np.flatnonzero(support)
                    Wc = _support_newton(X, y, beta, M, W, cols)
                    if Wc is not None:
                        Axc = ops.forward(Wc, M)
                        rc = Axc - y
                        Gc = ops.adjoint(M * rc[:, None])
                        bc = _scaled_dual_value(
                            -float(rc @ y), float(rc @ rc), float(F.group_norms(Gc).max()), beta
                        )
                        if bc > best_bound:
                            best_bound, v_best = bc, -rc
                        oc = float(0.5 * rc @ rc + beta * F.group_norms(Wc).sum())
                        if oc < best_obj:
                            best_obj, best_W = oc, Wc
                            W = W_prev = Wc
                            Ax = Ax_prev = Axc
                            t_k = 1.0
                        if _gap_ok(best_obj, best_bound, tol):
                            stop_reason = "gap (newton)"
                            break
        W = best_W
        # one more candidate: the residual at the returned iterate
        v_final = y - F.gated_predict(X, D, W)
        if F.gated_dual_bound(X, y, D, v_final, beta) > F.gated_dual_bound(X, y, D, v_best, beta):
            v_best = v_final

    objective = F.gated_objective(X, y, D, W, beta)
    lower = F.gated_dual_bound(X, y, D, v_best, beta)
    if _gap_ok(objective, lower, tol):
        status = "optimal"
    else:
        status = "max_iter" if stop_reason == "max_iter" else "inaccurate"
    elapsed = time.perf_counter() - t_start
    return SolveResult(
        problem="gated",
        solver="fista",
        solver_version=__version__,
        status=status,
        raw_status=stop_reason,
        objective=objective,
        solver_objective=objective,
        n_iter=n_iter,
        time_s=elapsed,
        tol=tol,
        n_patterns=P,
        n_active=int(F.active_mask(W).sum()),
        max_cone_violation=0.0,
        variables={"W": W},
        duality_gap=objective - lower,
        dual_bound=lower,
        extra={
            "stop_reason": stop_reason,
            "lipschitz": L,
            "n_restarts": n_restarts,
            "n_backtracks": n_backtracks,
            "n_newton": n_newton,
            "product_time_s": ops.seconds,
            "product_fraction": ops.seconds / elapsed if elapsed > 0 else 0.0,
            "n_products": ops.count,
        },
    )


# --------------------------------------------------------------------------- ReLU (3)
def _relative_violation(C: FloatArray, Z: FloatArray, xscale: float) -> float:
    """Relative cone violation from ``C = S * (X Z)``, as in ``formulations.cone_violation``."""
    top = float(F.group_norms(Z).max()) if Z.size else 0.0
    if top == 0.0 or xscale == 0.0:
        return 0.0
    return float(np.maximum(-C, 0.0).max()) / (xscale * top)


def _relu_certificate(
    ops: _MaskedProducts,
    X: FloatArray,
    y: FloatArray,
    Fs: FloatArray,
    Ss: FloatArray,
    Z: FloatArray,
    Lam: FloatArray,
    beta: float,
) -> tuple[float, FloatArray, FloatArray]:
    """Lower bound on (3) from the residual of ``Z`` and multipliers ``Lam`` (n, 2P).

    Columns whose dual constraint ``||sigma X^T D v + A^T lam|| <= beta`` is violated get
    the exact best multipliers ``lam = argmin ||sigma X^T D v + A^T lam||`` (a cone
    projection). Returns the scalar bound, ``v`` and the multipliers used.
    """
    v = y - np.einsum("np,np->n", Fs, ops.matmul(Z))
    Cv = ops.adjoint(Fs * v[:, None])
    norms = F.group_norms(Cv + ops.adjoint(Ss * Lam))
    Lam = Lam.copy()
    for j in np.flatnonzero(norms > beta):
        proj, lam = _project_cone(Ss[:, j, None] * X, Cv[:, j])
        if float(np.linalg.norm(proj)) < norms[j]:
            Lam[:, j] = lam
            norms[j] = float(np.linalg.norm(proj))
    bound = _scaled_dual_value(float(v @ y), float(v @ v), float(norms.max()), beta)
    return bound, v, Lam


@register_solver("relu", "fast")
def solve_relu_al(
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER_RELU,
    warm_start: WarmStart = None,
    problem: str = "relu",
    lipschitz: float | None = None,
    rho: float | None = None,
    newton: bool = True,
) -> SolveResult:
    """Cone-constrained ReLU program, THEORY.md §A2 eq. (3) (or (2)), by augmented Lagrangian.

    ``min 1/2 ||sum_i D_i X (u_i - v_i) - y||^2 + beta sum_i (||u_i|| + ||v_i||)`` s.t.
    ``u_i, v_i in K_i``. Method of multipliers on the cone constraints with FISTA (adaptive
    restart, group prox) on each subproblem, a reduced Newton step on the identified
    support, and an exact projection of every column onto its cone
    (:func:`polish_cones`); see the module docstring.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
    D : bool ndarray of shape (n, P)
    beta : float > 0
    tol : float
        Target for the certified relative gap ``(objective - dual_bound) / max(1, |obj|)``
        at the polished (exactly feasible) point; also the AL's targets for the inner
        stationarity (in units of ``beta``) and the relative cone violation.
    max_iter : int
        Total inner FISTA iterations over all outer iterations.
    warm_start : SolveResult or dict, optional
        ``{"U", "V"}`` (d, k), optionally ``{"lam", "mu"}`` (n, k) multipliers and
        ``"rho"``; k <= P, new columns start at zero. A gated ``{"W"}`` starts ``U = W``.
    problem : {"relu", "full"}
        Labels the record (``"full"`` when ``D`` holds every pattern).
    lipschitz : float, optional
        Known ``||A||^2`` of the gated forward map for these ``X, D``.
    rho : float, optional
        Initial penalty; default balances ``rho ||X||^2`` against ``2 ||A||^2``.
    newton : bool
        Try the reduced Newton step on the support (module docstring).

    Returns
    -------
    SolveResult
        ``solver="relu_al"``; ``variables={"U", "V"}`` exactly cone-feasible (polished);
        ``extra`` holds ``stop_reason``, ``n_outer``, ``n_newton``, ``rho``, the
        multipliers (``extra["multipliers"] = {"lam", "mu"}``, for warm starts),
        ``cone_violation_unpolished`` and the product timing.
    """
    t_start = time.perf_counter()
    if problem not in ("relu", "full"):
        raise InputError(f"problem must be one of ['relu', 'full'] for relu_al; got {problem!r}")
    X, y = F.check_data(X, y)
    D = F.check_patterns(D, X.shape[0])
    beta = F.check_beta(beta)
    tol, max_iter = _check_options(tol, max_iter)
    n, d = X.shape
    P = D.shape[1]
    warm = _warm_variables(warm_start)
    Z = np.zeros((d, 2 * P))
    Lam = np.zeros((n, 2 * P))
    if "U" in warm and "V" in warm:
        Z[:, :P] = _pad_columns(warm["U"], d, P, "U")
        Z[:, P:] = _pad_columns(warm["V"], d, P, "V")
    elif "W" in warm:
        Z[:, :P] = _pad_columns(warm["W"], d, P, "W")
    if "lam" in warm and "mu" in warm:
        Lam[:, :P] = np.maximum(_pad_columns(warm["lam"], n, P, "lam"), 0.0)
        Lam[:, P:] = np.maximum(_pad_columns(warm["mu"], n, P, "mu"), 0.0)

    Dm = D.astype(np.float64)
    S = 2.0 * Dm - 1.0
    DD = np.concatenate([D, D], axis=1)
    Fs = np.concatenate([Dm, -Dm], axis=1)  # fit term: pred = rowsum(Fs * (X Z))
    Ss = np.concatenate([S, S], axis=1)  # cone term: C = Ss * (X Z) >= 0
    ops = _MaskedProducts(X)
    xscale = float(np.max(np.linalg.norm(X, axis=1)))
    x_norm2 = float(np.linalg.norm(X, 2) ** 2)

    bmax = float(F.group_norms(ops.adjoint(Dm * y[:, None])).max())
    stop_reason = "max_iter"
    n_iter = n_outer = n_restarts = n_backtracks = n_newton = 0
    best_bound = -np.inf
    v_best = y.copy()
    lam_best = np.zeros((n, 2 * P))
    best_feasible: FloatArray | None = None
    best_feasible_obj = np.inf
    viol = 0.0
    L_fit = 0.0
    rho_k = 0.0

    def offer_feasible(Zf: FloatArray) -> float:
        nonlocal best_feasible, best_feasible_obj
        obj_f = F.relu_objective(X, y, D, Zf[:, :P], Zf[:, P:], beta)
        if obj_f < best_feasible_obj:
            best_feasible, best_feasible_obj = Zf, obj_f
        return obj_f

    if beta >= bmax:
        Z = np.zeros((d, 2 * P))
        Lam = np.zeros((n, 2 * P))
        stop_reason = "beta_max"
    else:
        L_A = float(lipschitz) if lipschitz else 1.05 * _power_lipschitz(ops, Dm, y)
        L_fit = 2.0 * L_A  # ||[A, -A]||^2
        if rho:
            rho_k = float(rho)
        elif warm.get("rho"):
            rho_k = float(warm["rho"])
        else:
            rho_k = L_fit / x_norm2
        eps_in = 1e-2  # inner stationarity target, relative to beta
        # inner iteration cap: lets the Newton step try early, then relaxes
        inner_cap = 500
        viol_prev = np.inf
        last_structure: tuple[bytes, ...] = ()
        XZ = ops.matmul(Z)
        while n_iter < max_iter:
            n_outer += 1
            # ---- inner FISTA on the AL subproblem: smooth h(Z) + beta sum ||z_j||
            L = L_fit + rho_k * x_norm2
            XZ_prev, Z_prev = XZ, Z
            t_k = 1.0
            inner_res = np.inf
            inner_stop = min(max_iter, n_iter + inner_cap)
            while n_iter < inner_stop:
                n_iter += 1
                t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_k * t_k))
                mom = (t_k - 1.0) / t_next
                if mom > 0.0:
                    Yk = Z + mom * (Z - Z_prev)
                    XY = XZ + mom * (XZ - XZ_prev)
                else:
                    Yk, XY = Z, XZ
                pred_Y = np.einsum("np,np->n", Fs, XY)
                r = pred_Y - y
                Lp = np.maximum(Lam - rho_k * (Ss * XY), 0.0)
                G = ops.adjoint(Fs * r[:, None] - Ss * Lp)
                bound = _scaled_dual_value(
                    -float(r @ y), float(r @ r), float(F.group_norms(G).max()), beta
                )
                if bound > best_bound:
                    best_bound, v_best, lam_best = bound, -r, Lp
                while True:
                    Z_new, _ = _group_soft_threshold(Yk - G / L, beta / L)
                    XZ_new = ops.matmul(Z_new)
                    dZ = Z_new - Yk
                    dpred = np.einsum("np,np->n", Fs, XZ_new) - pred_Y
                    lhs, rhs = float(dpred @ dpred), float(np.vdot(dZ, dZ))
                    # only the fit part's constant is estimated; rho ||X||^2 is exact
                    if lhs <= L_fit * rhs * (1.0 + 1e-12) or rhs == 0.0:
                        break
                    L_fit = max(1.5 * L_fit, 1.05 * lhs / rhs)
                    L = L_fit + rho_k * x_norm2
                    n_backtracks += 1
                inner_res = L * float(F.group_norms(dZ).max()) / beta
                if float(np.vdot(Yk - Z_new, Z_new - Z)) > 0.0:
                    t_next = 1.0
                    n_restarts += 1
                Z_prev, XZ_prev = Z, XZ
                Z, XZ, t_k = Z_new, XZ_new, t_next
                if inner_res <= eps_in:
                    break
            # ---- multiplier update and certificates at the inner solution
            C = Ss * XZ
            viol = _relative_violation(C, Z, xscale)
            Lam = np.maximum(Lam - rho_k * C, 0.0)
            pred = np.einsum("np,np->n", Fs, XZ)
            r = pred - y
            obj = float(0.5 * r @ r + beta * F.group_norms(Z).sum())
            if inner_res <= max(tol, eps_in) and viol <= tol and _gap_ok(obj, best_bound, tol):
                obj_p = offer_feasible(polish_cones(X, DD, Z))
                if _gap_ok(obj_p, best_bound, tol):
                    stop_reason = "gap+feasibility"
                    break
            if newton and n_outer >= 2:
                norms = F.group_norms(Z)
                cols = np.flatnonzero(norms > 0)
                rowscale = np.linalg.norm(X, axis=1)[:, None] * norms[None, cols]
                structure = (cols.tobytes(), np.packbits(C[:, cols] <= 1e-3 * rowscale).tobytes())
                if cols.size and structure != last_structure:
                    last_structure = structure
                    n_newton += 1
                    out = _active_set_newton(X, y, beta, Fs, Ss, polish_cones(X, DD, Z), C)
                    if out is not None:
                        Zc = polish_cones(X, DD, out[0])
                        obj_c = offer_feasible(Zc)
                        lam_c = np.where(F.group_norms(Zc)[None, :] > 0, out[1], Lam)
                        bc, vc, lam_c = _relu_certificate(ops, X, y, Fs, Ss, Zc, lam_c, beta)
                        if bc > best_bound:
                            best_bound, v_best, lam_best = bc, vc, lam_c
                        if _gap_ok(obj_c, best_bound, tol):
                            stop_reason = "gap+feasibility (newton)"
                            break
            if viol > 0.25 * viol_prev:
                rho_k *= 4.0
            viol_prev = viol
            eps_in = max(0.2 * eps_in, 0.1 * tol)
            inner_cap *= 2

    if best_feasible is None or stop_reason == "max_iter":
        offer_feasible(polish_cones(X, DD, Z) if Z.any() else Z)
    assert best_feasible is not None
    U, V = best_feasible[:, :P], best_feasible[:, P:]
    objective = F.relu_objective(X, y, D, U, V, beta)
    lower = F.relu_dual_bound(X, y, D, v_best, beta, lam_best[:, :P], lam_best[:, P:])
    cone_viol = F.cone_violation(X, D, U, V)
    if _gap_ok(objective, lower, tol) and cone_viol <= max(tol, 1e-10):
        status = "optimal"
    else:
        status = "max_iter" if stop_reason == "max_iter" else "inaccurate"
    elapsed = time.perf_counter() - t_start
    return SolveResult(
        problem=problem,
        solver="relu_al",
        solver_version=__version__,
        status=status,
        raw_status=stop_reason,
        objective=objective,
        solver_objective=objective,
        n_iter=n_iter,
        time_s=elapsed,
        tol=tol,
        n_patterns=P,
        n_active=int(F.active_mask(U).sum() + F.active_mask(V).sum()),
        max_cone_violation=cone_viol,
        variables={"U": U, "V": V},
        duality_gap=objective - lower,
        dual_bound=lower,
        extra={
            "stop_reason": stop_reason,
            "n_outer": n_outer,
            "n_newton": n_newton,
            "rho": rho_k,
            "lipschitz": L_fit / 2.0,
            "n_restarts": n_restarts,
            "n_backtracks": n_backtracks,
            "cone_violation_unpolished": viol,
            "product_time_s": ops.seconds,
            "product_fraction": ops.seconds / elapsed if elapsed > 0 else 0.0,
            "n_products": ops.count,
            "multipliers": {"lam": Lam[:, :P].copy(), "mu": Lam[:, P:].copy()},
        },
    )


# --------------------------------------------------------------------------- paths
def solve_path(
    problem: str,
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    betas: Sequence[float],
    **options: Any,
) -> list[SolveResult]:
    """Solve (5) or (3)/(2) along a beta path with warm starts, THEORY.md §A2.

    The betas are visited from the largest to the smallest (the solution grows from
    zero), each solve warm-started from the previous one and reusing its Lipschitz
    estimate; results come back in the order of ``betas``.

    Parameters
    ----------
    problem : {"gated", "relu", "full"}
    X, y, D : the instance, as for the solvers
    betas : sequence of float > 0
    **options
        Passed to :func:`solve_gated_fista` / :func:`solve_relu_al` (``tol``, ``max_iter``).
    """
    if problem not in ("gated", "relu", "full"):
        raise InputError(f"problem must be one of ['gated', 'relu', 'full']; got {problem!r}")
    beta_list = [F.check_beta(b) for b in betas]
    if not beta_list:
        raise InputError("betas must contain at least one value > 0")
    order = np.argsort(beta_list, kind="stable")[::-1]
    results: dict[int, SolveResult] = {}
    prev: SolveResult | None = None
    lipschitz: float | None = None
    for k in order:
        if problem == "gated":
            res = solve_gated_fista(
                X, y, D, beta_list[k], warm_start=prev, lipschitz=lipschitz, **options
            )
        else:
            res = solve_relu_al(
                X,
                y,
                D,
                beta_list[k],
                warm_start=prev,
                lipschitz=lipschitz,
                problem=problem,
                **options,
            )
        lip = res.extra.get("lipschitz")
        if isinstance(lip, float) and lip > 0:
            lipschitz = lip
        results[int(k)] = res
        prev = res
    return [results[k] for k in range(len(beta_list))]
