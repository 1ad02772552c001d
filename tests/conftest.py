"""Shared test configuration: the hypothesis profiles, and a real Dask cluster on 127.0.0.1."""

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

# "ci" (default) is derandomized: a property test is a regression test that cannot flake;
# "nightly" explores more (HYPOTHESIS_PROFILE=nightly make test).
settings.register_profile("ci", derandomize=True, max_examples=60, deadline=None, print_blob=True)
settings.register_profile("nightly", max_examples=600, deadline=None, print_blob=True)
settings.load_profile(os.getenv("HYPOTHESIS_PROFILE", "ci"))


TESTS = Path(__file__).resolve().parent


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (the OS's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class DaskCluster:
    """A scheduler and its workers, each a real process (``--no-nanny``: the pid is the worker)."""

    address: str
    scheduler: subprocess.Popen
    workers: dict[str, subprocess.Popen]  # worker address -> its process

    def worker_of(self, pid: int) -> str:
        """The address of the worker whose process is ``pid``."""
        return next(address for address, proc in self.workers.items() if proc.pid == pid)


def _start(args: list[str], log: Path) -> subprocess.Popen:
    # the tests' folders on the path, so workers can import what a test submits by reference
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS / "book"), os.environ.get("PYTHONPATH", "")])}
    with open(log, "wb") as out:
        return subprocess.Popen([str(Path(sys.executable).parent / "dask"), *args], stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)


@pytest.fixture
def dask_cluster(tmp_path_factory):
    """``start(resources=None)`` -> :class:`DaskCluster` with two workers of one thread each;
    ``resources`` (a list, one string per worker, e.g. ``["GPU=1", None]``) for
    ``--resources``. Every process (and its kernels) is killed at teardown."""
    started: list[subprocess.Popen] = []

    def start(resources=(None, None)) -> DaskCluster:
        import distributed

        logs = tmp_path_factory.mktemp("dask")
        port = free_port()
        address = f"tcp://127.0.0.1:{port}"
        scheduler = _start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard", "--no-show"],
                           logs / "scheduler.log")
        started.append(scheduler)
        procs = []
        for i, resource in enumerate(resources):
            extra = ["--resources", resource] if resource else []
            procs.append(_start(["worker", address, "--host", "127.0.0.1", "--no-nanny", "--nthreads", "1",
                                 "--no-dashboard", "--name", f"worker-{i}", *extra], logs / f"worker-{i}.log"))
        started.extend(procs)
        with distributed.Client(address, timeout="60s", set_as_default=False) as client:
            if procs:
                client.wait_for_workers(len(procs), timeout=60)
            pids = client.run(os.getpid)  # address -> pid
        by_pid = {proc.pid: proc for proc in procs}
        return DaskCluster(address, scheduler, {address: by_pid[pid] for address, pid in pids.items()})

    yield start
    for proc in reversed(started):
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the process and the kernels it started
        except ProcessLookupError:
            pass
        proc.wait()


@pytest.fixture
def unreachable_address() -> str:
    """The address of a Dask scheduler that does not exist (a free port of 127.0.0.1)."""
    return f"tcp://127.0.0.1:{free_port()}"
