"""Zeroth-order gradient estimators: rollouts vs closed forms, unbiasedness, seeding, errors.

The statistical tests draw many independent estimates at once (a batch of copies of one task)
and require the mean to lie within 5 standard errors of the exact expectation; with fixed
seeds they are deterministic.
"""

import numpy as np
import pytest

from ltijepa.errors import DataError, NotStabilizingError, ParameterError, ShapeError, SolverError
from ltijepa.lqr import Task, TaskBatch
from ltijepa.lqr.families import random_stabilizable
from ltijepa.lqr.zeroth_order import (
    estimate_gradient,
    estimation_errors,
    rollout_costs,
    sample_directions,
    sample_initial_states,
)


def finite_horizon_value(task, K, horizon, first=0):
    """sum_{t=first}^{first+horizon-1} (A_K^T)^t (Q + K^T R K) A_K^t."""
    A_K = task.closed_loop(K)
    W = task.Q + K.T @ task.R @ K
    power = np.linalg.matrix_power(A_K, first)
    P = np.zeros_like(W)
    for _ in range(horizon):
        P += power.T @ W @ power
        power = A_K @ power
    return P


def within_standard_errors(estimates, expected, k=5.0):
    """All entries of the mean of ``estimates`` (R, m, n) within k standard errors."""
    mean = estimates.mean(axis=0)
    stderr = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    return bool(np.all(np.abs(mean - expected) <= k * stderr)), mean, stderr


@pytest.mark.parametrize("horizon", [1, 2, 25, 64])
@pytest.mark.parametrize("skip_initial", [False, True])
def test_rollout_costs_equal_the_finite_horizon_quadratic_form(skip_initial, horizon):
    task = random_stabilizable(3, 2, 1, spectral_radius=1.1)
    batch = TaskBatch.from_tasks([task])
    rng = np.random.default_rng(0)
    gains = task.optimal_gain() + 0.05 * rng.standard_normal((1, 6, 2, 3))
    x0 = rng.standard_normal((1, 6, 3))
    costs = rollout_costs(batch, gains, x0, horizon, skip_initial=skip_initial)
    for j in range(6):
        P = finite_horizon_value(task, gains[0, j], horizon, first=int(skip_initial))
        assert costs[0, j] == pytest.approx(x0[0, j] @ P @ x0[0, j], rel=1e-12)


@pytest.mark.parametrize("horizon", [1, 10, 37, 300])
def test_rollout_costs_equal_a_step_by_step_simulation(horizon):
    """Against a plain loop of x' = A x + B u, u = -K x, summing x'Qx + u'Ru."""
    task = random_stabilizable(2, 1, 4)
    batch = TaskBatch.from_tasks([task])
    K, x = task.optimal_gain() + 0.1, np.array([1.0, -2.0])
    total = 0.0
    for _ in range(horizon):
        u = -K @ x
        total += x @ task.Q @ x + u @ task.R @ u
        x = task.A @ x + task.B @ u
    assert rollout_costs(batch, K[None, None], np.array([[[1.0, -2.0]]]), horizon)[0, 0] == pytest.approx(total, rel=1e-12)


def test_directions_lie_on_the_sphere_and_are_isotropic():
    U = sample_directions((40_000,), 2, 3, 0.3, np.random.default_rng(1))
    np.testing.assert_allclose(np.linalg.norm(U, axis=(1, 2)), 0.3, rtol=1e-13)
    flat = U.reshape(-1, 6)
    second_moment = flat.T @ flat / len(flat)  # r^2 / d I
    np.testing.assert_allclose(second_moment, 0.09 / 6 * np.eye(6), atol=0.09 / 6 * 0.05)
    np.testing.assert_allclose(flat.mean(axis=0), 0.0, atol=0.01)


def test_initial_states_have_covariance_sigma0():
    Sigma0 = np.array([[2.0, 0.5], [0.5, 1.0]])
    batch = TaskBatch.from_tasks([Task(np.eye(2) * 0.5, np.eye(2), np.eye(2), np.eye(2), Sigma0)])
    x0 = sample_initial_states(batch, 100_000, np.random.default_rng(2))
    assert x0.shape == (1, 100_000, 2)
    np.testing.assert_allclose(x0[0].T @ x0[0] / 100_000, Sigma0, atol=0.03)


@pytest.mark.parametrize("estimator", ["one_point", "two_point"])
def test_one_step_rollouts_are_unbiased_for_the_quadratic_stage_cost(estimator):
    """With horizon 1 the expected rollout cost tr((Q + K^T R K) Sigma0) is quadratic in K,
    so both estimators are exactly unbiased for its gradient 2 R K Sigma0, for any radius:
    this pins the factor d / r^2 (one-point) and d / (2 r^2) (two-point) with d = m n = 6."""
    task = random_stabilizable(3, 2, 7)
    K = task.optimal_gain()
    batch = TaskBatch.from_tasks([task] * 400)
    estimate = estimate_gradient(batch, K, estimator=estimator, radius=0.5, samples=500, horizon=1, rng=3)
    ok, mean, stderr = within_standard_errors(estimate.gradient, 2 * task.R @ K @ task.Sigma0)
    assert ok, (mean, stderr)
    assert np.max(stderr) < 0.1 * np.max(np.abs(2 * task.R @ K @ task.Sigma0))  # the test has power


@pytest.mark.parametrize("estimator", ["one_point", "two_point"])
def test_scalar_estimators_are_unbiased_for_the_symmetric_difference(estimator):
    """d = 1: U = +-r, so E[estimate] = (C_l(K + r) - C_l(K - r)) / (2 r) exactly."""
    task = Task([[1.1]], [[1.0]], [[1.0]], [[0.5]], [[1.5]])
    k, r, horizon = 0.6, 0.2, 40
    expected = sum(
        sign * np.trace(finite_horizon_value(task, np.array([[k + sign * r]]), horizon) @ task.Sigma0)
        for sign in (1, -1)
    ) / (2 * r)
    batch = TaskBatch.from_tasks([task] * 500)
    estimate = estimate_gradient(batch, [[k]], estimator=estimator, radius=r, samples=400, horizon=horizon, rng=4)
    ok, mean, stderr = within_standard_errors(estimate.gradient, expected)
    assert ok, (mean, expected, stderr)
    assert stderr.item() < 0.05 * abs(expected)


@pytest.mark.parametrize("skip_initial", [False, True])
def test_two_point_converges_to_the_gradient(skip_initial):
    """Small radius, long horizon: the two-point estimate targets nabla C(K) (Fazel's t = 0..l-1),
    or nabla C(K) - 2 R K Sigma0 when the t = 0 term is skipped (the FedLQR code)."""
    task = random_stabilizable(2, 2, 11, spectral_radius=0.9)
    K = task.optimal_gain() + 0.3
    target = task.gradient(K) - (2 * task.R @ K @ task.Sigma0 if skip_initial else 0.0)
    batch = TaskBatch.from_tasks([task] * 200)
    estimate = estimate_gradient(batch, K, estimator="two_point", radius=1e-3, samples=100, horizon=300,
                                 rng=5, skip_initial=skip_initial)
    ok, mean, stderr = within_standard_errors(estimate.gradient, target)
    assert ok, (mean, target, stderr)
    assert np.linalg.norm(mean - target) < 0.05 * np.linalg.norm(target)
    other = task.gradient(K) - (0.0 if skip_initial else 2 * task.R @ K @ task.Sigma0)
    assert not within_standard_errors(estimate.gradient, other)[0]  # the convention is visible


def test_shapes_counts_and_seeding():
    tasks = [random_stabilizable(3, 2, s, spectral_radius=0.8) for s in range(4)]
    batch = TaskBatch.from_tasks(tasks)
    K = np.zeros((2, 3))
    one = estimate_gradient(batch, K, estimator="one_point", radius=0.1, samples=7, horizon=5, rng=9)
    two = estimate_gradient(batch, np.zeros((4, 2, 3)), estimator="two_point", radius=0.1, samples=7, horizon=5, rng=9)
    assert one.gradient.shape == two.gradient.shape == (4, 2, 3)
    assert (one.rollouts, two.rollouts, one.horizon) == (28, 56, 5)
    again = estimate_gradient(batch, K, estimator="one_point", radius=0.1, samples=7, horizon=5,
                              rng=np.random.default_rng(9))
    np.testing.assert_array_equal(one.gradient, again.gradient)
    other = estimate_gradient(batch, K, estimator="one_point", radius=0.1, samples=7, horizon=5, rng=10)
    assert not np.array_equal(one.gradient, other.gradient)


def test_a_generator_advances_between_calls():
    batch = TaskBatch.from_tasks([random_stabilizable(2, 1, 0, spectral_radius=0.8)])
    rng = np.random.default_rng(0)
    first = estimate_gradient(batch, [[0.0, 0.0]], radius=0.1, samples=3, horizon=4, rng=rng)
    second = estimate_gradient(batch, [[0.0, 0.0]], radius=0.1, samples=3, horizon=4, rng=rng)
    assert not np.array_equal(first.gradient, second.gradient)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(estimator="three_point"), ParameterError, r"estimator == 'three_point', must be one of \('one_point', 'two_point'\)"),
    (dict(radius=0.0), ParameterError, r"radius == 0.0, must be a finite number > 0"),
    (dict(radius=-1), ParameterError, r"radius == -1.0, must be a finite number > 0"),
    (dict(samples=0), ParameterError, r"samples == 0, must be an integer >= 1"),
    (dict(samples=2.0), ParameterError, r"samples == 2.0, must be an integer >= 1"),
    (dict(horizon=0), ParameterError, r"horizon == 0, must be an integer >= 1"),
    (dict(K=np.zeros((2, 1))), ShapeError, r"K: expected shape \(1, 2\) or \(1, 1, 2\), found \(2, 1\)"),
    (dict(K=[[np.nan, 0.0]]), DataError, r"K has non-finite entries"),
])
def test_parameter_errors(kwargs, error, match):
    batch = TaskBatch.from_tasks([random_stabilizable(2, 1, 0, spectral_radius=0.8)])
    args = dict(K=[[0.0, 0.0]], estimator="one_point", radius=0.1, samples=3, horizon=4, rng=0) | kwargs
    K = args.pop("K")
    with pytest.raises(error, match=match):
        estimate_gradient(batch, K, **args)


def test_batch_must_be_a_task_batch():
    task = random_stabilizable(2, 1, 0)
    with pytest.raises(ParameterError, match="batch is a Task, must be a TaskBatch"):
        estimate_gradient(task, [[0.0, 0.0]], radius=0.1, samples=3, horizon=4, rng=0)


def test_overflowing_rollouts_raise_not_stabilizing():
    batch = TaskBatch.from_tasks([Task([[3.0]], [[1.0]], [[1.0]], [[1.0]])])
    with pytest.raises(NotStabilizingError, match=r"^K \+- U does not stabilize task 0: rho\(A - B \(K \+- U\)\) == "
                       r"(3|2\.99).*, must be < 1 \(the rollout cost of sample \d overflowed; decrease radius") as info:
        estimate_gradient(batch, [[0.0]], estimator="two_point", radius=1e-3, samples=2, horizon=2000, rng=0)
    assert isinstance(info.value, NotStabilizingError) and info.value.task_index == 0
    assert info.value.rho == pytest.approx(3.0, abs=1e-2)


def test_overflow_of_a_stabilizing_gain_is_a_solver_error():
    # A - B (K +- U) stays upper triangular with rho ~ 0.5, but its transient ~1e200 x_0 overflows the cost
    batch = TaskBatch.from_tasks([Task([[0.5, 1e200], [0.0, 0.5]], [[1.0], [0.0]], np.eye(2), [[1.0]])])
    with pytest.raises(SolverError, match=r"task 0: the rollout cost of sample \d overflowed although "
                       r"rho\(A - B \(K \+- U\)\) == 0.5\d* < 1") as info:
        estimate_gradient(batch, [[0.0, 0.0]], radius=1e-3, samples=2, horizon=5, rng=0)
    assert info.value.status == "overflow"


def test_estimation_errors_shape_and_decrease():
    task = random_stabilizable(2, 1, 2, spectral_radius=0.9)
    K = task.optimal_gain() + 0.2
    errors = estimation_errors(task, K, estimator="two_point", samples=[4, 400], repeats=30, radius=0.01,
                               horizon=200, rng=0)
    assert errors.shape == (2, 30) and np.all(errors >= 0)
    assert errors[1].mean() < 0.3 * errors[0].mean()  # 100x the samples: ~10x smaller error


def test_expected_rollout_cost_tends_to_the_cost():
    """E over x_0 ~ N(0, I) of the rollout cost, tr(P_l) = sum_i e_i^T P_l e_i, tends to C(K)."""
    task = random_stabilizable(3, 2, 0)  # Sigma0 = I
    K = task.optimal_gain()
    batch = TaskBatch.from_tasks([task])
    gains, x0 = np.broadcast_to(K, (1, 3, 2, 3)), np.eye(3)[None]
    assert rollout_costs(batch, gains, x0, 2000).sum() == pytest.approx(task.cost(K), rel=1e-10)
    stage = np.trace((task.Q + K.T @ task.R @ K) @ task.Sigma0)
    skipped = rollout_costs(batch, gains, x0, 2000, skip_initial=True).sum()
    assert skipped == pytest.approx(task.cost(K) - stage, rel=1e-10)
