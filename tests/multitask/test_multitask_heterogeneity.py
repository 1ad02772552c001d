"""Parameter distances epsilon and gradient gaps g_ij; the epsilon baseline f_het."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ltijepa.errors import NotStabilizingError, ParameterError, ShapeError
from ltijepa.lqr import Task, TaskBatch
from ltijepa.multitask.epsilon_baseline import NORMS, epsilon_bound
from ltijepa.lqr.families import sample_pendulums, scalar_pair
from ltijepa.multitask.heterogeneity import (
    gradient_heterogeneity,
    max_pairwise_distance,
    parameter_heterogeneity,
    shared_gain,
)
from ltijepa.errors import NotStabilizableError
from ltijepa.multitask.objective import find_common_stabilizer, random_family


@pytest.mark.parametrize("alpha", [0.5, 1.5, 3.0])
def test_scalar_pair_epsilons_are_the_talks(alpha):
    eps = parameter_heterogeneity(scalar_pair(alpha))
    assert eps.eps_A == pytest.approx(2 * alpha) and eps.eps_B == 0.0
    assert eps.eps_Q == eps.eps_R == eps.eps_Sigma0 == 0.0


def test_similar_looking_pair_has_small_epsilons():
    """The talk's x' = 0.99 x + 0.1 u and x' = 1.01 x + 0.01 u."""
    pair = [Task([[0.99]], [[0.1]], [[1.0]], [[1.0]]), Task([[1.01]], [[0.01]], [[1.0]], [[1.0]])]
    eps = parameter_heterogeneity(pair)
    assert eps.eps_A == pytest.approx(0.02) and eps.eps_B == pytest.approx(0.09)


def test_max_pairwise_distance_uses_the_spectral_norm():
    stack = np.array([np.diag([1.0, 0.0]), np.diag([0.0, 1.0])])
    assert max_pairwise_distance(stack) == pytest.approx(1.0)
    assert max_pairwise_distance(stack, "fro") == pytest.approx(np.sqrt(2))
    with pytest.raises(ShapeError, match=r"expected shape \(M, p, q\), found \(2, 2\)"):
        max_pairwise_distance(np.eye(2))


def test_gradient_gaps_match_the_task_gradients():
    tasks = sample_pendulums(4, 1)
    K = find_common_stabilizer(tasks).K
    g = gradient_heterogeneity(tasks, K)
    for i in range(4):
        for j in range(4):
            expected = np.linalg.norm(tasks[i].gradient(K) - tasks[j].gradient(K))
            assert g[i, j] == pytest.approx(expected, rel=1e-8, abs=1e-10)
    np.testing.assert_array_equal(g, g.T)
    assert np.all(np.diag(g) == 0)
    np.testing.assert_array_equal(gradient_heterogeneity(TaskBatch.from_tasks(tasks), K), g)


def test_gradient_heterogeneity_names_the_unstabilized_task():
    tasks = [Task([[0.5]], [[1.0]], [[1.0]], [[1.0]]), Task([[2.5]], [[1.0]], [[1.0]], [[1.0]])]
    with pytest.raises(NotStabilizingError, match=r"task 1: rho\(A_1 - B_1 K\) == 2.5") as info:
        gradient_heterogeneity(tasks, [[0.0]])
    assert info.value.rho == pytest.approx(2.5) and info.value.task_index == 1
    with pytest.raises(ShapeError, match=r"expected shape \(1, 1\) \(one shared gain\), found \(1, 2\)"):
        gradient_heterogeneity(tasks, [[0.0, 1.0]])
    with pytest.raises(ShapeError, match=r"found \(2, 1, 1\)"):
        shared_gain(TaskBatch.from_tasks(tasks), np.zeros((2, 1, 1)))


@st.composite
def families_with_gain(draw):
    n, m = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**32 - 1))
    spread = draw(st.sampled_from([0.02, 0.1, 0.3]))
    tasks = random_family(draw(st.integers(2, 4)), n, m, seed, spread=spread)
    try:
        K = find_common_stabilizer(tasks).K
    except NotStabilizableError:
        assume(False)
    return tasks, K


@settings(max_examples=40)
@given(families_with_gain())
def test_epsilon_baseline_dominates_every_gradient_gap(family):
    tasks, K = family
    g = gradient_heterogeneity(tasks, K)
    exact, cost = (epsilon_bound(tasks, K, norms=norms) for norms in NORMS)
    off = ~np.eye(len(tasks), dtype=bool)
    assert np.all(g[off] <= exact.pairwise[off] * (1 + 1e-9))
    assert g.max() <= exact.value * (1 + 1e-9)
    assert np.all(exact.pairwise <= cost.pairwise * (1 + 1e-9))  # cost bounds only loosen


@settings(max_examples=20)
@given(families_with_gain())
def test_epsilon_baseline_is_linear_in_the_epsilons(family):
    tasks, K = family
    result = epsilon_bound(tasks, K)
    directed = result.h @ result.eps.as_array()
    np.testing.assert_allclose(result.pairwise, np.minimum(directed, directed.T), rtol=1e-12)
    assert np.all(result.h >= 0)


def test_identical_tasks_have_zero_baseline():
    task = sample_pendulums(1, 2)[0]
    result = epsilon_bound([task, task], task.optimal_gain())
    assert result.value == 0.0


def test_epsilon_baseline_errors():
    pair = scalar_pair(0.5)
    with pytest.raises(ParameterError, match="norms == 'fast', must be one of"):
        epsilon_bound(pair, [[0.0]], norms="fast")
    with pytest.raises(ParameterError, match="M == 1 tasks, must be >= 2"):
        epsilon_bound(pair[:1], [[0.0]])
    with pytest.raises(NotStabilizingError, match="does not stabilize task 0"):
        epsilon_bound(pair, [[-1.0]])


def test_a_dropped_factor_in_the_baseline_is_caught(monkeypatch):
    """The baseline is close to g on the scalar pair x+ = +-0.2 x + u at K = 0 (g/f_het = 0.86),
    so the mutation 'grad C = E Sigma' (the factor 2 of grad C = 2 E Sigma dropped, halving every
    f_ij) violates g <= f_het there; on the chapter's pendulums, where g/f_het ~ 1e-4, it would not."""
    from ltijepa.multitask import epsilon_baseline as eb

    pair, K = scalar_pair(0.2), [[0.0]]
    g = gradient_heterogeneity(pair, K).max()
    assert 0.8 < g / epsilon_bound(pair, K).value < 1
    real = eb._pair_bound
    monkeypatch.setattr(eb, "_pair_bound", lambda *args: 0.5 * real(*args))
    assert g > epsilon_bound(pair, K).value
