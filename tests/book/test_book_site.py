"""The whole book, built as `make book` builds it, checked as a reader would see it.

Marked ``book``: `make test` runs these after the notebook tests, so every notebook comes
from the content cache. The HTML goes to a temporary folder; screenshots of every page
opened in the browser are kept in ``book/_build/screenshots/`` for a person to look at.
"""

import re
from pathlib import Path

import pytest

from ltijepa.book.build import build
from ltijepa.book.project import Project
from ltijepa.book.site import toc_files
from ltijepa.claims import PAPERS

from chromium import Browser, find_chromium, require_browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "book" / "_build" / "screenshots"

pytestmark = [pytest.mark.book, pytest.mark.timeout(3600)]


@pytest.fixture(scope="session")
def book(tmp_path_factory):
    project = Project(ROOT, output=tmp_path_factory.mktemp("book"))
    result = build(project, profile="ci", progress=False)
    return project, result


def pages(project) -> list[Path]:
    return [project.html_dir / f"{name.removesuffix('.md').removesuffix('.ipynb')}.html"
            for name in toc_files(ROOT / "book" / "_toc.yml")]


def test_every_chapter_of_the_toc_is_in_the_html(book):
    project, _ = book
    missing = [p.relative_to(project.html_dir).as_posix() for p in pages(project) if not p.is_file()]
    assert not missing
    chapters = [f for f in toc_files(ROOT / "book" / "_toc.yml") if f.startswith("notebooks/")]
    assert len(chapters) == len(list((ROOT / "notebooks").glob("*.ipynb")))


def test_intro_page_names_the_repository_and_commit_of_the_build(book):
    project, _ = book
    intro = (project.html_dir / "intro.html").read_text()
    assert f"at commit <strong>{project.commit()}</strong>" in intro
    assert "{{" not in intro


def test_report_and_claims_are_complete(book):
    project, result = book
    assert {r.notebook for r in result.runs} == {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert all(r.status == "passed" for r in result.runs)
    claims = result.claims
    assert {c["chapter"] for c in claims} == {r.notebook for r in result.runs}, "every chapter records a claim"
    assert all(c["id"].split(".")[0] in PAPERS for c in claims)
    assert all(c["status"] in ("holds", "reproduced", "deviates") for c in claims)


def test_no_page_loads_anything_from_the_network(book):
    project, _ = book
    external = re.compile(r"<(?:script|link|img)[^>]+(?:src|href)=\"https?://", re.IGNORECASE)
    offenders = [p.name for p in project.html_dir.rglob("*.html") if external.search(p.read_text())]
    assert not offenders
    assert (project.html_dir / "_static" / "mathjax" / "tex-chtml.js").is_file()



def test_markdown_tables_in_outputs_are_rendered_as_tables(book):
    project, _ = book
    # an unrendered Markdown table shows its delimiter row as text (dashes typeset as em dashes)
    raw = re.compile(r"^\|(?:-{3}|\u2014)\|", re.MULTILINE)
    offenders = [p.name for p in (project.html_dir / "notebooks").glob("*.html") if raw.search(p.read_text())]
    assert not offenders, f"Markdown tables shown as text in {offenders}"

@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        if require_browser():
            pytest.fail("chromium is required (LTIJEPA_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("chromium not installed (apt-get install chromium); .ci/run installs it")
    with Browser(executable) as b:
        yield b


def test_pages_typeset_math_and_load_figures_offline(book, browser):
    project, _ = book
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    opened = [project.html_dir / "intro.html"] + sorted((project.html_dir / "notebooks").glob("*.html"))
    for page in opened:
        browser.requests.clear()
        browser.open(page.as_uri())
        name = page.stem
        assert browser.evaluate("document.querySelectorAll('mjx-container').length") > 0, f"{name}: no typeset math"
        assert browser.evaluate("typeof MathJax !== 'undefined' && MathJax.version.startsWith('3')")
        broken = browser.evaluate(
            "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
        )
        assert not broken, f"{name}: images that did not load: {broken}"
        remote = [url for url in browser.requests if url.startswith(("http://", "https://"))]
        assert not remote, f"{name}: requests to the network: {remote}"
        browser.screenshot(SCREENSHOTS / f"{name}.png")
    chapters_with_figures = [
        p.stem for p in opened[1:] if "<img" in p.read_text()
    ]
    assert chapters_with_figures, "no chapter has a figure"
