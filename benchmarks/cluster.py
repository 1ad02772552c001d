"""Benchmark: a ci-sized chapter sweep through ``ltijepa.parallel.map`` on Dask, 1 vs 2 workers.

The sweep is the FedLQR chapter's heterogeneity study at the ci profile's size (M = 10 agents,
2 realisations of 5000 rounds per level; ``HeterogeneityExperiment.run_one``), with ``--items``
levels. It runs on a ``distributed.LocalCluster`` of 1 and of 2 worker processes (one thread
each) and, for the overhead, in this process (a plain loop) and in 2 local processes. Prints

1. the wall times and the ratio (1 worker) / (2 workers): the speed-up a second worker gives;
2. the overhead per task of the cluster against local processes, (t_cluster - t_local) / items
   with 2 of each, and on no-op tasks (the cost of submitting and gathering one task). The local
   processes' times include starting the pool (spawn and import), as every call of
   ``parallel.map`` does; the cluster's exclude starting the cluster, which runs already;

checks that every run gave the same histories, and writes ``benchmarks/results/cluster.json``.
Run from the repository root::

    .venv/bin/python benchmarks/cluster.py [--items 4] [--rounds 5000] [--repeats 1]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from functools import partial

import numpy as np

from harness import best_time, machine, write_results
from ltijepa import parallel
from ltijepa.chapters.fedlqr import Config

#: No-op tasks timed for the pure per-task overhead.
NOOPS = 40


def sweep(items: int, rounds: int):
    """``(fn, levels)`` of the ci heterogeneity sweep with ``items`` levels in [0, 0.5]."""
    experiment = Config.for_profile("ci").heterogeneity
    experiment = replace(experiment, levels=tuple(np.linspace(0.0, 0.5, items)),
                         config=replace(experiment.config, rounds=rounds))
    return partial(experiment.run_one, weights=experiment.weights(0)), list(experiment.levels)


def on_cluster(workers: int, fn, items, repeats: int) -> tuple[float, float, list]:
    """Seconds of the sweep and of :data:`NOOPS` no-op tasks on a cluster of ``workers``, and the results."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        results = []
        seconds = best_time(lambda: results.append(parallel.map(fn, items, seed=0, scheduler=cluster.scheduler_address)), repeats)
        noop = best_time(lambda: parallel.map(abs, range(NOOPS), scheduler=cluster.scheduler_address), repeats)
    return seconds, noop, results[-1]


def same(a: list, b: list) -> bool:
    return all(np.array_equal(x.server_gains, y.server_gains) and np.array_equal(x.costs, y.costs) for x, y in zip(a, b))


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=4, help="heterogeneity levels, one task each (default 4)")
    parser.add_argument("--rounds", type=int, default=5000, help="FedLQR rounds per run (default 5000, the ci size)")
    parser.add_argument("--repeats", type=int, default=1, help="timed repetitions, best kept (default 1)")
    args = parser.parse_args()
    fn, items = sweep(args.items, args.rounds)

    runs = {}
    t_loop = best_time(lambda: runs.__setitem__("loop", parallel.map(fn, items, seed=0, processes=1)), args.repeats)
    t_local = best_time(lambda: runs.__setitem__("local", parallel.map(fn, items, seed=0, processes=2)), args.repeats)
    t_noop_local = best_time(lambda: parallel.map(abs, range(NOOPS), processes=2), args.repeats)
    t_one, t_noop_one, runs["one worker"] = on_cluster(1, fn, items, args.repeats)
    t_two, t_noop_two, runs["two workers"] = on_cluster(2, fn, items, args.repeats)
    identical = all(same(runs["loop"], result) for result in runs.values())

    result = {
        "items": len(items), "rounds": args.rounds, "repeats": args.repeats,
        "seconds": {"loop": t_loop, "local_2_processes": t_local, "cluster_1_worker": t_one, "cluster_2_workers": t_two},
        "ratio_1_vs_2_workers": t_one / t_two,
        "overhead_per_task_seconds": (t_two - t_local) / len(items),
        "noop_seconds_per_task": {"local_2_processes": t_noop_local / NOOPS, "cluster_2_workers": t_noop_two / NOOPS,
                                  "cluster_1_worker": t_noop_one / NOOPS},
        "identical_results": identical,
        "machine": machine(),
    }
    print(f"sweep of {len(items)} FedLQR runs (M = 10, 2 realisations, {args.rounds} rounds), best of {args.repeats}")
    for name, seconds in result["seconds"].items():
        print(f"  {name:<20} {seconds:8.2f} s")
    print(f"ratio 1 worker / 2 workers: {result['ratio_1_vs_2_workers']:.2f}x")
    print(f"overhead per task, cluster vs local processes (2 each): {result['overhead_per_task_seconds'] * 1e3:.0f} ms "
          f"(no-op tasks: {t_noop_two / NOOPS * 1e3:.1f} ms vs {t_noop_local / NOOPS * 1e3:.1f} ms)")
    print(f"identical results everywhere: {identical}")
    write_results("cluster", result)
    if not identical:
        raise SystemExit("the sweep's results differ between runs: parallel.map is not reproducible")
    return result


if __name__ == "__main__":
    main()
