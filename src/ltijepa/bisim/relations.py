"""Relations and partitions: the conversions and comparisons the chapter's checks are made of.

A partition of ``n`` states is an integer label array (n,); a relation on them is a boolean
``n × n`` matrix. ``B*`` of a total system is a partition, ``R* = O² \\ B*`` a relation
(:func:`separated_by` converts); ``R_D*`` of a dataset is a set of pairs, and adding data
must never shrink it (:func:`first_shrink` finds where a sequence of them does).
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np

from ltijepa.errors import ShapeError

__all__ = ["canonical_labels", "separated_by", "count_separated", "same_partition", "first_shrink"]


def separated_by(labels) -> np.ndarray:
    """The pairs in different classes: ``out[o, o'] = labels[o] != labels[o']``, bool (n, n).

    For the labels of :func:`ltijepa.bisim.largest_bisimulation` this is ``R*`` of Def. 1,
    the matrix :func:`ltijepa.bisim.least_fixed_point` returns.

    Raises
    ------
    ShapeError
        If ``labels`` is not one-dimensional.

    >>> separated_by([0, 0, 1]).astype(int).tolist()
    [[0, 0, 1], [0, 0, 1], [1, 1, 0]]
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ShapeError(f"labels: expected shape (n,), found {labels.shape}")
    return labels[:, None] != labels[None, :]


def count_separated(labels) -> int:
    """The number of ordered pairs in different classes, ``separated_by(labels).sum()``, in
    ``O(n)`` memory: ``n² - Σ_c |c|²`` over the classes ``c``.

    Parameters
    ----------
    labels : array_like, shape (n,)
        Class labels; ``labels[o]`` is the class of state ``o``.

    Raises
    ------
    ShapeError
        If ``labels`` is not one-dimensional.

    >>> count_separated([0, 0, 1])
    4
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ShapeError(f"labels: expected shape (n,), found {labels.shape}")
    _, sizes = np.unique(labels, return_counts=True)
    return len(labels) ** 2 - int((sizes**2).sum())


def same_partition(labels_a, labels_b) -> bool:
    """Whether two label arrays define the same partition (same classes, any label names).

    Parameters
    ----------
    labels_a, labels_b : array_like of int, shape (n,)
        Class labels of the same ``n`` states; ``labels[o]`` is the class of state ``o``.
        Only which states share a label matters, not the label values.

    Raises
    ------
    ShapeError
        If the arrays are not one-dimensional of one length.

    >>> same_partition([5, 5, 2], [0, 0, 1]), same_partition([5, 5, 2], [0, 1, 1])
    (True, False)
    """
    a, b = np.asarray(labels_a), np.asarray(labels_b)
    if a.ndim != 1 or a.shape != b.shape:
        raise ShapeError(f"labels: expected two arrays of shape (n,), found {a.shape} and {b.shape}")
    return bool(np.array_equal(canonical_labels(a), canonical_labels(b)))


def first_shrink(relations: Sequence[set]) -> int | None:
    """The first index ``i`` with ``relations[i - 1]`` not a subset of ``relations[i]``.

    ``None`` when the sequence is nested (``R_1 ⊆ R_2 ⊆ ...``), as the remark after Thm. 3
    says ``R_D*`` is along a sequence of growing datasets.

    >>> first_shrink([{1}, {1, 2}, {1, 2}]), first_shrink([{1}, {2}])
    (None, 1)
    """
    for i in range(1, len(relations)):
        if not relations[i - 1] <= relations[i]:
            return i
    return None


def canonical_labels(keys: np.ndarray) -> np.ndarray:
    """Relabel ``keys`` (n,) as ``0, 1, ...`` in order of first appearance.

    Two labelings of the same partition give the same canonical labels, so partitions can be
    compared with ``np.array_equal``. Integer keys of small range take ``O(n)``; others are
    sorted once.

    >>> canonical_labels(np.array([7, 3, 7, 5])).tolist()
    [0, 1, 0, 2]
    """
    keys = np.asarray(keys)
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64)
    if keys.dtype.kind in "biu":
        low, high = int(keys.min()), int(keys.max())
        if high - low < 4 * keys.size + 16:
            return relabel(keys.astype(np.int64) - low, high - low + 1)
    _, inverse = np.unique(keys, return_inverse=True)
    return relabel(inverse.reshape(-1).astype(np.int64), int(inverse.max()) + 1)


@numba.njit(cache=True)
def relabel(keys, n_keys):
    """Labels ``0, 1, ...`` (int64) in order of first appearance of ``keys`` in ``[0, n_keys)``."""
    mapping = np.full(n_keys, -1, dtype=np.int64)
    out = np.empty(keys.shape[0], dtype=np.int64)
    n_new = 0
    for o in range(keys.shape[0]):
        key = keys[o]
        if mapping[key] < 0:
            mapping[key] = n_new
            n_new += 1
        out[o] = mapping[key]
    return out
