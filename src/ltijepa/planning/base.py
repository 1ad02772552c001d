"""What every sampling planner shares: the cost interface, the plan it returns, Gaussian sampling
with box clamping, and the torch random generator.

A *cost function* scores a batch of action sequences for a batch of planning problems at once:

.. math::

    c : \\mathbb R^{B \\times N \\times H \\times m} \\to \\mathbb R^{B \\times N},
    \\qquad c(a)_{b,i} = \\text{cost of the sequence } a_{b,i,0:H} \\text{ in problem } b,

with ``B`` problems (start states, goals), ``N`` candidate sequences per problem, horizon
``H`` and action dimension ``m``. Any model fits, differentiable or not: an LTI system with a
quadratic cost (:mod:`ltijepa.planning.lq`) or a learned latent world model with the terminal
cost of DINO-WM (:mod:`ltijepa.planning.world_models`). The planners
(:func:`ltijepa.planning.cem.cem`, :func:`ltijepa.planning.mppi.mppi`) minimise it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ltijepa.checks import check_count, check_generator
from ltijepa.errors import DataError, ParameterError, ShapeError

__all__ = [
    "CostFn",
    "Plan",
    "torch_generator",
    "check_box",
    "check_budget",
    "check_mean",
    "clamp_actions",
    "sample_sequences",
    "evaluate_cost",
    "gather_sequences",
    "elite_iterations",
]

#: A batched cost: actions ``(B, N, H, m)`` -> costs ``(B, N)`` (lower is better).
CostFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Plan:
    """The result of one call of a sampling planner.

    Attributes
    ----------
    actions : torch.Tensor, shape (B, H, m)
        The planned action sequence of each problem: the final mean of the sampling
        distribution, clamped to the action box.
    cost : torch.Tensor, shape (B,)
        The cost of ``actions`` (one more evaluation of the cost function).
    std : torch.Tensor, shape (B, H, m)
        The final standard deviation of the sampling distribution.
    elite_costs : torch.Tensor, shape (iterations, B)
        The lowest sampled cost of each iteration (a planner's convergence trace).
    """

    actions: torch.Tensor
    cost: torch.Tensor
    std: torch.Tensor
    elite_costs: torch.Tensor


def torch_generator(seed: int | torch.Generator, device: str | torch.device = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device``: ``seed`` itself if it is one, else a new one seeded.

    Parameters
    ----------
    seed : int or torch.Generator
        A non-negative integer seed (e.g. ``int(rng.integers(2**63))`` from the notebook's numpy
        generator), or a generator to pass through.
    device : str or torch.device
        Device of a new generator.

    Raises
    ------
    ParameterError
        If ``seed`` is neither a generator nor a non-negative integer.
    """
    if isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"seed == {seed!r}, must be a non-negative int or a torch.Generator", name="seed", value=seed)
    return torch.Generator(device=device).manual_seed(seed)


def check_mean(mean: torch.Tensor) -> torch.Tensor:
    """Check an initial mean ``(B, H, m)``: a finite floating-point tensor with no empty axis.

    Raises
    ------
    ShapeError
        If ``mean`` is not 3-D, or a size is 0 (no problem, a horizon ``H == 0``, no action).
    DataError
        If it is not floating point or has non-finite entries.
    """
    if not isinstance(mean, torch.Tensor) or mean.ndim != 3:
        shape = tuple(mean.shape) if hasattr(mean, "shape") else type(mean).__name__
        raise ShapeError(f"init_mean: expected a tensor (B, H, m), found {shape}")
    for axis, size in zip(("B (problems)", "H (the horizon)", "m (action size)"), mean.shape):
        if size == 0:
            raise ShapeError(f"init_mean: {axis} == 0, must be >= 1; found shape {tuple(mean.shape)}",
                             name="init_mean", expected=(None, None, None), found=tuple(mean.shape))
    if not mean.is_floating_point():
        raise DataError(f"init_mean has dtype {mean.dtype}, must be floating point", name="init_mean")
    if not torch.isfinite(mean).all():
        raise DataError("init_mean has non-finite entries", name="init_mean")
    return mean


def check_box(low: float | None, high: float | None) -> None:
    """Raise :class:`ParameterError` unless each bound is ``None`` or a non-NaN number, low <= high."""
    for name, bound in (("low", low), ("high", high)):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float)) or bound != bound):
            raise ParameterError(f"{name} == {bound!r}, must be a number (not NaN) or None", name=name, value=bound)
    if low is not None and high is not None and low > high:
        raise ParameterError(f"low == {low!r} and high == {high!r}, must satisfy low <= high", name="low", value=low)


def check_budget(samples: int, elites: int, iterations: int, *, min_elites: int, why: str = "") -> None:
    """Raise :class:`ParameterError` unless samples, elites, iterations are counts >= 1 and
    ``min_elites <= elites <= samples``; ``why`` explains ``min_elites`` in the message."""
    check_count("samples", samples)
    check_count("elites", elites)
    check_count("iterations", iterations)
    if not min_elites <= elites <= samples:
        raise ParameterError(
            f"elites == {elites}, must lie in [{min_elites}, samples == {samples}]{why}", name="elites", value=elites
        )


def clamp_actions(actions: torch.Tensor, low: float | None, high: float | None) -> torch.Tensor:
    """Clamp to the box ``[low, high]`` per coordinate (``None``: unbounded on that side).

    Parameters
    ----------
    actions : torch.Tensor
        Actions of any shape, e.g. candidates ``(B, N, H, m)`` or a plan ``(B, H, m)``.
    low, high : float or None
        The bounds, the same for every coordinate.

    Returns
    -------
    torch.Tensor
        Of the shape of ``actions``; ``actions`` itself when both bounds are ``None``.
    """
    if low is None and high is None:
        return actions
    return actions.clamp(min=low, max=high)


def sample_sequences(
    mean: torch.Tensor,
    std: torch.Tensor,
    samples: int,
    *,
    low: float | None,
    high: float | None,
    generator: torch.Generator,
) -> torch.Tensor:
    """Draw ``samples`` sequences per problem from ``N(mean, diag(std^2))``, clamped to the box.

    Sample 0 of every problem is the (clamped) mean itself, as in DINO-WM's CEM, so the
    current plan is always among the candidates.

    Parameters
    ----------
    mean, std : torch.Tensor, shape (B, H, m)
        Mean and per-coordinate standard deviation.
    samples : int
        Sequences per problem, ``N``.
    low, high : float or None
        The action box.
    generator : torch.Generator
        Source of the Gaussian noise.

    Returns
    -------
    torch.Tensor, shape (B, N, H, m)
    """
    noise = torch.randn(
        (mean.shape[0], samples, *mean.shape[1:]),
        generator=generator, dtype=mean.dtype, device=mean.device,
    )
    noise[:, 0] = 0.0
    return clamp_actions(mean[:, None] + std[:, None] * noise, low, high)


def evaluate_cost(cost_fn: CostFn, actions: torch.Tensor) -> torch.Tensor:
    """``cost_fn(actions)`` checked to be a finite ``(B, N)`` tensor.

    Raises
    ------
    ShapeError
        If the costs do not have shape ``(B, N)``.
    DataError
        If a cost is NaN or infinite (a planner would otherwise pick elites at random).
    """
    cost = cost_fn(actions)
    expected = tuple(actions.shape[:2])
    if not isinstance(cost, torch.Tensor) or tuple(cost.shape) != expected:
        found = tuple(cost.shape) if hasattr(cost, "shape") else type(cost).__name__
        raise ShapeError(f"cost_fn: expected costs {expected}, found {found}")
    if not torch.isfinite(cost).all():
        bad = int((~torch.isfinite(cost)).sum())
        raise DataError(f"cost_fn returned {bad} non-finite costs of {cost.numel()}", name="cost_fn")
    return cost


def gather_sequences(actions: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """The candidates ``actions[b, index[b, j]]`` of every problem ``b``.

    Parameters
    ----------
    actions : torch.Tensor, shape (B, N, H, m)
    index : torch.Tensor of int, shape (B, k)

    Returns
    -------
    torch.Tensor, shape (B, k, H, m)
    """
    expanded = index[:, :, None, None].expand(-1, -1, *actions.shape[2:])
    return torch.gather(actions, 1, expanded)


def elite_iterations(
    cost_fn: CostFn,
    init_mean: torch.Tensor,
    *,
    init_std: float,
    samples: int,
    elites: int,
    iterations: int,
    refit: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    low: float | None,
    high: float | None,
    generator: torch.Generator,
) -> Plan:
    """The loop shared by CEM and MPPI: sample, score, pick the elites, refit, clamp.

    Each iteration draws ``samples`` sequences per problem from N(mean, diag(std^2)) clamped
    to ``[low, high]``, scores them with ``cost_fn``, keeps the ``elites`` cheapest and sets
    ``mean, std = refit(elite_actions, elite_costs)``; the planner's rule is ``refit``.

    Parameters
    ----------
    cost_fn : CostFn
        Maps actions ``(B, N, H, m)`` to costs ``(B, N)``.
    init_mean : torch.Tensor, shape (B, H, m)
        Mean of the first iteration (e.g. a warm start).
    init_std : float
        Standard deviation of the first iteration.
    samples, elites, iterations : int
        Candidates per iteration, how many of them refit, and the number of iterations.
    refit : callable
        ``refit(elite_actions (B, k, H, m), elite_costs (B, k)) -> (mean, std)``, each
        ``(B, H, m)``; the mean is already clamped to the box.
    low, high : float or None
        The box of the actions (``None``: unbounded on that side).
    generator : torch.Generator
        Source of every draw.

    Returns
    -------
    Plan
        The final mean, its cost, the final std and the best sampled cost of every iteration.

    Raises
    ------
    ShapeError
        If ``init_mean`` is not ``(B, H, m)`` with every size >= 1, or the costs are not ``(B, N)``.
    DataError
        If ``init_mean`` or the costs are not finite.
    ParameterError
        If a bound is NaN, ``low > high``, or ``generator`` is not a ``torch.Generator``.
    """
    mean = check_mean(init_mean)
    check_box(low, high)
    check_generator(generator)
    mean = clamp_actions(mean, low, high)
    std = torch.full_like(mean, init_std)
    best = []
    for _ in range(iterations):
        actions = sample_sequences(mean, std, samples, low=low, high=high, generator=generator)
        elite_cost, index = torch.topk(evaluate_cost(cost_fn, actions), elites, dim=1, largest=False)
        mean, std = refit(gather_sequences(actions, index), elite_cost)
        best.append(elite_cost[:, 0])
    final = evaluate_cost(cost_fn, mean[:, None])[:, 0]
    return Plan(actions=mean, cost=final, std=std, elite_costs=torch.stack(best))
