"""One training loop for JEPA world models with an auxiliary task, and its replay buffer.

The loop minimises (Yu et al. 2025, §2.1, with the coefficients of Appendix D)

.. math::

    \\mathcal L = c_{\\text{dyn}}\\,\\|T(z_t, a_t) - z_{t+1}\\|^2 + c_p\\,\\mathcal L_p(P(z_t), p(o_t)),
    \\qquad z = E(o),

where :class:`TrainConfig` decides, per term, whether the gradient reaches the encoder: a
term that does not is computed on ``z.detach()`` -- its head still learns, the encoder does
not see it. The four ablations of the paper are the four combinations
(``dynamics_to_encoder``, ``aux_to_encoder``) with the auxiliary task of the model. When the
dynamics term reaches the encoder, it does so through the prediction *and* the target
``z_{t+1}`` (no stop-gradient).

Optimisation as TD-MPC2: Adam, the encoder's learning rate scaled by ``encoder_lr_scale``,
gradient norm clipped at ``grad_clip``. Every ``eval_every`` steps an ``evaluate`` callback
(e.g. a representation metric) is called; the loop keeps a copy of the weights with the best
value of one of its entries (the authors plot their best checkpoint).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ltijepa.checks import check_count, check_positive
from ltijepa.errors import LtijepaError, ShapeError
from ltijepa.jepa.losses import consistency_loss
from ltijepa.jepa.model import Batch, WorldModel, save_checkpoint

__all__ = ["TrainConfigError", "TrainConfig", "TransitionBuffer", "loss_terms", "train"]


class TrainConfigError(LtijepaError, ValueError):
    """An argument of :func:`train` does not fit the others (``best_by`` without its metric).

    (A :class:`TrainConfig` field out of range is a :class:`~ltijepa.errors.ParameterError`.)
    """


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and loss weights of :func:`train`. Defaults are the paper's P-JEPA."""

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
    consistency_coef: float = 2.0
    """c_dyn, weight of the latent transition loss"""
    aux_coef: float = 10.0
    """c_p, weight of the auxiliary loss"""
    dynamics_to_encoder: bool = True
    """whether the transition loss trains the encoder (else T learns on detached latents)"""
    aux_to_encoder: bool = True
    """whether the auxiliary loss trains the encoder (else P learns on detached latents)"""
    eval_every: int = 6_000
    """steps between two calls of the evaluate callback"""

    def __post_init__(self):
        for name in ("steps", "batch_size", "eval_every"):
            check_count(name, getattr(self, name))
        for name in ("lr", "encoder_lr_scale", "grad_clip"):
            check_positive(name, getattr(self, name))
        for name in ("consistency_coef", "aux_coef"):
            check_positive(name, getattr(self, name), allow_zero=True)


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


def loss_terms(model: WorldModel, batch: Batch, config: TrainConfig) -> dict[str, torch.Tensor]:
    """The two loss terms of one batch, each detached from the encoder where ``config`` says.

    Parameters
    ----------
    model : WorldModel
        Encoder, dynamics and auxiliary task.
    batch : Batch
        The transitions; ``obs`` and ``next_obs`` are encoded in one forward pass.
    config : TrainConfig
        Only ``dynamics_to_encoder`` and ``aux_to_encoder`` are read here (the coefficients
        are applied by :func:`train`).

    Returns
    -------
    dict
        ``"consistency"``: ``mean (T(z_t, a_t) - z_{t+1})^2``; ``"aux"``: ``L_p(P(z_t))``.
        A term whose ``*_to_encoder`` flag is false is computed on ``z.detach()``, so its
        gradient with respect to the encoder's parameters is exactly zero.
    """
    z_both = model.encode(torch.cat([batch.obs, batch.next_obs]))
    z, z_next = z_both[: len(batch.obs)], z_both[len(batch.obs) :]
    if not config.dynamics_to_encoder:
        z_dyn, z_next = z.detach(), z_next.detach()
    else:
        z_dyn = z
    z_aux = z if config.aux_to_encoder else z.detach()
    return {
        "consistency": consistency_loss(model.predict(z_dyn, batch.action), z_next),
        "aux": model.aux_loss(z_aux, batch),
    }


def _optimizer(model: WorldModel, config: TrainConfig) -> torch.optim.Adam:
    encoder = list(model.encoder.parameters())
    ids = {id(p) for p in encoder}
    rest = [p for p in model.parameters() if id(p) not in ids]
    return torch.optim.Adam(
        [{"params": encoder, "lr": config.lr * config.encoder_lr_scale}, {"params": rest, "lr": config.lr}]
    )


def train(
    model: WorldModel,
    buffer: TransitionBuffer,
    config: TrainConfig,
    *,
    seed: int,
    evaluate: Callable[[WorldModel], dict[str, float]] | None = None,
    best_by: str | None = None,
    checkpoint_dir: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Train ``model`` on ``buffer``; return the history of every named loss and metric.

    Parameters
    ----------
    model : WorldModel
        Trained in place (its device is the buffer's).
    buffer : TransitionBuffer
        The data.
    config : TrainConfig
        Steps, optimiser, loss weights, and which terms reach the encoder.
    seed : int
        Seed of the batch sampler (a ``torch.Generator`` on the buffer's device).
    evaluate : callable, optional
        ``evaluate(model) -> {name: float}``, called under ``torch.no_grad`` in eval mode at
        step 0, every ``config.eval_every`` steps and after the last step.
    best_by : str, optional
        An entry of ``evaluate``'s dict: keep a CPU copy of the weights where it is largest.
    checkpoint_dir : str or Path, optional
        Where to write ``final.pt`` (and ``best.pt`` with ``best_by``) with ``torch.save``.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    dict
        ``consistency``, ``aux``, ``total`` : numpy arrays (steps,) of the weighted terms'
        raw values and the weighted total; ``eval_step`` : array of the evaluation steps and
        ``eval`` : ``{name: array}``; ``best_step`` and ``best_state`` (with ``best_by``);
        ``seconds`` and ``steps_per_second`` of the loop.

    Raises
    ------
    TrainConfigError
        If ``best_by`` is given without ``evaluate``, or names no entry of its dict.
    """
    if best_by is not None and evaluate is None:
        raise TrainConfigError(f"best_by == {best_by!r} needs an evaluate callback")
    generator = torch.Generator(device=buffer.device).manual_seed(seed)
    optimizer = _optimizer(model, config)
    params = list(model.parameters())
    names = ("consistency", "aux", "total")
    history = torch.empty(config.steps, len(names), device=buffer.device)  # written without syncs
    evals: dict[str, list[float]] = {}
    eval_steps: list[int] = []
    best = {"value": -np.inf, "step": None, "state": None}

    def run_eval(step: int) -> None:
        model.eval()
        with torch.no_grad():
            values = evaluate(model)
        model.train()
        if best_by is not None and best_by not in values:
            raise TrainConfigError(f"best_by == {best_by!r} is not an entry of evaluate's {sorted(values)}")
        eval_steps.append(step)
        for name, value in values.items():
            evals.setdefault(name, []).append(float(value))
        if best_by is not None and values[best_by] > best["value"]:
            state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            best.update(value=float(values[best_by]), step=step, state=state)
        bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()}, refresh=False)

    model.train()
    start = time.perf_counter()
    bar = tqdm(range(1, config.steps + 1), disable=not progress, mininterval=30.0, ascii=True)
    if evaluate is not None:
        run_eval(0)
    for step in bar:
        batch = buffer.sample(config.batch_size, generator)
        terms = loss_terms(model, batch, config)
        total = config.consistency_coef * terms["consistency"] + config.aux_coef * terms["aux"]
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
        optimizer.step()
        history[step - 1] = torch.stack([terms["consistency"], terms["aux"], total]).detach()
        if evaluate is not None and (step % config.eval_every == 0 or step == config.steps):
            run_eval(step)
    seconds = time.perf_counter() - start
    bar.close()

    values = history.cpu().numpy()
    info = {name: values[:, i] for i, name in enumerate(names)}
    info.update(
        eval_step=np.array(eval_steps),
        eval={name: np.array(values) for name, values in evals.items()},
        best_step=best["step"],
        best_state=best["state"],
        seconds=seconds,
        steps_per_second=config.steps / seconds,
    )
    if checkpoint_dir is not None:
        save_checkpoint(model, Path(checkpoint_dir) / "final.pt")
        if best["state"] is not None:
            torch.save(best["state"], Path(checkpoint_dir) / "best.pt")
    return info
