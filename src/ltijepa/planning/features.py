"""Frozen generic image features: our stand-in for DINOv2, which cannot be downloaded here.

DINO-WM (Zhou et al. 2025) and Toso et al. (2026) plan on the patch features of a frozen,
pretrained DINOv2 encoder (Oquab et al. 2024). Without it we use an *untrained* encoder that
is equally frozen and equally generic -- it knows nothing of the maze:

1. a random ``3 x 3`` convolution (``channels`` filters, fixed seed) and ``tanh``, on pixels
   scaled to [-0.5, 0.5];
2. a Gaussian pyramid: each channel is averaged with Gaussian weights around the centres of
   a ``G x G`` grid, for every ``G`` in ``grids``, with standard deviation one grid cell
   (``S / G`` pixels).

.. math::

    f(o)_{c, \\ell, k} = \\sum_{p} g_{\\ell, k}(p) \\tanh\\big((W_c * o)(p) + b_c\\big),
    \\qquad g_{\\ell, k}(p) \\propto \\exp\\!\\Big(-\\frac{\\|p - \\xi_{\\ell, k}\\|^2}{2 (S / G_\\ell)^2}\\Big).

The pyramid gives what a pretrained encoder gives and a raw patch would not: the distance
between the features of two images grows smoothly with the distance between the agent's
positions over a large part of the maze, so a terminal cost in feature space guides a planner.
Like DINO's, the features also carry the floor: a change of background colour moves every
coordinate -- the slow features of the talk.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ltijepa.checks import check_count
from ltijepa.errors import ParameterError, ShapeError

__all__ = ["FrozenFeatures", "pyramid_weights"]


def pyramid_weights(image_size: int, grids: tuple[int, ...]) -> torch.Tensor:
    """The Gaussian pooling weights: one row per grid cell of every level, rows summing to 1.

    Parameters
    ----------
    image_size : int
        S, pixels per side.
    grids : tuple of int
        Grid sizes G (each dividing S).

    Returns
    -------
    torch.Tensor, shape (sum_l G_l^2, S * S)

    Raises
    ------
    ParameterError
        If a grid size is not a positive integer or does not divide ``image_size``.
    """
    centres = np.arange(image_size) + 0.5
    x, y = np.meshgrid(centres, centres)
    rows = []
    for G in grids:
        check_count("grid size", G)
        if image_size % G:
            raise ParameterError(f"grid size == {G}, must divide image_size == {image_size}", name="grids", value=G)
        cell = image_size / G
        for cy in (np.arange(G) + 0.5) * cell:
            for cx in (np.arange(G) + 0.5) * cell:
                w = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * cell**2))
                rows.append((w / w.sum()).ravel())
    return torch.tensor(np.array(rows), dtype=torch.float32)


class FrozenFeatures(nn.Module):
    """A frozen random-conv + Gaussian-pyramid encoder: uint8 images to feature vectors.

    Parameters
    ----------
    image_size : int
        S; images are ``(B, 3, S, S)`` uint8.
    channels : int
        Random filters.
    grids : tuple of int
        Pyramid levels (grid sizes dividing S).
    seed : int
        Seed of the random filters (the encoder is the same for every model of a chapter).

    Attributes
    ----------
    dim : int
        ``channels * sum(G^2)``, the feature dimension (336 for the defaults).

    Raises
    ------
    ParameterError
        If ``image_size``, ``channels`` or a grid size is not a positive integer, or a grid size
        does not divide ``image_size``.
    """

    def __init__(self, image_size: int = 32, *, channels: int = 4, grids: tuple[int, ...] = (8, 4, 2), seed: int = 0):
        super().__init__()
        self.image_size = check_count("image_size", image_size)
        generator = torch.Generator().manual_seed(seed)
        check_count("channels", channels)
        # weights of std 0.5 on inputs in [-0.5, 0.5]: tanh stays out of saturation
        self.register_buffer("filters", 0.5 * torch.randn(channels, 3, 3, 3, generator=generator))
        self.register_buffer("bias", 0.1 * torch.randn(channels, generator=generator))
        self.register_buffer("pool", pyramid_weights(image_size, grids))
        self.dim = channels * self.pool.shape[0]

    @torch.no_grad()
    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Features ``(B, dim)`` of uint8 images ``(B, 3, S, S)``.

        Raises
        ------
        ShapeError
            If the images do not have shape ``(B, 3, S, S)``.
        """
        S = self.image_size
        if obs.ndim != 4 or tuple(obs.shape[1:]) != (3, S, S):
            raise ShapeError(f"obs: expected images (B, 3, {S}, {S}), found {tuple(obs.shape)}")
        x = obs.to(self.filters.device, torch.float32) / 255.0 - 0.5
        x = torch.tanh(nn.functional.conv2d(x, self.filters, self.bias, padding=1))
        return torch.einsum("kp,bcp->bck", self.pool, x.flatten(2)).flatten(1)
