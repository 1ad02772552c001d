"""The independent runs of a sweep, on a Dask cluster when there is one, else in local processes.

:func:`map` is the one way a chapter spreads independent items (realisations, random
collections, ablations) over cores or machines. Where each item runs does not change its result:
with ``seed``, item ``i`` gets its own generator from the ``i``-th child of
``numpy.random.SeedSequence(seed)`` (no generator is shared), so the results equal those of the
plain loop ``[fn(item, rng_i) for ...]`` bit for bit.

Where the items run, first that applies:

1. the Dask cluster of ``scheduler``, or of ``$LTIJEPA_SCHEDULER`` (set it in the environment
   of the workers to send the sweeps of a book build on a cluster to that cluster too);
2. the Dask client the caller runs under (:func:`distributed.get_client`: inside a Dask task,
   which secedes from its worker's threads while its items run, or after ``Client(...)`` in a
   notebook), looked up only when :mod:`distributed` is imported;
3. ``processes`` local processes (default: one per core, at most one per item); with one, a plain
   loop in this process.

What an item prints (progress bars included) goes to its worker's log on a cluster and nowhere
from a local process, so that parallel items do not interleave their output in the caller's
(a notebook's, a build's log); results and exceptions come back.

On a cluster, ``resources={"GPU": 1}`` sends each item to a worker started with
``--resources GPU=1`` and runs at most one item per GPU at a time.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial

import numpy as np

from ltijepa.checks import check_count
from ltijepa.errors import ParameterError

__all__ = ["SCHEDULER_ENV", "CONNECT_SECONDS", "scheduler_client", "map", "item_generators"]

#: The environment variable naming a Dask scheduler (the same one ``ltijepa book build`` reads).
SCHEDULER_ENV = "LTIJEPA_SCHEDULER"

#: Seconds to wait for a Dask scheduler to answer before failing.
CONNECT_SECONDS = 5


def scheduler_client(address: str):
    """A :class:`distributed.Client` of the scheduler at ``address`` (imports :mod:`distributed`).

    Parameters
    ----------
    address : str
        The scheduler, e.g. ``tcp://10.0.0.5:8786``.

    Raises
    ------
    ParameterError
        If it does not answer within :data:`CONNECT_SECONDS`; the message names ``address``.
    """
    import distributed

    try:
        return distributed.Client(address, timeout=f"{CONNECT_SECONDS}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ParameterError(f"cannot reach the Dask scheduler at {address!r} within {CONNECT_SECONDS} s: {exc}") from None


def item_generators(seed, count: int) -> list[np.random.Generator]:
    """One independent generator per item: ``default_rng`` of the children of ``seed``'s
    :class:`~numpy.random.SeedSequence`.

    The same as ``numpy.random.default_rng(seed).spawn(count)``, so a loop written with
    ``Generator.spawn`` gives the same numbers through :func:`map`.

    Parameters
    ----------
    seed : int, SeedSequence or numpy.random.Generator
        The sweep's seed; a generator contributes its seed sequence (whose spawn counter
        advances, as with ``Generator.spawn``).
    count : int
        The number of items.

    Raises
    ------
    ParameterError
        If ``seed`` is ``None`` (the results would differ from run to run).
    """
    if seed is None:
        raise ParameterError("seed == None, must be an int, a SeedSequence or a Generator: a sweep is seeded")
    if isinstance(seed, np.random.Generator):
        sequence = seed.bit_generator.seed_seq
    elif isinstance(seed, np.random.SeedSequence):
        sequence = seed
    else:
        sequence = np.random.SeedSequence(seed)
    return [np.random.default_rng(child) for child in sequence.spawn(count)]


@contextmanager
def _dask_client(scheduler: str | None) -> Iterator:
    """The client of the Dask cluster to use for the ``with`` (``None``: local processes)."""
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if address is not None:
        with scheduler_client(address) as client:
            yield client
        return
    distributed = sys.modules.get("distributed")  # not imported: no client can exist in this process
    if distributed is None:
        yield None
        return
    try:
        distributed.get_worker()
    except ValueError:  # not inside a Dask task: the caller's client, if it started one
        try:
            client = distributed.get_client()
        except ValueError:
            client = None
        yield client
        return
    with distributed.worker_client() as client:  # inside a task: it secedes while its items run
        yield client


def map(  # noqa: A001 -- ltijepa.parallel.map, the sweep's map
    fn: Callable,
    items: Iterable,
    *,
    seed=None,
    scheduler: str | None = None,
    processes: int | None = None,
    resources: dict[str, float] | None = None,
) -> list:
    """``[fn(item) for item in items]`` (or ``fn(item, rng_i)`` with ``seed``), in parallel.

    Parameters
    ----------
    fn : callable
        A function importable by name (a module-level function, a bound method of a picklable
        object, a :func:`functools.partial` of those), so other processes can run it; it must not
        depend on state shared between items.
    items : iterable
        The independent items.
    seed : int, SeedSequence or numpy.random.Generator, optional
        With a seed, ``fn`` is called as ``fn(item, rng)`` with item ``i``'s own generator
        (:func:`item_generators`); without, as ``fn(item)``.
    scheduler : str, optional
        Address of a Dask scheduler to run the items on (default: ``$LTIJEPA_SCHEDULER``, then the
        caller's Dask client, then local processes; see the module's docstring).
    processes : int, optional
        Local processes when no Dask cluster is used (default: the number of cores, at most one
        per item); 1 runs a plain loop in this process.
    resources : dict, optional
        Dask worker resources each item needs, e.g. ``{"GPU": 1}``; ignored locally.

    Returns
    -------
    list
        The results, in the order of ``items``.

    Raises
    ------
    ParameterError
        If ``processes`` < 1, or the scheduler of ``scheduler``/``$LTIJEPA_SCHEDULER`` cannot be
        reached (the message names the address). Exceptions of ``fn`` propagate.
    """
    items = list(items)
    if processes is not None:
        check_count("processes", processes)
    if seed is None:
        calls = [partial(fn, item) for item in items]
    else:
        calls = [partial(fn, item, rng) for item, rng in zip(items, item_generators(seed, len(items)))]
    if not calls:
        return []
    with _dask_client(scheduler) as client:
        if client is not None:
            return client.gather([client.submit(call, pure=False, resources=resources) for call in calls])
    workers = min(processes or os.cpu_count() or 1, len(calls))
    if workers == 1:
        return [call() for call in calls]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_silence) as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]


def _silence() -> None:
    """Pool initializer: the process's stdout and stderr go to ``os.devnull``."""
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 -- open for the process's life
