"""Fast solvers for the relaxations of THEORY.md §A2, eqs. (5) and (3)/(2).

The first-order parts work on the n x P masked products only: the forward map
``W -> sum_i D_i X w_i`` is the row sum of ``D * (X @ W)`` and its adjoint
``r -> (X^T D_i r)_i`` is ``X.T @ (D * r[:, None])``. The n x dP lifted matrix is never
formed (the ReLU interior-point step forms it for its k working columns only). All
solvers stop on a *certificate*, never on iterate change, and record why they stopped
(``raw_status`` and ``extra["stop_reason"]``).

Gated group lasso (5)
    FISTA [Beck & Teboulle 2009] with the gradient-based adaptive restart of O'Donoghue &
    Candès (2015). The step is ``1/L`` with ``L`` from a power-iteration estimate of
    ``||A||^2`` (``A`` the forward map), padded by 5% and safeguarded by the exact check
    ``||A (x+ - y)||^2 <= L ||x+ - y||^2`` (both sides are at hand), which enlarges ``L`` if
    the estimate was low. ``L`` also shrinks by ``GATED_STEP_SHRINK`` before every step and
    backtracks through the same check: the iterates live on a sparse support, where the
    curvature is well below ``||A||^2``, and the larger steps halve the iteration count
    (377 instead of 964 iterations to a certified 1e-8 at n=1000, d=50, P=200; the
    adaptive restart keeps the momentum safe). The prox is group soft-thresholding. Every iteration gives a dual
    candidate for free: the residual ``v = y - A y_k`` at the extrapolated point, whose
    constraint values ``||X^T D_i v||`` are the group norms of the gradient just computed.
    Scaled to dual feasibility (THEORY.md Part D) it is a certified lower bound; the solver
    stops when ``objective - bound <= tol * max(1, |objective|)``. The reported bound is
    recomputed by :func:`harness.formulations.gated_dual_bound`.

Cone-constrained ReLU program (3): column generation (``solver="fast"``)
    :func:`solve_relu_cg`. Measured on planted instances, the optimum of (3) is sparse in
    columns (23 of the 400 columns ``[U, V]`` at n=1000, d=50, P=200, beta = 0.1
    beta_max) and *every* active column sits on a low-dimensional face of its cone, with
    d-1 or d-2 tight rows out of n. That degeneracy is what makes first-order multiplier
    methods slow here (the augmented Lagrangian below needed ~10^4 inner iterations plus
    hundreds of active-set Newton solves at n=200, d=10, P=100, and ran over 20 minutes at
    n=1000, d=50, P=200), while interior-point methods are indifferent to it but cost a
    dense factorisation in all 2Pd variables (cvxpy + Clarabel). So the solver works on a
    *working set* of columns:

    * the restricted program (other columns at zero) is solved by a primal-dual
      interior-point method written for its structure (:class:`_WorkingSetIPM`: Mehrotra
      predictor-corrector, Nesterov-Todd scaling of the norm cones, one ``kd x kd``
      Cholesky per iteration for ``k`` working columns);
    * *pricing*: column ``j`` outside the set can lower the objective iff its best dual
      constraint value ``p_j = min_{lam >= 0} ||sigma_j X^T D_j v + A_j^T lam|| =
      ||Pi_{K_j}(sigma_j X^T D_j v)||`` exceeds ``beta`` at the restricted residual ``v``
      (Moreau; THEORY.md Part D). Upper bounds on all ``p_j`` come from batched dual
      projected-gradient iterations on the n x 2P masked products
      (:func:`_dual_fista_certify`); the largest are made exact by NNLS projections and the
      ``m_add`` most violated columns enter (:func:`_price_columns`). Intermediate
      restricted solves stop at relative gap ``MID_GAP``; columns that are zero with a
      clearly slack dual constraint leave the set;
    * when no column is violated, the restricted solve is finished to
      ``FINAL_GAP_FACTOR * tol``, the point is projected onto the cones
      (:func:`polish_cones`) and certified: the IPM's cone duals serve the working
      columns, the pricing multipliers the others, and any column still above ``beta`` is
      re-projected exactly (:func:`_relu_certificate`). If that bound is not tight enough
      (the IPM stalls on the most degenerate, tiny-beta instances), the IPM's tight rows
      seed the exact active-set Newton method described below (a crossover).

    Every lower bound is a weak-duality bound (:func:`harness.formulations.relu_dual_bound`)
    and every upper bound the objective at an exactly cone-feasible point, so pricing
    heuristics, IPM accuracy and the crossover affect speed only, never the certificate.
    Cost: the IPM's Cholesky dominates (``(kd)^3 / 3`` per iteration, about 20-30
    iterations per working set); the working set is capped at ``IPM_MAX_DIM`` (``k d``),
    beyond which (tiny beta on large instances) the solver returns the best certified
    point with status ``inaccurate``; the augmented Lagrangian (``solver="al"``) remains
    available for those.

Cone-constrained ReLU program (3): augmented Lagrangian (``solver="al"``)
    :func:`solve_relu_al`. Method of multipliers on the cone constraints
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
    through the same certificate, so a wrong guess costs time, never correctness. The
    gated solver tries it first after ``GATED_NEWTON_FIRST`` FISTA iterations (earlier,
    its ``n m^2`` cost exceeded what it saved: 2.5 s instead of 0.7 s at n=2000, d=20,
    P=200), as a rescue for slowly converging instances (tiny beta).

    The AL stops on the primal-dual residuals (inner stationarity in units of ``beta``)
    AND the maximum relative cone violation AND the certified gap.

Both ReLU solvers *polish* every reported point to exact cone feasibility: each column is
projected onto its cone ``K_i = {u : (2 D_i - I) X u >= 0}`` through the dual NNLS of the
projection, ``min_{mu >= 0} ||A_J^T mu + u||`` over a growing set ``J`` of violated rows
(:func:`polish_cones`). The objective is recomputed at the polished point (a true upper
bound on p~*), the gap is certified there, and the mapped network reproduces it.

Warm starts (a previous :class:`SolveResult` or a variables dict) pad new pattern columns
with zeros, so nested pattern sets (P growing, columns appended) and beta paths work; for
the column generation they seed the working set (a gated ``W`` seeds one side per
column). :func:`solve_path` runs a whole beta path with warm starts.
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
#: Per-iteration shrink of the FISTA constant ``L`` for (5) (step growth, then backtracking).
GATED_STEP_SHRINK = 0.95
#: FISTA iteration of the first support-Newton try for (5) (then doubling).
GATED_NEWTON_FIRST = 500
#: Default cap on the total interior-point iterations of :func:`solve_relu_cg`.
DEFAULT_MAX_ITER_IPM = 500
#: Largest working-set dimension ``k d`` of the restricted interior-point method.
IPM_MAX_DIM = 4000
#: The (n, d*d) outer-product table is kept only below this many entries.
XX_MAX_ENTRIES = 5_000_000
#: Pricing rounds of the column generation.
MAX_PRICING_ROUNDS = 100
#: The final restricted solve aims at this fraction of ``tol`` (relative gap).
FINAL_GAP_FACTOR = 0.01
#: Relative gap of the intermediate restricted solves (enough to rank the violators).
MID_GAP = 1e-3
#: Batched dual iterations that tighten the pricing bounds before ranking / certifying.
RANK_DUAL_ITERS = 40
CERTIFY_DUAL_ITERS = 200
#: A working-set column leaves when it is zero and its dual constraint value is below this
#: fraction of beta (clearly inactive; it is priced again like any other column).
DROP_DUAL = 0.9

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

    def full_value(Zc: FloatArray) -> float:
        r = np.einsum("np,np->n", Fs, X @ Zc) - y
        return float(0.5 * r @ r + beta * F.group_norms(Zc).sum())

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
            start, end = full_value(Z0), full_value(Z)
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
    objective_target: float | None = None,
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
        Try the reduced Newton step on the support (module docstring), first after
        ``GATED_NEWTON_FIRST`` iterations, then at doubling counts.
    objective_target : float, optional
        Also stop as soon as the objective is at most this value (benchmarks: the time to
        reach another solver's objective). The status is still ``optimal`` only when the
        gap certificate is met.

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
        next_newton, last_support = GATED_NEWTON_FIRST, np.zeros(P, dtype=bool)
        L_floor = 1e-3 * L
        for it in range(1, max_iter + 1):
            n_iter = it
            # optimistic step growth; the exact check below backtracks when needed
            L = max(L_floor, GATED_STEP_SHRINK * L)
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
            if objective_target is not None and best_obj <= objective_target:
                stop_reason = "objective_target"
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


@register_solver("relu", "al")
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


# --------------------------------------------------------------------------- ReLU (3), IPM
def _soc_nt(s: FloatArray, z: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Nesterov-Todd scaling of second-order-cone pairs stored as columns of (m, k) arrays.

    Returns ``eta`` (k,) and the unit hyperbolic point ``wbar`` (m, k) with
    ``W = eta * Wbar``, ``Wbar = [[w0, w1^T], [w1, I + w1 w1^T / (1 + w0)]]`` and
    ``W z = W^{-1} s`` (Vandenberghe, "The CVXOPT linear and quadratic cone program
    solvers", §4). The J-norms ``s0^2 - ||s1||^2`` are formed as
    ``(s0 - ||s1||)(s0 + ||s1||)``: near the boundary the plain difference cancels.
    """
    ns = np.linalg.norm(s[1:], axis=0)
    nz = np.linalg.norm(z[1:], axis=0)
    s_det = (s[0] - ns) * (s[0] + ns)
    z_det = (z[0] - nz) * (z[0] + nz)
    sn = s / np.sqrt(s_det)
    zn = z / np.sqrt(z_det)
    gam = np.sqrt(0.5 * (1.0 + np.einsum("ik,ik->k", sn, zn)))
    wbar = np.empty_like(s)
    wbar[0] = (sn[0] + zn[0]) / (2.0 * gam)
    wbar[1:] = (sn[1:] - zn[1:]) / (2.0 * gam)
    return (s_det / z_det) ** 0.25, wbar


def _soc_scale(eta: FloatArray, wbar: FloatArray, u: FloatArray, inverse: bool) -> FloatArray:
    """``W u`` (or ``W^{-1} u``) for the NT scaling of :func:`_soc_nt`, column by column."""
    sgn = -1.0 if inverse else 1.0
    w1u1 = np.einsum("ik,ik->k", wbar[1:], u[1:])
    out = np.empty_like(u)
    out[0] = wbar[0] * u[0] + sgn * w1u1
    out[1:] = u[1:] + wbar[1:] * (sgn * u[0] + w1u1 / (1.0 + wbar[0]))
    return out / eta if inverse else out * eta


def _soc_prod(lam: FloatArray, u: FloatArray) -> FloatArray:
    """Jordan product ``lam o u = (lam^T u, lam0 u1 + u0 lam1)`` column by column."""
    out = np.empty_like(u)
    out[0] = np.einsum("ik,ik->k", lam, u)
    out[1:] = lam[0] * u[1:] + u[0] * lam[1:]
    return out


def _soc_div(lam: FloatArray, b: FloatArray) -> FloatArray:
    """Solve ``lam o u = b`` for ``u`` column by column (``lam`` in the cone interior)."""
    nl = np.linalg.norm(lam[1:], axis=0)
    det = (lam[0] - nl) * (lam[0] + nl)
    u = np.empty_like(b)
    u[0] = (lam[0] * b[0] - np.einsum("ik,ik->k", lam[1:], b[1:])) / det
    u[1:] = (b[1:] - u[0] * lam[1:]) / lam[0]
    return u


def _soc_max_step(u: FloatArray, du: FloatArray) -> float:
    """Largest ``a`` with ``u + a du`` in the second-order cone for every column.

    With ``L`` the hyperbolic rotation taking ``u / ||u||_J`` to ``e = (1, 0)``,
    ``u + a du`` stays in the cone iff ``a (||rho_1|| - rho_0) <= 1`` for
    ``rho = L du / ||u||_J``; this avoids the cancellation of the quadratic formula.
    """
    n1 = np.linalg.norm(u[1:], axis=0)
    nu = np.sqrt((u[0] - n1) * (u[0] + n1))
    ub = u / nu
    ud = np.einsum("ik,ik->k", ub[1:], du[1:])
    r0 = (ub[0] * du[0] - ud) / nu
    r1 = du[1:] / nu + ub[1:] * ((ud / (1.0 + ub[0]) - du[0]) / nu)
    sig = float(np.max(np.linalg.norm(r1, axis=0) - r0))
    return 1.0 / sig if sig > 0.0 else np.inf


def _lp_max_step(u: FloatArray, du: FloatArray) -> float:
    """Largest ``a`` with ``u + a du >= 0`` (ratio test)."""
    neg = du < 0.0
    return float(np.min(-u[neg] / du[neg])) if neg.any() else np.inf


class _WorkingSetIPM:
    """Primal-dual interior-point method for (3) restricted to ``k`` columns.

    The restricted program (THEORY.md §A2 eq. (3) with all other columns at zero) as a
    conic QP in the standard form of Vandenberghe's ``coneqp``::

        min 1/2 ||sum_j f_j * (X w_j) - y||^2 + beta sum_j t_j
        s.t. s_j = a_j * (X w_j) >= 0 (n rows each),  (t_j, w_j) in Q^{d+1},

    with ``f_j = sigma_j D_j`` (fit mask) and ``a_j = 2 D_j - 1`` (cone signs). Mehrotra
    predictor-corrector with Nesterov-Todd scaling, infeasible start, one step of
    iterative refinement. The Newton system is reduced to the ``kd x kd`` matrix
    ``F^T F + blockdiag(X^T diag(z_j / s_j) X + S_j)`` (``F^T F`` is formed once; one dense
    Cholesky per iteration), where ``S_j`` is the Schur complement of the cone's
    ``t_j`` row, written in closed form (``eta^-2 (I - 2 a1 a1^T / (1 + 2||a1||^2))``)
    because eliminating ``t_j`` numerically cancels catastrophically near the optimum;
    for the same reason the cone duals' step is taken from the dual equation
    ``Q dx + G^T dz = r`` rather than from ``W^{-2}(...)`` (which keeps the dual residual,
    and so the certificate, at rounding level). Works in normalised units (``||X||_2 = ||y|| = 1``; ``xs = ||X||_2`` and ``xx``, the
    rows' outer products of ``X / xs`` as an (n, d*d) array or None, are passed in so
    that they are computed once per solve); :attr:`W` and :attr:`duals` are in the
    caller's units. The LP duals ``zl`` are the cone multipliers of
    :func:`harness.formulations.relu_dual_bound` for these columns.
    """

    def __init__(
        self,
        X: FloatArray,
        y: FloatArray,
        beta: float,
        Dc: FloatArray,
        sig: FloatArray,
        xs: float,
        xx: FloatArray | None,
    ) -> None:
        n, d = X.shape
        k = Dc.shape[1]
        self.xs = xs
        self.ys = float(np.linalg.norm(y))
        self.X = X / self.xs
        self.y = y / self.ys
        self.b = beta / (self.xs * self.ys)
        self.xx = xx
        self.ops = _MaskedProducts(self.X)
        self.Fs = Dc * sig[None, :]
        self.Sg = 2.0 * Dc - 1.0
        self.n, self.d, self.k = n, d, k
        Fmat = (self.Fs[:, :, None] * self.X[:, None, :]).reshape(n, k * d)
        self.FtF = Fmat.T @ Fmat
        self.Wn = np.zeros((d, k))
        self.T = np.zeros(k)
        # a start tuned on planted instances (17 instead of 31 iterations at n=1000, d=50):
        # small slacks (a twentieth of the largest row norm), multipliers at beta
        self.sl = np.full((n, k), 0.05 * float(np.linalg.norm(self.X, axis=1).max()))
        self.zl = np.full((n, k), self.b)
        self.sq = np.zeros((d + 1, k))
        self.sq[0] = 1.0
        self.zq = np.zeros((d + 1, k))
        self.zq[0] = self.b
        self.n_iter = 0
        self.rel_gap = np.inf
        self.failed = False

    @property
    def W(self) -> FloatArray:
        """Current columns (d, k) in the caller's units."""
        return self.Wn * (self.ys / self.xs)

    @property
    def duals(self) -> FloatArray:
        """Cone multipliers (n, k) in the caller's units."""
        return self.zl * self.ys

    def column_dual_norms(self) -> FloatArray:
        """``||z_q1|| / beta`` per column: 1 on active columns at the optimum."""
        return np.linalg.norm(self.zq[1:], axis=0) / self.b

    def run(self, rel_gap: float, max_iter: int) -> bool:
        """Iterate until the relative complementarity gap is below ``rel_gap``.

        Returns True on convergence; False at ``max_iter`` or on a numerical breakdown
        (``failed``), keeping the last interior iterate.
        """
        for _ in range(max_iter):
            state = self._step(rel_gap)
            if state != "continue":
                return state == "converged"
        return False

    def _step(self, rel_gap: float) -> str:
        """One predictor-corrector iteration; "converged", "failed" or "continue"."""
        X, y, b, Fs, Sg, ops = self.X, self.y, self.b, self.Fs, self.Sg, self.ops
        n, d, k = self.n, self.d, self.k
        m_deg = n * k + k
        eye = np.eye(d)
        diag = np.arange(k)
        W, T, sl, zl, sq, zq = self.Wn, self.T, self.sl, self.zl, self.sq, self.zq
        XW = ops.matmul(W)
        res = np.einsum("nk,nk->n", Fs, XW) - y
        rx_w = ops.adjoint(Fs * res[:, None] - Sg * zl) - zq[1:]
        rx_t = b - zq[0]
        rz_l = sl - Sg * XW
        rz_q = sq.copy()
        rz_q[0] -= T
        rz_q[1:] -= W
        gap = float(np.vdot(sl, zl) + np.vdot(sq, zq))
        pobj = 0.5 * float(res @ res) + b * float(T.sum())
        self.rel_gap = gap / max(pobj, 1e-300)
        scale_w = max(1.0, float(np.abs(W).max()))
        pres = max(float(np.abs(rz_l).max()), float(np.abs(rz_q).max())) / scale_w
        dres = max(float(np.abs(rx_w).max()), float(np.abs(rx_t).max())) / b
        if self.rel_gap <= rel_gap and pres <= 1e-2 * rel_gap and dres <= 1e-2 * rel_gap:
            return "converged"
        ns = np.linalg.norm(sq[1:], axis=0)
        nz = np.linalg.norm(zq[1:], axis=0)
        if np.any(sq[0] <= ns) or np.any(zq[0] <= nz) or np.any(sl <= 0.0) or np.any(zl <= 0.0):
            self.failed = True
            return "failed"
        self.n_iter += 1
        wl = np.sqrt(sl / zl)
        lam_l = np.sqrt(sl * zl)
        eta, wbar = _soc_nt(sq, zq)
        lam_q = _soc_scale(eta, wbar, zq, inverse=False)
        # W^{-2} = eta^-2 (2 a a^T - J) with a = J wbar (wbar has unit J-norm)
        aq = wbar.copy()
        aq[1:] *= -1.0
        ie2 = 1.0 / eta**2
        a1n2 = np.einsum("ik,ik->k", aq[1:], aq[1:])
        dl = zl / sl

        def winv2(u: FloatArray) -> FloatArray:
            out = 2.0 * aq * np.einsum("ik,ik->k", aq, u)
            out[0] -= u[0]
            out[1:] += u[1:]
            return out * ie2

        if self.xx is not None:
            blocks = (dl.T @ self.xx).reshape(k, d, d)
        else:
            blocks = np.stack([(X.T * dl[:, j]) @ X for j in range(k)])
        coef = ie2 * 2.0 / (1.0 + 2.0 * a1n2)
        blocks += ie2[:, None, None] * eye[None] - coef[:, None, None] * np.einsum(
            "ik,jk->kij", aq[1:], aq[1:]
        )
        H = self.FtF.copy()
        H.reshape(k, d, k, d)[diag, :, diag, :] += blocks
        try:
            cf = scipy.linalg.cho_factor(H, check_finite=False)
        except np.linalg.LinAlgError:
            self.failed = True
            return "failed"
        s_tt = ie2 * (2.0 * aq[0] ** 2 - 1.0)
        s_tw = (ie2 * 2.0 * aq[0]) * aq[1:]

        def solve0(
            bxw: FloatArray,
            bxt: FloatArray,
            bzl: FloatArray,
            bzq: FloatArray,
            bsl: FloatArray,
            bsq: FloatArray,
        ) -> tuple[FloatArray, ...]:
            u_l = wl * (bsl / lam_l) - bzl
            u_q = _soc_scale(eta, wbar, _soc_div(lam_q, bsq), inverse=False) - bzq
            v_q = winv2(u_q)
            rhs_w = bxw + ops.adjoint(Sg * (u_l * dl)) + v_q[1:]
            rhs_t = bxt + v_q[0]
            rhs_w = rhs_w - s_tw * (rhs_t / s_tt)
            dw = scipy.linalg.cho_solve(cf, rhs_w.T.reshape(-1), check_finite=False)
            dw = dw.reshape(k, d).T
            dt = (rhs_t - np.einsum("ik,ik->k", s_tw, dw)) / s_tt
            gl = -Sg * ops.matmul(dw)
            gq = -np.vstack([dt[None, :], dw])
            dzl = dl * (gl + u_l)
            # the cone duals from the (well-conditioned) dual equation Q dx + G^T dz = bx
            # rather than from W^{-2}(...), whose rank-one part is huge near the optimum
            dzq = np.empty_like(bzq)
            dzq[0] = -bxt
            qdw = (self.FtF @ dw.T.reshape(-1)).reshape(k, d).T
            dzq[1:] = qdw - ops.adjoint(Sg * dzl) - bxw
            return dw, dt, bzl - gl, bzq - gq, dzl, dzq

        def residual(
            sol: tuple[FloatArray, ...], rhs: tuple[FloatArray, ...]
        ) -> tuple[FloatArray, ...]:
            dw, dt, dsl, dsq, dzl, dzq = sol
            bxw, bxt, bzl, bzq, bsl, bsq = rhs
            qdw = (self.FtF @ dw.T.reshape(-1)).reshape(k, d).T
            zq_scaled = _soc_scale(eta, wbar, dzq, inverse=False)
            sq_scaled = _soc_scale(eta, wbar, dsq, inverse=True)
            return (
                bxw - (qdw - ops.adjoint(Sg * dzl) - dzq[1:]),
                bxt + dzq[0],
                bzl - (-Sg * ops.matmul(dw) + dsl),
                bzq - (dsq - np.vstack([dt[None, :], dw])),
                bsl - lam_l * (wl * dzl + dsl / wl),
                bsq - _soc_prod(lam_q, zq_scaled + sq_scaled),
            )

        def solve(bsl: FloatArray, bsq: FloatArray) -> tuple[FloatArray, ...]:
            rhs = (-rx_w, -rx_t, -rz_l, -rz_q, bsl, bsq)
            sol = solve0(*rhs)
            corr = solve0(*residual(sol, rhs))
            return tuple(a + c for a, c in zip(sol, corr))

        def max_step(sol: tuple[FloatArray, ...]) -> float:
            _, _, dsl, dsq, dzl, dzq = sol
            return min(
                _lp_max_step(sl, dsl),
                _lp_max_step(zl, dzl),
                _soc_max_step(sq, dsq),
                _soc_max_step(zq, dzq),
            )

        # predictor (affine scaling) then Mehrotra corrector with the same factor
        aff = solve(-lam_l * lam_l, -_soc_prod(lam_q, lam_q))
        a_aff = min(1.0, max_step(aff))
        _, _, dsl, dsq, dzl, dzq = aff
        gap_aff = float(
            np.vdot(sl + a_aff * dsl, zl + a_aff * dzl)
            + np.vdot(sq + a_aff * dsq, zq + a_aff * dzq)
        )
        sigma = min(1.0, max(0.0, gap_aff / gap)) ** 3
        mu = gap / m_deg
        bsl = -lam_l * lam_l - (dsl / wl) * (dzl * wl) + sigma * mu
        bsq = -_soc_prod(lam_q, lam_q) - _soc_prod(
            _soc_scale(eta, wbar, dsq, inverse=True), _soc_scale(eta, wbar, dzq, inverse=False)
        )
        bsq[0] += sigma * mu
        sol = solve(bsl, bsq)
        a = min(1.0, 0.99 * max_step(sol))
        dw, dt, dsl, dsq, dzl, dzq = sol
        self.Wn = W + a * dw
        self.T = T + a * dt
        self.sl = sl + a * dsl
        self.sq = sq + a * dsq
        self.zl = zl + a * dzl
        self.zq = zq + a * dzq
        return "continue"


def _dual_fista_certify(
    ops: _MaskedProducts,
    G: FloatArray,
    A_sign: FloatArray,
    Lam: FloatArray,
    beta: float,
    x_norm2: float,
    n_iter: int,
) -> tuple[FloatArray, FloatArray]:
    """Batched dual projection ``min_{lam >= 0} ||g_j + A_j^T lam_j||`` by FISTA.

    ``G`` (d, m) holds the vectors ``sigma_j X^T D_j v``, ``A_sign`` (n, m) the cone signs,
    ``Lam`` (n, m) a warm start. Any ``lam >= 0`` gives the valid upper bound
    ``||g_j + A_j^T lam_j|| >= ||Pi_{K_j}(g_j)||`` (Moreau) on the dual constraint value;
    the iteration stops once every column is below ``beta``. Returns the multipliers and
    the upper bounds (m,), each the best seen for its column.
    """
    best = Lam.copy()
    ub = F.group_norms(G + ops.adjoint(A_sign * best))
    live = np.flatnonzero(ub > beta)
    L = x_norm2
    it = 0
    while live.size and it < n_iter:
        Gl, Al = G[:, live], A_sign[:, live]
        lam = best[:, live]
        lam_prev = lam
        t_k = 1.0
        for _ in range(min(20, n_iter - it)):
            it += 1
            t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_k * t_k))
            Y = lam + ((t_k - 1.0) / t_next) * (lam - lam_prev)
            grad = Al * ops.matmul(Gl + ops.adjoint(Al * Y))
            lam_new = np.maximum(Y - grad / L, 0.0)
            if float(np.vdot(Y - lam_new, lam_new - lam)) > 0.0:
                t_next = 1.0
            lam_prev, lam, t_k = lam, lam_new, t_next
        ub_l = F.group_norms(Gl + ops.adjoint(Al * lam))
        better = ub_l < ub[live]
        best[:, live[better]] = lam[:, better]
        ub[live[better]] = ub_l[better]
        live = live[ub[live] > beta]
    return best, ub


def _price_columns(
    ops: _MaskedProducts,
    X: FloatArray,
    Fs: FloatArray,
    Ss: FloatArray,
    v: FloatArray,
    beta: float,
    Lam: FloatArray,
    working: BoolArray,
    m_add: int,
    viol_rtol: float,
    x_norm2: float,
    stats: dict[str, float],
) -> IntArray:
    """Pricing of the columns outside the working set at the residual ``v`` (THEORY.md Part D).

    A column ``j`` can improve the restricted optimum iff its best dual constraint value
    ``p_j = ||Pi_{K_j}(sigma_j X^T D_j v)||`` exceeds ``beta``. Every column carries a valid
    upper bound ``||g_j + A_j^T lam_j|| >= p_j`` from its multipliers ``Lam`` (updated in
    place; warm from earlier rounds). The bounds of the candidates (bound ``> beta``) are
    tightened by a few batched dual iterations (:func:`_dual_fista_certify`), the
    ``2 m_add`` largest are replaced by exact projections (:func:`_project_cone`), and
    the ``m_add`` most violated enter (the best columns, not the first found: fewer
    rounds). With no violator among them, the remaining candidates are certified by more
    dual iterations and exact projections of what is left. Returns the violators, most
    violated first; empty means every column outside the working set has a certified
    bound ``<= beta (1 + viol_rtol)`` in ``Lam``.
    """
    t0 = time.perf_counter()
    G = ops.adjoint(Fs * v[:, None])
    raw = F.group_norms(G)
    ub = F.group_norms(G + ops.adjoint(Ss * Lam))
    reset = raw < ub
    Lam[:, reset] = 0.0
    ub = np.minimum(ub, raw)
    limit = beta * (1.0 + viol_rtol)
    found: list[tuple[float, int]] = []

    def tighten(cols: IntArray, n_iter: int) -> None:
        if cols.size:
            Lc, ubc = _dual_fista_certify(
                ops, G[:, cols], Ss[:, cols], Lam[:, cols], beta, x_norm2, n_iter
            )
            Lam[:, cols] = Lc
            ub[cols] = ubc

    def exact(cols: IntArray) -> None:
        for j in cols:
            proj, lam = _project_cone(Ss[:, j, None] * X, G[:, j])
            Lam[:, j] = lam
            ub[j] = float(np.linalg.norm(proj))
            stats["n_projections"] += 1
            if ub[j] > limit:
                found.append((ub[j], int(j)))

    def candidates() -> IntArray:
        cand = np.flatnonzero(~working & (ub > beta))
        return cand[np.argsort(-ub[cand], kind="stable")]

    cand = candidates()
    if cand.size > 2 * m_add:
        tighten(cand, RANK_DUAL_ITERS)
        cand = candidates()
    exact(cand[: 2 * m_add])
    if not found:
        cand = candidates()
        if cand.size > 4:
            tighten(cand, CERTIFY_DUAL_ITERS)
            cand = candidates()
        for j in cand:
            exact(np.array([j]))
            if len(found) >= m_add:
                break
    stats["pricing_s"] += time.perf_counter() - t0
    found.sort(reverse=True)
    return np.array([j for _, j in found[:m_add]], dtype=int)


def _relu_zero_result(
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    tol: float,
    problem: str,
    t_start: float,
    stop_reason: str,
    Lam: FloatArray | None = None,
) -> SolveResult:
    """Record for the zero solution, certified by the residual ``y`` (and multipliers)."""
    P = D.shape[1]
    d = X.shape[1]
    U = np.zeros((d, P))
    objective = F.relu_objective(X, y, D, U, U, beta)
    lam = None if Lam is None else Lam[:, :P]
    mu = None if Lam is None else Lam[:, P:]
    lower = F.relu_dual_bound(X, y, D, y, beta, lam, mu)
    return SolveResult(
        problem=problem,
        solver="relu_cg",
        solver_version=__version__,
        status="optimal" if _gap_ok(objective, lower, tol) else "inaccurate",
        raw_status=stop_reason,
        objective=objective,
        solver_objective=objective,
        n_iter=0,
        time_s=time.perf_counter() - t_start,
        tol=tol,
        n_patterns=P,
        n_active=0,
        max_cone_violation=0.0,
        variables={"U": U, "V": U.copy()},
        duality_gap=objective - lower,
        dual_bound=lower,
        extra={
            "stop_reason": stop_reason,
            "n_rounds": 0 if Lam is None else 1,
            "working_set": 0,
            "product_time_s": 0.0,
            "product_fraction": 0.0,
        },
    )


@register_solver("relu", "fast")
def solve_relu_cg(
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER_IPM,
    warm_start: WarmStart = None,
    problem: str = "relu",
    m_add: int | None = None,
    newton: bool = True,
    lipschitz: float | None = None,
) -> SolveResult:
    """Cone-constrained ReLU program, THEORY.md §A2 eq. (3) (or (2)), by column generation.

    ``min 1/2 ||sum_i D_i X (u_i - v_i) - y||^2 + beta sum_i (||u_i|| + ||v_i||)`` s.t.
    ``u_i, v_i in K_i``. A working set of columns is solved exactly by the restricted
    interior-point method (:class:`_WorkingSetIPM`); columns outside it are priced by
    their dual constraint value (:func:`_price_columns`) and the most violated enter.
    When none is violated the restricted solution is polished onto the cones
    (:func:`polish_cones`) and certified by weak duality; see the module docstring.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
    D : bool ndarray of shape (n, P)
    beta : float > 0
    tol : float
        Target for the certified relative gap ``(objective - dual_bound) / max(1, |obj|)``
        at the polished, exactly cone-feasible point.
    max_iter : int
        Total interior-point iterations over all working sets.
    warm_start : SolveResult or dict, optional
        ``{"U", "V"}`` (d, k), k <= P: their non-zero columns seed the working set
        (nested pattern sets, beta paths); optional multipliers ``{"lam", "mu"}`` (n, k)
        seed the pricing. A gated ``{"W"}`` seeds the working set with, for each
        non-zero ``w_i``, the side (``u_i`` or ``v_i``) whose cone holds more of it.
    problem : {"relu", "full"}
        Labels the record (``"full"`` when ``D`` holds every pattern).
    m_add : int, optional
        Columns entering per pricing round (default ``max(8, min(20, n // (2 d)))``).
    lipschitz : float, optional
        Ignored (accepted so :func:`solve_path` can pass the same options to every solver).

    Returns
    -------
    SolveResult
        ``solver="relu_cg"``; ``variables={"U", "V"}`` exactly cone-feasible;
        ``extra`` holds ``stop_reason``, ``n_rounds``, ``working_set``, ``n_projections``,
        the time split (``ipm_s``, ``pricing_s``, ``certificate_s``), the product timing
        and ``multipliers`` ``{"lam", "mu"}`` (n, P) for warm starts.
    """
    t_start = time.perf_counter()
    if problem not in ("relu", "full"):
        raise InputError(f"problem must be one of ['relu', 'full'] for relu_cg; got {problem!r}")
    X, y = F.check_data(X, y)
    D = F.check_patterns(D, X.shape[0])
    beta = F.check_beta(beta)
    tol, max_iter = _check_options(tol, max_iter)
    if m_add is not None and (
        isinstance(m_add, bool) or not isinstance(m_add, (int, np.integer)) or m_add < 1
    ):
        raise InputError(f"m_add must be an integer >= 1; got {m_add!r}")
    n, d = X.shape
    P = D.shape[1]
    warm = _warm_variables(warm_start)
    Dm = D.astype(np.float64)
    S = 2.0 * Dm - 1.0
    DD = np.concatenate([D, D], axis=1)
    Fs = np.concatenate([Dm, -Dm], axis=1)
    Ss = np.concatenate([S, S], axis=1)
    sig = np.concatenate([np.ones(P), -np.ones(P)])
    ops = _MaskedProducts(X)
    bmax = float(F.group_norms(ops.adjoint(Dm * y[:, None])).max())
    if beta >= bmax:
        return _relu_zero_result(X, y, D, beta, tol, problem, t_start, "beta_max")
    m_add = int(m_add) if m_add is not None else max(8, min(20, n // (2 * d)))
    xs = float(np.linalg.norm(X, 2))
    x_norm2 = xs * xs
    Xn = X / xs
    xx = (
        (Xn[:, :, None] * Xn[:, None, :]).reshape(n, d * d) if n * d * d <= XX_MAX_ENTRIES else None
    )
    Lam = np.zeros((n, 2 * P))
    if "lam" in warm and "mu" in warm:
        Lam[:, :P] = np.maximum(_pad_columns(warm["lam"], n, P, "lam"), 0.0)
        Lam[:, P:] = np.maximum(_pad_columns(warm["mu"], n, P, "mu"), 0.0)
    seed_norms = np.zeros(2 * P)
    if "U" in warm and "V" in warm:
        Zw = np.concatenate(
            [_pad_columns(warm["U"], d, P, "U"), _pad_columns(warm["V"], d, P, "V")], axis=1
        )
        if Zw.any():
            seed_norms = F.group_norms(Zw) * F.active_mask(Zw, 1e-9)
    elif "W" in warm:
        Wg = _pad_columns(warm["W"], d, P, "W")
        if Wg.any():
            wn = F.group_norms(Wg) * F.active_mask(Wg, 1e-6)
            # the side whose cone holds more of w_i: positive vs negative part of A_i w_i
            C = S * (X @ Wg)
            pos = np.maximum(C, 0.0).sum(axis=0) >= np.maximum(-C, 0.0).sum(axis=0)
            seed_norms[:P] = np.where(pos, wn, 0.0)
            seed_norms[P:] = np.where(pos, 0.0, wn)
    ws = np.flatnonzero(seed_norms > 0)
    if ws.size * d > IPM_MAX_DIM:
        ws = np.sort(ws[np.argsort(-seed_norms[ws], kind="stable")][: IPM_MAX_DIM // d])

    stats = {
        "n_projections": 0.0,
        "pricing_s": 0.0,
        "ipm_s": 0.0,
        "certificate_s": 0.0,
        "newton_s": 0.0,
    }
    n_newton = 0
    viol_rtol = 0.1 * tol
    mid_gap = max(MID_GAP, tol)
    ipm: _WorkingSetIPM | None = None
    n_iter = n_rounds = 0
    best_obj, best_Z = np.inf, np.zeros((d, 2 * P))
    best_bound, v_best, lam_best = -np.inf, y.copy(), np.zeros((n, 2 * P))
    ipm_seconds = 0.0
    stop_reason = "max_iter"
    last_final_gap = np.inf

    def build(cols: IntArray) -> _WorkingSetIPM:
        nonlocal n_iter, ipm_seconds
        if ipm is not None:
            ipm_seconds += ipm.ops.seconds
        t0 = time.perf_counter()
        new = _WorkingSetIPM(X, y, beta, Dm[:, cols % P], sig[cols], xs, xx)
        new.run(mid_gap, max(1, max_iter - n_iter))
        n_iter += new.n_iter
        stats["ipm_s"] += time.perf_counter() - t0
        return new

    if ws.size:
        ipm = build(ws)

    def certify(cur: _WorkingSetIPM, try_newton: bool) -> FloatArray:
        """Polish the restricted solution onto the cones, bound it; returns multipliers."""
        nonlocal best_obj, best_Z, best_bound, v_best, lam_best, n_newton
        t0 = time.perf_counter()
        Z = np.zeros((d, 2 * P))
        Z[:, ws] = cur.W
        Zc = polish_cones(X, DD, Z)
        obj_c = F.relu_objective(X, y, D, Zc[:, :P], Zc[:, P:], beta)
        if obj_c < best_obj:
            best_obj, best_Z = obj_c, Zc
        lam = Lam.copy()
        lam[:, ws] = cur.duals
        bc, vc, lam_c = _relu_certificate(ops, X, y, Fs, Ss, Zc, lam, beta)
        if bc > best_bound:
            best_bound, v_best, lam_best = bc, vc, lam_c
        stats["certificate_s"] += time.perf_counter() - t0
        if try_newton and not _gap_ok(best_obj, best_bound, tol):
            # crossover: the IPM's tight rows seed an exact active-set Newton solve on ws
            t0 = time.perf_counter()
            n_newton += 1
            Cw = Ss[:, ws] * (X @ Zc[:, ws])
            out = _active_set_newton(X, y, beta, Fs[:, ws], Ss[:, ws], Zc[:, ws], Cw)
            if out is not None:
                Zn = np.zeros((d, 2 * P))
                Zn[:, ws] = out[0]
                Zn = polish_cones(X, DD, Zn)
                obj_n = F.relu_objective(X, y, D, Zn[:, :P], Zn[:, P:], beta)
                if obj_n < best_obj:
                    best_obj, best_Z = obj_n, Zn
                lam_n = lam.copy()
                keep = F.group_norms(out[0]) > 0
                lam_n[:, ws[keep]] = out[1][:, keep]
                bn, vn, lam_n = _relu_certificate(ops, X, y, Fs, Ss, Zn, lam_n, beta)
                if bn > best_bound:
                    best_bound, v_best, lam_best = bn, vn, lam_n
            stats["newton_s"] += time.perf_counter() - t0
        return lam_c

    certified_state = False
    while n_rounds < MAX_PRICING_ROUNDS and n_iter < max_iter:
        n_rounds += 1
        v = y if ipm is None else y - np.einsum("nk,nk->n", Fs[:, ws], X @ ipm.W)
        working = np.zeros(2 * P, dtype=bool)
        working[ws] = True
        add = _price_columns(
            ops, X, Fs, Ss, v, beta, Lam, working, m_add, viol_rtol, x_norm2, stats
        )
        if add.size:
            if ipm is not None:
                # drop columns that are zero with a clearly slack dual constraint
                norms = F.group_norms(ipm.W)
                slack = (norms <= 1e-6 * max(float(norms.max()), 1e-300)) & (
                    ipm.column_dual_norms() < DROP_DUAL
                )
                Lam[:, ws[slack]] = ipm.duals[:, slack]
                ws = ws[~slack]
            grown = np.union1d(ws, add)
            if grown.size * d > IPM_MAX_DIM:
                stop_reason = "working set too large"
                break
            ws = grown
            ipm = build(ws)
            certified_state = False
            continue
        if ipm is None:
            return _relu_zero_result(X, y, D, beta, tol, problem, t_start, "zero optimal", Lam)
        # no column is violated: finish the restricted solve and certify
        t0 = time.perf_counter()
        before = ipm.n_iter
        ipm.run(FINAL_GAP_FACTOR * tol, max(1, max_iter - n_iter))
        n_iter += ipm.n_iter - before
        stats["ipm_s"] += time.perf_counter() - t0
        lam_c = certify(ipm, newton)
        certified_state = True
        if _gap_ok(best_obj, best_bound, tol):
            stop_reason = "gap+feasibility"
            break
        if ipm.failed or ipm.rel_gap >= 0.5 * last_final_gap:
            stop_reason = "ipm stalled"
            break
        last_final_gap = ipm.rel_gap
        outside = np.ones(2 * P, dtype=bool)
        outside[ws] = False
        Lam[:, outside] = lam_c[:, outside]
    if ipm is not None and not certified_state:
        # stopped early (iteration budget, working-set cap): still return a feasible,
        # bounded point
        certify(ipm, False)

    U, V = best_Z[:, :P], best_Z[:, P:]
    objective = F.relu_objective(X, y, D, U, V, beta)
    lower = F.relu_dual_bound(X, y, D, v_best, beta, lam_best[:, :P], lam_best[:, P:])
    cone_viol = F.cone_violation(X, D, U, V)
    if _gap_ok(objective, lower, tol) and cone_viol <= max(tol, 1e-10):
        status = "optimal"
    else:
        status = "max_iter" if stop_reason == "max_iter" else "inaccurate"
    elapsed = time.perf_counter() - t_start
    product_s = ops.seconds + ipm_seconds + (ipm.ops.seconds if ipm is not None else 0.0)
    return SolveResult(
        problem=problem,
        solver="relu_cg",
        solver_version=__version__,
        status=status,
        raw_status=stop_reason,
        objective=objective,
        solver_objective=objective,
        n_iter=n_iter,
        time_s=elapsed,
        tol=tol,
        n_patterns=P,
        n_active=int(F.active_mask(U).sum() + F.active_mask(V).sum()) if best_Z.any() else 0,
        max_cone_violation=cone_viol,
        variables={"U": U, "V": V},
        duality_gap=objective - lower,
        dual_bound=lower,
        extra={
            "stop_reason": stop_reason,
            "n_rounds": n_rounds,
            "working_set": int(ws.size),
            "n_projections": int(stats["n_projections"]),
            "ipm_s": stats["ipm_s"],
            "pricing_s": stats["pricing_s"],
            "certificate_s": stats["certificate_s"],
            "newton_s": stats["newton_s"],
            "n_newton": n_newton,
            "product_time_s": product_s,
            "product_fraction": product_s / elapsed if elapsed > 0 else 0.0,
            "multipliers": {"lam": lam_best[:, :P].copy(), "mu": lam_best[:, P:].copy()},
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
        Passed to :func:`solve_gated_fista` / :func:`solve_relu_cg` (``tol``, ``max_iter``).
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
            res = solve_relu_cg(X, y, D, beta_list[k], warm_start=prev, problem=problem, **options)
        lip = res.extra.get("lipschitz")
        if isinstance(lip, float) and lip > 0:
            lipschitz = lip
        results[int(k)] = res
        prev = res
    return [results[k] for k in range(len(beta_list))]
