"""The convex program (13) (Theorem 1, THEORY.md Part B) and its Clarabel reference solve.

Variables: ``Z`` (d, G), one column ``u_g`` per group ``g = (sigma, b, q)`` in C order over
``sigma in {+1 (w'), -1 (w)}``, blocks ``b`` and first-layer neurons ``q``
(:mod:`harness.deep` derives the program). With ``M = X Z`` (n, G):

* prediction ``sum_g C_g * M_g`` with ``C_g = sigma s_bq D_2b D_1bq`` (n,);
* first-layer cones ``S1_g * M_g >= 0`` with ``S1_g = 2 D_1bq - 1``;
* second-layer cones ``S2_sb * (sum_q A_g * M_g) >= 0`` with ``A_g = s_bq D_1bq``;
* penalty ``beta sum_g ||u_g||_2`` (the d-dimensional group norm of (13)).

The cvxpy model uses whole-matrix atoms only (``multiply``, ``@``, ``norm(axis=0)``), so
its size does not grow with a Python loop over blocks. A certified lower bound comes from
the dual of (13): for any residual ``v`` and multipliers ``lam, mu >= 0``,
``max_a a v^T y - a^2/2 ||v||^2`` over ``0 <= a <= beta / max_g ||X^T R_g||`` with
``R_g = C_g v + S1_g lam_g + A_g S2_sb mu_sb`` is ``<= p13`` (weak duality).
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from harness.deep.arrangements import Arrangements
from harness.deep.model import FloatArray
from harness.errors import InputError
from harness.solvers.reference import DEFAULT_TOL, clarabel_version, run_clarabel
from harness.solvers.result import SolveResult

#: Bytes per nonzero of the conic constraint matrix, with cvxpy's copies and Clarabel's
#: KKT factorisation (measured on small instances, rounded up).
BYTES_PER_NONZERO = 400
#: Default memory limit for one (13) solve.
DEFAULT_MEMORY_LIMIT_GB = 4.0


@dataclass(frozen=True)
class Program13:
    """Constant data of (13) for one arrangement set (see module docstring)."""

    C: FloatArray  # (n, G)
    S1: FloatArray  # (n, G)
    A: FloatArray  # (n, G)
    S2: FloatArray  # (n, 2B)
    group_block: np.ndarray  # (G,) index in [0, 2B) of each group's (sigma, b)
    B: int
    m1: int

    @property
    def G(self) -> int:
        return int(self.C.shape[1])


def program_size(n: int, d: int, m1: int, n_blocks: int) -> dict[str, float]:
    """Variables, constraints, nonzeros and estimated memory (GB) of (13)."""
    G = 2 * n_blocks * m1
    nnz = n * G * d + n * 2 * n_blocks * m1 * d + G * (d + 1)
    return {
        "variables": float(G * d),
        "constraints": float(n * G + 2 * n * n_blocks),
        "nonzeros": float(nnz),
        "memory_gb": nnz * BYTES_PER_NONZERO / 1e9,
    }


def check_program_memory(
    n: int, d: int, m1: int, n_blocks: int, limit_gb: float = DEFAULT_MEMORY_LIMIT_GB
) -> dict[str, float]:
    """Refuse (InputError naming the size) a (13) whose estimated memory exceeds the limit."""
    size = program_size(n, d, m1, n_blocks)
    if size["memory_gb"] > limit_gb:
        raise InputError(
            f"program (13) with n={n}, d={d}, m1={m1}, blocks={n_blocks} would need about "
            f"{size['memory_gb']:.1f} GB ({size['nonzeros']:.3g} nonzeros, "
            f"{size['variables']:.3g} variables); field 'max_memory_gb' allows {limit_gb:g}"
        )
    return size


def build_program(arr: Arrangements) -> Program13:
    """Coefficient matrices of (13) for ``arr`` (numpy over blocks, no Python loop)."""
    D1b, D2b = arr.block_masks()  # (B, m1, n), (B, n)
    B, m1, n = D1b.shape
    sigma = np.array([1.0, -1.0])
    A = arr.signs[:, :, None] * D1b  # (B, m1, n)
    C = sigma[:, None, None, None] * (A * D2b[:, None, :])[None]  # (2, B, m1, n)
    S1 = np.broadcast_to(2.0 * D1b - 1.0, (2, B, m1, n))
    A2 = np.broadcast_to(A, (2, B, m1, n))
    S2 = np.broadcast_to(2.0 * D2b - 1.0, (2, B, n))
    G = 2 * B * m1
    return Program13(
        C=np.ascontiguousarray(C.reshape(G, n).T),
        S1=np.ascontiguousarray(S1.reshape(G, n).T),
        A=np.ascontiguousarray(A2.reshape(G, n).T),
        S2=np.ascontiguousarray(S2.reshape(2 * B, n).T),
        group_block=np.repeat(np.arange(2 * B), m1),
        B=B,
        m1=m1,
    )


def aggregate_matrix(prog: Program13) -> sp.csr_matrix:
    """Sparse (G, 2B) matrix summing the ``m1`` groups of every (sigma, b)."""
    G = prog.G
    return sp.csr_matrix((np.ones(G), (np.arange(G), prog.group_block)), shape=(G, 2 * prog.B))


def predict13(prog: Program13, X: FloatArray, Z: FloatArray) -> FloatArray:
    """Prediction of (13) at ``Z`` (d, G)."""
    return np.sum(prog.C * (X @ Z), axis=1)


def objective13(prog: Program13, X: FloatArray, y: FloatArray, Z: FloatArray, beta: float) -> float:
    """Value of (13) at ``Z``, recomputed in numpy."""
    r = predict13(prog, X, Z) - y
    return 0.5 * float(r @ r) + beta * float(np.sum(np.linalg.norm(Z, axis=0)))


def second_layer_preact(prog: Program13, M: FloatArray) -> FloatArray:
    """``sum_q A_g M_g`` per (sigma, b): (n, 2B)."""
    return np.asarray(aggregate_matrix(prog).T @ (prog.A * M).T).T


def cone_violation13(prog: Program13, X: FloatArray, Z: FloatArray) -> float:
    """Largest cone violation of (13) at ``Z``, relative to ``max |X Z|`` (0 if Z = 0)."""
    M = X @ Z
    scale = float(np.max(np.abs(M))) if M.size else 0.0
    if scale == 0.0:
        return 0.0
    v1 = float(np.max(np.maximum(-prog.S1 * M, 0.0)))
    v2 = float(np.max(np.maximum(-prog.S2 * second_layer_preact(prog, M), 0.0)))
    return max(v1, v2) / scale


def dual_bound13(
    prog: Program13,
    X: FloatArray,
    y: FloatArray,
    v: FloatArray,
    beta: float,
    lam: FloatArray | None = None,
    mu: FloatArray | None = None,
) -> float:
    """Certified lower bound on (13) from a residual ``v`` and multipliers (module docstring)."""
    R = prog.C * v[:, None]
    if lam is not None:
        R = R + prog.S1 * np.maximum(lam, 0.0)
    if mu is not None:
        R = R + prog.A * (prog.S2 * np.maximum(mu, 0.0))[:, prog.group_block]
    kappa = float(np.max(np.linalg.norm(X.T @ R, axis=0))) if R.size else 0.0
    vv = float(v @ v)
    if vv == 0.0:
        return 0.0
    a_max = np.inf if kappa == 0.0 else beta / kappa
    a = float(np.clip(float(v @ y) / vv, 0.0, a_max))
    return a * float(v @ y) - 0.5 * a * a * vv


def solve13_reference(
    X: FloatArray,
    y: FloatArray,
    arr: Arrangements,
    beta: float,
    tol: float = DEFAULT_TOL,
    max_iter: int = 500,
    memory_limit_gb: float = DEFAULT_MEMORY_LIMIT_GB,
) -> SolveResult:
    """Solve (13) on ``arr`` with cvxpy + Clarabel; ``variables = {"Z": (d, G)}``.

    The objective is recomputed in numpy; the duality gap is certified by
    :func:`dual_bound13` from the solver's residual and cone multipliers.
    """
    if not beta > 0:
        raise InputError(f"beta must be > 0; got {beta!r}")
    n, d = X.shape
    size = check_program_memory(n, d, arr.m1, arr.n_blocks, memory_limit_gb)
    prog = build_program(arr)
    Z = cp.Variable((d, prog.G))
    M = X @ Z
    pred = cp.sum(cp.multiply(prog.C, M), axis=1)
    obj = 0.5 * cp.sum_squares(pred - y) + beta * cp.sum(cp.norm(Z, 2, axis=0))
    cons1 = cp.multiply(prog.S1, M) >= 0
    pre2 = cp.multiply(prog.A, M) @ aggregate_matrix(prog)
    cons2 = cp.multiply(prog.S2, pre2) >= 0
    problem = cp.Problem(cp.Minimize(obj), [cons1, cons2])
    status, raw, iters, elapsed = run_clarabel(problem, tol, max_iter)
    if Z.value is None:
        Z_val = np.zeros((d, prog.G))
        if status == "optimal":
            status = "error"
        lam = mu = None
    else:
        Z_val = np.asarray(Z.value, dtype=float)
        lam = None if cons1.dual_value is None else np.asarray(cons1.dual_value, float)
        mu = None if cons2.dual_value is None else np.asarray(cons2.dual_value, float)
    value = objective13(prog, X, y, Z_val, beta)
    lower = dual_bound13(prog, X, y, y - predict13(prog, X, Z_val), beta, lam, mu)
    norms = np.linalg.norm(Z_val, axis=0)
    return SolveResult(
        problem="deep13",
        solver="clarabel",
        solver_version=clarabel_version(),
        status=status,
        raw_status=raw,
        objective=value,
        solver_objective=float(problem.value) if problem.value is not None else float("nan"),
        n_iter=iters,
        time_s=elapsed,
        tol=tol,
        n_patterns=arr.n_blocks,
        n_active=int(np.sum(norms > 1e-8 * max(float(norms.max(initial=0.0)), 1e-300))),
        max_cone_violation=cone_violation13(prog, X, Z_val),
        variables={"Z": Z_val},
        duality_gap=value - lower,
        dual_bound=lower,
        extra={"n_groups": prog.G, "memory_gb_est": size["memory_gb"]},
    )


def beta_max13(X: FloatArray, y: FloatArray, arr: Arrangements) -> float:
    """``max_g ||X^T (C_g * y)||``: for ``beta >=`` this value ``Z = 0`` solves (13).

    At ``v = y`` (the residual of ``Z = 0``) with zero multipliers every dual constraint of
    :func:`dual_bound13` holds, so the bound equals ``||y||^2 / 2``, the value at 0. Specs
    give ``beta_rel``, a fraction of it (as ``beta_rel`` of THEORY.md §A8 for (3)).
    """
    prog = build_program(arr)
    return float(np.max(np.linalg.norm(X.T @ (prog.C * y[:, None]), axis=0)))
