"""``ltijepa book pdf``: the whole book as one PDF, printed from its single-page HTML.

The PDF is made from the last published build, never by executing anything:

1. the Sphinx source that build assembled (its stamped executed notebooks, generated claims
   and report pages, ``_config.yml``), kept inside the HTML at ``html/.source``
   (:data:`~ltijepa.book.site.KEPT_SOURCE`), is built again with Jupyter Book's
   ``singlehtml`` builder -- every page of the table of contents in one HTML file;
2. a table of contents linking to each chapter, page breaks before chapters and a print
   style are added to that page;
3. headless Chromium (Debian's ``chromium``, the browser of the book's browser test) prints it
   with ``--print-to-pdf``, waiting (``--virtual-time-budget``) until MathJax has typeset the
   math, with a document outline (bookmarks) from the headings.

The result is written to ``book/_build/pdf/ltijepa-book.pdf`` and copied into the HTML as
``ltijepa-book.pdf``, where the intro page links to it. It is rebuilt only when the HTML
changed (the site key of the build is stored beside it).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from ltijepa.book.cache import write_atomic
from ltijepa.book.processes import build_lock, die_with_parent
from ltijepa.book.project import Project
from ltijepa.book.site import KEPT_SOURCE, SITE_KEY_FILE, _drop_thebe, _jupyter_book
from ltijepa.errors import BuildError

__all__ = ["PDF_NAME", "PdfResult", "find_chromium", "chapter_titles", "build_pdf"]

#: The file name of the PDF, in ``book/_build/pdf/`` and in the HTML.
PDF_NAME = "ltijepa-book.pdf"

#: Milliseconds of page time Chromium lets pass before printing: MathJax typesets the whole
#: book in well under this (virtual time runs as fast as the page's work allows).
VIRTUAL_TIME_BUDGET_MS = 60_000

_PRINT_CSS = """
<style id="ltijepa-print">
@media print {
  @page { size: A4; margin: 18mm 16mm; }
  .bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-header-article, .bd-footer,
  .bd-footer-article, .prev-next-area, .headerlink, #searchbox, #jb-print-toc { display: none !important; }
  .bd-main .bd-content .bd-article-container { max-width: 100% !important; }
  nav.ltijepa-pdf-toc { break-after: page; }
  nav.ltijepa-pdf-toc ol { list-style: none; padding-left: 0; }
  nav.ltijepa-pdf-toc ol ol { padding-left: 1.5em; }
  nav.ltijepa-pdf-toc li { margin: 0.2em 0; }
  span.ltijepa-chapter + section { break-before: page; }
  img, figure, .cell_input, .cell_output { break-inside: avoid; }
  h1, h2, h3 { break-inside: avoid; break-after: avoid; }
  .admonition { break-inside: auto; }
  pre { white-space: pre-wrap; }
  .pst-scrollable-table-container, .table-wrapper { overflow: visible !important; }
  .bd-main .bd-content table { font-size: 80%; width: 100%; break-inside: auto; }
  td, th { overflow-wrap: anywhere; }
  mjx-container[display="true"], div.math { overflow: visible !important; }
}
</style>
"""


@dataclass
class PdfResult:
    """What :func:`build_pdf` did."""

    path: Path
    built: bool
    seconds: float


def find_chromium() -> str:
    """The Chromium executable (``chromium`` or ``chromium-browser`` on ``PATH``).

    Raises
    ------
    BuildError
        When there is none (Debian: ``apt-get install chromium``).
    """
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise BuildError("the PDF is printed by headless Chromium, and there is none on PATH: apt-get install chromium")
    return found


def chapter_titles(page: str) -> list[tuple[str, str]]:
    """``(document, title)`` of every document of a singlehtml ``page``, in book order.

    The documents are the ``<span id="document-NAME">`` markers Sphinx's singlehtml builder puts
    before each included page; a title is the text of the first heading after its marker.
    """
    found = []
    for match in re.finditer(r'<span id="document-([^"]+)"></span>', page):
        heading = re.search(r"<h[1-6][^>]*>(.*?)</h[1-6]>", page[match.end():], re.S)
        title = re.sub(r"<a class=\"headerlink\".*?</a>", "", heading.group(1), flags=re.S) if heading else match.group(1)
        found.append((match.group(1), html.unescape(re.sub(r"<[^>]+>", "", title)).strip()))
    return found


def _toc_html(toc: dict, titles: dict[str, str]) -> str:
    """The printed table of contents: the parts of ``toc`` (``_toc.yml``), each with its chapters
    linking to their place in the page."""

    def item(entry: dict) -> str:
        name = str(entry["file"]).removesuffix(".md").removesuffix(".ipynb")
        title = html.escape(titles.get(name, name))
        return f'<li><a href="#document-{html.escape(name)}">{title}</a></li>'

    lines = ['<nav class="ltijepa-pdf-toc"><h2>Contents</h2><ol>']
    for part in toc.get("parts") or [{"chapters": toc.get("chapters") or []}]:
        chapters = "".join(item(entry) for entry in part.get("chapters") or [])
        caption = part.get("caption")
        lines.append(f"<li><strong>{html.escape(caption)}</strong><ol>{chapters}</ol></li>" if caption else chapters)
    lines.append("</ol></nav>")
    return "".join(lines)


def _prepare_for_print(page_file: Path, toc: dict) -> list[tuple[str, str]]:
    """Add the print style, the table of contents and the chapter page breaks to the singlehtml
    page ``page_file`` (rewritten in place); returns its :func:`chapter_titles`."""
    page = page_file.read_text()
    titles = chapter_titles(page)
    page = page.replace("</head>", _PRINT_CSS + "</head>", 1)
    page = re.sub(r'<span id="document-([^"]+)"></span>', r'<span id="document-\1" class="ltijepa-chapter"></span>', page)
    article = page.find('<article class="bd-article"')
    first_heading = re.compile(r"</h1>").search(page, max(article, 0))
    if article < 0 or first_heading is None:
        raise BuildError(f"{page_file} has no article with a title heading; cannot place the table of contents")
    toc_block = _toc_html(toc, dict(titles))
    page = page[:first_heading.end()] + toc_block + page[first_heading.end():]
    page_file.write_text(page)
    return titles


def _print(chromium: str, page_file: Path, pdf_file: Path, profile_dir: Path) -> None:
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile_dir}", "--no-pdf-header-footer", "--generate-pdf-document-outline",
        f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}", f"--print-to-pdf={pdf_file}", page_file.as_uri(),
    ]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=600, preexec_fn=die_with_parent)
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"chromium did not print {page_file.name} within 600 s") from exc
    if proc.returncode != 0 or not pdf_file.is_file() or pdf_file.stat().st_size == 0:
        raise BuildError(f"chromium failed to print the PDF (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


def build_pdf(project: Project, *, force: bool = False, progress: bool = True) -> PdfResult:
    """Print the last published build of the book to ``book/_build/pdf/ltijepa-book.pdf``.

    Nothing is executed: the PDF is made from the source kept with the published HTML (see
    the module docstring), under the build lock, so a concurrent ``ltijepa book build`` cannot
    swap the HTML meanwhile. A copy goes into the HTML (``html/ltijepa-book.pdf``).

    Parameters
    ----------
    project : Project
        The book project; its HTML must have been built (``make book``).
    force : bool
        Print again even when the PDF is of the current HTML.
    progress : bool
        Say what is done on stderr.

    Raises
    ------
    BuildError
        When there is no built HTML (or it was built before the source was kept), or Jupyter
        Book or Chromium fails; an existing PDF is then left as it was.
    """
    start = time.perf_counter()
    say = (lambda line: print(line, file=sys.stderr, flush=True)) if progress else (lambda line: None)
    pdf_dir = project.build_dir / "pdf"
    target = pdf_dir / PDF_NAME
    with build_lock(project.build_lock_file, say=say):
        key_file, source = project.html_dir / SITE_KEY_FILE, project.html_dir / KEPT_SOURCE
        if not key_file.is_file() or not (source / "_toc.yml").is_file():
            raise BuildError(
                f"no built book to print in {project.html_dir} (or one built before its source was kept): "
                "run `make book` (ltijepa book build) first"
            )
        key = key_file.read_text()
        pdf_key = pdf_dir / SITE_KEY_FILE
        built = force or not (target.is_file() and pdf_key.is_file() and pdf_key.read_text() == key)
        if built:
            chromium = find_chromium()
            pdf_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=".pdf-", dir=project.build_dir) as tmp:
                work = Path(tmp)
                say("== jupyter-book singlehtml")
                _jupyter_book(source, work, builder="singlehtml")
                single = work / "_build" / "singlehtml"
                _drop_thebe(single)
                toc = yaml.safe_load((source / "_toc.yml").read_text())
                page = single / f"{toc['root']}.html"
                if not page.is_file():
                    raise BuildError(f"the singlehtml build wrote no {page.name} (the root page of book/_toc.yml)")
                _prepare_for_print(page, toc)
                say("== chromium --print-to-pdf")
                (work / "chromium").mkdir()
                _print(chromium, page, work / PDF_NAME, work / "chromium")
                write_atomic(target, (work / PDF_NAME).read_bytes())
            target.chmod(0o644)
            pdf_key.write_text(key)
        published = project.html_dir / PDF_NAME
        if not published.is_file() or published.read_bytes() != target.read_bytes():
            write_atomic(published, target.read_bytes())
            published.chmod(0o644)
    return PdfResult(target, built, time.perf_counter() - start)
