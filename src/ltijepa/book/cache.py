"""The content cache of executed notebooks.

A notebook is re-executed only when its cache key changes. The key is a SHA-256 over
everything the output can depend on (the README, "The book build"):

- the notebook with outputs and execution counts stripped (sources, cell metadata, kernel);
- every file under ``src/ltijepa`` (path and bytes; byte-code caches excluded);
- the injected parameters (``profile``, ``seed``);
- the pins: ``requirements/lock.txt`` and ``requirements/peers.txt`` (the peer libraries
  installed without their dependencies);
- the Python version and implementation.

Unlike Jupyter Book's own cache (which hashes code cells only), an edit to ``src/`` therefore
invalidates every notebook. Only successful executions are stored.

Integrity: every entry's record carries the SHA-256 of its notebook; an entry whose record is
unreadable, whose notebook is missing, or whose notebook does not match the checksum (truncated,
half-written, edited) is reported, discarded and the notebook executed again. Both files are
written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from pathlib import Path

__all__ = ["KEY_VERSION", "cache_key", "package_digest", "NotebookCache", "sha256", "write_atomic", "write_json"]

#: Bump when the pipeline changes what an executed notebook contains.
KEY_VERSION = "ltijepa-book-cache-2"

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


def package_digest(package_dir: Path) -> str:
    """A SHA-256 of every file of the package tree ``package_dir`` that :func:`cache_key` reads:
    two trees with one digest hold the same code.

    Parameters
    ----------
    package_dir : Path
        A package folder, e.g. ``src/ltijepa``.
    """
    h = hashlib.sha256()
    for path in _tree_files(package_dir):
        data = path.read_bytes()
        h.update(path.relative_to(package_dir).as_posix().encode() + b"\0" + len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


def cache_key(notebook: Path, *, src_dir: Path, lock_files: tuple[Path, ...], params: dict) -> str:
    """The cache key of executing ``notebook`` with ``params`` against ``src_dir``.

    Parameters
    ----------
    notebook : Path
        The source notebook.
    src_dir : Path
        The package source tree; every file under it enters the key.
    lock_files : tuple of Path
        The pinned requirements, in order; a missing file enters as empty.
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
    for lock_file in lock_files:
        part("lock:" + lock_file.name, lock_file.read_bytes() if lock_file.is_file() else b"")
    part("python", f"{platform.python_implementation()} {platform.python_version()}".encode())
    return h.hexdigest()


class NotebookCache:
    """A directory of executed notebooks named by cache key, with a JSON record beside each."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.ipynb", self.directory / f"{key}.json"

    def get(self, key: str) -> tuple[tuple[Path, dict] | None, str | None]:
        """``((notebook, record), None)`` for a sound entry, else ``(None, problem)``.

        ``problem`` is ``None`` when ``key`` is simply not cached, and otherwise says what is
        wrong with the entry (unreadable record, missing notebook, checksum mismatch); such an
        entry is deleted, so the caller executes the notebook again.
        """
        notebook, record_path = self._paths(key)
        if not notebook.exists() and not record_path.exists():
            return None, None
        try:
            record = json.loads(record_path.read_text())
            expected = record["sha256"]
            problem = None if sha256(notebook.read_bytes()) == expected else (
                f"{notebook.name} does not match the checksum in {record_path.name}")
        except FileNotFoundError as exc:
            problem = f"{Path(exc.filename).name} is missing"
        except (ValueError, KeyError, TypeError) as exc:
            problem = f"{record_path.name} is unreadable ({type(exc).__name__}: {exc})"
        if problem is None:
            return (notebook, record), None
        notebook.unlink(missing_ok=True)
        record_path.unlink(missing_ok=True)
        return None, f"cache entry {key[:12]} discarded: {problem}"

    def put(self, key: str, data: bytes, record: dict) -> None:
        """Store the executed notebook ``data`` (its file's bytes) and its ``record`` (a JSON
        dict) under ``key``.

        Both files are written atomically: a reader never sees half a file.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        target_nb, target_record = self._paths(key)
        write_atomic(target_nb, data)
        write_atomic(target_record, json.dumps({**record, "sha256": sha256(data)}, indent=1).encode())


def sha256(data: bytes) -> str:
    """The hexadecimal SHA-256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file in the same folder and a rename.

    Parameters
    ----------
    target : Path
        The file to (re)write; a reader sees its old or its new bytes, never a mix.
    data : bytes
        The new contents.
    """
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(target: Path, data) -> None:
    """Write ``data`` as indented UTF-8 JSON to ``target`` atomically (:func:`write_atomic`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode())
