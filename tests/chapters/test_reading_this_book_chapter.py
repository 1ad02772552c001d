"""Tests of ltijepa.chapters.reading_this_book: the scalar cost and its rollouts."""

import numpy as np
import pytest

from ltijepa.chapters.reading_this_book import Config, rollout_costs, scalar_cost
from ltijepa.errors import ParameterError
from ltijepa.lqr import Task


def test_profiles():
    assert Config.for_profile("ci").n_rollouts < Config.for_profile("full").n_rollouts
    with pytest.raises(ParameterError, match="profile == 'fast'"):
        Config.for_profile("fast")


def test_scalar_cost_is_the_lyapunov_cost():
    a, b, q, r, sigma0 = 0.99, 0.1, 1.0, 0.1, 2.0
    task = Task([[a]], [[b]], [[q]], [[r]], Sigma0=[[sigma0]])
    for k in (1.0, 5.0, 12.0):
        assert scalar_cost(a, b, q, r, sigma0, k) == pytest.approx(task.cost([[k]]), rel=1e-12)


def test_rollouts_estimate_the_cost_and_a_wrong_formula_fails():
    a, b, q, r, sigma0, k = 0.99, 0.1, 1.0, 0.1, 2.0, 5.0
    costs = rollout_costs(a, b, q, r, sigma0, k, rollouts=20_000, steps=200, rng=np.random.default_rng(0))
    stderr = costs.std(ddof=1) / np.sqrt(costs.size)
    assert abs(costs.mean() - scalar_cost(a, b, q, r, sigma0, k)) <= 5 * stderr
    assert abs(costs.mean() - scalar_cost(a, b, q, r, 1.0, k)) > 5 * stderr  # without sigma0
