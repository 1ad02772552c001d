"""`make pdf` (``ltijepa book pdf``): the whole book as one PDF, read back with pypdf.

The fast tests print a mini book (the real intro page, a chapter with math and two figures,
the claims, report and bibliography pages); the ``book`` test prints the real book, built as
`make book` builds it (every notebook from the cache), and checks it chapter by chapter.
"""

import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml

from ltijepa.book.build import build
from ltijepa.book.pdf import PDF_NAME, build_pdf, chapter_titles
from ltijepa.book.project import Project
from ltijepa.book.site import KEPT_SOURCE, toc_files
from ltijepa.errors import BuildError

from chromium import find_chromium, require_browser
from minibook import make_mini_project, set_toc, tree_digest, write_notebook

pypdf = pytest.importorskip("pypdf")

ROOT = Path(__file__).resolve().parents[2]

FIGURE_CELLS = (
    "import matplotlib.pyplot as plt",
    "plt.plot([1, 2, 3]); plt.title('first figure'); plt.show()",
    "plt.plot([3, 1, 2]); plt.title('second figure'); plt.show()",
)
MATH_TITLE = "# Figures and math\n\nThe gradient $\\nabla C(K) = 2E_K\\Sigma_K$ and\n\n$$\n\\frac{a}{b} = \\sum_i x_i\n$$\n"


def needs_chromium() -> None:
    if find_chromium() is None:
        if require_browser():
            pytest.fail("LTIJEPA_REQUIRE_BROWSER=1 but chromium is not installed")
        pytest.skip("chromium is not installed (apt-get install chromium)")


def outline(reader) -> list[tuple[str, int]]:
    """(title, page index) of every bookmark of the PDF, depth first."""
    found = []

    def walk(items) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                found.append((item.title, reader.get_destination_page_number(item)))

    walk(reader.outline)
    return found


def outline_page(reader, title: str) -> int:
    """The page of the first bookmark named ``title``."""
    return next(page for name, page in outline(reader) if squeeze(title) in squeeze(name))


def squeeze(text: str) -> str:
    """``text`` without any whitespace."""
    return "".join(text.split())


def image_outputs(executed_dir: Path) -> int:
    """The number of figures (PNG or JPEG outputs) in the executed notebooks."""
    return sum(
        any(key in output.get("data", {}) for key in ("image/png", "image/jpeg"))
        for path in executed_dir.glob("*.ipynb")
        for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


def chapter_names(toc_file: Path) -> list[str]:
    return [f.removesuffix(".md").removesuffix(".ipynb") for f in toc_files(toc_file)][1:]


def check_pdf(project: Project, reader) -> None:
    """One bookmarked section per chapter of the toc, in order, each starting a page; every
    figure an image; the printed table of contents links to the chapters; math typeset."""
    source = project.html_dir / KEPT_SOURCE
    names = chapter_names(source / "_toc.yml")
    marks = outline(reader)
    titles = [squeeze(title) for title, _ in marks]  # Chromium drops the spaces where a title wraps
    # the chapter titles, as the book's own pages name them (first heading of each page)
    expected = []
    for name in names:
        path = next(source.glob(f"{name}.*"))
        if path.suffix == ".ipynb":
            first = next(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
        else:
            first = path.read_text()
        expected.append(re.search(r"^# (.+)$", first, re.M).group(1).strip())
    positions = []
    for title in expected:
        start = positions[-1] + 1 if positions else 0
        found = [i for i in range(start, len(titles)) if squeeze(title) in titles[i]]
        assert found, f"no bookmark {title!r} after the previous chapter; have {[t for t, _ in marks]}"
        positions.append(found[0])
    pages = [marks[i][1] for i in positions]
    assert pages == sorted(pages) and len(set(pages)) == len(pages), f"each chapter starts its own page: {list(zip(expected, pages))}"
    for title, page in zip(expected, pages):
        assert squeeze(title) in squeeze(reader.pages[page].extract_text()), f"chapter {title!r} not on its page {page}"

    figures = image_outputs(project.executed_dir)
    images = sum(len(page.images) for page in reader.pages)
    assert images >= figures, f"{images} images in the PDF, {figures} figures in the executed notebooks"

    links = [
        annot.get_object() for page in reader.pages[:3] for annot in page.get("/Annots") or []
        if annot.get_object().get("/Subtype") == "/Link"
    ]
    internal = [a for a in links if "/Dest" in a or a.get("/A", {}).get("/S") == "/GoTo"]
    assert len(internal) >= len(names), f"the table of contents links {len(internal)} places, the book has {len(names)} chapters"

    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Contents" in text
    # Sphinx hands MathJax inline math as \\(...\\) and display math as \\[...\\]: left in the
    # text, they were never typeset (code cells, also printed, may hold TeX of their own)
    raw = [m for m in ("\\(", "\\[") if m in text]
    assert not raw, f"math left as TeX source in the PDF: {raw}"


@pytest.fixture(scope="module")
def mini_pdf(tmp_path_factory):
    needs_chromium()
    project = make_mini_project(tmp_path_factory.mktemp("pdf"))
    # the real intro page: its link to the PDF, its substitutions and citations
    (project.book_dir / "intro.md").write_text((ROOT / "book" / "intro.md").read_text())
    write_notebook(project.notebooks_dir / "figures.ipynb", *FIGURE_CELLS)
    nb = nbformat.read(project.notebooks_dir / "figures.ipynb", as_version=4)
    nb.cells[0].source = MATH_TITLE
    nbformat.write(nb, project.notebooks_dir / "figures.ipynb")
    set_toc(project, ["good", "figures"])
    build(project, profile="ci", jobs=1, progress=False)
    before = {d: tree_digest(d) for d in (project.executed_dir, project.cache_dir)}
    result = build_pdf(project, progress=False)
    return project, result, before


pytestmark = pytest.mark.slow


def test_pdf_of_the_mini_book_has_every_chapter_figure_link_and_typeset_math(mini_pdf):
    project, result, _ = mini_pdf
    assert result.built and result.path == project.build_dir / "pdf" / PDF_NAME
    assert result.seconds < 60, f"the PDF took {result.seconds:.0f} s"
    reader = pypdf.PdfReader(result.path)
    check_pdf(project, reader)
    assert image_outputs(project.executed_dir) == 2
    math = squeeze(reader.pages[outline_page(reader, "Figures and math")].extract_text())
    assert "∇C(K)=2EKΣK" in math and "∑" in math and "\\frac" not in math, "the chapter's math is typeset"


def test_pdf_is_published_with_the_html_and_linked_from_the_intro(mini_pdf):
    project, result, _ = mini_pdf
    published = project.html_dir / PDF_NAME
    assert published.read_bytes() == result.path.read_bytes()
    intro = (project.html_dir / "intro.html").read_text()
    assert f'href="{PDF_NAME}"' in intro


def test_pdf_executes_nothing_and_is_up_to_date_the_second_time(mini_pdf):
    project, result, before = mini_pdf
    assert {d: tree_digest(d) for d in before} == before, "make pdf changed the executed notebooks or the cache"
    start = time.perf_counter()
    again = build_pdf(project, progress=False)
    assert not again.built and time.perf_counter() - start < 5
    assert again.path.read_bytes() == result.path.read_bytes()


def cli_pdf(project: Project) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ltijepa", "book", "pdf", "--root", str(project.root), "--quiet"],
                          capture_output=True, text=True)


def test_cli_pdf_says_up_to_date_or_to_build_the_book_first(mini_pdf, mini_project):
    done = cli_pdf(mini_pdf[0])
    assert done.returncode == 0 and "PDF up to date" in done.stdout, done.stderr
    missing = cli_pdf(mini_project)
    assert missing.returncode == 1 and "ltijepa book pdf: FAILED" in missing.stderr and "make book" in missing.stderr


def test_chapter_titles_of_a_singlehtml_page():
    page = (
        '<span id="document-notebooks/a"></span><section><h2>First <em>one</em>'
        '<a class="headerlink" href="#x">#</a></h2></section>'
        '<span id="document-claims"></span><section><h2>Claims &amp; values</h2></section>'
    )
    assert chapter_titles(page) == [("notebooks/a", "First one"), ("claims", "Claims & values")]


def test_pdf_without_a_built_book_says_to_build_it(mini_project):
    with pytest.raises(BuildError, match="make book"):
        build_pdf(mini_project, progress=False)


@pytest.mark.book
@pytest.mark.timeout(3600)
def test_pdf_of_the_real_book(tmp_path):
    """The real book, built as `make book` builds it (notebooks from the cache), printed."""
    needs_chromium()
    project = Project(ROOT, output=tmp_path)
    build(project, profile="ci", progress=False)
    result = build_pdf(project, progress=False)
    print(f"\nPDF of the real book: {result.seconds:.1f} s, {result.path.stat().st_size / 1e6:.1f} MB")
    reader = pypdf.PdfReader(result.path)
    check_pdf(project, reader)
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    captions = [part["caption"] for part in toc.get("parts", [])]
    text = " ".join(reader.pages[0].extract_text().split() + reader.pages[1].extract_text().split())
    assert all(caption in text for caption in captions), "the table of contents names every part"
    # the claims tables take the page's width on paper: no column is cut off (on screen they scroll)
    headers = [page.extract_text() for page in reader.pages]
    headers = [" ".join(t.split()) for t in headers if "Claim Status Paper" in t]
    assert headers, "no claims table in the PDF"
    cut = [t[t.index("Claim Status Paper"):][:40] for t in headers if "Claim Status Paper Ours" not in t]
    assert not cut, f"claims tables without their Ours column: {cut}"
