"""An exact world model of the point maze, for the tests of the planning chapters.

The latent of :class:`PositionModel` is the agent's position itself, read from the image, and
its prediction is the wall-free dynamics of :mod:`ltijepa.envs.pointmaze`; a planner that
fails with it fails for reasons of its own, not of a learned model.
"""

from __future__ import annotations

import torch

from ltijepa.envs.pointmaze import AGENT_COLOUR, STEP_SIZE
from ltijepa.planning.features import FrozenFeatures
from ltijepa.planning.world_models import LatentModelConfig, LatentWorldModel

__all__ = ["PositionModel"]


class PositionModel(LatentWorldModel):
    """An exact world model for tests: the latent is the agent's position, read from the red
    pixels of the image; the prediction is the wall-free dynamics p + delta clip(a)."""

    def __init__(self):
        super().__init__()
        self.features = FrozenFeatures()
        self.config = LatentModelConfig()
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # a parameter gives the model a device

    def encode(self, obs):
        img = torch.as_tensor(obs).float() / 255
        red = ((img[:, 0] - AGENT_COLOUR[0]).abs() < 0.05) & ((img[:, 1] - AGENT_COLOUR[1]).abs() < 0.05)
        S = img.shape[-1]
        rows, cols = torch.meshgrid(torch.arange(S), torch.arange(S), indexing="ij")
        weight = red.float() / red.float().sum((1, 2), keepdim=True)
        x = ((cols + 0.5) * weight).sum((1, 2)) / S
        y = 1 - ((rows + 0.5) * weight).sum((1, 2)) / S
        return torch.stack([x, y], dim=1)

    def embed(self, z):
        raise AssertionError("not used")

    def predict(self, latent, action):
        return latent + STEP_SIZE * action.clamp(-1, 1)

    def loss_terms(self, batch):
        raise AssertionError("not used")
