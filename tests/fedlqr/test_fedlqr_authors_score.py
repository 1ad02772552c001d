"""The authors' score of agent 1 (ltijepa.fedlqr.objective.authors_score and authors_gap):
the 100-step cost from x_0 = 1 of their compute_cost.m, against a literal rollout."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltijepa.chapters.fedlqr import INITIAL_GAIN, NOMINAL_A, NOMINAL_B, WEIGHT_Q, WEIGHT_R, growing_agents
from ltijepa.errors import ParameterError, ShapeError
from ltijepa.fedlqr.estimates import heterogeneity_bias
from ltijepa.fedlqr.objective import AUTHORS_HORIZON, authors_gap, authors_score
from ltijepa.fedlqr.rounds import FedLQRConfig, run_fedlqr
from ltijepa.lqr import Task


def rollout_score(A, B, Q, R, K, T=100):
    """sum_{t<T} x_t^T (Q + K^T R K) x_t, x_0 = 1, x_{t+1} = (A - B K) x_t, one step at a time."""
    x, total = np.ones(A.shape[0]), 0.0
    for _ in range(T):
        u = -K @ x
        total += x @ Q @ x + u @ R @ u
        x = A @ x + B @ u
    return total


def test_the_authors_initial_gap_is_0933():
    task = Task(NOMINAL_A, NOMINAL_B, WEIGHT_Q, WEIGHT_R)
    assert AUTHORS_HORIZON == 100
    assert round(float(authors_gap(task, INITIAL_GAIN)), 3) == 0.933
    # the exact Sigma0 = I cost puts the same gain ~3.3x further from the optimum
    assert (task.cost(INITIAL_GAIN) - task.optimal_cost()) / task.optimal_cost() == pytest.approx(3.069, abs=1e-3)


def test_the_score_is_a_literal_rollout_at_every_gain_of_a_short_run():
    tasks = growing_agents(10)
    config = FedLQRConfig(rounds=20)
    history = run_fedlqr(tasks, INITIAL_GAIN, config, replicas=2, rng=1)
    scores = authors_score(tasks[0], history.server_gains)
    assert scores.shape == (2, 21)
    t = tasks[0]
    literal = np.array([[rollout_score(t.A, t.B, t.Q, t.R, K) for K in replica] for replica in history.server_gains])
    np.testing.assert_allclose(scores, literal, rtol=1e-12)
    optimum = rollout_score(t.A, t.B, t.Q, t.R, t.optimal_gain())
    np.testing.assert_allclose(authors_gap(t, history.server_gains), (literal - optimum) / optimum, rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-1.0, 1.0), min_size=9, max_size=9), st.integers(1, 30))
def test_the_score_is_a_literal_rollout_for_any_gain_and_horizon(entries, horizon):
    task = Task(NOMINAL_A, NOMINAL_B, WEIGHT_Q, WEIGHT_R)
    K = INITIAL_GAIN + np.reshape(entries, (3, 3))  # need not stabilize: the horizon is finite
    expected = rollout_score(task.A, task.B, task.Q, task.R, K, horizon)
    assert float(authors_score(task, K, horizon=horizon)) == pytest.approx(expected, rel=1e-12)


def test_the_score_is_one_transposed_p_one_in_the_limit():
    # at rho(A - B K_0) = 0.83 the 100-step cut is below rounding: 1^T P_100 1 = 1^T P_K 1
    task = Task(NOMINAL_A, NOMINAL_B, WEIGHT_Q, WEIGHT_R)
    ones = np.ones(3)
    for K in (INITIAL_GAIN, task.optimal_gain()):
        assert float(authors_score(task, K)) == pytest.approx(ones @ task.P(K) @ ones, rel=1e-13)
    assert float(authors_score(task, INITIAL_GAIN, horizon=5)) < 0.99 * ones @ task.P(INITIAL_GAIN) @ ones


def test_bad_score_arguments():
    task = Task(NOMINAL_A, NOMINAL_B, WEIGHT_Q, WEIGHT_R)
    with pytest.raises(ShapeError, match=r"gains: expected shape \(\.\.\., 3, 3\), found \(3, 2\)"):
        authors_score(task, np.zeros((3, 2)))
    with pytest.raises(ParameterError, match="horizon == 0"):
        authors_score(task, INITIAL_GAIN, horizon=0)
    with pytest.raises(ParameterError, match="score == 'mean'"):
        heterogeneity_bias([task], INITIAL_GAIN, score="mean")


def test_bias_under_the_authors_score_is_zero_at_eps_zero_and_positive_otherwise():
    assert heterogeneity_bias(growing_agents(3, 0.0), INITIAL_GAIN, score="authors") == pytest.approx(0.0, abs=1e-9)
    assert heterogeneity_bias(growing_agents(3), INITIAL_GAIN, score="authors") > 0
