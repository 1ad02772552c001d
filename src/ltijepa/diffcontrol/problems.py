"""Random LQR problems and the finite-difference check of Module 1's gradients.

:func:`random_lqr_problem` draws well-posed instances of ``def-diff-lqr`` (``C_t`` positive
definite with eigenvalues >= ``min_eigenvalue``, ``F_t`` scaled so that the rollout does not
blow up over the horizon); :func:`random_smooth_argmin` draws the unconstrained problems of
the implicit-gradient section. :func:`finite_difference_errors` compares candidate gradients of a
loss with central differences along random directions, one relative error per parameter
(book label ``thm-lqr-backward``; the chapter's "V shape" comes from sweeping ``step``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from ltijepa.checks import check_count, check_positive

__all__ = [
    "LQRProblem",
    "random_lqr_problem",
    "probe_loss",
    "probe_gradients",
    "finite_difference_errors",
    "PARAMETER_NAMES",
    "SmoothArgmin",
    "random_smooth_argmin",
]

#: The differentiable inputs of :func:`~ltijepa.diffcontrol.lqr.solve_lqr`, in call order.
PARAMETER_NAMES = ("C", "c", "F", "f", "x_init")


class LQRProblem(NamedTuple):
    """The data of ``def-diff-lqr`` in :func:`~ltijepa.diffcontrol.lqr.solve_lqr`'s layout."""

    C: torch.Tensor
    c: torch.Tensor
    F: torch.Tensor
    f: torch.Tensor
    x_init: torch.Tensor


def random_lqr_problem(batch: int, horizon: int, n: int, m: int, *, rng, min_eigenvalue: float = 0.1,
                       dtype: torch.dtype = torch.float64) -> LQRProblem:
    """A random batch of LQR problems: ``C_t = L L^T / N + min_eigenvalue I``, Gaussian ``c, f, x_init``.

    ``F_t = [A_t, B_t]`` has i.i.d. Gaussian entries scaled by ``0.9 / sqrt(N)`` (spectral radius
    of ``A_t`` about 0.9 sqrt(n / N) < 1). ``batch``, ``horizon``, ``n``, ``m`` are the sizes
    ``B, T, n, m``; ``rng`` a seed or numpy Generator; ``dtype`` the torch dtype.

    >>> problem = random_lqr_problem(2, 3, 2, 1, rng=0)
    >>> tuple(problem.F.shape)
    (2, 2, 2, 3)
    """
    B, T = check_count("batch", batch), check_count("horizon", horizon)
    n, m = check_count("n", n), check_count("m", m)
    floor = check_positive("min_eigenvalue", min_eigenvalue)
    rng = np.random.default_rng(rng)
    N = n + m
    L = rng.standard_normal((B, T, N, N))
    C = L @ np.swapaxes(L, -1, -2) / N + floor * np.eye(N)
    arrays = (
        0.5 * (C + np.swapaxes(C, -1, -2)),
        rng.standard_normal((B, T, N)),
        0.9 / np.sqrt(N) * rng.standard_normal((B, T - 1, n, N)),
        rng.standard_normal((B, T - 1, n)),
        rng.standard_normal((B, n)),
    )
    return LQRProblem(*(torch.as_tensor(a, dtype=dtype) for a in arrays))


def probe_loss(tau: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The test loss ``l(tau) = <W, tau> + 1/2 ||tau||^2`` (linear and quadratic parts both matter).

    ``tau`` (B, T, N) and ``weights`` ``W`` of the same shape.
    """
    return (weights * tau).sum() + 0.5 * (tau**2).sum()


def probe_gradients(solver: Callable, problem: LQRProblem, weights: torch.Tensor):
    """``(tau, gradients)``: ``solver(*problem).tau`` and the gradients of :func:`probe_loss` for the data.

    ``solver`` is :func:`~ltijepa.diffcontrol.lqr.solve_lqr` or
    :func:`~ltijepa.diffcontrol.lqr.unrolled_lqr`; ``problem`` and ``weights`` as in
    :func:`probe_loss`. A parameter the solver does not use (``F, f`` at ``T = 1`` in the
    unrolled recursion) gets zeros. Returns ``tau`` detached and an ``LQRGradients``.
    """
    from ltijepa.diffcontrol.lqr import LQRGradients

    leaves = [t.detach().clone().requires_grad_() for t in problem]
    tau = solver(*leaves).tau
    probe_loss(tau, weights).backward()
    return tau.detach(), LQRGradients(*(torch.zeros_like(t) if t.grad is None else t.grad for t in leaves))


def finite_difference_errors(loss: Callable[..., torch.Tensor], problem: LQRProblem, gradients, *, step: float,
                             directions: int, rng) -> dict[str, float]:
    """Relative error of ``gradients`` against central differences of ``loss``, per parameter.

    .. math::

        e_p = \\max_{j} \\frac{|\\langle \\nabla_p \\ell, E_j \\rangle - (\\ell(p + h E_j) - \\ell(p - h E_j)) / 2h|}
        {\\max_j |(\\ell(p + h E_j) - \\ell(p - h E_j)) / 2h|}

    over ``directions`` random unit directions ``E_j`` (symmetric for ``C``, so that ``C``
    stays in the problem's domain); an empty parameter (``F``, ``f`` at ``T = 1``) has error 0. Book label ``thm-lqr-backward``.

    Parameters
    ----------
    loss : callable
        ``loss(C, c, F, f, x_init) -> scalar tensor`` (the solver and the loss composed).
    problem : LQRProblem
        Where the derivatives are taken.
    gradients : sequence of torch.Tensor
        Candidate gradients in :data:`PARAMETER_NAMES` order (e.g. an ``LQRGradients``).
    step : float
        The difference step ``h``.
    directions : int
        Random directions per parameter.
    rng : seed or numpy.random.Generator
        Draws the directions.

    Returns
    -------
    dict
        ``{name: relative error}`` for ``C, c, F, f, x_init``.
    """
    h = check_positive("step", step)
    rng = np.random.default_rng(rng)
    errors = {}
    with torch.no_grad():
        for index, name in enumerate(PARAMETER_NAMES):
            value, gradient = problem[index], gradients[index]
            if value.numel() == 0:  # F and f when T == 1
                errors[name] = 0.0
                continue
            exact, differences = [], []
            for _ in range(check_count("directions", directions)):
                E = torch.as_tensor(rng.standard_normal(tuple(value.shape)), dtype=value.dtype)
                if name == "C":
                    E = 0.5 * (E + E.mT)
                E = E / E.norm()
                shifted = [list(problem), list(problem)]
                shifted[0][index], shifted[1][index] = value + h * E, value - h * E
                differences.append(float(loss(*shifted[0]) - loss(*shifted[1])) / (2 * h))
                exact.append(float((gradient * E).sum()))
            scale = max(abs(d) for d in differences)
            errors[name] = max(abs(a - d) for a, d in zip(exact, differences)) / scale
    return errors


class SmoothArgmin(NamedTuple):
    """``f(x; theta) = 1/2 x^T H0 x - (P theta)^T x + w sum_i log cosh x_i``: strictly convex, not quadratic.

    Its Hessian ``H0 + w diag(sech^2 x)`` lies between ``H0`` and ``H0 + w I``, so gradient
    descent with ``step <= 1 / (lambda_max(H0) + w)`` contracts.
    """

    H0: torch.Tensor
    P: torch.Tensor
    weight: float

    def __call__(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """``f(x; theta)`` for ``x`` (n,) and ``theta`` (p,)."""
        return 0.5 * x @ self.H0 @ x - (self.P @ theta) @ x + self.weight * torch.log(torch.cosh(x)).sum()

    @property
    def smoothness(self) -> float:
        """``lambda_max(H0) + w``, a bound on the Hessian's largest eigenvalue."""
        return float(torch.linalg.eigvalsh(self.H0)[-1]) + self.weight


def random_smooth_argmin(n: int, p: int, *, rng, condition: float = 10.0, weight: float = 0.5) -> SmoothArgmin:
    """A :class:`SmoothArgmin` with ``H0`` of eigenvalues log-spaced in ``[1, condition]``, Gaussian ``P``.

    ``n`` the dimension of ``x``, ``p`` of ``theta``, ``rng`` a seed or numpy Generator,
    ``condition`` the condition number of ``H0``, ``weight`` the log-cosh weight ``w``.

    >>> random_smooth_argmin(3, 2, rng=0).P.shape
    torch.Size([3, 2])
    """
    n, p = check_count("n", n), check_count("p", p)
    rng = np.random.default_rng(rng)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    H0 = Q @ np.diag(np.geomspace(1.0, check_positive("condition", condition), n)) @ Q.T
    return SmoothArgmin(torch.as_tensor(0.5 * (H0 + H0.T)), torch.as_tensor(rng.standard_normal((n, p))),
                        check_positive("weight", weight, allow_zero=True))
