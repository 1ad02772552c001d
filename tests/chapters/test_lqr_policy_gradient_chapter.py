"""Tests of ltijepa.chapters.lqr_policy_gradient: its config and experiments at a tiny size."""

import dataclasses

import numpy as np
import pytest

from ltijepa.chapters.lqr_policy_gradient import (
    Config,
    chapter_tasks,
    estimator_errors,
    midpoint_example,
    run_exact,
    run_model_free,
)
from ltijepa.errors import ParameterError

TINY = dataclasses.replace(Config.for_profile("ci"), exact_iterations=5, model_free_iterations=3,
                           model_free_runs=2, error_rollouts=(20, 60), error_repeats=2, horizon=50)


def test_profiles():
    ci, full = Config.for_profile("ci"), Config.for_profile("full")
    assert ci.model_free_runs == 3 and full.model_free_runs == 20
    assert ci.exact_iterations < full.exact_iterations
    with pytest.raises(ParameterError, match="profile == 'fast'"):
        Config.for_profile("fast")


def test_midpoint_example_is_lemma_2():
    task, K1, K2 = midpoint_example()
    assert task.is_stabilizing(K1) and task.is_stabilizing(K2)
    assert not task.is_stabilizing((K1 + K2) / 2)
    assert task.spectral_radius((K1 + K2) / 2) == pytest.approx(1.0)


def test_runs_at_a_tiny_size():
    tasks = chapter_tasks(TINY, 0)
    assert list(tasks) == ["pendulum", "unicycle 1", "unicycle 2", "random 1", "random 2"]
    pendulum = tasks["pendulum"]
    runs = run_exact(pendulum, TINY, constant_step=True)
    assert len(runs) == 4 and all(np.all(h.rho < 1) for h in runs.values())
    model_free = run_model_free(pendulum, TINY, "two_point", 0, progress=False)
    assert model_free.runs == 2 and model_free.rollouts_per_iteration == 2 * TINY.two_point_samples
    errors = estimator_errors(pendulum, TINY, "one_point", 0)
    assert errors.shape == (2, 2) and np.all(errors > 0)
