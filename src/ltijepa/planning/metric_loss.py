"""The planning bisimulation metric loss: the on-policy bisimulation metric and the loss that
fits a latent world model's distances to it.

Not the largest bisimulation of an MDP (a partition of its states, :mod:`ltijepa.bisim`): here
a *metric* between states. Castro (2020) defines, for a policy pi with reward r_pi and transition kernel P_pi, the
on-policy bisimulation metric as the unique fixed point of

.. math::

    d_\\pi(s, s') = |r_\\pi(s) - r_\\pi(s')| + \\gamma\\, W_1(d_\\pi)\\big(P_\\pi(\\cdot|s), P_\\pi(\\cdot|s')\\big)

(``def-bisim-metric``, eq. ``eq-bisim-metric``; the talk's slide "On-Policy Bisimulation
Metric"). A bisimulation encoder h (DBC, Zhang et al. 2021; Toso et al. 2026) is trained so that
latent distances match it, with the latent model T standing in for P:

.. math::

    \\mathcal L_{\\text{bisim}} = \\mathbb E\\Big[\\big(\\|w_i - w_j\\|
        - \\operatorname{sg}\\big[\\,|r_i - r_j| + \\gamma \\|T(w_i, a) - T(w_j, a)\\|\\,\\big]\\big)^2\\Big]

over pairs (i, j) of a batch (``def-bisim-loss`` in the chapter's form ``eq-bisim-loss``).
``sg`` is a stop-gradient. For a deterministic system and policy, an embedding whose distances
*are* the metric and the exact model give zero loss -- :func:`deterministic_bisimulation_metric`
computes the metric of a small tabular case to check this.

Where this differs from the authors' code (reasons in the chapter):

- the distances are Euclidean norms, as written on the talk's slide (Toso et al.'s code uses a
  summed smooth-L1 for ``||w_i - w_j||`` and a root-mean-square over time for the transition
  term; DBC an L1 norm and a Gaussian W2);
- the transition term uses one action ``a`` for both states of a pair (the synchronous
  coupling: a valid coupling of the two on-policy next-state laws when the data policy does
  not depend on the state, as with random actions; the authors pair each state with its own
  action, an independent coupling whose cost is positive even for s = s');
- the target is detached as in DBC (Toso et al.'s code back-propagates through it).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from ltijepa.errors import DataError, ParameterError, ShapeError

__all__ = ["check_discount", "latent_distance", "bisimulation_loss", "deterministic_bisimulation_metric"]

#: Added under the square root of a norm: the gradient x / sqrt(x^2 + eps) is then defined
#: (0, not NaN) at x = 0; a distance of 0 reads as sqrt(eps) = 1e-6.
NORM_EPS = 1e-12


def check_discount(gamma) -> float:
    """``gamma`` as a float; raise :class:`~ltijepa.errors.ParameterError` unless ``0 <= gamma < 1``.

    The discount of ``eq-bisim-metric``: below 1, the metric's fixed point is a contraction's.

    >>> check_discount(0.99)
    0.99
    """
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or not 0.0 <= gamma < 1.0:
        raise ParameterError(f"gamma == {gamma!r}, must lie in [0, 1)", name="gamma", value=gamma)
    return float(gamma)


def latent_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``sqrt(||x - y||^2 + eps)`` over the last axis (a Euclidean norm with a finite gradient).

    Raises
    ------
    ShapeError
        If the shapes differ.
    """
    if x.shape != y.shape:
        raise ShapeError(f"expected two tensors of one shape, found {tuple(x.shape)} and {tuple(y.shape)}")
    return ((x - y) ** 2).sum(-1).add(NORM_EPS).sqrt()


def bisimulation_loss(
    w: torch.Tensor,
    w_other: torch.Tensor,
    reward_distance: torch.Tensor,
    next_w: torch.Tensor,
    next_w_other: torch.Tensor,
    gamma: float,
) -> torch.Tensor:
    """The bisimulation loss of ``def-bisim-loss`` (the chapter's form ``eq-bisim-loss``) of a batch.

    .. math::  \\frac1B \\sum_b \\big(\\|w_b - w'_b\\| - \\operatorname{sg}[\\Delta r_b
               + \\gamma \\|\\hat w_b - \\hat w'_b\\|]\\big)^2

    Parameters
    ----------
    w, w_other : torch.Tensor, shape (B, d)
        Latents of the two states of each pair.
    reward_distance : torch.Tensor, shape (B,)
        ``|r(s_b) - r(s'_b)|`` (non-negative).
    next_w, next_w_other : torch.Tensor, shape (B, d)
        Predicted next latents ``T(w_b, a_b)``, ``T(w'_b, a_b)``.
    gamma : float
        Discount in [0, 1).

    Returns
    -------
    torch.Tensor
        A scalar; the gradient reaches ``w`` and ``w_other`` only (the target is detached).

    Raises
    ------
    ShapeError
        If the shapes do not match.
    ParameterError
        If ``gamma`` is outside [0, 1).
    """
    check_discount(gamma)
    if reward_distance.shape != w.shape[:1]:
        raise ShapeError(f"reward_distance: expected ({w.shape[0]},), found {tuple(reward_distance.shape)}")
    target = reward_distance + gamma * latent_distance(next_w, next_w_other)
    return ((latent_distance(w, w_other) - target.detach()) ** 2).mean()


def deterministic_bisimulation_metric(
    rewards: np.ndarray, successors: np.ndarray, gamma: float, *, tol: float = 1e-12
) -> np.ndarray:
    """The on-policy bisimulation metric (``def-bisim-metric``) of a deterministic system under a
    deterministic policy.

    With ``s -> succ(s)`` deterministic, ``W_1`` between two point masses is the metric of the
    two successors, so ``eq-bisim-metric`` becomes

    .. math::  d(s, s') = |r(s) - r(s')| + \\gamma\\, d(\\mathrm{succ}(s), \\mathrm{succ}(s')),

    a gamma-contraction, iterated from ``d = 0`` until the change is below ``tol``.

    Parameters
    ----------
    rewards : numpy.ndarray, shape (S,)
        r_pi(s).
    successors : numpy.ndarray of int, shape (S,)
        The next state of each state under the policy.
    gamma : float
        Discount in [0, 1).
    tol : float
        Stopping tolerance on the largest change (the error is below tol * gamma / (1 - gamma)).

    Returns
    -------
    numpy.ndarray, shape (S, S)

    Raises
    ------
    ShapeError
        If the arrays are not (S,) and (S,).
    ParameterError
        If ``gamma`` is outside [0, 1).
    DataError
        If a successor is not a state index.

    Examples
    --------
    >>> d = deterministic_bisimulation_metric(np.array([0.0, 1.0]), np.array([0, 1]), 0.5)
    >>> round(float(d[0, 1]), 9)  # |0 - 1| / (1 - 0.5)
    2.0
    """
    rewards = np.asarray(rewards, dtype=float)
    successors = np.asarray(successors)
    if rewards.ndim != 1 or successors.shape != rewards.shape:
        raise ShapeError(f"expected rewards (S,) and successors (S,), found {rewards.shape} and {successors.shape}")
    check_discount(gamma)
    if not np.issubdtype(successors.dtype, np.integer) or successors.min() < 0 or successors.max() >= len(rewards):
        raise DataError(
            f"successors == {successors.tolist()}, must be state indices in [0, {len(rewards)})", name="successors"
        )
    base = np.abs(rewards[:, None] - rewards[None, :])
    d = np.zeros_like(base)
    while True:
        new = base + gamma * d[np.ix_(successors, successors)]
        if np.max(np.abs(new - d)) <= tol:
            return new
        d = new
