"""Task families: the talk's matrices and laws, reproducible sampling, and parameter errors."""

import numpy as np
import pytest

from ltijepa.errors import ParameterError
from ltijepa.lqr.families import (
    GRAVITY,
    PENDULUM_LAW,
    UNICYCLE_LAW,
    pendulum,
    random_stabilizable,
    sample_pendulums,
    sample_unicycles,
    scalar_pair,
    unicycle,
)


def test_pendulum_is_the_forward_euler_linearisation():
    l, m, q, r, dt = 0.8, 0.3, 0.2, 0.02, 0.05
    task = pendulum(l, m, q, r, dt=dt)
    np.testing.assert_allclose(task.A, [[1.0, dt], [GRAVITY / l * dt, 1.0]], rtol=1e-15)
    np.testing.assert_allclose(task.B, [[0.0], [dt / (m * l**2)]], rtol=1e-15)
    np.testing.assert_allclose(task.Q, q * np.eye(2))
    np.testing.assert_allclose(task.R, [[r]])
    np.testing.assert_allclose(task.Sigma0, np.eye(2))
    assert max(abs(np.linalg.eigvals(task.A))) > 1  # upright: open-loop unstable
    assert task.is_stabilizable()


def test_unicycle_linearisation():
    v0, th, dt = 1.2, 0.4, 0.05
    task = unicycle(v0, th, 0.3, 0.02, dt=dt)
    expected_A = np.eye(3) + dt * np.array([[0, 0, -v0 * np.sin(th)], [0, 0, v0 * np.cos(th)], [0, 0, 0]])
    expected_B = dt * np.array([[np.cos(th), 0], [np.sin(th), 0], [0, 1]])
    np.testing.assert_allclose(task.A, expected_A, rtol=1e-15)
    np.testing.assert_allclose(task.B, expected_B, rtol=1e-15)
    assert task.is_stabilizable()
    assert task.is_stabilizing(task.optimal_gain())


@pytest.mark.parametrize("sampler, law, names", [
    (sample_pendulums, PENDULUM_LAW, ("l", "m", "q", "r")),
    (sample_unicycles, UNICYCLE_LAW, ("v0", "theta0", "q", "r")),
])
def test_samplers_follow_the_talk_laws_and_are_seeded(sampler, law, names):
    tasks = sampler(200, np.random.default_rng(3))
    again = sampler(200, 3)
    for t1, t2 in zip(tasks, again):
        np.testing.assert_array_equal(t1.A, t2.A)
        np.testing.assert_array_equal(t1.B, t2.B)
    q = np.array([t.Q[0, 0] for t in tasks])
    r = np.array([t.R[0, 0] for t in tasks])
    assert law[2][0] <= q.min() and q.max() <= law[2][1]
    assert law[3][0] <= r.min() and r.max() <= law[3][1]
    assert q.max() - q.min() > 0.8 * (law[2][1] - law[2][0])  # spread over the interval
    assert all(t.is_stabilizable() for t in tasks[:20])


def test_pendulum_sample_lengths_and_masses_in_range():
    for task in sample_pendulums(100, 0):
        g_over_l = task.A[1, 0] / 0.05
        l = GRAVITY / g_over_l
        m = 0.05 / (task.B[1, 0] * l**2)
        assert 0.5 - 1e-12 <= l <= 1.0 + 1e-12
        assert 0.1 - 1e-12 <= m <= 0.5 + 1e-12


def test_scalar_pair_has_no_common_stabilizing_gain():
    plus, minus = scalar_pair(1.5)
    gains = np.linspace(-5, 5, 2001)
    common = [k for k in gains if plus.is_stabilizing([[k]]) and minus.is_stabilizing([[k]])]
    assert common == []
    small_plus, small_minus = scalar_pair(0.5)
    assert small_plus.is_stabilizing([[0.0]]) and small_minus.is_stabilizing([[0.0]])


def test_random_stabilizable():
    task = random_stabilizable(4, 2, 0, spectral_radius=1.3)
    assert max(abs(np.linalg.eigvals(task.A))) == pytest.approx(1.3)
    assert task.is_stabilizable()
    assert (task.n, task.m) == (4, 2)
    np.testing.assert_array_equal(task.A, random_stabilizable(4, 2, 0, spectral_radius=1.3).A)


@pytest.mark.parametrize("call, match", [
    (lambda: pendulum(-0.5, 0.3, 0.2, 0.02), r"l == -0.5, must be a finite number > 0"),
    (lambda: pendulum(0.5, 0.0, 0.2, 0.02), r"m == 0.0, must be a finite number > 0"),
    (lambda: pendulum(0.5, 0.3, 0.2, 0.02, dt=np.inf), r"dt == inf, must be a finite number > 0"),
    (lambda: unicycle(1.0, 0.0, 0.2, -1.0), r"r == -1.0, must be a finite number > 0"),
    (lambda: unicycle(np.nan, 0.0, 0.2, 0.02), r"v0 == nan, must be finite"),
    (lambda: sample_pendulums(0, 0), r"M == 0, must be an integer >= 1"),
    (lambda: sample_unicycles(2.5, 0), r"M == 2.5, must be an integer >= 1"),
    (lambda: random_stabilizable(0, 1), r"n == 0, must be an integer >= 1"),
    (lambda: random_stabilizable(2, 1, spectral_radius=-1), r"spectral_radius == -1.0, must be a finite number > 0"),
])
def test_parameter_errors(call, match):
    with pytest.raises(ParameterError, match=match):
        call()
