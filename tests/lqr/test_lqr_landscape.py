"""Landscape checks of Fazel et al.: each passes on the true quantities and fails on broken ones."""

import numpy as np
import pytest
from hypothesis import assume, given, settings

from ltijepa.errors import ParameterError
from ltijepa.lqr import Task
from ltijepa.lqr import landscape
from ltijepa.lqr.families import random_stabilizable, sample_pendulums
from ltijepa.lqr.policy_gradient import gradient_descent, initial_gain
from ltijepa.testing import lqr as lqr_st


class GradientWithoutFactorTwo(Task):
    """A deliberately broken Lemma 1: E_K Sigma_K instead of 2 E_K Sigma_K."""

    def gradient(self, K):
        return self.E(K) @ self.Sigma(K)


class TransposedSigma(Task):
    """A deliberately broken Lemma 1: 2 E_K Sigma_K^T-like slip, 2 (Sigma_K E_K^T)^T with the
    factors in the wrong order (n = m only): 2 E_K^T Sigma_K."""

    def gradient(self, K):
        return 2 * self.E(K).T @ self.Sigma(K)


def test_finite_differences_of_a_polynomial():
    K = np.array([[0.3, -1.2], [2.0, 0.5]])
    cost = lambda X: float(np.sum(X**4) + X[0, 1] * X[1, 0])  # noqa: E731
    expected = 4 * K**3 + np.array([[0, K[1, 0]], [K[0, 1], 0]])
    np.testing.assert_allclose(landscape.finite_difference_gradient(cost, K, h=1e-3), expected, rtol=1e-10)
    with pytest.raises(ParameterError, match=r"h == 0.0, must be a finite number > 0"):
        landscape.finite_difference_gradient(cost, K, h=0.0)


def test_gradient_check_passes_for_lemma_1_and_fails_for_a_broken_gradient():
    task = random_stabilizable(3, 2, 0)
    K = initial_gain(task, cost_ratio=2.0)
    assert landscape.gradient_error(task, K) <= 1e-6
    broken = GradientWithoutFactorTwo(task.A, task.B, task.Q, task.R, task.Sigma0)
    assert landscape.gradient_error(broken, K) == pytest.approx(0.5, rel=1e-6)


def test_gradient_check_detects_a_transposed_sigma():
    task = random_stabilizable(2, 2, 1)
    K = initial_gain(task, cost_ratio=2.0)
    broken = TransposedSigma(task.A, task.B, task.Q, task.R, task.Sigma0)
    assert landscape.gradient_error(broken, K) > 1e-2


def test_gradient_error_at_a_zero_gradient():
    flat = type("Flat", (), {"cost": staticmethod(lambda K: 1.0), "gradient": staticmethod(np.zeros_like)})
    assert landscape.gradient_error(flat, np.zeros((1, 2))) == 0.0
    wrong = type("Wrong", (), {"cost": staticmethod(lambda K: 1.0), "gradient": staticmethod(np.ones_like)})
    assert landscape.gradient_error(wrong, np.zeros((1, 2))) == np.inf


@settings(max_examples=40)
@given(lqr_st.tasks_with_gains())
def test_gradient_domination_holds_with_constant_one_quarter(task_and_gain):
    """Cor. 5 of Fazel et al., and the sharper constant 1/4 derived in the chapter."""
    task, K = task_and_gain
    for constant in (1.0, 0.25):
        check = landscape.gradient_domination(task, K, constant=constant)
        assert check.holds, (constant, check.gap, check.bound)


@settings(max_examples=40)
@given(lqr_st.tasks_with_gains())
def test_cost_difference_lemma(task_and_gain):
    """C(K') - C(K) = -2 tr(Sigma_K' D^T E_K) + tr(Sigma_K' D^T (R + B^T P_K B) D), D = K - K'
    (Fazel et al.), the identity behind the chapter's derivations of the rates."""
    task, K = task_and_gain
    K_new = task.optimal_gain()
    assume(task.is_stabilizing(K_new))
    D = K - K_new
    Sigma_new, P = task.Sigma(K_new), task.P(K)
    rhs = -2 * np.trace(Sigma_new @ D.T @ task.E(K)) + np.trace(Sigma_new @ D.T @ (task.R + task.B.T @ P @ task.B) @ D)
    scale = max(task.cost(K), 1e-12)
    assert abs(task.cost(K_new) - task.cost(K) - rhs) <= 1e-8 * scale


def test_gradient_domination_along_a_descent_path_and_its_failures():
    task = sample_pendulums(1, 0)[0]
    history = gradient_descent(task, initial_gain(task, cost_ratio=10.0), iterations=200)
    check = landscape.gradient_domination(task, history.K)
    assert check.holds and check.gap.shape == (history.K.shape[0],)
    assert 0 < check.max_ratio <= 0.25
    # the bound is loose here (max ratio ~3e-3), so only a gradient 100x too small breaks it
    small = landscape.gradient_domination(task, history.K, gradient=lambda gains: 0.01 * np.stack([task.gradient(K) for K in gains]))
    assert not small.holds and small.max_ratio > 1
    # a wrong optimum (C* too small) breaks it near the optimum, where the gradient vanishes
    wrong_optimum = Task(task.A, task.B, task.Q, task.R, task.Sigma0)
    wrong_optimum._optimal = (task.optimal_gain(), 0.9 * task.P(task.optimal_gain()))  # C* 10% low
    assert not landscape.gradient_domination(wrong_optimum, history.K).holds


def test_domination_ratio_edge_cases():
    both_zero = landscape.Domination(gap=np.array([0.0, 1.0]), bound=np.array([0.0, 2.0]))
    assert both_zero.max_ratio == 0.5 and both_zero.holds
    violated = landscape.Domination(gap=np.array([1e-3]), bound=np.array([0.0]))
    assert violated.max_ratio == np.inf and not violated.holds
    roundoff = landscape.Domination(gap=np.array([3e-18]), bound=np.array([0.0]), atol=1e-11)
    assert roundoff.holds and roundoff.max_ratio == 0.0


def test_rates_are_contractions():
    task = random_stabilizable(3, 2, 0)
    K0 = initial_gain(task, cost_ratio=3.0)
    from ltijepa.lqr.policy_gradient import fazel_natural_step

    assert 0 < landscape.gauss_newton_rate(task) < landscape.gauss_newton_rate(task, 0.5) < 1
    assert 0 < landscape.natural_gradient_rate(task, fazel_natural_step(task, K0)) < 1


def test_the_chapters_nonconvexity_example_and_a_convex_counterpart():
    """The notebook's Lemma 2 check: both gains stabilizing, their midpoint not; the same
    check is False for two gains whose midpoint stabilizes."""
    example = Task(np.zeros((3, 3)), np.eye(3), np.eye(3), np.eye(3))
    K1 = 2.0 * np.outer([1, 0, 0], [0, 1, 0])

    def midpoint_check(Ka, Kb):
        return example.is_stabilizing(Ka) and example.is_stabilizing(Kb) and not example.is_stabilizing((Ka + Kb) / 2)

    assert midpoint_check(K1, K1.T)
    assert example.spectral_radius((K1 + K1.T) / 2) == pytest.approx(1.0)
    assert not midpoint_check(K1, 0.5 * K1.T)  # midpoint eigenvalues +-sqrt(0.5): stabilizing


def test_the_dare_check_fails_for_a_run_that_has_not_converged():
    """The notebook's Gauss-Newton check (gain within 1e-8 of the DARE gain) is False after
    three half steps: it can fail."""
    from ltijepa.lqr.policy_gradient import gauss_newton

    task = random_stabilizable(3, 2, 0)
    history = gauss_newton(task, initial_gain(task, cost_ratio=3.0), iterations=3, step=0.5)
    K_star = task.optimal_gain()
    assert np.linalg.norm(history.final - K_star) / np.linalg.norm(K_star) > 1e-8
