"""A miniature book project in a temporary folder, to test the pipeline end to end fast.

Imported by the tests of this folder (``from minibook import ...``); the fixture is
re-exported by ``conftest.py``.
"""

import json
import shutil
import textwrap
from pathlib import Path

import nbformat
from ltijepa.book.project import Project

ROOT = Path(__file__).resolve().parents[2]

TOC = """\
format: jb-book
root: intro
chapters:
{chapters}  - file: claims
  - file: report
  - file: bibliography
"""


def write_notebook(path: Path, *cells: str, parameters: str = 'profile: str = "full"\nseed: int = 0') -> Path:
    """A notebook: a title, a parameters cell, then one code cell per string in ``cells``."""
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(f"# {path.stem}"),
            *(nbformat.v4.new_code_cell(p, metadata={"tags": ["parameters"]}) for p in [parameters] if p is not None),
            *(nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells),
        ],
        metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    )
    nbformat.write(nb, path)
    return path


def set_toc(project: Project, names: list[str]) -> None:
    chapters = "".join(f"  - file: notebooks/{name}\n" for name in names)
    (project.book_dir / "_toc.yml").write_text(TOC.format(chapters=chapters))


GOOD_CELLS = (
    "from ltijepa import claims",
    "claims.theorem('fazel2018.mini.holds', 1 + 1 == 2, statement='1 + 1 = 2', source='Fazel et al. 2018, test')",
    "claims.reproduce('yu2025.mini.value', paper=9, ours=9, atol=0, source='Fazel et al. 2018, test')",
)


def make_mini_project(tmp_path: Path) -> Project:
    """A book with one passing notebook, ``good``, and the real _config.yml and bibliography."""
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "book").mkdir()
    # a clone's own package: the kernels must import this copy, not the installed ltijepa
    shutil.copytree(ROOT / "src" / "ltijepa", root / "src" / "ltijepa", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "src" / "ltijepa" / "module.py").write_text("x = 1\n")
    (root / "requirements").mkdir()
    (root / "requirements" / "lock.txt").write_text("numpy==2.4.6\n")
    shutil.copyfile(ROOT / "_config.yml", root / "_config.yml")
    shutil.copyfile(ROOT / "book" / "references.bib", root / "book" / "references.bib")
    (root / "book" / "intro.md").write_text("# Mini book\n\nCommit **{{ commit }}**.\n")
    (root / "book" / "claims.md").write_text("# Claims\n")
    (root / "book" / "report.md").write_text("# Execution report\n")
    shutil.copyfile(ROOT / "book" / "bibliography.md", root / "book" / "bibliography.md")
    project = Project(root)
    write_notebook(project.notebooks_dir / "good.ipynb", *GOOD_CELLS)
    set_toc(project, ["good"])
    return project


def tree_digest(directory: Path) -> dict:
    """Relative path -> bytes of every file below ``directory`` (to prove it was not touched)."""
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def read_json(path: Path):
    return json.loads(path.read_text())
