"""The exact Hessian of the latent planning objective in the actions, and its split.

For the terminal cost ``J(a) = ||r(a)||^2`` with residual ``r(a) = F(a) - z_g`` and
``F(a) = z_hat_H(a)`` the rolled-out latent (Ren 2026, slide "Why Straightening Helps?"):

.. math::  \\nabla^2 J = \\underbrace{2\\, J_F^\\top J_F}_{T_1 \\text{ (cost convexity)}}
           + \\underbrace{2 \\sum_i r_i\\, \\nabla^2 F_i}_{T_2 \\text{ (dynamics curvature)}}

(eq. ``eq-hessian-split``, theorem ``thm-hessian-split``). ``T2`` vanishes when the rollout is affine in the actions
(straight latent dynamics), so the conditioning is that of the Gauss-Newton term ``T1``.
Each term is computed on its own with :mod:`torch.func` (``jacrev`` for ``J_F``, ``jacrev(jacrev)``
of ``r_0 . F`` at frozen ``r_0`` for ``T2``), so ``T1 + T2 == hessian(J)`` is a check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.func import jacrev

from ltijepa.errors import ShapeError

__all__ = ["HessianSplit", "hessian_split", "condition_number"]


@dataclass(frozen=True)
class HessianSplit:
    """The Hessian of ``J`` in the flattened actions ``(H m,)`` and its two terms."""

    full: torch.Tensor
    """(H m, H m) ``hessian(J)`` by autograd"""
    t1: torch.Tensor
    """(H m, H m) ``2 J_F^T J_F``"""
    t2: torch.Tensor
    """(H m, H m) ``2 sum_i r_i hess(F_i)``"""

    @property
    def split_error(self) -> float:
        """``||T1 + T2 - H||_F / ||H||_F``."""
        return float((self.t1 + self.t2 - self.full).norm() / self.full.norm().clamp(min=1e-300))

    @property
    def t2_ratio(self) -> float:
        """``||T2||_F / ||T1||_F``."""
        return float(self.t2.norm() / self.t1.norm().clamp(min=1e-300))


def _hessian(fn):
    """Reverse-over-reverse Hessian (``jacrev(jacrev)``; torch.func's forward-over-reverse
    ``hessian`` compiles deprecated TorchScript decompositions on first use)."""
    return jacrev(jacrev(fn))


def hessian_split(model, latent: torch.Tensor, goal: torch.Tensor, actions: torch.Tensor) -> HessianSplit:
    """The exact Hessian of ``||z_hat_H(a) - z_g||^2`` at ``actions`` and its split (eq. ``eq-hessian-split``).

    Parameters
    ----------
    model : LatentWorldModel
        Its ``rollout``; evaluated in the dtype of ``latent``.
    latent, goal : torch.Tensor, shape (d,)
        Start and goal latents of one problem.
    actions : torch.Tensor, shape (H, m)
        Where the Hessian is taken.

    Raises
    ------
    ShapeError
        If the shapes do not match.
    """
    if latent.ndim != 1 or latent.shape != goal.shape or actions.ndim != 2:
        raise ShapeError(f"latent {tuple(latent.shape)}, goal {tuple(goal.shape)}, actions {tuple(actions.shape)}: "
                         "expected (d,), (d,), (H, m)")
    shape = actions.shape
    a = actions.reshape(-1).to(latent.dtype)

    def final(flat: torch.Tensor) -> torch.Tensor:
        return model.rollout(latent[None], flat.reshape(1, 1, *shape))[0, 0, -1]

    def objective(flat: torch.Tensor) -> torch.Tensor:
        return ((final(flat) - goal) ** 2).sum()

    jac = jacrev(final)(a)
    residual = (final(a) - goal).detach()
    t2 = _hessian(lambda flat: 2.0 * (residual * final(flat)).sum())(a)
    return HessianSplit(full=_hessian(objective)(a).detach(), t1=(2.0 * jac.T @ jac).detach(), t2=t2.detach())


def condition_number(matrix: torch.Tensor) -> float:
    """``max |lambda| / min |lambda|`` of a symmetric matrix (inf when singular).

    .. math::  \\kappa(H) = \\frac{\\max_i |\\lambda_i(H)|}{\\min_i |\\lambda_i(H)|}
    """
    eig = np.abs(np.linalg.eigvalsh(matrix.detach().double().cpu().numpy()))
    return float(eig.max() / eig.min()) if eig.min() > 0 else float("inf")
