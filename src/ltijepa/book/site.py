"""Building the HTML: assemble a Sphinx source tree, run Jupyter Book 1, swap on success.

The source tree is assembled in a temporary directory under ``book/_build``:

- the hand-written pages of ``book/`` (``intro.md``, ``claims.md``, ``report.md``, ...);
- the executed notebooks, stamped, at ``notebooks/<name>`` -- the same path as their
  source in the repository, so the launch buttons (Binder, Colab, JupyterLab) open the source;
- ``_config.yml``, with the commit and repository of the build as MyST substitutions.

Jupyter Book then builds with execution off, warnings as errors (``-W -n --keep-going``) and
fresh doctrees; the result replaces ``book/_build/html`` only when the build succeeded.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import yaml

from ltijepa.book.execute import NotebookRun
from ltijepa.book.cache import write_json
from ltijepa.book.pages import DOWNLOADS, claims_markdown, report_markdown, source_notebook, stamp_notebook
from ltijepa.book.processes import die_with_parent
from ltijepa.book.project import Project
from ltijepa.errors import BuildError

__all__ = ["PUBLISHED_JSON", "toc_files", "site_key", "build_site", "SITE_KEY_FILE", "KEPT_SOURCE"]

SITE_KEY_FILE = ".ltijepa-site-key"
#: Folder of the assembled source holding the notebooks for download (:data:`DOWNLOADS`); not
#: a Sphinx source: it is moved into the HTML after Jupyter Book ran.
DOWNLOAD_STAGE = "_downloads_staged"
#: The assembled Sphinx source of the published HTML, kept inside it (a hidden folder, not
#: deployed) for the PDF, which :mod:`ltijepa.book.pdf` builds from it without re-executing.
KEPT_SOURCE = ".source"
_GENERATED = {"_build", "executed", ".cache"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: The scripts sphinx-thebe (loaded by every Jupyter Book 1) puts on every page: a constant
#: holding a CDN URL (unpkg.com) and its loader. The book has no thebe button, so they go.
_THEBE_SCRIPTS = re.compile(r'<script>const THEBE_JS_URL = [^<]*</script>\s*|<script [^>]*src="[^"]*_static/sphinx-thebe\.js[^"]*"></script>\s*')


def toc_files(toc: Path) -> list[str]:
    """Every ``file:`` entry of the Jupyter Book table of contents ``toc`` (root included), in order."""
    data = yaml.safe_load(toc.read_text())
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    found.append(str(node[key]))
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return found


def check_toc(project: Project, notebooks: list[str]) -> None:
    """Raise :class:`BuildError` unless the toc lists exactly the notebooks of ``notebooks/``."""
    listed = {f.removesuffix(".ipynb") for f in toc_files(project.book_dir / "_toc.yml")}
    listed_nbs = {f.split("/", 1)[1] for f in listed if f.startswith("notebooks/")}
    missing = sorted(set(notebooks) - listed_nbs)
    extra = sorted(listed_nbs - set(notebooks))
    if missing or extra:
        raise BuildError(
            "book/_toc.yml and notebooks/ disagree: "
            + (f"not in the toc: {missing}; " if missing else "")
            + (f"in the toc but no notebook: {extra}" if extra else "")
        )


def _hand_written(project: Project) -> list[Path]:
    return sorted(
        p for p in project.book_dir.rglob("*")
        if p.is_file() and p.relative_to(project.book_dir).parts[0] not in _GENERATED
    )


def site_key(project: Project, runs: list[NotebookRun], *, commit: str, profile: str, seed: int) -> str:
    """A digest of everything the HTML depends on; equal keys mean the site is up to date.

    It covers the cache keys of the ``runs``, the ``commit``, ``profile`` and ``seed`` of the
    build, the hand-written pages of the ``project`` and the pipeline's own code.
    """
    h = hashlib.sha256()
    for part in (commit, profile, str(seed), *(f"{r.notebook}={r.key}" for r in runs)):
        h.update(part.encode() + b"\0")
    for path in [project.config_file, *_hand_written(project), *sorted(Path(__file__).parent.glob("*.py"))]:
        h.update(str(path).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _repository_url(project: Project, configured: str | None) -> str | None:
    """The ``origin`` remote as an https URL when it is on GitHub, else the configured URL."""
    try:
        out = subprocess.run(
            ["git", "remote", "get-url", "origin"], cwd=project.root, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        out = ""
    if out.startswith("git@github.com:"):
        out = "https://github.com/" + out.split(":", 1)[1]
    if out.startswith("https://github.com/"):
        return out.removesuffix(".git")
    return configured


def _assemble(project: Project, runs: list[NotebookRun], source: Path, *, commit: str, profile: str, seed: int, claims: list[dict]) -> None:
    for path in _hand_written(project):
        target = source / path.relative_to(project.book_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    config = yaml.safe_load(project.config_file.read_text())
    repository = config.setdefault("repository", {})
    repository["url"] = _repository_url(project, repository.get("url"))
    url = repository["url"]
    config.setdefault("parse", {}).setdefault("myst_substitutions", {}).update({
        "commit": commit,
        "profile": profile,
        "seed": seed,
        "repository_link": f"[{url.removeprefix('https://github.com/')}]({url})" if url else "a local checkout",
    })
    (source / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (source / "notebooks").mkdir(exist_ok=True)
    titles = {}  # in the order of the table of contents
    order = [f.removeprefix("notebooks/") for f in toc_files(project.book_dir / "_toc.yml")]
    for run in sorted(runs, key=lambda r: order.index(r.notebook) if r.notebook in order else len(order)):
        nb = nbformat.read(project.executed_dir / f"{run.notebook}.ipynb", as_version=4)
        titles[run.notebook] = _title(nb, run.notebook)
        stamped = stamp_notebook(nb, run, profile=profile, seed=seed, build_commit=commit)
        nbformat.write(stamped, source / "notebooks" / f"{run.notebook}.ipynb")
        for kind, notebook in (("executed", nb), ("source", source_notebook(nb))):
            target = source / DOWNLOAD_STAGE / DOWNLOADS[kind].format(name=run.notebook)
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, target)
    for page, body in (
        ("report.md", report_markdown(runs, profile=profile, seed=seed, commit=commit)),
        ("claims.md", claims_markdown(claims, titles)),
    ):
        path = source / page
        head = path.read_text() if path.is_file() else ""
        path.write_text(head.rstrip() + "\n\n" + body)


def _title(nb, default: str) -> str:
    """The first ``# heading`` of notebook ``nb``, or ``default``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return default


def _drop_thebe(html_dir: Path) -> None:
    """Remove sphinx-thebe's scripts (:data:`_THEBE_SCRIPTS`) from every page of ``html_dir``."""
    for page in html_dir.rglob("*.html"):
        text = page.read_text()
        stripped = _THEBE_SCRIPTS.sub("", text)
        if stripped != text:
            page.write_text(stripped)


def _jupyter_book(source: Path, output: Path, *, builder: str = "html") -> None:
    executable = Path(sys.executable).with_name("jupyter-book")
    command = [str(executable) if executable.is_file() else "jupyter-book"]
    command += ["build", str(source), "--path-output", str(output), "--builder", builder, "--all", "-W", "-n", "--keep-going"]
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    proc = subprocess.run(command, capture_output=True, text=True, env=env, preexec_fn=die_with_parent)
    log = _ANSI.sub("", proc.stdout + proc.stderr)
    (output / "jupyter-book.log").write_text(log)
    if proc.returncode != 0:
        tail = "\n".join(line for line in log.splitlines() if "WARNING" in line or "ERROR" in line)
        raise BuildError(
            f"jupyter-book build failed (exit {proc.returncode}); the previous HTML is untouched.\n"
            + (tail or log[-3000:])
        )


#: The ledger files published inside the HTML; ``book/_build/NAME`` links to ``html/NAME``.
PUBLISHED_JSON = ("claims.json", "report.json")


def _remove_stale(build_dir: Path) -> None:
    """Remove what a killed build left: staging folders and the swapped-out old HTML.

    Called under the build lock, so no other build is using them.
    """
    for leftover in [*build_dir.glob(".staging-*"), *build_dir.glob(".html-old-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def _link_published(build_dir: Path) -> None:
    """Make ``book/_build/claims.json`` and ``report.json`` links into ``html/`` (atomically)."""
    for name in PUBLISHED_JSON:
        link = build_dir / name
        if link.is_symlink() and os.readlink(link) == f"html/{name}":
            continue
        tmp = build_dir / f".{name}.link-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(f"html/{name}")
        os.replace(tmp, link)


def build_site(project: Project, runs: list[NotebookRun], claims: list[dict], report: list[dict], *, commit: str, profile: str, seed: int, force: bool = False) -> bool:
    """Build and publish ``book/_build/html`` with its claims and report; False when up to date.

    The new HTML, ``claims.json`` and ``report.json`` are staged together in one folder that
    takes the place of ``book/_build/html`` (the old folder is renamed aside, the new one into
    place), so the three always describe the same build; ``book/_build/claims.json`` and
    ``report.json`` are links into it. Leftovers of a killed build are removed first.

    Parameters
    ----------
    project : Project
        The book project.
    runs : list of NotebookRun
        The executed notebooks, in book order (their copies are in ``project.executed_dir``).
    claims : list of dict
        The claims of ``claims.json``, rendered on the claims page.
    report : list of dict
        The rows of ``report.json`` (one per notebook).
    commit, profile, seed
        Stamped on the intro page and on every chapter.
    force : bool
        Rebuild even when the site key says the HTML is up to date.

    Raises
    ------
    BuildError
        When Jupyter Book fails; ``book/_build/html`` is then left as it was.
    """
    key = site_key(project, runs, commit=commit, profile=profile, seed=seed)
    key_file = project.html_dir / SITE_KEY_FILE
    project.build_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale(project.build_dir)
    if not force and key_file.is_file() and key_file.read_text() == key:
        _link_published(project.build_dir)
        return False
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=project.build_dir))
    try:
        source, output = staging / "src", staging / "out"
        source.mkdir()
        output.mkdir()
        _assemble(project, runs, source, commit=commit, profile=profile, seed=seed, claims=claims)
        try:
            _jupyter_book(source, output)
        finally:
            if (output / "jupyter-book.log").is_file():  # not when interrupted before it ran
                shutil.copyfile(output / "jupyter-book.log", project.build_dir / "jupyter-book.log")
        new_html = output / "_build" / "html"
        _drop_thebe(new_html)
        for folder in (source / DOWNLOAD_STAGE).iterdir():
            os.replace(folder, new_html / folder.name)
        write_json(new_html / "claims.json", claims)
        write_json(new_html / "report.json", report)
        os.replace(source, new_html / KEPT_SOURCE)  # hook for ltijepa.book.pdf
        (new_html / SITE_KEY_FILE).write_text(key)
        old = project.build_dir / f".html-old-{os.getpid()}"
        if project.html_dir.exists():
            os.replace(project.html_dir, old)
        os.replace(new_html, project.html_dir)
        _link_published(project.build_dir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True
