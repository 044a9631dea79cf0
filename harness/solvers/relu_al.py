"""Cone-constrained ReLU program (3) by augmented Lagrangian (registry name ``"al"``).

Method of multipliers on the cone constraints ``(2 D_i - I) X z >= 0`` of the 2P columns
``Z = [U, V]``, with the shared FISTA (:class:`harness.solvers.fista.GroupFista`) as the
inner solver. Why this and not ADMM:

* the AL subproblem is again "smooth + group norm", and its smooth part shares the one
  product ``X @ Z`` between the fit term and the cone term: one forward and one adjoint
  product per inner iteration. An ADMM with an exact linear step needs a Woodbury solve
  with the n x n masked Gram matrix (an O(n^3) factorisation);
* the AL multipliers ``Lambda = (Lambda - rho C)_+`` are the cone multipliers
  ``lam, mu >= 0`` of :func:`harness.formulations.relu_dual_bound`, so every inner iterate
  gives a certified lower bound for free, valid whatever the accuracy of the inner solve;
* the penalty's curvature is known exactly: ``G^T G = I (x) X^T X`` because
  ``(2 D_i - I)^2 = I``, so ``L = 2 ||A||^2 + rho ||X||_2^2``; ``rho`` starts balanced and
  grows only when the cone violation stalls.

Once the support looks settled the exact active-set Newton method
(:func:`harness.solvers.newton.active_set_newton`) is tried; every candidate is projected
onto the cones (:func:`harness.solvers.cones.polish_cones`) and accepted only through the
certificate. The AL stops on the inner stationarity (in units of ``beta``) AND the
relative cone violation AND the certified gap. Slow on degenerate instances (the optimum
of (3) sits on low-dimensional faces of its cones); the column generation
(:mod:`harness.solvers.relu_cg`) is the default.
"""

from __future__ import annotations

import time

import numpy as np

from harness import __version__
from harness import formulations as F
from harness.formulations import BoolArray, FloatArray
from harness.solvers.certify import build_result, relu_certificate
from harness.solvers.common import (
    DEFAULT_TOL,
    WarmStart,
    check_options,
    check_problem,
    gap_ok,
    pad_columns,
    scaled_dual_value,
    warm_variables,
)
from harness.solvers.cones import polish_cones
from harness.solvers.fista import GroupFista
from harness.solvers.masked import MaskedProducts, power_lipschitz
from harness.solvers.newton import active_set_newton
from harness.solvers.result import SolveResult

DEFAULT_MAX_ITER = 100_000


def _relative_violation(C: FloatArray, Z: FloatArray, xscale: float) -> float:
    """Relative cone violation from ``C = S * (X Z)``, as in ``formulations.cone_violation``."""
    top = float(F.group_norms(Z).max()) if Z.size else 0.0
    if top == 0.0 or xscale == 0.0:
        return 0.0
    return float(np.maximum(-C, 0.0).max()) / (xscale * top)


def solve_relu_al(
    X: FloatArray,
    y: FloatArray,
    D: BoolArray,
    beta: float,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    warm_start: WarmStart = None,
    problem: str = "relu",
    lipschitz: float | None = None,
    rho: float | None = None,
    newton: bool = True,
) -> SolveResult:
    """Cone-constrained ReLU program, THEORY.md §A2 eq. (3) (or (2)), by augmented Lagrangian.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
    D : bool ndarray of shape (n, P)
    beta : float > 0
    tol : float
        Certified relative gap at the polished (exactly feasible) point; also the AL's
        targets for the inner stationarity (in units of ``beta``) and the cone violation.
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
        Try the active-set Newton method on the support.

    Returns
    -------
    SolveResult
        ``solver="al"``, ``extra["method"]="augmented_lagrangian"``; ``extra`` holds
        ``stop_reason``, ``n_outer``, ``n_newton``, ``rho``, the multipliers (for warm
        starts) and the product timing.
    """
    t_start = time.perf_counter()
    check_problem(problem, ("relu", "full"), "the augmented Lagrangian")
    X, y = F.check_data(X, y)
    D = F.check_patterns(D, X.shape[0])
    beta = F.check_beta(beta)
    tol, max_iter = check_options(tol, max_iter)
    n, d = X.shape
    P = D.shape[1]
    warm = warm_variables(warm_start)
    Z = np.zeros((d, 2 * P))
    Lam = np.zeros((n, 2 * P))
    if "U" in warm and "V" in warm:
        Z[:, :P] = pad_columns(warm["U"], d, P, "U")
        Z[:, P:] = pad_columns(warm["V"], d, P, "V")
    elif "W" in warm:
        Z[:, :P] = pad_columns(warm["W"], d, P, "W")
    if "lam" in warm and "mu" in warm:
        Lam[:, :P] = np.maximum(pad_columns(warm["lam"], n, P, "lam"), 0.0)
        Lam[:, P:] = np.maximum(pad_columns(warm["mu"], n, P, "mu"), 0.0)

    Dm = D.astype(np.float64)
    S = 2.0 * Dm - 1.0
    DD = np.concatenate([D, D], axis=1)
    Fs = np.concatenate([Dm, -Dm], axis=1)  # fit term: pred = rowsum(Fs * (X Z))
    Ss = np.concatenate([S, S], axis=1)  # cone term: C = Ss * (X Z) >= 0
    ops = MaskedProducts(X)
    xscale = float(np.max(np.linalg.norm(X, axis=1)))
    x_norm2 = float(np.linalg.norm(X, 2) ** 2)

    bmax = float(F.group_norms(ops.masked_adjoint(D, y)).max())
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
        stop_reason = "beta_max"
        best_feasible = np.zeros((d, 2 * P))
    else:
        L_A = float(lipschitz) if lipschitz else 1.05 * power_lipschitz(ops, D, y)
        if rho:
            rho_k = float(rho)
        elif warm.get("rho"):
            rho_k = float(warm["rho"])
        else:
            rho_k = 2.0 * L_A / x_norm2

        def gradient(Yk: FloatArray, XY: FloatArray) -> FloatArray:
            nonlocal best_bound, v_best, lam_best
            r = np.einsum("np,np->n", Fs, XY) - y
            Lp = np.maximum(Lam - rho_k * (Ss * XY), 0.0)
            G = ops.adjoint(Fs * r[:, None] - Ss * Lp)
            bound = scaled_dual_value(
                -float(r @ y), float(r @ r), float(F.group_norms(G).max()), beta
            )
            if bound > best_bound:
                best_bound, v_best, lam_best = bound, -r, Lp
            return G

        def curvature(dZ: FloatArray, dXZ: FloatArray) -> float:
            # only the fit part's constant is estimated; rho ||X||^2 is exact
            dpred = np.einsum("np,np->n", Fs, dXZ)
            return float(dpred @ dpred) / float(np.vdot(dZ, dZ)) + rho_k * x_norm2

        fista = GroupFista(ops.matmul, gradient, curvature, beta, 2.0 * L_A + rho_k * x_norm2, Z)
        eps_in = 1e-2  # inner stationarity target, relative to beta
        inner_cap = 500  # lets the Newton step try early, then relaxes
        viol_prev = np.inf
        last_structure: tuple[bytes, ...] = ()
        while fista.n_iter < max_iter:
            n_outer += 1
            fista.restart_at(fista.Z, fista.AZ)
            inner_stop = min(max_iter, fista.n_iter + inner_cap)
            inner_res = np.inf
            while fista.n_iter < inner_stop:
                step = fista.step()
                inner_res = fista.L * float(F.group_norms(step.dZ).max()) / beta
                if inner_res <= eps_in:
                    break
            Z, XZ = fista.Z, fista.AZ
            C = Ss * XZ
            viol = _relative_violation(C, Z, xscale)
            Lam = np.maximum(Lam - rho_k * C, 0.0)
            r = np.einsum("np,np->n", Fs, XZ) - y
            obj = float(0.5 * r @ r + beta * F.group_norms(Z).sum())
            if inner_res <= max(tol, eps_in) and viol <= tol and gap_ok(obj, best_bound, tol):
                obj_p = offer_feasible(polish_cones(X, DD, Z))
                if gap_ok(obj_p, best_bound, tol):
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
                    out = active_set_newton(X, y, beta, Fs, Ss, polish_cones(X, DD, Z), C)
                    if out is not None:
                        Zc = polish_cones(X, DD, out[0])
                        obj_c = offer_feasible(Zc)
                        lam_c = np.where(F.group_norms(Zc)[None, :] > 0, out[1], Lam)
                        vc = y - F.gated_predict(X, D, Zc[:, :P] - Zc[:, P:])
                        bc, lc, mc = relu_certificate(X, y, D, vc, beta, lam_c[:, :P], lam_c[:, P:])
                        if bc > best_bound:
                            best_bound, v_best = bc, vc
                            lam_best = np.concatenate([lc, mc], axis=1)
                        if gap_ok(obj_c, best_bound, tol):
                            stop_reason = "gap+feasibility (newton)"
                            break
            if viol > 0.25 * viol_prev:
                rho_k *= 4.0
                fista.L = fista.L - rho_k / 4.0 * x_norm2 + rho_k * x_norm2
            viol_prev = viol
            eps_in = max(0.2 * eps_in, 0.1 * tol)
            inner_cap *= 2
        Z = fista.Z
        n_iter, n_restarts, n_backtracks = fista.n_iter, fista.n_restarts, fista.n_backtracks
        L_fit = fista.L - rho_k * x_norm2

    if best_feasible is None or stop_reason == "max_iter":
        offer_feasible(polish_cones(X, DD, Z) if Z.any() else Z)
    assert best_feasible is not None
    claimed = "max_iter" if stop_reason == "max_iter" else "optimal"
    return build_result(
        problem,
        X,
        y,
        D,
        beta,
        {"U": best_feasible[:, :P], "V": best_feasible[:, P:]},
        solver="al",
        method="augmented_lagrangian",
        solver_version=__version__,
        tol=tol,
        claimed_status=claimed,
        raw_status=stop_reason,
        n_iter=n_iter,
        t_start=t_start,
        residuals=[v_best],
        multipliers=(lam_best[:, :P], lam_best[:, P:]),
        extra={
            "stop_reason": stop_reason,
            "n_outer": n_outer,
            "n_newton": n_newton,
            "rho": rho_k,
            "lipschitz": L_fit / 2.0,
            "n_restarts": n_restarts,
            "n_backtracks": n_backtracks,
            "cone_violation_al": viol,
            "product_time_s": ops.seconds,
            "n_products": ops.count,
        },
    )
