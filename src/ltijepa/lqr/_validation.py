"""Input checks shared by the LQR modules: shapes, symmetry, definiteness, gains.

Tolerances are relative to the matrix's scale (``STYLE.md``: sklearn's habit), so a weight
matrix with entries around 1e6 and round-off asymmetry of 1e-10 is accepted.
"""

from __future__ import annotations

import numbers

import numpy as np

from ltijepa.errors import LtijepaError, MatrixError, ShapeError

__all__ = [
    "ParameterError",
    "as_matrix",
    "as_gains",
    "check_symmetric",
    "check_symmetric_stack",
    "check_definite",
    "check_positive",
    "check_count",
    "SYMMETRY_RTOL",
    "DEFINITE_RTOL",
]

#: Relative tolerance of the symmetry check: |M - M^T| <= SYMMETRY_RTOL * max|M|.
SYMMETRY_RTOL = 1e-9
#: Relative tolerance of the definiteness checks: eigenvalues >= -DEFINITE_RTOL * max|eig|.
DEFINITE_RTOL = 1e-10


class ParameterError(LtijepaError, ValueError):
    """A scalar parameter is out of its range: a step size, a radius, a number of samples.

    The message reads ``name == value, must be ...``.
    """


def check_positive(name: str, value) -> float:
    """``value`` as a float; raise :class:`ParameterError` unless it is finite and > 0.

    ``name`` is the parameter's name, for the message ``name == value, must be ...``.

    >>> check_positive("radius", 0.1)
    0.1
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} == {value!r}, must be a real number > 0")
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ParameterError(f"{name} == {value!r}, must be a finite number > 0")
    return value


def check_count(name: str, value, *, minimum: int = 1) -> int:
    """``value`` as an int; raise :class:`ParameterError` unless it is an integer >= ``minimum``.

    ``name`` is the parameter's name, for the message ``name == value, must be ...``.

    >>> check_count("samples", 10)
    10
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"{name} == {value!r}, must be an integer >= {minimum}")
    if value < minimum:
        raise ParameterError(f"{name} == {value!r}, must be an integer >= {minimum}")
    return int(value)


def as_matrix(name: str, value, shape: tuple[int | None, int | None]) -> np.ndarray:
    """``value`` as a finite float 2-D array of ``shape`` (``None`` matches any size).

    ``name`` is the matrix's name, used in the messages.

    Raises
    ------
    ShapeError
        ``expected (n, m), found (p, q)`` naming the matrix.
    MatrixError
        If an entry is NaN or infinite.
    """
    array = np.array(value, dtype=float)
    if array.ndim == 0 and shape == (1, 1):
        array = array.reshape(1, 1)
    wanted = tuple("*" if s is None else s for s in shape)
    if array.ndim != 2 or any(s is not None and s != a for s, a in zip(shape, array.shape)):
        raise ShapeError(f"{name}: expected shape {wanted}, found {array.shape}")
    if not np.all(np.isfinite(array)):
        raise MatrixError(f"{name} has non-finite entries: {array.tolist()}")
    array.setflags(write=False)
    return array


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


def check_symmetric(name: str, matrix: np.ndarray) -> None:
    """Raise :class:`MatrixError` unless ``matrix`` is symmetric to a relative tolerance.

    ``name`` is the matrix's name, used in the message.
    """
    scale = max(float(np.max(np.abs(matrix))), np.finfo(float).tiny)
    asymmetry = float(np.max(np.abs(matrix - matrix.T)))
    if asymmetry > SYMMETRY_RTOL * scale:
        raise MatrixError(
            f"{name} must be symmetric: max|{name} - {name}^T| == {asymmetry:.3g}, "
            f"relative {asymmetry / scale:.3g} > {SYMMETRY_RTOL:g}"
        )


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


def check_definite(name: str, matrix: np.ndarray, *, strict: bool) -> None:
    """Raise :class:`MatrixError` unless ``matrix`` is positive semidefinite (``strict``: definite).

    ``strict`` demands the smallest eigenvalue exceed ``DEFINITE_RTOL`` times the largest;
    ``name`` is the matrix's name, used in the message.
    """
    check_symmetric(name, matrix)
    eigenvalues = np.linalg.eigvalsh((matrix + matrix.T) / 2)
    scale = max(float(np.max(np.abs(eigenvalues))), np.finfo(float).tiny)
    smallest = float(eigenvalues[0])
    if strict and smallest <= DEFINITE_RTOL * scale:
        raise MatrixError(f"{name} must be positive definite: smallest eigenvalue == {smallest:.3g}")
    if not strict and smallest < -DEFINITE_RTOL * scale:
        raise MatrixError(f"{name} must be positive semidefinite: smallest eigenvalue == {smallest:.3g}")
