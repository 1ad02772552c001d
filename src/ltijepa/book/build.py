"""``ltijepa book build``: execute (or take from the cache) every notebook, check, report, build."""

from __future__ import annotations

import multiprocessing
import json
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import nbformat
from tqdm import tqdm

from ltijepa.book.cache import NotebookCache, cache_key, write_atomic, write_json
from ltijepa.book.execute import Job, NotebookRun, configure_worker, judge, run_job, store_run
from ltijepa.book.outputs import check_notebook
from ltijepa.book.processes import build_lock
from ltijepa.book.project import Project
from ltijepa.book.site import build_site, check_toc
from ltijepa.claims import SCHEMA_VERSION
from ltijepa.errors import BuildError
from ltijepa.profiles import check_profile

__all__ = ["BuildResult", "DEFAULT_TIMEOUT", "execute_notebooks", "build", "format_table", "longest_first"]

#: Seconds one cell may run before the notebook fails (the longest training cell of ``full``).
DEFAULT_TIMEOUT = 4 * 3600


@dataclass
class BuildResult:
    """What a build did."""

    runs: list[NotebookRun]
    claims: list[dict]
    html_built: bool
    seconds: float


def _from_cache(notebook: Path, key: str, hit: tuple[Path, dict], executed_dir: Path, start: float) -> NotebookRun:
    stored, record = hit
    executed_dir.mkdir(parents=True, exist_ok=True)
    target = executed_dir / f"{notebook.stem}.ipynb"
    data = stored.read_bytes()
    if not target.is_file() or target.read_bytes() != data:
        write_atomic(target, data)
    (executed_dir / f"{notebook.stem}.failed.ipynb").unlink(missing_ok=True)
    error, claims = judge(notebook.stem, nbformat.read(stored, as_version=4))
    return NotebookRun(
        notebook.stem, "failed" if error else "passed", time.perf_counter() - start, True, error, key,
        executed_seconds=record.get("executed_seconds"), executed_at=record.get("executed_at"),
        commit=record.get("commit"), claims=claims,
    )


def execute_notebooks(
    project: Project,
    notebooks: list[Path],
    *,
    profile: str,
    seed: int = 0,
    jobs: int | None = None,
    force: bool = False,
    timeout: int = DEFAULT_TIMEOUT,
    progress: bool = True,
    scheduler: str | None = None,
) -> list[NotebookRun]:
    """Execute ``notebooks`` (or take them from the cache); one :class:`NotebookRun` each, in order.

    Cache hits are resolved first; the rest run in ``jobs`` worker processes (default: the
    number of cores), each with one BLAS/torch thread, or, with ``scheduler``, as tasks on that
    Dask cluster (:mod:`ltijepa.book.cluster`). Never raises for a failing notebook: its run has
    ``status == "failed"`` and an ``error`` naming notebook and cell.

    Parameters
    ----------
    project : Project
        Where the notebooks, the cache and the executed copies are.
    notebooks : list of Path
        The source notebooks to run.
    profile : str
        ``"ci"`` or ``"full"``, injected into every notebook with ``seed``.
    seed : int
        The seed injected into every notebook.
    jobs : int, optional
        Worker processes (default: the number of cores, at most one per notebook); not used
        with ``scheduler``, whose cluster's workers run the notebooks.
    force : bool
        Execute even when the cache has the notebook.
    timeout : int
        Seconds one cell may run.
    progress : bool
        Show the tqdm progress bar and one line per finished notebook.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); ``None`` runs locally.

    Raises
    ------
    BuildError
        With ``scheduler``: when it cannot be reached, or a notebook's worker died twice.
    """
    params = {"profile": check_profile(profile), "seed": int(seed)}
    with ExitStack() as stack:
        client = None
        if scheduler is not None:  # connect first: an unreachable scheduler fails before any work
            from ltijepa.book.cluster import connect  # imports distributed

            client = stack.enter_context(connect(scheduler))
        return _execute(project, notebooks, params, jobs, force, timeout, progress, client)


def _execute(project, notebooks, params, jobs, force, timeout, progress, client) -> list[NotebookRun]:
    """:func:`execute_notebooks` once its parameters are checked and its cluster (``client``, or
    ``None`` for local processes) is connected."""
    commit = project.commit()
    cache = NotebookCache(project.cache_dir)
    runs: dict[Path, NotebookRun] = {}
    pending: list[Job] = []
    warnings: list[str] = []
    for notebook in notebooks:
        start = time.perf_counter()
        key = cache_key(notebook, src_dir=project.src_dir, lock_files=project.lock_files, params=params)
        hit, problem = (None, None) if force else cache.get(key)
        if problem is not None:
            warnings.append(f"{notebook.stem}: {problem}; executing it again")
        if hit is not None:
            runs[notebook] = _from_cache(notebook, key, hit, project.executed_dir, start)
        else:
            pending.append(Job(notebook, key, params, project.cache_dir, project.executed_dir, timeout, commit))

    bar = tqdm(total=len(notebooks), unit="notebook", disable=not progress, desc=f"book ({params['profile']})")
    for warning in warnings:
        bar.write("warning: " + warning)
    for run in runs.values():
        bar.update()
        bar.write(_line(run))
    if pending:
        pending = longest_first(pending, _last_seconds(project))
        if client is None:
            _execute_locally(project, pending, jobs, runs, bar)
        else:
            _execute_on_cluster(project, pending, client, runs, bar)
    bar.close()
    return [runs[nb] for nb in notebooks]


def _finished(run: NotebookRun, running: set[str], bar: tqdm) -> None:
    running.discard(run.notebook)
    bar.update()
    bar.write(_line(run))
    bar.set_postfix_str(("running: " + ", ".join(sorted(running))) if running else "done")


def _execute_locally(project: Project, pending: list[Job], jobs: int | None, runs: dict, bar: tqdm) -> None:
    """Run ``pending`` in a pool of ``jobs`` local worker processes; their runs go into ``runs``."""
    workers = max(1, min(jobs or os.cpu_count() or 1, len(pending)))
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=configure_worker,
                               initargs=(os.getpid(), str(project.src_dir.parent)))
    try:
        futures = {pool.submit(run_job, job): job for job in pending}
        running = {job.notebook.stem for job in pending}
        bar.set_postfix_str("running: " + ", ".join(sorted(running)))
        for future in as_completed(futures):
            runs[futures[future].notebook] = run = future.result()
            _finished(run, running, bar)
    except BaseException:  # Ctrl-C or a crash: stop the workers now, do not wait for them
        _kill_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _execute_on_cluster(project: Project, pending: list[Job], client, runs: dict, bar: tqdm) -> None:
    """Run ``pending`` as tasks on the Dask cluster of ``client``; judged and stored here."""
    from ltijepa.book.cluster import execute_on_cluster

    running = {job.notebook.stem for job in pending}
    bar.set_postfix_str("running: " + ", ".join(sorted(running)))
    for job, executed in execute_on_cluster(client, pending, str(project.src_dir.parent)):
        runs[job.notebook] = run = store_run(job, executed)
        _finished(run, running, bar)


def _last_seconds(project: Project) -> dict[str, float]:
    """Execution seconds of each notebook in the last published report (empty if none)."""
    try:
        rows = json.loads((project.build_dir / "report.json").read_text())
        return {row["notebook"]: float(row["executed_seconds"]) for row in rows if row.get("executed_seconds")}
    except (OSError, ValueError, KeyError, TypeError):  # no report yet, or an older schema
        return {}


def longest_first(jobs: list[Job], seconds: dict[str, float]) -> list[Job]:
    """``jobs`` ordered by their last execution time, longest first; unknown ones lead.

    Workers take jobs in this order, so the longest notebook starts at once instead of last
    and the build's wall time approaches ``max(longest, total / workers)``.

    Parameters
    ----------
    jobs : list of Job
        The notebooks to execute.
    seconds : dict
        Notebook name -> seconds its last execution took (:func:`_last_seconds`).
    """
    return sorted(jobs, key=lambda job: -seconds.get(job.notebook.stem, float("inf")))


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """SIGKILL the pool's worker processes (their kernels follow within a second)."""
    for process in list((pool._processes or {}).values()):  # no public API lists them
        process.kill()


def _line(run: NotebookRun) -> str:
    mark = "ok  " if run.status == "passed" else "FAIL"
    origin = "cache" if run.cache_hit else f"{run.seconds:7.1f} s"
    return f"{mark} {run.notebook:<40} {origin}" + (f"\n     {run.error}" if run.error else "")


def format_table(runs: list[NotebookRun]) -> str:
    """The end-of-build table of ``runs``: notebook, status, seconds, cache hit."""
    width = max([len(r.notebook) for r in runs] + [8])
    rows = [f"{'notebook':<{width}}  status  seconds  cache hit"]
    rows += [
        f"{r.notebook:<{width}}  {r.status:<6}  {r.seconds:7.1f}  {'yes' if r.cache_hit else 'no'}"
        for r in runs
    ]
    return "\n".join(rows)


def _collect_claims(runs: list[NotebookRun]) -> tuple[list[dict], list[str]]:
    """All claims with their chapter and :data:`~ltijepa.claims.SCHEMA_VERSION`, and one line
    per id recorded more than once, naming where."""
    claims = [{**claim, "chapter": run.notebook, "schema_version": SCHEMA_VERSION} for run in runs for claim in run.claims]
    where = defaultdict(list)
    for claim in claims:
        where[claim["id"]].append(f"notebooks/{claim['chapter']}.ipynb")
    duplicates = [f"{i} (in {', '.join(places)})" for i, places in sorted(where.items()) if len(places) > 1]
    return claims, duplicates


def build(
    project: Project,
    *,
    profile: str = "ci",
    seed: int = 0,
    only: list[str] | None = None,
    jobs: int | None = None,
    force: bool = False,
    timeout: int = DEFAULT_TIMEOUT,
    progress: bool = True,
    wait: bool = True,
    scheduler: str | None = None,
) -> BuildResult:
    """Execute every notebook and publish the HTML with its claims and report, all or nothing.

    One build per book folder runs at a time (:func:`~ltijepa.book.processes.build_lock`). What
    is published -- ``book/_build/html`` with its ``claims.json`` and ``report.json``, which
    ``book/_build/claims.json`` and ``report.json`` link to -- changes in one rename, and only
    when every notebook passed and Jupyter Book succeeded; a failed build writes its report to
    ``book/_build/failed-report.json`` instead. With ``only``, the named notebooks are executed
    and checked but nothing is published (the book needs every chapter).

    Parameters
    ----------
    project : Project
        The book project (paths of notebooks, cache, build folder).
    profile, seed, jobs, force, timeout, progress, scheduler
        As for :func:`execute_notebooks`.
    only : list of str, optional
        Names (stems) of the notebooks to execute; then no report and no HTML.
    wait : bool
        When another build holds the book folder: wait for it (default) or raise at once.

    Raises
    ------
    BuildError
        When a source notebook breaks a convention, a notebook fails (message names notebook
        and cell), a claim id is recorded twice (naming both notebooks), Jupyter Book fails, or
        (``wait=False``) another build runs, or (``scheduler``) the Dask scheduler cannot be
        reached or a notebook's worker died twice. Nothing published is changed then.
    """
    start = time.perf_counter()
    notebooks = project.notebooks(only)
    problems = []
    for notebook in notebooks:
        try:
            check_notebook(notebook)
        except BuildError as exc:
            problems.append(str(exc))
    if not only:
        check_toc(project, [nb.stem for nb in notebooks])
    if problems:
        raise BuildError("notebooks break the book's conventions:\n  " + "\n  ".join(problems))

    with build_lock(project.build_lock_file, wait=wait, say=lambda line: print(line, file=sys.stderr, flush=True)):
        runs = execute_notebooks(
            project, notebooks, profile=profile, seed=seed, jobs=jobs, force=force, timeout=timeout, progress=progress,
            scheduler=scheduler,
        )
        claims, duplicates = _collect_claims(runs)
        report = [r.report_row() for r in runs]
        failures = [r.error for r in runs if r.status == "failed"]
        if duplicates:
            failures.append("claim ids recorded more than once: " + "; ".join(duplicates))
        if failures:
            write_json(project.failed_report_file, report)
            raise BuildError(
                "the book was not built; nothing published changed (HTML, claims.json, report.json).\n"
                f"This run's report: {project.failed_report_file}\n  " + "\n  ".join(failures)
            )
        html_built = False
        if not only:
            project.failed_report_file.unlink(missing_ok=True)
            html_built = build_site(
                project, runs, claims, report, commit=project.commit(), profile=profile, seed=seed, force=force
            )
    return BuildResult(runs, claims, html_built, time.perf_counter() - start)
