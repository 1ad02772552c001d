"""Benchmark: all pairwise gradient-space bisimulation bounds b_ij(K) of M unicycle tasks
(:mod:`ltijepa.multitask.gradient_bounds`), the pair's conic data handed to Clarabel directly
against the compiled cvxpy program, and that against programs rebuilt for every pair or solve.

For M = 20 unicycles (the talk's sampling law) there are M (M - 1) / 2 = 190 pairs, each one
LMI problem per value of lam. At the common stabilizing gain K of the collection we time

1. ``pairwise_bisimulation_bounds(tasks, K)`` (the library's default,
   ``BisimConfig(solver="clarabel")``): per pair the N x N conic data of
   :mod:`~ltijepa.multitask.pair_lmi`, only 1 - lam changing between Clarabel solves;
2. ``BisimConfig(solver="cvxpy")`` with ``program=compiled``: one parameterised program
   (cvxpy DPP), built once, its Parameters reset for every pair and every lam (the reference,
   the library's way before the direct data);
3. (``--rebuilt``) the cvxpy program built anew for every pair (cvxpy then canonicalises and
   compiles the problem once per pair), and, for the lam search, for every single solve, as an
   implementation without Parameters does (the authors' LQG code builds its problem for every
   lam);

for a fixed lam (one solve per pair) and for the lam search of the chapter (grid + golden
section, about 13 solves per pair with the default ``--refine 4``). Prints the times, the
ratio of each way against the compiled cvxpy program (new / old) and the largest relative
difference of the certified bounds over the pairs, and writes JSON to
``benchmarks/results/gradient_bounds.json``. The difference is the solvers' error, mostly the
reference's: against solves at tolerance 1e-11 (190 unicycle pairs, seed 0) the direct way's
certified bounds were within 7e-7 (lam search) and 5e-6 (fixed lam), the cvxpy way's within
4e-6 and 2e-3. Run from the repository root::

    .venv/bin/python benchmarks/gradient_bounds.py [--tasks 20] [--seed 0] [--refine 4] [--rebuilt]
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # as the book pipeline runs: one BLAS thread

import argparse  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402

import cvxpy as cp  # noqa: E402
import numpy as np  # noqa: E402

from harness import machine, write_results  # noqa: E402

from ltijepa.lqr.families import sample_unicycles  # noqa: E402
from ltijepa.multitask.gradient_bounds import (  # noqa: E402
    BisimConfig,
    bisimulation_bound,
    build_bisimulation_program,
    pairwise_bisimulation_bounds,
)
from ltijepa.multitask.objective import find_common_stabilizer  # noqa: E402


REFERENCE = "cvxpy compiled once"


def direct(tasks, K, config):
    """All pairs, each pair's conic data handed to Clarabel (the library's default)."""
    return pairwise_bisimulation_bounds(tasks, K, config=replace(config, solver="clarabel")).b


def compiled(tasks, K, config):
    """All pairs, re-solving one cvxpy program compiled once (the reference)."""
    config = replace(config, solver="cvxpy")
    program = build_bisimulation_program(tasks[0].n, tasks[0].m, s_min=config.s_min)
    return pairwise_bisimulation_bounds(tasks, K, config=config, program=program).b


def rebuilt(tasks, K, config):
    """All pairs, building (and so compiling) a new cvxpy program for every pair."""
    config = replace(config, solver="cvxpy")
    M = len(tasks)
    b = np.zeros((M, M))
    for i in range(M):
        for j in range(i + 1, M):
            program = build_bisimulation_program(tasks[0].n, tasks[0].m, s_min=config.s_min)
            b[i, j] = b[j, i] = bisimulation_bound(tasks[i], tasks[j], K, config=config, program=program).value
    return b


class RebuiltEverySolve:
    """A program that is built anew before every solve (what a non-parameterised
    implementation does: the authors' LQG code builds its problem for every lam)."""

    def __init__(self, n: int, p: int, s_min: float):
        self.n, self.p, self.s_min = n, p, s_min
        self.inner = build_bisimulation_program(n, p, s_min=s_min)

    def __getattr__(self, name):  # A, C, Z0, one_minus_lam, M, u, problem of the current build
        return getattr(self.__dict__["inner"], name)

    def solve(self) -> str:
        names = ("A", "C", "Z0", "one_minus_lam")
        values = [getattr(self.inner, name).value for name in names]
        self.inner = build_bisimulation_program(self.n, self.p, s_min=self.s_min)
        for name, value in zip(names, values):
            getattr(self.inner, name).value = value
        return self.inner.solve()


def rebuilt_every_solve(tasks, K, config):
    """All pairs, building a new cvxpy program for every single solve."""
    program = RebuiltEverySolve(tasks[0].n, tasks[0].m, config.s_min)
    return pairwise_bisimulation_bounds(tasks, K, config=replace(config, solver="cvxpy"), program=program).b


def relative_difference(b, reference):
    """Largest relative difference over the pairs both ways found feasible (b is inf where a
    pair is infeasible; near the edge of feasibility the two ways may disagree)."""
    both = np.isfinite(b) & np.isfinite(reference) & (reference > 0)
    return float(np.max(np.abs(b[both] - reference[both]) / reference[both]))


def timed(function, *args):
    start = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - start, value


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=20, help="number of unicycle tasks M (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--refine", type=int, default=4, help="golden-section steps of the lam search (default 4)")
    parser.add_argument("--rebuilt", action="store_true",
                        help="also time cvxpy programs rebuilt per pair and per solve (slow)")
    args = parser.parse_args()

    tasks = sample_unicycles(args.tasks, args.seed)
    start = find_common_stabilizer(tasks)
    pairs = args.tasks * (args.tasks - 1) // 2
    result = {"tasks": args.tasks, "pairs": pairs, "seed": args.seed, "gain": start.method, "modes": {}}
    print(f"{args.tasks} unicycle tasks, {pairs} pairs, K from {start.method} (max rho {start.rho.max():.4f})")
    upper = np.triu_indices(args.tasks, 1)
    ways = {"direct clarabel": direct, REFERENCE: compiled}
    if args.rebuilt:
        ways |= {"cvxpy rebuilt per pair": rebuilt, "cvxpy rebuilt per solve": rebuilt_every_solve}
    for mode, config in (("fixed_lambda", BisimConfig(lam_fraction=0.9)),
                         ("lambda_search", BisimConfig(refine=args.refine))):
        # with a fixed lam every pair is one solve: per pair and per solve are the same
        names = [name for name in ways if mode == "lambda_search" or name != "cvxpy rebuilt per solve"]
        times, bounds = {}, {}
        for name in names:  # warm-up: imports, solver libraries and cvxpy caches load once
            ways[name](tasks[:2], start.K, config)
        for name in names:
            times[name], b = timed(ways[name], tasks, start.K, config)
            bounds[name] = b[upper]
        entry = {}
        line = f"  {mode}:"
        for name in names:
            key = name.replace(" ", "_")
            entry[f"{key}_feasible_pairs"] = int(np.isfinite(bounds[name]).sum())
            entry[f"{key}_s"] = times[name]
            entry[f"{key}_per_pair_ms"] = 1e3 * times[name] / pairs
            entry[f"ratio_{key}_vs_compiled"] = times[name] / times[REFERENCE]
            entry[f"max_relative_difference_{key}"] = relative_difference(bounds[name], bounds[REFERENCE])
            line += (f"\n    {name:23s} {times[name]:7.2f} s ({1e3 * times[name] / pairs:6.1f} ms/pair)"
                     f"  ratio new/old vs {REFERENCE} x{times[name] / times[REFERENCE]:.3f}"
                     f"  feasible {entry[f'{key}_feasible_pairs']}/{pairs}"
                     f"  max rel. difference {entry[f'max_relative_difference_{key}']:.1e}")
        result["modes"][mode] = entry
        print(line)
    result["machine"] = machine(cvxpy=cp.__version__, blas_threads=os.environ["OPENBLAS_NUM_THREADS"])
    write_results("gradient_bounds", result)
    return result


if __name__ == "__main__":
    main()
