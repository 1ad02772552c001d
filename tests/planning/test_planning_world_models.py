"""Frozen features, the two world models, their training loop."""

import dataclasses

import numpy as np
import pytest
import torch

from ltijepa.envs.pointmaze import CONDITIONS, S_MAZE, random_dataset, render, sample_free
from ltijepa.errors import DataError, ParameterError, ShapeError, SolverError
from ltijepa.planning.features import FrozenFeatures, pyramid_weights
from ltijepa.planning.training import (
    FeatureTransitions,
    LatentTrainConfig,
    build_latent_model,
    feature_transitions,
    train_world_model,
)
from ltijepa.planning.world_models import BisimWorldModel, FeatureBatch, FeatureWorldModel, LatentModelConfig

SMALL = LatentModelConfig(hidden=(32,), encoder_hidden=(32,), bisim_dim=4)


@pytest.fixture(scope="module")
def features():
    return FrozenFeatures()


@pytest.fixture(scope="module")
def data(features):
    return feature_transitions(features, random_dataset(20, 10, 0))


def test_pyramid_rows_are_normalised_gaussians():
    W = pyramid_weights(16, (4, 2))
    assert W.shape == (16 + 4, 256)
    assert torch.allclose(W.sum(1), torch.ones(20))
    assert W[0].argmax().item() in (1 * 16 + 1, 1 * 16 + 2, 2 * 16 + 1, 2 * 16 + 2)  # near cell (0, 0)'s centre
    with pytest.raises(ParameterError, match=r"grid size == 5, must divide image_size == 16"):
        pyramid_weights(16, (5,))


def test_features_are_frozen_deterministic_and_shaped(features):
    obs = torch.tensor(render(sample_free(3, 0), CONDITIONS["NC"]))
    z = features(obs)
    assert z.shape == (3, features.dim) and features.dim == 4 * (64 + 16 + 4)
    assert torch.equal(z, FrozenFeatures()(obs))
    assert not torch.equal(z, FrozenFeatures(seed=1)(obs))
    assert list(features.parameters()) == []  # buffers only: nothing to train
    with pytest.raises(ShapeError, match=r"obs: expected images \(B, 3, 32, 32\), found \(3, 32, 32\)"):
        features(obs[0])


def test_feature_distance_grows_with_agent_distance(features):
    # what makes a terminal cost in feature space a usable planning signal
    goal = np.array([[0.2, 0.15]])
    positions = sample_free(400, 1)
    z_goal = features(torch.tensor(render(goal, CONDITIONS["NC"])))
    z = features(torch.tensor(render(positions, CONDITIONS["NC"])))
    feature_dist = (z - z_goal).norm(dim=1).numpy()
    agent_dist = np.linalg.norm(positions - goal, axis=1)
    assert np.corrcoef(feature_dist, agent_dist)[0, 1] > 0.7
    near, far = feature_dist[agent_dist < 0.1].mean(), feature_dist[(agent_dist > 0.3) & (agent_dist < 0.4)].mean()
    assert near < 0.7 * far


def test_floor_dominates_the_frozen_features(features):
    # the talk's slow features: a floor change moves the features far more than the agent does
    p = sample_free(50, 2)
    z_nc = features(torch.tensor(render(p, CONDITIONS["NC"])))
    z_lc = features(torch.tensor(render(p, CONDITIONS["LC"])))
    assert (z_nc - z_lc).norm(dim=1).mean() > 5 * torch.cdist(z_nc, z_nc).mean()


@pytest.mark.parametrize("kind", ["feature", "bisim"])
def test_rollout_is_repeated_predict_and_cost_is_terminal(kind, features, data):
    model = build_latent_model(kind, features, data, SMALL, seed=0)
    obs = torch.tensor(render(sample_free(2, 3), CONDITIONS["NC"]))
    z = model.encode(obs)
    actions = torch.rand(2, 4, 3, 2) * 2 - 1
    traj = model.rollout(z, actions)
    assert traj.shape == (2, 4, 4, z.shape[1])
    with torch.no_grad():
        manual = z[1]
        for t in range(3):
            manual = model.predict(manual[None], actions[1, 2, t][None])[0]
    assert torch.allclose(traj[1, 2, -1], manual, atol=1e-6)
    goal = torch.randn_like(z)
    cost = model.terminal_cost(z, goal)(actions)
    assert torch.allclose(cost, ((traj[:, :, -1] - goal[:, None]) ** 2).sum(-1))
    with pytest.raises(ShapeError, match=r"actions: expected \(B=2, N, H, m=2\), found \(2, 4, 3\)"):
        model.rollout(z, actions[..., 0])
    with pytest.raises(ShapeError, match=r"must have one shape"):
        model.terminal_cost(z, goal[:1])


def test_build_is_seeded_and_kinds_are_checked(features, data):
    a = build_latent_model("bisim", features, data, SMALL, seed=4)
    b = build_latent_model("bisim", features, data, SMALL, seed=4)
    c = build_latent_model("bisim", features, data, SMALL, seed=5)
    pa, pb, pc = (torch.cat([p.flatten() for p in m.parameters()]) for m in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)
    assert isinstance(build_latent_model("feature", features, data, SMALL, seed=0), FeatureWorldModel)
    with pytest.raises(ParameterError, match=r"kind == 'vae', must be one of \['bisim', 'feature'\]"):
        build_latent_model("vae", features, data, SMALL, seed=0)


def test_bisim_loss_uses_one_action_for_both_states_of_a_pair(features, data):
    # identical states paired with each other under different actions: with the synchronous
    # coupling both get the same action, so T(w, a) = T(w', a) and the loss is 0 (up to eps)
    model = build_latent_model("bisim", features, data, SMALL, seed=0)
    z = data.z[:1].repeat(8, 1)
    batch = FeatureBatch(z, torch.rand(8, 2) * 2 - 1, z, torch.full((8, 2), 0.5), torch.arange(8).flip(0))
    assert model.loss_terms(batch)["bisimulation"].item() < 1e-8


@pytest.mark.parametrize("kind, names", [("feature", {"prediction", "total"}), ("bisim", {"prediction", "bisimulation", "total"})])
def test_training_lowers_the_loss_and_logs_named_terms(kind, names, features, data):
    model = build_latent_model(kind, features, data, SMALL, seed=0)
    info = train_world_model(model, data, LatentTrainConfig(steps=300, batch_size=64, log_every=50), seed=1, progress=False)
    assert set(info) == names | {"step"}
    assert info["step"].tolist() == [50, 100, 150, 200, 250, 300]
    assert info["total"][-1] < 0.8 * info["total"][0]
    assert not model.training


def test_features_see_the_layout_and_a_model_trains_on_s_maze_data(features):
    both_free = np.array([[0.875, 0.1], [0.875, 0.9]])  # free in the U-maze and the S-maze
    z_u = features(torch.tensor(render(both_free, CONDITIONS["NC"])))
    z_s = features(torch.tensor(render(both_free, CONDITIONS["NC"], maze=S_MAZE)))
    assert not torch.allclose(z_u, z_s)  # the walls are in the picture
    data = feature_transitions(features, random_dataset(6, 10, 0, maze=S_MAZE))
    model = build_latent_model("bisim", features, data, SMALL, seed=0)
    info = train_world_model(model, data, LatentTrainConfig(steps=20, batch_size=16, log_every=10), seed=3, progress=False)
    assert np.isfinite(info["total"]).all()


def test_training_is_reproducible(features, data):
    runs = []
    for _ in range(2):
        model = build_latent_model("bisim", features, data, SMALL, seed=0)
        runs.append(train_world_model(model, data, LatentTrainConfig(steps=20, batch_size=16, log_every=10), seed=3, progress=False))
    assert np.array_equal(runs[0]["total"], runs[1]["total"])


def test_the_log_is_the_mean_of_the_steps_over_each_window(features, data):
    runs = {}
    for every in (1, 10):
        model = build_latent_model("bisim", features, data, SMALL, seed=0)
        runs[every] = train_world_model(model, data, LatentTrainConfig(steps=25, batch_size=16, log_every=every),
                                        seed=3, progress=False)
    assert runs[10]["step"].tolist() == [10, 20]  # the partial window of steps 21..25 is left out
    for name in ("prediction", "bisimulation", "total"):
        windows = runs[1][name][:20].reshape(2, 10)
        assert np.array_equal(runs[10][name], np.cumsum(windows, axis=1)[:, -1] / 10)


def test_config_and_input_errors(features, data):
    with pytest.raises(ParameterError, match=r"gamma == 1.0, must lie in \[0, 1\)"):
        LatentModelConfig(gamma=1.0)
    with pytest.raises(ParameterError, match=r"bisim_dim == 0"):
        LatentModelConfig(bisim_dim=0)
    with pytest.raises(ParameterError, match=r"steps == 0"):
        LatentTrainConfig(steps=0)
    with pytest.raises(ParameterError, match=r"lr == -1"):
        LatentTrainConfig(lr=-1)
    other = FrozenFeatures(channels=2)
    model = BisimWorldModel(other, build_latent_model("bisim", features, data, SMALL, seed=0).standardizer, SMALL)
    with pytest.raises(ShapeError, match=r"data: expected features of width 168, found 336"):
        train_world_model(model, data, LatentTrainConfig(steps=1), seed=0, progress=False)
    broken = FeatureTransitions(data.z * float("nan"), data.action, data.z_next, data.position)
    with pytest.raises(SolverError, match=r"loss term 'prediction' == nan at step 1") as error:
        train_world_model(build_latent_model("feature", features, data, SMALL, seed=0), broken, LatentTrainConfig(steps=2),
                          seed=0, progress=False)
    assert (error.value.status, error.value.step, error.value.term) == ("non-finite loss", 1, "prediction")


def test_curvature_is_logged_on_request_and_a_positive_weight_needs_successors(features, data):
    plain = build_latent_model("bisim", features, data, SMALL, seed=0)
    batch = data.sample(8, torch.Generator().manual_seed(0))
    assert "curvature" not in plain.loss_terms(batch)  # the planning chapter's model: not computed
    logged = build_latent_model("bisim", features, data, dataclasses.replace(SMALL, log_curvature=True), seed=0)
    terms = logged.loss_terms(batch)
    assert 0 <= terms["curvature"].item() <= 2
    assert terms["total"].item() == pytest.approx(plain.loss_terms(batch)["total"].item())
    no_successors = dataclasses.replace(data, after=None)
    weighted = build_latent_model("bisim", features, data, dataclasses.replace(SMALL, curve_coef=1.0), seed=0)
    with pytest.raises(DataError, match="z_after"):
        weighted.loss_terms(no_successors.sample(8, torch.Generator().manual_seed(0)))
