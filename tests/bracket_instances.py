"""Small enumerable instances shared by the certificate tests (imported, not collected)."""

from __future__ import annotations

import numpy as np

from harness import formulations as F
from harness.instances import gaussian_instance
from harness.patterns import enumerate_patterns


def labelled_instance(
    n: int, d: int, seed: int, labels: str, beta_rel: float = 0.1
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """(X, y, beta, all non-zero arrangement patterns) with beta = beta_rel * beta_max."""
    inst = gaussian_instance(n, d, seed, labels=labels, width=4, noise=0.1)
    D_all = enumerate_patterns(inst.X, cap=10**5)
    D_all = D_all[:, D_all.any(axis=0)]
    beta = beta_rel * F.beta_max(inst.X, inst.y, D_all)
    return inst.X, inst.y, beta, D_all
