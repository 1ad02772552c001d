"""``ltijepa.parallel.map``: the same results as a plain loop, locally and on a real Dask cluster.

The cluster is real (``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, one of
them with a GPU resource); nothing is mocked.
"""

import numpy as np
import pytest

from ltijepa import parallel
from ltijepa.errors import ParameterError


def noisy_mean(scale: float, rng: np.random.Generator) -> float:
    """A seeded item: depends on its own generator only."""
    return float(scale * rng.standard_normal(1000).mean())


def where(item: int) -> tuple[int, str]:
    """The item and the address of the Dask worker that ran it."""
    import distributed

    return item, distributed.get_worker().address


def nested_sweep(seed: int) -> list[float]:
    """A Dask task that runs a sweep itself, through the client it runs under."""
    return parallel.map(noisy_mean, ITEMS, seed=seed)


def loop(seed, items):
    """The plain loop ``map`` must reproduce: ``Generator.spawn`` streams, one per item."""
    return [noisy_mean(x, rng) for x, rng in zip(items, np.random.default_rng(seed).spawn(len(items)))]


ITEMS = [0.5, 1.0, 2.0, 4.0, 8.0]


def test_item_generators_are_those_of_generator_spawn():
    ours = [rng.random(3) for rng in parallel.item_generators(7, 4)]
    spawned = [rng.random(3) for rng in np.random.default_rng(7).spawn(4)]
    assert all(np.array_equal(a, b) for a, b in zip(ours, spawned))


@pytest.mark.parametrize("processes", [1, 2])
def test_local_map_equals_the_plain_loop(processes):
    assert parallel.map(noisy_mean, ITEMS, seed=11, processes=processes) == loop(11, ITEMS)


def test_map_without_seed_calls_fn_with_the_item_alone():
    assert parallel.map(abs, [-3, 2, -1], processes=1) == [3, 2, 1]


def test_a_seed_of_none_and_bad_processes_are_refused():
    with pytest.raises(ParameterError, match="seed == None"):
        parallel.item_generators(None, 3)
    with pytest.raises(ParameterError, match="processes == 0"):
        parallel.map(abs, [1, 2], processes=0)


def test_unreachable_scheduler_is_named(unreachable_address):
    with pytest.raises(ParameterError, match=unreachable_address):
        parallel.map(abs, [1], scheduler=unreachable_address)


@pytest.mark.slow
def test_cluster_map_equals_the_plain_loop_and_honours_gpu_resources(dask_cluster, monkeypatch):
    cluster = dask_cluster(resources=["GPU=1", None])
    assert parallel.map(noisy_mean, ITEMS, seed=11, scheduler=cluster.address) == loop(11, ITEMS)

    # the address from the environment, and GPU items only on the worker that has a GPU
    gpu_worker = next(a for a, p in cluster.workers.items() if p.args[-1] == "GPU=1")
    monkeypatch.setenv(parallel.SCHEDULER_ENV, cluster.address)
    placed = parallel.map(where, range(6), resources={"GPU": 1})
    assert [item for item, _ in placed] == list(range(6))
    assert {worker for _, worker in placed} == {gpu_worker}
    free = parallel.map(where, range(6))
    assert [item for item, _ in free] == list(range(6))
    assert {worker for _, worker in free} <= set(cluster.workers)

    # two tasks hold both one-thread workers and each maps its own sweep: they secede, no deadlock
    assert parallel.map(nested_sweep, [1, 2]) == [loop(1, ITEMS), loop(2, ITEMS)]


def test_the_fedlqr_sweep_through_map_equals_its_former_loop():
    """``AgentsExperiment.run`` (through ``map``, 2 processes) gives the histories of the loop it
    replaced, bit for bit, so the chapter's claims are unchanged."""
    from dataclasses import replace

    from ltijepa.chapters import fedlqr
    from ltijepa.fedlqr.rounds import run_fedlqr

    experiment = fedlqr.Config.for_profile("ci").agents
    experiment = replace(experiment, realisations=2, config=replace(experiment.config, rounds=50))
    streams = np.random.default_rng(3).spawn(len(experiment.agents))
    before = {M: run_fedlqr(experiment.tasks(M), fedlqr.INITIAL_GAIN, experiment.config, replicas=2, rng=stream)
              for M, stream in zip(experiment.agents, streams)}
    after = experiment.run(3)
    assert list(after) == list(before)
    for M in before:
        assert np.array_equal(after[M].server_gains, before[M].server_gains)
        assert np.array_equal(after[M].costs, before[M].costs, equal_nan=True)
