"""The loss terms of P-JEPA (Yu et al. 2025, §2.1 and Appendix D), each a named function.

.. math::

    \\mathcal L(\\theta, \\phi, \\psi) = c_{\\text{dyn}}\\,\\mathcal L_{\\text{dyn}}
        + c_p\\,\\mathcal L_p, \\qquad
    \\mathcal L_{\\text{dyn}} = \\mathbb E\\,\\|T_\\psi(E_\\phi(o_t), a_t) - E_\\phi(o_{t+1})\\|^2 ,

with no stop-gradient on the target ``E(o_{t+1})`` (the paper's P-JEPA; TD-MPC2 would detach
it). The auxiliary loss ``L_p`` is a soft cross-entropy against a two-hot encoding of the
symlog of a scalar target (the reward, as in TD-MPC2) or a mean squared error (a vector
target such as a random projection of the pixels).

Conventions: :func:`consistency_loss` and :func:`mse_loss` average over batch *and* latent
coordinates (``F.mse_loss``, as the authors' code); the paper's squared norm is ``latent_dim``
times that. Which terms reach the encoder is decided by the caller, by detaching ``z``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ltijepa.checks import check_count
from ltijepa.errors import ParameterError, ShapeError

__all__ = [
    "TwoHot",
    "symlog",
    "symexp",
    "consistency_loss",
    "mse_loss",
    "soft_cross_entropy",
    "reconstruction_loss",
]


def symlog(x: torch.Tensor) -> torch.Tensor:
    """``sign(x) log(1 + |x|)``, the squashing of TD-MPC2 / DreamerV3 targets."""
    return torch.sign(x) * torch.log1p(torch.abs(x))


def symexp(x: torch.Tensor) -> torch.Tensor:
    """``sign(x) (exp(|x|) - 1)``, the inverse of :func:`symlog`."""
    return torch.sign(x) * torch.expm1(torch.abs(x))


class TwoHot:
    """A uniform support of ``num_bins`` points on ``[vmin, vmax]`` in symlog space.

    :meth:`encode` maps a scalar ``x`` to the distribution that puts mass ``1 - w`` and ``w``
    on the two support points around ``s = clip(symlog(x), vmin, vmax)``, so that its mean is
    ``s``; :meth:`decode` maps logits back to ``symexp`` of the mean of ``softmax(logits)``.
    TD-MPC2 (and the paper) use 101 bins on ``[-10, 10]``.

    Parameters
    ----------
    num_bins : int
        Number of support points (>= 2).
    vmin, vmax : float
        Ends of the support in symlog space, ``vmin < vmax``.

    Raises
    ------
    ParameterError
        If ``num_bins`` is not an integer >= 2, or ``vmin >= vmax``.

    Examples
    --------
    >>> th = TwoHot(5, -2.0, 2.0)
    >>> th.encode(torch.tensor([0.0])).tolist()
    [[0.0, 0.0, 1.0, 0.0, 0.0]]
    """

    def __init__(self, num_bins: int = 101, vmin: float = -10.0, vmax: float = 10.0):
        num_bins = check_count("num_bins", num_bins, minimum=2)
        if not vmin < vmax:
            raise ParameterError(f"vmin == {vmin!r} and vmax == {vmax!r}, must satisfy vmin < vmax",
                                 name="vmin", value=vmin)
        self.num_bins, self.vmin, self.vmax = num_bins, float(vmin), float(vmax)
        self.bin_size = (self.vmax - self.vmin) / (num_bins - 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Two-hot targets ``(B, num_bins)`` of scalars ``x`` of shape ``(B,)`` or ``(B, 1)``.

        Raises
        ------
        ShapeError
            If ``x`` is not a batch of scalars.
        """
        if x.ndim == 2 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 1:
            raise ShapeError(f"expected scalars (B,) or (B, 1), found {tuple(x.shape)}")
        pos = (symlog(x.float()).clamp(self.vmin, self.vmax) - self.vmin) / self.bin_size
        low = pos.floor().clamp(max=self.num_bins - 2)
        weight = (pos - low).unsqueeze(1)
        low = low.long().unsqueeze(1)
        target = torch.zeros(len(x), self.num_bins, device=x.device)
        target.scatter_(1, low, 1.0 - weight)
        target.scatter_add_(1, low + 1, weight)
        return target

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        """The expected value ``(B,)`` of the distribution ``softmax(logits)``, mapped back by
        :func:`symexp`."""
        support = torch.linspace(self.vmin, self.vmax, self.num_bins, device=logits.device)
        return symexp(torch.softmax(logits, dim=-1) @ support)


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor, two_hot: TwoHot) -> torch.Tensor:
    """``-mean_b sum_i twohot(y_b)_i log softmax(logits_b)_i``: TD-MPC2's reward loss.

    Parameters
    ----------
    logits : torch.Tensor, shape (B, num_bins)
        The head's output.
    target : torch.Tensor, shape (B,)
        Scalar targets (e.g. the reward ``1{k_t = n}``).
    two_hot : TwoHot
        The support.

    Returns
    -------
    torch.Tensor
        A scalar; its minimum is the mean entropy of the two-hot targets (0 when every
        target lies on a support point).

    Raises
    ------
    ShapeError
        If ``logits`` is not ``(B, num_bins)`` with ``B`` targets.
    """
    if logits.ndim != 2 or logits.shape != (len(target), two_hot.num_bins):
        raise ShapeError(f"expected logits ({len(target)}, {two_hot.num_bins}), found {tuple(logits.shape)}")
    return -(two_hot.encode(target) * F.log_softmax(logits, dim=-1)).sum(-1).mean()


def _check_same_shape(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape:
        raise ShapeError(f"expected prediction and target of one shape, found {tuple(pred.shape)} and {tuple(target.shape)}")


def consistency_loss(z_pred: torch.Tensor, z_next: torch.Tensor) -> torch.Tensor:
    """The latent transition loss ``L_dyn``: ``mean (T(z_t, a_t) - z_{t+1})^2``.

    Both arguments carry gradients unless the caller detaches them: P-JEPA trains the encoder
    through the prediction *and* the target (no stop-gradient, Fig. 1 of the paper).

    Parameters
    ----------
    z_pred : torch.Tensor, shape (B, latent_dim)
        The predicted next latents ``T(z_t, a_t)``.
    z_next : torch.Tensor, shape (B, latent_dim)
        The target latents ``E(o_{t+1})``, of the same shape as ``z_pred``.

    Returns
    -------
    torch.Tensor
        A scalar, averaged over batch and coordinates.

    Raises
    ------
    ShapeError
        If the shapes differ.
    """
    return mse_loss(z_pred, z_next)


def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``mean (pred - target)^2``: the auxiliary loss for a vector target.

    Raises
    ------
    ShapeError
        If the shapes differ.
    """
    _check_same_shape(pred, target)
    return F.mse_loss(pred, target)


def reconstruction_loss(recon: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
    """``mean (D(z) - (o / 127.5 - 1))^2``: a decoder against uint8 pixels rescaled to [-1, 1].

    Parameters
    ----------
    recon : torch.Tensor of float, shape (B, C, H, W)
        Decoder outputs ``D(z)``, in ``[-1, 1]`` for :class:`ltijepa.jepa.layers.ConvDecoder`.
    obs : torch.Tensor of uint8, shape (B, C, H, W)
        The observations, pixels in ``0..255``.

    Returns
    -------
    torch.Tensor
        A scalar, averaged over every pixel and channel.

    Raises
    ------
    ShapeError
        If the shapes differ.
    """
    target = obs.float() / 127.5 - 1.0
    _check_same_shape(recon, target)
    return F.mse_loss(recon, target)
