"""Planning with world models: CEM, MPPI, the MPC loop, exact LQ MPC, and latent world models.

- :mod:`~ltijepa.planning.base`: the batched cost interface, :class:`Plan`, sampling.
- :mod:`~ltijepa.planning.cem`, :mod:`~ltijepa.planning.mppi`: the two sampling planners.
- :mod:`~ltijepa.planning.mpc`: the receding-horizon loop.
- :mod:`~ltijepa.planning.lq`: exact finite-horizon LQ planning (Riccati recursion).
- :mod:`~ltijepa.planning.features`: frozen generic image features (our DINOv2 stand-in).
- :mod:`~ltijepa.planning.metric_loss`: the on-policy bisimulation metric and the metric loss
  of a latent world model (not the MDP partitions of :mod:`ltijepa.bisim`).
- :mod:`~ltijepa.planning.world_models`: the DINO-WM analog and the bisimulation world model.
- :mod:`~ltijepa.planning.training`: encoding a dataset once, building and training a model.

The chapter's experiments (the maze, its success table, the profile sizes) are in
:mod:`ltijepa.chapters.planning_world_models`.

Sign convention: u = -K x (as :mod:`ltijepa.lqr`).
"""

from ltijepa.planning.base import Plan, torch_generator
from ltijepa.planning.metric_loss import bisimulation_loss, deterministic_bisimulation_metric
from ltijepa.planning.cem import CEMConfig, cem
from ltijepa.planning import lq
from ltijepa.planning.lq import *  # noqa: F403 (its __all__: exact LQ planning)
from ltijepa.planning.mpc import MPCResult, mpc
from ltijepa.planning.mppi import MPPIConfig, mppi
from ltijepa.planning.features import FrozenFeatures
from ltijepa.planning.training import LatentTrainConfig, build_latent_model, feature_transitions, train_world_model
from ltijepa.planning.world_models import BisimWorldModel, FeatureWorldModel, LatentModelConfig

__all__ = [
    "Plan",
    "torch_generator",
    "CEMConfig",
    "cem",
    "MPPIConfig",
    "mppi",
    "MPCResult",
    "mpc",
    *lq.__all__,
    "FrozenFeatures",
    "bisimulation_loss",
    "deterministic_bisimulation_metric",
    "LatentModelConfig",
    "FeatureWorldModel",
    "BisimWorldModel",
    "LatentTrainConfig",
    "feature_transitions",
    "build_latent_model",
    "train_world_model",
]
