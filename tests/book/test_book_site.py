"""The whole book, built as `make book` builds it, checked as a reader would see it.

Marked ``book``: `make test` runs these after the notebook tests, so every notebook comes
from the content cache. The HTML goes to a temporary folder; screenshots of every page
opened in the browser are kept in ``book/_build/screenshots/`` for a person to look at.
"""

import json
import re
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import nbformat
import pytest

from ltijepa.book.build import build
from ltijepa.book.outputs import extract_claims
from ltijepa.book.pages import chapter_label
from ltijepa.book.project import Project
from ltijepa.book.site import toc_files
from ltijepa.claims import PAPERS, SCHEMA_VERSION

from chromium import Browser, find_chromium, require_browser, serve

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
    published = json.loads((project.html_dir / "claims.json").read_text())
    assert isinstance(published, list) and len(published) == len(claims)
    assert {c["schema_version"] for c in published} == {SCHEMA_VERSION}


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


def chapters(project) -> list[Path]:
    return [p for p in pages(project) if p.parent.name == "notebooks"]


def test_no_page_scrolls_sideways_at_1280_or_390_px_in_either_theme(book, browser):
    """Wide tables, equations and code scroll inside their own box (book/_static/ltijepa.css)."""
    project, _ = book
    wide, backgrounds = [], set()
    try:
        for width in (1280, 390):
            browser.resize(width, mobile=width < 500)
            for page in pages(project):
                browser.open(page.as_uri(), settle=0.5)
                for theme in ("light", "dark"):
                    browser.evaluate(f"document.documentElement.dataset.theme = '{theme}'")
                    scroll, client = browser.evaluate("[document.body.scrollWidth, document.body.clientWidth]")
                    backgrounds.add((theme, browser.evaluate("getComputedStyle(document.body).backgroundColor")))
                    if scroll > client:
                        wide.append(f"{page.relative_to(project.html_dir)} at {width} px, {theme}: {scroll} > {client}")
                if page.name == "claims.html":
                    browser.screenshot(SCREENSHOTS / f"claims-{width}px-dark.png")
    finally:
        browser.resize(1280)
    assert len({colour for _, colour in backgrounds}) == 2, f"the dark theme did not apply: {backgrounds}"
    assert not wide, "pages wider than the window (scrollWidth > clientWidth of the body):\n" + "\n".join(wide)


def test_the_claims_page_summarises_every_chapter_and_explains_every_deviation(book, browser):
    project, result = book
    browser.open((project.html_dir / "claims.html").as_uri())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.screenshot(SCREENSHOTS / "claims.png")
    rows = browser.evaluate(
        "Array.from(document.querySelector('article table').tBodies[0].rows)"
        ".map(r => Array.from(r.cells).map(c => c.innerText.trim()))"
    )
    expected = []
    for page in chapters(project):  # in the order of the table of contents
        mine = [c["status"] for c in result.claims if c["chapter"] == page.stem]
        papers = mine.count("reproduced") + mine.count("deviates")
        expected.append([str(mine.count("holds")), f"{mine.count('reproduced')} of {papers}", str(mine.count("deviates"))])
    assert [row[1:] for row in rows] == expected
    deviating = [c for c in result.claims if c["status"] == "deviates"]
    unexplained = [c["id"] for c in deviating if not (c.get("reason") and c.get("section"))]
    assert not unexplained, "deviations without a reason= and section= in their chapter"
    links = browser.evaluate(
        "Array.from(document.querySelectorAll('article a')).filter(a => a.textContent.trim() === 'the section on it')"
        ".map(a => a.href)"
    )
    assert len(links) == len(deviating)
    for href in links:
        url = urlsplit(href)
        target = Path(url2pathname(url.path))
        assert target.parent.name == "notebooks" and f'id="{url.fragment}"' in target.read_text(), href
    assert browser.evaluate("document.querySelectorAll('article td mjx-container').length") > 0, "statement math"


def test_every_chapter_opens_with_a_box_of_its_claims(book, browser):
    project, result = book
    for page in chapters(project):
        browser.open(page.as_uri(), settle=0.5)
        box = browser.evaluate(
            "(() => { const b = document.querySelector('article .ltijepa-summary');"
            " const first = document.querySelector('article .cell');"
            " return b && {text: b.innerText, above: !first || b.getBoundingClientRect().top < first.getBoundingClientRect().top,"
            " link: Array.from(b.querySelectorAll('a')).map(a => a.href).find(h => h.includes('claims.html'))}; })()"
        )
        assert box, f"{page.name}: no claims box"
        mine = [c for c in result.claims if c["chapter"] == page.stem]
        holds = sum(c["status"] == "holds" for c in mine)
        assert f"{holds} theorem check{'s' if holds != 1 else ''} hold" in box["text"], page.name
        assert all(c["id"] in box["text"] for c in mine if c["status"] == "deviates"), page.name
        assert box["above"], f"{page.name}: the box is not above the first code cell"
        assert box["link"].endswith(f"claims.html#{chapter_label(page.stem)}"), box["link"]
        if page.stem == "multitask_lqr":
            browser.screenshot(SCREENSHOTS / "chapter-box-multitask_lqr.png", clip="article .ltijepa-summary")


def test_every_chapter_offers_its_executed_notebook_and_its_source_for_download(book, browser, tmp_path):
    project, _ = book
    with serve(project.html_dir) as site:
        for page in chapters(project):
            browser.open(f"{site}/notebooks/{page.name}", settle=0.5)
            check_downloads(project, page, browser, tmp_path)


def check_downloads(project, page, browser, folder):
    """Follow the page's two download links and compare what they saved with the build's notebooks."""
    executed = nbformat.read(
        browser.download('a.ltijepa-download[href*="/executed/"]', folder / page.stem / "executed"), as_version=4)
    source = nbformat.read(
        browser.download('a.ltijepa-download[href*="/source/"]', folder / page.stem / "source"), as_version=4)
    assert extract_claims(executed) == extract_claims(nbformat.read(project.executed_dir / f"{page.stem}.ipynb", as_version=4))
    assert extract_claims(executed), f"{page.name}: the executed download has no outputs"
    repository = nbformat.read(ROOT / "notebooks" / f"{page.stem}.ipynb", as_version=4)
    assert [c.source for c in source.cells] == [c.source for c in repository.cells], page.name
    assert not any(c.get("outputs") for c in source.cells), f"{page.name}: the source download has outputs"
