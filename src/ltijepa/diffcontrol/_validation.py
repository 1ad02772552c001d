"""Input checks of the differentiable LQR: shapes, finiteness, symmetric PSD cost matrices.

The problem layout is batch-first and time-major after it (``B`` problems, horizon ``T``,
``n`` states, ``m`` controls, ``N = n + m``): ``C (B, T, N, N)``, ``c (B, T, N)``,
``F (B, T - 1, n, N)``, ``f (B, T - 1, n)``, ``x_init (B, n)``.
"""

from __future__ import annotations

import torch

from ltijepa.checks import DEFINITE_RTOL, SYMMETRY_RTOL
from ltijepa.errors import DataError, ShapeError

__all__: list[str] = []


def _check_tensor(name: str, value, ndim: int) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise ShapeError(f"{name}: expected a torch.Tensor with {ndim} dimensions, found {type(value).__name__}",
                         name=name)
    if value.ndim != ndim:
        raise ShapeError(f"{name}: expected {ndim} dimensions, found shape {tuple(value.shape)}",
                         name=name, found=tuple(value.shape))
    if not torch.is_floating_point(value):
        raise DataError(f"{name}: dtype == {value.dtype}, must be a floating-point dtype", name=name)
    if not bool(torch.isfinite(value).all()):
        index = tuple(int(i) for i in torch.nonzero(~torch.isfinite(value))[0])
        raise DataError(f"{name} has a non-finite entry at index {index}", name=name, index=index)
    return value


def _check_shape(name: str, value: torch.Tensor, expected: tuple) -> None:
    if tuple(value.shape) != expected:
        raise ShapeError(f"{name}: expected shape {expected}, found {tuple(value.shape)}",
                         name=name, expected=expected, found=tuple(value.shape))


def check_lqr_problem(C, c, F, f, x_init) -> tuple[int, int, int, int]:
    """``(B, T, n, m)`` of a valid problem; raise ShapeError or DataError naming the bad input.

    Checks the shapes above (``T >= 1``, ``m >= 1``), one dtype, finite entries and that every
    ``C_t`` is symmetric and positive semidefinite (relative tolerances of :mod:`ltijepa.checks`).
    """
    C = _check_tensor("C", C, 4)
    x_init = _check_tensor("x_init", x_init, 2)
    B, T, N = C.shape[0], C.shape[1], C.shape[2]
    n = x_init.shape[1]
    if T == 0:
        raise ShapeError(f"C: horizon T == 0 (shape {tuple(C.shape)}), must be >= 1", name="C",
                         found=tuple(C.shape))
    if C.shape[3] != N:
        raise ShapeError(f"C: expected square blocks (B, T, N, N), found {tuple(C.shape)}", name="C",
                         found=tuple(C.shape))
    if N <= n:
        raise ShapeError(f"C: blocks of size N == {N} for n == {n} states (x_init {tuple(x_init.shape)}), "
                         "must be N = n + m with m >= 1", name="C", found=tuple(C.shape))
    _check_shape("x_init", x_init, (B, n))
    for name, value, shape in (("c", c, (B, T, N)), ("F", F, (B, T - 1, n, N)), ("f", f, (B, T - 1, n))):
        _check_shape(name, _check_tensor(name, value, len(shape)), shape)
    dtypes = {t.dtype for t in (C, c, F, f, x_init)}
    if len(dtypes) > 1:
        raise DataError(f"C, c, F, f, x_init have the dtypes {sorted(map(str, dtypes))}, must share one",
                        name="dtype")
    _check_symmetric_psd(C)
    return B, T, n, N - n


def _check_symmetric_psd(C: torch.Tensor) -> None:
    scale = C.abs().amax(dim=(-2, -1)).clamp_min(torch.finfo(C.dtype).tiny)
    asymmetry = (C - C.mT).abs().amax(dim=(-2, -1)) / scale
    bad = asymmetry > SYMMETRY_RTOL
    if bool(bad.any()):
        b, t = (int(i) for i in torch.nonzero(bad)[0])
        raise DataError(f"C[{b}, {t}] is not symmetric: max|C - C^T| / max|C| == {float(asymmetry[b, t]):.3g}, "
                        f"must be <= {SYMMETRY_RTOL:g}", name="C", index=(b, t))
    rtol = max(DEFINITE_RTOL, 10 * torch.finfo(C.dtype).eps)
    eye = torch.eye(C.shape[-1], dtype=C.dtype, device=C.device)
    shifted = C + (rtol * C.shape[-1] * scale)[..., None, None] * eye
    info = torch.linalg.cholesky_ex(shifted).info
    if bool((info != 0).any()):
        b, t = (int(i) for i in torch.nonzero(info != 0)[0])
        lowest = float(torch.linalg.eigvalsh(C[b, t])[0])
        raise DataError(f"C[{b}, {t}] is not positive semidefinite: smallest eigenvalue == {lowest:.6g}",
                        name="C", index=(b, t))
