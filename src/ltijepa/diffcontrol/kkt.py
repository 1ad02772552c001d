"""The LQR problem as one equality-constrained QP and its KKT system, solved densely.

Ren 2026, slide "Differentiable LQR" (book label ``def-diff-lqr``): the general QP
``min 1/2 z^T Q z + q^T z s.t. A z = b`` has the KKT system

.. math::

    \\begin{bmatrix} Q & A^\\top \\\\ A & 0 \\end{bmatrix}
    \\begin{bmatrix} z^\\star \\\\ \\lambda^\\star \\end{bmatrix}
    = \\begin{bmatrix} -q \\\\ b \\end{bmatrix}.

For the LQR, ``z = (tau_1, ..., tau_T)``, ``Q = blockdiag(C_t)``, ``q = (c_t)``, and the
constraints are written ``-x_1 = -x_init`` and ``F_t tau_t - x_{t+1} = -f_t``, so that the
multipliers are those of eq. (7) of Amos et al. 2018 (``lam_t`` on the row that defines
``x_t``). This dense solve, ``O((T N)^3)``, is the reference that the Riccati recursion of
:func:`~ltijepa.diffcontrol.lqr.solve_lqr` must reproduce (``thm-riccati-kkt``).
"""

from __future__ import annotations

import torch

from ltijepa.diffcontrol._validation import check_lqr_problem
from ltijepa.diffcontrol.lqr import LQRSolution

__all__ = ["kkt_system", "solve_kkt"]


def kkt_system(C, c, F, f, x_init) -> tuple[torch.Tensor, torch.Tensor]:
    """The KKT matrix ``(B, T N + T n, T N + T n)`` and right-hand side of ``def-diff-lqr``.

    Unknowns ordered ``(tau_1, ..., tau_T, lam_1, ..., lam_T)``.

    As in :func:`~ltijepa.diffcontrol.lqr.solve_lqr` for the parameters, shapes and errors.
    """
    B, T, n, m = check_lqr_problem(C, c, F, f, x_init)
    N = n + m
    size = T * N + T * n
    K = C.new_zeros(B, size, size)
    rhs = C.new_zeros(B, size)
    A = C.new_zeros(B, T * n, T * N)
    b = C.new_zeros(B, T * n)
    eye = torch.eye(n, dtype=C.dtype, device=C.device)
    for t in range(T):
        K[:, t * N:(t + 1) * N, t * N:(t + 1) * N] = C[:, t]
        rhs[:, t * N:(t + 1) * N] = -c[:, t]
        A[:, t * n:(t + 1) * n, t * N:t * N + n] = -eye
        if t == 0:
            b[:, :n] = -x_init
        else:
            A[:, t * n:(t + 1) * n, (t - 1) * N:t * N] = F[:, t - 1]
            b[:, t * n:(t + 1) * n] = -f[:, t - 1]
    K[:, :T * N, T * N:] = A.mT
    K[:, T * N:, :T * N] = A
    rhs[:, T * N:] = b
    return K, rhs


def solve_kkt(C, c, F, f, x_init) -> LQRSolution:
    """``tau*`` and ``lam*`` of ``def-diff-lqr`` by one dense solve of :func:`kkt_system`.

    As in :func:`~ltijepa.diffcontrol.lqr.solve_lqr` for the parameters, shapes and errors.
    """
    K, rhs = kkt_system(C, c, F, f, x_init)
    B, T, N = C.shape[:3]
    z = torch.linalg.solve(K, rhs)
    return LQRSolution(z[:, :T * N].reshape(B, T, N), z[:, T * N:].reshape(B, T, -1))
