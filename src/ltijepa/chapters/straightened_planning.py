"""The driver of ``notebooks/straightened_planning.ipynb`` ("Planning by gradient descent in a
straightened latent space").

:class:`Config` resolves the sizes from the profile. The experiment trains the planning
chapter's bisimulation world model twice on the same data from the same initial weights and
batches, without and with the curvature loss (:func:`train_pair`), and measures on both:
the curvature of encoded held-out trajectories and the predictor's distance from affine
(:func:`representation_diagnostics`), the Hessian split and its condition number against the
horizon (:func:`hessian_vs_horizon`), gradient-descent planning in the maze
(:func:`~ltijepa.chapters.planning_world_models.plan_in_maze` with
:func:`~ltijepa.planning.gradient.gradient_plan`), and whether the latent straight line from
start to goal decodes to a feasible path (:func:`latent_line_paths`). Everything happens in the
maze ``Config.maze``: the planning chapter's U-maze (:data:`~ltijepa.envs.pointmaze.U_MAZE`) in
``ci``, the larger S-shaped corridor (:data:`~ltijepa.envs.pointmaze.S_MAZE`) in ``full``.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch

from ltijepa.checks import check_count, check_positive
from ltijepa.envs.pointmaze import CONDITIONS, S_MAZE, U_MAZE, Maze, Transitions, is_free, render, sample_free
from ltijepa.errors import ParameterError, ShapeError
from ltijepa.planning.base import torch_generator
from ltijepa.planning.cem import CEMConfig, cem
from ltijepa.planning.features import FrozenFeatures
from ltijepa.planning.gradient import GradientConfig, gradient_plan
from ltijepa.planning.hessian import condition_number, hessian_split
from ltijepa.planning.mppi import MPPIConfig, mppi
from ltijepa.planning.straightening import affine_fit, predictor_linearity, trajectory_curvature
from ltijepa.planning.training import FeatureTransitions, LatentTrainConfig, build_latent_model, train_world_model
from ltijepa.planning.world_models import LatentModelConfig, LatentWorldModel
from ltijepa.chapters.planning_world_models import MazeEvalConfig, MazeRun, plan_in_maze
from ltijepa.profiles import by_profile

__all__ = [
    "Config",
    "train_pair",
    "weight_sweep",
    "encoded_episodes",
    "representation_diagnostics",
    "hessian_vs_horizon",
    "planners",
    "timed_maze_runs",
    "latent_line_paths",
    "steps_to_converge",
    "gd_convergence",
    "AffineWorldModel",
    "affine_model",
]


@dataclass(frozen=True)
class Config:
    """Sizes of the chapter's experiments."""

    seeds: int
    """independent repetitions (data, weights, batches, pairs)"""
    episodes: int
    """random-action training episodes of 50 steps"""
    test_episodes: int
    """held-out episodes for the curvature and linearity diagnostics"""
    train: LatentTrainConfig
    """the optimisation of both models (identical but for the curvature weight)"""
    curve_coef: float
    """weight of L_curve in the straightened model"""
    horizons: tuple[int, ...]
    """planning horizons of the Hessian study"""
    hessian_problems: int
    """start/goal pairs of the Hessian study"""
    evaluation: MazeEvalConfig
    """the goal-reaching protocol of the planning chapter"""
    sweep_weights: tuple[float, ...] = (100.0,)
    """curvature weights of the sweep beside 0 and ``curve_coef``"""
    hold: int = 5
    """steps each action is held in the straight-data experiment"""
    gradient: GradientConfig = field(default_factory=GradientConfig)
    """the gradient planner"""
    mppi: MPPIConfig = field(default_factory=MPPIConfig)
    """the MPPI planner"""
    maze: Maze = U_MAZE
    """the layout of the data, the start/goal pairs and the planning (default the U-maze)"""

    def __post_init__(self):
        for name in ("seeds", "episodes", "test_episodes", "hessian_problems"):
            check_count(name, getattr(self, name))
        check_positive("curve_coef", self.curve_coef)
        check_count("hold", self.hold)
        for w in self.sweep_weights:
            check_positive("sweep weight", w)
        for h in self.horizons:
            check_count("horizon", h)
        if not isinstance(self.maze, Maze):
            raise ParameterError(f"maze == {self.maze!r}, must be a Maze (U_MAZE, S_MAZE or another layout)",
                                 name="maze", value=self.maze)

    @classmethod
    def for_profile(cls, profile: str) -> Config:
        """``full``: the larger S-maze (:data:`~ltijepa.envs.pointmaze.S_MAZE`) with a step
        budget of 60 per episode, 3 seeds, 500 episodes, 20,000 steps, 50 pairs, curvature
        weights 10 and 100 in the sweep; ``ci``: the U-maze with the planning chapter's budget
        of 30 steps, 1 seed, 120 episodes, 2,000 steps, 12 pairs, small planners and the weight
        100 (about 3 minutes on one CPU thread: six trainings of about 25 s).

        >>> Config.for_profile("ci").seeds
        1

        Raises
        ------
        ParameterError
            If ``profile`` is unknown.
        """
        return cls(
            seeds=by_profile(profile, ci=1, full=3),
            episodes=by_profile(profile, ci=120, full=500),
            test_episodes=by_profile(profile, ci=20, full=100),
            train=LatentTrainConfig(steps=by_profile(profile, ci=2_000, full=20_000)),
            curve_coef=1.0,
            sweep_weights=by_profile(profile, ci=(100.0,), full=(10.0, 100.0)),
            horizons=by_profile(profile, ci=(1, 2, 4, 8), full=(1, 2, 4, 8, 16)),
            hessian_problems=by_profile(profile, ci=4, full=16),
            evaluation=MazeEvalConfig(
                pairs=by_profile(profile, ci=12, full=50),
                steps=by_profile(profile, ci=30, full=60),
                planner=CEMConfig(samples=by_profile(profile, ci=100, full=300), elites=by_profile(profile, ci=10, full=30),
                                  iterations=by_profile(profile, ci=5, full=10)),
            ),
            gradient=GradientConfig(iterations=by_profile(profile, ci=30, full=50), restarts=by_profile(profile, ci=4, full=8)),
            mppi=MPPIConfig(samples=by_profile(profile, ci=100, full=512), elites=by_profile(profile, ci=10, full=64),
                            iterations=by_profile(profile, ci=5, full=6)),
            maze=by_profile(profile, ci=U_MAZE, full=S_MAZE),
        )


def train_pair(
    features: FrozenFeatures, data: FeatureTransitions, config: Config, *, seed: int, progress: bool = False
) -> tuple[dict[str, LatentWorldModel], dict[str, dict]]:
    """The bisimulation world model without (``"plain"``) and with (``"straightened"``) L_curve.

    Both start from the same weights (``seed``) and see the same batches (``seed + 1``); only
    the weight of the curvature loss differs (0 and ``config.curve_coef``). Both log it.

    Parameters
    ----------
    features : FrozenFeatures
        The frozen image features both models are built on.
    data : FeatureTransitions
        The encoded training transitions (with successor indices, for ``L_curve``).
    config : Config
        ``train`` and ``curve_coef``.
    seed : int
        Seeds the initial weights (``seed``) and the batches (``seed + 1``).
    progress : bool
        Show a progress bar per model.

    Returns
    -------
    models, infos : dict
        By name, the trained model and the log of :func:`~ltijepa.planning.training.train_world_model`.
    """
    models, infos = {}, {}
    for name, coef in (("plain", 0.0), ("straightened", config.curve_coef)):
        models[name], infos[name] = _train(features, data, config, coef, seed, progress)
    return models, infos


def _train(features, data, config: Config, coef: float, seed: int, progress: bool):
    """One bisimulation world model with curvature weight ``coef`` (weights ``seed``, batches
    ``seed + 1``), and its training log."""
    model = build_latent_model("bisim", features, data, LatentModelConfig(curve_coef=coef, log_curvature=True), seed=seed)
    info = train_world_model(model, data, config.train, seed=seed + 1, progress=progress)
    return model, info


def weight_sweep(
    features: FrozenFeatures, data: FeatureTransitions, test: Transitions, config: Config, weights, *, seed: int
) -> dict[float, dict[str, float]]:
    """The held-out diagnostics of the model trained with each curvature weight.

    Same initial weights and batches for every weight (as :func:`train_pair`).

    Parameters
    ----------
    features : FrozenFeatures
        The frozen image features.
    data : FeatureTransitions
        The encoded training transitions.
    test : Transitions
        Held-out episodes.
    config : Config
        ``train``.
    weights : sequence of float
        Values of ``c_curve`` (0 allowed).
    seed : int
        Seeds the initial weights (``seed``) and the batches (``seed + 1``).

    Returns
    -------
    dict
        By weight, :func:`representation_diagnostics` and ``"prediction"``, the last logged
        prediction loss.
    """
    out = {}
    for coef in weights:
        model, info = _train(features, data, config, float(coef), seed, False)
        out[float(coef)] = {**representation_diagnostics(model, test), "prediction": float(info["prediction"][-1])}
    return out


def encoded_episodes(model: LatentWorldModel, data: Transitions) -> torch.Tensor:
    """Latents ``(E, T + 1, d)`` of every frame of ``data`` under ``model``'s encoder."""
    E, T1 = data.observations.shape[:2]
    frames = data.observations.reshape(E * T1, *data.observations.shape[2:])
    return model.encode(frames).reshape(E, T1, -1)


def representation_diagnostics(model: LatentWorldModel, data: Transitions) -> dict[str, float]:
    """Curvature of the encoded held-out trajectories and the predictor's affine residual.

    Parameters
    ----------
    model : LatentWorldModel
        Encoder and predictor under test.
    data : Transitions
        Held-out episodes (at least ``d + m + 2`` transitions for the affine fit).

    Returns
    -------
    dict
        ``curvature``: mean of :func:`~ltijepa.planning.straightening.trajectory_curvature`
        over episodes; ``linearity_residual``: :func:`~ltijepa.planning.straightening.
        predictor_linearity` on every held-out transition.
    """
    latents = encoded_episodes(model, data)
    actions = torch.tensor(data.actions.reshape(-1, data.actions.shape[-1]), dtype=latents.dtype, device=latents.device)
    return {
        "curvature": float(trajectory_curvature(latents).mean()),
        "linearity_residual": predictor_linearity(model, latents[:, :-1].reshape(-1, latents.shape[-1]), actions),
    }


def hessian_vs_horizon(
    model: LatentWorldModel, problems: int, horizons, rng, *, maze: Maze = U_MAZE
) -> dict[str, np.ndarray]:
    """The Hessian split at random plans, per horizon and problem (float64).

    Start and goal uniform in the free space of ``maze`` (default floor), actions uniform in
    the box.

    Parameters
    ----------
    model : LatentWorldModel
        Rolled out in float64 (a copy).
    problems : int
        Start/goal pairs per horizon.
    horizons : sequence of int
        Plan lengths H.
    rng : int or numpy.random.Generator
        Draws the pairs and the plans.
    maze : Maze
        The layout of the pairs and their images (default the U-maze).

    Returns
    -------
    dict
        ``kappa``, ``t2_ratio``, ``split_error``: arrays ``(len(horizons), problems)``.
    """
    rng = np.random.default_rng(rng)
    size = model.features.image_size
    z, g = (model.encode(render(sample_free(problems, rng, maze=maze), CONDITIONS["NC"], image_size=size, maze=maze)).double()
            for _ in range(2))
    model64 = _double(model)
    out = {k: np.empty((len(horizons), problems)) for k in ("kappa", "t2_ratio", "split_error")}
    for i, H in enumerate(horizons):
        for p in range(problems):
            a = torch.tensor(rng.uniform(-1, 1, size=(H, 2)), dtype=torch.float64)
            split = hessian_split(model64, z[p], g[p], a)
            out["kappa"][i, p] = condition_number(split.full)
            out["t2_ratio"][i, p] = split.t2_ratio
            out["split_error"][i, p] = split.split_error
    return out


def _double(model: LatentWorldModel) -> LatentWorldModel:
    """A float64 copy of ``model`` (the Hessians in float64)."""
    return copy.deepcopy(model).double()


def planners(config: Config) -> dict[str, tuple]:
    """The three planners with their settings bound, and whether each needs a differentiable cost.

    Parameters
    ----------
    config : Config
        ``gradient``, ``evaluation.planner`` (CEM) and ``mppi``.
    """
    return {
        "gradient": (partial(gradient_plan, config=config.gradient), True),
        "CEM": (partial(cem, config=config.evaluation.planner), False),
        "MPPI": (partial(mppi, config=config.mppi), False),
    }


def timed_maze_runs(model, starts, goals, config: Config, names, rng) -> dict[str, tuple[MazeRun, float]]:
    """Goal reaching in the maze ``config.maze`` (default floor) by each named planner, and its wall
    time per plan (s).

    Every planner gets the same starts, goals and a generator drawn from ``rng``.

    Parameters
    ----------
    model : LatentWorldModel
        The world model planned in.
    starts, goals : array, shape (B, 2)
        Positions.
    config : Config
        The maze, the evaluation protocol and the planners' settings.
    names : sequence of str
        Keys of :func:`planners`.
    rng : int or numpy.random.Generator
        Seeds each run.
    """
    rng = np.random.default_rng(rng)
    table, out = planners(config), {}
    plans = -(-config.evaluation.steps // config.evaluation.execute)
    for name in names:
        planner, differentiable = table[name]
        start = time.perf_counter()
        run = plan_in_maze(model, CONDITIONS["NC"], starts, goals, config=config.evaluation, rng=int(rng.integers(2**31)),
                           planner=planner, differentiable=differentiable, maze=config.maze)
        out[name] = (run, (time.perf_counter() - start) / plans)
    return out


def steps_to_converge(elite_costs: np.ndarray, fraction: float = 0.9) -> np.ndarray:
    """Per problem, the first iteration whose cost has made ``fraction`` of the total decrease.

    .. math::  j^\\star = \\min\\{j : c_0 - c_j \\ge \\text{fraction}\\,(c_0 - \\min_i c_i)\\}

    Parameters
    ----------
    elite_costs : numpy.ndarray, shape (iterations, B)
        A planner's trace (``Plan.elite_costs``).
    """
    c = np.asarray(elite_costs, dtype=float)
    if c.ndim != 2:
        raise ShapeError(f"elite_costs: expected (iterations, B), found {c.shape}")
    reached = (c[0] - c) >= fraction * (c[0] - c.min(axis=0)) - 1e-12
    return reached.argmax(axis=0)


def latent_line_paths(
    model: LatentWorldModel, starts, goals, *, points: int = 16, grid: int = 40, maze: Maze = U_MAZE
) -> dict[str, np.ndarray]:
    """Decode the latent straight line from start to goal to positions, by nearest neighbour.

    .. math::  \\hat p(s) = \\arg\\min_{p \\in G} \\|e(o(p)) - ((1 - s) z_s + s z_g)\\|, \\quad s \\in [0, 1]

    with G a grid of free positions of ``maze`` (default floor). A decoded path is *feasible*
    when every segment between consecutive decoded points stays in the free space and no jump
    exceeds twice the step size of the agent's largest move (0.2).

    Parameters
    ----------
    model : LatentWorldModel
        Its encoder.
    starts, goals : array, shape (B, 2)
        Positions.
    points : int
        Points along the latent line.
    grid : int
        Grid positions per axis (the decoding table).
    maze : Maze
        The layout of the grid, the images and the feasibility (default the U-maze).

    Returns
    -------
    dict
        ``paths`` ``(B, points, 2)``, ``feasible`` bool ``(B,)``, ``free`` bool ``(B,)`` (every
        segment in the free space, jumps aside), ``max_jump`` ``(B,)`` (arena units).
    """
    starts, goals = np.asarray(starts, dtype=float), np.asarray(goals, dtype=float)
    axis = np.linspace(0.05, 0.95, grid)
    cells = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    cells = cells[is_free(cells, maze=maze)]
    size = model.features.image_size
    table, z_s, z_g = (model.encode(render(p, CONDITIONS["NC"], image_size=size, maze=maze)) for p in (cells, starts, goals))
    s = torch.linspace(0, 1, points, dtype=z_s.dtype)[None, :, None]
    line = (1 - s) * z_s[:, None] + s * z_g[:, None]
    nearest = torch.cdist(line.reshape(-1, line.shape[-1]), table).argmin(dim=1).cpu().numpy()
    paths = cells[nearest].reshape(len(starts), points, 2)
    jumps = np.linalg.norm(np.diff(paths, axis=1), axis=-1)
    u = np.linspace(0, 1, 16)[None, None, :, None]
    segments = (1 - u) * paths[:, :-1, None] + u * paths[:, 1:, None]
    inside = is_free(segments.reshape(-1, 2), maze=maze).reshape(segments.shape[:3]).all(axis=(1, 2))
    return {"paths": paths, "feasible": inside & (jumps.max(axis=1) <= 0.2), "free": inside, "max_jump": jumps.max(axis=1)}


def gd_convergence(model: LatentWorldModel, starts, goals, config: Config, *, seed: int) -> dict[str, np.ndarray]:
    """One gradient plan per start/goal pair (``config.maze``, default floor, horizon of the
    evaluation), from zeros.

    Parameters
    ----------
    model, starts, goals
        As in :func:`~ltijepa.chapters.straightened_planning.timed_maze_runs`.
    config : Config
        ``maze``, ``gradient`` and ``evaluation.horizon``.
    seed : int
        Seeds the restarts.

    Returns
    -------
    dict
        ``trace`` ``(iterations, B)`` the best cost per iteration divided by the first one,
        ``steps`` ``(B,)`` of :func:`steps_to_converge`, ``final`` ``(B,)`` the final costs.
    """
    size = model.features.image_size
    z_s, z_g = (model.encode(render(np.asarray(p, dtype=float), CONDITIONS["NC"], image_size=size, maze=config.maze))
                for p in (starts, goals))
    plan = gradient_plan(model.terminal_cost(z_s, z_g, differentiable=True),
                         torch.zeros(len(z_s), config.evaluation.horizon, 2, device=z_s.device),
                         config=config.gradient, low=-1.0, high=1.0, generator=torch_generator(seed, z_s.device))
    trace = plan.elite_costs.cpu().numpy()
    return {"trace": trace / trace[0], "steps": steps_to_converge(trace), "final": plan.cost.cpu().numpy()}


class AffineWorldModel(LatentWorldModel):
    """Exactly linear latent dynamics ``z' = M_z z + M_a a + c`` (the fit of a trained predictor).

    Parameters
    ----------
    like : LatentWorldModel
        Lends its encoder (``encode`` and ``embed`` are its own).
    M : torch.Tensor, shape (d, d + m)
    c : torch.Tensor, shape (d,)
    """

    def __init__(self, like: LatentWorldModel, M: torch.Tensor, c: torch.Tensor):
        super().__init__()
        self.features, self.config, self.like = like.features, like.config, like
        d = M.shape[0]
        self.register_buffer("M_z", M[:, :d].clone())
        self.register_buffer("M_a", M[:, d:].clone())
        self.register_buffer("c", c.clone())

    def embed(self, z: torch.Tensor) -> torch.Tensor:
        """The lending model's latents of frozen features ``z``."""
        return self.like.embed(z)

    def predict(self, latent: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """``M_z z + M_a a + c`` of a ``latent`` z and an ``action`` a."""
        return latent @ self.M_z.T.to(latent.dtype) + action @ self.M_a.T.to(latent.dtype) + self.c.to(latent.dtype)

    def loss_terms(self, batch):
        """Not trained: raises for any ``batch``."""
        raise NotImplementedError("AffineWorldModel is a fit, not trained")


def affine_model(model: LatentWorldModel, data: Transitions) -> AffineWorldModel:
    """The best affine fit (:func:`~ltijepa.planning.straightening.affine_fit`) of ``model``'s
    predictor on the held-out transitions of ``data``, as a world model."""
    latents = encoded_episodes(model, data)
    actions = torch.tensor(data.actions.reshape(-1, data.actions.shape[-1]), dtype=latents.dtype, device=latents.device)
    M, c, _ = affine_fit(model, latents[:, :-1].reshape(-1, latents.shape[-1]), actions)
    return AffineWorldModel(model, M, c)
