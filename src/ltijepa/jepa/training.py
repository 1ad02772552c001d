"""Training P-JEPA: its optimisation settings, its optimiser and its replay buffer.

The objective is the model's (:meth:`ltijepa.jepa.model.WorldModel.loss_terms`, the loss
``eq-pjepa-loss``); the loop is the one of every latent world model, :func:`ltijepa.train.train`.
What is P-JEPA's here is the optimisation, as TD-MPC2 (Yu et al. 2025, Appendix D): Adam with
the encoder's learning rate scaled by ``encoder_lr_scale`` (:func:`pjepa_optimizer`), the
gradient norm clipped at ``grad_clip``, batches drawn uniformly from a
:class:`TransitionBuffer` by a ``torch.Generator`` seeded with ``seed``; every ``eval_every``
steps an ``evaluate`` callback (e.g. a representation metric) is called and the loop keeps a
copy of the weights with the best value of one of its entries (the authors plot their best
checkpoint). :func:`train_pjepa` puts these together and writes the checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ltijepa.checks import check_count, check_positive
from ltijepa.errors import ShapeError
from ltijepa.jepa.model import Batch, WorldModel, save_checkpoint
from ltijepa.train import train

__all__ = ["PJepaTrainConfig", "TransitionBuffer", "pjepa_optimizer", "train_pjepa"]


@dataclass(frozen=True)
class PJepaTrainConfig:
    """Optimisation of :func:`train_pjepa`. Defaults are the paper's P-JEPA (Appendix D).

    (The loss weights and stop-gradients are the model's, :class:`~ltijepa.jepa.model.PJepaConfig`.)
    """

    steps: int = 300_000
    """number of gradient steps"""
    batch_size: int = 256
    """transitions per step"""
    lr: float = 3e-4
    """Adam learning rate of the dynamics and the heads"""
    encoder_lr_scale: float = 0.3
    """the encoder's learning rate is lr * encoder_lr_scale"""
    grad_clip: float = 200.0
    """maximum global gradient norm"""
    eval_every: int = 6_000
    """steps between two calls of the evaluate callback"""

    def __post_init__(self):
        for name in ("steps", "batch_size", "eval_every"):
            check_count(name, getattr(self, name))
        for name in ("lr", "encoder_lr_scale", "grad_clip"):
            check_positive(name, getattr(self, name))


class TransitionBuffer:
    """Transitions on one device, sampled uniformly with a ``torch.Generator``.

    Frames are stored once; transition ``i`` is ``(frames[src[i]], actions[i],
    frames[dst[i]], rewards[i])``.

    Parameters
    ----------
    frames : numpy.ndarray of uint8, shape (F, C, H, W)
    src, dst : numpy.ndarray of int, shape (N,)
        Frame indices of ``o_t`` and ``o_{t+1}``.
    actions : numpy.ndarray, shape (N,) or (N, action_dim)
    rewards : numpy.ndarray, shape (N,)
        The scalar auxiliary target of ``o_t``.
    device : str or torch.device

    Raises
    ------
    ShapeError
        If the arrays disagree in length or an index is outside ``[0, F)``.
    """

    def __init__(self, frames, src, dst, actions, rewards, *, device: str | torch.device = "cpu"):
        src, dst, actions, rewards = (np.asarray(x) for x in (src, dst, actions, rewards))
        actions = actions.reshape(len(actions), -1)
        n = len(src)
        if not (dst.shape == (n,) and src.shape == (n,) and len(actions) == n and rewards.shape == (n,)) or n == 0:
            raise ShapeError(
                f"expected src, dst, rewards (N,) and actions (N, m) with N >= 1; found {src.shape}, "
                f"{dst.shape}, {rewards.shape}, {actions.shape}"
            )
        if min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= len(frames):
            raise ShapeError(f"frame indices must lie in [0, {len(frames)}), found [{min(src.min(), dst.min())}, {max(src.max(), dst.max())}]")
        self.device = torch.device(device)
        self.frames = torch.as_tensor(np.asarray(frames), device=self.device)
        self.src = torch.as_tensor(src, dtype=torch.long, device=self.device)
        self.dst = torch.as_tensor(dst, dtype=torch.long, device=self.device)
        self.actions = torch.as_tensor(actions, dtype=torch.float32, device=self.device)
        self.rewards = torch.as_tensor(rewards, dtype=torch.float32, device=self.device)

    def __len__(self) -> int:
        return len(self.src)

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        """``batch_size`` transitions drawn uniformly with replacement.

        Parameters
        ----------
        batch_size : int
            Number of transitions.
        generator : torch.Generator
            Source of the indices; they are drawn on its device, then moved to the buffer's.

        Returns
        -------
        Batch
        """
        idx = torch.randint(len(self), (batch_size,), generator=generator, device=generator.device)
        idx = idx.to(self.device)
        return Batch(
            obs=self.frames[self.src[idx]],
            action=self.actions[idx],
            next_obs=self.frames[self.dst[idx]],
            reward=self.rewards[idx],
        )


def pjepa_optimizer(model: WorldModel, config: PJepaTrainConfig) -> torch.optim.Adam:
    """Adam with two parameter groups: the encoder at ``lr * encoder_lr_scale``, the rest at ``lr``.

    Parameters
    ----------
    model : WorldModel
        Its ``encoder`` makes the first group, every other parameter the second.
    config : PJepaTrainConfig
        The learning rates.
    """
    encoder = list(model.encoder.parameters())
    ids = {id(p) for p in encoder}
    rest = [p for p in model.parameters() if id(p) not in ids]
    return torch.optim.Adam(
        [{"params": encoder, "lr": config.lr * config.encoder_lr_scale}, {"params": rest, "lr": config.lr}]
    )


def train_pjepa(
    model: WorldModel,
    buffer: TransitionBuffer,
    config: PJepaTrainConfig,
    *,
    seed: int,
    evaluate: Callable[[WorldModel], dict[str, float]] | None = None,
    best_by: str | None = None,
    checkpoint_dir: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Train ``model`` on ``buffer`` with :func:`ltijepa.train.train`; return its log.

    Parameters
    ----------
    model : WorldModel
        Trained in place (its device is the buffer's) on its :meth:`~WorldModel.loss_terms`.
    buffer : TransitionBuffer
        The data.
    config : PJepaTrainConfig
        Steps, batch size, learning rates, clipping, evaluation period.
    seed : int
        Seed of the batch sampler (a ``torch.Generator`` on the buffer's device).
    evaluate, best_by, progress
        As in :func:`ltijepa.train.train`.
    checkpoint_dir : str or Path, optional
        Where to write ``final.pt`` (and ``best.pt`` with ``best_by``) with ``torch.save``.

    Returns
    -------
    dict
        The log of :func:`ltijepa.train.train`: ``consistency``, ``aux``, ``total`` (numpy
        arrays (steps,), the raw terms and the weighted total), ``eval_step``, ``eval``,
        ``best_step``, ``best_state``, ``seconds``, ``steps_per_second``.

    Raises
    ------
    ParameterError
        If ``best_by`` is given without ``evaluate``, or names no entry of its dict.
    SolverError
        If a loss term becomes NaN or infinite.
    """
    generator = torch.Generator(device=buffer.device).manual_seed(seed)
    info = train(
        model, buffer, pjepa_optimizer(model, config), steps=config.steps, batch_size=config.batch_size,
        generator=generator, grad_clip=config.grad_clip, evaluate=evaluate, eval_every=config.eval_every,
        best_by=best_by, progress=progress,
    )
    if checkpoint_dir is not None:
        save_checkpoint(model, Path(checkpoint_dir) / "final.pt")
        if info["best_state"] is not None:
            torch.save(info["best_state"], Path(checkpoint_dir) / "best.pt")
    return info
