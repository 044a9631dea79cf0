"""Maps between (13) and (5): Prop. 1 / A.5 and the forward map (THEORY.md Part B).

Formulas and proofs are in the :mod:`harness.deep` docstring ("Prop. 1 mapping" and
"Forward map"); ``tests/test_deep_mapping.py`` checks them numerically.
"""

from __future__ import annotations

import numpy as np

from harness.deep.arrangements import Arrangements, covering_blocks, subnet_factors
from harness.deep.convex import Program13
from harness.deep.model import FloatArray, ParallelNet


def blocks_to_network(prog: Program13, Z: FloatArray, arr: Arrangements) -> ParallelNet:
    """Prop. 1: one sub-network per nonzero block of ``Z`` (d, G) (exact zeros skipped).

    ``w_1q = u_q / sqrt(t ||u_q||)``, ``w_2q = s_q sqrt(||u_q||)``, ``w_3 = sigma sqrt(t)``
    with ``t = sum_q ||u_q||``; ``||W_1||_F = 1`` for every mapped sub-network.
    """
    d = Z.shape[0]
    m1 = prog.m1
    U = Z.T.reshape(2, prog.B, m1, d)
    norms = np.linalg.norm(U, axis=3)  # (2, B, m1)
    t = norms.sum(axis=2)  # (2, B)
    sig_idx, blk_idx = np.nonzero(t > 0)
    if sig_idx.size == 0:
        return ParallelNet(np.zeros((1, d, m1)), np.zeros((1, m1)), np.zeros(1))
    u = U[sig_idx, blk_idx]  # (K, m1, d)
    nu = norms[sig_idx, blk_idx]  # (K, m1)
    tk = t[sig_idx, blk_idx]  # (K,)
    denom = np.sqrt(tk[:, None] * nu)
    W1 = np.where(nu[:, :, None] > 0, u / np.where(denom > 0, denom, 1.0)[:, :, None], 0.0)
    w2 = arr.signs[blk_idx] * np.sqrt(nu)
    sigma = np.where(sig_idx == 0, 1.0, -1.0)
    w3 = sigma * np.sqrt(tk)
    return ParallelNet(np.transpose(W1, (0, 2, 1)).copy(), w2, w3)


def network_to_blocks(
    net: ParallelNet, X: FloatArray, prog: Program13, arr: Arrangements, rtol: float = 1e-9
) -> tuple[FloatArray, np.ndarray]:
    """Forward map (5) -> (13): ``(Z, blocks)``; ``blocks[k] = -1`` marks an uncovered
    sub-network (then ``Z`` omits it and is *not* a certificate), ``-2`` a zero-output one.

    Sub-network ``k`` in block ``b`` adds ``u_q = |w_3k| |w_2kq| w_1kq`` to the groups of
    ``(sigma = sign(w_3k), b)``.
    """
    blocks = covering_blocks(net, X, arr, rtol)
    V, _ = subnet_factors(net)
    d, m1 = net.d, net.m1
    U = np.zeros((2, prog.B, m1, d))
    for k in np.flatnonzero(blocks >= 0):  # one add per sub-network (K is small)
        sig = 0 if net.w3[k] > 0 else 1
        U[sig, blocks[k]] += abs(net.w3[k]) * V[k]
    return U.reshape(2 * prog.B * m1, d).T.copy(), blocks
