"""The cross-entropy method (CEM) over action sequences, as DINO-WM plans.

One loop (Rubinstein and Kroese 2004; DINO-WM's ``planning/cem.py``, Zhou et al. 2025):

.. math::

    a^{(i)} \\sim \\mathcal N(\\mu, \\operatorname{diag}\\sigma^2), \\quad i = 1..N
    \\;\\to\\; c_i = c(a^{(i)})
    \\;\\to\\; \\mathcal E = \\text{the } k \\text{ lowest } c_i
    \\;\\to\\; \\mu \\leftarrow \\operatorname{mean}_{\\mathcal E} a, \\;
              \\sigma \\leftarrow \\operatorname{std}_{\\mathcal E} a
    \\;\\to\\; \\text{clamp},

repeated for a fixed number of iterations; the plan is the final mean. DINO-WM's settings
(``conf/planner/cem.yaml``; the point-maze MPC uses 10 iterations): 300 samples, 30 elites,
``var_scale`` 1 (``sigma_0 = 1``), ``mu_0 = 0``; sample 0 of every iteration is the mean; the
elites are refit with a plain (unweighted) mean and standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ltijepa.checks import check_positive
from ltijepa.planning.base import CostFn, Plan, check_budget, clamp_actions, elite_iterations

__all__ = ["CEMConfig", "cem"]


@dataclass(frozen=True)
class CEMConfig:
    """Settings of :func:`cem` (defaults: DINO-WM's point-maze MPC planner)."""

    samples: int = 300
    """candidate sequences per problem and iteration, N (DINO-WM: 300)"""
    elites: int = 30
    """the k lowest-cost candidates that refit the Gaussian (DINO-WM ``topk``: 30)"""
    iterations: int = 10
    """refits per call (DINO-WM: ``opt_steps`` 30, 10 in the point-maze MPC)"""
    init_std: float = 1.0
    """standard deviation of the first iteration, sigma_0 (DINO-WM ``var_scale``: 1)"""
    min_std: float = 0.0
    """floor of the refit standard deviation (0: none, as DINO-WM)"""

    def __post_init__(self):
        check_budget(
            self.samples, self.elites, self.iterations, min_elites=2,
            why=" (two elites at least, to refit a standard deviation)",
        )
        check_positive("init_std", self.init_std)
        check_positive("min_std", self.min_std, allow_zero=True)


def cem(
    cost_fn: CostFn,
    init_mean: torch.Tensor,
    *,
    config: CEMConfig = CEMConfig(),
    low: float | None = None,
    high: float | None = None,
    generator: torch.Generator,
) -> Plan:
    """Minimise ``cost_fn`` over action sequences by the cross-entropy method, batched.

    .. math::  \\mu \\leftarrow \\frac1k \\sum_{i \\in \\mathcal E} a^{(i)}, \\quad
               \\sigma \\leftarrow \\Big(\\frac{1}{k-1} \\sum_{i \\in \\mathcal E}
               (a^{(i)} - \\mu)^2\\Big)^{1/2}

    Parameters
    ----------
    cost_fn : callable
        Actions ``(B, N, H, m)`` to costs ``(B, N)`` (see :mod:`ltijepa.planning.base`).
    init_mean : torch.Tensor, shape (B, H, m)
        Initial mean ``mu_0`` of each problem (zeros, or a warm start); its dtype and device
        are those of the whole computation.
    config : CEMConfig
        Samples, elites, iterations, standard deviations.
    low, high : float, optional
        The action box; samples and the mean are clamped to it (``None``: unbounded).
    generator : torch.Generator
        Source of every random draw (see :func:`ltijepa.planning.base.torch_generator`).

    Returns
    -------
    Plan
        The final mean (clamped), its cost, the final std and the per-iteration best costs.

    Raises
    ------
    ShapeError
        If ``init_mean`` is not ``(B, H, m)`` or the costs are not ``(B, N)``.
    DataError
        If ``init_mean`` or the costs are not finite.
    ParameterError
        If ``low > high``.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> target = torch.tensor([0.3, -0.2])
    >>> plan = cem(lambda a: ((a - target) ** 2).sum((-1, -2)), torch.zeros(1, 1, 2), generator=g)
    >>> bool(torch.allclose(plan.actions[0, 0], target, atol=1e-2))
    True
    """
    def refit(elites: torch.Tensor, elite_cost: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Plain mean and standard deviation of the elites (DINO-WM: no weights)."""
        return clamp_actions(elites.mean(dim=1), low, high), elites.std(dim=1).clamp(min=config.min_std)

    return elite_iterations(
        cost_fn, init_mean, init_std=config.init_std, samples=config.samples, elites=config.elites,
        iterations=config.iterations, refit=refit, low=low, high=high, generator=generator,
    )

