"""ReLU (3) column generation: warm-started against cold-started restricted IPM rounds.

Runs :func:`harness.solvers.relu_cg.solve_relu_cg` with ``warm_ipm=True`` and ``False``
alternately in one process (warm, cold, warm, cold) on the planted instance of
``bench_relu_regimes.py`` (n = 500, d = 20, P = 100) at the given ``beta / beta_max``, and
prints time, IPM iterations (total and per pricing round), rounds, objective, certified
relative gap and the 1-minute load average. Nothing is asserted; compare rows of one run.

Usage: ``OMP_NUM_THREADS=1 python benchmarks/bench_relu_warm.py [--betas 0.02 0.005]
[--repeats 2]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_relu_regimes import _instance

from harness import formulations as F
from harness.solvers.relu_cg import solve_relu_cg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--betas", type=float, nargs="+", default=[0.02, 0.005])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    X, y, D = _instance(500, 20, 100)
    beta_max = F.beta_max(X, y, D)
    for rel in args.betas:
        for _ in range(args.repeats):
            for warm in (True, False):
                t0 = time.perf_counter()
                res = solve_relu_cg(X, y, D, rel * beta_max, tol=1e-8, warm_ipm=warm)
                elapsed = time.perf_counter() - t0
                extra = res.extra
                print(
                    f"beta={rel:g} beta_max {'warm' if warm else 'cold'} time={elapsed:.2f}s "
                    f"ipm_iters={res.n_iter} rounds={extra['n_rounds']} "
                    f"objective={res.objective:.12e} "
                    f"gap={res.duality_gap / res.objective:.1e} {res.status} "
                    f"per_round={extra['round_iters']} load1={os.getloadavg()[0]:.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
