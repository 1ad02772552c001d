"""JEPA world models with an auxiliary task (Yu et al. 2025) and their representation metrics.

Generic building blocks (no environment assumed), reused by the planning chapter:

- :mod:`ltijepa.jepa.layers` -- MLP (``NormedLinear``), small CNN and ResNet encoders,
  a transposed-convolution decoder;
- :mod:`ltijepa.jepa.losses` -- the loss terms as named functions (consistency, two-hot soft
  cross-entropy, MSE, reconstruction);
- :mod:`ltijepa.jepa.model` -- the world model ``WorldModel`` (``encode``, ``predict``,
  ``aux_loss``, ``loss_terms`` with per-term stop-gradients) with a reward or a
  random-projection auxiliary task, built by ``build_pjepa`` from a ``PJepaConfig``;
  checkpoints;
- :mod:`ltijepa.jepa.training` -- P-JEPA's optimiser and a transition replay buffer for the
  one training loop of :mod:`ltijepa.train`;
- :mod:`ltijepa.jepa.metrics` -- nearest-centroid accuracy, distances, effective rank, PCA;
- :mod:`ltijepa.jepa.tabular` -- Thm. 1 and Thm. 3 checked exactly for lookup-table models.

Counting-specific: :mod:`ltijepa.jepa.figures` (the chapter's panels). The chapter's driver
(the four ablations of Fig. 2, its sizes per profile, the decoder on frozen latents) is
:mod:`ltijepa.chapters.p_jepa_counting`; the environment is :mod:`ltijepa.envs.counting`.
"""

from ltijepa.jepa.layers import ConvDecoder, ConvEncoder, NormedLinear, ResNetEncoder, mlp
from ltijepa.jepa.losses import TwoHot, consistency_loss, mse_loss, reconstruction_loss, soft_cross_entropy
from ltijepa.jepa.model import Batch, PJepaConfig, WorldModel, build_pjepa, load_checkpoint, save_checkpoint
from ltijepa.jepa.training import PJepaTrainConfig, TransitionBuffer, pjepa_optimizer, train_pjepa

__all__ = [
    "ConvDecoder",
    "ConvEncoder",
    "NormedLinear",
    "ResNetEncoder",
    "mlp",
    "TwoHot",
    "consistency_loss",
    "mse_loss",
    "reconstruction_loss",
    "soft_cross_entropy",
    "Batch",
    "PJepaConfig",
    "WorldModel",
    "build_pjepa",
    "load_checkpoint",
    "save_checkpoint",
    "PJepaTrainConfig",
    "TransitionBuffer",
    "pjepa_optimizer",
    "train_pjepa",
]
