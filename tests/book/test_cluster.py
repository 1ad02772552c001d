"""The book built on a real Dask cluster (``ltijepa book build --scheduler ADDRESS``).

A scheduler and two workers run as ``dask scheduler`` / ``dask worker`` processes on 127.0.0.1
(the ``dask_cluster`` fixture of ``tests/conftest.py``); nothing is mocked. The build through
them publishes the claims of a local build and names each notebook's worker in the report; a
worker SIGKILLed mid-notebook costs a retry on the other worker; an unreachable scheduler fails
the build within seconds, naming the address.
"""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ltijepa.book.build import build
from ltijepa.errors import BuildError

from minibook import read_json, set_toc, write_notebook

pytestmark = pytest.mark.slow

#: A second chapter whose claim value comes from its seed, so both builds must agree on it.
SEEDED_CELLS = (
    "import numpy as np\nfrom ltijepa import claims",
    "claims.reproduce('yu2025.mini.seeded', paper=0.5, ours=float(np.random.default_rng(seed).random()), atol=0.5, "
    "source='Fazel et al. 2018, test')",
)


def cli_build(project, *args, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ltijepa", "book", "build", "--root", str(project.root), "--quiet", *args],
        cwd=project.root, capture_output=True, text=True, timeout=timeout,
    )


def test_a_cluster_build_publishes_the_claims_of_a_local_build_and_names_the_workers(mini_project, dask_cluster):
    write_notebook(mini_project.notebooks_dir / "seeded.ipynb", *SEEDED_CELLS)
    set_toc(mini_project, ["good", "seeded"])
    cluster = dask_cluster()

    proc = cli_build(mini_project, "--scheduler", cluster.address)
    assert proc.returncode == 0, proc.stderr
    on_cluster = read_json(mini_project.build_dir / "claims.json")
    report = read_json(mini_project.build_dir / "report.json")
    assert {row["notebook"]: row["cache_hit"] for row in report} == {"good": False, "seeded": False}
    assert all(row["worker"] in cluster.workers for row in report), report

    local = build(mini_project, profile="ci", jobs=1, progress=False, force=True)
    assert local.claims == on_cluster
    assert len(on_cluster) == 3
    assert [row["worker"] for row in read_json(mini_project.build_dir / "report.json")] == [None, None]


def test_a_worker_killed_mid_notebook_is_survived_on_the_other_worker(mini_project, dask_cluster):
    """SIGKILL of the worker process whose kernel sleeps in the notebook: the scheduler runs the
    notebook again on the other worker, and the build passes naming that one."""
    pid_file = mini_project.root / "worker.pid"
    write_notebook(mini_project.notebooks_dir / "slow.ipynb", "import os, pathlib, time",
                   f"pathlib.Path({str(pid_file)!r}).write_text(str(os.getppid()))\ntime.sleep(6)")
    cluster = dask_cluster()
    killed = []

    def kill_the_first_worker():
        deadline = time.monotonic() + 120
        while not pid_file.is_file() or not pid_file.read_text():
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)
        pid = int(pid_file.read_text())  # the kernel's parent: the worker that runs the notebook
        killed.append(cluster.worker_of(pid))
        os.kill(pid, 9)

    killer = threading.Thread(target=kill_the_first_worker)
    killer.start()
    result = build(mini_project, profile="ci", only=["slow"], progress=False, scheduler=cluster.address)
    killer.join()
    [run] = result.runs
    assert killed, "the notebook never started"
    assert run.status == "passed", run.error
    assert run.worker in cluster.workers and run.worker != killed[0]
    assert cluster.workers[killed[0]].wait(timeout=10) == -9


def test_a_notebook_whose_workers_die_twice_fails_the_build_naming_it_and_the_worker(mini_project, dask_cluster):
    write_notebook(mini_project.notebooks_dir / "doomed.ipynb", "import os, signal",
                   "os.kill(os.getppid(), signal.SIGKILL)")  # the kernel kills its worker
    cluster = dask_cluster()
    with pytest.raises(BuildError, match=r"doomed\.ipynb: its Dask worker died .* the last was tcp://127\.0\.0\.1:") as info:
        build(mini_project, profile="ci", only=["doomed"], progress=False, scheduler=cluster.address)
    assert info.value.notebook == "doomed.ipynb"
    assert all(proc.wait(timeout=10) == -9 for proc in cluster.workers.values())


def test_an_unreachable_scheduler_fails_at_once_naming_the_address(mini_project, unreachable_address):
    start = time.monotonic()
    proc = cli_build(mini_project, "--scheduler", unreachable_address, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert f"cannot reach the Dask scheduler at '{unreachable_address}'" in proc.stderr
    assert time.monotonic() - start < 20
    assert not mini_project.executed_dir.exists() or not any(mini_project.executed_dir.iterdir())

    # also when the cache has every notebook: the scheduler is reached first
    build(mini_project, profile="ci", only=["good"], jobs=1, progress=False)
    start = time.monotonic()
    with pytest.raises(BuildError, match=unreachable_address):
        build(mini_project, profile="ci", only=["good"], progress=False, scheduler=unreachable_address)
    assert time.monotonic() - start < 15


def test_the_environment_names_the_scheduler_when_the_flag_does_not(mini_project, unreachable_address):
    proc = subprocess.run(
        [sys.executable, "-m", "ltijepa", "book", "build", "--root", str(mini_project.root), "--quiet"],
        cwd=mini_project.root, capture_output=True, text=True, timeout=60,
        env={**os.environ, "LTIJEPA_SCHEDULER": unreachable_address},
    )
    assert proc.returncode == 1 and unreachable_address in proc.stderr


def test_without_a_scheduler_nothing_imports_distributed(mini_project):
    """The local build and a local ``parallel.map`` stay dependency-light."""
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from ltijepa.book.build import build\nfrom ltijepa.book.project import Project\nfrom ltijepa import cli, parallel\n"
        f"build(Project(Path({str(mini_project.root)!r})), only=['good'], jobs=1, progress=False)\n"
        "assert parallel.map(abs, [-1, 2], processes=2) == [1, 2]\n"
        "print('distributed' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "LTIJEPA_SCHEDULER"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "False"


def test_a_worker_whose_kernels_would_run_other_code_is_refused(mini_project, dask_cluster):
    """The cache key hashes the build's src/ltijepa; a worker whose kernels import another
    ltijepa (here: the installed one, not the mini project's copy with its extra module) says so
    instead of executing."""
    from ltijepa.book.cache import package_digest
    from ltijepa.book.cluster import connect, kernel_package_mismatch

    installed = Path(__file__).resolve().parents[2] / "src" / "ltijepa"
    with connect(dask_cluster().address) as client:
        other = client.submit(kernel_package_mismatch, package_digest(mini_project.src_dir), pure=False).result()
        same = client.submit(kernel_package_mismatch, package_digest(installed), pure=False).result()
    assert same is None
    assert f"would import ltijepa from {installed}" in other and "not the build's src/ltijepa" in other


def test_a_scheduler_without_workers_fails_the_build_instead_of_waiting_forever(mini_project, dask_cluster, monkeypatch):
    from ltijepa.book import cluster

    monkeypatch.setattr(cluster, "WORKER_SECONDS", 2)  # the default, 120 s, is a test's whole budget
    empty = dask_cluster(resources=())
    start = time.monotonic()
    with pytest.raises(BuildError, match=f"the Dask scheduler at '{empty.address}' has no worker after 2 s"):
        build(mini_project, profile="ci", progress=False, scheduler=empty.address)
    assert time.monotonic() - start < 30
