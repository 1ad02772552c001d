"""The two latent world models of the planning chapter, with role-named methods.

Both start from the same frozen features ``z = f(o)`` (:class:`~ltijepa.planning.features.
FrozenFeatures`, our DINOv2 stand-in) and differ in the space they predict and plan in:

- :class:`FeatureWorldModel` -- the DINO-WM analog (Zhou et al. 2025): the latent *is* the
  frozen feature vector, and a predictor learns ``z_{t+1} = T(z_t, a_t)`` with the
  (stop-gradient) target ``f(o_{t+1})``.
- :class:`BisimWorldModel` -- Toso et al.'s architecture (talk, slide "Proposed
  Architecture"): a bisimulation encoder ``h_eta`` maps the features to a smaller space,
  ``w = h(z)``, the predictor works there, and the bisimulation loss shapes ``h``.

Common interface: :meth:`encode` (images to latents), :meth:`embed` (frozen features to
latents), :meth:`predict` (one step), :meth:`rollout` (a batch of action sequences),
:meth:`loss_terms` (named losses of a training batch), :meth:`terminal_cost` (DINO-WM's
planning objective ``||z_hat_H - z_g||^2``, eq. ``eq-terminal-cost`` of the chapter).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from ltijepa.checks import check_count, check_positive
from ltijepa.errors import DataError, ShapeError
from ltijepa.jepa.layers import mlp
from ltijepa.planning.base import CostFn
from ltijepa.planning.metric_loss import bisimulation_loss, check_discount, latent_distance
from ltijepa.planning.features import FrozenFeatures
from ltijepa.planning.straightening import curvature_loss

__all__ = [
    "LatentModelConfig",
    "FeatureBatch",
    "Standardizer",
    "LatentWorldModel",
    "FeatureWorldModel",
    "BisimWorldModel",
]


@dataclass(frozen=True)
class LatentModelConfig:
    """Sizes and loss weights of the world models."""

    hidden: tuple[int, ...] = (256, 256)
    """hidden widths of the predictor MLP (LayerNorm + Mish blocks, ``ltijepa.jepa.layers.mlp``)"""
    encoder_hidden: tuple[int, ...] = (256,)
    """hidden widths of the bisimulation encoder h_eta"""
    bisim_dim: int = 32
    """d_w, the bisimulation latent width (336 frozen features: about 10x smaller, as the talk's
    "bisim latent space is 10x smaller than DINO WM")"""
    gamma: float = 0.99
    """discount of the bisimulation metric (Toso et al.'s and DBC's code: 0.99)"""
    bisim_coef: float = 1.0
    """weight of the bisimulation loss beside the prediction loss (Toso et al.: 1)"""
    action_dim: int = 2
    """m, the action width"""
    curve_coef: float = 0.0
    """weight of the curvature loss ``L_curve`` of the bisimulation latents (the lecture's
    straightening objective; 0: not trained on); positive weights need batches with ``z_after``"""
    log_curvature: bool = False
    """compute and log ``L_curve`` also at weight 0 (the straightening chapter's plain model;
    it costs about a fifth more per training step, so the planning chapter leaves it off)"""

    def __post_init__(self):
        for i, h in enumerate(self.hidden + self.encoder_hidden):
            check_count(f"hidden width {i}", h)
        check_count("bisim_dim", self.bisim_dim)
        check_count("action_dim", self.action_dim)
        check_positive("bisim_coef", self.bisim_coef, allow_zero=True)
        check_positive("curve_coef", self.curve_coef, allow_zero=True)
        check_discount(self.gamma)


class FeatureBatch(NamedTuple):
    """A batch of transitions in frozen-feature form."""

    z: torch.Tensor
    """(B, D) frozen features of o_t"""
    action: torch.Tensor
    """(B, m) a_t"""
    z_next: torch.Tensor
    """(B, D) frozen features of o_{t+1}"""
    position: torch.Tensor
    """(B, 2) the agent's position at t (the reward of the bisimulation metric)"""
    pair: torch.Tensor
    """(B,) int, the partner of each transition in the bisimulation loss (a permutation)"""
    z_after: torch.Tensor | None = None
    """(B, D) frozen features of o_{t+2} (the curvature loss), where the episode goes on"""
    has_after: torch.Tensor | None = None
    """(B,) bool, whether ``z_after`` is a real o_{t+2} (False at the end of an episode)"""


class Standardizer(nn.Module):
    """``(z - mean) / std`` per coordinate, with statistics of the training features.

    The standard deviation is floored at ``1e-2`` times its median, so that a coordinate that
    barely varies in the training data (the floor, under one background) is not divided by ~0.

    Parameters
    ----------
    features : torch.Tensor, shape (N, D)
        Training features.
    """

    def __init__(self, features: torch.Tensor):
        super().__init__()
        if features.ndim != 2 or len(features) < 2:
            raise ShapeError(f"features: expected (N >= 2, D), found {tuple(features.shape)}")
        std = features.std(dim=0)
        self.register_buffer("mean", features.mean(dim=0))
        self.register_buffer("std", std.clamp(min=1e-2 * float(std.median())))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.mean) / self.std


class LatentWorldModel(nn.Module, ABC):
    """What both world models share: encoding images, rollouts, the planning cost."""

    features: FrozenFeatures
    config: LatentModelConfig

    @abstractmethod
    def embed(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``(B, d)`` of frozen features ``(B, D)``.

        Parameters
        ----------
        z : torch.Tensor, shape (B, D)
            Frozen features ``f(o)``.
        """

    @abstractmethod
    def predict(self, latent: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """One latent step ``T(z, a)``: ``(B, d), (B, m) -> (B, d)``.

        Parameters
        ----------
        latent : torch.Tensor, shape (B, d)
            Current latents.
        action : torch.Tensor, shape (B, m)
            Actions, of the latents' dtype.
        """

    @abstractmethod
    def loss_terms(self, batch: FeatureBatch) -> dict[str, torch.Tensor]:
        """The named training losses of a batch, ``"total"`` among them."""

    @torch.no_grad()
    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """Latents ``(B, d)`` of uint8 images ``(B, 3, S, S)`` (no gradient: planning use).

        Parameters
        ----------
        obs : numpy.ndarray or torch.Tensor of uint8, shape (B, 3, S, S)
            Images, ``S`` the frozen features' ``image_size``; moved to the model's device.
        """
        device = next(self.parameters()).device
        return self.embed(self.features(torch.as_tensor(obs, device=device)))

    def rollout(self, latent: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Predicted latents along action sequences, the start included.

        .. math::  \\hat z_0 = z, \\quad \\hat z_{t+1} = T(\\hat z_t, a_t)

        Parameters
        ----------
        latent : torch.Tensor, shape (B, d)
            Start latent of each problem.
        actions : torch.Tensor, shape (B, N, H, m)
            N sequences per problem.

        Returns
        -------
        torch.Tensor, shape (B, N, H + 1, d)

        Raises
        ------
        ShapeError
            If the batch sizes or the action width do not match.
        """
        if actions.ndim != 4 or actions.shape[0] != latent.shape[0] or actions.shape[3] != self.config.action_dim:
            raise ShapeError(
                f"actions: expected (B={latent.shape[0]}, N, H, m={self.config.action_dim}), "
                f"found {tuple(actions.shape)}"
            )
        B, N, H, m = actions.shape
        z = latent.repeat_interleave(N, dim=0)
        steps = [z]
        flat = actions.reshape(B * N, H, m).to(z.dtype)
        for t in range(H):
            z = self.predict(z, flat[:, t])
            steps.append(z)
        return torch.stack(steps, dim=1).reshape(B, N, H + 1, -1)

    def terminal_cost(self, latent: torch.Tensor, goal: torch.Tensor, *, differentiable: bool = False) -> CostFn:
        """DINO-WM's planning objective (mode ``last``, proprio weight 0): the squared distance
        of the last predicted latent to the goal's latent.

        .. math::  c(a_{0:H}) = \\|\\hat z_H(a) - z_g\\|^2

        Parameters
        ----------
        latent, goal : torch.Tensor, shape (B, d)
            Current and goal latents of the B problems.
        differentiable : bool
            Keep the autograd graph (the gradient planner, :mod:`~ltijepa.planning.gradient`);
            default: evaluate without gradients (CEM, MPPI).

        Returns
        -------
        callable
            Actions ``(B, N, H, m)`` to costs ``(B, N)``.

        Raises
        ------
        ShapeError
            If the two latents differ in shape.
        """
        if latent.shape != goal.shape:
            raise ShapeError(f"latent {tuple(latent.shape)} and goal {tuple(goal.shape)} must have one shape")

        def cost(actions: torch.Tensor) -> torch.Tensor:
            final = self.rollout(latent, actions)[:, :, -1]
            return ((final - goal[:, None]) ** 2).sum(-1)

        return cost if differentiable else torch.no_grad()(cost)


class FeatureWorldModel(LatentWorldModel):
    """The DINO-WM analog: predict the next frozen features, plan in feature space.

    .. math::  \\hat z_{t+1} = z_t + \\sigma \\odot g_\\phi\\big((z_t - \\mu) / \\sigma, a_t\\big),
               \\qquad \\mathcal L_{\\text{pred}} = \\big\\|(\\hat z_{t+1} - f(o_{t+1})) / \\sigma\\big\\|^2 / D

    (residual MLP on standardised inputs; the loss is measured in standardised units, the same
    minimiser as DINO-WM's MSE in feature space up to the per-coordinate weights ``1/sigma^2``).

    Parameters
    ----------
    features : FrozenFeatures
        The frozen encoder f.
    standardizer : Standardizer
        Statistics of the training features.
    config : LatentModelConfig
        Sizes.
    """

    def __init__(self, features: FrozenFeatures, standardizer: Standardizer, config: LatentModelConfig = LatentModelConfig()):
        super().__init__()
        self.features, self.standardizer, self.config = features, standardizer, config
        self.dynamics = mlp(features.dim + config.action_dim, config.hidden, features.dim)

    def embed(self, z: torch.Tensor) -> torch.Tensor:
        """The latent is the frozen feature vector itself.

        Parameters
        ----------
        z : torch.Tensor, shape (B, D)
            Frozen features, returned unchanged.
        """
        return z

    def predict(self, latent: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """One step ``T(z, a)``: ``(B, D), (B, m) -> (B, D)``.

        Parameters
        ----------
        latent : torch.Tensor, shape (B, D)
            Current frozen features (unstandardised).
        action : torch.Tensor, shape (B, m)
            Actions, of the features' dtype.
        """
        step = self.dynamics(torch.cat([self.standardizer(latent), action], dim=-1))
        return latent + self.standardizer.std * step

    def loss_terms(self, batch: FeatureBatch) -> dict[str, torch.Tensor]:
        """``{"prediction": L_pred, "total": L_pred}`` of a batch."""
        error = (self.predict(batch.z, batch.action) - batch.z_next) / self.standardizer.std
        prediction = (error**2).mean()
        return {"prediction": prediction, "total": prediction}


class BisimWorldModel(LatentWorldModel):
    """Toso et al.'s model: a bisimulation encoder h on the frozen features, a predictor in
    its space, trained by prediction plus bisimulation loss.

    .. math::  w = h_\\eta\\big((f(o) - \\mu)/\\sigma\\big), \\quad \\hat w_{t+1} = w_t + g_\\phi(w_t, a_t),
    .. math::  \\mathcal L = \\|\\hat w_{t+1} - \\operatorname{sg}[w_{t+1}]\\|^2 / d_w
               + c_{\\text{bisim}} \\mathcal L_{\\text{bisim}}

    with ``L_bisim`` of :func:`~ltijepa.planning.metric_loss.bisimulation_loss`, pairs from a batch
    permutation, and the reward distance ``|r_g(s) - r_g(s')|`` bounded by its supremum over the
    goal-reaching rewards ``r_g(s) = -||p(s) - g||``, which is ``||p - p'||`` (attained at
    ``g = p'``): the metric of the whole family of goals the planner may be given.

    Parameters
    ----------
    features, standardizer
        As in :class:`ltijepa.planning.world_models.FeatureWorldModel`.
    config : LatentModelConfig
        Sizes, gamma and the loss weight.
    """

    def __init__(self, features: FrozenFeatures, standardizer: Standardizer, config: LatentModelConfig = LatentModelConfig()):
        super().__init__()
        self.features, self.standardizer, self.config = features, standardizer, config
        self.encoder = mlp(features.dim, config.encoder_hidden, config.bisim_dim)
        self.dynamics = mlp(config.bisim_dim + config.action_dim, config.hidden, config.bisim_dim)

    def embed(self, z: torch.Tensor) -> torch.Tensor:
        """``w = h(standardised z)``: ``(B, D) -> (B, d_w)``."""
        return self.encoder(self.standardizer(z))

    def predict(self, latent: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """One step ``T(w, a)``: ``(B, d_w), (B, m) -> (B, d_w)``.

        Parameters
        ----------
        latent : torch.Tensor, shape (B, d_w)
            Current bisimulation latents ``w``.
        action : torch.Tensor, shape (B, m)
            Actions, of the latents' dtype.
        """
        return latent + self.dynamics(torch.cat([latent, action], dim=-1))

    def loss_terms(self, batch: FeatureBatch) -> dict[str, torch.Tensor]:
        """``{"prediction", "bisimulation", "total"}`` of a batch: eq. ``eq-bisim-loss``, the chapter's
        form of ``def-bisim-loss``; with ``batch.z_after`` and a positive ``config.curve_coef``
        (or ``config.log_curvature``) also ``"curvature"``, the straightening loss ``L_curve``
        of eq. ``eq-curvature-loss`` (:func:`~ltijepa.planning.straightening.curvature_loss`),
        added to the total with weight ``config.curve_coef``.

        Raises
        ------
        DataError
            If ``config.curve_coef > 0`` and the batch has no ``z_after``."""
        w = self.embed(batch.z)
        next_w = self.predict(w, batch.action)
        prediction = ((next_w - self.embed(batch.z_next).detach()) ** 2).mean()
        other = w[batch.pair]
        bisim = bisimulation_loss(
            w,
            other,
            latent_distance(batch.position, batch.position[batch.pair]),
            next_w,
            self.predict(other, batch.action),  # one action for both: the synchronous coupling
            self.config.gamma,
        )
        total = prediction + self.config.bisim_coef * bisim
        terms = {"prediction": prediction, "bisimulation": bisim}
        if self.config.curve_coef > 0 and batch.z_after is None:
            raise DataError(f"curve_coef == {self.config.curve_coef} needs batches with z_after (transitions with "
                            "successor indices)", name="batch")
        if batch.z_after is not None and (self.config.curve_coef > 0 or self.config.log_curvature):
            terms["curvature"] = curvature_loss(w, self.embed(batch.z_next), self.embed(batch.z_after), batch.has_after)
            if self.config.curve_coef > 0:
                total = total + self.config.curve_coef * terms["curvature"]
        return {**terms, "total": total}
