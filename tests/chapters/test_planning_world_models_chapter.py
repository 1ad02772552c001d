"""Tests of ltijepa.chapters.planning_world_models: goal reaching in the maze with an exact world
model (in the U-maze and the S-maze), the slow-feature ratio, and the chapter's sizes."""

import numpy as np
import pytest
import torch

from ltijepa.chapters.planning_world_models import (
    Config,
    MazeDataConfig,
    MazeEvalConfig,
    background_shift,
    crosses_wall,
    plan_in_maze,
    start_goal_pairs,
)
from ltijepa.envs.pointmaze import CONDITIONS, S_MAZE, is_free, random_dataset
from ltijepa.errors import DataError, ParameterError, ShapeError
from ltijepa.planning.cem import CEMConfig
from ltijepa.planning.features import FrozenFeatures
from ltijepa.planning.training import build_latent_model, feature_transitions
from ltijepa.planning.world_models import LatentModelConfig
from ltijepa.testing.planning import PositionModel


CONFIG = MazeEvalConfig(pairs=4, steps=10, planner=CEMConfig(samples=64, elites=8, iterations=4))


def test_exact_model_reaches_goals_in_the_same_corridor():
    starts = np.array([[0.2, 0.15], [0.85, 0.2], [0.3, 0.85], [0.8, 0.85]])
    goals = np.array([[0.55, 0.12], [0.85, 0.6], [0.7, 0.8], [0.3, 0.8]])
    run = plan_in_maze(PositionModel(), CONDITIONS["LC"], starts, goals, config=CONFIG, rng=0)
    assert run.positions.shape == (4, 11, 2)
    assert np.array_equal(run.positions[:, 0], starts)
    assert run.success.all() and run.success_rate == 1.0
    assert np.allclose(run.final_distance, np.linalg.norm(run.positions[:, -1] - goals, axis=1))
    assert run.latent_distance.shape == (4, 11) and run.planned_distance.shape == (4, CONFIG.horizon + 1)
    assert (run.latent_distance[:, -1] < run.latent_distance[:, 0]).all()
    assert np.allclose(run.planned_distance[:, 0], run.latent_distance[:, 0], atol=1e-5)


def test_a_goal_behind_the_wall_defeats_a_greedy_terminal_cost():
    # the straight line from the bottom-left to the top-left corridor crosses the wall: a
    # planner that only sees 5 steps ahead and the Euclidean latent distance gets stuck
    run = plan_in_maze(PositionModel(), CONDITIONS["NC"], np.array([[0.15, 0.15]]), np.array([[0.15, 0.85]]),
                       config=CONFIG, rng=0)
    assert not run.success[0]


def test_crosses_wall_finds_the_pairs_separated_by_the_wall():
    starts = np.array([[0.15, 0.15], [0.15, 0.15], [0.85, 0.15], [0.15, 0.85]])
    goals = np.array([[0.15, 0.85], [0.85, 0.15], [0.85, 0.85], [0.85, 0.2]])
    assert crosses_wall(starts, goals).tolist() == [True, False, False, True]
    with pytest.raises(ShapeError, match=r"starts \(1, 2\) and goals \(2,\) must both be \(B, 2\)"):
        crosses_wall(starts[:1], goals[0])


def test_pairs_walls_and_planning_in_the_s_maze():
    starts, goals = start_goal_pairs(30, 0, maze=S_MAZE)
    assert is_free(starts, maze=S_MAZE).all() and is_free(goals, maze=S_MAZE).all()
    # same corridor; across the first wall; up through the right gap
    a, b = np.array([[0.1, 0.1], [0.3, 0.1], [0.875, 0.1]]), np.array([[0.6, 0.15], [0.3, 0.37], [0.875, 0.37]])
    assert crosses_wall(a, b, maze=S_MAZE).tolist() == [False, True, False]
    # (0.2, 0.37) lies in the S-maze's second corridor and inside the U-maze's wall
    starts, goals = np.array([[0.2, 0.37], [0.875, 0.1]]), np.array([[0.55, 0.4], [0.875, 0.37]])
    run = plan_in_maze(PositionModel(), CONDITIONS["NC"], starts, goals, config=CONFIG, rng=0, maze=S_MAZE)
    assert run.success.all() and is_free(run.positions, maze=S_MAZE).all()
    with pytest.raises(DataError, match=r"position \[0.2, 0.37\] is not in the free space"):
        plan_in_maze(PositionModel(), CONDITIONS["NC"], starts, goals, config=CONFIG, rng=0)
    assert background_shift(PositionModel(), starts, CONDITIONS["NC"], CONDITIONS["LC"], maze=S_MAZE) < 0.05


def test_success_counts_only_final_distance_below_radius():
    starts = np.array([[0.2, 0.15]])
    config = MazeEvalConfig(pairs=1, steps=5, success_radius=0.01, planner=CEMConfig(samples=16, elites=4, iterations=1))
    run = plan_in_maze(PositionModel(), CONDITIONS["NC"], starts, np.array([[0.9, 0.9]]), config=config, rng=0)
    assert not run.success[0] and run.final_distance[0] > 0.01


def test_background_shift_separates_a_floor_blind_latent_from_frozen_features():
    positions = start_goal_pairs(20, 0)[0]
    assert background_shift(PositionModel(), positions, CONDITIONS["NC"], CONDITIONS["LC"]) < 0.05
    features = FrozenFeatures()
    data = feature_transitions(features, random_dataset(5, 5, 0))
    model = build_latent_model("feature", features, data, LatentModelConfig(hidden=(8,)), seed=0)
    assert background_shift(model, positions, CONDITIONS["NC"], CONDITIONS["LC"]) > 5
    assert background_shift(model, positions, CONDITIONS["NC"], CONDITIONS["NC"]) == 0.0


def test_profiles():
    ci, full = Config.for_profile("ci"), Config.for_profile("full")
    # the sizes CEMConfig, LatentTrainConfig, SweepConfig, MazeDataConfig and MazeEvalConfig.for_profile
    # gave before profiles left the library
    assert full.evaluation.pairs == 50 and ci.evaluation.pairs == 12
    assert full.evaluation.planner == CEMConfig(samples=300, elites=30, iterations=10)
    assert ci.evaluation.planner == CEMConfig(samples=100, elites=10, iterations=5)
    assert (ci.data.episodes, full.data.episodes) == (120, 500)
    assert (ci.train.steps, full.train.steps) == (1_500, 20_000)
    assert ci.sweep.sample_counts == (10, 30, 100, 300, 1000) and ci.sweep.problems == 16
    assert full.sweep.sample_counts == (10, 30, 100, 300, 1000, 3000) and full.sweep.problems == 32
    with pytest.raises(ParameterError, match="profile == 'fast'"):
        Config.for_profile("fast")


def test_errors():
    with pytest.raises(ParameterError, match=r"pairs == 0"):
        MazeEvalConfig(pairs=0)
    with pytest.raises(ParameterError, match=r"success_radius == -1"):
        MazeEvalConfig(success_radius=-1)
    with pytest.raises(ParameterError, match=r"randomise_fraction == 1.5"):
        MazeDataConfig(randomise_fraction=1.5)
    with pytest.raises(ShapeError, match=r"starts \(2, 2\) and goals \(1, 2\) must have one shape"):
        plan_in_maze(PositionModel(), CONDITIONS["NC"], np.full((2, 2), 0.15), np.full((1, 2), 0.15), config=CONFIG, rng=0)
    with pytest.raises(DataError, match=r"not in the free space"):
        plan_in_maze(PositionModel(), CONDITIONS["NC"], np.array([[0.3, 0.5]]), np.array([[0.3, 0.15]]), config=CONFIG, rng=0)
    with pytest.raises(ShapeError, match=r"positions: expected \(B >= 2, 2\), found \(1, 2\)"):
        background_shift(PositionModel(), np.array([[0.5, 0.15]]), CONDITIONS["NC"], CONDITIONS["LC"])
