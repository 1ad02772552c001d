"""Benchmark: FedLQR rounds vectorised over agents and realisations, against a per-agent loop.

On the authors' agents (``growing_agents(M)``, n = m = 3, one-point estimates of 5 rollouts
of 15 steps, L = 1), for each M and number R of realisations, measures rollouts per second of

1. the gradient estimates of one round: one batched ``estimate_gradient`` call for all R M
   agents, against R M calls on one-agent batches (the per-agent loop);
2. whole rounds (local steps, server average, safety check, exact per-agent costs of the
   server gain): ``run_fedlqr`` with ``replicas=R``, against the same rounds written as a loop
   over realisations and agents with ``Task`` methods.

Prints the rates and the ratios (vectorised / loop), and writes them as JSON to
``benchmarks/results/fedlqr.json``. Run from the repository root::

    .venv/bin/python benchmarks/fedlqr.py [--rounds 100] [--repeats 3]
"""

from __future__ import annotations

import argparse

import numpy as np

from harness import best_time, machine, write_results
from ltijepa.lqr import TaskBatch
from ltijepa.fedlqr.rounds import FedLQRConfig, run_fedlqr
from ltijepa.chapters.fedlqr import INITIAL_GAIN, growing_agents
from ltijepa.lqr.zeroth_order import estimate_gradient

#: (M agents, R realisations) measured.
SIZES = ((10, 1), (10, 20), (50, 20))


def estimate_kwargs(config: FedLQRConfig, rng) -> dict:
    return dict(estimator=config.gradient, radius=config.radius, samples=config.samples,
                horizon=config.horizon, rng=rng, skip_initial=config.skip_initial)


def loop_rounds(tasks, config: FedLQRConfig, replicas: int, rng) -> int:
    """``config.rounds`` FedLQR rounds, one realisation and one agent at a time; returns rollouts."""
    singles = [TaskBatch.from_tasks([task]) for task in tasks]
    K = [np.array(INITIAL_GAIN) for _ in range(replicas)]
    rollouts = 0
    for step in config.global_steps():
        for r in range(replicas):
            change = np.zeros_like(K[r])
            for single in singles:
                estimate = estimate_gradient(single, K[r], **estimate_kwargs(config, rng))
                change += -config.local_step * estimate.gradient[0] / len(tasks)
                rollouts += estimate.rollouts
            K[r] = K[r] + step * change
            for task in tasks:  # the history run_fedlqr keeps: radius and exact cost per agent
                if task.spectral_radius(K[r]) < 1:
                    task.cost(K[r])
    return rollouts


def measure(M: int, R: int, rounds: int, repeats: int) -> dict:
    tasks = growing_agents(M)
    config = FedLQRConfig(rounds=rounds)
    batch = TaskBatch.from_tasks(tasks * R)
    gains = np.repeat(INITIAL_GAIN[None], M * R, axis=0)
    rng = np.random.default_rng(0)
    per_round = M * R * config.samples
    t_estimate = best_time(lambda: estimate_gradient(batch, gains, **estimate_kwargs(config, rng)), repeats)
    singles = [TaskBatch.from_tasks([task]) for task in tasks * R]
    t_estimate_loop = best_time(
        lambda: [estimate_gradient(s, INITIAL_GAIN, **estimate_kwargs(config, rng)) for s in singles], repeats
    )
    t_rounds = best_time(lambda: run_fedlqr(tasks, INITIAL_GAIN, config, replicas=R, rng=rng), repeats)
    t_rounds_loop = best_time(lambda: loop_rounds(tasks, config, R, rng), repeats)
    rates = {
        "estimate_vectorised": per_round / t_estimate, "estimate_loop": per_round / t_estimate_loop,
        "rounds_vectorised": per_round * rounds / t_rounds, "rounds_loop": per_round * rounds / t_rounds_loop,
    }
    return {
        "M": M, "realisations": R, "rounds": rounds, "rollouts_per_round": per_round,
        "rollouts_per_second": rates,
        "ratio_estimate_vectorised_vs_loop": rates["estimate_vectorised"] / rates["estimate_loop"],
        "ratio_rounds_vectorised_vs_loop": rates["rounds_vectorised"] / rates["rounds_loop"],
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=100, help="rounds timed per run (default 100)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions, best kept (default 3)")
    args = parser.parse_args()
    rows = []
    print(f"rollouts per second (best of {args.repeats}; whole rounds: {args.rounds} rounds)")
    print(f"{'M':>4} {'R':>4} | {'estimate: vect.':>15} {'loop':>10} {'ratio':>7} | "
          f"{'rounds: vect.':>13} {'loop':>10} {'ratio':>7}")
    for M, R in SIZES:
        row = measure(M, R, args.rounds, args.repeats)
        rate = row["rollouts_per_second"]
        print(f"{M:>4} {R:>4} | {rate['estimate_vectorised']:>15.3g} {rate['estimate_loop']:>10.3g} "
              f"{row['ratio_estimate_vectorised_vs_loop']:>6.1f}x | {rate['rounds_vectorised']:>13.3g} "
              f"{rate['rounds_loop']:>10.3g} {row['ratio_rounds_vectorised_vs_loop']:>6.1f}x")
        rows.append(row)
    result = {
        "rows": rows, "repeats": args.repeats,
        "machine": machine(),
    }
    write_results("fedlqr", result)
    return result


if __name__ == "__main__":
    main()
