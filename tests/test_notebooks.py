"""One test per notebook: it executes in the ci profile through the book's own runner.

The runner is the one ``make book`` uses, with the same content cache (``book/.cache``), so
the book built after the tests reuses these executions instead of repeating them.
"""

from pathlib import Path

import pytest

from ltijepa.book.build import execute_notebooks
from ltijepa.book.project import Project

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.timeout(2400)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes_in_ci_profile(notebook, tmp_path):
    project = Project(ROOT, output=tmp_path)  # executed copies go to tmp; the cache is shared
    [run] = execute_notebooks(project, [notebook], profile="ci", seed=0, jobs=1, progress=False)
    assert run.status == "passed", run.error
    assert run.claims, f"{notebook.name} recorded no claim: every chapter checks something"
