"""Latent MPC by gradient descent: optimise the action sequence through the world model.

The lecture's alternative to sampling (Ren 2026, slide "Latent MPC Using Gradient Descent"):
the world model is differentiable, so the planning cost ``c(a) = ||z_hat_H(a) - z_g||^2`` has
a gradient in the actions, and

.. math::  a^{(j+1)} = \\Pi_{[\\ell, u]}\\big(a^{(j)} - \\eta\\, \\nabla_a c(a^{(j)})\\big)

(projected gradient descent on the box; eq. ``eq-gd-planning`` of the chapter, definition
``def-gd-planning``). A batch of
``restarts`` sequences per problem is optimised at once: restart 0 from the warm start, the
others from it plus Gaussian noise; the plan is the restart of lowest final cost. The
interface is that of :func:`~ltijepa.planning.cem.cem` (a :class:`~ltijepa.planning.base.Plan`
from a cost function and an initial mean), so the MPC loop takes either; the cost must keep
the autograd graph (e.g. ``terminal_cost(..., differentiable=True)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ltijepa.checks import check_count, check_generator, check_positive
from ltijepa.errors import DataError
from ltijepa.planning.base import CostFn, Plan, check_box, check_mean, clamp_actions, evaluate_cost

__all__ = ["GradientConfig", "gradient_plan"]


@dataclass(frozen=True)
class GradientConfig:
    """Settings of :func:`gradient_plan`."""

    iterations: int = 50
    """projected gradient steps per call"""
    lr: float = 0.1
    """step size eta (of Adam when ``adam``, else of plain gradient descent)"""
    restarts: int = 8
    """sequences optimised in parallel per problem (restart 0: the warm start itself)"""
    init_std: float = 0.5
    """standard deviation of the restarts' perturbation of the warm start"""
    adam: bool = True
    """Adam's normalised steps (the costs' scale differs between models); False: plain GD"""

    def __post_init__(self):
        check_count("iterations", self.iterations)
        check_count("restarts", self.restarts)
        check_positive("lr", self.lr)
        check_positive("init_std", self.init_std, allow_zero=True)


def gradient_plan(
    cost_fn: CostFn,
    init_mean: torch.Tensor,
    *,
    config: GradientConfig = GradientConfig(),
    low: float | None = None,
    high: float | None = None,
    generator: torch.Generator,
) -> Plan:
    """Minimise a differentiable ``cost_fn`` over action sequences by projected gradient descent.

    Parameters
    ----------
    cost_fn : callable
        Actions ``(B, N, H, m)`` to costs ``(B, N)``, differentiable in the actions.
    init_mean : torch.Tensor, shape (B, H, m)
        The warm start of each problem.
    config : GradientConfig
    low, high : float, optional
        The action box (projection after every step).
    generator : torch.Generator
        Source of the restarts' noise.

    Returns
    -------
    Plan
        ``actions`` the best restart, ``cost`` its cost, ``std`` the spread of the final
        restarts, ``elite_costs`` ``(iterations, B)`` the lowest cost over restarts per step.

    Raises
    ------
    ShapeError, DataError
        As :func:`~ltijepa.planning.cem.cem`; DataError also if the cost has no gradient.
    ParameterError
        If ``low > high`` or ``generator`` is not a ``torch.Generator``.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> target = torch.tensor([0.3, -0.2])
    >>> plan = gradient_plan(lambda a: ((a - target) ** 2).sum((-1, -2)), torch.zeros(1, 1, 2), generator=g)
    >>> bool(torch.allclose(plan.actions[0, 0], target, atol=1e-2))
    True
    """
    mean = check_mean(init_mean)
    check_box(low, high)
    check_generator(generator)
    noise = torch.randn((mean.shape[0], config.restarts, *mean.shape[1:]), generator=generator,
                        dtype=mean.dtype, device=mean.device)
    noise[:, 0] = 0.0
    actions = clamp_actions(mean.detach()[:, None] + config.init_std * noise, low, high).requires_grad_(True)
    optimizer = torch.optim.Adam([actions], lr=config.lr) if config.adam else torch.optim.SGD([actions], lr=config.lr)
    best = []
    with torch.enable_grad():
        for _ in range(config.iterations):
            cost = evaluate_cost(cost_fn, actions)
            if not cost.requires_grad:
                raise DataError("cost_fn has no gradient in the actions (use a differentiable cost)", name="cost_fn")
            optimizer.zero_grad(set_to_none=True)
            cost.sum().backward()
            optimizer.step()
            with torch.no_grad():
                actions.copy_(clamp_actions(actions, low, high))
            best.append(cost.detach().min(dim=1).values)
    with torch.no_grad():
        final = evaluate_cost(cost_fn, actions)
        index = final.argmin(dim=1)
        chosen = actions[torch.arange(len(index)), index].detach()
        return Plan(actions=chosen, cost=final[torch.arange(len(index)), index], std=actions.std(dim=1) if
                    config.restarts > 1 else torch.zeros_like(chosen), elite_costs=torch.stack(best))
