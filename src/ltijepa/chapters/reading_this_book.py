"""The driver of ``notebooks/reading_this_book.ipynb`` ("Reading this book").

The chapter shows the book's conventions on the smallest example: the scalar LQR cost of
``lem-scalar-cost`` (:func:`scalar_cost`) checked against simulated rollouts
(:func:`rollout_costs`), with the number of rollouts resolved from the profile by
:class:`Config`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ltijepa.profiles import by_profile

__all__ = ["Config", "scalar_cost", "rollout_costs"]


@dataclass(frozen=True)
class Config:
    """Sizes of the chapter's check."""

    n_rollouts: int
    """Rollouts whose mean cost is compared with the formula of ``lem-scalar-cost``."""
    steps: int = 200
    """Steps summed per rollout (|a - b k|^(2 steps) is far below the noise in the chapter)."""

    @classmethod
    def for_profile(cls, profile: str) -> Config:
        """``ci``: 20,000 rollouts; ``full``: 1,000,000.

        >>> Config.for_profile("ci").n_rollouts
        20000

        Raises
        ------
        ParameterError
            If the profile is unknown.
        """
        return cls(n_rollouts=by_profile(profile, ci=20_000, full=1_000_000))


def scalar_cost(a, b, q, r, sigma0, k):
    """The scalar LQR cost of ``lem-scalar-cost`` (eq-scalar-cost), u = -k x, |a - b k| < 1.

    .. math::

        C(k) = \\frac{(q + r k^2)\\, \\sigma_0}{1 - (a - b k)^2}

    for x_{t+1} = a x_t + b u_t, weights q, r > 0 and E x_0^2 = sigma0; ``k`` may be an array
    of gains (inside the stabilizing interval: outside it the formula is not the cost).
    """
    return (q + r * k**2) * sigma0 / (1 - (a - b * k) ** 2)


def rollout_costs(a, b, q, r, sigma0, k, *, rollouts: int, steps: int, rng) -> np.ndarray:
    """Costs sum_{t < steps} (q + r k^2) x_t^2 of ``rollouts`` rollouts, x_0 ~ N(0, sigma0).

    The closed loop x_{t+1} = (a - b k) x_t is summed in closed form per rollout, so each cost
    is (q + r k^2) x_0^2 sum_t (a - b k)^(2 t); their mean estimates :func:`scalar_cost`
    (the check of ``lem-scalar-cost``). ``rng`` is a :class:`numpy.random.Generator`;
    returns shape (rollouts,).
    """
    closed_loop = a - b * k
    x0 = rng.normal(0.0, np.sqrt(sigma0), size=rollouts)
    return (q + r * k**2) * x0**2 * np.sum(closed_loop ** (2 * np.arange(steps)))
