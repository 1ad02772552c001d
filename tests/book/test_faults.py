"""Faults of the pipeline that must never publish a wrong page (issue 13).

Every test runs real ``ltijepa book build`` processes on a miniature book and races, kills,
interrupts or corrupts them: bad arguments are refused before anything runs, two builds of one
folder never run at once, a killed build leaves no process behind, Ctrl-C exits 130, messages
name notebook and cell, the kernels run the project's own code, and claim text cannot inject
HTML into the claims page.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ltijepa.book.pages import claims_markdown

from minibook import write_notebook

#: The cell of a notebook that sleeps: it leaves a marker first, so a test knows it runs.
SLEEPING = ("import pathlib, time", "pathlib.Path('started').touch()\ntime.sleep({seconds})")


def start_build(project, *args) -> subprocess.Popen:
    """A real build process of ``project`` (its own session, cwd the project root)."""
    return subprocess.Popen(
        [sys.executable, "-m", "ltijepa", "book", "build", "--root", str(project.root), "--quiet", *args],
        cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def run_build(project, *args, timeout=180) -> subprocess.CompletedProcess:
    proc = start_build(project, *args)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def wait_for(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def processes_in(root: Path) -> list[int]:
    """Pids of the live processes whose working directory is ``root`` or below (workers, kernels)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if cwd == str(root) or cwd.startswith(f"{root}/"):
                pids.append(int(entry.name))
    return pids


def sleeping_notebook(project, seconds: int) -> Path:
    marker = project.notebooks_dir / "started"
    write_notebook(project.notebooks_dir / "slow.ipynb", SLEEPING[0], SLEEPING[1].format(seconds=seconds))
    return marker


@pytest.mark.parametrize("flag, value", [("--timeout", "0"), ("--timeout", "-5"), ("--jobs", "0")])
def test_a_non_positive_timeout_or_jobs_is_refused_naming_the_flag(mini_project, flag, value):
    """A real ``ltijepa book build`` process exits 2 at once, naming the flag and value; today's
    bug was ``--timeout 0`` silently meaning 4 hours."""
    proc = subprocess.run(
        [sys.executable, "-m", "ltijepa", "book", "build", "--root", str(mini_project.root), flag, value, "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert f"{flag} == {value}, must be >= 1" in proc.stderr
    assert not mini_project.executed_dir.exists(), "nothing may run before the arguments are checked"


def test_claim_text_is_html_escaped_on_the_claims_page():
    claim = {
        "id": "fazel2018.mini.x", "kind": "theorem", "status": "holds", "chapter": "good",
        "statement": "g <= b <script>alert(1)</script> | & more", "source": "Fazel et al. 2018, <b>Lemma 1</b>",
        "values": {"max g/b": 0.5},
    }
    page = claims_markdown([claim])
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "g &lt;= b" in page
    assert "\\| &amp; more" in page, "pipes stay escaped for the table, ampersands become entities"


@pytest.mark.parametrize("content", ["", "{not json", '{"cells": 3}'], ids=["empty", "not-json", "not-a-notebook"])
def test_an_unreadable_source_notebook_is_named_and_nothing_runs(mini_project, content):
    """A source notebook that is not a notebook fails the build at once with a message naming it
    (today: a NotJSONError traceback naming no file)."""
    (mini_project.notebooks_dir / "broken.ipynb").write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "ltijepa", "book", "build", "--root", str(mini_project.root), "--only", "broken", "good",
         "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "broken.ipynb: not a readable notebook" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (mini_project.executed_dir / "good.ipynb").exists(), "nothing may run before the sources are checked"


def test_a_second_build_of_the_same_folder_waits_or_exits_naming_the_holder(mini_project):
    """One build per book folder: ``--no-wait`` exits 1 naming the running build's pid; without it
    the second build says whom it waits for and runs only after the first has finished."""
    marker = sleeping_notebook(mini_project, 8)
    first = start_build(mini_project, "--only", "slow")
    wait_for(marker.exists, "the first build's notebook to start")
    refused = run_build(mini_project, "--only", "good", "--no-wait", timeout=60)
    assert refused.returncode == 1 and f"another build (pid {first.pid})" in refused.stderr
    queued = start_build(mini_project, "--only", "good")
    out, err = queued.communicate(timeout=180)
    first.communicate(timeout=30)
    assert first.returncode == 0 and queued.returncode == 0, err
    assert f"waiting for the build of pid {first.pid}" in err


def test_a_killed_build_leaves_no_process_and_no_cache_entry(mini_project):
    """SIGKILL of the build: its worker dies with it (parent-death signal) and the kernel within
    seconds (ipykernel's parent poller); nothing writes into the cache afterwards."""
    marker = sleeping_notebook(mini_project, 60)
    build = start_build(mini_project, "--only", "slow")
    wait_for(marker.exists, "the notebook to start")
    assert len(processes_in(mini_project.root)) >= 3, "the build, its worker and the kernel run"
    os.kill(build.pid, signal.SIGKILL)
    build.communicate(timeout=10)
    wait_for(lambda: not processes_in(mini_project.root), "the worker and the kernel to die", timeout=15)
    time.sleep(1)
    assert not list(mini_project.cache_dir.glob("*.ipynb")), "no cache entry may appear after the kill"


def test_ctrl_c_exits_130_saying_interrupted_and_leaves_nothing(mini_project):
    marker = sleeping_notebook(mini_project, 60)
    build = start_build(mini_project, "--only", "slow")
    wait_for(marker.exists, "the notebook to start")
    os.kill(build.pid, signal.SIGINT)
    out, err = build.communicate(timeout=30)
    assert build.returncode == 130 and "interrupted" in err, err
    assert "Traceback" not in err
    wait_for(lambda: not processes_in(mini_project.root), "the worker and the kernel to die", timeout=15)
    assert not list(mini_project.root.rglob("*.tmp")), "nothing half-written"


@pytest.mark.parametrize("cell, error", [
    ("import time\ntime.sleep(60)", "CellTimeoutError"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "DeadKernelError"),
], ids=["timeout", "kernel-death"])
def test_a_timeout_or_a_dead_kernel_names_notebook_and_cell(mini_project, cell, error):
    write_notebook(mini_project.notebooks_dir / "stuck.ipynb", "x = 1", cell)
    proc = run_build(mini_project, "--only", "stuck", "--timeout", "3")
    assert proc.returncode == 1
    # cell 1 is the title, cell 2 the parameters, cell 3 "x = 1": the stuck cell is the 4th
    assert "notebooks/stuck.ipynb, cell 4" in proc.stderr and error in proc.stderr, proc.stderr


def test_the_kernel_runs_the_project_s_own_package(mini_project):
    """A second clone with a broken ``claims.py`` fails its build: the kernel imports the clone's
    ``src/ltijepa`` (the code the cache key hashes), not the installed one."""
    claims = mini_project.src_dir / "claims.py"
    claims.write_text(claims.read_text() + "\n\ndef theorem(*args, **kwargs):\n    raise RuntimeError('the clone is broken')\n")
    proc = run_build(mini_project, "--only", "good")
    assert proc.returncode == 1 and "the clone is broken" in proc.stderr, proc.stderr


def test_the_build_log_shows_progress_and_results_not_kernel_warnings(mini_project):
    proc = subprocess.run(
        [sys.executable, "-m", "ltijepa", "book", "build", "--root", str(mini_project.root), "--only", "good"],
        capture_output=True, text=True, timeout=180,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "ok   good" in log
    assert "without encryption" not in log and "WARNING" not in log, log
