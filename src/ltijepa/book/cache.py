"""The content cache of executed notebooks.

A notebook is re-executed only when its cache key changes. The key is a SHA-256 over
everything the output can depend on (the README, "The book build"):

- the notebook with outputs and execution counts stripped (sources, cell metadata, kernel);
- every file under ``src/ltijepa`` (path and bytes; byte-code caches excluded);
- the injected parameters (``profile``, ``seed``);
- the lock file ``requirements/lock.txt``;
- the Python version and implementation.

Unlike Jupyter Book's own cache (which hashes code cells only), an edit to ``src/`` therefore
invalidates every notebook. Only successful executions are stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from pathlib import Path

__all__ = ["KEY_VERSION", "cache_key", "NotebookCache"]

#: Bump when the pipeline changes what an executed notebook contains.
KEY_VERSION = "ltijepa-book-cache-1"

_SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def _notebook_digest(notebook: Path) -> bytes:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
        cell.pop("id", None)
    kept = {"cells": nb.get("cells", []), "kernelspec": nb.get("metadata", {}).get("kernelspec")}
    return json.dumps(kept, sort_keys=True).encode()


def _tree_files(directory: Path) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        files.extend(
            Path(dirpath) / f for f in sorted(filenames) if Path(f).suffix not in _SKIP_SUFFIXES
        )
    return files


def cache_key(notebook: Path, *, src_dir: Path, lock_file: Path, params: dict) -> str:
    """The cache key of executing ``notebook`` with ``params`` against ``src_dir``.

    Parameters
    ----------
    notebook : Path
        The source notebook.
    src_dir : Path
        The package source tree; every file under it enters the key.
    lock_file : Path
        The pinned requirements; a missing file enters as empty.
    params : dict
        The parameters papermill injects (JSON-serialisable).

    Returns
    -------
    str
        A 64-character hexadecimal SHA-256 digest.
    """
    h = hashlib.sha256()

    def part(label: str, data: bytes) -> None:
        h.update(label.encode() + b"\0" + len(data).to_bytes(8, "little") + data)

    part("version", KEY_VERSION.encode())
    part("notebook", _notebook_digest(notebook))
    for path in _tree_files(src_dir):
        part("src:" + path.relative_to(src_dir).as_posix(), path.read_bytes())
    part("params", json.dumps(params, sort_keys=True).encode())
    part("lock", lock_file.read_bytes() if lock_file.is_file() else b"")
    part("python", f"{platform.python_implementation()} {platform.python_version()}".encode())
    return h.hexdigest()


class NotebookCache:
    """A directory of executed notebooks named by cache key, with a JSON record beside each."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.ipynb", self.directory / f"{key}.json"

    def get(self, key: str) -> tuple[Path, dict] | None:
        """The stored notebook and its record, or ``None`` when ``key`` is not cached."""
        notebook, record = self._paths(key)
        if notebook.is_file() and record.is_file():
            return notebook, json.loads(record.read_text())
        return None

    def put(self, key: str, notebook: Path, record: dict) -> None:
        """Store a copy of ``notebook`` and its ``record`` (a JSON dict) under ``key``.

        Both files are written atomically: a reader never sees half a file.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        target_nb, target_record = self._paths(key)
        _write_atomic(target_nb, notebook.read_bytes())
        _write_atomic(target_record, json.dumps(record, indent=1).encode())


def _write_atomic(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, target)
