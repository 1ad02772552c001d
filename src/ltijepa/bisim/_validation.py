"""Input validation of the largest-bisimulation modules: the transition table and the auxiliary.

A *deterministic total system* is a pair ``(next_state, aux)``: ``next_state[o, a]`` is the
successor ``f(o, a)`` of state ``o`` under action ``a`` (an integer array of shape
``(n, |A|)``), and ``aux[o]`` is the auxiliary value ``p(o)`` (Def. 1 of Yu et al. 2025).
Auxiliary values are compared by exact equality only, so they are replaced by integer codes
with ``code[o] == code[o']`` exactly when ``p(o) == p(o')``.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable

import numpy as np

from ltijepa.bisim.relations import canonical_labels
from ltijepa.errors import DataError, ShapeError

__all__ = ["check_next_state", "aux_codes"]

def check_next_state(next_state, dtype=np.int64) -> np.ndarray:
    """``next_state`` as a read-only integer array of shape ``(n, |A|)`` with entries in ``[0, n)``.

    Parameters
    ----------
    next_state : array_like of int, shape (n, n_actions)
        The successor table ``f(o, a)``; ``n >= 1`` states and ``n_actions >= 1`` actions.
    dtype : numpy integer dtype, default int64
        The dtype of the copy returned; it must hold ``n - 1``.

    Returns
    -------
    numpy.ndarray of dtype, shape (n, n_actions)

    Raises
    ------
    ShapeError
        If ``next_state`` is not two-dimensional or has no row or no column.
    DataError
        If it does not hold integers, or an entry is outside ``[0, n)``; the message gives the
        first offending entry, e.g. ``next_state[3, 1] == 7, must be in [0, 5)``.

    >>> check_next_state([[1], [0]]).tolist()
    [[1], [0]]
    """
    array = np.asarray(next_state)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ShapeError(
            f"next_state: expected shape (n, n_actions) with n >= 1 and n_actions >= 1, "
            f"found {array.shape}", name="next_state", expected=(None, None), found=array.shape,
        )
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise DataError(
            f"next_state must hold integer state indices, found dtype {array.dtype}", name="next_state"
        )
    n = array.shape[0]
    bad = (array < 0) | (array >= n)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"next_state[{row}, {col}] == {array[row, col]}, must be in [0, {n}) "
            f"(a state index of the {n}-state system)", name="next_state", index=(row, col),
        )
    out = np.array(array, dtype=dtype)  # a private copy: the caller may mutate theirs
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
    DataError
        If a numeric value is NaN (``NaN != NaN`` would separate a state from itself), or an
        element of a non-numeric sequence is not hashable, or ``aux`` is not a sequence.

    >>> aux_codes(["b", "a", "b"], 3).tolist()
    [0, 1, 0]
    """
    array = _as_numeric(aux)
    if array is not None:
        if array.ndim == 0 or array.shape[0] != n or array.ndim > 2:
            raise ShapeError(f"aux: expected shape ({n},) or ({n}, d), found {array.shape}", name="aux",
                             expected=(n,), found=array.shape)
        if np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.complexfloating):
            nan_rows = np.isnan(array.reshape(n, -1)).any(axis=1)
            if nan_rows.any():
                o = int(np.flatnonzero(nan_rows)[0])
                raise DataError(f"aux[{o}] == {array[o]!r}, must not be NaN", name="aux", index=o)
        rows = array.reshape(n, -1)
        if rows.shape[1] == 1:
            return canonical_labels(rows[:, 0])
        _, inverse = np.unique(rows, axis=0, return_inverse=True)
        return canonical_labels(inverse.reshape(-1))
    values = list(aux)
    if len(values) != n:
        raise ShapeError(f"aux: expected {n} values, found {len(values)}", name="aux", expected=(n,),
                         found=(len(values),))
    codes: dict = {}
    out = np.empty(n, dtype=np.int64)
    for o, value in enumerate(values):
        if not isinstance(value, Hashable):
            raise DataError(
                f"aux[{o}] == {value!r} of type {type(value).__name__}, must be hashable", name="aux", index=o
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
        raise DataError(
            f"aux == {aux!r} of type {type(aux).__name__}, must be a sequence or an array", name="aux"
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
