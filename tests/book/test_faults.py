"""Faults of the pipeline that must never publish a wrong page (issue 13): bad arguments are
refused before anything runs, and claim text cannot inject HTML into the claims page."""

import subprocess
import sys

import pytest

from ltijepa.book.pages import claims_markdown


@pytest.mark.parametrize("flag, value", [("--timeout", "0"), ("--timeout", "-5"), ("--jobs", "0")])
def test_a_non_positive_timeout_or_jobs_is_refused_naming_the_flag(mini_project, flag, value):
    """A real ``ltijepa book build`` process exits 2 at once, naming the flag and value; today's
    bug was ``--timeout 0`` silently meaning 4 hours."""
    proc = subprocess.run(
        [sys.executable, "-m", "ltijepa", "book", "build", "--root", str(mini_project.root), flag, value, "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert f"{flag} == {value}, must be >= 1" in proc.stderr
    assert not mini_project.executed_dir.exists(), "nothing may run before the arguments are checked"


def test_claim_text_is_html_escaped_on_the_claims_page():
    claim = {
        "id": "fazel2018.mini.x", "kind": "theorem", "status": "holds", "chapter": "good",
        "statement": "g <= b <script>alert(1)</script> | & more", "source": "Fazel et al. 2018, <b>Lemma 1</b>",
        "values": {"max g/b": 0.5},
    }
    page = claims_markdown([claim])
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "g &lt;= b" in page
    assert "\\| &amp; more" in page, "pipes stay escaped for the table, ampersands become entities"


@pytest.mark.parametrize("content", ["", "{not json", '{"cells": 3}'], ids=["empty", "not-json", "not-a-notebook"])
def test_an_unreadable_source_notebook_is_named_and_nothing_runs(mini_project, content):
    """A source notebook that is not a notebook fails the build at once with a message naming it
    (today: a NotJSONError traceback naming no file)."""
    (mini_project.notebooks_dir / "broken.ipynb").write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "ltijepa", "book", "build", "--root", str(mini_project.root), "--only", "broken", "good",
         "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "broken.ipynb: not a readable notebook" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (mini_project.executed_dir / "good.ipynb").exists(), "nothing may run before the sources are checked"
