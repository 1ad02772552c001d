"""The P-JEPA world model: encoder E, latent dynamics T and an auxiliary task P (Fig. 1).

.. math::

    z_t = E_\\phi(o_t), \\qquad \\hat z_{t+1} = T_\\psi(z_t, a_t), \\qquad
    P_\\theta(z_t) \\approx p(o_t)

(Yu et al. 2025, §2.1). The model is generic: any image encoder of :mod:`ltijepa.jepa.layers`,
any action dimension, and an auxiliary task that owns its head and its loss:

- :class:`RewardAux`: ``P`` is an MLP with two-hot logits, trained with the soft
  cross-entropy against a scalar (the current reward ``1{k_t = n}`` in the counting chapter);
- :class:`RandomProjectionAux`: ``P`` is an MLP regressing a *frozen* random linear map of
  the raw pixels (values 0..255, not normalised, as in the authors' code) with the MSE.

The model names its training losses (:meth:`WorldModel.loss_terms`, the objective
:func:`ltijepa.train.train` minimises). Networks are initialised from a seed without touching
torch's global generator (:func:`build_pjepa` forks the RNG state), on the CPU, then moved to
``device``.
Checkpoints are state dicts: :func:`save_checkpoint` writes one with ``torch.save``,
:func:`load_checkpoint` reads it back with ``weights_only=True``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from ltijepa.checks import check_count, check_positive
from ltijepa.errors import DataError, ParameterError, ShapeError
from ltijepa.jepa.layers import ConvEncoder, ResNetEncoder, mlp
from ltijepa.jepa.losses import TwoHot, consistency_loss, mse_loss, soft_cross_entropy

__all__ = [
    "Batch",
    "PJepaConfig",
    "RewardAux",
    "RandomProjectionAux",
    "WorldModel",
    "build_pjepa",
    "save_checkpoint",
    "load_checkpoint",
]


class Batch(NamedTuple):
    """A batch of transitions ``(o_t, a_t, o_{t+1}, r_t)`` on one device."""

    obs: torch.Tensor
    """uint8 (B, C, H, W): o_t"""
    action: torch.Tensor
    """float (B, action_dim): a_t"""
    next_obs: torch.Tensor
    """uint8 (B, C, H, W): o_{t+1}"""
    reward: torch.Tensor
    """float (B,): the scalar auxiliary target of o_t (e.g. the current reward)"""


@dataclass(frozen=True)
class PJepaConfig:
    """Sizes, parts and loss weights of a P-JEPA :class:`WorldModel`. Defaults are the paper's
    (Appendix D)."""

    image_size: int = 64
    """height and width of the observations in pixels"""
    latent_dim: int = 256
    """width of the latent z"""
    encoder: str = "resnet"
    """'resnet' (ResNetEncoder, the paper's) or 'cnn' (ConvEncoder, small, for CPU runs)"""
    encoder_channels: int = 32
    """channels of the first encoder stage (resnet) or of every convolution (cnn)"""
    encoder_depth: int = 8
    """basic blocks per stage (resnet) or number of stride-2 convolutions (cnn)"""
    dynamics_hidden: tuple[int, ...] = (512,)
    """hidden widths of T(z, a) (the paper: one layer of 512)"""
    head_hidden: tuple[int, ...] = (512, 512)
    """hidden widths of the auxiliary head P(z) (the paper: two layers of 512)"""
    action_dim: int = 1
    """width of the action vector"""
    aux: str = "reward"
    """'reward' (RewardAux, two-hot cross-entropy) or 'random' (RandomProjectionAux, MSE)"""
    aux_dim: int = 256
    """output width of the frozen random projection (aux = 'random')"""
    num_bins: int = 101
    """two-hot bins of the reward head on [-10, 10] in symlog space (aux = 'reward')"""
    in_channels: int = 3
    """channels of the observations"""
    consistency_coef: float = 2.0
    """c_dyn, weight of the latent transition loss"""
    aux_coef: float = 10.0
    """c_p, weight of the auxiliary loss"""
    dynamics_to_encoder: bool = True
    """whether the transition loss trains the encoder (else T learns on detached latents)"""
    aux_to_encoder: bool = True
    """whether the auxiliary loss trains the encoder (else P learns on detached latents)"""

    def __post_init__(self):
        for name, options in (("encoder", ("resnet", "cnn")), ("aux", ("reward", "random"))):
            value = getattr(self, name)
            if value not in options:
                raise ParameterError(f"{name} == {value!r}, must be one of {options}", name=name, value=value)
        for name in ("consistency_coef", "aux_coef"):
            check_positive(name, getattr(self, name), allow_zero=True)


class RewardAux(nn.Module):
    """``P(z)``: an MLP with two-hot logits; loss = soft cross-entropy against ``batch.reward``.

    The output layer starts at zero (TD-MPC2), i.e. at the uniform distribution over bins.

    Parameters
    ----------
    latent_dim : int
        Width of the latent ``z``.
    hidden : tuple of int
        Hidden widths of the MLP head (see :func:`ltijepa.jepa.layers.mlp`).
    num_bins : int
        Number of two-hot bins (>= 2) on ``[-10, 10]`` in symlog space: the head's output width.
    """

    def __init__(self, latent_dim: int, hidden: tuple[int, ...], num_bins: int):
        super().__init__()
        self.two_hot = TwoHot(num_bins, -10.0, 10.0)
        self.head = mlp(latent_dim, hidden, num_bins, zero_init_last=True)

    def loss(self, z: torch.Tensor, batch: Batch) -> torch.Tensor:
        """``CE(twohot(symlog r), softmax P(z))``, averaged over the batch."""
        return soft_cross_entropy(self.head(z), batch.reward, self.two_hot)

    def predict(self, z: torch.Tensor) -> torch.Tensor:
        """The predicted scalar ``(B,)``: ``symexp`` of the mean of ``softmax P(z)`` on the bins.

        Parameters
        ----------
        z : torch.Tensor, shape (B, latent_dim)
            Latents.
        """
        return self.two_hot.decode(self.head(z))


class RandomProjectionAux(nn.Module):
    """``P(z)`` regresses ``W vec(o) + b`` with a frozen random ``(W, b)`` of the raw pixels.

    ``W`` and ``b`` are drawn like a default ``nn.Linear`` (uniform on
    ``±1/sqrt(C H W)``) from ``generator`` and stored as buffers: saved with the model, never
    trained. The pixels enter as floats in ``[0, 255]`` (the authors' code does not normalise).

    Parameters
    ----------
    latent_dim, hidden
        As in :class:`ltijepa.jepa.model.RewardAux`.
    in_features : int
        Number of pixel values of one observation, ``C * H * W``.
    out_dim : int
        Width of the projection ``W vec(o) + b`` and of the head's output.
    generator : torch.Generator
        A CPU generator, the source of ``W`` and ``b``.
    """

    def __init__(self, latent_dim: int, hidden: tuple[int, ...], in_features: int, out_dim: int, *, generator: torch.Generator):
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        weight = (torch.rand(out_dim, in_features, generator=generator) * 2 - 1) * bound
        bias = (torch.rand(out_dim, generator=generator) * 2 - 1) * bound
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)
        self.head = mlp(latent_dim, hidden, out_dim)

    def target(self, obs: torch.Tensor) -> torch.Tensor:
        """``W vec(o) + b``, shape ``(B, out_dim)``.

        Parameters
        ----------
        obs : torch.Tensor, shape (B, C, H, W)
            Observations (uint8 pixels), flattened to ``in_features`` values and cast to float
            without normalisation.
        """
        return obs.flatten(1).float() @ self.weight.T + self.bias

    def loss(self, z: torch.Tensor, batch: Batch) -> torch.Tensor:
        """``mean (P(z) - W vec(o) + b)^2`` over batch and coordinates."""
        return mse_loss(self.head(z), self.target(batch.obs))


class WorldModel(nn.Module):
    """Encoder, latent dynamics and auxiliary task, with role-named methods.

    Use :func:`build_pjepa` to make one from a :class:`PJepaConfig` and a seed.

    Parameters
    ----------
    config : PJepaConfig
        The sizes and loss weights; kept as ``self.config`` (:meth:`predict` checks shapes
        against it, :meth:`loss_terms` reads the weights and the stop-gradients).
    encoder : torch.nn.Module
        ``E``: uint8 images ``(B, C, H, W)`` to latents ``(B, latent_dim)``.
    dynamics : torch.nn.Module
        ``T``: the concatenation ``[z, a]`` of shape ``(B, latent_dim + action_dim)`` to the
        next latent ``(B, latent_dim)``.
    aux : torch.nn.Module
        The auxiliary task, with a ``loss(z, batch)`` method (:class:`RewardAux` or
        :class:`RandomProjectionAux`).
    """

    def __init__(self, config: PJepaConfig, encoder: nn.Module, dynamics: nn.Module, aux: nn.Module):
        super().__init__()
        self.config = config
        self.encoder, self.dynamics, self.aux = encoder, dynamics, aux

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """``z = E(o)``: uint8 images ``(B, C, H, W)`` to latents ``(B, latent_dim)``.

        Parameters
        ----------
        obs : torch.Tensor of uint8, shape (B, C, H, W)
            Observations with ``C = config.in_channels`` and ``H = W = config.image_size``.
        """
        return self.encoder(obs)

    def predict(self, z: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """``T(z, a)``: the predicted next latent ``(B, latent_dim)``.

        Raises
        ------
        ShapeError
            If ``z`` is not ``(B, latent_dim)`` or ``action`` is not ``(B, action_dim)``.
        """
        cfg = self.config
        if z.ndim != 2 or z.shape[1] != cfg.latent_dim or action.shape != (len(z), cfg.action_dim):
            raise ShapeError(
                f"expected z (B, {cfg.latent_dim}) and action (B, {cfg.action_dim}), "
                f"found {tuple(z.shape)} and {tuple(action.shape)}"
            )
        return self.dynamics(torch.cat([z, action.to(z.dtype)], dim=1))

    def aux_loss(self, z: torch.Tensor, batch: Batch) -> torch.Tensor:
        """The auxiliary loss ``L_p`` of the latents ``z = E(batch.obs)``."""
        return self.aux.loss(z, batch)

    def loss_terms(self, batch: Batch) -> dict[str, torch.Tensor]:
        """The loss terms of one batch, each detached from the encoder where the config says.

        .. math::

            \\mathcal L_{\\text{total}} = c_{\\text{dyn}}\\,\\|T(z_t, a_t) - z_{t+1}\\|^2
                + c_p\\,\\mathcal L_p(P(z_t), p(o_t)), \\qquad z = E(o),

        the P-JEPA objective ``eq-pjepa-loss`` (Yu et al. 2025, §2.1, coefficients of
        Appendix D). A term whose ``*_to_encoder`` flag is false is computed on ``z.detach()``:
        its head still learns, the gradient with respect to the encoder's parameters is exactly
        zero. When the dynamics term reaches the encoder it does so through the prediction *and*
        the target ``z_{t+1}`` (no stop-gradient).

        Parameters
        ----------
        batch : Batch
            The transitions; ``obs`` and ``next_obs`` are encoded in one forward pass.

        Returns
        -------
        dict
            ``"consistency"``: ``mean (T(z_t, a_t) - z_{t+1})^2``; ``"aux"``: ``L_p(P(z_t))``;
            ``"total"``: ``consistency_coef * consistency + aux_coef * aux``.
        """
        cfg = self.config
        z_both = self.encode(torch.cat([batch.obs, batch.next_obs]))
        z, z_next = z_both[: len(batch.obs)], z_both[len(batch.obs) :]
        if not cfg.dynamics_to_encoder:
            z_dyn, z_next = z.detach(), z_next.detach()
        else:
            z_dyn = z
        z_aux = z if cfg.aux_to_encoder else z.detach()
        consistency = consistency_loss(self.predict(z_dyn, batch.action), z_next)
        aux = self.aux_loss(z_aux, batch)
        return {"consistency": consistency, "aux": aux,
                "total": cfg.consistency_coef * consistency + cfg.aux_coef * aux}


def build_pjepa(config: PJepaConfig, *, seed: int, device: str | torch.device = "cpu") -> WorldModel:
    """Build a :class:`WorldModel` with weights drawn from ``seed``.

    Parameters
    ----------
    config : PJepaConfig
        Sizes, parts and loss weights.
    seed : int
        Seed of the initial weights (and of the frozen random projection). Torch's global
        generator is left as it was.
    device : str or torch.device
        Where the model lives.

    Returns
    -------
    WorldModel

    Raises
    ------
    ParameterError
        If ``seed`` is not a non-negative integer.
    """
    seed = check_count("seed", seed, minimum=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if config.encoder == "resnet":
            encoder: nn.Module = ResNetEncoder(
                config.image_size, config.latent_dim, channels=config.encoder_channels,
                blocks_per_stage=config.encoder_depth, in_channels=config.in_channels,
            )
        else:
            encoder = ConvEncoder(
                config.image_size, config.latent_dim, channels=config.encoder_channels,
                depth=config.encoder_depth, in_channels=config.in_channels,
            )
        dynamics = mlp(config.latent_dim + config.action_dim, config.dynamics_hidden, config.latent_dim)
        if config.aux == "reward":
            aux: nn.Module = RewardAux(config.latent_dim, config.head_hidden, config.num_bins)
        else:
            generator = torch.Generator().manual_seed(seed + 1)
            in_features = config.in_channels * config.image_size**2
            aux = RandomProjectionAux(config.latent_dim, config.head_hidden, in_features, config.aux_dim, generator=generator)
        model = WorldModel(config, encoder, dynamics, aux)
    return model.to(device)


def save_checkpoint(model: nn.Module, path: str | Path) -> Path:
    """Write ``model.state_dict()`` to ``path`` with ``torch.save``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path


def load_checkpoint(config: PJepaConfig, path: str | Path, *, device: str | torch.device = "cpu") -> WorldModel:
    """A :class:`WorldModel` of ``config`` with the weights of ``path``.

    The file is read with ``torch.load(..., weights_only=True)``: tensors only, no pickled code.

    Parameters
    ----------
    config : PJepaConfig
        Sizes and parts of the saved model.
    path : str or Path
        A state dict written by :func:`save_checkpoint`.
    device : str or torch.device, default "cpu"
        Where the model is built and the tensors are loaded (``map_location``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataError
        If the weights do not fit ``config`` (missing or unexpected keys, wrong shapes); the
        message names the file and torch's list of mismatches.
    """
    model = build_pjepa(config, seed=0, device=device)
    state = torch.load(Path(path), map_location=device, weights_only=True)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:  # torch's "Error(s) in loading state_dict ..."
        raise DataError(f"{path}: the weights do not fit this PJepaConfig: {exc}", name="path") from exc
    return model

