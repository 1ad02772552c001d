"""Network building blocks of the JEPA world models: MLPs, pixel encoders, a pixel decoder.

Nothing here knows about a particular environment: an encoder maps ``uint8`` images
``(B, C, H, W)`` to latents ``(B, latent_dim)``, an MLP maps vectors to vectors, and the
decoder maps latents back to images in ``[-1, 1]``.

The blocks follow TD-MPC2 (Hansen et al., 2024) as used by Yu et al. (2025), Appendix D:

- :class:`NormedLinear`: ``Linear -> LayerNorm -> Mish``;
- :func:`mlp`: ``NormedLinear`` blocks and a plain ``Linear`` output layer;
- :class:`ResNetEncoder`: the paper's 69-layer encoder (stem ``7x7/2`` conv + max-pool, four
  stages of basic blocks with 32, 64, 128, 256 channels, no normalisation, average pool and a
  linear projection) -- 12,260,192 parameters at the paper's size;
- :class:`ConvEncoder`: a small CNN (stride-2 ``3x3`` convolutions) for CPU runs;
- :class:`ConvDecoder`: transposed convolutions back to pixels.

Every encoder starts with :class:`PixelPreprocess`, ``x / 255 - 0.5`` (pixels to
``[-0.5, 0.5]``, Appendix D).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ltijepa.checks import check_count
from ltijepa.errors import ParameterError, ShapeError

__all__ = [
    "PixelPreprocess",
    "NormedLinear",
    "mlp",
    "ConvEncoder",
    "BasicBlock",
    "ResNetEncoder",
    "ConvDecoder",
    "count_parameters",
]


def _check_images(x: torch.Tensor, channels: int, size: int) -> None:
    if x.ndim != 4 or tuple(x.shape[1:]) != (channels, size, size):
        raise ShapeError(f"expected images (B, {channels}, {size}, {size}), found {tuple(x.shape)}")


def count_parameters(module: nn.Module) -> int:
    """The number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class PixelPreprocess(nn.Module):
    """``x / 255 - 0.5``: uint8 pixels to floats in ``[-0.5, 0.5]`` (Appendix D)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float().div(255.0).sub(0.5)


class NormedLinear(nn.Sequential):
    """``Linear(in, out) -> LayerNorm(out) -> Mish``, TD-MPC2's hidden layer.

    Parameters
    ----------
    in_features, out_features : int
        Input and output widths.
    """

    def __init__(self, in_features: int, out_features: int):
        super().__init__(nn.Linear(in_features, out_features), nn.LayerNorm(out_features), nn.Mish())


def mlp(in_dim: int, hidden_dims: tuple[int, ...], out_dim: int, *, zero_init_last: bool = False) -> nn.Sequential:
    """An MLP of :class:`NormedLinear` hidden layers and a linear output layer.

    .. math::  x \\mapsto W_L\\,\\phi(\\dots \\phi(x)) + b_L,
               \\quad \\phi = \\operatorname{Mish}\\circ\\operatorname{LN}\\circ\\operatorname{Linear}

    Parameters
    ----------
    in_dim, out_dim : int
        Input and output widths.
    hidden_dims : tuple of int
        Widths of the hidden layers (may be empty: then one linear map).
    zero_init_last : bool
        Zero the output layer's weights and bias (TD-MPC2 does this for its reward head, so the
        head starts at the uniform two-hot distribution).

    Returns
    -------
    torch.nn.Sequential

    Raises
    ------
    ParameterError
        If a width is not a positive integer.

    Examples
    --------
    >>> count_parameters(mlp(256, (512, 512), 101))  # the paper's reward head (Appendix D)
    448101
    """
    dims = [check_count("in_dim", in_dim)]
    dims += [check_count(f"hidden_dims[{i}]", h) for i, h in enumerate(hidden_dims)]
    layers: list[nn.Module] = [NormedLinear(a, b) for a, b in zip(dims[:-1], dims[1:])]
    last = nn.Linear(dims[-1], check_count("out_dim", out_dim))
    if zero_init_last:
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
    return nn.Sequential(*layers, last)


class ConvEncoder(nn.Module):
    """A small CNN: ``depth`` stride-2 ``3x3`` convolutions with ReLU, then a linear map.

    .. math::  E(o) = W\\,\\operatorname{flatten}(\\operatorname{conv}^{\\circ d}(o/255 - 1/2)) + b

    Parameters
    ----------
    image_size : int
        Height and width of the input images.
    latent_dim : int
        Width of the latent ``z``.
    channels : int
        Channels of every convolution.
    depth : int
        Number of stride-2 convolutions; the feature map is ``ceil(size / 2^depth)`` wide.
    in_channels : int
        Channels of the input images (3 for RGB).

    Raises
    ------
    ParameterError
        If a size is not a positive integer.
    ShapeError
        In :meth:`forward`, if the images are not ``(B, in_channels, image_size, image_size)``.
    """

    def __init__(self, image_size: int, latent_dim: int, *, channels: int = 32, depth: int = 3, in_channels: int = 3):
        super().__init__()
        self.image_size = check_count("image_size", image_size)
        self.in_channels = check_count("in_channels", in_channels)
        layers: list[nn.Module] = [PixelPreprocess()]
        width = in_channels
        for _ in range(check_count("depth", depth)):
            layers += [nn.Conv2d(width, check_count("channels", channels), 3, stride=2, padding=1), nn.ReLU()]
            width = channels
        side = image_size
        for _ in range(depth):
            side = math.ceil(side / 2)
        layers += [nn.Flatten(), nn.Linear(channels * side * side, check_count("latent_dim", latent_dim))]
        self.net = nn.Sequential(*layers)
        self.latent_dim = latent_dim

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Encode uint8 images ``(B, C, H, W)`` to latents ``(B, latent_dim)``."""
        _check_images(obs, self.in_channels, self.image_size)
        return self.net(obs)


class BasicBlock(nn.Module):
    """A residual block without normalisation: ``relu(conv2(relu(conv1(x))) + skip(x))``.

    ``conv1`` is ``3x3`` with the given stride, ``conv2`` is ``3x3``; ``skip`` is the identity,
    or a ``1x1`` strided convolution when the stride or the width changes. No biases.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output feature maps.
    stride : int, default 1
        Stride of ``conv1`` and of the ``1x1`` skip convolution (2 halves the feature map).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.relu = nn.ReLU()
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.skip = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv2(self.relu(self.conv1(x))) + self.skip(x))


class ResNetEncoder(nn.Module):
    """The ResNet-style encoder of Yu et al. (2025), Appendix D.

    Stem ``Conv 7x7/2 (bias-free) -> ReLU -> MaxPool 3/2``, then four stages of
    ``blocks_per_stage`` :class:`BasicBlock` with ``channels * (1, 2, 4, 8)`` channels (the
    first block of stages 2-4 has stride 2), global average pooling and ``Linear -> latent``.
    With ``channels = 32``, ``blocks_per_stage = 8``, ``latent_dim = 256`` this is the paper's
    69-layer, 12,260,192-parameter encoder.

    Parameters
    ----------
    image_size : int
        Height and width of the input images (the paper uses 64).
    latent_dim : int
        Width of the latent ``z``.
    channels : int
        Width of the stem and of the first stage.
    blocks_per_stage : int
        Basic blocks per stage.
    in_channels : int
        Channels of the input images.

    Raises
    ------
    ParameterError, ShapeError
        As in :class:`ltijepa.jepa.layers.ConvEncoder`.
    """

    def __init__(
        self,
        image_size: int,
        latent_dim: int,
        *,
        channels: int = 32,
        blocks_per_stage: int = 8,
        in_channels: int = 3,
    ):
        super().__init__()
        self.image_size = check_count("image_size", image_size)
        self.in_channels = check_count("in_channels", in_channels)
        check_count("channels", channels)
        check_count("blocks_per_stage", blocks_per_stage)
        self.pre = PixelPreprocess()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 7, stride=2, padding=3, bias=False),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        stages, width = [], channels
        for i in range(4):
            out = channels * 2**i
            blocks = [BasicBlock(width, out, stride=1 if i == 0 else 2)]
            blocks += [BasicBlock(out, out) for _ in range(blocks_per_stage - 1)]
            stages.append(nn.Sequential(*blocks))
            width = out
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.proj = nn.Linear(width, check_count("latent_dim", latent_dim))
        self.latent_dim = latent_dim

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Encode uint8 images ``(B, C, H, W)`` to latents ``(B, latent_dim)``."""
        _check_images(obs, self.in_channels, self.image_size)
        features = self.stages(self.stem(self.pre(obs)))
        return self.proj(self.pool(features).flatten(1))


class ConvDecoder(nn.Module):
    """Latent to image: ``Linear`` to a ``channels x s x s`` map, then stride-2 transposed
    convolutions (ReLU between) up to ``image_size``, outputs in ``[-1, 1]`` via ``tanh``.

    Parameters
    ----------
    latent_dim : int
        Width of the latent.
    image_size : int
        Output height and width; must be ``s * 2^depth`` for an integer ``s >= 2``.
    channels : int
        Channels of the hidden feature maps.
    depth : int
        Number of transposed convolutions.
    out_channels : int
        Channels of the output image.

    Raises
    ------
    ParameterError
        If a size is not a positive integer, or ``image_size`` is not ``s * 2^depth`` with
        ``s >= 2``.
    """

    def __init__(self, latent_dim: int, image_size: int, *, channels: int = 32, depth: int = 3, out_channels: int = 3):
        super().__init__()
        check_count("latent_dim", latent_dim)
        check_count("channels", channels)
        check_count("out_channels", out_channels)
        side, rest = divmod(check_count("image_size", image_size), 2 ** check_count("depth", depth))
        if rest or side < 2:
            raise ParameterError(
                f"image_size == {image_size}, must be a multiple of 2^depth = {2**depth} "
                "(and at least twice that)", name="image_size", value=image_size,
            )
        self.channels, self.side = channels, side
        self.fc = nn.Linear(latent_dim, channels * side * side)
        layers: list[nn.Module] = []
        for i in range(depth):
            last = i == depth - 1
            layers.append(nn.ConvTranspose2d(channels, out_channels if last else channels, 4, stride=2, padding=1))
            layers.append(nn.Tanh() if last else nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Decode latents ``(B, latent_dim)`` to images ``(B, out_channels, size, size)`` in [-1, 1]."""
        h = torch.relu(self.fc(z)).view(-1, self.channels, self.side, self.side)
        return self.net(h)
