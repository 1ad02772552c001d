"""The pipeline end to end on a miniature book: cache hits, failures, the old site kept."""

import re

import pytest

from ltijepa.book.build import build
from ltijepa.errors import BuildError
from ltijepa.book.cache import NotebookCache

from minibook import GOOD_CELLS, read_json, set_toc, tree_digest, write_notebook

pytestmark = pytest.mark.slow


def quiet_build(project, **kwargs):
    return build(project, profile="ci", jobs=1, progress=False, **kwargs)


def test_build_executes_reports_and_publishes(mini_project):
    result = quiet_build(mini_project)
    assert result.html_built
    [run] = result.runs
    assert (run.notebook, run.status, run.cache_hit) == ("good", "passed", False)
    report = read_json(mini_project.build_dir / "report.json")
    assert set(report[0]) >= {"notebook", "status", "seconds", "cache_hit", "error"}
    claims = read_json(mini_project.build_dir / "claims.json")
    assert {(c["id"], c["kind"], c["status"], c["chapter"]) for c in claims} == {
        ("fazel2018.mini.holds", "theorem", "holds", "good"),
        ("yu2025.mini.value", "reproduction", "reproduced", "good"),
    }
    assert all(set(c) >= {"id", "kind", "status", "paper", "ours", "source", "chapter"} for c in claims)
    page = (mini_project.html_dir / "notebooks" / "good.html").read_text()
    assert "profile <code" in page and "seed <code" in page  # the stamp names profile, seed, commit
    assert "fazel2018.mini.holds" in (mini_project.html_dir / "claims.html").read_text()
    assert "good" in (mini_project.html_dir / "report.html").read_text()
    for page in mini_project.html_dir.rglob("*.html"):
        text = page.read_text()
        assert "THEBE_JS_URL" not in text and "sphinx-thebe.js" not in text, f"{page.name} embeds thebe (a CDN script)"
        assert not re.search(r'<script[^>]*src="https?://', text), f"{page.name} loads a script from another site"


def test_second_build_executes_nothing_and_keeps_the_site(mini_project):
    quiet_build(mini_project)
    before = tree_digest(mini_project.html_dir)
    result = quiet_build(mini_project)
    assert [r.cache_hit for r in result.runs] == [True]
    assert not result.html_built
    assert tree_digest(mini_project.html_dir) == before


def test_a_change_in_src_re_executes(mini_project):
    quiet_build(mini_project)
    (mini_project.src_dir / "module.py").write_text("x = 2\n")
    assert [r.cache_hit for r in quiet_build(mini_project).runs] == [False]


def test_force_re_executes(mini_project):
    quiet_build(mini_project)
    assert [r.cache_hit for r in quiet_build(mini_project, force=True).runs] == [False]


def published(project):
    """What readers see: the HTML tree and the claims and report the build folder links to."""
    return tree_digest(project.html_dir), *((project.build_dir / n).read_bytes() for n in ("claims.json", "report.json"))


def add_notebook_and_build(project, name, *cells, notebook_fails=True):
    """Build the good book, then add notebook ``name`` and build again; return the error."""
    quiet_build(project)
    before = published(project)
    write_notebook(project.notebooks_dir / f"{name}.ipynb", *cells)
    set_toc(project, ["good", name])
    with pytest.raises(BuildError) as info:
        quiet_build(project)
    assert published(project) == before, "a failed build must leave the site, claims and report untouched"
    assert str(project.failed_report_file) in str(info.value), "the message names the failed run's report"
    report = {row["notebook"]: row for row in read_json(project.failed_report_file)}
    assert report[name]["status"] == ("failed" if notebook_fails else "passed")
    assert report["good"]["status"] == "passed"
    return str(info.value)


def test_a_raising_notebook_fails_the_build_naming_notebook_and_cell(mini_project):
    message = add_notebook_and_build(mini_project, "bad", "x = 1", "y = x / 0")
    # cell 1 is the title, cell 2 the parameters: the failing cell is the 4th of the source
    assert "notebooks/bad.ipynb, cell 4" in message
    assert "ZeroDivisionError" in message
    assert (mini_project.executed_dir / "bad.failed.ipynb").is_file()


def test_a_failing_theorem_claim_fails_the_build(mini_project):
    message = add_notebook_and_build(
        mini_project, "wrong", "from ltijepa import claims",
        "claims.theorem('fazel2018.mini.wrong', 2 + 2 == 5, statement='2 + 2 = 5', source='Fazel et al. 2018, test')",
    )
    assert "notebooks/wrong.ipynb, cell 4" in message
    assert "TheoremFailed" in message and "fazel2018.mini.wrong" in message


def test_a_caught_theorem_failure_still_fails_the_build(mini_project):
    message = add_notebook_and_build(
        mini_project, "sneaky", "from ltijepa import claims",
        """
        try:
            claims.theorem('fazel2018.mini.sneaky', False, source='Fazel et al. 2018, test')
        except Exception:
            pass
        """,
    )
    assert "theorem claims fail" in message and "fazel2018.mini.sneaky" in message


def test_an_error_output_left_in_a_notebook_fails_the_build(mini_project):
    message = add_notebook_and_build(
        mini_project, "noisy",
        """
        from IPython.core.interactiveshell import InteractiveShell
        InteractiveShell.instance().showtraceback((ValueError, ValueError("left behind"), None))
        """,
    )
    assert "notebooks/noisy.ipynb" in message and "left behind" in message


def test_duplicate_claim_ids_fail_the_build(mini_project):
    message = add_notebook_and_build(mini_project, "copy", *GOOD_CELLS, notebook_fails=False)
    assert "recorded more than once" in message
    assert "fazel2018.mini.holds (in notebooks/copy.ipynb, notebooks/good.ipynb)" in message, "both notebooks are named"


@pytest.mark.parametrize(
    "parameters, match",
    [(None, "0 cells tagged 'parameters'"), ("profile = 'full'", r"does not define \['seed'\]")],
)
def test_notebooks_breaking_conventions_are_refused_before_executing(mini_project, parameters, match):
    write_notebook(mini_project.notebooks_dir / "odd.ipynb", "x = 1", parameters=parameters)
    set_toc(mini_project, ["good", "odd"])
    with pytest.raises(BuildError, match=match):
        quiet_build(mini_project)


def test_a_notebook_missing_from_the_toc_is_refused(mini_project):
    write_notebook(mini_project.notebooks_dir / "orphan.ipynb", "x = 1")
    with pytest.raises(BuildError, match=r"not in the toc: \['orphan'\]"):
        quiet_build(mini_project)


def test_a_sphinx_warning_fails_the_build_and_keeps_the_site(mini_project):
    quiet_build(mini_project)
    before = tree_digest(mini_project.html_dir)
    (mini_project.book_dir / "intro.md").write_text("# Mini book\n\nSee {cite:p}`no-such-key`.\n")
    with pytest.raises(BuildError, match="no-such-key"):
        quiet_build(mini_project)
    assert tree_digest(mini_project.html_dir) == before


def test_only_executes_the_named_notebook_without_publishing(mini_project):
    write_notebook(mini_project.notebooks_dir / "other.ipynb", "x = 1", "from ltijepa import claims",
                   "claims.theorem('fazel2018.mini.other', True, source='Fazel et al. 2018, test')")
    result = quiet_build(mini_project, only=["other"])
    assert [r.notebook for r in result.runs] == ["other"] and not result.html_built
    assert not mini_project.html_dir.exists()


@pytest.mark.parametrize("suffix, keep", [(".ipynb", 0), (".ipynb", 0.5), (".json", 0)])
def test_a_corrupt_cache_entry_is_discarded_and_the_notebook_re_executed(mini_project, capsys, suffix, keep):
    """Truncating a real entry of a real build (to 0 bytes or to half) warns and re-executes."""
    quiet_build(mini_project)
    [entry] = mini_project.cache_dir.glob("*" + suffix)
    entry.write_bytes(entry.read_bytes()[: int(len(entry.read_bytes()) * keep)])
    result = build(mini_project, profile="ci", jobs=1, progress=True)
    assert [(r.cache_hit, r.status) for r in result.runs] == [(False, "passed")]
    printed = capsys.readouterr()
    assert "cache entry" in printed.out + printed.err and "discarded" in printed.out + printed.err
    assert read_json(mini_project.build_dir / "claims.json")[0]["chapter"] == "good"
    hit, problem = NotebookCache(mini_project.cache_dir).get(result.runs[0].key)
    assert problem is None and hit is not None, "the re-executed notebook is cached again, soundly"


def test_html_claims_and_report_are_published_together(mini_project):
    """claims.json and report.json live inside the published HTML folder, and book/_build/NAME
    links there: one swap of the folder changes all three."""
    quiet_build(mini_project)
    for name in ("claims.json", "report.json"):
        link = mini_project.build_dir / name
        assert link.is_symlink() and link.resolve() == (mini_project.html_dir / name).resolve()
    assert read_json(mini_project.html_dir / "claims.json")[0]["chapter"] == "good"


def test_leftovers_of_a_killed_build_are_removed_by_the_next(mini_project):
    quiet_build(mini_project)
    for leftover in (".staging-dead/src", ".html-old-99/notebooks"):
        (mini_project.build_dir / leftover).mkdir(parents=True)
    quiet_build(mini_project)
    assert not list(mini_project.build_dir.glob(".staging-*")) and not list(mini_project.build_dir.glob(".html-old-*"))


def test_jobs_run_longest_first_with_unknown_ones_leading(tmp_path):
    from ltijepa.book.build import longest_first
    from ltijepa.book.execute import Job

    jobs = [Job(tmp_path / f"{name}.ipynb", "k", {}, tmp_path, tmp_path, 1, "c") for name in ("a", "b", "new", "c")]
    order = longest_first(jobs, {"a": 10.0, "b": 900.0, "c": 60.0})
    assert [job.notebook.stem for job in order] == ["new", "b", "c", "a"]
