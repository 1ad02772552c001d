"""Straightening diagnostics of a latent world model, and the rate of gradient descent.

The lecture (Ren 2026, slides "Straightening Objective", "Why Straightening Helps?") trains
the encoder so that latent trajectories are straight: with velocities ``v_t = z_{t+1} - z_t``,

.. math::  \\mathcal L_{\\text{curve}} = 1 - \\frac{\\langle v_t, v_{t+1}\\rangle}{\\|v_t\\|\\,\\|v_{t+1}\\|}

(eq. ``eq-curvature-loss`` of the chapter, definition ``def-straightening-losses``), beside the prediction loss with stop-gradient.
Here: that loss (:func:`curvature_loss`), the curvature of rollouts (:func:`trajectory_curvature`),
how close a predictor is to affine (:func:`predictor_linearity`), and the exact check of the
gradient-descent rate ``((kappa - 1)/(kappa + 1))^k`` on a quadratic (:func:`gd_rate_check`,
``thm-gd-rate``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ltijepa.checks import check_count
from ltijepa.errors import DataError, ShapeError

__all__ = ["curvature_loss", "trajectory_curvature", "affine_fit", "predictor_linearity", "GDRateCheck", "gd_rate_check"]

_EPS = 1e-8  # floor of a velocity norm in the cosine (a resting agent has v = 0)


def _one_minus_cos(v: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``1 - cos(v, w)`` over the last axis, norms floored at ``_EPS``."""
    return 1.0 - (v * w).sum(-1) / (v.norm(dim=-1).clamp(min=_EPS) * w.norm(dim=-1).clamp(min=_EPS))


def curvature_loss(z0: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The straightening loss of three consecutive latents (eq. ``eq-curvature-loss``).

    .. math::  \\mathcal L_{\\text{curve}} = \\operatorname{mean}_b \\big(1 - \\cos(z_1 - z_0, z_2 - z_1)\\big)

    Parameters
    ----------
    z0, z1, z2 : torch.Tensor, shape (B, d)
        Latents at t, t + 1, t + 2.
    mask : torch.Tensor of bool, shape (B,), optional
        Which rows have a real t + 2 (the mean is over those; 0 if there are none).

    Raises
    ------
    ShapeError
        If the shapes differ.
    """
    if not z0.shape == z1.shape == z2.shape:
        raise ShapeError(f"z0 {tuple(z0.shape)}, z1 {tuple(z1.shape)}, z2 {tuple(z2.shape)} must have one shape")
    bend = _one_minus_cos(z1 - z0, z2 - z1)
    if mask is None:
        return bend.mean()
    weight = mask.to(bend.dtype)
    return (bend * weight).sum() / weight.sum().clamp(min=1.0)


def trajectory_curvature(latents: torch.Tensor) -> torch.Tensor:
    """Mean ``1 - cos`` of successive velocities along each trajectory.

    .. math::  \\kappa_{\\text{traj}}(z_{0:T}) = \\frac{1}{T - 1} \\sum_{t=0}^{T-2} \\big(1 - \\cos(v_t, v_{t+1})\\big)

    Parameters
    ----------
    latents : torch.Tensor, shape (..., T + 1, d), T >= 2

    Returns
    -------
    torch.Tensor, shape (...)
        In [0, 2]: 0 for a straight line traversed forwards.

    Raises
    ------
    ShapeError
        If there are fewer than three points per trajectory.
    """
    if latents.ndim < 2 or latents.shape[-2] < 3:
        raise ShapeError(f"latents: expected (..., T + 1 >= 3, d), found {tuple(latents.shape)}")
    v = latents[..., 1:, :] - latents[..., :-1, :]
    return _one_minus_cos(v[..., :-1, :], v[..., 1:, :]).mean(-1)


def affine_fit(model, latents: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
    r"""The best affine fit of the predictor on the given points, and its relative residual.

    .. math::  (M^\star, c^\star) = \arg\min_{M, c} \|T(z, a) - M [z; a] - c\|_F, \qquad
               \rho = \frac{\|T(z, a) - M^\star [z; a] - c^\star\|_F}{\|T(z, a) - \overline{T(z, a)}\|_F}

    Parameters
    ----------
    model : LatentWorldModel
        Its ``predict(latent, action)``.
    latents : torch.Tensor, shape (N, d)
    actions : torch.Tensor, shape (N, m)
        With ``N > d + m + 1`` (the fit must be overdetermined).

    Returns
    -------
    M : torch.Tensor, shape (d, d + m), float64
    c : torch.Tensor, shape (d,), float64
    rho : float
        0 for an affine predictor, 1 when an affine map explains none of the variation.

    Raises
    ------
    ShapeError
        If the shapes do not match or ``N <= d + m + 1``.
    """
    if latents.ndim != 2 or actions.ndim != 2 or len(latents) != len(actions):
        raise ShapeError(f"latents {tuple(latents.shape)} and actions {tuple(actions.shape)} must be (N, d), (N, m)")
    N = len(latents)
    if N <= latents.shape[1] + actions.shape[1] + 1:
        raise ShapeError(f"{N} points cannot test an affine fit in {latents.shape[1] + actions.shape[1]} inputs")
    with torch.no_grad():
        out = model.predict(latents, actions.to(latents.dtype)).double()
    X = torch.cat([latents.double(), actions.double(), torch.ones(N, 1, dtype=torch.float64, device=latents.device)], 1)
    coef = torch.linalg.lstsq(X, out).solution
    residual = out - X @ coef
    return coef[:-1].T, coef[-1], float(residual.norm() / (out - out.mean(0)).norm())


def predictor_linearity(model, latents: torch.Tensor, actions: torch.Tensor) -> float:
    """The relative residual ``rho`` of :func:`affine_fit` (0: the predictor is affine there).

    As in :func:`~ltijepa.planning.straightening.affine_fit`.
    """
    return affine_fit(model, latents, actions)[2]


@dataclass(frozen=True)
class GDRateCheck:
    """Gradient descent on a strongly convex quadratic against the rate bound."""

    errors: np.ndarray
    """(k + 1,) ``||a_j - a*||``, j = 0..k"""
    bound: np.ndarray
    """(k + 1,) ``rate^j ||a_0 - a*||``"""
    kappa: float
    """L / mu of the Hessian"""
    rate: float
    """the contraction factor checked"""

    @property
    def holds(self) -> bool:
        """``errors_j <= bound_j`` at every j, up to float64 round-off (relative 1e-9, absolute
        1e-12 of ``||a_0 - a*||``)."""
        slack = 1e-9 * self.bound + 1e-12 * self.errors[0]
        return bool(np.all(self.errors <= self.bound + slack))

    @property
    def max_ratio(self) -> float:
        """``max_j errors_j / bound_j`` over the steps ``j >= 1`` whose bound is above
        ``1e-6 ||a_0 - a*||`` (the tightness: <= 1 when the bound holds, 1 when it is attained;
        j = 0 is 1 by definition). Below that floor the iterates' float64 round-off
        (``~1e-16 ||a*||``) is no longer small beside the error, and the ratio would measure it."""
        resolved = self.bound >= 1e-6 * self.errors[0]
        resolved[0] = False
        return float(np.max(self.errors[resolved] / self.bound[resolved])) if resolved.any() else float("nan")


def gd_rate_check(
    hessian: np.ndarray, minimiser: np.ndarray, start: np.ndarray, steps: int, *, step: float | None = None,
    rate: float | None = None,
) -> GDRateCheck:
    """Run gradient descent on ``f(a) = (a - a*)^T G (a - a*) / 2`` and the bound of ``thm-gd-rate``.

    .. math::  a_{j+1} = a_j - \\eta \\nabla f(a_j), \\quad \\eta = \\frac{2}{L + \\mu}
               \\;\\Rightarrow\\; \\|a_j - a^\\star\\| \\le \\Big(\\frac{\\kappa - 1}{\\kappa + 1}\\Big)^j \\|a_0 - a^\\star\\|

    Parameters
    ----------
    hessian : numpy.ndarray, shape (n, n)
        G, symmetric positive definite (e.g. the exact Hessian of the LQ planning cost).
    minimiser, start : numpy.ndarray, shape (n,)
        a* and a_0.
    steps : int
        k >= 1.
    step, rate : float, optional
        Override the step ``2 / (L + mu)`` or the rate ``(kappa - 1)/(kappa + 1)`` (the
        mutation tests: a wrong one must break the bound).

    Raises
    ------
    ShapeError
        If the shapes do not match.
    DataError
        If ``hessian`` is not symmetric positive definite.
    """
    G = np.asarray(hessian, dtype=float)
    a_star, a = np.asarray(minimiser, dtype=float), np.asarray(start, dtype=float)
    if G.ndim != 2 or G.shape[0] != G.shape[1] or a_star.shape != (len(G),) or a.shape != (len(G),):
        raise ShapeError(f"hessian {G.shape}, minimiser {a_star.shape}, start {a.shape}: expected (n, n), (n,), (n,)")
    if not np.allclose(G, G.T, rtol=1e-10, atol=1e-12 * np.abs(G).max()):
        raise DataError("hessian is not symmetric", name="hessian")
    eig = np.linalg.eigvalsh((G + G.T) / 2)
    if eig[0] <= 0:
        raise DataError(f"hessian has smallest eigenvalue {eig[0]:.3g}, must be positive definite", name="hessian")
    L, mu = float(eig[-1]), float(eig[0])
    kappa = L / mu
    eta = 2.0 / (L + mu) if step is None else step
    q = (kappa - 1) / (kappa + 1) if rate is None else rate
    errors = [np.linalg.norm(a - a_star)]
    for _ in range(check_count("steps", steps)):
        a = a - eta * (G @ (a - a_star))
        errors.append(np.linalg.norm(a - a_star))
    errors = np.array(errors)
    return GDRateCheck(errors=errors, bound=q ** np.arange(len(errors)) * errors[0], kappa=kappa, rate=q)
