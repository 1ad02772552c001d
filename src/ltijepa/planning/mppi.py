"""Model predictive path integral control (MPPI) with TD-MPC2's elite weighting.

The lecture's update (NYU lecture, slide "Sample Diverse Trajectories From Learned Prior";
Williams et al. 2017) replaces CEM's plain elite mean by an exponentially weighted one:

.. math::

    w_i = \\frac{\\exp(-(c_i - c_{\\min}) / \\lambda)}{\\sum_{j \\in \\mathcal E}
          \\exp(-(c_j - c_{\\min}) / \\lambda)}, \\qquad
    \\mu \\leftarrow \\sum_{i \\in \\mathcal E} w_i a^{(i)}, \\qquad
    \\sigma \\leftarrow \\Big(\\sum_{i \\in \\mathcal E} w_i (a^{(i)} - \\mu)^2\\Big)^{1/2}
    \\text{ clamped to } [\\sigma_{\\min}, \\sigma_{\\max}],

with costs ``c = -J`` (the lecture maximises a return J). As in TD-MPC2's ``_plan``
(Hansen et al. 2024) the weights run over the ``k`` lowest-cost samples only, the first std is
``sigma_max`` and the std is clamped to ``[0.05, 2]``; TD-MPC2 writes the weight as
``exp(temperature * (v - v_max))`` with ``temperature = 0.5``, i.e. ``lambda = 2`` here.

Deviations from TD-MPC2: no policy-prior trajectories (there is no learned policy here; the
current mean takes their place as sample 0, as in CEM), and the plan returned is the weighted
mean rather than one elite drawn by its weight (a deterministic plan for a given seed).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ltijepa.checks import check_positive
from ltijepa.errors import ParameterError
from ltijepa.planning.base import CostFn, Plan, check_budget, clamp_actions, elite_iterations

__all__ = ["MPPIConfig", "mppi", "mppi_weights"]


@dataclass(frozen=True)
class MPPIConfig:
    """Settings of :func:`mppi` (defaults: TD-MPC2's planner)."""

    samples: int = 512
    """candidate sequences per problem and iteration, N (TD-MPC2: 512 including 24 from
    the policy prior)"""
    elites: int = 64
    """the k lowest-cost candidates that are weighted (TD-MPC2 ``num_elites``: 64)"""
    iterations: int = 6
    """refits per call (TD-MPC2: 6)"""
    temperature: float = 2.0
    """lambda of the weights exp(-(c - c_min) / lambda) (TD-MPC2's 0.5 is 1 / lambda)"""
    min_std: float = 0.05
    """lower clamp of the std (TD-MPC2: 0.05)"""
    max_std: float = 2.0
    """upper clamp of the std and the first iteration's std (TD-MPC2: 2)"""

    def __post_init__(self):
        check_budget(self.samples, self.elites, self.iterations, min_elites=1)
        check_positive("temperature", self.temperature)
        check_positive("min_std", self.min_std, allow_zero=True)
        check_positive("max_std", self.max_std)
        if self.min_std > self.max_std:
            raise ParameterError(
                f"min_std == {self.min_std} and max_std == {self.max_std}, must satisfy min_std <= max_std",
                name="min_std", value=self.min_std,
            )


def mppi_weights(elite_cost: torch.Tensor, temperature: float) -> torch.Tensor:
    """The normalised weights ``exp(-(c - c_min) / lambda)`` of sorted or unsorted elite costs.

    Parameters
    ----------
    elite_cost : torch.Tensor, shape (B, k)
    temperature : float
        lambda > 0.

    Returns
    -------
    torch.Tensor, shape (B, k)
        Non-negative, summing to 1 over ``k``; the largest weight is on the lowest cost.

    Raises
    ------
    ParameterError
        If ``temperature`` underflows to 0 in the costs' dtype (``0 / 0`` would make the
        weights NaN, and the next costs with them).
    """
    if torch.tensor(temperature, dtype=elite_cost.dtype) == 0:
        raise ParameterError(
            f"temperature == {temperature!r} underflows to 0 in {elite_cost.dtype}; use a larger "
            "temperature or float64 costs", name="temperature", value=temperature,
        )
    shifted = elite_cost - elite_cost.min(dim=1, keepdim=True).values
    return torch.softmax(-shifted / temperature, dim=1)


def mppi(
    cost_fn: CostFn,
    init_mean: torch.Tensor,
    *,
    config: MPPIConfig = MPPIConfig(),
    low: float | None = None,
    high: float | None = None,
    generator: torch.Generator,
) -> Plan:
    """Minimise ``cost_fn`` over action sequences by MPPI with elites, batched.

    The weighted refit of the chapter's eq. ``eq-mppi``:

    .. math::  w_i \\propto \\exp(-(c_i - c_{\\min}) / \\lambda), \\qquad
               \\mu \\leftarrow \\sum_{i \\in \\mathcal E} w_i a^{(i)}

    Parameters
    ----------
    cost_fn : callable
        Actions ``(B, N, H, m)`` to costs ``(B, N)``.
    init_mean : torch.Tensor, shape (B, H, m)
        Initial mean of each problem (zeros, or a warm start).
    config : MPPIConfig
        Samples, elites, iterations, temperature, std clamp.
    low, high : float, optional
        The action box (``None``: unbounded).
    generator : torch.Generator
        Source of every random draw.

    Returns
    -------
    Plan
        The final weighted mean (clamped), its cost, the final std and the per-iteration best
        sampled costs.

    Raises
    ------
    ShapeError, DataError, ParameterError
        As in :func:`ltijepa.planning.cem.cem`; also a ParameterError if the temperature
        underflows (:func:`mppi_weights`).

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> target = torch.tensor([0.3, -0.2])
    >>> plan = mppi(lambda a: ((a - target) ** 2).sum((-1, -2)), torch.zeros(1, 1, 2), generator=g)
    >>> bool(torch.allclose(plan.actions[0, 0], target, atol=0.05))
    True
    """
    def refit(elites: torch.Tensor, elite_cost: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Weighted mean and spread of the elites (TD-MPC2), the std clamped to its range."""
        weight = mppi_weights(elite_cost, config.temperature)[:, :, None, None]
        mean = clamp_actions((weight * elites).sum(dim=1), low, high)
        spread = (weight * (elites - mean[:, None]) ** 2).sum(dim=1).sqrt()
        return mean, spread.clamp(min=config.min_std, max=config.max_std)

    return elite_iterations(
        cost_fn, init_mean, init_std=config.max_std, samples=config.samples, elites=config.elites,
        iterations=config.iterations, refit=refit, low=low, high=high, generator=generator,
    )
