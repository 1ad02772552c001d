"""The generated pages as text: the claims page and the box at the top of every chapter."""

import nbformat
import pytest

from ltijepa.book.execute import NotebookRun
from ltijepa.book.pages import chapter_label, chapter_summary_markdown, claims_markdown, source_notebook, stamp_notebook


def claim(id, status, chapter="multitask_lqr", **fields):
    kind = "theorem" if status in ("holds", "fails") else "reproduction"
    return {"id": id, "kind": kind, "status": status, "chapter": chapter, "statement": "", "source": "Yu et al. 2025, Fig. 2",
            "paper": None, "ours": None, "tolerance": None, "values": {}, **fields}


CLAIMS = [
    claim("stamouli2025.thm1.bound", "holds", statement="$g_{ij}(K) \\le b_{ij}(K)$ along K_* paths",
          source="Stamouli et al. 2025, Thm. 1", values={"max g/b": 0.531234, "pairs": 190}),
    claim("stamouli2025.fig1.eps", "deviates", paper=2.3e6, ours=3.456789e5, tolerance="rtol=0.5", unit="s",
          source="Stamouli et al. 2025, Fig. 1", reason="the cost-bounded form, measured by a sweep",
          section="multitask-deviations"),
    claim("stamouli2025.fig1.quiet", "deviates", paper="below 3", ours="4.1", source="Stamouli et al. 2025, Fig. 1"),
    claim("yu2025.fig2.table", "reproduced", paper={"M=10": 1.9508388607101053, "M=50": 16.29},
          ours={"M=10": 1.95, "M=50": 16.3}, tolerance="rtol=0.1", chapter="fedlqr"),
    claim("yu2025.fig3.curve", "reproduced", paper=list(range(20)), ours=list(range(20)), chapter="fedlqr"),
]


def test_the_claims_page_opens_with_one_summary_row_per_chapter():
    page = claims_markdown(CLAIMS, {"multitask_lqr": "Multitask LQR", "fedlqr": "FedLQR"})
    table = page.split("\n## ", 1)[0]
    assert "5 claims: 1 theorem checks hold, 0 fail; 2 of 4 paper results reproduced, 2 deviate." in table
    assert "| {ref}`Multitask LQR <claims-multitask-lqr>` | 1 | 0 of 2 | 2 |" in table
    assert "| {ref}`FedLQR <claims-fedlqr>` | 0 | 2 of 2 | 0 |" in table
    # then one group per chapter, under the label the summary links to
    assert page.index("(claims-multitask-lqr)=\n## Multitask LQR") < page.index("(claims-fedlqr)=\n## FedLQR")


def test_values_read_as_numbers_with_units_and_long_ones_keep_the_whole_value_in_a_tooltip():
    page = claims_markdown(CLAIMS)
    assert "| 2.3e6 s | 3.46e5 s (rtol=0.5) |" in page
    assert "| M=10: 1.95, M=50: 16.3 | M=10: 1.95, M=50: 16.3 (rtol=0.1) |" in page, "a dict as key: value, 3 figures"
    assert "1.9508388607101053" not in page
    assert 'title="[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]">\\[0, 1, 2, 3, 4, 5, …\\]' in page
    assert "max g/b: 0.531, pairs: 190" in page, "a theorem's values, its tightness, are its 'ours'"


def test_statements_keep_their_math_and_their_text_survives_markdown():
    page = claims_markdown(CLAIMS)
    assert "$g_{ij}(K) \\le b_{ij}(K)$ along K\\_\\* paths" in page


def test_sources_cite_the_paper_and_deviations_give_their_reason_and_section():
    page = claims_markdown(CLAIMS)
    assert "Source: {cite:t}`stamouli2025`, Fig. 1" in page
    assert ("**Why it deviates:** the cost-bounded form, measured by a sweep "
            "({ref}`the section on it <multitask-deviations>`)") in page
    assert "**Why it deviates:** not stated by the chapter." in page
    assert page.count("Why it deviates") == 2, "only deviations explain themselves"


def test_a_source_naming_another_paper_is_kept_as_written():
    page = claims_markdown([claim("yu2025.x.y", "holds", source="Anderson 2026 (talk), slide 'Observation'")])
    assert "Source: Anderson 2026 (talk), slide 'Observation'" in page and "{cite:t}" not in page


def test_the_chapter_box_counts_its_claims_and_lists_every_deviation_with_its_reason():
    mine = [c for c in CLAIMS if c["chapter"] == "multitask_lqr"]
    box = chapter_summary_markdown(mine, "multitask_lqr")
    assert box.startswith("```{admonition} What this chapter checks\n:class: tip ltijepa-summary\n")
    assert "**1 theorem check holds; 0 of 2 paper results reproduced.** The deviations:" in box
    assert ("- `stamouli2025.fig1.eps`: ours 3.46e5 s against the paper's 2.3e6 s; the cost-bounded form, "
            "measured by a sweep ({ref}`the section on it <multitask-deviations>`)") in box
    assert "- `stamouli2025.fig1.quiet`: ours 4.1 against the paper's below 3; the chapter states no reason" in box
    assert f"<{chapter_label('multitask_lqr')}>" in box
    fed = chapter_summary_markdown([c for c in CLAIMS if c["chapter"] == "fedlqr"], "fedlqr")
    assert "**0 theorem checks hold; 2 of 2 paper results reproduced.** No paper result deviates." in fed


def executed_notebook():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title\n\nThe chapter's opening paragraph."),
        nbformat.v4.new_code_cell("profile = 'full'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("profile = 'ci'", metadata={"tags": ["injected-parameters"], "papermill": {"status": "completed"}}),
        nbformat.v4.new_code_cell("1 + 1", execution_count=3, outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)]),
    ])
    nb.metadata["papermill"] = {"parameters": {"profile": "ci"}}
    return nb


def test_a_chapter_opens_with_its_box_then_the_stamp_with_both_downloads():
    run = NotebookRun("multitask_lqr", "passed", 1.0, False, None, key="k", claims=CLAIMS[:3], commit="abc")
    stamped = stamp_notebook(executed_notebook(), run, profile="ci", seed=0, build_commit="abc")
    title, box, note, intro = (stamped.cells[i].source for i in range(4))
    assert title == "# Title" and intro == "The chapter's opening paragraph."
    assert box.startswith("```{admonition} What this chapter checks")
    assert 'href="../downloads/executed/multitask_lqr.ipynb" download' in note
    assert 'href="../downloads/source/multitask_lqr.ipynb" download' in note


def test_the_source_download_is_the_executed_notebook_without_anything_execution_added():
    source = source_notebook(executed_notebook())
    assert [c.source for c in source.cells] == ["# Title\n\nThe chapter's opening paragraph.", "profile = 'full'", "1 + 1"]
    assert source.cells[2].outputs == [] and source.cells[2].execution_count is None
    assert "papermill" not in source.metadata
    nbformat.validate(source)


@pytest.mark.parametrize("text", ["a | b", "x\ny"])
def test_table_cells_stay_one_cell(text):
    page = claims_markdown([claim("yu2025.x.y", "holds", statement=text)])
    row = next(line for line in page.splitlines() if line.startswith("| `yu2025.x.y`"))
    assert row.count(" | ") == 3, row


def test_a_chapter_without_claims_still_has_its_group_in_book_order():
    page = claims_markdown(CLAIMS[3:], {"intro_chapter": "Intro", "fedlqr": "FedLQR"})
    assert page.index("(claims-intro-chapter)=\n## Intro") < page.index("(claims-fedlqr)=")
    assert "0 theorem checks hold; 0 of 0 paper results reproduced. Read the chapter" in page
