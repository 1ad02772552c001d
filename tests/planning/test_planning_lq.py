"""Exact finite-horizon LQ planning (Riccati recursion) against independent computations."""

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltijepa.errors import DataError, ParameterError, ShapeError
from ltijepa.lqr import Task
from ltijepa.planning import lq
from ltijepa.planning.base import torch_generator
from ltijepa.planning.cem import CEMConfig, cem
from ltijepa.planning.lq import lq_cost_fn, lq_mpc_gain, lq_optimal_plan, lq_step, riccati_recursion


def double_integrator(dt: float = 0.1) -> Task:
    """A 2-D point mass: position and velocity per axis, force input (n = 4, m = 2)."""
    I, Z = np.eye(2), np.zeros((2, 2))
    A = np.block([[I, dt * I], [Z, I]])
    B = np.vstack([dt**2 / 2 * I, dt * I])
    return Task(A, B, np.eye(4), 0.1 * np.eye(2))


@st.composite
def tasks(draw):
    """Random (A, B, Q, R) with n in 1..4, m in 1..3; B full-column-rank generic draws."""
    n = draw(st.integers(1, 4))
    m = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n)) / np.sqrt(n)
    B = rng.normal(size=(n, m))
    L = rng.normal(size=(n, n))
    M = rng.normal(size=(m, m))
    return Task(A, B, L @ L.T + 0.1 * np.eye(n), M @ M.T + 0.1 * np.eye(m)), rng


def stacked_least_squares(task: Task, x0: np.ndarray, horizon: int, Qf: np.ndarray):
    """The H-step problem solved as one quadratic program in U = (u_0..u_{H-1}): an
    independent check of the recursion. x = Phi x0 + Gamma U, cost = x'Qbar x + U'Rbar U."""
    n, m = task.n, task.m
    Phi = np.vstack([np.linalg.matrix_power(task.A, t) for t in range(horizon + 1)])
    Gamma = np.zeros(((horizon + 1) * n, horizon * m))
    for t in range(1, horizon + 1):
        for k in range(t):
            Gamma[t * n:(t + 1) * n, k * m:(k + 1) * m] = np.linalg.matrix_power(task.A, t - 1 - k) @ task.B
    Qbar = scipy.linalg.block_diag(*([task.Q] * horizon + [Qf]))
    Rbar = scipy.linalg.block_diag(*([task.R] * horizon))
    H = Gamma.T @ Qbar @ Gamma + Rbar
    U = -np.linalg.solve(H, Gamma.T @ Qbar @ Phi @ x0.T).T  # (B, H m)
    X = x0 @ Phi.T + U @ Gamma.T
    cost = np.einsum("bi,ij,bj->b", X, Qbar, X) + np.einsum("bi,ij,bj->b", U, Rbar, U)
    return U.reshape(len(x0), horizon, m), cost


@given(problem=tasks(), horizon=st.integers(1, 8))
@settings(max_examples=40)
def test_riccati_plan_equals_stacked_least_squares(problem, horizon):
    task, rng = problem
    x0 = rng.normal(size=(3, task.n))
    Qf = 2.0 * task.Q
    actions, cost = lq_optimal_plan(task, x0, horizon, Qf)
    actions_ls, cost_ls = stacked_least_squares(task, x0, horizon, Qf)
    scale = 1.0 + np.abs(cost_ls).max()
    assert np.allclose(cost, cost_ls, rtol=1e-7, atol=1e-9 * scale)
    assert np.allclose(actions, actions_ls, rtol=1e-6, atol=1e-8 * np.sqrt(scale))


@given(problem=tasks(), horizon=st.integers(1, 8))
@settings(max_examples=30)
def test_optimal_plan_cost_matches_rollout_and_is_a_minimum(problem, horizon):
    task, rng = problem
    x0 = rng.normal(size=(2, task.n))
    actions, cost = lq_optimal_plan(task, x0, horizon)
    cost_fn = lq_cost_fn(task, x0)
    plan = torch.tensor(actions)[:, None].requires_grad_(True)
    rolled = cost_fn(plan)
    assert np.allclose(rolled.detach().numpy()[:, 0], cost, rtol=1e-9, atol=1e-9)
    (grad,) = torch.autograd.grad(rolled.sum(), plan)
    assert grad.abs().max().item() <= 1e-7 * (1.0 + np.abs(cost).max())
    perturbed = plan.detach() + 0.1 * torch.tensor(rng.normal(size=(2, 5, horizon, task.m)))
    assert (cost_fn(perturbed) >= torch.tensor(cost)[:, None] * (1 - 1e-12)).all()


def test_riccati_values_are_psd_and_start_at_terminal_weight():
    task = double_integrator()
    Qf = np.diag([1.0, 2.0, 0.0, 0.5])
    sol = riccati_recursion(task, 12, Qf)
    assert sol.gains.shape == (12, 2, 4) and sol.values.shape == (13, 4, 4)
    assert np.array_equal(sol.values[-1], Qf)
    assert all(np.linalg.eigvalsh(P).min() >= -1e-12 for P in sol.values)


def test_scalar_recursion_by_hand():
    # a = 2, b = 1, q = r = 1, q_f = 1: P_2 = 1, K_1 = 2/2 = 1, P_1 = 1 + 4 - 4*1/2 = 3,
    # K_0 = 2*3/(1+3) = 1.5, P_0 = 1 + 4*3 - (2*3)^2/4 = 4
    sol = riccati_recursion(Task([[2.0]], [[1.0]], [[1.0]], [[1.0]]), 2)
    assert np.allclose(sol.gains[:, 0, 0], [1.5, 1.0])
    assert np.allclose(sol.values[:, 0, 0], [4.0, 3.0, 1.0])


@pytest.mark.parametrize("task", [double_integrator(), Task([[1.2, 0.5], [0.0, 0.9]], [[0.0], [1.0]], np.eye(2), [[0.3]])],
                         ids=["double_integrator", "unstable_2x1"])
def test_mpc_gain_tends_to_lqr_gain_as_horizon_grows(task):
    K_star = task.optimal_gain()
    errors = [np.linalg.norm(lq_mpc_gain(task, H) - K_star) for H in (1, 10, 40, 160, 400)]
    assert all(later <= earlier + 1e-12 for earlier, later in zip(errors, errors[1:]))
    assert errors[-1] <= 1e-9 * np.linalg.norm(K_star)


def test_mpc_gain_is_lqr_gain_at_every_horizon_with_dare_terminal_weight():
    # Q_f = P* (the DARE solution) makes the finite-horizon problem stationary: K_0 = K* for any H
    task = double_integrator()
    P_star = scipy.linalg.solve_discrete_are(task.A, task.B, task.Q, task.R)
    for H in (1, 3, 17):
        assert np.allclose(lq_mpc_gain(task, H, P_star), task.optimal_gain(), atol=1e-9)


def test_cem_cost_approaches_exact_optimum_as_samples_grow():
    task = double_integrator()
    x0 = np.random.default_rng(0).normal(size=(8, 4))
    horizon = 8
    _, optimum = lq_optimal_plan(task, x0, horizon)
    gaps = []
    for samples in (10, 100, 1000):
        config = CEMConfig(samples=samples, elites=max(2, samples // 10), iterations=30)
        plan = cem(lq_cost_fn(task, x0), torch.zeros(8, horizon, 2, dtype=torch.float64), config=config,
                   generator=torch_generator(0))
        gap = (plan.cost.numpy() - optimum) / optimum
        assert (gap >= -1e-9).all()  # nothing beats the exact optimum
        gaps.append(np.median(gap))
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-3


def test_lq_step_is_the_linear_system():
    task = double_integrator()
    x, u = np.ones((3, 4)), np.ones((3, 2))
    nxt = lq_step(task)(torch.tensor(x), torch.tensor(u)).numpy()
    assert np.allclose(nxt, x @ task.A.T + u @ task.B.T)


def test_errors_name_the_offending_input():
    task = double_integrator()
    with pytest.raises(ParameterError, match=r"horizon == 0, must be an integer >= 1"):
        riccati_recursion(task, 0)
    with pytest.raises(ShapeError, match=r"terminal_weight: expected shape \(4, 4\), found \(2, 2\)"):
        riccati_recursion(task, 3, np.eye(2))
    with pytest.raises(DataError, match=r"terminal_weight must be positive semidefinite"):
        riccati_recursion(task, 3, -np.eye(4))
    with pytest.raises(ShapeError, match=r"x0: expected initial states \(B, 4\), found \(4,\)"):
        lq_optimal_plan(task, np.zeros(4), 3)
    with pytest.raises(DataError, match=r"x0 has non-finite entries"):
        lq_cost_fn(task, np.full((1, 4), np.nan))
    cost_fn = lq_cost_fn(task, np.zeros((2, 4)))
    with pytest.raises(ShapeError, match=r"actions: expected \(B=2, N, H, m=2\), found \(2, 5, 3, 1\)"):
        cost_fn(torch.zeros(2, 5, 3, 1, dtype=torch.float64))


def broken_riccati(task, horizon, terminal_weight=None):
    """P_t = Q + A^T P_{t+1} A: the recursion without its minimisation over the action."""
    P = task.Q if terminal_weight is None else np.asarray(terminal_weight)
    gains, values = [], [P]
    for _ in range(horizon):
        K = np.linalg.solve(task.R + task.B.T @ P @ task.B, task.B.T @ P @ task.A)
        P = task.Q + task.A.T @ P @ task.A
        gains.append(K)
        values.append(P)
    return lq.LQSolution(np.array(gains[::-1]), np.array(values[::-1]))


def test_notebook_lower_bound_check_fails_on_a_broken_recursion(monkeypatch):
    # the notebook's theorem claim: min gap >= -1e-9. Right recursion: holds; broken: fails
    task = Task([[1.0, 0.1], [0.0, 1.0]], [[0.005], [0.1]], np.eye(2), [[0.1]])
    x0 = np.random.default_rng(0).normal(size=(4, 2))
    config = lq.SweepConfig(sample_counts=(50, 200), problems=4, horizon=6, iterations=15)
    assert lq.sample_sweep(task, x0, config, planner="cem", seed=0).min() >= -1e-9
    monkeypatch.setattr(lq, "riccati_recursion", broken_riccati)
    assert lq.sample_sweep(task, x0, config, planner="cem", seed=0).min() < -1e-3


def test_notebook_lqr_limit_check_fails_on_a_broken_recursion(monkeypatch):
    task = Task([[1.0, 0.1], [0.0, 1.0]], [[0.005], [0.1]], np.eye(2), [[0.1]])
    K_star = task.optimal_gain()
    assert np.linalg.norm(lq.lq_mpc_gain(task, 400) - K_star) <= 1e-8 * np.linalg.norm(K_star)
    monkeypatch.setattr(lq, "riccati_recursion", broken_riccati)
    assert np.linalg.norm(lq.lq_mpc_gain(task, 400) - K_star) > 1e-2 * np.linalg.norm(K_star)
