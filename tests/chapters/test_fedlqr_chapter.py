"""Tests of ltijepa.chapters.fedlqr: the authors' systems and settings, and the chapter's Config."""

import numpy as np
import pytest

from ltijepa.chapters.fedlqr import (
    DIRECTION_U,
    DIRECTION_V,
    INITIAL_GAIN,
    NOMINAL_A,
    NOMINAL_B,
    Config,
    ConvergenceExperiment,
    HeterogeneityExperiment,
    draw_weights,
    growing_agents,
    random_agents,
)
from ltijepa.errors import ParameterError

# --- systems and settings -----------------------------------------------------------------


def test_growing_agents_follow_the_authors_sysgen():
    tasks = growing_agents(50)
    np.testing.assert_array_equal(tasks[0].A, NOMINAL_A)
    np.testing.assert_allclose(tasks[49].A, NOMINAL_A + 0.5 * np.eye(3))
    np.testing.assert_allclose(tasks[9].B, NOMINAL_B + 0.1 * np.eye(3))
    assert all(np.array_equal(t.A, NOMINAL_A) for t in growing_agents(5, 0.0))


def test_the_authors_initial_gain_leaves_agents_27_to_50_unstable():
    # rho(A_0 + 0.01 i I - (1 + 0.01 i) 1.62 I) = rho(A_0 - (1.62 + 0.0062 i) I), computed directly
    rho = np.array([np.max(np.abs(np.linalg.eigvals(t.A - t.B @ INITIAL_GAIN))) for t in growing_agents(50)])
    assert np.flatnonzero(rho >= 1).tolist() == list(range(26, 50))
    assert rho.max() == pytest.approx(1.1448562, abs=1e-6)


def test_random_agents_follow_the_authors_sysgen():
    weights = draw_weights(10, 3)
    tasks = random_agents(0.5, weights)
    np.testing.assert_array_equal(tasks[0].A, NOMINAL_A)  # u_1 is not used
    np.testing.assert_allclose(tasks[4].A, NOMINAL_A + 0.5 * weights[4] * DIRECTION_V)
    np.testing.assert_allclose(tasks[4].B, NOMINAL_B + 0.5 * weights[4] * DIRECTION_U)
    np.testing.assert_array_equal(weights, draw_weights(10, 3))
    assert np.all((weights >= 0) & (weights <= 1))


def test_bad_system_parameters():
    with pytest.raises(ParameterError, match=r"M == 0, must be an integer >= 1"):
        growing_agents(0)
    with pytest.raises(ParameterError, match=r"eps == -0.1, must be >= 0"):
        growing_agents(3, -0.1)
    with pytest.raises(ParameterError, match=r"eps == -1, must be >= 0"):
        random_agents(-1, [0.5, 0.5])
    with pytest.raises(ParameterError, match=r"weights == \[0.5, 1.5\], must be a 1-D array in \[0, 1\]"):
        random_agents(0.1, [0.5, 1.5])
    with pytest.raises(ParameterError, match=r"weights has shape \(3,\), must be \(10,\)"):
        HeterogeneityExperiment().tasks(0.1, [0.1, 0.2, 0.3])


def test_profiles_give_the_authors_counts_in_full():
    full, ci = Config.for_profile("full").agents, Config.for_profile("ci").agents
    assert (full.realisations, full.config.rounds, full.agents, full.eps) == (20, 5000, (1, 10, 50), 0.01)
    assert (ci.realisations, ci.config.rounds) == (5, 5000)
    assert Config.for_profile("ci").heterogeneity.realisations == 2
    assert (full.config.local_step, full.config.global_step, full.config.global_decay) == (1e-4, 2e-2, 1.0005)
    c = full.config
    assert (c.radius, c.samples, c.horizon, c.local_steps, c.skip_initial) == (0.1, 5, 15, 1, True)
    het = Config.for_profile("full").heterogeneity
    assert (het.realisations, het.levels, het.agents, het.config.global_step) == (20, (0.0, 0.1, 0.5), 10, 1e-2)
    assert Config.for_profile("ci").convergence.realisations < ConvergenceExperiment().realisations
    assert Config.for_profile("full").convergence == ConvergenceExperiment()
    with pytest.raises(ParameterError, match="profile == 'huge'"):
        Config.for_profile("huge")
    exact = full.exact((1, 10))
    assert (exact.config.gradient, exact.realisations, exact.agents) == ("exact", 1, (1, 10))
