"""The zeroth-order estimators FedLQR's agents use are unbiased for the smoothed cost.

For the smoothed finite-horizon cost f_r(K) = E_{V uniform in the ball ||V||_F <= r} C_l(K + V)
both estimators have mean nabla f_r(K) (Fazel et al. 2018, Lemma 2 / Flaxman et al.;
Malik et al. 2019). Two independent references:

- scalar task (d = 1): the "sphere" is {-r, +r} and f_r'(k) = (C_l(k + r) - C_l(k - r)) / (2 r)
  with C_l(k) = sigma0 (q + rho k^2) sum_t c^(2t), c = a - b k, in closed form;
- 3 x 3 task: nabla f_r(K) = E_V nabla C_l(K + V), averaged over many V of exact
  (model-based) gradients; with l = 150 the truncation is below 1e-20 of the cost.

Statistical tolerance (fixed seeds, so the tests are deterministic): every entry of the
mean estimate lies within 4.5 standard errors of the reference (the standard error of the
difference of the two Monte Carlo means). Each test also shows that the same criterion
rejects a wrong reference (the other rollout convention's target, or the reference scaled
by 1.25 for the noisier one-point and 1.1 for the two-point estimator), so it can fail.
"""

import numpy as np
import pytest

from ltijepa.lqr import Task, TaskBatch
from ltijepa.chapters.fedlqr import INITIAL_GAIN, nominal_task
from ltijepa.lqr.zeroth_order import estimate_gradient

Z = 4.5


def mean_and_se(estimates):
    """Mean and standard error over the first axis."""
    return estimates.mean(axis=0), estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))


def zeroth_order_draws(task, K, estimator, *, copies, samples, radius, horizon, skip_initial, seed):
    """``copies`` independent estimates, each averaging ``samples`` perturbations: (copies, m, n)."""
    batch = TaskBatch.from_tasks([task] * copies)
    return estimate_gradient(batch, K, estimator=estimator, radius=radius, samples=samples,
                             horizon=horizon, rng=seed, skip_initial=skip_initial).gradient


def scalar_finite_horizon_cost(k, *, a, b, q, rho, sigma0, horizon, skip_initial):
    c = a - b * k
    t = np.arange(horizon) + int(skip_initial)
    return sigma0 * (q + rho * k**2) * np.sum(c ** (2 * t))


SCALAR = dict(a=1.1, b=1.0, q=1.0, rho=1.0, sigma0=2.0, horizon=10)


@pytest.mark.parametrize("estimator", ["one_point", "two_point"])
@pytest.mark.parametrize("skip_initial", [False, True])
def test_scalar_estimators_are_unbiased_for_the_smoothed_cost(estimator, skip_initial):
    task = Task([[SCALAR["a"]]], [[SCALAR["b"]]], [[SCALAR["q"]]], [[SCALAR["rho"]]], [[SCALAR["sigma0"]]])
    k, r = 0.6, 0.1
    draws = zeroth_order_draws(task, [[k]], estimator, copies=4000, samples=50, radius=r,
                               horizon=SCALAR["horizon"], skip_initial=skip_initial, seed=11)[:, 0, 0]
    mean, se = mean_and_se(draws)

    def smoothed_gradient(skip):
        cost = lambda x: scalar_finite_horizon_cost(x, **SCALAR, skip_initial=skip)  # noqa: E731
        return (cost(k + r) - cost(k - r)) / (2 * r)

    assert abs(mean - smoothed_gradient(skip_initial)) <= Z * se
    # power: the other rollout convention's target differs by d/dk sigma0 (q + rho k^2) = 2.4
    assert abs(mean - smoothed_gradient(not skip_initial)) > Z * se


def ball_average_of_exact_gradients(task, K, radius, draws, seed):
    """E_V nabla C(K + V), V uniform in the Frobenius ball of radius r: mean and SE, (m, n).

    Antithetic pairs (V, -V) (the ball is symmetric) cancel the first-order variation.
    """
    rng = np.random.default_rng(seed)
    d = task.m * task.n
    G = rng.standard_normal((draws, task.m, task.n))
    lengths = radius * rng.uniform(size=draws) ** (1 / d)
    V = G / np.linalg.norm(G, axis=(1, 2), keepdims=True) * lengths[:, None, None]
    batch = TaskBatch.from_tasks([task] * draws)
    return mean_and_se((batch.gradient(K + V) + batch.gradient(K - V)) / 2)


@pytest.mark.parametrize("estimator, power", [("one_point", 1.25), ("two_point", 1.1)])
def test_matrix_estimators_are_unbiased_for_the_smoothed_cost(estimator, power):
    task, K, r = nominal_task(), INITIAL_GAIN, 0.1
    draws = zeroth_order_draws(task, K, estimator, copies=4000, samples=50, radius=r, horizon=150,
                               skip_initial=False, seed=5)
    mean, se = mean_and_se(draws)
    reference, reference_se = ball_average_of_exact_gradients(task, K, r, 4000, seed=6)
    tolerance = Z * np.hypot(se, reference_se)
    assert np.all(np.abs(mean - reference) <= tolerance)
    # power: a reference off by 25% (one-point, the noisier) or 10% (two-point) is rejected
    assert np.any(np.abs(mean - power * reference) > tolerance)


def test_two_point_estimator_of_the_authors_convention_misses_the_initial_cost_gradient():
    # skip_initial drops x_0^T (Q + K^T R K) x_0, whose gradient is 2 R K Sigma0; with R = 20 I
    # the bias is large enough to see against the two-point estimator's noise.
    base = nominal_task()
    task = Task(base.A, base.B, base.Q, 20 * np.eye(3))
    K = task.optimal_gain()
    draws = zeroth_order_draws(task, K, "two_point", copies=4000, samples=50, radius=0.05,
                               horizon=150, skip_initial=True, seed=9)
    mean, se = mean_and_se(draws)
    reference, reference_se = ball_average_of_exact_gradients(task, K, 0.05, 4000, seed=10)
    tolerance = Z * np.hypot(se, reference_se)
    shifted = reference - 2 * task.R @ K @ task.Sigma0
    assert np.all(np.abs(mean - shifted) <= tolerance)
    assert np.any(np.abs(mean - reference) > tolerance)
