"""Benchmark of the differentiable LQR: forward + backward of solve_lqr against its peers.

For horizons T = 10, 50 and batches B = 1, 64, 1024 of random problems (n = 4 states, m = 2
controls, float64), one forward pass and one backward pass of the probe loss
``<W, tau> + 1/2 ||tau||^2``, timed (best of ``--repeats``) for

1. ``solve_lqr`` (ours: Riccati forward, Module 1 backward reusing the factorisations);
2. ``unrolled_lqr`` (autograd through the same recursion);
3. mpc.pytorch 0.0.6 (``mpc.MPC`` with ``lqr_iter=1``, analytic gradients; the authors' library);
4. cvxpylayers 1.2.0 (the QP through diffcp and SCS, dense derivative). It solves one cone
   program per problem (about 0.06 s at T = 10 and 0.5 s at T = 50 on one idle core), so it is
   timed once per size and only where B * T <= ``--cvxpylayers-max-work`` (default 10240: every
   size but T = 50, B = 1024, which would take about 9 minutes: 1024 cone programs).

The peers are called through :mod:`ltijepa.testing.peers` (their layout, the warnings they raise
under torch 2.13). Prints seconds and the ratio peer / ours per size, measured in one run on one
thread, and writes ``benchmarks/results/diffcontrol.json``. Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/diffcontrol.py [--repeats 3]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402

import torch  # noqa: E402

from harness import best_time, machine, write_results  # noqa: E402
from ltijepa.diffcontrol import probe_gradients, random_lqr_problem, solve_lqr, unrolled_lqr  # noqa: E402
from ltijepa.testing.peers import cvxpylayers_lqr, mpc_pytorch_lqr  # noqa: E402

HORIZONS = (10, 50)
BATCHES = (1, 64, 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timings per method and size (best is kept)")
    parser.add_argument("--n", type=int, default=4, help="states")
    parser.add_argument("--m", type=int, default=2, help="controls")
    parser.add_argument("--cvxpylayers-max-work", type=int, default=HORIZONS[0] * BATCHES[-1],
                        help="largest batch * horizon given to cvxpylayers")
    args = parser.parse_args()
    torch.set_num_threads(1)
    methods = {
        "ours": lambda p, w: probe_gradients(solve_lqr, p, w),
        "unrolled autograd": lambda p, w: probe_gradients(unrolled_lqr, p, w),
        "mpc.pytorch": mpc_pytorch_lqr,
        "cvxpylayers": cvxpylayers_lqr,
    }
    rows = []
    print(f"{'T':>3} {'B':>5}  " + "  ".join(f"{name:>22}" for name in methods))
    for T in HORIZONS:
        for B in BATCHES:
            problem = random_lqr_problem(B, T, args.n, args.m, rng=T * 10_000 + B)
            weights = torch.randn(problem.c.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(B))
            times = {}
            for name, method in methods.items():
                if name == "cvxpylayers" and B * T > args.cvxpylayers_max_work:
                    continue
                repeats = 1 if name == "cvxpylayers" else args.repeats
                times[name] = best_time(lambda: method(problem, weights), repeats)
            ratios = {name: t / times["ours"] for name, t in times.items()}
            rows.append({"T": T, "B": B, "seconds": times, "ratio_to_ours": ratios})
            cells = [f"{times[n]:9.4f} s ({ratios[n]:6.2f}x)" if n in times else f"{'skipped':>22}" for n in methods]
            print(f"{T:>3} {B:>5}  " + "  ".join(cells))
    write_results("diffcontrol", {
        "machine": machine(torch=torch.__version__, threads=torch.get_num_threads()),
        "n": args.n, "m": args.m, "repeats": args.repeats, "rows": rows,
        "note": "ratio_to_ours = method time / solve_lqr time, forward + backward, measured in one run",
    })


if __name__ == "__main__":
    main()
