"""Where things are: the paths of a book project and its notebooks."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from ltijepa.errors import BuildError

__all__ = ["Project"]


@dataclass(frozen=True)
class Project:
    """The paths of a book project rooted at ``root``.

    The layout is that of the README: ``notebooks/`` (sources), ``book/`` (hand-written
    pages and ``_toc.yml``), ``_config.yml``, ``src/ltijepa`` and the pins
    ``requirements/lock.txt`` and ``requirements/peers.txt`` (all hashed into the cache key). Generated: ``book/executed/``, ``book/.cache/`` and
    ``book/_build/``; ``output`` moves the last two elsewhere (the tests build into a
    temporary folder while sharing the cache).
    """

    root: Path
    output: Path | None = None

    @classmethod
    def discover(cls, start: Path | None = None, *, output: Path | None = None) -> "Project":
        """Find the project containing ``start`` (default: the current directory)."""
        start = Path.cwd() if start is None else Path(start)
        for path in [start.resolve(), *start.resolve().parents]:
            if (path / "_config.yml").is_file() and (path / "notebooks").is_dir():
                return cls(path, output)
        raise BuildError(
            f"no book project (a folder with _config.yml and notebooks/) at or above {start}"
        )

    @property
    def notebooks_dir(self) -> Path:
        return self.root / "notebooks"

    @property
    def book_dir(self) -> Path:
        return self.root / "book"

    @property
    def config_file(self) -> Path:
        return self.root / "_config.yml"

    @property
    def src_dir(self) -> Path:
        return self.root / "src" / "ltijepa"

    @property
    def lock_files(self) -> tuple[Path, Path]:
        """The exact pins (``lock.txt``) and the peer libraries installed without dependencies (``peers.txt``)."""
        return (self.root / "requirements" / "lock.txt", self.root / "requirements" / "peers.txt")

    @property
    def executed_dir(self) -> Path:
        return (self.output or self.book_dir) / "executed"

    @property
    def cache_dir(self) -> Path:
        return self.book_dir / ".cache"

    @property
    def build_dir(self) -> Path:
        return (self.output or self.book_dir) / "_build"

    @property
    def html_dir(self) -> Path:
        return self.build_dir / "html"

    @property
    def build_lock_file(self) -> Path:
        """The lock one build of this book folder holds while it runs."""
        return self.cache_dir / "build.lock"

    @property
    def failed_report_file(self) -> Path:
        """Where a failed build writes its report (the published ``report.json`` stays)."""
        return self.build_dir / "failed-report.json"

    def notebooks(self, only: list[str] | None = None) -> list[Path]:
        """The source notebooks, sorted by name; ``only`` restricts to these names (stems)."""
        found = sorted(self.notebooks_dir.glob("*.ipynb"))
        if not only:
            return found
        by_name = {p.stem: p for p in found}
        wanted = [name.removesuffix(".ipynb").split("/")[-1] for name in only]
        missing = [name for name in wanted if name not in by_name]
        if missing:
            raise BuildError(f"no notebook named {missing} in {self.notebooks_dir}; have {sorted(by_name)}")
        return [by_name[name] for name in wanted]

    def commit(self) -> str:
        """The git commit of the working tree (``-dirty`` appended when it has changes)."""
        try:
            out = subprocess.run(
                ["git", "describe", "--always", "--dirty", "--abbrev=12"],
                cwd=self.root, capture_output=True, text=True, check=True,
            )
        except (OSError, subprocess.CalledProcessError):
            return "unknown"
        return out.stdout.strip() or "unknown"
