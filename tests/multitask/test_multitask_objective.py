"""The multitask objective, common stabilizers, the common optimum and task optima."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ltijepa.errors import NotStabilizableError, NotStabilizingError, ParameterError, ShapeError
from ltijepa.lqr import Task
from ltijepa.lqr.families import sample_pendulums, sample_unicycles, scalar_pair
from ltijepa.testing import lqr as lqr_st
from ltijepa.multitask.objective import (
    MultitaskObjective,
    common_optimum,
    find_common_stabilizer,
    lyapunov_safe_step,
    optimality_gaps,
    per_task_optima,
    random_family,
    scalar_stabilizing_interval,
)


def test_average_cost_and_gradient_match_the_tasks():
    tasks = sample_pendulums(4, 0)
    objective = MultitaskObjective(tasks)
    K = find_common_stabilizer(tasks).K
    assert objective.cost(K) == pytest.approx(np.mean([t.cost(K) for t in tasks]), rel=1e-10)
    expected = np.mean([t.gradient(K) for t in tasks], axis=0)
    np.testing.assert_allclose(objective.gradient(K), expected, rtol=1e-8)
    np.testing.assert_allclose(objective.spectral_radius(K), [t.spectral_radius(K) for t in tasks])
    assert objective.is_stabilizing(K) and (objective.M, objective.n, objective.m) == (4, 2, 1)


def test_gradient_is_the_derivative_of_the_average_cost():
    tasks = sample_unicycles(3, 1)
    objective = MultitaskObjective(tasks)
    K = find_common_stabilizer(tasks).K
    direction = np.random.default_rng(0).standard_normal(K.shape)
    h = 1e-6
    numeric = (objective.cost(K + h * direction) - objective.cost(K - h * direction)) / (2 * h)
    assert numeric == pytest.approx(np.sum(objective.gradient(K) * direction), rel=1e-5)


@pytest.mark.parametrize("sampler", [sample_pendulums, sample_unicycles])
def test_common_stabilizer_stabilizes_every_task(sampler):
    for seed in range(5):
        tasks = sampler(6, seed)
        found = find_common_stabilizer(tasks)
        assert np.all(found.rho < 1.0)
        assert MultitaskObjective(tasks).is_stabilizing(found.K)


def test_lmi_is_used_when_the_mean_of_optima_fails():
    tasks = sample_pendulums(6, 0)  # the mean of the six optima does not stabilize them all
    assert not MultitaskObjective(tasks).is_stabilizing(per_task_optima(tasks).mean(axis=0))
    assert find_common_stabilizer(tasks).method == "common Lyapunov LMI"


def test_start_order_picks_the_candidate():
    tasks = sample_unicycles(4, 3)
    assert find_common_stabilizer(tasks).method == "mean of task optima"
    lmi_first = find_common_stabilizer(tasks, order=("lmi", "mean"))
    assert lmi_first.method == "common Lyapunov LMI" and np.all(lmi_first.rho < 1)
    assert common_optimum(tasks, iterations=1, start_order=("lmi",)).start.method == "common Lyapunov LMI"
    with pytest.raises(NotStabilizableError, match=r"best candidate tried \(optima\)"):
        find_common_stabilizer(scalar_pair(2.0), order=("optima",))
    with pytest.raises(ParameterError, match=r"order == \('mean', 'guess'\), must be distinct names"):
        find_common_stabilizer(tasks, order=("mean", "guess"))
    with pytest.raises(ParameterError, match=r"order == \(\)"):
        find_common_stabilizer(tasks, order=())


@pytest.mark.parametrize("alpha", [1.01, 1.5, 3.0])
def test_scalar_counterexample_has_no_common_stabilizer(alpha):
    with pytest.raises(NotStabilizableError, match="does not prove that no common") as info:
        find_common_stabilizer(scalar_pair(alpha))
    assert info.value.rho >= 1.0 and info.value.status == "infeasible"
    first, second = (scalar_stabilizing_interval(t) for t in scalar_pair(alpha))
    assert second[1] <= first[0]  # disjoint: (-alpha-1, 1-alpha) and (alpha-1, alpha+1)


def test_scalar_pair_below_one_has_a_common_stabilizer():
    found = find_common_stabilizer(scalar_pair(0.9))
    assert np.all(found.rho < 1.0)


def test_common_optimum_is_stationary_and_beats_the_start():
    tasks = sample_unicycles(4, 2)
    solution = common_optimum(tasks, iterations=2000, tol=1e-7)
    objective = MultitaskObjective(tasks)
    assert solution.grad_norm <= 1e-7
    assert objective.cost(solution.K) < objective.cost(solution.start.K)
    assert np.all(optimality_gaps(tasks, solution.K) >= -1e-9)


def test_identical_tasks_share_their_optimum():
    task = sample_pendulums(1, 3)[0]
    solution = common_optimum([task, task, task], iterations=500, tol=1e-9)
    np.testing.assert_allclose(solution.K, task.optimal_gain(), rtol=1e-6)
    np.testing.assert_allclose(optimality_gaps([task, task], solution.K), 0.0, atol=1e-9)


def test_per_task_optima_are_the_dare_gains():
    tasks = sample_pendulums(3, 4)
    np.testing.assert_allclose(per_task_optima(tasks), np.stack([t.optimal_gain() for t in tasks]))


def test_given_start_is_used_and_checked():
    tasks = sample_pendulums(3, 5)
    K0 = find_common_stabilizer(tasks).K
    solution = common_optimum(tasks, iterations=3, K0=K0)
    assert solution.start.method == "given"
    np.testing.assert_array_equal(solution.history.K[0], K0)
    with pytest.raises(NotStabilizingError, match=r"^K0 does not stabilize task \d: rho\(A_\d - B_\d K0\) == ") as info:
        common_optimum(tasks, iterations=3, K0=np.zeros((1, 2)))
    assert info.value.task_index is not None


def test_scalar_stabilizing_interval_closed_form():
    assert scalar_stabilizing_interval(Task([[0.99]], [[0.1]], [[1.0]], [[1.0]])) == pytest.approx((-0.1, 19.9))
    assert scalar_stabilizing_interval(Task([[1.01]], [[-0.01]], [[1.0]], [[1.0]])) == pytest.approx((-201.0, -1.0))


@settings(max_examples=30)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_random_family_has_the_asked_sizes(n, m, seed):
    tasks = random_family(3, n, m, seed, spread=0.05)
    assert len(tasks) == 3 and all((t.n, t.m) == (n, m) for t in tasks)
    assert all(t.is_stabilizable() for t in tasks)


def test_random_family_is_reproducible():
    a, b = random_family(2, 2, 1, 7), random_family(2, 2, 1, 7)
    np.testing.assert_array_equal(a[1].A, b[1].A)


def test_bad_inputs_raise_specific_errors():
    pair = scalar_pair(0.5)
    objective = MultitaskObjective(pair)
    with pytest.raises(ShapeError, match=r"K: expected shape \(1, 1\) \(one shared gain\), found \(2, 1, 1\)"):
        objective.cost(np.zeros((2, 1, 1)))
    with pytest.raises(NotStabilizingError, match="does not stabilize task 0") as info:
        objective.cost([[-1.0]])
    assert info.value.rho == pytest.approx(1.5)
    with pytest.raises(ShapeError, match=r"expected \(n, m\) == \(1, 1\)"):
        MultitaskObjective([pair[0], Task(np.eye(2), np.ones((2, 1)), np.eye(2), [[1.0]])])
    with pytest.raises(ParameterError, match="margin == 0"):
        find_common_stabilizer(pair, margin=0)
    with pytest.raises(ShapeError, match=r"expected a scalar task \(n, m\) == \(1, 1\), found \(2, 1\)"):
        scalar_stabilizing_interval(Task(np.eye(2), np.ones((2, 1)), np.eye(2), [[1.0]]))
    with pytest.raises(ParameterError, match="b == 0.0, must be nonzero"):
        scalar_stabilizing_interval(Task([[0.5]], [[0.0]], [[1.0]], [[1.0]]))
    with pytest.raises(ParameterError, match="M == 0"):
        random_family(0, 2, 1, 0)
    with pytest.raises(ParameterError, match="spread == -0.1"):
        random_family(2, 2, 1, 0, spread=-0.1)


@settings(max_examples=40, deadline=None)
@given(lqr_st.tasks_with_gains(max_n=3, max_m=2), st.floats(0.0, 0.999))
def test_lyapunov_safe_step_keeps_every_task_stabilized(task_and_gain, fraction):
    """Any step below the bound gives a stabilizing gain (the formula's claim) ..."""
    task, K = task_and_gain
    other = Task(task.A * 0.9, task.B, task.Q, task.R, task.Sigma0)
    assume(other.spectral_radius(K) < 1)
    tasks = [task, other]
    step = lyapunov_safe_step(tasks, K)
    assume(np.isfinite(step))
    K_next = K - fraction * step * MultitaskObjective(tasks).gradient(K)
    assert all(t.spectral_radius(K_next) < 1 for t in tasks)


def test_lyapunov_safe_step_is_below_the_first_unstable_step():
    """... and the bound is not vacuous: on pendulums a step some multiple above it leaves K_stab."""
    tasks = sample_pendulums(4, 0)
    K = find_common_stabilizer(tasks).K
    step = lyapunov_safe_step(tasks, K)
    gradient = MultitaskObjective(tasks).gradient(K)
    factors = np.geomspace(1, 1e4, 200)
    unstable = [f for f in factors if max(t.spectral_radius(K - f * step * gradient) for t in tasks) >= 1]
    assert unstable and unstable[0] > 1
