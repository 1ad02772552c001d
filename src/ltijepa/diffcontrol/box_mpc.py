"""Differentiable MPC with nonlinear dynamics and box-constrained controls (Amos et al. 2018).

The problem (Ren 2026, slide "Differentiable MPC"; book label ``def-diff-mpc``):

.. math::

    \\tau^\\star = \\arg\\min_{\\tau_{1:T}} \\sum_{t=1}^T \\tfrac12 \\tau_t^\\top C_t \\tau_t + c_t^\\top \\tau_t
    \\quad \\text{s.t.} \\quad x_{t+1} = g(x_t, u_t),\\; x_1 = x_{\\text{init}},\\;
    \\underline{u} \\le u_t \\le \\overline{u}.

:func:`box_mpc` solves it by iterative LQR: at the current trajectory the dynamics are
linearised, ``x_{t+1} ~ F_t tau_t + f_t`` (the lecture's fixed point
``tau^{i+1} = argmin_tau sum_t C~^i_t``), the control-limited Riccati recursion takes each
``k_t`` from a box QP solved by projected Newton (:func:`projected_newton_qp`, as Amos et al.
and mpc.pytorch do), and a backtracking line search on the true cost accepts the new rollout.
At convergence the gradients come "from the final quadratic approximation only": the LQR of
the last linearisation with the active control bounds held as equalities, differentiated
through its KKT system (:func:`~ltijepa.diffcontrol.kkt.kkt_system`) by autograd, so the
loss reaches ``C``, ``c``, ``x_init`` and the dynamics' parameters.

``dynamics(x, u) -> x_next`` acts row by row on a batch of any size, ``x (K, n)``, ``u (K, m)``,
the same function for every row (its parameters shared by the batch): the linearisation
evaluates it once on all ``B (T - 1)`` points of a trajectory batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from ltijepa.checks import check_count, check_positive
from ltijepa.diffcontrol.kkt import kkt_system
from ltijepa.diffcontrol.lqr import lqr_cost
from ltijepa.errors import ParameterError, ShapeError, SolverError

__all__ = ["BoxMPCSolution", "projected_newton_qp", "linearize", "box_mpc"]

Dynamics = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
_ALPHAS = tuple(0.5**k for k in range(12))
_ACTIVE_TOL = 1e-9


class BoxMPCSolution(NamedTuple):
    """The result of :func:`box_mpc`: ``tau`` (B, T, n + m), differentiable, and how it was reached."""

    tau: torch.Tensor
    iterations: int
    residual: float
    active: torch.Tensor

    @property
    def u(self) -> torch.Tensor:
        """The controls ``(B, T, m)``."""
        return self.tau[..., self.tau.shape[-1] - self.active.shape[-1]:]

    @property
    def x(self) -> torch.Tensor:
        """The states ``(B, T, n)``."""
        return self.tau[..., : self.tau.shape[-1] - self.active.shape[-1]]


def _masked(H: torch.Tensor, free: torch.Tensor) -> torch.Tensor:
    """``H`` on the free block, the identity on the clamped coordinates."""
    both = free[..., :, None] & free[..., None, :]
    return torch.where(both, H, torch.zeros_like(H)) + torch.diag_embed((~free).to(H.dtype))


def projected_newton_qp(H, q, lower, upper, *, iterations: int = 30, tol: float = 1e-12):
    """``k = argmin 1/2 k^T H k + q^T k`` s.t. ``lower <= k <= upper``, batched, by projected Newton.

    Each step fixes the coordinates at a bound whose gradient pushes outward, takes the Newton
    step on the others and projects, with a backtracking (Armijo) line search per problem
    (projected Newton, Bertsekas 1982, as Amos et al. 2018 use it for control-limited iLQR
    after Tassa et al. 2014).

    Parameters
    ----------
    H : torch.Tensor, shape (B, m, m)
        Positive definite.
    q : torch.Tensor, shape (B, m)
        Linear term.
    lower, upper : torch.Tensor, shape (B, m)
        Bounds, ``lower <= upper``.
    iterations : int
        Most Newton steps.
    tol : float
        Stop when the largest step is below it.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        ``k`` (B, m) and the mask of free (not clamped) coordinates.

    Raises
    ------
    SolverError
        If the steps do not fall below ``tol`` within ``iterations``.

    >>> H = torch.eye(2, dtype=torch.float64)[None]; q = torch.tensor([[-3.0, 0.5]], dtype=torch.float64)
    >>> projected_newton_qp(H, q, -torch.ones(1, 2, dtype=torch.float64), torch.ones(1, 2, dtype=torch.float64))[0].tolist()
    [[1.0, -0.5]]
    """
    objective = lambda k: 0.5 * (k * (H @ k[..., None])[..., 0]).sum(-1) + (q * k).sum(-1)  # noqa: E731
    k = torch.zeros_like(q).clamp(lower, upper)
    for step in range(check_count("iterations", iterations)):
        g = (H @ k[..., None])[..., 0] + q
        clamped = ((k <= lower + _ACTIVE_TOL) & (g > 0)) | ((k >= upper - _ACTIVE_TOL) & (g < 0))
        free = ~clamped
        dk = -torch.linalg.solve(_masked(H, free), torch.where(free, g, torch.zeros_like(g)))
        if float(dk.abs().max()) <= tol:
            return k, free
        base, accepted = objective(k), torch.zeros(k.shape[0], dtype=torch.bool, device=k.device)
        new = k.clone()
        for alpha in _ALPHAS:
            trial = (k + alpha * dk).clamp(lower, upper)
            better = ~accepted & (objective(trial) <= base + 1e-4 * (g * (trial - k)).sum(-1))
            new[better], accepted = trial[better], accepted | better
            if bool(accepted.all()):
                break
        k = new
    raise SolverError(f"projected Newton did not converge: largest step == {float(dk.abs().max()):.3g} after "
                      f"{iterations} iterations, must be <= {tol:g}", status="not converged", iterations=iterations,
                      residual=float(dk.abs().max()))


def linearize(dynamics: Dynamics, x: torch.Tensor, u: torch.Tensor, *, create_graph: bool = False):
    """``F = [d g / d x, d g / d u]`` (B, n, n + m) and ``f = g(x, u) - F (x, u)`` at a batch of points.

    ``dynamics`` is ``g``, ``x`` (B, n), ``u`` (B, m); with ``create_graph`` both outputs stay
    differentiable in the dynamics' parameters (the final approximation of :func:`box_mpc`).
    """
    with torch.enable_grad():
        x = x.detach().requires_grad_()
        u = u.detach().requires_grad_()
        out = dynamics(x, u)
        rows = []
        for i in range(out.shape[-1]):
            gx, gu = torch.autograd.grad(out[:, i].sum(), (x, u), create_graph=create_graph, retain_graph=True)
            rows.append(torch.cat((gx, gu), dim=-1))
    F = torch.stack(rows, dim=1)
    tau = torch.cat((x, u), dim=-1).detach()
    f = out - (F @ tau[..., None])[..., 0]
    return (F, f) if create_graph else (F.detach(), f.detach())


def _rollout(dynamics, x_init, u_bar, x_bar, k, K, alpha, lower, upper):
    x, rows = x_init, []
    for t in range(u_bar.shape[1]):
        u = u_bar[:, t] + alpha * k[t]
        if K is not None:
            u = u + (K[t] @ (x - x_bar[:, t])[..., None])[..., 0]
        u = torch.maximum(torch.minimum(u, upper), lower)
        rows.append(torch.cat((x, u), dim=-1))
        if t < u_bar.shape[1] - 1:
            x = dynamics(x, u)
    return torch.stack(rows, dim=1)


def _ilqr_step(dynamics, C, c, tau, n, lower, upper):
    """One control-limited iLQR iteration (delta space around ``tau``) with a line search."""
    B, T, N = tau.shape
    x_bar, u_bar = tau[..., :n], tau[..., n:]
    F, _ = linearize(dynamics, x_bar[:, :-1].reshape(-1, n), u_bar[:, :-1].reshape(-1, N - n))
    F = F.reshape(B, T - 1, n, N)
    grad = (C @ tau[..., None])[..., 0] + c
    k, K, V, v = [None] * T, [None] * T, None, None
    for t in reversed(range(T)):
        Q, q = C[:, t], grad[:, t]
        if V is not None:
            Q = Q + F[:, t].mT @ V @ F[:, t]
            q = q + (F[:, t].mT @ v[..., None])[..., 0]
        Quu, Qux, qu = Q[:, n:, n:], Q[:, n:, :n], q[:, n:]
        k[t], free = projected_newton_qp(Quu, qu, lower - u_bar[:, t], upper - u_bar[:, t])
        K[t] = -torch.linalg.solve(_masked(Quu, free), torch.where(free[..., None], Qux, torch.zeros_like(Qux)))
        Kt = K[t].mT
        V = Q[:, :n, :n] + Kt @ Quu @ K[t] + Kt @ Qux + Qux.mT @ K[t]
        V = 0.5 * (V + V.mT)
        v = q[:, :n] + (Kt @ ((Quu @ k[t][..., None])[..., 0] + qu)[..., None])[..., 0] + (Qux.mT @ k[t][..., None])[..., 0]
    cost = lqr_cost(tau, C, c)
    new, accepted = tau.clone(), torch.zeros(B, dtype=torch.bool, device=tau.device)
    for alpha in _ALPHAS:
        trial = _rollout(dynamics, tau[:, 0, :n], u_bar, x_bar, k, K, alpha, lower, upper)
        better = ~accepted & (lqr_cost(trial, C, c) <= cost)
        new[better], accepted = trial[better], accepted | better
        if bool(accepted.all()):
            break
    return new


def _active_set_lqr(C, c, F, f, x_init, active, u_star):
    """The LQR with the controls of ``active`` fixed at ``u_star``, by its KKT system (differentiable)."""
    K, rhs = kkt_system(C, c, F, f, x_init)
    B, T, N = C.shape[:3]
    m = active.shape[-1]
    size, extra = K.shape[-1], T * m
    E = C.new_zeros(B, extra, size)
    index = torch.arange(T * m, device=C.device)
    columns = (index // m) * N + (N - m) + index % m
    E[:, index, columns] = active.reshape(B, -1).to(C.dtype)
    D = torch.diag_embed((~active.reshape(B, -1)).to(C.dtype))
    top = torch.cat((K, E.mT), dim=-1)
    bottom = torch.cat((E, -D), dim=-1)
    full = torch.cat((top, bottom), dim=-2)
    fixed = torch.where(active, u_star, torch.zeros_like(u_star)).reshape(B, -1)
    b = torch.cat((rhs, fixed), dim=-1)
    z = torch.linalg.solve(full, b)
    return z[:, :T * N].reshape(B, T, N)


def box_mpc(dynamics: Dynamics, C: torch.Tensor, c: torch.Tensor, x_init: torch.Tensor, *, lower: float,
            upper: float, u_init: torch.Tensor | None = None, iterations: int = 100, tol: float = 1e-8) -> BoxMPCSolution:
    """Solve ``def-diff-mpc`` by control-limited iLQR; differentiate through the final approximation.

    Parameters
    ----------
    dynamics : callable
        ``g(x, u) -> x_next`` on batches, differentiable (its parameters may require grad).
    C : torch.Tensor, shape (B, T, N, N)
        Symmetric PSD costs with positive definite control blocks.
    c : torch.Tensor, shape (B, T, N)
        Linear costs.
    x_init : torch.Tensor, shape (B, n)
        Initial states.
    lower, upper : float
        The control bounds, the same for every control and step.
    u_init : torch.Tensor, shape (B, T, m), optional
        The first controls (default 0, clamped into the box).
    iterations : int
        Most iLQR iterations.
    tol : float
        Converged when no control moves by more than ``tol`` in an iteration.

    Returns
    -------
    BoxMPCSolution
        ``tau`` differentiable in ``C, c, x_init`` and the dynamics' parameters, the iterations
        run, the final control change and the mask of active bounds.

    Raises
    ------
    ShapeError
        If ``C``, ``c`` and ``x_init`` do not fit together.
    ParameterError
        If ``lower > upper``.
    SolverError
        If iLQR does not converge within ``iterations`` (with the iterations and the residual),
        or its fixed point is not the optimum of its final approximation.
    """
    B, T, N = c.shape
    n = x_init.shape[-1]
    if C.shape != (B, T, N, N) or x_init.shape != (B, n) or N <= n:
        raise ShapeError(f"C {tuple(C.shape)}, c {tuple(c.shape)}, x_init {tuple(x_init.shape)}: expected "
                         "(B, T, N, N), (B, T, N), (B, n) with N > n", name="C", found=tuple(C.shape))
    if not lower <= upper:
        raise ParameterError(f"lower == {lower!r}, must be <= upper == {upper!r} (the box is empty)", name="lower",
                             value=lower)
    check_positive("tol", tol)
    iterations = check_count("iterations", iterations)
    lo = torch.full((B, N - n), float(lower), dtype=c.dtype, device=c.device)
    hi = torch.full((B, N - n), float(upper), dtype=c.dtype, device=c.device)
    u0 = torch.zeros(B, T, N - n, dtype=c.dtype, device=c.device) if u_init is None else u_init.detach()
    with torch.no_grad():
        Cd, cd, x0 = C.detach(), c.detach(), x_init.detach()
        tau = _rollout(dynamics, x0, u0.clamp(lower, upper), None, [torch.zeros_like(lo)] * T, None, 0.0, lo, hi)
        for done in range(1, iterations + 1):
            new = _ilqr_step(dynamics, Cd, cd, tau, n, lo, hi)
            residual = float((new[..., n:] - tau[..., n:]).abs().max())
            tau = new
            if residual <= tol:
                break
        else:
            raise SolverError(f"iLQR did not converge: max |u^(i+1) - u^i| == {residual:.3g} after {iterations} "
                              f"iterations, must be <= {tol:g}", status="not converged", iterations=iterations,
                              residual=residual)
    u_star = tau[..., n:]
    active = (u_star <= lower + _ACTIVE_TOL) | (u_star >= upper - _ACTIVE_TOL)
    F, f = linearize(dynamics, tau[:, :-1, :n].reshape(-1, n), u_star[:, :-1].reshape(-1, N - n), create_graph=True)
    F, f = F.reshape(B, T - 1, n, N), f.reshape(B, T - 1, n)
    layer = _active_set_lqr(0.5 * (C + C.mT), c, F, f, x_init, active, u_star)  # symmetric gradient for C
    gap = float((layer.detach() - tau).abs().max() / tau.abs().max().clamp_min(1.0))
    if gap > 1e-6:
        raise SolverError(f"iLQR's fixed point is not the optimum of its final approximation: relative gap == "
                          f"{gap:.3g}, must be <= 1e-6", status="not a fixed point", iterations=done, residual=gap)
    return BoxMPCSolution(layer, done, residual, active)
