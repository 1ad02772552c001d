"""Executing one notebook with papermill, in a worker process, and judging the result."""

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

__all__ = ["WORKER_ENV", "Job", "NotebookRun", "run_job", "configure_worker"]

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
        }


def configure_worker(parent_pid: int, src_root: str) -> None:
    """Process-pool initializer: the environment of the worker and of the kernels it starts.

    Sets :data:`WORKER_ENV`; puts the project's ``src_root`` first on ``PYTHONPATH``, so the
    kernels import the project's own ``ltijepa`` -- the code the cache key hashes -- and not
    whichever copy is installed; makes the worker die with its parent ``parent_pid``; and
    leaves Ctrl-C to the parent, which stops the workers itself.
    """
    os.environ.update(WORKER_ENV)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (src_root, os.environ.get("PYTHONPATH")) if p)
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


def run_job(job: Job) -> NotebookRun:
    """Execute ``job.notebook`` into the cache and ``executed_dir``; never raises.

    On success the executed notebook is stored in the cache under ``job.key`` and copied to
    ``executed_dir`` under the notebook's name. On failure nothing is stored or copied, so the last good
    executed notebook stays in place; the failed output is kept as
    ``<name>.failed`` beside it for inspection.
    """
    name = job.notebook.stem
    start = time.perf_counter()
    job.executed_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"ltijepa-{name}-") as tmp:
        output = Path(tmp) / f"{name}.ipynb"
        try:
            _execute(job, output)
            error, claims = judge(name, nbformat.read(output, as_version=4))
        except Exception as exc:  # the kernel died, a timeout, papermill itself failed ...
            error, claims = _stopped(name, output, exc), []
        seconds = time.perf_counter() - start
        failed_copy = job.executed_dir / f"{name}.failed.ipynb"
        if error is not None:
            if output.is_file():
                write_atomic(failed_copy, output.read_bytes())
            return NotebookRun(name, "failed", seconds, False, error, job.key, claims=claims)
        record = {
            "notebook": name,
            "params": job.params,
            "executed_seconds": seconds,
            "executed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "commit": job.commit,
            "python": platform.python_version(),
        }
        NotebookCache(job.cache_dir).put(job.key, output, record)
        write_atomic(job.executed_dir / f"{name}.ipynb", output.read_bytes())
        failed_copy.unlink(missing_ok=True)
    return NotebookRun(
        name, "passed", seconds, False, None, job.key,
        executed_seconds=seconds, executed_at=record["executed_at"], commit=job.commit, claims=claims,
    )
