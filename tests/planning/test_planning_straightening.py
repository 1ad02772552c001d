"""Straightening diagnostics, the Hessian split, the GD rate check and the gradient planner."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltijepa.errors import DataError, ShapeError
from ltijepa.lqr import Task
from ltijepa.planning.base import torch_generator
from ltijepa.planning.features import FrozenFeatures
from ltijepa.planning.gradient import GradientConfig, gradient_plan
from ltijepa.planning.hessian import condition_number, hessian_split
from ltijepa.planning.lq import lq_cost_fn, lq_optimal_plan
from ltijepa.planning.straightening import curvature_loss, gd_rate_check, predictor_linearity, trajectory_curvature
from ltijepa.planning.world_models import LatentModelConfig, LatentWorldModel


class MapModel(LatentWorldModel):
    """A world model whose step is a given function (latent width 3, actions 2)."""

    def __init__(self, step):
        super().__init__()
        self.features = FrozenFeatures()
        self.config = LatentModelConfig()
        self.step = step
        self.anchor = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))

    def embed(self, z):
        raise AssertionError("not used")

    def predict(self, latent, action):
        return self.step(latent, action)

    def loss_terms(self, batch):
        raise AssertionError("not used")


gen = torch.Generator().manual_seed(0)
A = torch.eye(3, dtype=torch.float64) + 0.1 * torch.randn(3, 3, generator=gen, dtype=torch.float64)
B = torch.randn(3, 2, generator=gen, dtype=torch.float64)
LINEAR = MapModel(lambda z, a: z @ A.T + a @ B.T + 0.3)
BENT = MapModel(lambda z, a: z @ A.T + torch.tanh(a @ B.T + z))


def test_curvature_of_a_line_is_zero_and_of_a_reversal_is_two():
    t = torch.arange(5.0)[:, None]
    line = t * torch.tensor([[1.0, 2.0]])
    assert float(trajectory_curvature(line)) == pytest.approx(0.0, abs=1e-7)
    zigzag = torch.tensor([[0.0], [1.0], [0.0], [1.0]])
    assert float(trajectory_curvature(zigzag)) == pytest.approx(2.0)
    corner = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    assert float(curvature_loss(corner[:1], corner[1:2], corner[2:])) == pytest.approx(1.0)


def test_curvature_loss_mask_drops_rows():
    z0, z1 = torch.zeros(2, 2), torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    z2 = torch.tensor([[2.0, 0.0], [0.0, 0.0]])  # straight, reversed
    assert float(curvature_loss(z0, z1, z2)) == pytest.approx(1.0)
    assert float(curvature_loss(z0, z1, z2, torch.tensor([True, False]))) == pytest.approx(0.0)
    with pytest.raises(ShapeError):
        curvature_loss(z0, z1, z2[:1])
    with pytest.raises(ShapeError):
        trajectory_curvature(torch.zeros(2, 3))


def test_predictor_linearity_zero_for_affine_positive_for_bent():
    z = torch.randn(200, 3, generator=gen, dtype=torch.float64)
    a = torch.rand(200, 2, generator=gen, dtype=torch.float64) * 2 - 1
    assert predictor_linearity(LINEAR, z, a) < 1e-10
    assert predictor_linearity(BENT, z, a) > 1e-2
    with pytest.raises(ShapeError):
        predictor_linearity(LINEAR, z[:5], a[:5])


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_hessian_split_equals_autograd(horizon, seed):
    g = torch.Generator().manual_seed(seed)
    z, goal = torch.randn(3, generator=g, dtype=torch.float64), torch.randn(3, generator=g, dtype=torch.float64)
    actions = torch.rand(horizon, 2, generator=g, dtype=torch.float64) * 2 - 1
    split = hessian_split(BENT, z, goal, actions)
    assert split.full.shape == (2 * horizon, 2 * horizon)
    assert split.split_error < 1e-12
    # T2 is needed: T1 alone (Gauss-Newton) is not the Hessian of the bent model
    assert float((split.t1 - split.full).norm() / split.full.norm()) > 1e-6
    # a dropped factor (T2 without its 2) breaks the split on the same instance
    assert float((split.t1 + split.t2 / 2 - split.full).norm() / split.full.norm()) > 1e-6


def test_t2_vanishes_for_linear_dynamics_only():
    z, goal = torch.randn(3, generator=gen, dtype=torch.float64), torch.randn(3, generator=gen, dtype=torch.float64)
    actions = torch.rand(4, 2, generator=gen, dtype=torch.float64)
    assert hessian_split(LINEAR, z, goal, actions).t2_ratio < 1e-14
    assert hessian_split(BENT, z, goal, actions).t2_ratio > 1e-3


def test_condition_number():
    assert condition_number(torch.diag(torch.tensor([1.0, -4.0]))) == pytest.approx(4.0)
    assert condition_number(torch.zeros(2, 2)) == float("inf")


def lq_instance(horizon=6, seed=0):
    """The MPC chapter's double integrator: the LQ planning cost's Hessian and exact minimiser."""
    dt, I2, Z2 = 0.1, np.eye(2), np.zeros((2, 2))
    task = Task(np.block([[I2, dt * I2], [Z2, I2]]), np.vstack([dt**2 / 2 * I2, dt * I2]), np.eye(4), 0.1 * np.eye(2))
    x0 = np.random.default_rng(seed).normal(size=(1, 4))
    cost = lq_cost_fn(task, x0)
    flat = lambda a: cost(a.reshape(1, 1, horizon, 2))[0, 0]
    G = torch.func.jacrev(torch.func.jacrev(flat))(torch.zeros(2 * horizon, dtype=torch.float64)).numpy()
    a_star, _ = lq_optimal_plan(task, x0, horizon)
    return G, a_star.reshape(-1)


def test_gd_rate_holds_at_every_step_on_lq():
    G, a_star = lq_instance()
    start = a_star + np.random.default_rng(1).normal(size=a_star.shape)
    check = gd_rate_check(G, a_star, start, 200)
    assert check.holds and check.kappa > 2
    assert 0.5 < check.max_ratio <= 1 + 1e-9


def test_gd_rate_is_attained_with_two_eigenvalues_and_tightness_skips_round_off():
    # G with only the eigenvalues mu and L: every error is exactly rate^j ||a_0 - a*||
    G = np.diag([1.0, 1.0, 5.0, 5.0])
    check = gd_rate_check(G, np.ones(4), np.ones(4) + np.array([1.0, 0.0, 1.0, 0.0]), 60)
    assert check.holds and check.max_ratio == pytest.approx(1.0, abs=1e-9)
    # q = 2/3: the bound falls below 1e-6 ||a_0 - a*|| after 34 steps, and those steps are left out
    assert check.bound[35] < 1e-6 * check.errors[0]
    # kappa = 1: one step reaches a*, no step is resolved, the tightness is undefined
    assert np.isnan(gd_rate_check(np.eye(2), np.zeros(2), np.ones(2), 3).max_ratio)


def test_gd_rate_mutations_fail_on_the_same_instance():
    G, a_star = lq_instance()
    start = a_star + np.random.default_rng(1).normal(size=a_star.shape)
    eig = np.linalg.eigvalsh(G)
    kappa = eig[-1] / eig[0]
    # a faster rate than the theorem's (sqrt(kappa) in place of kappa) is broken
    assert not gd_rate_check(G, a_star, start, 200, rate=(np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)).holds
    # the step 1/L contracts at 1 - 1/kappa, slower than (kappa-1)/(kappa+1): the bound breaks
    assert not gd_rate_check(G, a_star, start, 200, step=1 / eig[-1]).holds


def test_gd_rate_check_rejects_indefinite():
    with pytest.raises(DataError):
        gd_rate_check(np.diag([1.0, -1.0]), np.zeros(2), np.ones(2), 3)
    with pytest.raises(ShapeError):
        gd_rate_check(np.eye(2), np.zeros(3), np.ones(2), 3)


def test_gradient_planner_reaches_lq_optimum_within_the_box():
    G, a_star = lq_instance(horizon=4)
    dt, I2, Z2 = 0.1, np.eye(2), np.zeros((2, 2))
    task = Task(np.block([[I2, dt * I2], [Z2, I2]]), np.vstack([dt**2 / 2 * I2, dt * I2]), np.eye(4), 0.1 * np.eye(2))
    x0 = np.random.default_rng(0).normal(size=(1, 4))
    cost = lq_cost_fn(task, x0)
    plan = gradient_plan(cost, torch.zeros(1, 4, 2, dtype=torch.float64),
                         config=GradientConfig(iterations=400, lr=0.05), generator=torch_generator(0))
    optimum = float(cost(torch.tensor(a_star.reshape(1, 1, 4, 2)))[0, 0])
    assert float(plan.cost[0]) == pytest.approx(optimum, rel=1e-4)
    assert plan.elite_costs.shape == (400, 1)
    boxed = gradient_plan(cost, torch.zeros(1, 4, 2, dtype=torch.float64), low=-0.1, high=0.1,
                          generator=torch_generator(0))
    assert float(boxed.actions.abs().max()) <= 0.1


def test_gradient_planner_needs_a_differentiable_cost():
    with pytest.raises(DataError, match="no gradient"):
        gradient_plan(torch.no_grad()(lambda a: (a**2).sum((-1, -2))), torch.zeros(1, 2, 2), generator=torch_generator(0))
    with pytest.raises(ShapeError):
        gradient_plan(lambda a: (a**2).sum((-1, -2)), torch.zeros(2, 2), generator=torch_generator(0))
