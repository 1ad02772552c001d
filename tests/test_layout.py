"""The layout of the repository: the rules a reader relies on to go from a page to its code.

- every notebook has a chapter module ``ltijepa.chapters.<stem>`` that it imports, with one
  ``Config.for_profile``, and profile sizes live nowhere else;
- every ``{prf:...}`` label of a notebook is cited in a docstring of ``src/`` (page -> code and
  back) and no docstring points to a file that is not in the repository;
- topics are folders mirrored by ``tests/``; no library module is a chapter's driver in
  disguise (``*_experiments``, ``*_study``, ``*_checks``);
- one meaning per name: no public name exported by two subpackages, one set of exception
  classes (``ltijepa.errors``);
- every figure has a name and a caption, and claim sources cite papers, not file numbers.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
from collections import defaultdict
from pathlib import Path

import pytest

import ltijepa

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "ltijepa"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TOPICS = ("lqr", "multitask", "fedlqr", "bisim", "envs", "jepa", "planning", "diffcontrol", "chapters", "book")
PROFILE_MODULES = {SRC / "profiles.py"}
LABEL = re.compile(r"```\{prf:\w+\}[^\n]*\n(?::[^\n]*\n)*?:label:\s*(\S+)")


def source_files() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def docstrings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    nodes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    return [doc for doc in (ast.get_docstring(n) for n in nodes) if doc]


def cells(notebook: Path) -> list[dict]:
    return json.loads(notebook.read_text())["cells"]


def text(cell: dict) -> str:
    return "".join(cell["source"])


def in_chapters(path: Path) -> bool:
    return (SRC / "chapters") in path.parents


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_has_its_chapter_module_with_one_config(notebook):
    module_path = SRC / "chapters" / f"{notebook.stem}.py"
    assert module_path.exists(), f"{notebook.name} has no chapter module src/ltijepa/chapters/{notebook.stem}.py"
    module = importlib.import_module(f"ltijepa.chapters.{notebook.stem}")
    assert f"notebooks/{notebook.name}" in (module.__doc__ or ""), f"{module_path.name}'s docstring does not name its notebook"
    tree = ast.parse(module_path.read_text())
    configs = [n.name for n in tree.body if isinstance(n, ast.ClassDef)
               and any(isinstance(f, ast.FunctionDef) and f.name == "for_profile" for f in n.body)]
    assert configs == ["Config"], f"{module_path.name}: classes with for_profile {configs}, want exactly ['Config']"
    code = "\n".join(text(c) for c in cells(notebook) if c["cell_type"] == "code")
    assert re.search(rf"from ltijepa\.chapters import {notebook.stem}\b", code), f"{notebook.name} does not import its chapter module"
    assert "for_profile(profile)" in code and "by_profile" not in code, f"{notebook.name}: sizes must come from Config.for_profile"


def test_profile_sizes_live_only_in_chapter_modules():
    offenders = []
    for path in source_files():
        if in_chapters(path) or path in PROFILE_MODULES:
            continue
        source = path.read_text()
        if re.search(r"def for_profile\(", source) or re.search(r"\bby_profile\(", source):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"for_profile/by_profile outside src/ltijepa/chapters/: {offenders}"


def test_topics_are_folders_mirrored_by_tests():
    for topic in TOPICS:
        assert (SRC / topic / "__init__.py").exists(), f"src/ltijepa/{topic}/ is not a package"
        assert (ROOT / "tests" / topic).is_dir(), f"tests/{topic}/ is missing: tests mirror src"
    drivers = [str(p.relative_to(ROOT)) for p in source_files()
               if not in_chapters(p) and re.search(r"_(experiments|study|checks)\.py$", p.name)]
    assert not drivers, f"chapter drivers in library folders (move them to chapters/): {drivers}"


def test_no_public_name_is_exported_by_two_subpackages():
    exporters = defaultdict(set)
    for info in pkgutil.walk_packages(ltijepa.__path__, "ltijepa."):
        parts = info.name.split(".")
        if len(parts) < 2 or parts[1] in ("chapters", "__main__"):
            continue
        module = importlib.import_module(info.name)
        subpackage = parts[1] if (SRC / parts[1]).is_dir() else None
        for name in getattr(module, "__all__", []):
            exporters[name].add(subpackage or info.name)
    clashes = {name: sorted(where) for name, where in exporters.items() if len(where) > 1}
    assert not clashes, f"names with more than one home: {clashes}"


def test_exceptions_are_the_handful_of_ltijepa_errors():
    local = []
    for path in source_files():
        if path == SRC / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                re.search(r"(Error|Exception|Failed)$", ast.unparse(base)) for base in node.bases
            ):
                local.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert not local, f"exception classes outside ltijepa.errors: {local}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_label_of_a_notebook_is_cited_in_a_docstring(notebook):
    labels = [m.group(1) for c in cells(notebook) if c["cell_type"] == "markdown" for m in LABEL.finditer(text(c))]
    cited = "\n".join(doc for path in source_files() for doc in docstrings(path))
    missing = [label for label in labels if not re.search(rf"(?<![\w-]){re.escape(label)}(?![\w-])", cited)]
    assert not missing, f"{notebook.name}: labels no docstring in src/ cites: {missing}"


def test_docstrings_point_only_to_files_in_the_repository():
    generated = ("book/_build/", "book/executed/", "book/.cache/", "benchmarks/results/")
    missing = []
    for path in source_files():
        for doc in docstrings(path):
            for ref in re.findall(r"[\w./-]+\.(?:md|ipynb)\b", doc):
                ref = ref.lstrip("./")
                if ref.startswith(generated) or "*" in ref:
                    continue
                if not any((base / ref).exists() for base in (ROOT, ROOT / "notebooks", ROOT / "book")):
                    missing.append(f"{path.relative_to(ROOT)}: {ref}")
    assert not missing, f"docstrings cite files that are not in the repository: {sorted(set(missing))}"


def test_every_figure_has_a_unique_name_and_a_caption():
    problems, names = [], defaultdict(list)
    for notebook in NOTEBOOKS:
        for index, cell in enumerate(cells(notebook)):
            if cell["cell_type"] != "code" or "plt.show()" not in text(cell):
                continue
            figure = cell["metadata"].get("mystnb", {}).get("figure", {})
            if not figure.get("name") or len(figure.get("caption", "")) < 20:
                problems.append(f"{notebook.name}, cell {index}")
            else:
                names[figure["name"]].append(f"{notebook.name}, cell {index}")
    assert not problems, f"figures without a name or a caption (cell metadata mystnb.figure): {problems}"
    repeated = {name: where for name, where in names.items() if len(where) > 1}
    assert not repeated, f"figure names used twice: {repeated}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_claim_sources_cite_papers_not_file_numbers(notebook):
    code = "\n".join(text(c) for c in cells(notebook) if c["cell_type"] == "code")
    numbered = re.findall(r"source=\s*[\"']\s*(00\d\b[^\"']*)", code)
    assert not numbered, f"{notebook.name}: sources cite internal file numbers: {numbered}"
