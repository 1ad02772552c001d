"""Executing one notebook with papermill, in a worker process, and judging the result.

Two halves: :func:`execute_job` runs papermill in a temporary folder and returns the executed
notebook's bytes (:class:`Executed`) without touching the cache or the book folder, so it can run
on a Dask worker; :func:`store_run` judges it and stores it, on the machine of the build.
:func:`run_job` does both, in a local worker process.
"""

from __future__ import annotations

import os
import platform
import signal
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from ltijepa.book.cache import NotebookCache, write_atomic
from ltijepa.book.outputs import CellError, extract_claims, find_error, stopped_cell
from ltijepa.book.processes import die_with_parent

__all__ = [
    "WORKER_ENV", "Job", "Executed", "NotebookRun", "execute_job", "store_run", "run_job", "prepare_kernels",
    "configure_worker",
]

#: Environment of every worker and of the kernels it starts: one BLAS/OpenMP/torch thread
#: per worker (the workers run in parallel), a fixed hash seed.
WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}

_KERNEL_START_RETRIES = 1  # kernels started in parallel can race for ports (papermill #511)

#: Arguments of every kernel: log only critical messages, so the build log shows the progress
#: bar, one line per notebook and the errors, not ipykernel's start-up warnings.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]


@dataclass(frozen=True)
class Job:
    """What a worker needs to execute one notebook."""

    notebook: Path
    key: str
    params: dict
    cache_dir: Path
    executed_dir: Path
    timeout: int
    commit: str


@dataclass
class NotebookRun:
    """The outcome for one notebook; one row of ``report.json``."""

    notebook: str
    status: str  # "passed" or "failed"
    seconds: float
    cache_hit: bool
    error: str | None = None
    key: str = ""
    executed_seconds: float | None = None
    executed_at: str | None = None
    commit: str | None = None
    claims: list[dict] = field(default_factory=list)
    worker: str | None = None  # the Dask worker's address; None for a local process or the cache

    def report_row(self) -> dict:
        """The row of ``report.json`` (claims go to ``claims.json`` instead)."""
        return {
            "notebook": self.notebook,
            "status": self.status,
            "seconds": round(self.seconds, 2),
            "cache_hit": self.cache_hit,
            "error": self.error,
            "executed_seconds": None if self.executed_seconds is None else round(self.executed_seconds, 2),
            "executed_at": self.executed_at,
            "commit": self.commit,
            "key": self.key,
            "worker": self.worker,
        }


def prepare_kernels(src_root: str) -> None:
    """Give the kernels this process starts :data:`WORKER_ENV` and ``src_root`` first on
    ``PYTHONPATH`` (once), so they import the project's own ``ltijepa``, the code the cache key
    hashes; a ``src_root`` this machine does not have is left out.

    Parameters
    ----------
    src_root : str
        The project's ``src`` folder.
    """
    os.environ.update(WORKER_ENV)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != src_root]
    if os.path.isdir(src_root):
        paths.insert(0, src_root)
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)


def configure_worker(parent_pid: int, src_root: str) -> None:
    """Process-pool initializer: the environment of the worker and of the kernels it starts.

    Sets :data:`WORKER_ENV`; puts the project's ``src_root`` first on ``PYTHONPATH``, so the
    kernels import the project's own ``ltijepa`` -- the code the cache key hashes -- and not
    whichever copy is installed; makes the worker die with its parent ``parent_pid``; and
    leaves Ctrl-C to the parent, which stops the workers itself.
    """
    prepare_kernels(src_root)
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def judge(name: str, nb) -> tuple[str | None, list[dict]]:
    """The error message (or ``None``) and the claims of executed notebook ``nb``.

    A notebook fails when any cell left an error output or when a theorem claim fails (even
    if the notebook caught the exception).
    """
    claims = extract_claims(nb)
    error: CellError | None = find_error(nb)
    if error is not None:
        return f"notebooks/{name}.ipynb, {error.describe()}", claims
    failing = [c["id"] for c in claims if c.get("status") == "fails"]
    if failing:
        return f"notebooks/{name}.ipynb: theorem claims fail: {failing}", claims
    return None, claims


def _execute(job: Job, output: Path) -> None:
    import papermill

    for attempt in range(_KERNEL_START_RETRIES + 1):
        try:
            papermill.execute_notebook(
                str(job.notebook),
                str(output),
                parameters=job.params,
                kernel_name="python3",
                cwd=str(job.notebook.parent),
                execution_timeout=job.timeout,
                progress_bar=False,
                log_output=False,
                extra_arguments=KERNEL_ARGUMENTS,
            )
            return
        except papermill.PapermillExecutionError:
            return  # a cell raised: the output notebook holds the error, judged by the caller
        except Exception:
            started = output.is_file() and any(
                c.get("execution_count") for c in nbformat.read(output, as_version=4).cells
            )
            if started or attempt == _KERNEL_START_RETRIES:
                raise


def _stopped(name: str, output: Path, exc: Exception) -> str:
    """The message for an execution that stopped with ``exc``, naming the cell that was running."""
    ename, evalue = type(exc).__name__, str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    try:
        cell = stopped_cell(nbformat.read(output, as_version=4), ename, evalue) if output.is_file() else None
    except Exception:  # the partial output is unreadable: say what we know
        cell = None
    return f"notebooks/{name}.ipynb, {cell.describe()}" if cell else f"notebooks/{name}.ipynb: {ename}: {evalue}"


@dataclass(frozen=True)
class Executed:
    """What executing one notebook gave, before it is judged and stored (:func:`store_run`)."""

    output: bytes | None
    """The executed notebook (partial when the execution stopped), or ``None`` if none was written."""
    stopped: str | None
    """Why the execution stopped before the end (kernel died, timeout, ...), naming the cell;
    ``None`` when it ran to the end (cells may still hold errors: :func:`judge` finds them)."""
    seconds: float
    """Wall-clock seconds of the execution."""
    worker: str | None = None
    """Address of the Dask worker that executed it; ``None`` for a local process."""


def execute_job(job: Job, *, worker: str | None = None) -> Executed:
    """Execute ``job.notebook`` with papermill in a temporary folder; never raises.

    Writes nothing outside that folder: the cache, ``executed_dir`` and the claims are the
    caller's (:func:`store_run`).

    Parameters
    ----------
    job : Job
        The notebook, its parameters and its cell timeout.
    worker : str, optional
        Recorded as :attr:`Executed.worker`.
    """
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"ltijepa-{job.notebook.stem}-") as tmp:
        output = Path(tmp) / f"{job.notebook.stem}.ipynb"
        try:
            _execute(job, output)
            stopped = None
        except Exception as exc:  # the kernel died, a timeout, papermill itself failed ...
            stopped = _stopped(job.notebook.stem, output, exc)
        data = output.read_bytes() if output.is_file() else None
    return Executed(data, stopped, time.perf_counter() - start, worker)


def store_run(job: Job, executed: Executed) -> NotebookRun:
    """Judge ``executed`` and, if it passed, store it in the cache and ``executed_dir``.

    On success the executed notebook is stored in the cache under ``job.key`` and copied to
    ``executed_dir`` under the notebook's name. On failure nothing is stored or copied, so the
    last good executed notebook stays in place; the failed output is kept as
    ``<name>.failed`` beside it for inspection.

    Parameters
    ----------
    job : Job
        The job that was executed (its key, cache and executed folders, commit).
    executed : Executed
        What :func:`execute_job` returned for it.
    """
    name = job.notebook.stem
    job.executed_dir.mkdir(parents=True, exist_ok=True)
    if executed.stopped is not None:
        error, claims = executed.stopped, []
    else:
        error, claims = judge(name, nbformat.reads(executed.output.decode(), as_version=4))
    failed_copy = job.executed_dir / f"{name}.failed.ipynb"
    if error is not None:
        if executed.output is not None:
            write_atomic(failed_copy, executed.output)
        return NotebookRun(name, "failed", executed.seconds, False, error, job.key, claims=claims,
                           worker=executed.worker)
    record = {
        "notebook": name,
        "params": job.params,
        "executed_seconds": executed.seconds,
        "executed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": job.commit,
        "python": platform.python_version(),
    }
    NotebookCache(job.cache_dir).put(job.key, executed.output, record)
    write_atomic(job.executed_dir / f"{name}.ipynb", executed.output)
    failed_copy.unlink(missing_ok=True)
    return NotebookRun(
        name, "passed", executed.seconds, False, None, job.key, executed_seconds=executed.seconds,
        executed_at=record["executed_at"], commit=job.commit, claims=claims, worker=executed.worker,
    )


def run_job(job: Job) -> NotebookRun:
    """Execute ``job.notebook`` into the cache and ``executed_dir`` (:func:`execute_job`, then
    :func:`store_run`); never raises.

    Parameters
    ----------
    job : Job
        As in :func:`ltijepa.book.execute.store_run`.
    """
    return store_run(job, execute_job(job))
