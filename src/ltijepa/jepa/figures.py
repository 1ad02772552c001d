"""Figures of the P-JEPA chapter: the rows of the paper's Fig. 2 and the training curves.

Each function draws into axes it is given (or a new figure) and labels every axis; the
notebook only arranges them. Counts are coloured with a discrete 9-colour map shared by the
PCA scatter and the colour bar.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap

from ltijepa.jepa import metrics

__all__ = ["count_colours", "pca_panel", "distance_panel", "reconstruction_grid", "curve_panel", "frames_grid"]


def count_colours(max_count: int = 8) -> tuple[ListedColormap, BoundaryNorm]:
    """A discrete colour map and norm with one colour per count ``0..max_count``."""
    cmap = ListedColormap(plt.get_cmap("viridis")(np.linspace(0, 1, max_count + 1)))
    return cmap, BoundaryNorm(np.arange(-0.5, max_count + 1.5), cmap.N)


def pca_panel(ax, z: np.ndarray, counts: np.ndarray, *, title: str = ""):
    """Scatter of the first two principal components of ``z`` coloured by count.

    Returns the scatter (for a colour bar).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    z : numpy.ndarray, shape (n, d)
        Embeddings (``n, d >= 2``), projected with :func:`ltijepa.jepa.metrics.pca`.
    counts : numpy.ndarray of int, shape (n,)
        The count of each point; the discrete colour map spans ``0..counts.max()``.
    title : str, default ""
        Title of the axes.
    """
    scores, explained = metrics.pca(z, 2)
    cmap, norm = count_colours(int(counts.max()))
    points = ax.scatter(scores[:, 0], scores[:, 1], c=counts, cmap=cmap, norm=norm, s=9)
    ax.ticklabel_format(style="sci", scilimits=(-2, 3))
    ax.set_xlabel(f"PC 1 ({100 * explained[0]:.0f} % of variance)")
    ax.set_ylabel(f"PC 2 ({100 * explained[1]:.0f} %)")
    ax.set_title(title)
    return points


def distance_panel(ax, z: np.ndarray, counts: np.ndarray, *, title: str = ""):
    """The count-sorted matrix of L2 distances, viridis up to its 99th percentile, red lines
    at count boundaries (as the authors' ``plot_tsne_from_snapshot.py``). Returns the image.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    z : numpy.ndarray, shape (n, d)
        Embeddings (``n >= 2``).
    counts : numpy.ndarray of int, shape (n,)
        The count of each point: the sort key (stable) and the block boundaries.
    title : str, default ""
        Title of the axes.
    """
    d, _, bounds = metrics.sorted_distances(z, counts)
    image = ax.imshow(d, cmap="viridis", vmin=0, vmax=np.percentile(d, 99), interpolation="nearest")
    for b in bounds:
        ax.axhline(b - 0.5, color="red", lw=0.6)
        ax.axvline(b - 0.5, color="red", lw=0.6)
    ax.set_xlabel("embedding (sorted by count)")
    ax.set_ylabel("embedding (sorted by count)")
    ax.set_title(title)
    ax.grid(False)
    return image


def reconstruction_grid(ax, frames: np.ndarray, decoded: dict[str, np.ndarray]):
    """Observations in the first row, then one row of decoder outputs per entry of ``decoded``.

    Each row of outputs is min-max normalised over the row (for contrast, as the paper's
    Fig. 2 normalises its decoder outputs), so a nearly constant decoder shows its small
    variations amplified.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    frames : uint8 (m, 3, H, W)
    decoded : dict
        ``row label -> float (m, 3, H, W)`` decoder outputs in [-1, 1].
    """
    m = len(frames)
    rows = [frames.transpose(0, 2, 3, 1) / 255.0]
    for recon in decoded.values():
        r = recon.transpose(0, 2, 3, 1) - recon.min()
        rows.append(r / r.max() if r.max() > 0 else r)
    _image_grid(ax, np.concatenate(rows), m, [f"frame {j + 1}" for j in range(m)], ["observation", *decoded])


def curve_panel(ax, steps: np.ndarray, runs: np.ndarray, *, label: str, log: bool = False):
    """Mean over runs (rows of ``runs``) against ``steps``, with a ±1 std band when there are
    several runs. Returns the line of the mean.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    steps : numpy.ndarray, shape (T,)
        The x values.
    runs : numpy.ndarray, shape (T,) or (R, T)
        The y values of one run, or of ``R`` runs (one per row).
    label : str
        Legend label of the mean's line.
    log : bool, default False
        Use a logarithmic y axis.
    """
    runs = np.atleast_2d(runs)
    mean = runs.mean(axis=0)
    line = ax.plot(steps, mean, label=label)[0]
    if len(runs) > 1:
        std = runs.std(axis=0)
        ax.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    if log:
        ax.set_yscale("log")
    return line


def frames_grid(ax, frames: np.ndarray, n_cols: int, *, col_labels=None, row_labels=None):
    """Frames ``(rows * n_cols, 3, H, W)`` tiled row by row with a one-pixel grey gap.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    frames : numpy.ndarray of uint8, shape (rows * n_cols, 3, H, W)
        The frames, row by row; their number must be a multiple of ``n_cols``.
    n_cols : int
        Frames per row.
    col_labels, row_labels : sequence of str, optional
        Tick labels of the ``n_cols`` columns and of the ``rows`` rows; by default none.
    """
    rows = len(frames) // n_cols
    images = frames.transpose(0, 2, 3, 1) / 255.0
    _image_grid(ax, images, n_cols, col_labels or [""] * n_cols, row_labels or [""] * rows)


def _image_grid(ax, images: np.ndarray, n_cols: int, col_labels, row_labels) -> None:
    """Tile RGB ``images (rows * n_cols, H, W, 3)`` in ``[0, 1]`` row by row with a one-pixel
    grey gap, and label the columns and rows."""
    n, h, w, _ = images.shape
    rows = n // n_cols
    canvas = np.full((rows * (h + 1) - 1, n_cols * (w + 1) - 1, 3), 0.5)
    for i, image in enumerate(images):
        r, c = divmod(i, n_cols)
        canvas[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = image
    ax.imshow(canvas, interpolation="nearest")
    ax.set_xticks([c * (w + 1) + w / 2 for c in range(n_cols)], col_labels)
    ax.set_yticks([r * (h + 1) + h / 2 for r in range(rows)], row_labels)
    ax.grid(False)
