"""Training the chapter's world models on random-action transitions.

The frozen encoder never changes, so the images are encoded once
(:func:`feature_transitions`) and the models train on features. Both train in the one loop of
every latent world model, :func:`ltijepa.train.train` (:func:`train_world_model`): sample a
batch (and a permutation pairing its transitions for the bisimulation loss), take the model's
named losses, step AdamW (Toso et al. train with AdamW); the log is every term's mean over
windows of ``log_every`` steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ltijepa.envs.pointmaze import Transitions
from ltijepa.checks import check_count, check_positive
from ltijepa.errors import ParameterError, ShapeError
from ltijepa.planning.base import torch_generator
from ltijepa.planning.features import FrozenFeatures
from ltijepa.planning.world_models import (
    BisimWorldModel,
    FeatureBatch,
    FeatureWorldModel,
    LatentWorldModel,
    LatentModelConfig,
    Standardizer,
)
from ltijepa.train import RESERVED_KEYS, train

__all__ = ["LatentTrainConfig", "FeatureTransitions", "feature_transitions", "build_latent_model", "train_world_model"]

MODEL_KINDS = {"feature": FeatureWorldModel, "bisim": BisimWorldModel}


@dataclass(frozen=True)
class LatentTrainConfig:
    """Optimisation of :func:`train_world_model`."""

    steps: int = 20_000
    """gradient steps"""
    batch_size: int = 256
    """transitions per step (also the number of bisimulation pairs)"""
    lr: float = 1e-3
    """AdamW learning rate"""
    weight_decay: float = 1e-2
    """AdamW weight decay (torch's default)"""
    log_every: int = 100
    """steps between two entries of the info dict"""

    def __post_init__(self):
        for name in ("steps", "batch_size", "log_every"):
            check_count(name, getattr(self, name))
        check_positive("lr", self.lr)
        check_positive("weight_decay", self.weight_decay, allow_zero=True)


@dataclass(frozen=True)
class FeatureTransitions:
    """Transitions ``(f(o_t), a_t, f(o_{t+1}), p_t)`` flattened over episodes and time."""

    z: torch.Tensor
    """(N, D) frozen features of o_t"""
    action: torch.Tensor
    """(N, m) actions"""
    z_next: torch.Tensor
    """(N, D) frozen features of o_{t+1}"""
    position: torch.Tensor
    """(N, 2) agent positions at t"""
    after: torch.Tensor | None = None
    """(N,) int, the index of transition t + 1 of the same episode (-1 at an episode's end),
    for the curvature loss; ``None``: batches carry no ``z_after``"""

    def __len__(self) -> int:
        return len(self.z)

    def sample(self, batch_size: int, generator: torch.Generator) -> FeatureBatch:
        """A uniform batch with replacement, and a random pairing of its transitions.

        Parameters
        ----------
        batch_size : int
            Transitions drawn, ``B`` (also the length of the pairing permutation).
        generator : torch.Generator
            Source of the indices and the permutation; on the device of the data.

        Returns
        -------
        FeatureBatch
            ``B`` transitions, ``pair`` a random permutation of ``range(B)``; with ``after``,
            also ``z_after`` (the features of o_{t+2}; no further draws from ``generator``).
        """
        index = torch.randint(len(self), (batch_size,), generator=generator, device=self.z.device)
        pair = torch.randperm(batch_size, generator=generator, device=self.z.device)
        batch = FeatureBatch(self.z[index], self.action[index], self.z_next[index], self.position[index], pair)
        if self.after is None:
            return batch
        after = self.after[index]
        return batch._replace(z_after=self.z_next[after.clamp(min=0)], has_after=after >= 0)


def feature_transitions(
    features: FrozenFeatures, data: Transitions, *, device: str | torch.device = "cpu", chunk: int = 4096
) -> FeatureTransitions:
    """Encode a random-action dataset once with the frozen encoder.

    Parameters
    ----------
    features : FrozenFeatures
    data : Transitions
        ``E`` episodes of ``T`` steps.
    device : str or torch.device
        Where the features are kept.
    chunk : int
        Images encoded per call.

    Returns
    -------
    FeatureTransitions
        ``N = E * T`` transitions, with the index of each one's successor in its episode.
    """
    E, T1 = data.observations.shape[:2]
    after = torch.arange(1, E * (T1 - 1) + 1, device=device).reshape(E, T1 - 1)
    after[:, -1] = -1
    frames = data.observations.reshape(E * T1, *data.observations.shape[2:])
    features = features.to(device)
    z = torch.cat([features(torch.as_tensor(frames[i : i + chunk])) for i in range(0, len(frames), chunk)])
    z = z.reshape(E, T1, -1)
    return FeatureTransitions(
        z=z[:, :-1].reshape(E * (T1 - 1), -1),
        action=torch.tensor(data.actions.reshape(-1, data.actions.shape[-1]), dtype=torch.float32, device=device),
        z_next=z[:, 1:].reshape(E * (T1 - 1), -1),
        position=torch.tensor(data.positions[:, :-1].reshape(-1, 2), dtype=torch.float32, device=device),
        after=after.reshape(-1),
    )


def build_latent_model(
    kind: str,
    features: FrozenFeatures,
    data: FeatureTransitions,
    config: LatentModelConfig = LatentModelConfig(),
    *,
    seed: int,
    device: str | torch.device = "cpu",
) -> LatentWorldModel:
    """A fresh world model of ``kind`` (``"feature"`` or ``"bisim"``), standardised on ``data``.

    Parameters
    ----------
    kind : str
        ``"feature"``: :class:`FeatureWorldModel`; ``"bisim"``: :class:`BisimWorldModel`.
    features : FrozenFeatures
    data : FeatureTransitions
        Training features (for the standardiser's statistics).
    config : LatentModelConfig
    seed : int
        Seed of the initial weights.
    device : str or torch.device

    Raises
    ------
    ParameterError
        If ``kind`` is unknown.
    """
    if kind not in MODEL_KINDS:
        raise ParameterError(f"kind == {kind!r}, must be one of {sorted(MODEL_KINDS)}", name="kind", value=kind)
    model = MODEL_KINDS[kind](features, Standardizer(data.z), config)
    _initialise(model, torch_generator(seed))
    return model.to(device)


def _initialise(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Redraw every linear layer as torch's default init does, but from ``generator``
    (the default draws from the global generator, which the library never seeds)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
            bound = 1.0 / math.sqrt(module.in_features)
            torch.nn.init.uniform_(module.bias, -bound, bound, generator=generator)


def train_world_model(
    model: LatentWorldModel,
    data: FeatureTransitions,
    config: LatentTrainConfig = LatentTrainConfig(),
    *,
    seed: int | torch.Generator,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Train ``model`` on ``data`` by AdamW on its total loss; return the logged loss terms.

    The loop is :func:`ltijepa.train.train`; the steps' values of every term are averaged over
    windows of ``config.log_every`` steps (summed in float64 in step order), a trailing partial
    window left out.

    Parameters
    ----------
    model : LatentWorldModel
        Trained in place (the frozen features are buffers, never trained).
    data : FeatureTransitions
        On the model's device.
    config : LatentTrainConfig
    seed : int or torch.Generator
        Source of the batches and the pairings.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    dict of str to numpy.ndarray
        ``"step"`` and one array per loss term of :meth:`loss_terms`, each the mean over the
        ``log_every`` steps before the logged step.

    Raises
    ------
    ShapeError
        If the data's feature width is not the model's.
    SolverError
        If a loss term becomes non-finite (status ``"non-finite loss"``; the term and the step
        are named).
    """
    if data.z.shape[1] != model.features.dim:
        raise ShapeError(f"data: expected features of width {model.features.dim}, found {data.z.shape[1]}")
    generator = torch_generator(seed, data.z.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    log = train(model, data, optimizer, steps=config.steps, batch_size=config.batch_size, generator=generator,
                progress=progress, desc=type(model).__name__)
    model.eval()
    windows = config.steps // config.log_every
    info = {"step": config.log_every * np.arange(1, windows + 1)}
    for name, values in log.items():
        if name not in RESERVED_KEYS:
            per_window = values[: windows * config.log_every].astype(np.float64).reshape(windows, config.log_every)
            info[name] = np.cumsum(per_window, axis=1)[:, -1] / config.log_every
    return info
