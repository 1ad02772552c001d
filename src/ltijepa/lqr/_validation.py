"""Input checks shared by the LQR modules: shapes, symmetry, definiteness, gains.

Tolerances are relative to the matrix's scale (``STYLE.md``: sklearn's habit), so a weight
matrix with entries around 1e6 and round-off asymmetry of 1e-10 is accepted.
"""

from __future__ import annotations

import numpy as np

from ltijepa.errors import MatrixError, ShapeError

__all__ = ["as_matrix", "check_symmetric", "check_definite", "SYMMETRY_RTOL", "DEFINITE_RTOL"]

#: Relative tolerance of the symmetry check: |M - M^T| <= SYMMETRY_RTOL * max|M|.
SYMMETRY_RTOL = 1e-9
#: Relative tolerance of the definiteness checks: eigenvalues >= -DEFINITE_RTOL * max|eig|.
DEFINITE_RTOL = 1e-10


def as_matrix(name: str, value, shape: tuple[int | None, int | None]) -> np.ndarray:
    """``value`` as a finite float 2-D array of ``shape`` (``None`` matches any size).

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


def check_symmetric(name: str, matrix: np.ndarray) -> None:
    """Raise :class:`MatrixError` unless ``matrix`` is symmetric to a relative tolerance."""
    scale = max(float(np.max(np.abs(matrix))), np.finfo(float).tiny)
    asymmetry = float(np.max(np.abs(matrix - matrix.T)))
    if asymmetry > SYMMETRY_RTOL * scale:
        raise MatrixError(
            f"{name} must be symmetric: max|{name} - {name}^T| == {asymmetry:.3g}, "
            f"relative {asymmetry / scale:.3g} > {SYMMETRY_RTOL:g}"
        )


def check_definite(name: str, matrix: np.ndarray, *, strict: bool) -> None:
    """Raise :class:`MatrixError` unless ``matrix`` is positive semidefinite (``strict``: definite).

    ``strict`` demands the smallest eigenvalue exceed ``DEFINITE_RTOL`` times the largest.
    """
    check_symmetric(name, matrix)
    eigenvalues = np.linalg.eigvalsh((matrix + matrix.T) / 2)
    scale = max(float(np.max(np.abs(eigenvalues))), np.finfo(float).tiny)
    smallest = float(eigenvalues[0])
    if strict and smallest <= DEFINITE_RTOL * scale:
        raise MatrixError(f"{name} must be positive definite: smallest eigenvalue == {smallest:.3g}")
    if not strict and smallest < -DEFINITE_RTOL * scale:
        raise MatrixError(f"{name} must be positive semidefinite: smallest eigenvalue == {smallest:.3g}")
