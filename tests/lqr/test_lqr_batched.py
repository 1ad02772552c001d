"""TaskBatch against Task on random tasks, the Lyapunov solver against scipy, and errors."""

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from ltijepa.errors import DataError, NotStabilizingError, ParameterError, ShapeError
from ltijepa.lqr import Task, TaskBatch
from ltijepa.lqr import batched
from ltijepa.lqr.families import random_stabilizable, sample_pendulums, scalar_pair
from ltijepa.testing import lqr as lqr_st

RTOL = 1e-10


def relative(a, b, scale=0.0):
    """||a - b|| / max(||b||, scale): relative error, with a floor for b ~ 0."""
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), scale)


def gradient_scale(task, K):
    """Size of the terms whose difference is the gradient, 2 (R + B^T P B) K Sigma_K."""
    P = task.P(K)
    return 2 * np.linalg.norm((task.R + task.B.T @ P @ task.B) @ K @ task.Sigma(K)) + 1e-300


@st.composite
def tasks_and_gains(draw):
    n, m = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    pairs = draw(st.lists(lqr_st.tasks_with_gains(n, m), min_size=1, max_size=4))
    return [t for t, _ in pairs], np.stack([K for _, K in pairs])


@settings(max_examples=40)
@given(tasks_and_gains())
def test_per_task_gains_match_task(tasks_gains):
    tasks, gains = tasks_gains
    batch = TaskBatch.from_tasks(tasks)
    cost, grad = batch.cost_and_gradient(gains)
    for i, (task, K) in enumerate(zip(tasks, gains)):
        assert cost[i] == pytest.approx(task.cost(K), rel=RTOL)
        assert relative(grad[i], task.gradient(K), gradient_scale(task, K)) <= RTOL
        assert relative(batch.P(gains)[i], task.P(K)) <= RTOL
        assert relative(batch.Sigma(gains)[i], task.Sigma(K)) <= RTOL
        assert batch.spectral_radius(gains)[i] == pytest.approx(task.spectral_radius(K), rel=1e-12)
    np.testing.assert_array_equal(batch.cost(gains), cost)
    np.testing.assert_array_equal(batch.gradient(gains), grad)
    assert batch.is_stabilizing(gains).all()


def test_shared_gain_on_pendulums():
    drawn = sample_pendulums(30, 1)
    K = np.mean([t.optimal_gain() for t in drawn], axis=0)
    stabilized = TaskBatch.from_tasks(drawn).is_stabilizing(K)
    tasks = [t for t, ok in zip(drawn, stabilized) if ok]  # the average gain misses a few
    assert len(tasks) >= 20
    batch = TaskBatch.from_tasks(tasks)
    cost, grad = batch.cost_and_gradient(K)
    assert cost.shape == (len(tasks),) and grad.shape == (len(tasks), 1, 2)
    for i, task in enumerate(tasks):
        assert cost[i] == pytest.approx(task.cost(K), rel=RTOL)
        assert relative(grad[i], task.gradient(K), gradient_scale(task, K)) <= RTOL
        assert relative(batch.E(K)[i], task.E(K), gradient_scale(task, K)) <= RTOL
    np.testing.assert_allclose(batch.optimal_costs(), [t.optimal_cost() for t in tasks])
    np.testing.assert_allclose(batch.optimal_gains()[:, 0], [t.optimal_gain()[0] for t in tasks])


def test_many_gains_for_one_task():
    task = random_stabilizable(3, 2, 5)
    rng = np.random.default_rng(0)
    gains = task.optimal_gain() + 0.02 * rng.standard_normal((50, 2, 3))
    batch = TaskBatch.from_tasks([task] * 50)
    np.testing.assert_allclose(batch.cost(gains), [task.cost(K) for K in gains], rtol=RTOL)


def test_attributes_are_stacked_and_read_only():
    tasks = [random_stabilizable(3, 2, s) for s in range(4)]
    batch = TaskBatch.from_tasks(tasks)
    assert (batch.M, batch.n, batch.m, len(batch)) == (4, 3, 2, 4)
    assert batch.A.shape == (4, 3, 3) and batch.B.shape == (4, 3, 2) and batch.R.shape == (4, 2, 2)
    np.testing.assert_array_equal(batch.Q[2], tasks[2].Q)
    np.testing.assert_array_equal(batch.Sigma0[1], tasks[1].Sigma0)
    assert batch.tasks == tuple(tasks)
    with pytest.raises(ValueError, match="read-only"):
        batch.A[0, 0, 0] = 1.0
    assert repr(batch) == "TaskBatch(M=4, n=3, m=2)"


@pytest.mark.parametrize("n", [2, 13])  # Kronecker path and scipy path (n > KRONECKER_MAX_N)
def test_lyapunov_batch_matches_scipy(n):
    rng = np.random.default_rng(n)
    F = rng.standard_normal((5, n, n))
    F *= 0.95 / np.max(np.abs(np.linalg.eigvals(F)), axis=-1)[:, None, None]
    G = rng.standard_normal((5, n, n))
    W = G @ np.swapaxes(G, 1, 2)
    X = batched.solve_lyapunov_batch(F, W)
    for i in range(5):
        reference = scipy.linalg.solve_discrete_lyapunov(F[i], W[i])
        assert relative(X[i], reference) <= 1e-10
        assert relative(F[i] @ X[i] @ F[i].T + W[i], X[i]) <= 1e-10


def test_lyapunov_batch_in_small_chunks(monkeypatch):
    rng = np.random.default_rng(1)
    F = 0.3 * rng.standard_normal((7, 3, 3))
    W = np.broadcast_to(np.eye(3), (7, 3, 3))
    whole = batched.solve_lyapunov_batch(F, W)
    monkeypatch.setattr(batched, "CHUNK_BYTES", 2 * 8 * 3**4)  # two tasks per chunk
    np.testing.assert_allclose(batched.solve_lyapunov_batch(F, W), whole, rtol=1e-14)


def test_lyapunov_batch_errors():
    with pytest.raises(ShapeError, match=r"expected shapes \(M, n, n\) and \(M, n, n\), found \(2, 2, 2\) and \(2, 3, 3\)"):
        batched.solve_lyapunov_batch(np.zeros((2, 2, 2)), np.zeros((2, 3, 3)))
    W = np.stack([np.eye(2), [[1.0, 1.0], [0.0, 1.0]]])
    with pytest.raises(DataError, match=r"W\[1\] must be symmetric"):
        batched.solve_lyapunov_batch(np.zeros((2, 2, 2)), W)


def test_mixed_sizes_are_rejected():
    with pytest.raises(ShapeError, match=r"tasks\[1\]: expected \(n, m\) == \(3, 2\) like tasks\[0\], found \(2, 1\)"):
        TaskBatch.from_tasks([random_stabilizable(3, 2, 0), sample_pendulums(1, 0)[0]])


def test_empty_and_non_task_inputs():
    with pytest.raises(ParameterError, match="must hold at least one Task"):
        TaskBatch.from_tasks([])
    with pytest.raises(ParameterError, match=r"tasks\[0\] == 3 of type int, must be a Task"):
        TaskBatch.from_tasks([3])


def test_gain_shape_and_finiteness():
    batch = TaskBatch.from_tasks(sample_pendulums(3, 0))
    with pytest.raises(ShapeError, match=r"K: expected shape \(1, 2\) or \(3, 1, 2\), found \(2, 1, 2\)"):
        batch.cost(np.zeros((2, 1, 2)))
    with pytest.raises(DataError, match="K has non-finite entries"):
        batch.cost([[np.nan, 0.0]])


@pytest.mark.parametrize("method", ["cost", "gradient", "P", "Sigma", "E", "cost_and_gradient"])
def test_non_stabilizing_gain_names_the_first_task(method):
    plus, minus = scalar_pair(0.9)
    stable = Task([[0.5]], [[1.0]], [[1.0]], [[1.0]])
    batch = TaskBatch.from_tasks([stable, plus, minus])
    K = [[-0.3]]  # closed loops 0.8, 1.2, -0.6: task 1 fails
    with pytest.raises(NotStabilizingError, match=r"task 1: rho\(A_1 - B_1 K\) == 1.2, must be < 1 \(1 of 3") as info:
        getattr(batch, method)(K)
    assert isinstance(info.value, NotStabilizingError)
    assert info.value.task_index == 1 and info.value.rho == pytest.approx(1.2)
    np.testing.assert_array_equal(batch.is_stabilizing(K), [True, False, True])
