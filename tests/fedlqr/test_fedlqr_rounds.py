"""FedLQR rounds: equivalences with plain policy gradient, the update, safety, histories, errors."""

import dataclasses

import numpy as np
import pytest

from ltijepa.errors import NotStabilizingError, ParameterError, ShapeError
from ltijepa.lqr import Task, TaskBatch
from ltijepa.fedlqr.rounds import (
    FedLQRConfig,
    FedLQRHistory,
    agent_costs,
    run_fedlqr,
)
from ltijepa.chapters.fedlqr import INITIAL_GAIN, growing_agents, nominal_task
from ltijepa.multitask.objective import common_optimum
from ltijepa.lqr.policy_gradient import model_free_gradient_descent

#: A constant-step config: eta_l eta_g = 2.5e-5, no decay, 40 rounds of the authors' estimator.
CONSTANT = FedLQRConfig(local_step=1e-4, global_step=0.25, global_decay=1.0, rounds=40)


def scalar(a=1.0, b=1.0):
    return Task([[a]], [[b]], [[1.0]], [[1.0]])


@pytest.mark.parametrize("estimator", ["one_point", "two_point"])
@pytest.mark.parametrize("skip_initial", [True, False])
def test_one_agent_one_local_step_equals_model_free_policy_gradient(estimator, skip_initial):
    task = nominal_task()
    config = dataclasses.replace(CONSTANT, gradient=estimator, skip_initial=skip_initial)
    fed = run_fedlqr([task], INITIAL_GAIN, config, rng=7)
    plain = model_free_gradient_descent(
        task, INITIAL_GAIN, step=config.local_step * config.global_step, iterations=config.rounds,
        radius=config.radius, samples=config.samples, horizon=config.horizon, estimator=estimator,
        rng=7, skip_initial=skip_initial,
    )
    # identical draws; K + eta_g (-eta_l g) and K - (eta_l eta_g) g differ only by round-off
    np.testing.assert_allclose(fed.server_gains[0], plain.K, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(fed.costs[0, :, 0], plain.cost, rtol=1e-12)
    assert fed.rollouts.sum() == plain.rollouts
    assert not np.allclose(plain.K[-1], plain.K[0])  # the runs did move


def test_the_equality_needs_the_same_seed():
    task = nominal_task()
    a = run_fedlqr([task], INITIAL_GAIN, CONSTANT, rng=7).server_gains[0, -1]
    b = model_free_gradient_descent(task, INITIAL_GAIN, step=2.5e-5, iterations=40, radius=0.1,
                                    samples=5, horizon=15, rng=8, skip_initial=True).K[-1]
    assert not np.allclose(a, b, rtol=1e-6)


def test_exact_round_is_the_average_of_local_gradient_steps():
    tasks = growing_agents(3, 0.02)
    batch = TaskBatch.from_tasks(tasks)
    config = FedLQRConfig(gradient="exact", local_step=3e-4, global_step=0.5, local_steps=2, rounds=1)
    K1 = run_fedlqr(tasks, INITIAL_GAIN, config).server_gains[0, 1]
    local = np.repeat(INITIAL_GAIN[None], 3, axis=0)
    for _ in range(2):  # eq-fedlqr-local, each agent on its own cost
        local = local - 3e-4 * batch.gradient(local)
    expected = INITIAL_GAIN + 0.5 * (local - INITIAL_GAIN).mean(axis=0)  # eq-fedlqr-server
    np.testing.assert_allclose(K1, expected, rtol=1e-13)


def test_exact_mode_with_one_local_step_is_gradient_descent_on_the_average_cost():
    tasks = growing_agents(4, 0.02)
    config = FedLQRConfig(gradient="exact", local_step=1e-3, global_step=1.0, global_decay=1.0,
                          rounds=3000)
    history = run_fedlqr(tasks, INITIAL_GAIN, config)
    reference = common_optimum(tasks, iterations=5000, K0=INITIAL_GAIN, tol=1e-10)
    np.testing.assert_allclose(history.server_gains[0, -1], reference.K, atol=1e-8)
    assert history.rollouts.sum() == 0


def test_exact_identical_agents_reach_the_dare_gain():
    task = nominal_task()
    config = FedLQRConfig(gradient="exact", local_step=2e-3, global_step=1.0, global_decay=1.0,
                          rounds=1500, local_steps=2)
    history = run_fedlqr([task] * 3, INITIAL_GAIN, config)
    np.testing.assert_allclose(history.server_gains[0, -1], task.optimal_gain(), atol=1e-9)
    gap = history.relative_gap(task.optimal_cost())
    assert gap[0, -1] < 1e-12 and np.all(np.diff(gap[0]) <= 1e-15)  # monotone for a small step


def test_global_step_schedule_is_recorded():
    history = run_fedlqr([nominal_task()], INITIAL_GAIN, dataclasses.replace(CONSTANT, global_decay=1.01), rng=0)
    np.testing.assert_allclose(history.global_steps[0], 0.25 / 1.01 ** np.arange(40), rtol=1e-14)
    assert not history.halvings.any() and not history.destabilizing.any()


def test_history_shapes_rollouts_and_reproducibility():
    tasks = growing_agents(3, 0.01)
    config = dataclasses.replace(CONSTANT, rounds=6, gradient="two_point", local_steps=2)
    a = run_fedlqr(tasks, INITIAL_GAIN, config, replicas=4, rng=3)
    b = run_fedlqr(tasks, INITIAL_GAIN, config, replicas=4, rng=3)
    assert isinstance(a, FedLQRHistory) and (a.replicas, a.rounds, a.M) == (4, 6, 3)
    assert a.server_gains.shape == (4, 7, 3, 3) and a.costs.shape == a.spectral_radii.shape == (4, 7, 3)
    assert a.global_steps.shape == a.halvings.shape == a.destabilizing.shape == (4, 6)
    # two-point: 2 rollouts per sample, 5 samples, 2 local steps, 3 agents
    assert a.rollouts.tolist() == [2 * 5 * 2 * 3] * 6
    assert a.rollouts_per_agent().tolist() == [20 * n for n in range(7)]
    np.testing.assert_array_equal(a.server_gains, b.server_gains)
    assert not np.allclose(a.server_gains[0, -1], a.server_gains[1, -1])  # replicas are independent
    np.testing.assert_allclose(a.costs, np.stack([TaskBatch.from_tasks(tasks).cost(K) for K in
                                                  a.server_gains.reshape(-1, 3, 3)]).reshape(4, 7, 3))


def test_costs_evaluated_in_blocks_of_rounds_match_round_by_round(monkeypatch):
    import ltijepa.fedlqr.rounds as module

    monkeypatch.setattr(module, "COST_BLOCK", 20)  # 3 rounds of 2 x 3 agents per block: 3 + 3 + 2
    tasks = growing_agents(30)[24:27]  # agents 25..27: K_0 leaves the last unstable at first
    history = run_fedlqr(tasks, INITIAL_GAIN, dataclasses.replace(CONSTANT, rounds=7), replicas=2, rng=1)
    for r in range(2):
        for n in range(8):
            K = history.server_gains[r, n]
            expected = [t.cost(K) if t.is_stabilizing(K) else np.inf for t in tasks]
            np.testing.assert_allclose(history.costs[r, n], expected, rtol=1e-12)
    assert np.isinf(history.costs[:, 0, 2]).all()


def test_relative_gap_is_the_authors_metric():
    task = nominal_task()
    history = run_fedlqr([task], INITIAL_GAIN, dataclasses.replace(CONSTANT, rounds=2), rng=0)
    c = task.optimal_cost()
    np.testing.assert_allclose(history.relative_gap(c), (history.costs[:, :, 0] - c) / c)
    assert history.relative_gap(c)[0, 0] == pytest.approx((task.cost(INITIAL_GAIN) - c) / c)


# --- safety -------------------------------------------------------------------------------

#: Two scalar agents; from k = 1 (closed loops 0.2 and 0.0) an exact step of 0.5 overshoots.
UNSAFE_TASKS = [scalar(1.2), scalar(1.0)]
UNSAFE = FedLQRConfig(gradient="exact", local_step=1.0, global_step=1.0, global_decay=1.0, rounds=3)


def test_report_flags_a_destabilizing_round_and_records_inf_costs_not_nan():
    history = run_fedlqr(UNSAFE_TASKS, [[0.5]], dataclasses.replace(UNSAFE, gradient="two_point", rounds=1,
                                                             local_step=2.0, radius=0.01, horizon=5), rng=0)
    assert history.destabilizing[0, 0]
    assert not history.stabilizing[0, 1].all()
    unstable = ~history.stabilizing[0, 1]
    assert np.all(np.isinf(history.costs[0, 1][unstable])) and not np.isnan(history.costs).any()


def test_raise_names_round_agent_and_radius():
    config = dataclasses.replace(UNSAFE, safety="raise", local_step=2.0)
    with pytest.raises(NotStabilizingError, match=r"^round 0: K_\{n\+1\} does not stabilize agent \d \(replica 0\): "
                       r"rho\(A - B K_\{n\+1\}\) == .*, must be < 1 \(the averaged gain, global step 1 after 0 halvings\)$") as info:
        run_fedlqr(UNSAFE_TASKS, [[0.5]], config)
    assert info.value.round == 0 and info.value.rho >= 1 and isinstance(info.value, NotStabilizingError)
    assert info.value.replica == 0 and info.value.agent is not None and info.value.iteration is None


def test_halve_retries_with_half_the_global_step_until_every_agent_stays_stable():
    config = dataclasses.replace(UNSAFE, safety="halve", local_step=2.0, rounds=5)
    history = run_fedlqr(UNSAFE_TASKS, [[0.5]], config)
    assert history.stabilizing.all() and not history.destabilizing.any()
    assert history.halvings[0, 0] >= 1
    np.testing.assert_allclose(history.global_steps[0], 1.0 / 2.0 ** history.halvings[0])


def test_halve_gives_up_after_max_halvings():
    config = dataclasses.replace(UNSAFE, safety="halve", local_step=2.0, max_halvings=0)
    with pytest.raises(NotStabilizingError, match="after 0 halvings"):
        run_fedlqr(UNSAFE_TASKS, [[0.5]], config)


def test_exact_mode_refuses_a_gain_that_does_not_stabilize_an_agent():
    with pytest.raises(NotStabilizingError, match=r"^round 0: K does not stabilize agent 1 \(replica 0\): rho\(A - B K\) == 2, "
                       r"must be < 1 \(use safety='halve' or smaller steps\)$") as info:
        run_fedlqr([scalar(1.2), scalar(3.0)], [[1.0]], UNSAFE)
    assert info.value.agent == 1 and info.value.rho == pytest.approx(2.0)


def test_zeroth_order_mode_runs_from_a_gain_that_leaves_agents_unstable():
    # the authors' M = 50 experiment: K_0 = 1.62 I does not stabilize agents 27..50
    tasks = growing_agents(30)
    history = run_fedlqr(tasks, INITIAL_GAIN, dataclasses.replace(CONSTANT, rounds=3), rng=0)
    assert history.stabilizing[0, 0, :26].all() and not history.stabilizing[0, 0, 26:].any()
    assert np.isinf(history.costs[0, 0, 26:]).all() and np.isfinite(history.costs[0, 0, :26]).all()


def test_agent_costs_marks_unstable_tasks_with_inf():
    tasks = [scalar(0.5), scalar(3.0), scalar(1.5)]
    batch = TaskBatch.from_tasks(tasks)
    gains = np.array([[[0.0]], [[0.0]], [[1.0]]])
    costs = agent_costs(batch, gains, batch.spectral_radius(gains))
    assert costs[1] == np.inf
    np.testing.assert_allclose(costs[[0, 2]], [tasks[0].cost([[0.0]]), tasks[2].cost([[1.0]])])


# --- errors -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "field, value, message",
    [
        ("local_step", 0.0, r"local_step == 0.0, must be a finite number > 0"),
        ("local_step", -1e-4, r"local_step == -0.0001, must be a finite number > 0"),
        ("global_step", float("nan"), r"global_step == nan, must be a finite number > 0"),
        ("global_step", float("inf"), r"global_step == inf"),
        ("local_step", True, r"local_step == True, must be a real number > 0"),
        ("global_decay", 0.5, r"global_decay == 0.5, must be >= 1"),
        ("local_steps", 0, r"local_steps == 0, must be an integer >= 1"),
        ("rounds", -1, r"rounds == -1, must be an integer >= 0"),
        ("rounds", 2.5, r"rounds == 2.5, must be an integer"),
        ("gradient", "three_point", r"gradient == 'three_point', must be one of"),
        ("safety", "ignore", r"safety == 'ignore', must be one of \('report', 'halve', 'raise'\)"),
        ("radius", 0, r"radius == 0"),
        ("samples", 0, r"samples == 0"),
        ("horizon", 0, r"horizon == 0"),
        ("max_halvings", -1, r"max_halvings == -1"),
    ],
)
def test_bad_settings_are_refused_with_the_value(field, value, message):
    with pytest.raises(ParameterError, match=message):
        FedLQRConfig(**{field: value})


def test_bad_inputs_of_a_run():
    task = nominal_task()
    with pytest.raises(ShapeError, match=r"K0: expected shape \(3, 3\), found \(2, 3\)"):
        run_fedlqr([task], np.ones((2, 3)), CONSTANT)
    with pytest.raises(ParameterError, match=r"replicas == 0, must be an integer >= 1"):
        run_fedlqr([task], INITIAL_GAIN, CONSTANT, replicas=0)
    with pytest.raises(ParameterError, match="config is a dict, must be a FedLQRConfig"):
        run_fedlqr([task], INITIAL_GAIN, {"rounds": 3})
    with pytest.raises(ShapeError, match=r"tasks\[1\]: expected \(n, m\) == \(3, 3\)"):
        run_fedlqr([task, scalar()], INITIAL_GAIN, CONSTANT)
    history = run_fedlqr([task], INITIAL_GAIN, dataclasses.replace(CONSTANT, rounds=1), rng=0)
    with pytest.raises(ParameterError, match=r"agent == 1, must be an integer in \[0, 0\]"):
        history.relative_gap(1.0, agent=1)
    with pytest.raises(ParameterError, match=r"optimal_cost == -1.0"):
        history.relative_gap(-1.0)


def test_overflowing_rollouts_are_an_error_naming_the_round():
    config = dataclasses.replace(CONSTANT, horizon=400, rounds=2)
    with pytest.raises(NotStabilizingError, match=r"^round 0: K \+- U does not stabilize agent 0 \(replica 0\): .* \(a rollout "
                       r"cost overflowed; decrease radius, use safety='halve' or smaller steps\)$") as info:
        run_fedlqr([scalar(40.0)], [[0.0]], config, rng=0)
    assert (info.value.agent, info.value.replica) == (0, 0) and info.value.rho > 1
