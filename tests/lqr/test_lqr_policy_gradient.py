"""Policy-gradient methods: limits against python-control, rates, stability, History, errors."""

import control
import numpy as np
import pytest
from hypothesis import given, settings

from ltijepa.errors import NotStabilizingError, ParameterError
from ltijepa.lqr import Task, TaskBatch
from ltijepa.lqr import landscape
from ltijepa.lqr.families import random_stabilizable, sample_pendulums
from ltijepa.lqr.policy_gradient import (
    History,
    fazel_natural_step,
    gauss_newton,
    gradient_descent,
    initial_gain,
    model_free_gradient_descent,
    natural_gradient,
)
from ltijepa.testing import lqr as lqr_st


def dlqr_gain(task):
    return control.dlqr(task.A, task.B, task.Q, task.R)[0]


def assert_valid_descent(history: History):
    """Every iterate stabilizing, the cost never increasing."""
    assert np.all(history.rho < 1)
    assert np.all(np.diff(history.cost) <= 1e-12 * history.cost[0])


@settings(max_examples=30)
@given(lqr_st.tasks_with_gains())
def test_gauss_newton_limit_is_the_dlqr_gain(task_and_gain):
    task, K0 = task_and_gain
    history = gauss_newton(task, K0, iterations=40, tol=1e-12)
    K_ct = dlqr_gain(task)
    assert np.linalg.norm(history.final - K_ct) <= 1e-8 * max(1.0, np.linalg.norm(K_ct))
    assert_valid_descent(history)


def test_one_gauss_newton_step_is_hewers_policy_iteration():
    task = random_stabilizable(3, 2, 2)
    K0 = initial_gain(task, cost_ratio=5.0)
    P = task.P(K0)
    hewer = np.linalg.solve(task.R + task.B.T @ P @ task.B, task.B.T @ P @ task.A)
    np.testing.assert_allclose(gauss_newton(task, K0, iterations=1).K[1], hewer, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_descent_with_backtracking_reaches_dlqr(seed):
    task = random_stabilizable(3, 2, seed)
    K0 = initial_gain(task, cost_ratio=3.0)
    history = gradient_descent(task, K0, iterations=3000, tol=1e-9)
    K_ct = dlqr_gain(task)
    assert np.linalg.norm(history.final - K_ct) <= 1e-6 * np.linalg.norm(K_ct)
    assert_valid_descent(history)
    assert np.all(np.diff(history.cost)[history.step > 0] < 0)  # Armijo: strict decrease


@pytest.mark.parametrize("seed", [0, 1])
def test_natural_gradient_with_backtracking_reaches_dlqr(seed):
    task = random_stabilizable(3, 2, seed)
    history = natural_gradient(task, initial_gain(task, cost_ratio=3.0), iterations=500, step=None, tol=1e-9)
    assert np.linalg.norm(history.final - dlqr_gain(task)) <= 1e-6 * np.linalg.norm(dlqr_gain(task))
    assert_valid_descent(history)


@pytest.mark.parametrize("seed", [0, 3, 4])
def test_fazel_rates_hold_at_every_step(seed):
    """Theorem 7 (our parametrisation): NPG with Fazel's step, GN with eta = 1 and 1/2."""
    task = random_stabilizable(3, 2, seed)
    K0 = initial_gain(task, cost_ratio=3.0)
    C_star = task.optimal_cost()
    eta = fazel_natural_step(task, K0)
    npg = natural_gradient(task, K0, iterations=300)
    assert npg.step[0] == eta
    assert np.all(landscape.step_contractions(npg.cost, C_star) <= landscape.natural_gradient_rate(task, eta))
    for step in (1.0, 0.5):
        gn = gauss_newton(task, K0, iterations=60, step=step)
        ratios = landscape.step_contractions(gn.cost, C_star)
        assert ratios.size and np.all(ratios <= landscape.gauss_newton_rate(task, step))
        assert_valid_descent(gn)


def test_contraction_check_fails_for_a_slower_method():
    """The Gauss-Newton rate check detects a wrong update: small natural-gradient steps."""
    task = random_stabilizable(3, 2, 0)
    K0 = initial_gain(task, cost_ratio=3.0)
    slow = natural_gradient(task, K0, iterations=20, step=0.1 * fazel_natural_step(task, K0))
    assert np.any(landscape.step_contractions(slow.cost, task.optimal_cost()) > landscape.gauss_newton_rate(task))


class AverageCost:
    """A multitask objective: the mean of the task costs at a shared gain."""

    def __init__(self, tasks):
        self.batch = TaskBatch.from_tasks(tasks)

    def cost(self, K):
        return float(self.batch.cost(K).mean())

    def gradient(self, K):
        return self.batch.gradient(K).mean(axis=0)

    def is_stabilizing(self, K):
        return bool(self.batch.is_stabilizing(K).all())

    def spectral_radius(self, K):
        return self.batch.spectral_radius(K)


def test_gradient_descent_is_generic_over_objectives():
    tasks = sample_pendulums(4, 0)
    objective = AverageCost(tasks)
    K0 = tasks[1].optimal_gain()  # stabilizes all four (seed 0)
    assert objective.is_stabilizing(K0)
    assert landscape.gradient_error(objective, K0) <= 1e-6
    history = gradient_descent(objective, K0, iterations=2000, tol=1e-8)
    assert history.rho.shape == history.cost.shape and np.all(history.rho < 1)
    assert np.all(np.diff(history.cost) <= 0)
    assert history.grad_norm[-1] <= 1e-6 * history.grad_norm[0]
    assert all(t.is_stabilizing(history.final) for t in tasks)


def test_an_objective_without_the_protocol_is_refused():
    with pytest.raises(ParameterError, match="must be an Objective") as info:
        gradient_descent(TaskBatch.from_tasks(sample_pendulums(2, 0)).A, [[0.0, 0.0]], iterations=1)
    assert info.value.name == "objective"


def test_history_fields():
    task = random_stabilizable(2, 1, 0)
    history = gauss_newton(task, initial_gain(task, cost_ratio=2.0), iterations=3)
    assert history.method == "gauss_newton" and history.stop == "iterations"
    assert history.K.shape == (4, 1, 2) and history.cost.shape == history.grad_norm.shape == (4,)
    assert history.step.shape == (3,) and history.iterations == 3 and history.rollouts == 0
    np.testing.assert_array_equal(history.final, history.K[-1])
    np.testing.assert_allclose(history.gap(task.optimal_cost()), history.cost - task.optimal_cost())
    np.testing.assert_allclose(history.grad_norm[1], np.linalg.norm(task.gradient(history.K[1])))
    with pytest.raises(AttributeError):
        history.stop = "x"


def test_stop_reasons():
    task = random_stabilizable(2, 1, 0)
    K0 = initial_gain(task, cost_ratio=2.0)
    assert gradient_descent(task, K0, iterations=50, tol=1e9).stop == "tolerance"
    at_optimum = gradient_descent(task, task.optimal_gain(), iterations=50)
    assert at_optimum.stop in ("no_decrease", "tolerance") and at_optimum.iterations < 50


def test_initial_gain_has_the_asked_cost_ratio():
    task = sample_pendulums(1, 0)[0]
    K0 = initial_gain(task, cost_ratio=10.0)
    assert task.cost(K0) / task.optimal_cost() == pytest.approx(10.0, rel=1e-6)
    ratio = K0 / task.optimal_gain()
    assert np.allclose(ratio, ratio.flat[0]) and 0 < ratio.flat[0] < 1


def test_initial_gain_errors():
    task = sample_pendulums(1, 0)[0]
    with pytest.raises(ParameterError, match=r"cost_ratio == 1.0, must be > 1"):
        initial_gain(task, cost_ratio=1.0)
    stable = Task([[0.5]], [[1.0]], [[1.0]], [[1.0]])  # C(0) = 4/3 is close to C*
    with pytest.raises(ParameterError, match=r"C\(0\) == 1.33333 is below"):
        initial_gain(stable, cost_ratio=100.0)


def test_model_free_descent_is_seeded_and_improves():
    task = random_stabilizable(2, 1, 3, spectral_radius=0.9)
    K0 = initial_gain(task, cost_ratio=2.0)
    kwargs = dict(step=0.003, iterations=40, radius=0.02, samples=20, horizon=100, estimator="two_point")
    history = model_free_gradient_descent(task, K0, rng=1, **kwargs)
    again = model_free_gradient_descent(task, K0, rng=np.random.default_rng(1), **kwargs)
    np.testing.assert_array_equal(history.K, again.K)
    assert history.rollouts == 40 * 20 * 2 and history.method == "model_free"
    assert history.gap(task.optimal_cost())[-1] < 0.05 * history.gap(task.optimal_cost())[0]
    assert np.all(history.rho < 1)


def test_model_free_step_too_large():
    task = random_stabilizable(2, 1, 3, spectral_radius=0.9)
    with pytest.raises(NotStabilizingError, match=r"iteration 1: K does not stabilize the task: rho\(A - B K\) == "
                       r"[\d.e+]+, must be < 1 \(step == 1000 leaves the stabilizing set; take a smaller step\)$") as info:
        model_free_gradient_descent(task, initial_gain(task, cost_ratio=2.0), step=1000.0, iterations=3,
                                    radius=0.02, samples=5, horizon=50, estimator="two_point", rng=0)
    assert info.value.iteration == 1 and info.value.rho >= 1


def test_constant_step_too_large_names_the_iteration():
    task = random_stabilizable(2, 1, 0)
    with pytest.raises(NotStabilizingError, match=r"iteration 1: K does not stabilize the task: rho\(A - B K\) == .*"
                       r"\(step == 1e\+06 leaves the stabilizing set; take a smaller step, or step=None\)") as info:
        gradient_descent(task, initial_gain(task, cost_ratio=2.0), iterations=5, step=1e6)
    assert info.value.iteration == 1 and info.value.rho == pytest.approx(task.spectral_radius(
        initial_gain(task, cost_ratio=2.0) - 1e6 * task.gradient(initial_gain(task, cost_ratio=2.0))))


def test_non_stabilizing_start():
    task = random_stabilizable(2, 1, 0, spectral_radius=1.5)
    with pytest.raises(NotStabilizingError, match=r"^K0 does not stabilize the task: rho\(A - B K0\) == 1.5, must be < 1$"):
        gauss_newton(task, np.zeros((1, 2)), iterations=5)


@pytest.mark.parametrize("call, match", [
    (lambda t, K: gradient_descent(t, K, iterations=-1), r"iterations == -1, must be an integer >= 0"),
    (lambda t, K: gradient_descent(t, K, iterations=3, step=0.0), r"step == 0.0, must be a finite number > 0"),
    (lambda t, K: gradient_descent(t, K, iterations=3, initial_step=-1.0), r"initial_step == -1.0, must be"),
    (lambda t, K: natural_gradient(t, K, iterations=3, step="newton"), r"step == 'newton', must be 'fazel'"),
    (lambda t, K: gradient_descent(t, K[0], iterations=3), r"K0 must be a finite 2-D gain"),
    (lambda t, K: model_free_gradient_descent(t, K, step=0.1, iterations=2, radius=0.1, samples=0, horizon=5),
     r"samples == 0, must be an integer >= 1"),
    (lambda t, K: landscape.gauss_newton_rate(t, 1.5), r"step == 1.5, must be in \(0, 1\]"),
])
def test_parameter_errors(call, match):
    task = random_stabilizable(2, 1, 0)
    with pytest.raises(ParameterError, match=match):
        call(task, initial_gain(task, cost_ratio=2.0))
