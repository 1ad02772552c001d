"""The receding-horizon loop: plan, execute the first actions, replan.

Model predictive control is sequential planning with a world model (talk, slide "Model
Predictive Control"): at time t a planner minimises the cost of an H-step action sequence
predicted by the model from the current state, the system executes the first ``execute``
actions, and the loop starts again from the state reached. With ``execute = 1`` this is the
textbook MPC law; DINO-WM's point-maze evaluation executes 5 of 5 planned actions.

The loop knows nothing about the model: it takes the true system's ``step``, a ``make_cost``
that builds the planning cost from the current state (encode the observation, compare with
the goal), and a ``planner`` (:func:`~ltijepa.planning.cem.cem` or
:func:`~ltijepa.planning.mppi.mppi` with its settings bound). Warm start as in TD-MPC2: the
next plan starts from the unexecuted tail of the previous mean, padded with zeros.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ltijepa.checks import check_count
from ltijepa.errors import ParameterError
from ltijepa.planning.base import CostFn, Plan, check_mean

__all__ = ["Planner", "MPCResult", "mpc", "shift_plan"]

#: A planner with its settings bound: ``planner(cost_fn, init_mean) -> Plan``.
Planner = Callable[[CostFn, torch.Tensor], Plan]


@dataclass(frozen=True)
class MPCResult:
    """One batched closed-loop run of :func:`mpc`.

    Attributes
    ----------
    states : list
        The ``T + 1`` states visited, the initial one first (whatever ``step`` returns).
    actions : torch.Tensor, shape (B, T, m)
        The actions executed.
    plans : list of Plan
        Every plan made, in order (``ceil(T / execute)`` of them).
    """

    states: list[Any]
    actions: torch.Tensor
    plans: list[Plan]


def shift_plan(actions: torch.Tensor, executed: int) -> torch.Tensor:
    """The warm start after executing ``executed`` actions: drop them, pad zeros at the end.

    Parameters
    ----------
    actions : torch.Tensor, shape (B, H, m)
    executed : int
        ``0 <= executed``; ``executed >= H`` gives all zeros.

    Returns
    -------
    torch.Tensor, shape (B, H, m)
    """
    tail = actions[:, executed:]
    pad = torch.zeros_like(actions[:, : actions.shape[1] - tail.shape[1]])
    return torch.cat([tail, pad], dim=1)


def mpc(
    step: Callable[[Any, torch.Tensor], Any],
    make_cost: Callable[[Any], CostFn],
    state: Any,
    *,
    planner: Planner,
    init_mean: torch.Tensor,
    execute: int,
    steps: int,
    warm_start: bool = True,
) -> MPCResult:
    """Run receding-horizon control for ``steps`` steps of the true system.

    .. math::  a^\\star_{t:t+H} = \\arg\\min_a c_{s_t}(a), \\quad
               s_{t+j+1} = f(s_{t+j}, a^\\star_{t+j}), \\; j < \\texttt{execute}

    Parameters
    ----------
    step : callable
        ``step(state, action)`` -> next state; ``action`` has shape ``(B, m)``.
    make_cost : callable
        ``make_cost(state)`` -> the cost function of action sequences from ``state``.
    state : any
        The initial state (a batch of ``B`` problems).
    planner : callable
        ``planner(cost_fn, init_mean) -> Plan``.
    init_mean : torch.Tensor, shape (B, H, m)
        Initial mean of the first plan (usually zeros).
    execute : int
        Actions executed per plan, ``1 <= execute <= H``.
    steps : int
        The step budget, ``>= 1``; the last plan may be executed only in part.
    warm_start : bool
        Start each plan from the shifted previous one (else from ``init_mean`` every time).

    Returns
    -------
    MPCResult

    Raises
    ------
    ParameterError
        If ``execute`` or ``steps`` is not a positive integer, or ``execute > H``.
    ShapeError
        If ``init_mean`` is not ``(B, H, m)``.

    Examples
    --------
    >>> from ltijepa.planning.cem import cem, CEMConfig
    >>> g = torch.Generator().manual_seed(0)
    >>> step = lambda x, u: x + u  # a single integrator, driven to the origin
    >>> cost = lambda x: (lambda a: ((x[:, None, None] + a.cumsum(2)) ** 2).sum((-1, -2)))
    >>> run = mpc(step, cost, torch.tensor([[2.0]]), planner=lambda c, m: cem(c, m, generator=g),
    ...           init_mean=torch.zeros(1, 3, 1), execute=1, steps=4)
    >>> bool(abs(run.states[-1]).max() < 0.05)
    True
    """
    mean = check_mean(init_mean)
    horizon = mean.shape[1]
    check_count("execute", execute)
    check_count("steps", steps)
    if execute > horizon:
        raise ParameterError(f"execute == {execute}, must be <= the horizon H == {horizon}", name="execute", value=execute)
    states, actions, plans = [state], [], []
    while len(actions) < steps:
        plan = planner(make_cost(state), mean)
        plans.append(plan)
        chunk = min(execute, steps - len(actions))
        for j in range(chunk):
            state = step(state, plan.actions[:, j])
            states.append(state)
            actions.append(plan.actions[:, j])
        mean = shift_plan(plan.actions, chunk) if warm_start else init_mean
    return MPCResult(states=states, actions=torch.stack(actions, dim=1), plans=plans)
