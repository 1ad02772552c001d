"""Input checks shared by every area: counts, positive numbers, matrices, closed-loop stability.

"checks" means input validation, nothing else. Scalar checks raise
:class:`~ltijepa.errors.ParameterError` with the message ``name == value, must be ...``; matrix
checks raise :class:`~ltijepa.errors.ShapeError` (``expected shape (n, m), found (p, q)``) or
:class:`~ltijepa.errors.DataError`; :func:`check_stabilizing` raises
:class:`~ltijepa.errors.NotStabilizingError` with the spectral radius.
Tolerances are relative to the matrix's scale (scikit-learn's habit), so a weight
matrix with entries around 1e6 and round-off asymmetry of 1e-10 is accepted.
"""

from __future__ import annotations

import numbers

import numpy as np

from ltijepa.errors import DataError, NotStabilizingError, ParameterError, ShapeError

__all__ = [
    "check_positive",
    "check_count",
    "as_matrix",
    "check_symmetric",
    "check_definite",
    "check_stabilizing",
    "check_generator",
    "SYMMETRY_RTOL",
    "DEFINITE_RTOL",
]

#: Relative tolerance of the symmetry check: |M - M^T| <= SYMMETRY_RTOL * max|M|.
SYMMETRY_RTOL = 1e-9
#: Relative tolerance of the definiteness checks: eigenvalues >= -DEFINITE_RTOL * max|eig|.
DEFINITE_RTOL = 1e-10


def check_positive(name: str, value, *, allow_zero: bool = False) -> float:
    """``value`` as a float; raise :class:`ParameterError` unless it is finite and > 0
    (>= 0 with ``allow_zero``).

    ``name`` is the parameter's name, for the message ``name == value, must be ...``.

    >>> check_positive("radius", 0.1)
    0.1
    """
    bound = ">= 0" if allow_zero else "> 0"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} == {value!r}, must be a real number {bound}", name=name, value=value)
    number = float(value)
    if not (np.isfinite(number) and (number > 0 or (allow_zero and number == 0))):
        raise ParameterError(f"{name} == {number!r}, must be a finite number {bound}", name=name, value=value)
    return number


def check_count(
    name: str,
    value,
    *,
    minimum: int = 1,
    maximum: int | None = None,
    error: type[ParameterError] = ParameterError,
) -> int:
    """``value`` as an int; raise ``error`` unless it is an integer in ``[minimum, maximum]``.

    ``name`` is the parameter's name, for the message ``name == value, must be ...``;
    ``maximum=None`` leaves the range unbounded above; ``error`` is :class:`ParameterError` or
    a module's subclass of it.

    >>> check_count("samples", 10)
    10
    >>> check_count("target", 9, minimum=0, maximum=8)
    Traceback (most recent call last):
    ...
    ltijepa.errors.ParameterError: target == 9, must be an integer in [0, 8]
    """
    bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise error(f"{name} == {value!r}, must be an integer {bound}", name=name, value=value)
    if value < minimum or (maximum is not None and value > maximum):
        raise error(f"{name} == {value!r}, must be an integer {bound}", name=name, value=value)
    return int(value)


def as_matrix(name: str, value, shape: tuple[int | None, int | None]) -> np.ndarray:
    """``value`` as a finite real float 2-D array of ``shape`` (``None`` matches any size).

    ``name`` is the matrix's name, used in the messages. Real numbers (bool, integer, float)
    are converted to float; a complex array is accepted only when every imaginary part is 0.

    Raises
    ------
    ShapeError
        ``expected (n, m), found (p, q)`` naming the matrix, also for ragged nested lists.
    DataError
        If an entry is NaN or infinite, complex with a non-zero imaginary part, or not a number
        (a string, ``None``).

    >>> as_matrix("A", [[1, 2]], (1, None)).tolist()
    [[1.0, 2.0]]
    >>> as_matrix("A", [[1.0, 2.0], [3.0]], (None, None))
    Traceback (most recent call last):
    ...
    ltijepa.errors.ShapeError: A is ragged: its rows do not all have the same length
    """
    array = _real_array(name, value)
    if array.ndim == 0 and shape == (1, 1):
        array = array.reshape(1, 1)
    wanted = tuple("*" if s is None else s for s in shape)
    if array.ndim != 2 or any(s is not None and s != a for s, a in zip(shape, array.shape)):
        raise ShapeError(f"{name}: expected shape {wanted}, found {array.shape}", name=name, expected=shape,
                         found=array.shape)
    if not np.all(np.isfinite(array)):
        raise DataError(f"{name} has non-finite entries: {array.tolist()}", name=name)
    array.setflags(write=False)
    return array


def _real_array(name: str, value) -> np.ndarray:
    """``value`` as a new float array; ShapeError if ragged, DataError unless its entries are real numbers."""
    try:
        array = np.array(value)
    except ValueError as exc:  # numpy's "inhomogeneous shape" of a ragged nested list
        raise ShapeError(f"{name} is ragged: its rows do not all have the same length", name=name) from exc
    if array.dtype.kind == "c":
        if np.any(array.imag != 0):
            raise DataError(f"{name} must be real, found complex entries: {array.tolist()}", name=name,
                            index=tuple(int(i) for i in np.argwhere(array.imag != 0)[0]))
        array = array.real
    if array.dtype.kind not in "biuf" and array.dtype != object:
        raise DataError(f"{name} must hold real numbers, found {array.tolist()!r}", name=name)
    try:
        return array.astype(float, copy=False)
    except (TypeError, ValueError) as exc:  # an object array holding None, strings, complex numbers...
        raise DataError(f"{name} must hold real numbers, found {array.tolist()!r}", name=name) from exc


def check_symmetric(name: str, matrix: np.ndarray) -> None:
    """Raise :class:`DataError` unless ``matrix`` is symmetric to a relative tolerance.

    ``name`` is the matrix's name, used in the message.
    """
    scale = max(float(np.max(np.abs(matrix))), np.finfo(float).tiny)
    asymmetry = float(np.max(np.abs(matrix - matrix.T)))
    if asymmetry > SYMMETRY_RTOL * scale:
        raise DataError(
            f"{name} must be symmetric: max|{name} - {name}^T| == {asymmetry:.3g}, "
            f"relative {asymmetry / scale:.3g} > {SYMMETRY_RTOL:g}",
            name=name,
        )


def check_definite(name: str, matrix: np.ndarray, *, strict: bool) -> None:
    """Raise :class:`DataError` unless ``matrix`` is positive semidefinite (``strict``: definite).

    ``strict`` demands the smallest eigenvalue exceed ``DEFINITE_RTOL`` times the largest;
    ``name`` is the matrix's name, used in the message.
    """
    check_symmetric(name, matrix)
    eigenvalues = np.linalg.eigvalsh((matrix + matrix.T) / 2)
    scale = max(float(np.max(np.abs(eigenvalues))), np.finfo(float).tiny)
    smallest = float(eigenvalues[0])
    if strict and smallest <= DEFINITE_RTOL * scale:
        raise DataError(f"{name} must be positive definite: smallest eigenvalue == {smallest:.3g}", name=name)
    if not strict and smallest < -DEFINITE_RTOL * scale:
        raise DataError(f"{name} must be positive semidefinite: smallest eigenvalue == {smallest:.3g}", name=name)


def check_stabilizing(rho, *, gain: str = "K", label: str | None = None, advice: str = "", **where) -> None:
    """Raise :class:`NotStabilizingError` unless every closed-loop spectral radius is < 1.

    The one check behind every "rho(A - B K) must be < 1" of the package (a NaN counts as
    not stabilizing). The message always reads
    ``[round r: ][iteration i: ]GAIN does not stabilize SYSTEM: rho(A - B GAIN) == rho, must be < 1 (ADVICE)``.

    Parameters
    ----------
    rho : float or array_like of float
        ``rho(A - B K)`` of one system, or one value per task of a collection (the first task
        with ``rho_i >= 1`` is named, and passed on as ``task_index``).
    gain : str
        The gain's symbol in the message (``"K"``, ``"K0"``, ``"K_{n+1}"``, ``"K +- U"``; one
        with a space is parenthesized in ``rho(A - B (K +- U))``).
    label : str, optional
        How the message names the system (default ``"the task"``, or ``"task i"`` for a
        collection).
    advice : str
        A hint appended to the message in parentheses (e.g. "reduce the step size").
    **where
        Further attributes of the error: ``iteration``, ``round``, ``agent``, ``replica``,
        ``task_index`` (see :class:`~ltijepa.errors.NotStabilizingError`); ``round`` and
        ``iteration`` also open the message.

    >>> check_stabilizing(0.5)
    >>> check_stabilizing([0.5, 1.2], gain="K0")
    Traceback (most recent call last):
    ...
    ltijepa.errors.NotStabilizingError: K0 does not stabilize task 1: rho(A_1 - B_1 K0) == 1.2, must be < 1
    >>> check_stabilizing(2.0, iteration=3, advice="take a smaller step")
    Traceback (most recent call last):
    ...
    ltijepa.errors.NotStabilizingError: iteration 3: K does not stabilize the task: rho(A - B K) == 2, must be < 1 (take a smaller step)
    """
    values = np.atleast_1d(np.asarray(rho, dtype=float))
    bad = np.flatnonzero(~(values < 1.0))
    if bad.size == 0:
        return
    symbol = f"({gain})" if " " in gain else gain
    if np.ndim(rho) == 0:
        value, system, closed_loop = float(values[0]), label or "the task", f"A - B {symbol}"
    else:
        i = int(bad[0])
        value, system, closed_loop = float(values[i]), label or f"task {i}", f"A_{i} - B_{i} {symbol}"
        where = {"task_index": i, **where}
    when = "".join(f"{key} {where[key]}: " for key in ("round", "iteration") if where.get(key) is not None)
    hint = f" ({advice})" if advice else ""
    raise NotStabilizingError(
        f"{when}{gain} does not stabilize {system}: rho({closed_loop}) == {value:.6g}, must be < 1{hint}",
        rho=value, **where,
    )


def check_generator(generator):
    """``generator`` if it is a :class:`torch.Generator`; else :class:`ParameterError`.

    Every sampler and training loop takes its randomness from an explicit generator, so runs
    are reproducible; ``None`` would silently fall back to torch's global state. (torch is
    imported only when this is called: the numpy parts of the package do not need it.)
    """
    import torch

    if not isinstance(generator, torch.Generator):
        raise ParameterError(
            f"generator == {generator!r}, must be a torch.Generator (e.g. torch.Generator().manual_seed(0))",
            name="generator", value=generator,
        )
    return generator
