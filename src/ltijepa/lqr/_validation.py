"""Input checks specific to the LQR modules: stacks of gains and of symmetric matrices.

The generic checks (shapes, symmetry, definiteness, scalars) are in :mod:`ltijepa.checks`.
"""

from __future__ import annotations

import numpy as np

from ltijepa.checks import SYMMETRY_RTOL, check_symmetric
from ltijepa.errors import MatrixError, ShapeError

__all__ = ["as_gains", "check_symmetric_stack"]


def as_gains(K, *, m: int, n: int, M: int) -> np.ndarray:
    """Gains ``K`` of shape (m, n) (one gain, shared) or (M, m, n) as a finite (M, m, n) array.

    A shared gain is broadcast (a read-only view, no copy).

    Raises
    ------
    ShapeError
        ``expected (m, n) or (M, m, n), found ...``.
    MatrixError
        If an entry is NaN or infinite.
    """
    array = np.asarray(K, dtype=float)
    if array.shape == (m, n):
        array = np.broadcast_to(array, (M, m, n))
    elif array.shape != (M, m, n):
        raise ShapeError(f"K: expected shape ({m}, {n}) or ({M}, {m}, {n}), found {array.shape}")
    if not np.all(np.isfinite(array)):
        raise MatrixError(f"K has non-finite entries: {np.asarray(K).tolist()}")
    return array


def check_symmetric_stack(name: str, stack: np.ndarray) -> None:
    """:func:`check_symmetric` for every matrix of a stack (..., n, n), naming the first failure.

    ``name`` is the stack's name; the message names the first failing index, ``name[i]``.
    """
    flat = stack.reshape(-1, *stack.shape[-2:])
    scale = np.maximum(np.max(np.abs(flat), axis=(1, 2)), np.finfo(float).tiny)
    asymmetry = np.max(np.abs(flat - np.swapaxes(flat, 1, 2)), axis=(1, 2))
    bad = np.flatnonzero(asymmetry > SYMMETRY_RTOL * scale)
    if bad.size:
        index = np.unravel_index(int(bad[0]), stack.shape[:-2])
        check_symmetric(f"{name}[{', '.join(map(str, index))}]", flat[bad[0]])
