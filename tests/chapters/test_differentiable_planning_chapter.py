"""Tests of ltijepa.chapters.differentiable_planning: its config and every experiment at a tiny size."""

import dataclasses

import numpy as np
import pytest

from ltijepa.chapters.differentiable_planning import (
    Config,
    ImitationConfig,
    backward_counts,
    box_peer_differences,
    cg_residuals,
    draw_problems,
    imitation_experiment,
    implicit_setup,
    kkt_gaps,
    module1_errors,
    neumann_residuals,
    step_sweep,
    unrolling_errors,
)
from ltijepa.errors import ParameterError

TINY = dataclasses.replace(Config.for_profile("ci"), problems=2, batch=2, horizon=4, n=2, m=1,
                           fd_steps=(1e-3, 1e-5), implicit_problems=1, unroll_steps=(1, 300), cg_dimensions=(4,),
                           imitation=ImitationConfig(experts=2, iterations=3, horizon=8))


def test_profiles():
    ci, full = Config.for_profile("ci"), Config.for_profile("full")
    assert ci.problems < full.problems and ci.imitation.iterations < full.imitation.iterations
    with pytest.raises(ParameterError, match="profile == 'fast'"):
        Config.for_profile("fast")


def test_lqr_checks_at_a_tiny_size():
    problems = draw_problems(TINY, 0)
    assert len(problems) == 2 and kkt_gaps(problems).max() <= 1e-10
    errors = module1_errors(problems, TINY, 1)
    assert max(errors["finite differences"].values()) <= 1e-6
    assert max(errors["unrolled autograd"].values()) <= 1e-10
    sweep = step_sweep(*problems[0], TINY, 2)
    assert set(sweep) == {"C", "c", "F", "f", "x_init"} and sweep["C"].shape == (2,)
    forward, total = backward_counts(problems[0][0])
    assert (forward.factorizations, forward.sweeps, total.factorizations, total.sweeps) == (4, 1, 4, 2)


def test_implicit_checks_at_a_tiny_size():
    errors = unrolling_errors(implicit_setup(TINY, 0), TINY, progress=False)
    assert errors["option 1"].shape == (1, 2) and errors["option 1"][0, 1] <= 1e-8
    assert errors["option 2 - Neumann"].max() <= 1e-10
    assert cg_residuals(TINY, 0)[4][-1] <= 1e-10
    residuals = neumann_residuals(0, terms=40)
    assert residuals[0.5][-1] < 1e-10 < residuals[1.1][-1]


def test_imitation_runs_at_a_tiny_size():
    run = imitation_experiment(TINY.imitation, 0, progress=False)
    assert run.imitation_loss.shape == run.parameter_error.shape == (3,)
    assert run.parameter_error[-1] < run.parameter_error[0]
    assert np.isfinite(run.regression_imitation_loss) and 0 <= run.active_fraction <= 1


def test_mpc_pytorch_box_agrees_on_linear_dynamics_with_active_bounds():
    pytest.importorskip("mpc.mpc")  # installed by make venv from requirements/peers.txt
    differences = box_peer_differences(Config.for_profile("ci"), 0, problems=1)
    assert 0.1 < differences["active"] < 0.9
    assert differences["tau"] <= 1e-8 and max(differences["c"], differences["x_init"]) <= 1e-10
