"""The receding-horizon loop: budget, warm start, and exact LQ MPC as a closed loop."""

import numpy as np
import pytest
import torch

from ltijepa.errors import ParameterError, ShapeError
from ltijepa.lqr import Task
from ltijepa.planning.base import Plan, torch_generator
from ltijepa.planning.cem import CEMConfig, cem
from ltijepa.planning.lq import lq_cost_fn, lq_mpc_gain, lq_optimal_plan, lq_step
from ltijepa.planning.mpc import mpc, shift_plan


def scalar_task() -> Task:
    return Task([[1.1]], [[0.5]], [[1.0]], [[0.2]])


def exact_planner(task: Task):
    """A 'planner' returning the Riccati plan; make_cost passes the state through."""

    def plan(state, init_mean):
        actions, cost = lq_optimal_plan(task, state.numpy(), init_mean.shape[1])
        a = torch.tensor(actions)
        return Plan(actions=a, cost=torch.tensor(cost), std=torch.zeros_like(a), elite_costs=torch.zeros(0, len(a)))

    return plan


def test_shift_plan_drops_executed_and_pads_zeros():
    a = torch.arange(1.0, 6.0).reshape(1, 5, 1)
    assert shift_plan(a, 2).flatten().tolist() == [3.0, 4.0, 5.0, 0.0, 0.0]
    assert shift_plan(a, 0).flatten().tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert shift_plan(a, 7).flatten().tolist() == [0.0] * 5


def test_exact_lq_mpc_with_one_executed_action_is_the_feedback_law_minus_K0_x():
    task, H = scalar_task(), 6
    x0 = torch.tensor([[1.0], [-2.0]], dtype=torch.float64)
    run = mpc(lq_step(task), lambda x: x, x0, planner=exact_planner(task),
              init_mean=torch.zeros(2, H, 1, dtype=torch.float64), execute=1, steps=10)
    K0 = lq_mpc_gain(task, H)
    x = x0.numpy()
    for t in range(10):
        u = -x @ K0.T
        assert np.allclose(run.actions[:, t].numpy(), u)
        x = x @ task.A.T + u @ task.B.T
        assert np.allclose(run.states[t + 1].numpy(), x)


def test_budget_and_chunking():
    task, H = scalar_task(), 4
    run = mpc(lq_step(task), lambda x: x, torch.ones(1, 1, dtype=torch.float64), planner=exact_planner(task),
              init_mean=torch.zeros(1, H, 1, dtype=torch.float64), execute=3, steps=7)
    assert run.actions.shape == (1, 7, 1)
    assert len(run.states) == 8
    assert len(run.plans) == 3  # 3 + 3 + 1 executed


def test_warm_start_passes_the_shifted_plan():
    seen = []

    def planner(cost_fn, init_mean):
        seen.append(init_mean.clone())
        a = torch.arange(1.0, 4.0).reshape(1, 3, 1) + len(seen)
        return Plan(actions=a, cost=torch.zeros(1), std=torch.zeros_like(a), elite_costs=torch.zeros(0, 1))

    mpc(lambda s, u: s, lambda s: None, 0, planner=planner, init_mean=torch.zeros(1, 3, 1), execute=2, steps=4)
    assert seen[0].flatten().tolist() == [0.0, 0.0, 0.0]
    assert seen[1].flatten().tolist() == [4.0, 0.0, 0.0]  # plan (2, 3, 4) shifted by 2
    seen.clear()
    mpc(lambda s, u: s, lambda s: None, 0, planner=planner, init_mean=torch.zeros(1, 3, 1), execute=2, steps=4,
        warm_start=False)
    assert seen[1].flatten().tolist() == [0.0, 0.0, 0.0]


def test_cem_mpc_closed_loop_cost_is_close_to_exact_mpc():
    task, H, T = scalar_task(), 5, 15
    x0 = torch.tensor([[1.0], [-1.5], [0.5]], dtype=torch.float64)
    g = torch_generator(0)
    config = CEMConfig(samples=200, elites=20, iterations=20)
    runs = {
        "cem": mpc(lq_step(task), lambda x: lq_cost_fn(task, x), x0,
                   planner=lambda c, m: cem(c, m, config=config, generator=g),
                   init_mean=torch.zeros(3, H, 1, dtype=torch.float64), execute=1, steps=T),
        "exact": mpc(lq_step(task), lambda x: x, x0, planner=exact_planner(task),
                     init_mean=torch.zeros(3, H, 1, dtype=torch.float64), execute=1, steps=T),
    }
    costs = {}
    for name, run in runs.items():
        xs = torch.stack(run.states[:-1], dim=1)
        costs[name] = (xs**2).sum((1, 2)) * task.Q[0, 0] + (run.actions**2).sum((1, 2)) * task.R[0, 0]
    assert torch.allclose(costs["cem"], costs["exact"], rtol=1e-3)


def test_mpc_errors():
    plan = lambda c, m: None  # noqa: E731  (never reached)
    with pytest.raises(ParameterError, match=r"execute == 4, must be <= the horizon H == 3"):
        mpc(lambda s, u: s, lambda s: None, 0, planner=plan, init_mean=torch.zeros(1, 3, 1), execute=4, steps=5)
    with pytest.raises(ParameterError, match=r"steps == 0, must be an integer >= 1"):
        mpc(lambda s, u: s, lambda s: None, 0, planner=plan, init_mean=torch.zeros(1, 3, 1), execute=1, steps=0)
    with pytest.raises(ParameterError, match=r"execute == 0"):
        mpc(lambda s, u: s, lambda s: None, 0, planner=plan, init_mean=torch.zeros(1, 3, 1), execute=0, steps=1)
    with pytest.raises(ShapeError, match=r"init_mean: expected a tensor \(B, H, m\)"):
        mpc(lambda s, u: s, lambda s: None, 0, planner=plan, init_mean=torch.zeros(3, 1), execute=1, steps=1)
