"""Implicit differentiation of an unconstrained argmin, and the unrolled alternatives.

Ren 2026, slides "Backprop through Planning" and "Implicit Differentiation" (book labels
``thm-implicit-gradient``, ``thm-cg-steps``, ``thm-neumann``, ``thm-last-steps``): for
``x*(theta) = argmin_x f(x; theta)`` with ``grad_x f(x*; theta) = 0`` and ``H = grad_xx f``
invertible,

.. math::

    \\frac{\\partial x^\\star}{\\partial \\theta} = -H^{-1} \\frac{\\partial}{\\partial \\theta}
    \\nabla_x f(x^\\star; \\theta).

(The lecture's last line omits the minus sign that its previous line implies.) For a loss
``l(x*) `` with ``g = dl/dx*`` the gradient is ``dl/dtheta = -(d/dtheta grad_x f)^T H^{-1} g``:
one Hessian-inverse-vector product ``v = H^{-1} g``, by a direct solve, by conjugate
gradient (:func:`conjugate_gradient`, the lecture's algorithm written out) or by a truncated
Neumann series (:func:`neumann_series`); then one vector-Jacobian product.

The lecture's options 1 and 2, with gradient descent ``x <- x - eta grad_x f`` as the inner
solver: :func:`unrolled_gradient` backpropagates ``k`` steps from a start point (option 1) or from
the converged solution (option 2: the last ``k`` steps), which is the Neumann series with
``k`` terms and ``scale = eta``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from ltijepa.checks import check_count, check_positive
from ltijepa.errors import ParameterError, SolverError

__all__ = [
    "LinearSolve",
    "conjugate_gradient",
    "neumann_series",
    "implicit_gradient",
    "gradient_descent_argmin",
    "unrolled_gradient",
]

Objective = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
_METHODS = ("direct", "cg", "neumann")


class LinearSolve(NamedTuple):
    """An approximate solution of ``A x = b`` and the residual norms ``||b - A x_k||`` per iterate."""

    x: torch.Tensor
    residuals: list


def _require(residual: float, scale: float, tol: float, method: str, iterations: int) -> None:
    if tol > 0 and residual > tol * scale:
        raise SolverError(f"{method} did not converge: ||b - A x|| == {residual:.3g} after {iterations} "
                          f"iterations, must be <= tol * ||b|| == {tol * scale:.3g}",
                          status="not converged", iterations=iterations, residual=residual)


def conjugate_gradient(matvec: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, *, iterations: int,
                       tol: float = 0.0) -> LinearSolve:
    """Solve ``A x = b`` for symmetric positive definite ``A`` by conjugate gradient from ``x_0 = 0``.

    .. math::

        \\alpha_k = \\frac{r_k^\\top r_k}{p_k^\\top A p_k},\\; x_{k+1} = x_k + \\alpha_k p_k,\\;
        r_{k+1} = r_k - \\alpha_k A p_k,\\; \\beta_k = \\frac{r_{k+1}^\\top r_{k+1}}{r_k^\\top r_k},\\;
        p_{k+1} = r_{k+1} + \\beta_k p_k.

    Ren 2026, slide "Conjugate Gradient Method" (``thm-cg-steps``: in exact arithmetic the
    residual vanishes after at most ``n = len(b)`` steps).

    Parameters
    ----------
    matvec : callable
        ``v -> A v`` (a Hessian-vector product, say).
    b : torch.Tensor, shape (n,)
        Right-hand side.
    iterations : int
        Most iterations; with ``tol == 0`` exactly this many unless the residual is exactly 0.
    tol : float
        Stop once ``||r_k|| <= tol ||b||``; if ``tol > 0`` and that is not reached, raise.

    Raises
    ------
    SolverError
        If ``tol > 0`` is not reached, or ``p^T A p <= 0`` (``A`` is not positive definite).

    >>> A = torch.tensor([[4.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    >>> x = conjugate_gradient(lambda v: A @ v, torch.ones(2, dtype=torch.float64), iterations=2).x
    >>> [round(v, 6) for v in x.tolist()]  # A^{-1} (1, 1) = (2, 3) / 11
    [0.181818, 0.272727]
    """
    iterations = check_count("iterations", iterations, minimum=0)
    tol = check_positive("tol", tol, allow_zero=True)
    x = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rr = r @ r
    residuals = [float(rr.sqrt())]
    for k in range(iterations):
        if residuals[-1] <= tol * residuals[0] or residuals[-1] == 0.0:
            break
        Ap = matvec(p)
        curvature = p @ Ap
        if not curvature > 0:
            raise SolverError(f"conjugate gradient: p^T A p == {float(curvature):.3g} at iteration {k}, "
                              "A must be positive definite", status="not positive definite", iterations=k,
                              residual=residuals[-1])
        alpha = rr / curvature
        x = x + alpha * p
        r = r - alpha * Ap
        rr_next = r @ r
        p = r + (rr_next / rr) * p
        rr = rr_next
        residuals.append(float(rr.sqrt()))
    _require(residuals[-1], residuals[0], tol, "conjugate gradient", len(residuals) - 1)
    return LinearSolve(x, residuals)


def neumann_series(matvec: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, *, terms: int,
                   scale: float = 1.0, tol: float = 0.0) -> LinearSolve:
    """Approximate ``A^{-1} b`` by the truncated Neumann series of ``(I - (I - scale A))^{-1}``.

    .. math::

        A^{-1} b \\approx x_K = \\eta \\sum_{k=0}^{K-1} (I - \\eta A)^k b,\\qquad \\eta = \\text{scale},

    which converges for every ``b`` iff ``rho(I - eta A) < 1`` (``thm-neumann``; Ren 2026,
    slide "Implicit Differentiation": ``(I - A)^{-1} = sum_k A^k``).

    Parameters
    ----------
    matvec : callable
        ``v -> A v``.
    b : torch.Tensor, shape (n,)
        Right-hand side.
    terms : int
        Number of terms ``K``; ``residuals`` has ``K + 1`` entries (``x_0 = 0``).
    scale : float
        ``eta > 0``; with gradient descent's step it is the lecture's option 2.
    tol : float
        If ``> 0``, raise unless ``||b - A x_K|| <= tol ||b||``.

    Raises
    ------
    SolverError
        If ``tol > 0`` is not reached (a diverging or too short series).

    >>> A = torch.tensor([[0.5]], dtype=torch.float64)
    >>> neumann_series(lambda v: A @ v, torch.ones(1, dtype=torch.float64), terms=3).x.tolist()
    [1.75]
    """
    terms = check_count("terms", terms, minimum=0)
    eta = check_positive("scale", scale)
    tol = check_positive("tol", tol, allow_zero=True)
    x = torch.zeros_like(b)
    power = eta * b  # eta (I - eta A)^k b
    residuals = [float(b.norm())]
    for _ in range(terms):
        x = x + power
        power = power - eta * matvec(power)
        residuals.append(float((b - matvec(x)).norm()))
    _require(residuals[-1], residuals[0], tol, "the Neumann series", terms)
    return LinearSolve(x, residuals)


def implicit_gradient(objective: Objective, x_star: torch.Tensor, theta: torch.Tensor, grad_x: torch.Tensor, *,
                      method: str = "direct", iterations: int | None = None, scale: float = 1.0,
                      stationarity_tol: float = 1e-8) -> tuple[torch.Tensor, LinearSolve]:
    """``dl/dtheta = -(d/dtheta grad_x f(x*; theta))^T H^{-1} g`` at a stationary point (``thm-implicit-gradient``).

    Parameters
    ----------
    objective : callable
        ``f(x, theta) -> scalar tensor``, twice differentiable in ``x`` and once in ``theta``.
    x_star : torch.Tensor, shape (n,)
        A minimiser of ``f(., theta)``.
    theta : torch.Tensor, shape (p,)
        The parameters.
    grad_x : torch.Tensor, shape (n,)
        ``g = dl/dx*`` of the loss.
    method : {"direct", "cg", "neumann"}
        How ``H^{-1} g`` is computed: a dense solve of the autograd Hessian, :func:`conjugate_gradient`
        or :func:`neumann_series`.
    iterations : int, optional
        CG iterations or Neumann terms (default ``n`` for CG; required for Neumann).
    scale : float
        The Neumann series' ``eta``.
    stationarity_tol : float
        Raise unless ``||grad_x f(x*; theta)|| <= stationarity_tol (1 + ||g||)``.

    Returns
    -------
    (torch.Tensor, LinearSolve)
        The gradient (shape of ``theta``) and the Hessian solve with its residuals.

    Raises
    ------
    ParameterError
        If ``method`` is unknown or Neumann is asked without ``iterations``.
    SolverError
        If ``x_star`` is not stationary (the residual and the tolerance in the message).
    """
    if method not in _METHODS:
        raise ParameterError(f"method == {method!r}, must be one of {_METHODS}", name="method", value=method)
    if method == "neumann" and iterations is None:
        raise ParameterError("iterations == None, must be the number of Neumann terms", name="iterations",
                             value=iterations)
    x = x_star.detach().requires_grad_()
    th = theta.detach().requires_grad_()
    grad = torch.autograd.grad(objective(x, th), x, create_graph=True)[0]
    stationarity = float(grad.detach().norm())
    if stationarity > stationarity_tol * (1.0 + float(grad_x.norm())):
        raise SolverError(f"x_star is not a stationary point: ||grad_x f|| == {stationarity:.3g}, must be <= "
                          f"{stationarity_tol:g} (1 + ||g||)", status="not converged", residual=stationarity)
    matvec = lambda v: torch.autograd.grad(grad, x, grad_outputs=v, retain_graph=True)[0]  # noqa: E731
    if method == "direct":
        H = torch.stack([matvec(e) for e in torch.eye(x.numel(), dtype=x.dtype, device=x.device)])
        v = torch.linalg.solve(H, grad_x)
        solve = LinearSolve(v, [float(grad_x.norm()), float((grad_x - H @ v).norm())])
    elif method == "cg":
        solve = conjugate_gradient(matvec, grad_x, iterations=x.numel() if iterations is None else iterations)
    else:
        solve = neumann_series(matvec, grad_x, terms=iterations, scale=scale)
    gradient = -torch.autograd.grad(grad, th, grad_outputs=solve.x)[0]
    return gradient, solve


def _descend(objective: Objective, x: torch.Tensor, theta: torch.Tensor, step: float, steps: int) -> torch.Tensor:
    for _ in range(steps):
        x = x - step * torch.autograd.grad(objective(x, theta), x, create_graph=True)[0]
    return x


def gradient_descent_argmin(objective: Objective, x0: torch.Tensor, theta: torch.Tensor, *, step: float,
                            max_steps: int, tol: float) -> tuple[torch.Tensor, int]:
    """The inner solver: ``x <- x - step grad_x f(x; theta)`` until ``||grad_x f|| <= tol``.

    ``objective``, ``theta`` as in :func:`implicit_gradient`; ``x0`` the start, ``step`` the
    step size, ``max_steps`` the budget. Returns the (detached) minimiser and the steps taken.

    Raises
    ------
    SolverError
        If ``tol`` is not reached within ``max_steps`` (with the residual).
    """
    step = check_positive("step", step)
    max_steps = check_count("max_steps", max_steps)
    x, theta = x0.detach(), theta.detach()
    for k in range(max_steps + 1):
        x = x.requires_grad_()
        grad = torch.autograd.grad(objective(x, theta), x)[0]
        residual = float(grad.norm())
        if residual <= tol:
            return x.detach(), k
        if k < max_steps:
            x = (x - step * grad).detach()
    raise SolverError(f"gradient descent did not converge: ||grad_x f|| == {residual:.3g} after {max_steps} steps, "
                      f"must be <= {tol:g}", status="not converged", iterations=max_steps, residual=residual)


def unrolled_gradient(objective: Objective, x0: torch.Tensor, theta: torch.Tensor, grad_x: torch.Tensor, *,
                      step: float, steps: int) -> torch.Tensor:
    """Backpropagate ``g^T x_k`` through ``k = steps`` gradient-descent steps from ``x0`` (detached).

    From an arbitrary ``x0`` this is the lecture's option 1 (unroll ``k`` steps); it converges
    to :func:`implicit_gradient` as ``steps`` grows when the iteration contracts
    (``thm-implicit-gradient``). From ``x0 = x*`` it is option 2 (solve, then backpropagate the
    last ``k`` steps), exactly :func:`implicit_gradient` with ``method="neumann"``,
    ``iterations=steps`` and ``scale=step`` (``thm-last-steps``).

    As in :func:`~ltijepa.diffcontrol.implicit.gradient_descent_argmin` for ``objective``, ``x0``, ``theta`` and ``step``;
    ``grad_x`` is ``g``.
    """
    th = theta.detach().requires_grad_()
    x = _descend(objective, x0.detach().requires_grad_(), th, step, check_count("steps", steps))
    return torch.autograd.grad(x, th, grad_outputs=grad_x)[0]

