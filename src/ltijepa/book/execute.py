"""Executing one notebook with papermill, in a worker process, and judging the result."""

from __future__ import annotations

import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from ltijepa.book.cache import NotebookCache, write_atomic
from ltijepa.book.outputs import CellError, extract_claims, find_error

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


def configure_worker() -> None:
    """Process-pool initializer: set :data:`WORKER_ENV` for the worker and its kernels."""
    os.environ.update(WORKER_ENV)


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
            error, claims = f"notebooks/{name}.ipynb: {type(exc).__name__}: {exc}", []
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
