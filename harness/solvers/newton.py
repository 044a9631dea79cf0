"""Reduced Newton methods on an identified support (THEORY.md §A2 eqs. (5) and (3)).

First-order methods identify the support fast but converge slowly to high accuracy on
these degenerate programs. On the active columns, restricted to the null space of their
tight cone rows, (3) and (5) are smooth group-norm problems of dimension
``m = sum (d - #tight rows)``; a damped Newton method solves them to machine precision
(one m x m Cholesky per step; tried only when ``m <= NEWTON_MAX_DIM``). A wrong support
guess costs time, never correctness: every candidate is accepted only through the
solvers' certificates.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from harness import formulations as F
from harness.formulations import FloatArray
from harness.solvers.cones import project_cone

#: Largest reduced dimension for which the Newton step is tried (m x m Cholesky).
NEWTON_MAX_DIM = 2500

IntArray = np.ndarray


def newton_group_lasso(
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


def null_basis(A: FloatArray, d: int) -> FloatArray:
    """Orthonormal basis (d, k) of the null space of the rows of ``A`` (identity if none)."""
    if A.shape[0] == 0:
        return np.eye(d)
    _, s, Vt = np.linalg.svd(A, full_matrices=True)
    rank = int(np.sum(s > 1e-10 * s[0])) if s.size else 0
    return np.ascontiguousarray(Vt[rank:].T)


def support_newton(
    X: FloatArray, y: FloatArray, beta: float, M: np.ndarray, W: FloatArray, cols: IntArray
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
        w, collapsed, converged = newton_group_lasso(B, gid, y, beta, W[:, cols].T.ravel())
        W[:, cols] = w.reshape(cols.size, d).T
        if not collapsed:
            return W if converged else None
        norms = F.group_norms(W[:, cols])
        keep = norms > 1e-9 * norms.max()
        W[:, cols[~keep]] = 0.0
        cols = cols[keep]
    return W


def active_set_newton(
    X: FloatArray,
    y: FloatArray,
    beta: float,
    Fs: FloatArray,
    Ss: FloatArray,
    Z: FloatArray,
    guess: FloatArray | None = None,
    max_changes: int = 500,
    max_flops: float = np.inf,
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
    or the change budget runs out: ``max_changes`` working-set changes, or ``max_flops``
    estimated arithmetic (per change ``n m^2`` for the reduced Gram matrix and ten
    ``m^3 / 3`` Cholesky factorisations, ``m`` the reduced dimension; deterministic, unlike
    a time limit).
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
            N = null_basis(A[j][work[j]], d)
            hit = (key, N, (Fs[:, j, None] * X) @ N)
            cache[j] = hit
        return hit[1], hit[2]

    def full_value(Zc: FloatArray) -> float:
        r = np.einsum("np,np->n", Fs, X @ Zc) - y
        return float(0.5 * r @ r + beta * F.group_norms(Zc).sum())

    def value(Zc: FloatArray) -> float:
        r = np.einsum("np,np->n", Fs[:, cols], X @ Zc) - y
        return float(0.5 * r @ r + beta * F.group_norms(Zc).sum())

    flops = 0.0
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
            m = int(dims.sum())
            if m > NEWTON_MAX_DIM:
                return None
            flops += n * m * m + 10 * m**3 / 3
            if flops > max_flops:
                return None
            B = np.concatenate([nb[1] for nb in NB], axis=1)
            gid = np.repeat(np.arange(cols.size), dims)
            w0 = np.concatenate([nb[0].T @ Z[:, j] for j, nb in zip(cols, NB)])
            w, _, converged = newton_group_lasso(B, gid, y, beta, w0)
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
            proj, mu = project_cone(Aj, Cout[:, kp])
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
