"""The book's figure style and output helpers."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ltijepa import viz  # noqa: E402


def test_markdown_table_keeps_rows_in_order_and_escapes_pipes():
    table = viz.markdown_table(["model", "NC"], [["a|b", 0.5], ["talk", "0.80"]], note="12 pairs").data
    lines = table.splitlines()
    assert lines[:4] == ["| model | NC |", "|---|---|", "| a\\|b | 0.5 |", "| talk | 0.80 |"]
    assert lines[-1] == "12 pairs"


def test_save_writes_reproducible_svg(tmp_path):
    viz.use_style()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    first = viz.save(fig, tmp_path / "a" / "f.svg").read_bytes()
    second = viz.save(fig, tmp_path / "b" / "f.svg").read_bytes()
    plt.close(fig)
    assert first == second and b"<svg" in first
