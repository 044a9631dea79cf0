"""Probe for P16 (THEORY.md Thm 2.5): can a local method meet (A2) AND reach a stationary point?

Not a benchmark and not a test: it prints, for one (A1) instance at Thm 2.5's width
(m = 2 P_rule, P_rule = ceil(8 kappa log(n/delta))), how far each local method's final loss
L is above p_cvx(D') (the ReLU program (3) on its final patterns; 0 at a stationary point,
Wang et al. 2021) and the fraction of neurons that keep their initial pattern ((A2) needs
>= 1/2). Methods: GD with Armijo backtracking from the stationary spec's initialisation
(u ~ N(0, I/d), alpha ~ N(0, 1/m)) and from a small one, and Adam with the paper spec's
decaying step. Quoted in the README (P16, paper scale) and experiments/stationary.toml.

    OMP_NUM_THREADS=1 python benchmarks/probe_p16_methods.py --n 20 --d 10 --inits 3
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from harness import formulations as F
from harness.diagnostics.kappa import chernoff_pattern_count, kappa
from harness.instances import gaussian_instance
from harness.nonconvex import final_patterns, train_network
from harness.patterns import dedupe_patterns
from harness.solvers.registry import solve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--d", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1, help="instance seed")
    ap.add_argument("--inits", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5000)
    a = ap.parse_args()
    inst = gaussian_instance(a.n, a.d, np.random.SeedSequence(a.seed), "planted", 5, noise=0.1)
    X, y = inst.X, inst.y
    rng = np.random.default_rng(0)
    g = X.T @ y
    H = np.concatenate([rng.standard_normal((a.d, 2000)), g[:, None], -g[:, None]], axis=1)
    beta = 0.1 * F.beta_max(X, y, (X @ H) >= 0)  # 0.1 beta_max (sampled), as the spec
    m = max(128, 2 * chernoff_pattern_count(kappa(X), a.n, 0.1))
    print(f"n={a.n} d={a.d} m={m} beta={beta:.4g} steps={a.steps}")
    small = 1.0 / math.sqrt(m)
    methods = [
        ("gd, spec init", {"method": "gd"}),
        (f"gd, init_scale {small:.3g}", {"method": "gd", "init_scale": small}),
        ("adam 1e-2/(1+t/1000)", {"method": "adam", "lr": 1e-2, "lr_decay": 1000.0}),
    ]
    print("method | init | stop | L(0) | L | (L - p_cvx(D'))/L | frac_neuron kept | s")
    for name, kw in methods:
        for k in range(a.inits):
            t0 = time.perf_counter()
            run = train_network(
                X, y, beta, m, np.random.default_rng(100 + k), n_steps=a.steps,
                record_patterns_at=[0], **kw,
            )  # fmt: skip
            D_fin = final_patterns(X, run.U)
            Dp, _ = dedupe_patterns(D_fin)
            res = solve("relu", X, y, Dp, beta, solver="fast", tol=1e-8)
            gap = (run.objective - res.objective) / run.objective
            kept = float((D_fin == run.pattern_log[0]).all(axis=0).mean())
            print(
                f"{name} | {k} | {run.stop_reason} | {run.losses[0]:.4g} | {run.objective:.5g} | "
                f"{gap:.4f} ({res.status}) | {kept:.3f} | {time.perf_counter() - t0:.1f}"
            )


if __name__ == "__main__":
    main()
