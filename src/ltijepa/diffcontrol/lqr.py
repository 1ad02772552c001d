"""Differentiable finite-horizon LQR: the Riccati forward pass and Module 1's backward pass.

The problem (Amos et al. 2018, eq. (2); Ren 2026, slide "Differentiable LQR"; book label
``def-diff-lqr``), for ``tau_t = (x_t, u_t)``, ``t = 1, ..., T``:

.. math::

    \\tau^\\star = \\arg\\min_{\\tau_{1:T}} \\sum_{t=1}^T \\tfrac12 \\tau_t^\\top C_t \\tau_t
    + c_t^\\top \\tau_t
    \\quad \\text{s.t.} \\quad x_{t+1} = F_t \\tau_t + f_t,\\; x_1 = x_{\\text{init}}.

Layout: batch first, then time. ``C (B, T, N, N)``, ``c (B, T, N)``, ``F (B, T-1, n, N)``,
``f (B, T-1, n)``, ``x_init (B, n)`` with ``N = n + m``; the last step has no dynamics, as in
the lecture. (mpc.pytorch, the authors' library, is time-major ``(T, B, ...)`` with ``F`` of
length ``T - 1`` as well.) Controls are ``u_t = K_t x_t + k_t`` (Amos et al.'s sign, not the
``u = -K x`` of :mod:`ltijepa.lqr`).

- :func:`solve_lqr`: the forward pass (Riccati recursion, batched) with multipliers (7), and
  as a :class:`torch.autograd.Function` the backward pass of Module 1: one more LQR sweep that
  reuses the forward pass's factorisations, then the outer-product formulas (8).
- :func:`unrolled_lqr`: the same recursion run by plain autograd (the reference).
- :func:`module1_gradients`: formulas (8) alone, so a test can feed them wrong inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from ltijepa.diffcontrol._validation import check_lqr_problem
from ltijepa.errors import DataError

__all__ = [
    "LQRSolution",
    "LQRCounts",
    "LQRGradients",
    "solve_lqr",
    "unrolled_lqr",
    "module1_gradients",
    "lqr_cost",
]


class LQRSolution(NamedTuple):
    """The optimum of an LQR problem: ``tau`` (B, T, N) and the multipliers ``lam`` (B, T, n).

    ``lam`` solves eq. (7) of Amos et al. 2018: ``lam_T = C_{T,x} tau_T + c_{T,x}`` and
    ``lam_t = F_{t,x}^T lam_{t+1} + C_{t,x} tau_t + c_{t,x}`` (``C_{t,x}`` the state rows).
    Through :func:`solve_lqr`, ``tau`` is differentiable and ``lam`` is not.
    """

    tau: torch.Tensor
    lam: torch.Tensor

    @property
    def x(self) -> torch.Tensor:
        """The states ``(B, T, n)``."""
        return self.tau[..., : self.lam.shape[-1]]

    @property
    def u(self) -> torch.Tensor:
        """The controls ``(B, T, m)``."""
        return self.tau[..., self.lam.shape[-1]:]


@dataclass
class LQRCounts:
    """Work done by :func:`solve_lqr`, counted as it happens (pass one to ``counts=``).

    Attributes
    ----------
    factorizations : int
        Batched Cholesky factorisations of ``Q_{t,uu}`` (one per time step of a Riccati pass).
    sweeps : int
        Affine LQR sweeps (backward recursion of ``k_t``, ``v_t`` and a rollout).
    """

    factorizations: int = 0
    sweeps: int = 0


class LQRGradients(NamedTuple):
    """The derivatives of a loss with respect to the problem data, shaped like them."""

    C: torch.Tensor
    c: torch.Tensor
    F: torch.Tensor
    f: torch.Tensor
    x_init: torch.Tensor


class _Gains(NamedTuple):
    """What the Riccati pass computes once and both sweeps reuse (lists over t)."""

    K: list  # K_t (B, m, n)
    chol: list  # Cholesky factor of Q_{t,uu} (B, m, m)
    Q_xu: list  # Q_{t,xu} (B, n, m)
    V: list  # V_t (B, n, n), V_{T+1} = 0 is not stored


def _mv(M: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (M @ v[..., None])[..., 0]


def _riccati(C: torch.Tensor, F: torch.Tensor, n: int) -> _Gains:
    """The Riccati recursion (Amos et al. 2018, Appendix A) for the gains; factorises Q_uu."""
    T = C.shape[1]
    K, chol, Q_xu, V = [None] * T, [None] * T, [None] * T, [None] * T
    for t in reversed(range(T)):
        Q = C[:, t] if t == T - 1 else C[:, t] + F[:, t].mT @ V[t + 1] @ F[:, t]
        L, info = torch.linalg.cholesky_ex(Q[:, n:, n:])
        if bool((info != 0).any()):
            b = int(torch.nonzero(info)[0])
            lowest = float(torch.linalg.eigvalsh(Q[b, n:, n:])[0])
            raise DataError(
                f"Q_uu at step t == {t + 1} of problem {b} is not positive definite (smallest eigenvalue "
                f"{lowest:.3g}): the controls' cost C_uu must be positive definite", name="C", index=(b, t))
        K[t] = -torch.cholesky_solve(Q[:, n:, :n], L)
        chol[t], Q_xu[t] = L, Q[:, :n, n:]
        Vt = Q[:, :n, :n] + Q_xu[t] @ K[t]
        V[t] = 0.5 * (Vt + Vt.mT)
    return _Gains(K, chol, Q_xu, V)


def _sweep(gains: _Gains, C, c, F, f, x_init, n: int) -> LQRSolution:
    """One affine LQR solve with fixed gains: k_t and v_t backwards, the rollout, then (7)."""
    T = C.shape[1]
    k, v = [None] * T, None
    for t in reversed(range(T)):
        q = c[:, t] if t == T - 1 else c[:, t] + _mv(F[:, t].mT, _mv(gains.V[t + 1], f[:, t]) + v)
        k[t] = -torch.cholesky_solve(q[:, n:, None], gains.chol[t])[..., 0]
        v = q[:, :n] + _mv(gains.Q_xu[t], k[t])
    x, taus = x_init, []
    for t in range(T):
        taus.append(torch.cat((x, _mv(gains.K[t], x) + k[t]), dim=-1))
        if t < T - 1:
            x = _mv(F[:, t], taus[t]) + f[:, t]
    tau = torch.stack(taus, dim=1)
    gradient_x = _mv(C[..., :n, :], tau) + c[..., :n]
    lam = [gradient_x[:, T - 1]]
    for t in reversed(range(T - 1)):
        lam.append(gradient_x[:, t] + _mv(F[:, t, :, :n].mT, lam[-1]))
    return LQRSolution(tau, torch.stack(lam[::-1], dim=1))


def module1_gradients(solution: LQRSolution, adjoint: LQRSolution) -> LQRGradients:
    """Eq. (8) of Amos et al. 2018: the loss's derivatives from ``tau*, lam*`` and ``d*_tau, d*_lam``.

    .. math::

        \\nabla_{C_t}\\ell = \\tfrac12 (d^\\star_{\\tau_t} \\otimes \\tau^\\star_t
            + \\tau^\\star_t \\otimes d^\\star_{\\tau_t}),\\quad
        \\nabla_{c_t}\\ell = d^\\star_{\\tau_t},\\quad
        \\nabla_{x_{\\text{init}}}\\ell = d^\\star_{\\lambda_1},

        \\nabla_{F_t}\\ell = d^\\star_{\\lambda_{t+1}} \\otimes \\tau^\\star_t
            + \\lambda^\\star_{t+1} \\otimes d^\\star_{\\tau_t},\\quad
        \\nabla_{f_t}\\ell = d^\\star_{\\lambda_{t+1}}.

    (Book label ``thm-lqr-backward``; Ren 2026, slide "Module 1 Differentiable LQR".)

    Parameters
    ----------
    solution : LQRSolution
        ``tau*`` and ``lam*`` of the forward pass.
    adjoint : LQRSolution
        ``d*_tau`` and ``d*_lam``: the LQR with ``c`` replaced by ``grad_tau l``, ``f = 0`` and
        ``x_init = 0``, and its multipliers (7).
    """
    tau, lam = solution
    d_tau, d_lam = adjoint
    return LQRGradients(
        C=0.5 * (d_tau[..., :, None] * tau[..., None, :] + tau[..., :, None] * d_tau[..., None, :]),
        c=d_tau,
        F=d_lam[:, 1:, :, None] * tau[:, :-1, None, :] + lam[:, 1:, :, None] * d_tau[:, :-1, None, :],
        f=d_lam[:, 1:],
        x_init=d_lam[:, 0],
    )


class _LQRFunction(torch.autograd.Function):
    """Module 1 of Amos et al. 2018 as an autograd node: Riccati forward, LQR backward."""

    @staticmethod
    def forward(ctx, C, c, F, f, x_init, n, counts):
        gains = _riccati(C, F, n)
        solution = _sweep(gains, C, c, F, f, x_init, n)
        if counts is not None:
            counts.factorizations += C.shape[1]
            counts.sweeps += 1
        ctx.gains, ctx.n, ctx.counts = gains, n, counts
        ctx.save_for_backward(C, F, *solution)
        ctx.mark_non_differentiable(solution.lam)
        return solution.tau, solution.lam

    @staticmethod
    def backward(ctx, grad_tau, grad_lam):
        C, F, tau, lam = ctx.saved_tensors
        if grad_tau is None:
            grad_tau = torch.zeros_like(tau)
        zeros_f = torch.zeros(F.shape[:-1], dtype=F.dtype, device=F.device)
        zeros_x = torch.zeros_like(lam[:, 0])
        adjoint = _sweep(ctx.gains, C, grad_tau, F, zeros_f, zeros_x, ctx.n)
        if ctx.counts is not None:
            ctx.counts.sweeps += 1
        return (*module1_gradients(LQRSolution(tau, lam), adjoint), None, None)


def solve_lqr(C, c, F, f, x_init, *, counts: LQRCounts | None = None) -> LQRSolution:
    """Solve the batched LQR ``def-diff-lqr`` by the Riccati recursion; differentiable by Module 1.

    .. math::

        Q_t = C_t + F_t^\\top V_{t+1} F_t,\\quad q_t = c_t + F_t^\\top (V_{t+1} f_t + v_{t+1}),\\quad
        K_t = -Q_{t,uu}^{-1} Q_{t,ux},\\quad k_t = -Q_{t,uu}^{-1} q_{t,u},

        V_t = Q_{t,xx} + Q_{t,xu} K_t,\\quad v_t = q_{t,x} + Q_{t,xu} k_t,\\quad
        u_t = K_t x_t + k_t,\\quad x_{t+1} = F_t \\tau_t + f_t,

    with ``V_{T+1} = 0, v_{T+1} = 0``; then the multipliers by eq. (7) of Amos et al. 2018.
    The result equals the solution of the KKT system of the same QP (book label
    ``thm-riccati-kkt``, checked against :func:`~ltijepa.diffcontrol.kkt.solve_kkt`).

    ``loss.backward()`` through ``tau`` runs Module 1's backward pass (``thm-lqr-backward``):
    ``d*_tau = LQR(0; C, grad_tau l, F, 0)`` with the forward pass's gains and Cholesky
    factors (no new factorisation: ``counts`` shows it), ``d*_lam`` by (7), then
    :func:`module1_gradients` for ``C, c, F, f, x_init``. The gradient for ``C`` is the
    symmetric one (the cost depends only on the symmetric part of ``C_t``).

    Parameters
    ----------
    C : torch.Tensor, shape (B, T, N, N)
        Symmetric PSD cost matrices; every ``Q_{t,uu}`` must come out positive definite.
    c : torch.Tensor, shape (B, T, N)
        Linear costs.
    F : torch.Tensor, shape (B, T - 1, n, N)
        Dynamics ``x_{t+1} = F_t tau_t + f_t``.
    f : torch.Tensor, shape (B, T - 1, n)
        Dynamics offsets.
    x_init : torch.Tensor, shape (B, n)
        Initial states.
    counts : LQRCounts, optional
        Incremented with the factorisations and sweeps of the forward and backward passes.

    Returns
    -------
    LQRSolution
        ``tau (B, T, N)`` and ``lam (B, T, n)``.

    Raises
    ------
    ShapeError
        If a shape does not fit the layout (including ``T == 0`` and ``m == 0``).
    DataError
        If an entry is not finite, dtypes differ, a ``C_t`` is not symmetric PSD, or a
        ``Q_{t,uu}`` is not positive definite.

    >>> I = torch.eye(2, dtype=torch.float64)
    >>> C = I.expand(1, 2, 2, 2); c = torch.zeros(1, 2, 2, dtype=torch.float64)
    >>> F = torch.ones(1, 1, 1, 2, dtype=torch.float64); f = torch.zeros(1, 1, 1, dtype=torch.float64)
    >>> u = solve_lqr(C, c, F, f, torch.ones(1, 1, dtype=torch.float64)).u  # min u^2 + (1 + u)^2: u_1 = -1/2
    >>> [round(v, 12) for v in u.flatten().tolist()]
    [-0.5, 0.0]
    """
    _, _, n, _ = check_lqr_problem(C, c, F, f, x_init)
    tau, lam = _LQRFunction.apply(C, c, F, f, x_init, n, counts)
    return LQRSolution(tau, lam)


def unrolled_lqr(C, c, F, f, x_init) -> LQRSolution:
    """The Riccati recursion of :func:`solve_lqr` run by plain autograd (no Module 1).

    The reference for ``thm-lqr-backward``: backpropagating through every operation of the
    recursion (Cholesky factorisations included) gives the exact derivatives of ``tau*``.
    ``C`` is symmetrised first, so its autograd gradient is the symmetric one, as
    :func:`solve_lqr`'s. As in :func:`~ltijepa.diffcontrol.lqr.solve_lqr` for the parameters, shapes and errors.
    """
    _, _, n, _ = check_lqr_problem(C, c, F, f, x_init)
    C = 0.5 * (C + C.mT)
    return _sweep(_riccati(C, F, n), C, c, F, f, x_init, n)


def lqr_cost(tau: torch.Tensor, C: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The objective ``sum_t 1/2 tau_t^T C_t tau_t + c_t^T tau_t`` per problem, shape (B,).

    ``tau`` (B, T, N), ``C`` (B, T, N, N), ``c`` (B, T, N) as in :func:`solve_lqr`.
    """
    return (0.5 * (tau * _mv(C, tau)).sum(dim=-1) + (c * tau).sum(dim=-1)).sum(dim=-1)
