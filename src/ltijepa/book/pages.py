"""Generated pages: the execution report, the claims table, the stamp on every chapter."""

from __future__ import annotations

import html
import platform
import re
from importlib import metadata

import nbformat

from ltijepa.book.execute import NotebookRun
from ltijepa.claims import PAPERS, format_value, math_spans

__all__ = [
    "report_markdown", "claims_markdown", "chapter_summary_markdown", "chapter_label", "stamp_notebook",
    "source_notebook", "DOWNLOADS", "REPORTED_PACKAGES",
]

#: Packages whose versions the execution report lists.
REPORTED_PACKAGES = (
    "numpy", "scipy", "cvxpy", "clarabel", "torch", "numba", "matplotlib",
    "papermill", "jupyter-book", "sphinx-proof",
)

_STATUS_MARK = {
    "passed": "{bdg-success}`passed`",
    "failed": "{bdg-danger}`failed`",
    "holds": "{bdg-success}`holds`",
    "fails": "{bdg-danger}`fails`",
    "reproduced": "{bdg-success}`reproduced`",
    "deviates": "{bdg-warning}`deviates`",
}


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def report_markdown(runs: list[NotebookRun], *, profile: str, seed: int, commit: str) -> str:
    """The body of the "Execution report" page: one row per notebook, then the environment.

    Parameters
    ----------
    runs : list of NotebookRun
        The notebooks of the build, in book order.
    profile, seed, commit
        The profile, seed and commit of the build, stated above the table.
    """
    lines = [
        f"Profile `{profile}`, seed `{seed}`, commit `{commit}`. "
        f"{sum(r.status == 'passed' for r in runs)} of {len(runs)} notebooks passed; "
        f"{sum(r.cache_hit for r in runs)} came from the cache.",
        "",
        "| Notebook | Status | Seconds (this build) | Cache hit | Execution time (s) | Executed at | Commit |",
        "|---|---|---:|---|---:|---|---|",
    ]
    for r in runs:
        executed = "" if r.executed_seconds is None else f"{r.executed_seconds:.1f}"
        lines.append(
            f"| [{r.notebook}](notebooks/{r.notebook}.ipynb) | {_STATUS_MARK[r.status]} | {r.seconds:.1f} "
            f"| {'yes' if r.cache_hit else 'no'} | {executed} | {r.executed_at or ''} | `{r.commit or ''}` |"
        )
    lines += [
        "",
        "## Environment",
        "",
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}.",
        "",
        "| Package | Version |",
        "|---|---|",
        *(f"| {p} | {_version(p)} |" for p in REPORTED_PACKAGES),
        "",
        "The exact pins are in `requirements/lock.txt`.",
    ]
    return "\n".join(lines) + "\n"


def _text(text) -> str:
    """Plain text safe anywhere in MyST Markdown, table cells included: HTML-escaped (a
    ``<script>`` in a claim's statement is shown, never run), Markdown's special characters
    escaped (``K_*`` stays ``K_*``, a pipe does not end a table cell), on one line."""
    escaped = html.escape(str(text), quote=False).replace("\n", " ")
    return re.sub(r"[\\`*_\[\]|#~$]", lambda m: "\\" + m.group(0), escaped)


def _statement(text: str) -> str:
    """A claim's statement in MyST: its ``$...$`` math kept for MathJax, the rest :func:`_text`."""
    return "".join(f"${piece}$" if is_math else _text(piece) for piece, is_math in math_spans(text or ""))


_SHOWN = 6  # entries of a list or dict printed on the pages; the rest go to a tooltip


def _value(value, unit: str | None = None) -> str:
    """A claim value for the pages: :func:`ltijepa.claims.format_value`, shortened to
    :data:`_SHOWN` entries with the whole value in a tooltip."""
    short = format_value(value, unit=unit, limit=_SHOWN)
    whole = format_value(value, unit=unit)
    if short == whole:
        return _text(short)
    return f'<span class="ltijepa-long" title="{html.escape(whole, quote=True)}">{_text(short)}</span>'


def _claim_numbers(claim: dict) -> tuple[str, str]:
    """(paper, ours) columns of one claim: a theorem's values are its ours."""
    if claim["kind"] == "theorem":
        return "—", _value(claim.get("values") or {}) if claim.get("values") else "—"
    unit = claim.get("unit")
    ours = _value(claim.get("ours"), unit)
    if claim.get("tolerance"):
        ours += f" ({_text(claim['tolerance'])})"
    return _value(claim.get("paper"), unit), ours


_CITED = re.compile(r"^(?P<author>[A-Z][\w'-]*)[^,]*?\b(?P<year>(?:19|20)\d{2})\b(?: \([^)]*\))?(?:, *|$)")


def _source(claim: dict) -> str:
    """The claim's source as a citation: ``Yu et al. [2025], Thm. 1`` with the author and year a
    ``{cite:t}`` of the claim's paper when the source opens with them, else the source as written."""
    source = claim.get("source") or ""
    key = claim["id"].split(".", 1)[0]
    bibkey = PAPERS.get(key, (None, None))[1]
    match = _CITED.match(source)
    if bibkey and match and key == f"{match['author'].lower()}{match['year']}":
        rest = source[match.end():]
        return f"{{cite:t}}`{bibkey}`" + (f", {_text(rest)}" if rest else "")
    return _text(source)


def _why(claim: dict) -> str:
    """For a deviating claim: its one-line reason and a link to the section that measures it."""
    if claim["status"] != "deviates":
        return ""
    if not claim.get("reason"):
        return "**Why it deviates:** not stated by the chapter."
    return f"**Why it deviates:** {_text(claim['reason'])} ({{ref}}`the section on it <{claim['section']}>`)"


def chapter_label(chapter: str) -> str:
    """The label of a chapter's group on the claims page, e.g. ``claims-multitask-lqr``."""
    return "claims-" + chapter.replace("_", "-")


def _tally(claims: list[dict]) -> dict[str, int]:
    return {s: sum(c["status"] == s for c in claims) for s in ("holds", "fails", "reproduced", "deviates")}


def _verdict(claims: list[dict]) -> str:
    """``5 theorem checks hold; 3 of 7 paper results reproduced`` for a chapter's claims."""
    n = _tally(claims)
    theorems = f"{n['holds']} theorem check{'s' if n['holds'] != 1 else ''} hold{'s' if n['holds'] == 1 else ''}"
    if n["fails"]:
        theorems += f", {n['fails']} fail"
    papers = n["reproduced"] + n["deviates"]
    return f"{theorems}; {n['reproduced']} of {papers} paper result{'s' if papers != 1 else ''} reproduced"


def claims_markdown(claims: list[dict], titles: dict[str, str] | None = None) -> str:
    """The body of the "Claims" page: a summary table, then the claims chapter by chapter.

    Parameters
    ----------
    claims : list of dict
        The records of ``claims.json`` (each with its ``chapter``).
    titles : dict, optional
        Chapter name -> title (the first heading of its notebook), in book order: every
        chapter gets a group, one without claims too. A chapter missing here is titled by its
        name, after them.
    """
    titles = titles or {}
    chapters = list(dict.fromkeys([*titles, *(c["chapter"] for c in claims)]))
    n = _tally(claims)
    lines = [
        f"{len(claims)} claims: {n['holds']} theorem checks hold, {n['fails']} fail; "
        f"{n['reproduced']} of {n['reproduced'] + n['deviates']} paper results reproduced, "
        f"{n['deviates']} deviate.",
        "",
        "| Chapter | Theorem checks hold | Paper results reproduced | Deviating |",
        "|---|---:|---:|---:|",
    ]
    for chapter in chapters:
        t = _tally([c for c in claims if c["chapter"] == chapter])
        link = f"{{ref}}`{_text(titles.get(chapter, chapter))} <{chapter_label(chapter)}>`"
        lines.append(f"| {link} | {t['holds']} | {t['reproduced']} of {t['reproduced'] + t['deviates']} | {t['deviates']} |")
    for chapter in chapters:
        mine = sorted((c for c in claims if c["chapter"] == chapter), key=lambda c: c["id"])
        lines += [
            "",
            f"({chapter_label(chapter)})=",
            f"## {_text(titles.get(chapter, chapter))}",
            "",
            f"{_verdict(mine)}. Read the chapter: {{doc}}`notebooks/{chapter}`.",
        ]
        if mine:
            lines += ["", "| Claim | Status | Paper | Ours |", "|---|---|---|---|"]
        for c in mine:
            paper, ours = _claim_numbers(c)
            described = "<br>".join(part for part in (
                f"`{c['id']}`", _statement(c.get("statement") or ""), f"Source: {_source(c)}", _why(c),
            ) if part)
            lines.append(f"| {described} | {_STATUS_MARK[c['status']]}<br>{c['kind']} | {paper} | {ours} |")
    return "\n".join(lines) + "\n"


def chapter_summary_markdown(claims: list[dict], chapter: str) -> str:
    """The box at the top of a chapter: what it checked, what did not reproduce and why.

    Parameters
    ----------
    claims : list of dict
        The chapter's claims (records of ``claims.json``).
    chapter : str
        The chapter's name; its group on the claims page is :func:`chapter_label`.
    """
    deviating = [c for c in claims if c["status"] == "deviates"]
    lines = [
        "```{admonition} What this chapter checks",
        ":class: tip ltijepa-summary",
        f"**{_verdict(claims)}.**"
        + (" The deviations:" if deviating else " No paper result deviates."),
        "",
    ]
    for c in sorted(deviating, key=lambda c: c["id"]):
        why = (f"{_text(c['reason'])} ({{ref}}`the section on it <{c['section']}>`)" if c.get("reason")
               else "the chapter states no reason")
        lines.append(f"- `{c['id']}`: ours {_value(c.get('ours'), c.get('unit'))} against the paper's "
                     f"{_value(c.get('paper'), c.get('unit'))}; {why}")
    lines += ["", f"Every claim of this chapter, with its numbers: {{ref}}`the claims page <{chapter_label(chapter)}>`.", "```"]
    return "\n".join(lines)


#: Where the build puts each chapter's notebooks for download, relative to the HTML root:
#: the executed notebook (with outputs) and its source (no outputs).
DOWNLOADS = {"executed": "downloads/executed/{name}.ipynb", "source": "downloads/source/{name}.ipynb"}


def stamp_notebook(nb, run: NotebookRun, *, profile: str, seed: int, build_commit: str):
    """Prepare an executed notebook for the book; returns a new notebook.

    Adds, right under the ``# Title`` line, the box of :func:`chapter_summary_markdown` (its claims) and a
    note saying which profile, seed and commit produced the page, with links to download the
    executed notebook and its source (:data:`DOWNLOADS`); hides the parameters cells (the note
    states their values).

    Parameters
    ----------
    nb : NotebookNode
        The executed notebook (not modified).
    run : NotebookRun
        Its run: when, at which commit and in how long it was executed, cache hit or not, and
        its claims.
    profile, seed : str, int
        The parameters it was executed with.
    build_commit : str
        The commit of the book build (may differ from ``run.commit`` on a cache hit).
    """
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
            tags.append("remove-cell")
    origin = "taken from the cache" if run.cache_hit else "executed in this build"
    commit = run.commit or "unknown"
    executed, source = (f"../{DOWNLOADS[kind].format(name=run.notebook)}" for kind in ("executed", "source"))
    note = (
        "```{note}\n"
        f"This page was executed with profile `{profile}` and seed `{seed}` at commit `{commit}` "
        f"on {run.executed_at or 'unknown date'} ({run.executed_seconds or 0:.0f} s; {origin}; "
        f"book built at `{build_commit}`). See the [execution report](../report.md); to run it "
        "yourself with other parameters, see the README. Download "
        f'<a class="ltijepa-download" href="{executed}" download>the executed notebook</a> (with '
        f'these outputs) or <a class="ltijepa-download" href="{source}" download>its source</a> '
        "(no outputs).\n"
        "```"
    )
    summary = chapter_summary_markdown(run.claims, run.notebook)
    position = 0
    if nb.cells and nb.cells[0].cell_type == "markdown":
        position = 1
        title, _, rest = nb.cells[0].source.partition("\n")
        if title.startswith("# ") and rest.strip():  # the boxes go right under the title
            nb.cells[0].source = title
            nb.cells.insert(1, nbformat.v4.new_markdown_cell(rest.lstrip("\n"), metadata=dict(nb.cells[0].metadata)))
    for offset, text in enumerate((summary, note)):
        nb.cells.insert(position + offset, nbformat.v4.new_markdown_cell(text, metadata={"tags": ["ltijepa-stamp"]}))
    return nb


def source_notebook(nb):
    """The source of executed notebook ``nb``: outputs, execution counts, papermill's injected
    cell and metadata removed. A new notebook; it is what was executed, whatever the working
    tree holds now."""
    nb = nbformat.from_dict(nb)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    for cell in nb.cells:
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("papermill", None)
    return nb
