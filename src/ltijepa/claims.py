"""The claims ledger: every checkable statement a notebook makes, recorded in one way.

Two kinds of claim (the README, "Claims"):

- :func:`theorem` -- an inequality or identity that must hold (``g_ij <= b_ij``, non-collapse
  of non-bisimilar pairs, ...). When it does not hold, the notebook fails with
  :class:`~ltijepa.errors.TheoremFailed`: the math or the code is wrong.
- :func:`reproduce` -- a number or a statement a paper reports, beside ours. A mismatch is
  recorded as ``"deviates"`` and shown in the book; it never fails the build.

Each call displays a one-line badge in the notebook and attaches the claim, as JSON, to the
output's metadata under :data:`METADATA_KEY`. The book pipeline reads the claims back from the
executed notebooks into ``book/_build/claims.json`` and the "Claims" page, so a claim is
recorded exactly where the reader sees it.

Claim ids are stable strings that start with the key of the paper they concern, e.g.
``stamouli2025.thm1.gradient_bound``; the keys are those of :data:`PAPERS`.
"""

from __future__ import annotations

import html
import math
import numbers
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ltijepa.errors import ClaimError, TheoremFailed

__all__ = [
    "PAPERS",
    "METADATA_KEY",
    "SCHEMA_VERSION",
    "Claim",
    "theorem",
    "reproduce",
    "to_jsonable",
    "check_source",
    "format_value",
    "math_spans",
]

#: Paper keys a claim id may start with -> (short citation, BibTeX key in book/references.bib).
PAPERS: dict[str, tuple[str, str | None]] = {
    "anderson2026": ("Anderson, talk 2026", "anderson2026"),
    "fazel2018": ("Fazel et al. 2018", "fazel2018"),
    "malik2019": ("Malik et al. 2019", "malik2019"),
    "stamouli2025": ("Stamouli et al. 2025", "stamouli2025"),
    "wang2026": ("Wang et al. 2026", "wang2026"),
    "yu2025": ("Yu et al. 2025", "yu2025"),
    "toso2026": ("Toso et al. 2026", "toso2026"),
    "ren2026": ("Ren, lecture 2026", "ren2026"),
    "amos2018": ("Amos et al. 2018", "amos2018"),
}

#: Key of the output metadata under which a claim travels inside an executed notebook.
METADATA_KEY = "ltijepa_claim"

#: Version of a claim record's fields in ``claims.json``: raised when a field changes its
#: meaning or goes away, not when one is added. Every record carries it as ``schema_version``.
SCHEMA_VERSION = 1

_YEAR = re.compile(r"\b(19|20)\d{2}\b")
_FILE_NUMBER = re.compile(r"^\s*\d{3}\b")
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*(\.[A-Za-z0-9_\-]+)+$")
_LABEL_PATTERN = re.compile(r"^[a-z][a-z0-9\-]*$")
_MAX_LISTED = 16  # arrays longer than this are summarised, not listed, in a claim's values


@dataclass(frozen=True)
class Claim:
    """One recorded claim, as it appears in ``claims.json``.

    Attributes
    ----------
    id : str
        Stable identifier, ``<paper key>.<what>``.
    kind : str
        ``"theorem"`` or ``"reproduction"``.
    status : str
        ``"holds"``/``"fails"`` for a theorem, ``"reproduced"``/``"deviates"`` for a reproduction.
    source : str
        Where in the papers the statement is, as a citation a reader understands: author and
        year first, e.g. ``"Yu et al. 2025, Thm. 1"`` or ``"Anderson 2026, slide 'Observation'"``.
    statement : str
        The claim in words; math between ``$...$`` is typeset on the pages.
    paper : Any
        The paper's value or words (reproduction), or ``None`` (theorem).
    ours : Any
        Our value (reproduction) or the checked values (theorem), JSON-serialisable.
    tolerance : str or None
        How paper and ours were compared (reproduction).
    values : dict
        Further numbers: for a theorem the numbers behind the verdict (its tightness).
    unit : str or None
        The unit of ``paper`` and ``ours`` (``"s"``, ``"%"``, ``"x"``), if they have one.
    reason : str or None
        For a reproduction: why ours differs from the paper's, in one line, as the chapter
        measured it; shown beside the claim when it deviates.
    section : str or None
        The label of the chapter's section that explains a deviation (a MyST target
        ``(label)=``); the claims page and the chapter's summary box link to it.
    """

    id: str
    kind: str
    status: str
    source: str
    statement: str
    paper: Any = None
    ours: Any = None
    tolerance: str | None = None
    values: dict = field(default_factory=dict)
    unit: str | None = None
    reason: str | None = None
    section: str | None = None

    @property
    def ok(self) -> bool:
        """False only for a theorem that fails (a deviation is not a failure)."""
        return self.status != "fails"

    def _ipython_display_(self) -> None:
        """Show nothing: the badge was displayed, with the claim attached, when it was recorded
        (displaying the returned record again would record the claim twice)."""

    def to_dict(self) -> dict:
        """The claim as a JSON-serialisable dict."""
        return asdict(self)

    def summary(self) -> str:
        """One line of plain text: status, id, statement and the numbers."""
        return f"[{self.status}] {self.id}: {self.statement} -- {self.detail()}"

    def detail(self) -> str:
        """The numbers in one line: a theorem's values, or paper and ours with the tolerance."""
        if self.kind == "theorem":
            return ", ".join(f"{k}={format_value(v)}" for k, v in self.values.items()) or "(no values)"
        detail = f"paper {format_value(self.paper, unit=self.unit)} | ours {format_value(self.ours, unit=self.unit)}"
        return detail + (f" ({self.tolerance})" if self.tolerance else "")


def theorem(
    id: str, holds: bool, *, statement: str = "", source: str = "", **values: Any
) -> Claim:
    """Record a theorem claim; raise :class:`TheoremFailed` if it does not hold.

    Parameters
    ----------
    id : str
        Stable claim id starting with a key of :data:`PAPERS`.
    holds : bool
        Whether the checked inequality or identity holds. Must be a single boolean (a numpy
        ``bool_`` is accepted); reduce arrays with ``all()`` first.
    statement : str
        The claim in words, e.g. ``"g_ij(K) <= b_ij(K) for all pairs along the PG path"``.
    source : str
        Where in the papers the theorem is stated, author and year first
        (``"Fazel et al. 2018, Lemma 1"``); see :func:`check_source`.
    **values
        The numbers behind the verdict (``max_ratio=0.53``, ``pairs=190``), shown on the
        claims page. Arrays longer than 16 entries are summarised by shape, min and max.

    Returns
    -------
    Claim
        The recorded claim (status ``"holds"``).

    Raises
    ------
    TheoremFailed
        If ``holds`` is false; the message names the claim and the values.
    ClaimError
        If the id is malformed, the source is not a citation, or ``holds`` is not a single
        boolean.
    """
    _check_id(id)
    check_source(id, source)
    if not isinstance(holds, (bool, np.bool_)):
        raise ClaimError(
            f"theorem {id!r}: holds == {holds!r} of type {type(holds).__name__}, "
            "must be a single bool (reduce arrays with .all() first)", claim_id=id,
        )
    claim = Claim(
        id=id,
        kind="theorem",
        status="holds" if bool(holds) else "fails",
        source=source,
        statement=statement,
        values={k: _converted(id, k, v) for k, v in values.items()},
    )
    _publish(claim)
    if not claim.ok:
        raise TheoremFailed(f"theorem claim fails: {claim.summary()}", claim_id=id)
    return claim


def reproduce(
    id: str,
    *,
    paper: Any,
    ours: Any,
    source: str,
    statement: str = "",
    rtol: float | None = None,
    atol: float | None = None,
    matches: bool | None = None,
    unit: str | None = None,
    reason: str | None = None,
    section: str | None = None,
    **values: Any,
) -> Claim:
    """Record a reproduction claim: a paper's value beside ours. Never raises on a mismatch.

    Two ways to compare:

    - numbers: give ``paper`` and ``ours`` as real numbers and ``rtol`` and/or ``atol``;
      reproduced when ``|ours - paper| <= atol + rtol * |paper|`` (absent tolerances count as 0);
    - anything else (the paper's words, a bound such as ``"< 3"``): give ``matches``, a bool
      the notebook computed from our numbers, and no tolerance.

    Parameters
    ----------
    id : str
        Stable claim id starting with a key of :data:`PAPERS`.
    paper : Any
        The paper's number, or its words.
    ours : Any
        Our number (or a short description of what we measured).
    source : str
        Where the paper reports it, author and year first, e.g.
        ``"Anderson 2026, slide 'Observation'"``; see :func:`check_source`.
    statement : str
        The claim in words.
    rtol, atol : float, optional
        Relative and absolute tolerance of a numeric comparison.
    matches : bool, optional
        The verdict of a non-numeric comparison.
    unit : str, optional
        The unit of ``paper`` and ``ours``, shown after the numbers (``"s"``, ``"%"``).
    reason : str, optional
        One line: why ours differs from the paper's, as the chapter measured it (a sweep, a
        run of the authors' construction). Give it wherever the chapter explains a
        deviation; it is shown only when the claim deviates.
    section : str, optional
        The label (``(label)=`` in the chapter's Markdown) of the section that explains the
        deviation; required with ``reason``. The book build fails if no such label exists.
    **values
        Further numbers to show beside the claim.

    Returns
    -------
    Claim
        The recorded claim, status ``"reproduced"`` or ``"deviates"``.

    Raises
    ------
    ClaimError
        If the id is malformed, the source is not a citation, or the comparison is ill-posed (no
        tolerance, a tolerance together with ``matches``, a negative tolerance, non-numeric
        values without ``matches``), or ``reason`` and ``section`` do not come together as
        one line and a label.
    """
    _check_id(id)
    check_source(id, source)
    _check_explanation(id, unit=unit, reason=reason, section=section)
    if matches is not None:
        if rtol is not None or atol is not None:
            raise ClaimError(f"reproduction {id!r}: give either matches or rtol/atol, not both", claim_id=id)
        if not isinstance(matches, (bool, np.bool_)):
            raise ClaimError(f"reproduction {id!r}: matches == {matches!r}, must be a bool", claim_id=id)
        ok = bool(matches)
        tolerance = None
    else:
        if rtol is None and atol is None:
            raise ClaimError(f"reproduction {id!r}: give rtol and/or atol, or matches=", claim_id=id)
        for name, tol in (("rtol", rtol), ("atol", atol)):
            if tol is not None and not (
                isinstance(tol, numbers.Real) and not isinstance(tol, (bool, np.bool_)) and tol >= 0
            ):
                raise ClaimError(f"reproduction {id!r}: {name} == {tol!r}, must be a real number >= 0", claim_id=id)
        if not (_is_real(paper) and _is_real(ours)):
            raise ClaimError(
                f"reproduction {id!r}: paper == {paper!r} and ours == {ours!r} must both be "
                "real numbers for a tolerance comparison (use matches= otherwise)", claim_id=id,
            )
        bound = (atol or 0.0) + (rtol or 0.0) * abs(float(paper))
        ok = bool(math.isfinite(float(ours)) and abs(float(ours) - float(paper)) <= bound)
        tolerance = ", ".join(
            f"{name}={tol:g}" for name, tol in (("rtol", rtol), ("atol", atol)) if tol is not None
        )
    claim = Claim(
        id=id,
        kind="reproduction",
        status="reproduced" if ok else "deviates",
        source=source,
        statement=statement,
        paper=_converted(id, "paper", paper),
        ours=_converted(id, "ours", ours),
        tolerance=tolerance,
        values={k: _converted(id, k, v) for k, v in values.items()},
        unit=unit,
        reason=reason,
        section=section,
    )
    _publish(claim)
    return claim


def _check_explanation(id: str, *, unit, reason, section) -> None:
    """The ``unit``, ``reason`` and ``section`` of :func:`reproduce` are well-formed."""
    for name, text in (("unit", unit), ("reason", reason), ("section", section)):
        if text is not None and (not isinstance(text, str) or not text.strip() or "\n" in text):
            raise ClaimError(f"reproduction {id!r}: {name} == {text!r}, must be one non-empty line", claim_id=id)
    if (reason is None) != (section is None):
        raise ClaimError(
            f"reproduction {id!r}: reason == {reason!r} and section == {section!r}: give both "
            "(the reason, and the label of the section that measures it) or neither", claim_id=id,
        )
    if section is not None and not _LABEL_PATTERN.match(section):
        raise ClaimError(
            f"reproduction {id!r}: section == {section!r}, must be a MyST label "
            "(lower-case letters, digits and '-', e.g. 'fedlqr-deviations')", claim_id=id,
        )


def to_jsonable(value: Any) -> Any:
    """Convert ``value`` -- numpy scalars and arrays, nested containers -- to JSON-serialisable values.

    Non-finite floats become the strings ``"inf"``, ``"-inf"`` and ``"nan"`` (strict JSON has
    no such numbers); arrays (numpy, or anything with ``__array__`` such as a CPU tensor) longer
    than 16 entries become ``{"shape", "min", "max"}``.

    Raises
    ------
    ClaimError
        For anything else (an ``object()``, a complex number, a set): it would be stored as a
        meaningless string such as its memory address.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        x = float(value)
        return x if math.isfinite(x) else str(x)
    if isinstance(value, np.ndarray):
        if value.size > _MAX_LISTED and np.issubdtype(value.dtype, np.number):
            return {
                "shape": list(value.shape),
                "min": to_jsonable(np.min(value)),
                "max": to_jsonable(np.max(value)),
            }
        return to_jsonable(value.tolist())
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "__array__") and not isinstance(value, type):
        return to_jsonable(np.asarray(value))
    raise ClaimError(
        f"a claim value of type {type(value).__name__} ({repr(value)[:60]}) is not a real number, "
        "string, bool, None or a list/dict/array of those"
    )


def _converted(id: str, name: str, value: Any) -> Any:
    """:func:`to_jsonable` of claim ``id``'s field ``name``; a :class:`ClaimError` names both."""
    try:
        return to_jsonable(value)
    except ClaimError as exc:
        raise ClaimError(f"claim {id!r}, {name}: {exc}", claim_id=id) from None


def _check_id(id: str) -> None:
    if not isinstance(id, str) or not _ID_PATTERN.match(id):
        raise ClaimError(
            f"claim id == {id!r}, must look like '<paper key>.<what>' "
            "(letters, digits, '_', '-' between dots)"
        )
    key = id.split(".", 1)[0]
    if key not in PAPERS:
        raise ClaimError(f"claim id {id!r}: paper key {key!r} unknown, must be one of {sorted(PAPERS)}", claim_id=id)


def check_source(id: str, source: str) -> None:
    """Raise :class:`ClaimError` unless ``source`` reads as a citation: it names a year
    (``"Stamouli et al. 2025, Thm. 2"``) and does not start with a three-digit internal file
    number of the project's source folder (a reader cannot look that up; ``tests/test_claims.py``
    shows the rejection).

    Parameters
    ----------
    id : str
        The claim's id, for the message.
    source : str
        The claim's source.

    >>> check_source("fazel2018.x", "Fazel et al. 2018, Lemma 1")
    """
    if not isinstance(source, str) or _FILE_NUMBER.match(source):
        raise ClaimError(
            f"claim {id!r}: source == {source!r} starts with an internal file number; cite author "
            "and year (e.g. 'Anderson 2026, slide ...')", claim_id=id,
        )
    if not _YEAR.search(source):
        raise ClaimError(
            f"claim {id!r}: source == {source!r} names no year; cite author and year first "
            "(e.g. 'Fazel et al. 2018, Lemma 1')", claim_id=id,
        )


def _is_real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def format_value(value: Any, *, unit: str | None = None, limit: int | None = None) -> str:
    """A claim value (as stored in ``claims.json``) the way the pages print it.

    Floats to 3 significant figures (``1.95``, ``2.3e6``), integers exactly; a dict as
    ``M=10: 1.95, M=50: 16.3``; an array summary as ``array (32, 32) in [0, 1]``; a list in
    brackets, cut after ``limit`` entries (``…``). A ``unit`` follows a number (``12 s``,
    ``36×``, ``5%``) or, for anything else, closes it in parentheses.

    Parameters
    ----------
    value : Any
        A JSON value of a claim (see :func:`to_jsonable`).
    unit : str, optional
        The unit of the value.
    limit : int, optional
        At most this many entries of a list (or a dict) are printed.

    >>> format_value({"M=10": 1.9508388607101053, "M=50": 16.29})
    'M=10: 1.95, M=50: 16.3'
    >>> format_value(2312345.0, unit="s"), format_value([1, 2, 3, 4], limit=2)
    ('2.31e6 s', '[1, 2, …]')
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        text = str(value)
    elif isinstance(value, numbers.Integral):
        text = str(int(value))
    elif isinstance(value, numbers.Real):
        text = f"{float(value):.3g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")
    elif isinstance(value, dict) and set(value) == {"shape", "min", "max"}:
        shape = ", ".join(str(n) for n in value["shape"])
        text = f"array ({shape}) in [{format_value(value['min'])}, {format_value(value['max'])}]"
    elif isinstance(value, dict):
        items = list(value.items())
        shown = items if limit is None else items[:limit]
        text = ", ".join(f"{k}: {format_value(v)}" for k, v in shown) + (", …" if len(shown) < len(items) else "")
    elif isinstance(value, (list, tuple)):
        shown = value if limit is None else value[:limit]
        text = "[" + ", ".join(format_value(v) for v in shown) + (", …]" if len(shown) < len(value) else "]")
    else:
        text = str(value)
    if unit is None:
        return text
    if _is_real(value):
        return f"{text}{'' if unit in ('%', '×') else ' '}{unit}"
    return f"{text} ({unit})"


_MATH = re.compile(r"\$([^$]+)\$")


def math_spans(text: str) -> list[tuple[str, bool]]:
    """Split a statement into ``(piece, is_math)`` pieces at its ``$...$`` math.

    Parameters
    ----------
    text : str
        A claim's statement; a ``$`` without its partner is text.

    >>> math_spans("x $g_i <= b_i$ y")
    [('x ', False), ('g_i <= b_i', True), (' y', False)]
    """
    pieces, end = [], 0
    for match in _MATH.finditer(text):
        if match.start() > end:
            pieces.append((text[end:match.start()], False))
        pieces.append((match.group(1), True))
        end = match.end()
    if end < len(text):
        pieces.append((text[end:], False))
    return pieces


_BADGE_COLOURS = {
    "holds": "#1a7f37",
    "reproduced": "#1a7f37",
    "deviates": "#9a6700",
    "fails": "#cf222e",
}


def _publish(claim: Claim) -> None:
    """Display the claim in IPython (badge + metadata), or print it outside IPython."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python without IPython
        print(claim.summary())
        return
    if get_ipython() is None:
        print(claim.summary())
        return
    colour = _BADGE_COLOURS[claim.status]
    statement = "".join(
        f'<span class="math notranslate nohighlight">\\({html.escape(piece)}\\)</span>' if is_math
        else html.escape(piece)
        for piece, is_math in math_spans(claim.statement)
    )
    why = (f"<br><em>Why it deviates:</em> {html.escape(claim.reason)}"
           if claim.status == "deviates" and claim.reason else "")
    badge = (
        f'<div class="ltijepa-claim ltijepa-claim-{claim.status}" id="claim-{html.escape(claim.id)}">'
        f'<span style="background:{colour};color:#fff;border-radius:3px;padding:0 6px;'
        f'font-weight:600">{claim.status}</span> <code>{html.escape(claim.id)}</code>: {statement}'
        f'<br><code>{html.escape(claim.detail())}</code>{why}</div>'
    )
    display(
        {"text/html": badge, "text/plain": claim.summary()},
        raw=True,
        metadata={METADATA_KEY: claim.to_dict()},
    )
