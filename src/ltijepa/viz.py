"""One figure style for the whole book, reproducible figure files, and tables in outputs.

Call :func:`use_style` once at the top of a notebook (after the imports); every figure then
shares fonts, sizes and grid. :func:`save` writes a figure without time stamps, so the same
seed gives byte-identical SVG/PDF files. :func:`markdown_table` shows a table of computed values
as an output cell, styled like the book's Markdown tables.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt

__all__ = ["STYLE", "use_style", "save", "markdown_table"]

#: The book's matplotlib settings (readable at the book's column width, colour-blind safe cycle).
STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(
        color=["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
    ),
    "image.cmap": "viridis",
    "svg.hashsalt": "ltijepa",
}


def use_style() -> None:
    """Apply :data:`STYLE` to matplotlib's global settings."""
    mpl.rcParams.update(STYLE)


def save(fig: plt.Figure, path: str | Path) -> Path:
    """Save ``fig`` to ``path`` (format from the suffix) without creation dates.

    Returns the path written. The parent folder is created if missing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"CreationDate": None} if path.suffix == ".pdf" else {"Date": None}
    if path.suffix == ".png":
        metadata = {"Software": None}
    fig.savefig(path, metadata=metadata)
    return path


def markdown_table(header, rows, note: str = ""):
    """A Markdown table for a notebook output: ``header`` (cells), ``rows`` (lists of cells).

    Cells are converted with ``str`` (a ``|`` in a cell is escaped); ``note`` is a paragraph
    under the table. Returns an ``IPython.display.Markdown`` object (display it, or make it a
    cell's last value); the book renders it with the theme's table style.
    """
    from IPython.display import Markdown

    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    lines = [line(header), "|" + "---|" * len(header), *(line(row) for row in rows)]
    return Markdown("\n".join(lines + (["", note] if note else [])))
