"""From convex solutions to two-layer ReLU networks (THEORY.md §A2 "Mapping").

* ReLU program (2)/(3): each non-zero ``u_i`` gives the neuron
  ``(u_i / sqrt(||u_i||), +sqrt(||u_i||))`` and each non-zero ``v_i`` the neuron
  ``(v_i / sqrt(||v_i||), -sqrt(||v_i||))``. Because ``u_i`` lies in its cone ``K_i``,
  ``(X u_j)_+ alpha_j = D_i X u_i`` and ``beta/2 (||u_j||^2 + alpha_j^2) = beta ||u_i||``:
  the network's objective (1) equals the convex objective exactly.
* Gated program (5): ``w_i`` need not lie in ``K_i``; it is first split as
  ``w_i = a_i - b_i`` with ``a_i, b_i in K_i`` and minimal ``||a_i|| + ||b_i||`` (the cone
  decomposition of §A5, whose value per unit ``w_i`` is the cone sharpness
  ``C(K_i, w_i/||w_i||)``), then mapped as above. The mapped objective is at most
  ``max_i C(K_i, .)`` times the gated optimum (Prop 4.2).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from harness import formulations as F
from harness.formulations import BoolArray, FloatArray


def convex_to_network(
    U: FloatArray, V: FloatArray | None = None, rtol: float = 0.0
) -> tuple[FloatArray, FloatArray]:
    """Network weights ``(U_net (d, m), alpha (m,))`` from a ReLU-program solution.

    Columns whose norm is ``<= rtol * max norm`` (and exact zeros) are dropped;
    ``rtol=0`` keeps every non-zero column so the objective is reproduced exactly.
    """
    cols: list[FloatArray] = []
    alphas: list[FloatArray] = []
    for W, sign in ((U, 1.0), (V, -1.0)):
        if W is None:
            continue
        norms = F.group_norms(W)
        top = norms.max() if norms.size else 0.0
        keep = (norms > 0) & (norms > rtol * top)
        root = np.sqrt(norms[keep])
        cols.append(W[:, keep] / root)
        alphas.append(sign * root)
    return np.concatenate(cols, axis=1), np.concatenate(alphas)


@dataclass(frozen=True)
class ConeDecomposition:
    """Result of the minimal-norm cone decomposition ``w_i = a_i - b_i`` (§A5).

    Attributes
    ----------
    A, B : ndarray (d, P)
        The parts, ``a_i, b_i in K_i`` (zero for zero ``w_i``).
    sharpness : ndarray (P,)
        ``(||a_i|| + ||b_i||) / ||w_i||`` = ``C(K_i, w_i/||w_i||)`` (nan for zero columns).
    status, raw_status : str
        Normalised and raw status of the SOCP (``"optimal"`` when solved).
    time_s : float
    """

    A: FloatArray
    B: FloatArray
    sharpness: FloatArray
    status: str
    raw_status: str
    time_s: float


def relu_network_value(
    X: FloatArray, y: FloatArray, U: FloatArray, V: FloatArray, beta: float
) -> float:
    """Eq. (1) at the network mapped from a ReLU-program solution ``(U, V)``, §A2 "Mapping".

    The one implementation of this quantity: the weights are mapped by
    :func:`convex_to_network` and (1) is evaluated by
    :func:`harness.formulations.network_objective`. It equals
    ``1/2 ||sum_i (X u_i)_+ - sum_i (X v_i)_+ - y||^2 + beta sum_i (||u_i|| + ||v_i||)``:
    a value of (1) at real weights (hence ``>= p*``) whether or not ``u_i, v_i`` lie exactly
    in their cones, and the objective of (2)/(3) when they do. With no non-zero column the
    network is zero and the value is ``||y||^2 / 2``.
    """
    U_net, alpha = convex_to_network(U, V)
    if alpha.size == 0:
        return 0.5 * float(y @ y)
    return F.network_objective(X, y, U_net, alpha, beta)


def cone_decomposition(
    X: FloatArray, D: BoolArray, W: FloatArray, tol: float = 1e-8, rtol_active: float = 1e-6
) -> ConeDecomposition:
    """Split each ``w_i = a_i - b_i`` with ``a_i, b_i in K_i`` minimising ``||a_i||+||b_i||``.

    THEORY.md §A5 Def 4.1 / Prop 4.2, on all active columns at once::

        min sum_i ||a_i|| + ||a_i - w_i||  s.t.  (2D_i - I) X a_i >= 0,
                                                  (2D_i - I) X (a_i - w_i) >= 0.

    Solved by the batched interior-point method of :mod:`harness.solvers.cone_split` (one
    small Newton block per column); if it does not converge, by cvxpy + Clarabel on the
    same program (``raw_status`` then says so).
    """
    from harness.solvers.cone_split import split_columns

    d, P = W.shape
    active = F.active_mask(W, rtol_active)
    A_full = np.zeros((d, P))
    B_full = np.zeros((d, P))
    sharp = np.full(P, np.nan)
    t0 = time.perf_counter()
    if not active.any():
        return ConeDecomposition(A_full, B_full, sharp, "optimal", "trivial", 0.0)
    Wa = W[:, active]
    S = np.where(D[:, active], 1.0, -1.0)
    split = split_columns(X, S, Wa, tol)
    if split.status == "optimal":
        A_act: FloatArray | None = split.A
        status, raw = "optimal", f"cone_split: optimal in {split.n_iter} iterations"
    else:
        A_act, status, raw = split_clarabel(X, S, Wa, tol)
        raw = f"cone_split: {split.status} (rel. gap {split.rel_gap:.1e}); clarabel: {raw}"
    if A_act is not None:
        A_full[:, active] = A_act
        B_full[:, active] = A_act - Wa
        sharp[active] = (F.group_norms(A_act) + F.group_norms(A_act - Wa)) / F.group_norms(Wa)
    elif status == "optimal":
        status = "error"
    return ConeDecomposition(A_full, B_full, sharp, status, raw, time.perf_counter() - t0)


def split_clarabel(
    X: FloatArray, S: FloatArray, Wa: FloatArray, tol: float
) -> tuple[FloatArray | None, str, str]:
    """The decomposition of the columns ``Wa`` (signs ``S``) as one cvxpy SOCP solved by
    Clarabel: the fallback of :func:`cone_decomposition` and the peer of
    ``benchmarks/bench_cone_split.py``. Returns ``(A or None, status, raw status)``."""
    import cvxpy as cp  # here, not at import: `harness solve` maps without cvxpy

    from harness.solvers.reference import run_clarabel

    Avar = cp.Variable(Wa.shape)
    obj = cp.sum(cp.norm(Avar, 2, axis=0)) + cp.sum(cp.norm(Avar - Wa, 2, axis=0))
    cons = [cp.multiply(S, X @ Avar) >= 0, cp.multiply(S, X @ (Avar - Wa)) >= 0]
    prob = cp.Problem(cp.Minimize(obj), cons)
    status, raw, _, _ = run_clarabel(prob, tol)
    A_act = None if Avar.value is None else np.asarray(Avar.value, dtype=float)
    return A_act, status, raw


def gated_to_network(
    X: FloatArray, D: BoolArray, W: FloatArray
) -> tuple[FloatArray, FloatArray, ConeDecomposition]:
    """Network weights from a gated solution via :func:`cone_decomposition` (§A2)."""
    dec = cone_decomposition(X, D, W)
    U_net, alpha = convex_to_network(dec.A, dec.B)
    return U_net, alpha, dec
