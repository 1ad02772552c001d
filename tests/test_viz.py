"""The book's figure style and output helpers."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ltijepa import viz  # noqa: E402


def test_html_table_escapes_cells_and_keeps_rows_in_order():
    table = viz.html_table(["model", "NC"], [["<b>ours</b>", 0.5], ["talk", "0.80"]], note="12 pairs & more").data
    assert table.index("&lt;b&gt;ours&lt;/b&gt;") < table.index("talk")
    assert table.count("<tr>") == 3 and "<th" in table and "12 pairs &amp; more" in table


def test_save_writes_reproducible_svg(tmp_path):
    viz.use_style()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    first = viz.save(fig, tmp_path / "a" / "f.svg").read_bytes()
    second = viz.save(fig, tmp_path / "b" / "f.svg").read_bytes()
    plt.close(fig)
    assert first == second and b"<svg" in first
