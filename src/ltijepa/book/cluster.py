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
import subprocess
import sys
import uuid
from concurrent.futures import CancelledError
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import distributed

from ltijepa.book.cache import package_digest
from ltijepa.book.execute import Executed, Job, execute_job, prepare_kernels
from ltijepa import parallel
from ltijepa.errors import BuildError, ParameterError

__all__ = ["ALLOWED_FAILURES", "WORKER_SECONDS", "connect", "kernel_package_mismatch", "execute_on_cluster"]

#: Seconds the build waits for the scheduler to have a worker before it fails (instead of
#: waiting forever on a cluster that has none).
WORKER_SECONDS = 120

#: Worker deaths a notebook's task survives (each time it is run again on another worker).
ALLOWED_FAILURES = 1


def _allow_failures(dask_scheduler, failures: int) -> None:
    """Run on the scheduler: a task is lost after ``failures + 1`` worker deaths."""
    dask_scheduler.allowed_failures = failures


@contextmanager
def connect(address: str) -> Iterator[distributed.Client]:
    """A client of the scheduler at ``address``, closed at the end of the ``with``, with the
    scheduler's ``allowed-failures`` set to :data:`ALLOWED_FAILURES`.

    Parameters
    ----------
    address
        As in :func:`ltijepa.parallel.scheduler_client`.

    Raises
    ------
    BuildError
        If the scheduler does not answer within :data:`ltijepa.parallel.CONNECT_SECONDS`; the
        message names ``address``.
    """
    try:
        client = parallel.scheduler_client(address)
    except ParameterError as exc:
        raise BuildError(f"{exc} (--scheduler or {parallel.SCHEDULER_ENV})") from None
    try:
        client.run_on_scheduler(_allow_failures, failures=ALLOWED_FAILURES)
        yield client
    finally:
        client.close()


def kernel_package_mismatch(digest: str) -> str | None:
    """Why this machine's kernels would not run the build's code, or ``None``.

    Asks a fresh ``python`` (the kernels' interpreter, with this process's environment) which
    ``ltijepa`` it imports and compares that package's
    :func:`~ltijepa.book.cache.package_digest` with ``digest``, the build's. The cache key
    hashes the build's ``src/ltijepa``: a page executed with other code would be stored under a
    key that does not describe it, which a local build never does (the kernels import the
    project's own ``src``).

    Parameters
    ----------
    digest : str
        :func:`~ltijepa.book.cache.package_digest` of the build's ``src/ltijepa``.
    """
    found = subprocess.run(
        [sys.executable, "-c", "import os, ltijepa; print(os.path.dirname(ltijepa.__file__))"],
        capture_output=True, text=True, env=os.environ,
    )
    if found.returncode != 0:
        return f"its Python ({sys.executable}) cannot import ltijepa: {found.stderr.strip()[-300:]}"
    package = found.stdout.strip()
    theirs = package_digest(Path(package))
    if theirs != digest:
        return (
            f"its kernels would import ltijepa from {package} (code {theirs[:12]}), not the build's "
            f"src/ltijepa (code {digest[:12]}), so the cache key would not describe the code that ran; "
            "run the workers on the build's commit with its src folder at the same path (a shared "
            "file system), or install that commit on them"
        )
    return None


def _on_worker(job: Job, src_root: str, digest: str) -> Executed:
    """The task: :func:`execute_job` on this worker, once :func:`kernel_package_mismatch` found
    nothing."""
    worker = distributed.get_worker().address
    prepare_kernels(src_root)
    mismatch = kernel_package_mismatch(digest)
    if mismatch is not None:
        return Executed(None, f"notebooks/{job.notebook.name}: not executed on Dask worker {worker}: {mismatch}", 0.0, worker)
    return execute_job(job, worker=worker)


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
        When the scheduler has no worker within :data:`WORKER_SECONDS`, when a notebook's task was lost with :data:`ALLOWED_FAILURES` + 1 workers (naming the
        notebook and the last worker), or the scheduler went away.
    """
    try:
        client.wait_for_workers(1, timeout=WORKER_SECONDS)
    except TimeoutError:
        raise BuildError(
            f"the Dask scheduler at {client.scheduler.address!r} has no worker after {WORKER_SECONDS} s; "
            f"start some (dask worker {client.scheduler.address}) with this project's environment"
        ) from None
    run_id = uuid.uuid4().hex[:8]
    digest = package_digest(Path(src_root) / "ltijepa")
    futures = {
        client.submit(_on_worker, job, src_root, digest, key=f"notebook-{job.notebook.stem}-{run_id}",
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

