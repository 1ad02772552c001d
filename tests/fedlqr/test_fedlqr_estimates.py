"""The measurements made on FedLQR runs (ltijepa.fedlqr.estimates), each able to fail, and the
objective of the authors' rollout convention (ltijepa.fedlqr.objective)."""

import dataclasses

import numpy as np
import pytest

from ltijepa.errors import NotStabilizingError, ParameterError
from ltijepa.lqr import Task
from ltijepa.fedlqr.objective import CostWithoutInitialTerm
from ltijepa.fedlqr.rounds import FedLQRConfig, FedLQRHistory, run_fedlqr
from ltijepa.fedlqr.estimates import (
    averaged_estimate_variance,
    bias_order,
    every_iterate_stabilizing,
    floor_check,
    gap_summary,
    heterogeneity_bias,
    path_heterogeneity,
    rounds_to_gap,
    speedup,
    variance_scaling,
)
from ltijepa.chapters.fedlqr import (
    INITIAL_GAIN,
    ConvergenceExperiment,
    HeterogeneityExperiment,
    draw_weights,
    growing_agents,
    nominal_task,
    random_agents,
)
from ltijepa.multitask.heterogeneity import gradient_heterogeneity

# --- rounds to a gap, speed-up ------------------------------------------------------------


def synthetic_history(agent_one_costs, *, rho=None):
    """A history whose agent 1 has the given costs, shape (replicas, N + 1)."""
    costs = np.asarray(agent_one_costs, dtype=float)[:, :, None]
    R, N1, _ = costs.shape
    radii = np.full(costs.shape, 0.5) if rho is None else np.asarray(rho, dtype=float)[:, :, None]
    return FedLQRHistory(
        FedLQRConfig(rounds=N1 - 1), np.zeros((R, N1, 1, 1)), costs, radii, np.ones((R, N1 - 1)),
        np.zeros((R, N1 - 1), dtype=int), np.zeros((R, N1 - 1), dtype=bool), np.ones(N1 - 1, dtype=int),
    )


def test_rounds_to_gap():
    assert rounds_to_gap(np.array([3.0, 2.0, 1.0, 0.5]), 1.0) == 2
    assert rounds_to_gap(np.array([3.0, 2.0]), 1.0) is None


def test_speedup_counts_rounds_to_the_smallest_m_final_gap():
    rounds = np.arange(101)
    histories = {  # gap = 1 + 10 exp(-c M n): M agents converge M times faster
        M: synthetic_history([1.0 + 1.0 + 10 * np.exp(-0.01 * M * rounds)] * 2) for M in (1, 5)
    }
    result = speedup({M: h.relative_gap(1.0) for M, h in histories.items()})
    assert result.threshold == pytest.approx(1 + 10 * np.exp(-1.0))
    assert result.rounds == {1: 100, 5: 20}
    assert result.ratios == {1: 1.0, 5: 5.0}
    slow = {1: histories[1], 5: synthetic_history([np.full(101, 5.0)] * 2)}
    assert speedup({M: h.relative_gap(1.0) for M, h in slow.items()}).ratios[5] is None  # never reaches
    with pytest.raises(ParameterError, match="gaps == {}"):
        speedup({})


def test_gap_summary_over_realisations():
    gap = np.array([[1.0, 0.2, 0.1], [1.0, 0.4, 0.3], [1.0, 0.6, 0.2]])
    summary = gap_summary(gap, [0, 1])
    assert summary[0] == {"mean": 1.0, "sd": 0.0, "min": 1.0, "max": 1.0}
    assert summary[1]["mean"] == pytest.approx(0.4)
    assert summary[1]["sd"] == pytest.approx(0.2)
    assert (summary[1]["min"], summary[1]["max"]) == (0.2, 0.6)
    assert gap_summary(gap[:1], [2])[2]["sd"] == 0.0
    with pytest.raises(ParameterError, match=r"round == 3, must be an integer in \[0, 2\]"):
        gap_summary(gap, [3])


# --- the noise floor ----------------------------------------------------------------------

SMALL_CONVERGENCE = ConvergenceExperiment(agents=5, realisations=3)


def test_floor_check_holds_for_a_converged_run():
    task = nominal_task()
    start, optimum = SMALL_CONVERGENCE.run(rng=0)
    check = floor_check(start, optimum, task.optimal_cost(), window=0.2)
    assert check.holds and check.gap < 1e-4 * check.initial_gap
    assert every_iterate_stabilizing([start, optimum])


def test_floor_check_fails_for_a_run_stopped_too_early():
    short = dataclasses.replace(SMALL_CONVERGENCE, config=dataclasses.replace(SMALL_CONVERGENCE.config, rounds=300))
    start, optimum = short.run(rng=0)
    check = floor_check(start, optimum, nominal_task().optimal_cost(), window=0.2)
    assert not check.holds and check.gap > check.floor + check.tolerance


def test_floor_check_fails_for_the_authors_decaying_step():
    # eta_l sum eta_g < 4e-3 in total: the authors' schedule cannot reach the optimum
    config = dataclasses.replace(FedLQRConfig(rounds=300), gradient="two_point", skip_initial=False)
    task = nominal_task()
    start = run_fedlqr([task] * 2, INITIAL_GAIN, config, replicas=3, rng=1)
    optimum = run_fedlqr([task] * 2, task.optimal_gain(), config, replicas=3, rng=2)
    assert not floor_check(start, optimum, task.optimal_cost(), window=0.2).holds


def test_floor_check_statistics_on_synthetic_runs():
    noise = np.random.default_rng(0).normal(0, 0.01, size=(5, 51))
    floor = synthetic_history(1.1 + noise)
    same = synthetic_history(1.1 + noise[::-1])
    assert floor_check(same, floor, 1.0, window=0.5).holds
    above = synthetic_history(1.1 + 0.05 + noise[::-1])  # 5 sigma of one realisation above
    assert not floor_check(above, floor, 1.0, window=0.5).holds
    with pytest.raises(ParameterError, match=r"window == 0, must be in \(0, 1\]"):
        floor_check(same, floor, 1.0, window=0)
    with pytest.raises(ParameterError, match="from_start has 1 realisation"):
        floor_check(synthetic_history(noise[:1]), floor, 1.0, window=0.5)
    with pytest.raises(ParameterError, match=r"z == 0.0, must be a finite number > 0"):
        floor_check(same, floor, 1.0, window=0.5, z=0.0)


# --- stability ----------------------------------------------------------------------------


def test_every_iterate_stabilizing_detects_a_destabilized_agent():
    assert every_iterate_stabilizing([synthetic_history(np.ones((2, 4)))])
    rho = np.full((2, 4), 0.5)
    rho[1, 3] = 1.0  # one agent, one iterate, on the boundary
    safe, unsafe = synthetic_history(np.ones((2, 4))), synthetic_history(np.ones((2, 4)), rho=rho)
    assert not every_iterate_stabilizing([safe, unsafe])
    # a real run whose step overshoots, safety="report"
    config = FedLQRConfig(local_step=2.0, global_step=1.0, global_decay=1.0, rounds=2, radius=0.01, horizon=5)
    tasks = [Task([[1.2]], [[1.0]], [[1.0]], [[1.0]]), Task([[1.0]], [[1.0]], [[1.0]], [[1.0]])]
    history = run_fedlqr(tasks, [[0.5]], config, rng=0)
    assert not every_iterate_stabilizing([history])


# --- variance of the server average -------------------------------------------------------


def test_averaged_variance_scales_as_one_over_m():
    variances = averaged_estimate_variance(nominal_task(), INITIAL_GAIN, (1, 4), FedLQRConfig(), draws=600, rng=0)
    holds, ratios = variance_scaling(variances)
    assert holds and ratios[4] == pytest.approx(4, rel=0.25)


def test_variance_scaling_fails_when_agents_share_their_draws():
    # what a batch that reused one agent's perturbations for all would measure: no reduction
    assert not variance_scaling({1: (100.0, 3.0), 10: (100.0, 3.0)})[0]
    assert variance_scaling({1: (100.0, 3.0), 10: (10.0, 0.3)})[0]
    with pytest.raises(ParameterError, match=r"variances has M in \[10\], must include M = 1"):
        variance_scaling({10: (1.0, 0.1)})
    with pytest.raises(ParameterError, match="config.gradient == 'exact'"):
        averaged_estimate_variance(nominal_task(), INITIAL_GAIN, (1,), FedLQRConfig(gradient="exact"), draws=10)
    with pytest.raises(ParameterError, match="draws == 1"):
        averaged_estimate_variance(nominal_task(), INITIAL_GAIN, (1,), FedLQRConfig(), draws=1)


# --- heterogeneity bias and its order -----------------------------------------------------


def test_bias_is_zero_without_heterogeneity_and_of_order_eps_squared():
    weights = draw_weights(10, 0)
    assert heterogeneity_bias(random_agents(0.0, weights), INITIAL_GAIN) == pytest.approx(0.0, abs=1e-12)
    levels = np.array([0.025, 0.05, 0.1])
    biases = HeterogeneityExperiment().biases(levels, weights)
    assert np.all(biases > 0) and np.all(np.diff(biases) > 0)
    assert bias_order(levels, biases) == pytest.approx(2.0, abs=0.1)


def test_bias_order_and_bias_errors():
    assert bias_order([1.0, 2.0], [3.0, 24.0]) == pytest.approx(3.0)
    with pytest.raises(ParameterError, match="need >= 2 pairs"):
        bias_order([0.1], [0.01])
    with pytest.raises(ParameterError, match="all must be > 0"):
        bias_order([0.0, 0.1], [0.0, 0.01])
    with pytest.raises(ParameterError, match="common optimum not reached"):
        heterogeneity_bias(random_agents(0.1, draw_weights(10, 0)), INITIAL_GAIN, iterations=2)
    with pytest.raises(NotStabilizingError):
        heterogeneity_bias(growing_agents(30), INITIAL_GAIN)


# --- gradient heterogeneity along the path ------------------------------------------------


def test_path_heterogeneity_is_the_max_gap_along_the_path():
    weights = draw_weights(4, 1)
    config = FedLQRConfig(rounds=20)
    tasks = random_agents(0.1, weights)
    history = run_fedlqr(tasks, INITIAL_GAIN, config, replicas=2, rng=0)
    rounds, g_max = path_heterogeneity(history, tasks, every=10)
    assert rounds.tolist() == [0, 10, 20]
    assert g_max[1] == pytest.approx(gradient_heterogeneity(tasks, history.server_gains[0, 10]).max())
    with pytest.raises(ParameterError, match=r"every == 0, must be an integer >= 1"):
        path_heterogeneity(history, tasks, every=0)
    identical = random_agents(0.0, weights)
    _, zero = path_heterogeneity(run_fedlqr(identical, INITIAL_GAIN, config, rng=0), identical, every=10)
    assert np.all(zero == 0)


# --- the authors' rollout convention ------------------------------------------------------


def test_initial_cost_skipped_objective_and_its_biased_minimizer():
    task = nominal_task()
    objective = CostWithoutInitialTerm(task)
    K = INITIAL_GAIN + 0.05 * np.arange(9).reshape(3, 3) / 9
    h = 1e-6
    E = np.zeros((3, 3))
    E[1, 2] = 1.0
    finite_difference = (objective.cost(K + h * E) - objective.cost(K - h * E)) / (2 * h)
    assert objective.gradient(K)[1, 2] == pytest.approx(finite_difference, rel=1e-6)
    K_star = task.optimal_gain()
    np.testing.assert_allclose(objective.gradient(K_star), -2 * task.R @ K_star, atol=1e-9)
    K_skip = objective.minimizer()
    assert np.linalg.norm(objective.gradient(K_skip)) < 1e-6
    assert (task.cost(K_skip) - task.optimal_cost()) / task.optimal_cost() > 0.01
    with pytest.raises(NotStabilizingError):
        objective.cost(np.zeros((3, 3)))
