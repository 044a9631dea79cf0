"""Binary quadratic maximisation behind the §3.4 MAX-CUT bound, THEORY.md §A4 §3.4 and Part D.

The quantity is ``max_{s in {0,1}^n} s^T M s`` for a symmetric ``M``; for (7) and P7
``M = diag(y) X X^T diag(y)``, and Part D bound 3 uses ``M = diag(w) X X^T diag(w)``.

* ``n <= exact_max_n`` (default 24): exact, by chunked meet-in-the-middle enumeration of all
  ``2^n`` vectors (both halves enumerated in full, the cross term by matrix products in
  row chunks); every vector is evaluated, nothing is sampled.
* larger ``n``: the Goemans-Williamson (Shor) SDP relaxation, certified through its dual.
  In ``{0,1}`` coordinates the dual is::

      min gamma  s.t.  Q(gamma, lam) = [[gamma, -lam^T/2], [-lam/2, diag(lam) - M]] >= 0;

  for binary ``s`` and ``z = (1, s)``, ``z^T Q z = gamma - s^T M s`` (``s_i^2 = s_i``), so
  any ``(gamma, lam)`` with ``Q + e I >= 0`` certifies ``s^T M s <= gamma + e (1 + n)``.
  The default solver works on the equivalent eigenvalue form in ``+-1`` coordinates
  (:func:`sdp_upper_bound`); cvxpy + Clarabel / SCS are available as options. In every case
  the returned bound is recomputed in numpy from the dual certificate (with a rounding
  margin), so it is valid whatever the solver's accuracy. Randomized hyperplane rounding of
  the SDP matrix plus greedy 1-flip improvement gives a lower bound (a value attained by an
  actual ``s``).

The MAX-CUT graph of §3.4 (``n + 1`` nodes, weights ``W = -B``) is given by
:func:`maxcut_graph` for reference; the computations above work on ``M`` directly.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
from scipy.optimize import minimize

from harness.errors import InputError, SolverError
from harness.formulations import FloatArray

#: Largest ``n`` solved by exact enumeration by default (``2^24`` vectors).
EXACT_MAX_N = 24
#: Hard limit of :func:`max_binary_quadratic_exact` (memory/time guard).
_EXACT_HARD_LIMIT = 30
_CHUNK_ELEMENTS = 1 << 22  # entries per enumeration block (~32 MB of float64)

#: L-BFGS relative-reduction stop of each smoothing stage of the spectral SDP bound. Any
#: ``mu`` gives a certified bound; measured on planted (A1) instances (M = diag(y) X X^T
#: diag(y)): 1e-10 instead of 1e-15 needs 2.4x fewer eigendecompositions at n = 160 and
#: 1.9x fewer at n = 320, with bounds looser by 6e-8 and 1.2e-8 relative.
SPECTRAL_FTOL = 1e-10
SDP_SOLVERS = ("spectral", "clarabel", "scs")


@dataclass(frozen=True)
class BinaryQuadResult:
    """Value of ``max_{s in {0,1}^n} s^T M s`` or a certified bracket of it.

    Attributes
    ----------
    value : float
        ``"exact"``: the maximum (plus nothing); ``"sdp_upper"``: the certified SDP upper
        bound. Always ``>=`` the true maximum up to floating-point rounding (see
        :attr:`upper`).
    method : {"exact", "sdp_upper"}
    lower : float
        A value ``s^T M s`` attained by :attr:`s` (equal to the maximum when exact).
    upper : float
        A certified upper bound on the maximum, including a floating-point safety margin;
        use it (not ``value``) where validity matters (Part D certificates).
    s : bool ndarray of shape (n,)
        The best binary vector found.
    time_s : float
    extra : dict
        Solver status, raw SDP value, PSD correction etc.
    """

    value: float
    method: str
    lower: float
    upper: float
    s: np.ndarray
    time_s: float
    extra: dict[str, object] = field(default_factory=dict)


def maxcut_matrix(X: FloatArray, y: FloatArray) -> FloatArray:
    """``M = diag(y) X X^T diag(y)``, ``M_ij = y_i y_j <x_i, x_j>``, THEORY.md §3.4."""
    Z = X * y[:, None]
    return np.asarray(Z @ Z.T, dtype=np.float64)


def maxcut_graph(M: FloatArray) -> tuple[FloatArray, float]:
    """Weighted MAX-CUT graph of ``max_s s^T M s``, THEORY.md §3.4 [RECON convention].

    With ``s = (1 + sigma)/2`` homogenised by ``sigma_0`` and
    ``B = [[1^T M 1, 1^T M], [M 1, M]]``, ``s^T M s = cut_W(z) + 1^T M 1`` for ``z =
    (sigma_0, sigma)``, ``sigma_0 = 1``, ``W = -B`` with zero diagonal and
    ``cut_W(z) = sum_{i<j} W_ij (1 - z_i z_j) / 2``. Returns ``(W, 1^T M 1)`` so that
    ``max_s s^T M s = maxcut(W) + const``.
    """
    M = _check_symmetric(M)
    one = M.sum(axis=1)
    B = np.block([[np.array([[one.sum()]]), one[None, :]], [one[:, None], M]])
    W = -B
    np.fill_diagonal(W, 0.0)
    return W, float(one.sum())


def max_binary_quadratic_exact(M: FloatArray) -> tuple[float, np.ndarray]:
    """Exact ``max_{s in {0,1}^n} s^T M s`` by chunked enumeration, THEORY.md §3.4.

    All ``2^n`` vectors are evaluated: ``s = (s_L, s_H)``,
    ``s^T M s = q_L(s_L) + q_H(s_H) + 2 s_L^T M_LH s_H`` with both halves enumerated in full
    and the cross term computed as matrix products over row chunks.

    Parameters
    ----------
    M : ndarray of shape (n, n), symmetric, ``n <= 30``

    Returns
    -------
    value : float
    s : bool ndarray of shape (n,)
        A maximiser.
    """
    M = _check_symmetric(M)
    n = M.shape[0]
    if n > _EXACT_HARD_LIMIT:
        raise InputError(f"exact enumeration needs n <= {_EXACT_HARD_LIMIT}; got n={n}")
    nL = n // 2
    nH = n - nL
    SL = _all_binary(nL)
    SH = _all_binary(nH)
    MLL, MHH, MLH = M[:nL, :nL], M[nL:, nL:], M[:nL, nL:]
    qL = np.einsum("ki,ij,kj->k", SL, MLL, SL)
    qH = np.einsum("ki,ij,kj->k", SH, MHH, SH)
    CL = 2.0 * (SL @ MLH)  # (2^nL, nH)
    rows = max(1, _CHUNK_ELEMENTS // SH.shape[0])
    best, best_k, best_j = -np.inf, 0, 0
    for start in range(0, SL.shape[0], rows):
        block = CL[start : start + rows] @ SH.T
        block += qL[start : start + rows, None]
        block += qH[None, :]
        idx = int(np.argmax(block))
        k, j = divmod(idx, block.shape[1])
        if block[k, j] > best:
            best, best_k, best_j = float(block[k, j]), start + k, j
    s = np.concatenate([SL[best_k], SH[best_j]]).astype(bool)
    sf = s.astype(np.float64)
    return float(sf @ M @ sf), s


def sdp_upper_bound(
    M: FloatArray, solver: str = "spectral", tol: float = 1e-8
) -> tuple[float, FloatArray | None, dict[str, object]]:
    """Certified Goemans-Williamson SDP upper bound on ``max_{s in {0,1}^n} s^T M s``, §3.4.

    Every solver returns a dual certificate that is re-checked in numpy, so the returned
    bound is valid whatever the solver's accuracy:

    * ``"spectral"`` (default): the GW SDP in its eigenvalue form. With
      ``B = [[1^T M 1, 1^T M], [M 1, M]]`` and ``N = n + 1``, for every ``mu in R^N``
      ``max_s s^T M s = max_{z in {+-1}^N} z^T B z / 4 <= (N lambda_max(B + diag mu) -
      sum(mu)) / 4``; the minimum over ``mu`` equals the SDP value (strong duality). ``mu``
      is optimised by L-BFGS on the log-sum-exp smoothing of ``lambda_max`` (smoothing
      parameter decreased in stages); the bound is then evaluated with the exact
      ``lambda_max`` plus a rounding margin. Cost: one ``(n+1)``-eigendecomposition per
      iteration (about 0.7 s at n = 100, against about 50 s for Clarabel, whose interior
      point KKT system is dense in the ``(n+1)^2/2`` PSD entries).
    * ``"clarabel"`` / ``"scs"``: the dual SDP ``min gamma`` s.t. ``Q(gamma, lam) >= 0``
      (module docstring) through cvxpy; certified as ``gamma + e (n + 1)`` with
      ``e = max(0, -lambda_min(Q))`` plus a rounding margin (only ``(gamma, lam)`` are used,
      so SCS's inexact solutions stay valid).

    Parameters
    ----------
    M : ndarray (n, n), symmetric
    solver : {"spectral", "clarabel", "scs"}
    tol : float
        Solver tolerance (Clarabel gap/feasibility, SCS eps, L-BFGS gradient tolerance).

    Returns
    -------
    upper : float
        Certified upper bound (``inf`` if the solver returned nothing).
    gram : ndarray (n+1, n+1) or None
        An (approximate) optimal SDP matrix in ``+-1`` coordinates ``z = (1, 2 s - 1)``
        (PSD, unit diagonal at optimality), for :func:`gw_rounding`.
    info : dict
        ``status``, ``raw_status``, ``sdp_value`` (solver's own value), ``solver``, ``scale``.

    Raises
    ------
    SolverError
        Unknown solver name.
    """
    if solver not in SDP_SOLVERS:
        raise SolverError(f"SDP solver must be one of {list(SDP_SOLVERS)}; got {solver!r}")
    M = _check_symmetric(M)
    scale = float(np.max(np.abs(M), initial=0.0))
    if scale == 0.0:
        return 0.0, None, {"status": "optimal", "raw_status": "trivial", "sdp_value": 0.0}
    gram: FloatArray | None
    if solver == "spectral":
        upper, gram, info = _spectral_bound(M / scale, tol)
    else:
        upper, gram, info = _cvxpy_bound(M / scale, solver, tol)
    info["scale"] = scale
    info["solver"] = solver
    if "sdp_value" in info:
        info["sdp_value"] = float(info["sdp_value"]) * scale  # type: ignore[arg-type]
    return upper * scale, gram, info


def _bmatrix(M: FloatArray) -> FloatArray:
    """``B = [[1^T M 1, 1^T M], [M 1, M]]`` so that ``s^T M s = z^T B z / 4``."""
    one = M.sum(axis=1)
    return np.block([[np.array([[one.sum()]]), one[None, :]], [one[:, None], M]])


def _spectral_bound(Ms: FloatArray, tol: float) -> tuple[float, FloatArray, dict[str, object]]:
    """Eigenvalue form of the GW SDP (see :func:`sdp_upper_bound`), on a scaled ``M``."""
    B = _bmatrix(Ms)
    N = B.shape[0]
    mu = -np.diag(B).copy()
    n_eval = 0
    last: dict[str, np.ndarray] = {}

    def smoothed(m: np.ndarray, t: float) -> tuple[float, np.ndarray]:
        nonlocal n_eval
        n_eval += 1
        w, V = np.linalg.eigh(B + np.diag(m))
        p = np.exp((w - w[-1]) / t)
        total = p.sum()
        p /= total
        last["w"], last["V"], last["p"] = w, V, p
        val = N * (w[-1] + t * np.log(total)) - m.sum()
        grad = N * ((V * V) @ p) - 1.0
        return float(val), grad

    raw = "converged"
    for t in (1e-1, 1e-2, 1e-3, 1e-4):
        res = minimize(
            smoothed,
            mu,
            args=(t,),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 2000, "gtol": tol, "ftol": SPECTRAL_FTOL},
        )
        mu = res.x
        if not np.all(np.isfinite(mu)):  # pragma: no cover - defensive
            raw = "diverged"
            break
    Bm = B + np.diag(mu)
    lam_max = float(np.linalg.eigvalsh(Bm)[-1])
    margin = 8.0 * N * np.finfo(float).eps * float(np.abs(Bm).sum())
    upper = (N * (lam_max + margin) - float(mu.sum())) / 4.0
    smoothed(mu, 1e-4)
    V, p = last["V"], last["p"]
    gram = N * (V * p) @ V.T
    info: dict[str, object] = {
        "status": "optimal" if raw == "converged" else "error",
        "raw_status": raw,
        "sdp_value": upper,
        "n_eval": n_eval,
    }
    return float(upper), gram, info


def _cvxpy_bound(
    Ms: FloatArray, solver: str, tol: float
) -> tuple[float, FloatArray | None, dict[str, object]]:
    """Dual SDP through cvxpy (Clarabel or SCS) on a scaled ``M``, certified in numpy."""
    n = Ms.shape[0]
    gamma = cp.Variable()
    lam = cp.Variable(n)
    Q = cp.bmat(
        [
            [cp.reshape(gamma, (1, 1), order="F"), -0.5 * cp.reshape(lam, (1, n), order="F")],
            [-0.5 * cp.reshape(lam, (n, 1), order="F"), cp.diag(lam) - Ms],
        ]
    )
    con = 0.5 * (Q + Q.T) >> 0
    prob = cp.Problem(cp.Minimize(gamma), [con])
    raw = "not_run"
    try:
        if solver == "clarabel":
            prob.solve(
                solver=cp.CLARABEL, tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol, max_iter=200
            )
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                prob.solve(solver=cp.SCS, eps=max(tol, 1e-9), max_iters=20000)
        raw = str(prob.status)
    except cp.error.SolverError as exc:
        raw = f"solver_error: {exc}"
    info: dict[str, object] = {"raw_status": raw}
    if gamma.value is None or lam.value is None:
        info["status"] = "error"
        return float("inf"), None, info
    g = float(gamma.value)
    lv = np.asarray(lam.value, dtype=np.float64).reshape(n)
    Qn = np.empty((n + 1, n + 1))
    Qn[0, 0] = g
    Qn[0, 1:] = Qn[1:, 0] = -0.5 * lv
    Qn[1:, 1:] = np.diag(lv) - Ms
    eig_min = float(np.linalg.eigvalsh(Qn)[0])
    # eigvalsh is backward stable (error <~ c N eps ||Q||); add that as a margin.
    margin = 8.0 * (n + 1) * np.finfo(float).eps * float(np.abs(Qn).sum())
    e = max(0.0, -eig_min) + margin
    info["status"] = (
        "optimal" if raw == cp.OPTIMAL else ("inaccurate" if "inaccurate" in raw else "error")
    )
    info["sdp_value"] = g
    info["psd_correction"] = e * (n + 1)
    gram = None
    if con.dual_value is not None:
        Y = np.asarray(con.dual_value, dtype=np.float64)
        if Y[0, 0] > 0:
            Y = 0.5 * (Y + Y.T) / Y[0, 0]
            T = np.zeros((n + 1, n + 1))
            T[0, 0] = 1.0
            T[1:, 0] = -1.0
            T[1:, 1:] = 2.0 * np.eye(n)
            gram = T @ Y @ T.T
    return g + e * (n + 1), gram, info


def gw_rounding(
    M: FloatArray,
    gram: FloatArray | None,
    rng: np.random.Generator,
    n_rounds: int = 64,
) -> tuple[float, np.ndarray]:
    """Goemans-Williamson hyperplane rounding plus 1-flip ascent (a lower bound), §3.4.

    ``gram`` is the SDP matrix in ``+-1`` coordinates ``z = (sigma_0, sigma)`` (from
    :func:`sdp_upper_bound`); it is factored and cut by ``n_rounds`` Gaussian hyperplanes,
    ``s_i = 1[sign(sigma_i) = sign(sigma_0)]``. Each candidate is improved by greedy single
    flips. Without ``gram``, random binary starts are used.

    Returns
    -------
    value : float
        ``s^T M s`` of the best vector found (a value attained, so a valid lower bound).
    s : bool ndarray (n,)
    """
    M = _check_symmetric(M)
    n = M.shape[0]
    if gram is not None:
        w, Vec = np.linalg.eigh(0.5 * (gram + gram.T))
        F = Vec * np.sqrt(np.clip(w, 0.0, None))
        R = rng.standard_normal((n + 1, n_rounds))
        sig = F @ R >= 0
        S = sig[1:] == sig[0][None, :]
        # The SDP's own first-order guess s_i = (1 + G_0i)/2, thresholded.
        p = np.clip(0.5 * (1.0 + gram[0, 1:]), 0.0, 1.0)
        S = np.concatenate([S, p[:, None] >= 0.5], axis=1)
    else:
        S = rng.random((n, 2 * n_rounds)) < 0.5
    S = _one_flip_ascent(M, S.astype(np.float64))
    vals = np.einsum("ik,ij,jk->k", S, M, S)
    k = int(np.argmax(vals))
    s = S[:, k].astype(bool)
    sf = s.astype(np.float64)
    return float(sf @ M @ sf), s


def max_binary_quadratic(
    M: FloatArray,
    rng: np.random.Generator,
    *,
    exact_max_n: int = EXACT_MAX_N,
    solver: str = "spectral",
    n_rounds: int = 64,
) -> BinaryQuadResult:
    """``max_{s in {0,1}^n} s^T M s``: exact for ``n <= exact_max_n``, else SDP bracket.

    THEORY.md §3.4 and Part D bound 3. ``method`` is ``"exact"`` or ``"sdp_upper"``; in the
    latter case ``value`` is the certified SDP upper bound and ``lower`` the rounding value.
    """
    M = _check_symmetric(M)
    n = M.shape[0]
    t0 = time.perf_counter()
    if n == 0:
        return BinaryQuadResult(0.0, "exact", 0.0, 0.0, np.zeros(0, bool), 0.0)
    if n <= min(exact_max_n, _EXACT_HARD_LIMIT):
        value, s = max_binary_quadratic_exact(M)
        margin = _rounding_margin(M)
        return BinaryQuadResult(
            value=value,
            method="exact",
            lower=value,
            upper=value + margin,
            s=s,
            time_s=time.perf_counter() - t0,
        )
    upper, gram, info = sdp_upper_bound(M, solver=solver)
    lower, s = gw_rounding(M, gram, rng, n_rounds=n_rounds)
    upper = max(upper, lower)  # the rounding value is attained; the max cannot be below it
    return BinaryQuadResult(
        value=upper,
        method="sdp_upper",
        lower=lower,
        upper=upper,
        s=s,
        time_s=time.perf_counter() - t0,
        extra=info,
    )


def maxcut_value(
    X: FloatArray,
    y: FloatArray,
    rng: np.random.Generator,
    *,
    exact_max_n: int = EXACT_MAX_N,
    solver: str = "spectral",
) -> BinaryQuadResult:
    """``max_s s^T diag(y) X X^T diag(y) s`` (THEORY.md §3.4, the P7 right-hand side).

    Only samples with ``y_i != 0`` matter (others give zero rows of ``M``), so they are
    dropped before choosing between enumeration and the SDP; the returned ``s`` has the full
    length ``n``.
    """
    keep = y != 0
    res = max_binary_quadratic(
        maxcut_matrix(X[keep], y[keep]), rng, exact_max_n=exact_max_n, solver=solver
    )
    s = np.zeros(y.shape[0], dtype=bool)
    s[keep] = res.s
    return BinaryQuadResult(res.value, res.method, res.lower, res.upper, s, res.time_s, res.extra)


# --------------------------------------------------------------------------- private
def _check_symmetric(M: FloatArray) -> FloatArray:
    M = np.asarray(M, dtype=np.float64)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise InputError(f"M must be a square 2-D array; got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise InputError("M contains NaN or infinite values")
    if not np.allclose(M, M.T, rtol=1e-12, atol=1e-12 * max(1.0, float(np.abs(M).max(initial=0)))):
        raise InputError("M must be symmetric")
    return 0.5 * (M + M.T)


def _all_binary(k: int) -> FloatArray:
    """All ``2^k`` binary vectors as rows of a (2^k, k) float array."""
    codes = np.arange(1 << k, dtype=np.int64)
    return ((codes[:, None] >> np.arange(k)) & 1).astype(np.float64)


def _rounding_margin(M: FloatArray) -> float:
    """Bound on the floating-point error of an evaluated ``s^T M s`` (a few ulps per term)."""
    n = M.shape[0]
    return float(4.0 * (n + 2) * np.finfo(float).eps * np.abs(M).sum())


def _one_flip_ascent(M: FloatArray, S: FloatArray, max_sweeps: int = 1000) -> FloatArray:
    """Greedy best single flip on every column of ``S`` (n, k) until no flip improves."""
    diag = np.diag(M)
    S = S.copy()
    cols = np.arange(S.shape[1])
    for _ in range(max_sweeps):
        MS = M @ S
        delta = 1.0 - 2.0 * S
        gain = 2.0 * delta * MS + delta * delta * diag[:, None]
        best = np.argmax(gain, axis=0)
        improve = gain[best, cols] > 1e-12 * (1.0 + np.abs(MS).max())
        if not improve.any():
            break
        c = cols[improve]
        S[best[improve], c] = 1.0 - S[best[improve], c]
    return S
