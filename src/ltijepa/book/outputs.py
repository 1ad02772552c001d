"""Reading notebooks: the parameters cell of a source, the errors and claims of an executed one."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ltijepa.claims import METADATA_KEY
from ltijepa.errors import BuildError

__all__ = [
    "REQUIRED_PARAMETERS",
    "CellError",
    "check_notebook",
    "find_error",
    "stopped_cell",
    "extract_claims",
]

#: Names every notebook's ``parameters`` cell must define (the README's conventions).
REQUIRED_PARAMETERS = ("profile", "seed")


@dataclass(frozen=True)
class CellError:
    """An error found in an executed notebook.

    ``cell`` is the 1-based number of the cell in the *source* notebook (the cell papermill
    injects is not counted), ``execution_count`` the ``In [n]`` label.
    """

    cell: int | None
    execution_count: int | None
    ename: str
    evalue: str
    first_line: str = ""

    def describe(self) -> str:
        """``cell 7 (In [6], "claims.theorem(...)"): TheoremFailed: ...``"""
        where = "cell ?" if self.cell is None else f"cell {self.cell}"
        details = []
        if self.execution_count is not None:
            details.append(f"In [{self.execution_count}]")
        if self.first_line:
            details.append(repr(self.first_line[:60]))
        if details:
            where += " (" + ", ".join(details) + ")"
        return f"{where}: {self.ename}: {self.evalue}"


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def check_notebook(path: Path) -> None:
    """Check that ``path`` is a notebook with exactly one ``parameters`` cell defining profile and seed.

    Raises
    ------
    BuildError
        Naming the notebook (``notebook`` attribute) and what is wrong.
    """
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises NotJSONError, ValidationError, UnicodeDecodeError...
        raise BuildError(f"{path.name}: not a readable notebook ({type(exc).__name__}: {str(exc)[:200]})",
                         notebook=path.name) from exc
    cells = [c for c in nb.cells if "parameters" in _tags(c)]
    if len(cells) != 1:
        raise BuildError(f"{path.name}: {len(cells)} cells tagged 'parameters', must be exactly 1", notebook=path.name)
    try:
        tree = ast.parse(cells[0].source)
    except SyntaxError as exc:
        raise BuildError(f"{path.name}: the parameters cell is not valid Python: {exc}", notebook=path.name) from exc
    names = {
        target.id
        for node in tree.body
        for target in (node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)])
        if isinstance(target, ast.Name)
    }
    missing = [p for p in REQUIRED_PARAMETERS if p not in names]
    if missing:
        raise BuildError(f"{path.name}: the parameters cell does not define {missing}", notebook=path.name)


_INSERTED_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


def _source_number(nb, index: int) -> int:
    """1-based number in the source notebook of executed cell ``index``.

    Cells papermill inserts (the injected parameters, the error banner) are not counted.
    """
    inserted = sum(1 for c in nb.cells[:index] if _INSERTED_TAGS & set(_tags(c)))
    return index - inserted + 1


def _first_line(cell) -> str:
    return next((line for line in cell.source.splitlines() if line.strip()), "")


def find_error(nb) -> CellError | None:
    """The first error output (or cell papermill marked failed) of executed notebook ``nb``."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        first_line = _first_line(cell)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return CellError(
                    _source_number(nb, index), cell.get("execution_count"),
                    output.get("ename", "Error"), output.get("evalue", ""), first_line,
                )
        status = cell.get("metadata", {}).get("papermill", {}).get("status")
        if status == "failed":
            return CellError(
                _source_number(nb, index), cell.get("execution_count"),
                "CellFailed", "papermill marked this cell failed", first_line,
            )
    return None


def stopped_cell(nb, ename: str, evalue: str) -> CellError | None:
    """The cell of ``nb`` at which its execution stopped, reported as ``ename: evalue``.

    For a timeout or a kernel death, which papermill raises instead of recording: the first
    cell with an error output (nbclient leaves one for a timeout), else the last cell papermill
    started (it stamps ``start_time`` in the cell's metadata; a kernel that died leaves no output).
    """
    started = None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            started = index
            break
        if cell.get("metadata", {}).get("papermill", {}).get("start_time") is not None:
            started = index
    if started is None:
        return None
    cell = nb.cells[started]
    return CellError(_source_number(nb, started), cell.get("execution_count"), ename, evalue, _first_line(cell))


def extract_claims(nb) -> list[dict]:
    """The claims recorded by :mod:`ltijepa.claims` in the outputs of executed notebook ``nb``."""
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            claim = output.get("metadata", {}).get(METADATA_KEY)
            if claim is not None:
                found.append(dict(claim))
    return found
