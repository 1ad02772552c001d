"""Tests of ltijepa.chapters.straightened_planning at a tiny size: the paired training differs
only in the curvature weight, the diagnostics, the affine fit, convergence counting, the
latent-line decoding and the gradient planner in the maze with an exact model (U-maze and
the full profile's S-maze)."""

import dataclasses

import numpy as np
import pytest
import torch

from ltijepa.chapters import straightened_planning as sp
from ltijepa.chapters.planning_world_models import MazeEvalConfig
from ltijepa.envs.pointmaze import S_MAZE, U_MAZE, is_free, random_dataset
from ltijepa.errors import ParameterError, ShapeError
from ltijepa.planning.features import FrozenFeatures
from ltijepa.planning.cem import CEMConfig
from ltijepa.planning.gradient import GradientConfig
from ltijepa.planning.hessian import hessian_split
from ltijepa.planning.training import LatentTrainConfig, feature_transitions
from ltijepa.testing.planning import PositionModel

TINY = dataclasses.replace(
    sp.Config.for_profile("ci"), episodes=6, test_episodes=6, train=LatentTrainConfig(steps=60, batch_size=32, log_every=20),
    horizons=(1, 3), hessian_problems=2, evaluation=MazeEvalConfig(pairs=3, steps=10),
    gradient=GradientConfig(iterations=10, restarts=2),
)


@pytest.fixture(scope="module")
def trained():
    features = FrozenFeatures()
    data = random_dataset(TINY.episodes, 10, 0)
    test = random_dataset(TINY.test_episodes, 10, 1)
    models, infos = sp.train_pair(features, feature_transitions(features, data), TINY, seed=3)
    return models, infos, test


def test_pair_differs_only_in_the_curvature_weight(trained):
    models, infos, _ = trained
    assert models["plain"].config.curve_coef == 0 and models["straightened"].config.curve_coef == TINY.curve_coef
    # same batches, same initial weights: the first logged window of the prediction loss differs
    # only through the curvature gradient, which is absent in the plain model
    assert "curvature" in infos["plain"] and "curvature" in infos["straightened"]
    assert not np.allclose(infos["plain"]["total"], infos["straightened"]["total"])
    np.testing.assert_allclose(infos["plain"]["total"], infos["plain"]["prediction"] + infos["plain"]["bisimulation"], rtol=1e-5)


def test_weight_sweep_at_weight_zero_is_the_plain_model(trained):
    models, infos, test = trained
    features = FrozenFeatures()
    data = feature_transitions(features, random_dataset(TINY.episodes, 10, 0))
    sweep = sp.weight_sweep(features, data, test, TINY, (0.0,), seed=3)
    assert sweep[0.0]["curvature"] == pytest.approx(sp.representation_diagnostics(models["plain"], test)["curvature"])
    assert sweep[0.0]["prediction"] == pytest.approx(float(infos["plain"]["prediction"][-1]))


def test_diagnostics_and_affine_fit(trained):
    models, _, test = trained
    for model in models.values():
        d = sp.representation_diagnostics(model, test)
        assert 0 <= d["curvature"] <= 2 and 0 <= d["linearity_residual"] < 1
        affine = sp.affine_model(model, test)
        z = model.encode(test.observations[0, :2]).double()
        split = hessian_split(affine, z[0], z[1], torch.zeros(3, 2, dtype=torch.float64))
        assert split.t2_ratio < 1e-10
        h = sp.hessian_vs_horizon(model, TINY.hessian_problems, TINY.horizons, 0)
        assert h["kappa"].shape == (2, 2) and h["split_error"].max() < 1e-10


def test_steps_to_converge():
    trace = np.array([[10.0, 4.0], [5.0, 4.0], [1.0, 3.0], [1.0, 0.0]])
    np.testing.assert_array_equal(sp.steps_to_converge(trace), [2, 3])
    with pytest.raises(ShapeError):
        sp.steps_to_converge(np.zeros(3))


def test_latent_line_of_an_exact_position_model():
    model = PositionModel()
    # the position latent: the straight line is the segment; same corridor: feasible, across the wall: not
    line = sp.latent_line_paths(model, np.array([[0.2, 0.15], [0.2, 0.15]]), np.array([[0.8, 0.15], [0.2, 0.85]]))
    assert line["feasible"].tolist() == [True, False]


def test_latent_line_and_gradient_planning_in_the_s_maze():
    model, config = PositionModel(), dataclasses.replace(TINY, maze=S_MAZE)
    # same corridor: feasible; across the first wall: not (both free in the S-maze)
    line = sp.latent_line_paths(model, np.array([[0.1, 0.1], [0.3, 0.1]]), np.array([[0.6, 0.15], [0.3, 0.37]]), maze=S_MAZE)
    assert line["feasible"].tolist() == [True, False]
    assert is_free(line["paths"].reshape(-1, 2), maze=S_MAZE).all()
    starts, goals = np.array([[0.2, 0.37], [0.875, 0.1]]), np.array([[0.55, 0.4], [0.875, 0.37]])
    run, _ = sp.timed_maze_runs(model, starts, goals, config, ["gradient"], 0)["gradient"]
    assert run.success.all() and is_free(run.positions, maze=S_MAZE).all()
    assert sp.gd_convergence(model, starts, goals, config, seed=0)["final"].shape == (2,)
    h = sp.hessian_vs_horizon(model, 2, (1, 3), 0, maze=S_MAZE)
    assert h["kappa"].shape == (2, 2) and h["split_error"].max() < 1e-10


def test_gradient_planner_reaches_goals_with_the_exact_model():
    starts, goals = np.array([[0.2, 0.15], [0.85, 0.2]]), np.array([[0.55, 0.12], [0.85, 0.6]])
    runs = sp.timed_maze_runs(PositionModel(), starts, goals, TINY, ["gradient"], 0)
    run, seconds = runs["gradient"]
    assert run.success.all() and seconds > 0


def test_profiles():
    ci, full = sp.Config.for_profile("ci"), sp.Config.for_profile("full")
    assert ci.seeds == 1 and full.seeds >= 3 and full.episodes > ci.episodes
    # ci: the U-maze and the planning chapter's protocol, as before layouts were a parameter;
    # full: the larger S-maze with a budget for its longer paths
    assert ci.maze == U_MAZE and full.maze == S_MAZE
    assert ci.evaluation == MazeEvalConfig(pairs=12, planner=CEMConfig(samples=100, elites=10, iterations=5))
    assert (ci.evaluation.steps, full.evaluation.steps) == (30, 60)
    with pytest.raises(ParameterError):
        sp.Config.for_profile("fast")
    with pytest.raises(ParameterError):
        dataclasses.replace(ci, curve_coef=0.0)
    with pytest.raises(ParameterError, match=r"maze == \(\(0, 0.5, 0.4, 0.6\),\), must be a Maze") as info:
        dataclasses.replace(ci, maze=((0, 0.5, 0.4, 0.6),))
    assert info.value.name == "maze"
