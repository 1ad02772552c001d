"""Benchmark: LQR cost and gradient for many tasks, batched against a per-task loop.

Measures, on M random stabilizable tasks (default M = 1000, n = 4, m = 2), one gain per task:

1. ``TaskBatch.cost_and_gradient`` (batched Kronecker Lyapunov solves) against a loop of
   ``Task.cost`` + ``Task.gradient`` over the tasks (scipy per task), and the largest
   relative difference between the two;
2. the per-task time of the batched cost against python-control's ``dlqr`` per task (the
   DARE solve a model-based user would run instead; timed on the first 100 tasks);
3. a zeroth-order two-point gradient estimate for all tasks (``estimate_gradient``).

Prints the times and the ratios, and writes them as JSON to
``benchmarks/results/lqr_batched.json``. Run from the repository root::

    .venv/bin/python benchmarks/lqr_batched.py [--tasks 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse

import numpy as np

from harness import best_time, machine, write_results
from ltijepa.lqr import TaskBatch
from ltijepa.lqr.families import random_stabilizable
from ltijepa.lqr.zeroth_order import estimate_gradient

#: python-control's dlqr takes ~10 ms a task: it is timed on this many tasks only.
M_DLQR = 100


def make_problem(M: int, n: int, m: int, seed: int):
    """M random stabilizable tasks (open-loop spectral radius 1.2) and a stabilizing gain each."""
    rng = np.random.default_rng(seed)
    task_rng, gain_rng = rng.spawn(2)
    tasks = [random_stabilizable(n, m, task_rng) for _ in range(M)]
    batch = TaskBatch.from_tasks(tasks)
    gains = batch.optimal_gains() + 0.01 * gain_rng.standard_normal((M, m, n))
    if not batch.is_stabilizing(gains).all():
        raise RuntimeError("a perturbed optimal gain is not stabilizing; change --seed")
    return tasks, batch, gains


def loop_cost_and_gradient(tasks, gains):
    """The baseline: Task.cost and Task.gradient, one task after the other."""
    return (
        np.array([task.cost(K) for task, K in zip(tasks, gains)]),
        np.stack([task.gradient(K) for task, K in zip(tasks, gains)]),
    )


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=1000, help="number of tasks M (default 1000)")
    parser.add_argument("--n", type=int, default=4, help="state dimension (default 4)")
    parser.add_argument("--m", type=int, default=2, help="input dimension (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions, best kept (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import control  # a test/benchmark dependency only

    tasks, batch, gains = make_problem(args.tasks, args.n, args.m, args.seed)
    cost_loop, grad_loop = loop_cost_and_gradient(tasks, gains)
    cost_batch, grad_batch = batch.cost_and_gradient(gains)
    cost_error = float(np.max(np.abs(cost_batch - cost_loop) / cost_loop))
    grad_error = float(np.max(np.linalg.norm(grad_batch - grad_loop, axis=(1, 2)) / np.linalg.norm(grad_loop, axis=(1, 2))))

    t_loop = best_time(lambda: loop_cost_and_gradient(tasks, gains), args.repeats)
    t_batch = best_time(lambda: batch.cost_and_gradient(gains), args.repeats)
    t_batch_cost = best_time(lambda: batch.cost(gains), args.repeats)
    subset = tasks[: min(M_DLQR, len(tasks))]  # dlqr is slow: time it on a subset, per task
    t_dlqr = best_time(lambda: [control.dlqr(t.A, t.B, t.Q, t.R) for t in subset], args.repeats) / len(subset)
    t_zeroth = best_time(
        lambda: estimate_gradient(batch, gains, estimator="two_point", radius=0.01, samples=10, horizon=50, rng=0),
        args.repeats,
    )

    M = args.tasks
    result = {
        "tasks": M, "n": args.n, "m": args.m, "repeats": args.repeats, "seed": args.seed,
        "loop_cost_and_gradient_s": t_loop,
        "batched_cost_and_gradient_s": t_batch,
        "speedup_batched_vs_loop": t_loop / t_batch,
        "batched_cost_per_task_s": t_batch_cost / M,
        "dlqr_per_task_s": t_dlqr,
        "dlqr_timed_on_tasks": len(subset),
        "ratio_dlqr_vs_batched_cost_per_task": t_dlqr / (t_batch_cost / M),
        "zeroth_order_two_point_s": t_zeroth,
        "zeroth_order_rollouts": 2 * 10 * M,
        "max_relative_cost_difference": cost_error,
        "max_relative_gradient_difference": grad_error,
        "machine": machine(),
    }
    print(f"{M} tasks, n = {args.n}, m = {args.m} (best of {args.repeats})")
    print(f"  per-task loop, cost + gradient : {t_loop * 1e3:9.2f} ms")
    print(f"  batched, cost + gradient       : {t_batch * 1e3:9.2f} ms   speed-up x{t_loop / t_batch:.1f}")
    print(f"  batched cost, per task         : {t_batch_cost / M * 1e6:9.2f} us")
    print(f"  python-control dlqr, per task  : {t_dlqr * 1e6:9.2f} us   ratio dlqr / batched cost x{t_dlqr / (t_batch_cost / M):.1f}"
          f"  (dlqr timed on {len(subset)} tasks)")
    print(f"  two-point estimate (20 rollouts of 50 steps per task): {t_zeroth * 1e3:.2f} ms")
    print(f"  max relative difference batched vs loop: cost {cost_error:.2e}, gradient {grad_error:.2e}")
    write_results("lqr_batched", result)
    return result


if __name__ == "__main__":
    main()
