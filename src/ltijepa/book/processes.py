"""The build's processes: one build per book folder, and children that die with their parent.

- :func:`build_lock`: an OS file lock (``fcntl.flock``) on ``book/.cache/build.lock``. A second
  build of the same book folder waits for the first (saying whose pid it waits for) or, with
  ``wait=False``, stops at once naming it. The kernel releases the lock when its holder exits,
  however it exits (SIGKILL included), so a stale lock cannot exist.
- :func:`die_with_parent`: the parent-death signal (Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``)
  for worker processes and for Jupyter Book, so killing a build kills the processes it started
  instead of leaving them to write into the cache. Kernels started by a worker stop by
  themselves within a second of their worker's death (ipykernel's parent poller).
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ltijepa.errors import BuildError

__all__ = ["build_lock", "die_with_parent"]

_PR_SET_PDEATHSIG = 1


def _holder(fd: int) -> str:
    """The pid the lock's holder wrote into the lock file ("unknown" before it wrote)."""
    text = os.pread(fd, 64, 0).decode(errors="replace").strip()
    return text or "unknown"


@contextmanager
def build_lock(path: Path, *, wait: bool = True, say: Callable[[str], None] = print) -> Iterator[None]:
    """Hold the exclusive build lock ``path`` for the body of the ``with``.

    Parameters
    ----------
    path : Path
        The lock file (created if missing); its content is the holder's pid.
    wait : bool
        Wait for another holder to finish (after saying so); ``False`` raises instead.
    say : callable
        Where the waiting message goes.

    Raises
    ------
    BuildError
        With ``wait=False``, when another process holds the lock; the message names its pid.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise BuildError(
                    f"another build (pid {holder}) is running in this book folder (lock {path}); "
                    "wait for it, or run without --no-wait to queue behind it"
                ) from None
            say(f"waiting for the build of pid {holder} to finish (lock {path}) ...")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def die_with_parent(parent_pid: int | None = None) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; no-op elsewhere).

    Called in a child before it does any work (a pool initializer, a ``preexec_fn``). When
    ``parent_pid`` is given and the parent already died before the request, exit at once.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)
