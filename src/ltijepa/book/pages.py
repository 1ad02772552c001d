"""Generated pages: the execution report, the claims table, the stamp on every chapter."""

from __future__ import annotations

import html
import platform
from importlib import metadata

import nbformat

from ltijepa.book.execute import NotebookRun
from ltijepa.claims import PAPERS

__all__ = ["report_markdown", "claims_markdown", "stamp_notebook", "REPORTED_PACKAGES"]

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


def _cell(text) -> str:
    """Text safe inside a Markdown table cell: HTML-escaped (a ``<script>`` in a claim's
    statement is shown, never run), pipes escaped, on one line."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


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


def _claim_numbers(claim: dict) -> tuple[str, str]:
    """(paper, ours) columns of one claim."""
    if claim["kind"] == "theorem":
        values = claim.get("values") or {}
        return "—", ", ".join(f"{k} = {_short(v)}" for k, v in values.items()) or "—"
    ours = _short(claim.get("ours"))
    if claim.get("tolerance"):
        ours += f" ({claim['tolerance']})"
    return _short(claim.get("paper")), ours


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict) and set(value) == {"shape", "min", "max"}:
        return f"{len(value['shape'])}-D array in [{_short(value['min'])}, {_short(value['max'])}]"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value[:8]) + (", …]" if len(value) > 8 else "]")
    return str(value)


def claims_markdown(claims: list[dict]) -> str:
    """The body of the "Claims" page: a summary line and one table row per claim.

    ``claims`` are the dicts of ``claims.json`` (with their ``chapter``).
    """
    counts = {s: sum(c["status"] == s for c in claims) for s in ("holds", "fails", "reproduced", "deviates")}
    lines = [
        f"{len(claims)} claims: {counts['holds']} theorem checks hold, {counts['fails']} fail; "
        f"{counts['reproduced']} paper values reproduced, {counts['deviates']} deviate.",
        "",
        "| Claim | Status | Paper | Ours |",
        "|---|---|---|---|",
    ]
    for c in sorted(claims, key=lambda c: (c["chapter"], c["id"])):
        paper, ours = _claim_numbers(c)
        key = c["id"].split(".", 1)[0]
        bibkey = PAPERS.get(key, (None, None))[1]
        source = " ".join(
            part for part in (f"{{cite:t}}`{bibkey}`" if bibkey else "", _cell(c.get("source") or "")) if part
        )
        described = "<br>".join(
            part for part in (
                f"`{c['id']}`",
                _cell(c.get("statement") or ""),
                f"Source: {source}" if source else "",
                f"Chapter: [{c['chapter']}](notebooks/{c['chapter']}.ipynb)",
            ) if part
        )
        lines.append(f"| {described} | {_STATUS_MARK[c['status']]}<br>{c['kind']} | {_cell(paper)} | {_cell(ours)} |")
    return "\n".join(lines) + "\n"


def stamp_notebook(nb, run: NotebookRun, *, profile: str, seed: int, build_commit: str):
    """Prepare an executed notebook for the book; returns a new notebook.

    Adds, after the title cell, a note saying which profile, seed and commit produced the
    page, and hides the parameters cells (the note states their values).

    Parameters
    ----------
    nb : NotebookNode
        The executed notebook (not modified).
    run : NotebookRun
        Its run: when, at which commit and in how long it was executed, cache hit or not.
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
    note = (
        "```{note}\n"
        f"This page was executed with profile `{profile}` and seed `{seed}` at commit `{commit}` "
        f"on {run.executed_at or 'unknown date'} ({run.executed_seconds or 0:.0f} s; {origin}; "
        f"book built at `{build_commit}`). See the [execution report](../report.md); to run it "
        "yourself with other parameters, see the README.\n"
        "```"
    )
    position = 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0
    nb.cells.insert(position, nbformat.v4.new_markdown_cell(note, metadata={"tags": ["ltijepa-stamp"]}))
    return nb
