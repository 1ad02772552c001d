"""The independent runs of a sweep, on a Dask cluster when there is one, else in local processes.

:func:`map` is the one way a chapter spreads independent items (realisations, random
collections, ablations) over cores or machines. Where each item runs does not change its result:
with ``seed``, item ``i`` gets its own generator from the ``i``-th child of
``numpy.random.SeedSequence(seed)`` (no generator is shared), so the results equal those of the
plain loop ``[fn(item, rng_i) for ...]`` bit for bit.

Where the items run, first that applies:

1. the Dask cluster of ``scheduler``, or of ``$LTIJEPA_SCHEDULER`` (set it in the environment
   of the workers to send the sweeps of a book build on a cluster to that cluster too);
2. the Dask client the caller runs under (:func:`distributed.get_client`: inside a Dask task, or
   after ``Client(...)`` in a notebook), looked up only when :mod:`distributed` is imported;
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
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import numpy as np

from ltijepa.checks import check_count
from ltijepa.errors import ParameterError

__all__ = ["SCHEDULER_ENV", "map", "item_generators"]

#: The environment variable naming a Dask scheduler (the same one ``ltijepa book build`` reads).
SCHEDULER_ENV = "LTIJEPA_SCHEDULER"

#: Seconds to wait for the scheduler of ``scheduler``/``$LTIJEPA_SCHEDULER`` before failing.
_CONNECT_SECONDS = 5


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


def _dask_client(scheduler: str | None):
    """``(client, owned)``: the client of the Dask cluster to use, or ``(None, False)``."""
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if address is not None:
        import distributed

        try:
            return distributed.Client(address, timeout=f"{_CONNECT_SECONDS}s", set_as_default=False), True
        except (OSError, TimeoutError) as exc:
            raise ParameterError(f"cannot reach the Dask scheduler at {address!r} within {_CONNECT_SECONDS} s: {exc}") from None
    if "distributed" not in sys.modules:  # no client can exist in this process
        return None, False
    try:
        return sys.modules["distributed"].get_client(), False
    except ValueError:  # distributed is imported but no client was started
        return None, False


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
    if seed is None:
        calls = [partial(fn, item) for item in items]
    else:
        calls = [partial(fn, item, rng) for item, rng in zip(items, item_generators(seed, len(items)))]
    if not calls:
        return []
    client, owned = _dask_client(scheduler)
    if client is not None:
        try:
            futures = [client.submit(call, pure=False, resources=resources) for call in calls]
            return client.gather(futures)
        finally:
            if owned:
                client.close()
    workers = min(check_count("processes", processes) if processes is not None else os.cpu_count() or 1, len(calls))
    if workers == 1:
        return [call() for call in calls]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_silence) as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]


def _silence() -> None:
    """Pool initializer: the process's stdout and stderr go to ``os.devnull``."""
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 -- open for the process's life
