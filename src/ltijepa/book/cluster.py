"""Notebook executions as tasks on a Dask cluster (``ltijepa book build --scheduler ADDRESS``).

The build connects a :class:`distributed.Client` to the scheduler and submits one task per
notebook, :func:`execute_job` on a worker, which returns the executed notebook's bytes; judging
it, the cache, the report, the claims and publishing stay on the machine of the build
(:func:`~ltijepa.book.execute.store_run`). Only this module imports :mod:`distributed`, and the
build imports this module only when a scheduler is given.

A worker that dies while it executes a notebook costs that notebook one retry on another worker
(the scheduler's ``allowed-failures`` is set to :data:`ALLOWED_FAILURES` when the build
connects); a second death fails the build, naming the notebook and the worker.
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import CancelledError
from collections.abc import Iterator
from contextlib import contextmanager

import distributed

from ltijepa.book.execute import WORKER_ENV, Executed, Job, execute_job
from ltijepa.errors import BuildError

__all__ = ["ALLOWED_FAILURES", "CONNECT_SECONDS", "connect", "execute_on_cluster"]

#: Seconds the build waits for the scheduler to answer before it fails naming the address.
CONNECT_SECONDS = 5

#: Worker deaths a notebook's task survives (each time it is run again on another worker).
ALLOWED_FAILURES = 1


def _allow_failures(dask_scheduler, failures: int) -> None:
    """Run on the scheduler: a task is lost after ``failures + 1`` worker deaths."""
    dask_scheduler.allowed_failures = failures


@contextmanager
def connect(address: str) -> Iterator[distributed.Client]:
    """A client of the scheduler at ``address``, closed at the end of the ``with``.

    Parameters
    ----------
    address : str
        The scheduler, e.g. ``tcp://10.0.0.5:8786``.

    Raises
    ------
    BuildError
        If the scheduler does not answer within :data:`CONNECT_SECONDS`; the message names
        ``address``.
    """
    try:
        client = distributed.Client(address, timeout=f"{CONNECT_SECONDS}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BuildError(
            f"cannot reach the Dask scheduler at {address!r} (--scheduler or LTIJEPA_SCHEDULER) "
            f"within {CONNECT_SECONDS} s: {exc}"
        ) from None
    try:
        client.run_on_scheduler(_allow_failures, failures=ALLOWED_FAILURES)
        yield client
    finally:
        client.close()


def _on_worker(job: Job, src_root: str) -> Executed:
    """The task: :func:`execute_job` on this worker, with the kernels' environment of a local
    worker process (:data:`WORKER_ENV`; ``src_root`` first on ``PYTHONPATH`` where this machine
    has it, a shared file system)."""
    os.environ.update(WORKER_ENV)
    if os.path.isdir(src_root):
        paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != src_root]
        os.environ["PYTHONPATH"] = os.pathsep.join([src_root, *paths])
    return execute_job(job, worker=distributed.get_worker().address)


def execute_on_cluster(client: distributed.Client, jobs: list[Job], src_root: str) -> Iterator[tuple[Job, Executed]]:
    """Submit ``jobs`` in their order (the first gets the highest priority); yield each with its
    :class:`~ltijepa.book.execute.Executed` as it finishes.

    Parameters
    ----------
    client : distributed.Client
        From :func:`connect`.
    jobs : list of Job
        The notebooks to execute, longest first.
    src_root : str
        The project's ``src`` folder (put first on the kernels' ``PYTHONPATH`` where a worker
        sees it).

    Raises
    ------
    BuildError
        When a notebook's task was lost with :data:`ALLOWED_FAILURES` + 1 workers (naming the
        notebook and the last worker), or the scheduler went away.
    """
    run_id = uuid.uuid4().hex[:8]
    futures = {
        client.submit(_on_worker, job, src_root, key=f"notebook-{job.notebook.stem}-{run_id}",
                      priority=len(jobs) - i, pure=False): job
        for i, job in enumerate(jobs)
    }
    try:
        for future in distributed.as_completed(futures, loop=client.loop):
            job = futures[future]
            try:
                executed = future.result()
            except distributed.KilledWorker as exc:
                raise BuildError(
                    f"notebooks/{job.notebook.name}: its Dask worker died while executing it "
                    f"{ALLOWED_FAILURES + 1} times (retried {ALLOWED_FAILURES}); the last was "
                    f"{exc.last_worker.address}",
                    notebook=job.notebook.name,
                ) from None
            except (OSError, CancelledError) as exc:
                raise BuildError(
                    f"notebooks/{job.notebook.name}: lost the Dask cluster while it ran: {exc}",
                    notebook=job.notebook.name,
                ) from None
            yield job, executed
    finally:
        client.cancel(list(futures))

