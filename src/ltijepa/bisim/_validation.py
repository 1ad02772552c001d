"""Input checks shared by the bisimulation modules: the transition table and the auxiliary.

A *deterministic total system* is a pair ``(next_state, aux)``: ``next_state[o, a]`` is the
successor ``f(o, a)`` of state ``o`` under action ``a`` (an integer array of shape
``(n, |A|)``), and ``aux[o]`` is the auxiliary value ``p(o)`` (Def. 1 of Yu et al. 2025).
Auxiliary values are compared by exact equality only, so they are replaced by integer codes
with ``code[o] == code[o']`` exactly when ``p(o) == p(o')``.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable

import numba
import numpy as np

from ltijepa.errors import LtijepaError, ShapeError

__all__ = ["BisimInputError", "check_next_state", "aux_codes", "canonical_labels", "relabel"]


class BisimInputError(LtijepaError, ValueError):
    """A transition table or an auxiliary function is malformed (the message names the value)."""


def check_next_state(next_state) -> np.ndarray:
    """``next_state`` as a read-only ``int64`` array of shape ``(n, |A|)`` with entries in ``[0, n)``.

    Parameters
    ----------
    next_state : array_like of int, shape (n, n_actions)
        The successor table ``f(o, a)``; ``n >= 1`` states and ``n_actions >= 1`` actions.

    Returns
    -------
    numpy.ndarray of int64, shape (n, n_actions)

    Raises
    ------
    ShapeError
        If ``next_state`` is not two-dimensional or has no row or no column.
    BisimInputError
        If it does not hold integers, or an entry is outside ``[0, n)``; the message gives the
        first offending entry, e.g. ``next_state[3, 1] == 7, must be in [0, 5)``.
    """
    array = np.asarray(next_state)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ShapeError(
            f"next_state: expected shape (n, n_actions) with n >= 1 and n_actions >= 1, "
            f"found {array.shape}"
        )
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise BisimInputError(
            f"next_state must hold integer state indices, found dtype {array.dtype}"
        )
    n = array.shape[0]
    bad = (array < 0) | (array >= n)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise BisimInputError(
            f"next_state[{row}, {col}] == {array[row, col]}, must be in [0, {n}) "
            f"(a state index of the {n}-state system)"
        )
    out = np.array(array, dtype=np.int64)  # a private copy: the caller may mutate theirs
    out.setflags(write=False)
    return out


def aux_codes(aux, n: int) -> np.ndarray:
    """Integer codes of the auxiliary values: ``code[o] == code[o']`` iff ``p(o) == p(o')``.

    Parameters
    ----------
    aux : array_like of shape (n,) or (n, d), or a sequence of n hashable values
        The auxiliary function ``p``. A numeric array is compared row by row (a vector-valued
        ``p`` such as the paper's random 256-D linear auxiliary is one row per state); any other
        sequence is compared by ``==`` of its hashable elements.
    n : int
        The number of states.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        Codes ``0, 1, ...`` numbered in order of first appearance.

    Raises
    ------
    ShapeError
        If ``aux`` does not have ``n`` entries (or rows).
    BisimInputError
        If a numeric value is NaN (``NaN != NaN`` would separate a state from itself), or an
        element of a non-numeric sequence is not hashable.
    """
    array = _as_numeric(aux)
    if array is not None:
        if array.ndim == 0 or array.shape[0] != n or array.ndim > 2:
            raise ShapeError(f"aux: expected shape ({n},) or ({n}, d), found {array.shape}")
        if np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.complexfloating):
            nan_rows = np.isnan(array.reshape(n, -1)).any(axis=1)
            if nan_rows.any():
                o = int(np.flatnonzero(nan_rows)[0])
                raise BisimInputError(f"aux[{o}] == {array[o]!r}, must not be NaN")
        rows = array.reshape(n, -1)
        if rows.shape[1] == 1:
            return canonical_labels(rows[:, 0])
        _, inverse = np.unique(rows, axis=0, return_inverse=True)
        return canonical_labels(inverse.reshape(-1))
    values = list(aux)
    if len(values) != n:
        raise ShapeError(f"aux: expected {n} values, found {len(values)}")
    codes: dict = {}
    out = np.empty(n, dtype=np.int64)
    for o, value in enumerate(values):
        if not isinstance(value, Hashable):
            raise BisimInputError(
                f"aux[{o}] == {value!r} of type {type(value).__name__}, must be hashable"
            )
        out[o] = codes.setdefault(value, len(codes))
    return out


def _as_numeric(aux) -> np.ndarray | None:
    """``aux`` as a numeric (or boolean) array, or ``None`` if it is not numeric data.

    Objects with ``__array__`` (numpy arrays, CPU tensors) are converted, never compared by
    identity.
    """
    if isinstance(aux, np.ndarray) or hasattr(aux, "__array__"):
        array = np.asarray(aux)
        return array if array.dtype.kind in "biufc" else None
    try:
        values = list(aux)
    except TypeError:
        raise BisimInputError(
            f"aux == {aux!r} of type {type(aux).__name__}, must be a sequence or an array"
        ) from None
    if values and all(
        isinstance(v, (numbers.Number, list, tuple)) or hasattr(v, "__array__") for v in values
    ):
        try:
            array = np.asarray(values)
        except ValueError:  # ragged rows: compare them as hashable tuples instead
            return None
        if array.dtype.kind in "biufc":
            return array
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
