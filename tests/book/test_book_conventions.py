"""Conventions of the committed repository: clean notebooks, toc, lock, README."""

import ast
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml

from ltijepa.book.outputs import check_notebook
from ltijepa.book.project import Project
from ltijepa.book.site import check_toc

ROOT = Path(__file__).resolve().parents[2]


def committed_notebooks() -> list[Path]:
    """Notebooks git tracks (or, outside git, every notebook in notebooks/)."""
    try:
        out = subprocess.run(["git", "ls-files", "notebooks/*.ipynb"], cwd=ROOT, capture_output=True, text=True, check=True)
        names = out.stdout.split()
    except (OSError, subprocess.CalledProcessError):
        names = []
    return [ROOT / n for n in names] or sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", committed_notebooks(), ids=lambda p: p.stem)
def test_committed_notebook_has_no_outputs_and_one_parameters_cell(notebook):
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    with_outputs = [i + 1 for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not with_outputs, f"{notebook.name}: cells {with_outputs} have outputs; commit notebooks stripped"
    check_notebook(notebook)  # exactly one `parameters` cell defining profile and seed
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "first cell must be the title"


def figure_cell_problems(source: str) -> list[str]:
    """Why a code cell with ``mystnb.figure`` metadata would not publish as exactly one figure:
    MyST-NB wraps *every* output of such a cell in a figure of the cell's name, so a claim's
    display, a print or a trailing expression becomes a second figure with the same target
    (Sphinx: "Duplicate explicit target name", which fails the build)."""
    tree = ast.parse(source)
    calls = [ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)]
    problems = [f"calls {name}" for name in calls if name.startswith("claims.") or name in ("print", "display")]
    if calls.count("plt.show") != 1:
        problems.append(f"shows {calls.count('plt.show')} figures, must show one")
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr) and not (isinstance(last.value, ast.Call) and ast.unparse(last.value.func) == "plt.show"):
        problems.append("ends in an expression (its value is displayed)")
    return problems


def test_a_figure_cell_with_a_claim_or_a_value_is_caught():
    assert figure_cell_problems("fig = 1\nplt.show()") == []
    assert figure_cell_problems("plt.show()\nclaims.theorem('x', True)") == [
        "calls claims.theorem", "ends in an expression (its value is displayed)"]
    assert figure_cell_problems("plt.show()\n{'a': 1}") == ["ends in an expression (its value is displayed)"]
    assert figure_cell_problems("x = 1") == ["shows 0 figures, must show one"]


@pytest.mark.parametrize("notebook", committed_notebooks(), ids=lambda p: p.stem)
def test_every_figure_cell_outputs_one_figure(notebook):
    nb = nbformat.read(notebook, as_version=4)
    problems = {i + 1: found for i, c in enumerate(nb.cells)
                if c.cell_type == "code" and c.metadata.get("mystnb", {}).get("figure")
                and (found := figure_cell_problems(c.source))}
    assert not problems, f"{notebook.name}: figure cells (1-based) that would publish more than one figure: {problems}"


def test_toc_lists_exactly_the_notebooks():
    check_toc(Project(ROOT), [p.stem for p in sorted((ROOT / "notebooks").glob("*.ipynb"))])


def test_lock_pins_every_package_exactly_and_the_cpu_torch():
    lines = [l for l in (ROOT / "requirements" / "lock.txt").read_text().splitlines() if l and not l.startswith("#")]
    assert all("==" in l for l in lines), [l for l in lines if "==" not in l]
    pins = dict(l.split("==") for l in lines)
    assert pins["torch"] == "2.13.0"  # the local CPU build; any other spec pulls CUDA wheels
    assert pins["jupyter-book"].startswith("1.")  # JB2 cannot build HTML offline


def test_environment_yml_installs_the_lock_and_the_package():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == ["-r requirements/lock.txt", "-e ."]


def test_readme_shows_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme and "make test" in readme
