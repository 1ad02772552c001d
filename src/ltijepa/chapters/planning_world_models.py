"""The driver of ``notebooks/planning_world_models.ipynb`` ("Planning with world models").

:class:`Config` resolves the chapter's sizes from the profile: the planner sweep on the exact
LQ problem (:class:`~ltijepa.planning.lq.SweepConfig`), the random-action data of the maze
(:class:`MazeDataConfig`), the training of the latent world models
(:class:`~ltijepa.planning.training.LatentTrainConfig`) and the goal-reaching evaluation
(:class:`MazeEvalConfig`, with its :class:`~ltijepa.planning.cem.CEMConfig`).

The success-rate experiment is DINO-WM's point-maze evaluation (``plan_point_maze.yaml``),
scaled to the analog:

- start and goal uniform in the free space (``goal_source: random_state``,
  :func:`start_goal_pairs`), the goal given as an image rendered under the same background;
- CEM on the terminal latent cost (:meth:`~ltijepa.planning.world_models.LatentWorldModel.
  terminal_cost`), horizon 5, executing all 5 planned actions before replanning (``mpc_cem``,
  :func:`plan_in_maze`);
- a fixed step budget (DINO-WM replans until every episode succeeds; stable-worldmodel caps
  the budget, as we do), success when the *final* position is within ``success_radius`` of
  the goal (DINO-WM's 0.5 in a maze of unit cells is half a cell; ours is half a cell, 1/6).

:func:`background_shift` measures how much of a latent is floor (the talk's slow features) and
:func:`crosses_wall` splits the start/goal pairs by the wall between them. The maze is the
U-maze (:data:`~ltijepa.envs.pointmaze.U_MAZE`); every function here takes another layout as
the keyword ``maze`` (the straightened-planning chapter's ``full`` profile uses
:data:`~ltijepa.envs.pointmaze.S_MAZE`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch

from ltijepa.checks import check_count, check_positive
from ltijepa.envs.pointmaze import U_MAZE, Background, Maze, PointMaze, is_free, render, sample_free
from ltijepa.errors import ParameterError, ShapeError
from ltijepa.planning.base import torch_generator
from ltijepa.planning.cem import CEMConfig, cem
from ltijepa.planning.lq import SweepConfig
from ltijepa.planning.mpc import mpc
from ltijepa.planning.training import LatentTrainConfig
from ltijepa.planning.world_models import LatentWorldModel
from ltijepa.profiles import by_profile

__all__ = [
    "Config",
    "CONDITION_NAMES",
    "TALK_SUCCESS_RATES",
    "MazeDataConfig",
    "MazeEvalConfig",
    "MazeRun",
    "start_goal_pairs",
    "crosses_wall",
    "plan_in_maze",
    "background_shift",
]


#: The talk's test conditions, in the order of its success table.
CONDITION_NAMES = ("NC", "SC", "C", "LC", "LCG", "D")

#: The talk's success rates (slide "Results: Success Rate"; MuJoCo PointMaze, DINOv2, 50
#: start/goal pairs per condition), one value per condition of :data:`CONDITION_NAMES`.
TALK_SUCCESS_RATES: dict[str, tuple[float, ...]] = {
    "DINO-WM": (0.80, 0.72, 0.60, 0.56, 0.48, 0.78),
    "w/DR": (0.82, 0.82, 0.82, 0.68, 0.64, 0.82),
    "Ours": (0.78, 0.80, 0.76, 0.86, 0.78, 0.82),
}


@dataclass(frozen=True)
class MazeDataConfig:
    """The random-action training data (the notes' CPU analog: 500 trajectories of 50 steps)."""

    episodes: int = 500
    """trajectories per dataset"""
    steps: int = 50
    """steps per trajectory"""
    randomise_fraction: float = 0.4
    """share of domain-randomised episodes in the DR dataset (Toso et al.'s DR baseline: 40%)"""

    def __post_init__(self):
        check_count("episodes", self.episodes)
        check_count("steps", self.steps)
        if not 0.0 <= self.randomise_fraction <= 1.0:
            raise ParameterError(
                f"randomise_fraction == {self.randomise_fraction!r}, must lie in [0, 1]",
                name="randomise_fraction", value=self.randomise_fraction,
            )


@dataclass(frozen=True)
class MazeEvalConfig:
    """The evaluation protocol."""

    pairs: int = 50
    """start/goal pairs per condition (DINO-WM and Toso et al.: ``n_evals`` 50)"""
    horizon: int = 5
    """planning horizon H (DINO-WM: ``goal_H`` 5)"""
    execute: int = 5
    """actions executed per plan (DINO-WM's ``mpc_cem``: all 5)"""
    steps: int = 30
    """step budget per episode (6 plans of 5; the longest free path needs about 20 steps)"""
    success_radius: float = 1.0 / 6.0
    """success when the final distance to the goal is below this (half a maze cell)"""
    planner: CEMConfig = field(default_factory=CEMConfig)
    """the CEM settings"""

    def __post_init__(self):
        for name in ("pairs", "horizon", "execute", "steps"):
            check_count(name, getattr(self, name))
        check_positive("success_radius", self.success_radius)


@dataclass(frozen=True)
class Config:
    """Sizes of the chapter's experiments."""

    sweep: SweepConfig
    """CEM and MPPI against the exact optimum of the LQ problem (:func:`~ltijepa.planning.lq.sample_sweep`)"""
    data: MazeDataConfig
    """the random-action trajectories the world models train on"""
    train: LatentTrainConfig
    """the optimisation of every world model"""
    evaluation: MazeEvalConfig
    """the goal-reaching protocol and its CEM planner"""

    @classmethod
    def for_profile(cls, profile: str) -> Config:
        """``full``: the notes' CPU analog (500 episodes, 20,000 steps) and DINO-WM's point-maze
        CEM (300 samples, 30 elites, 10 iterations) on 50 pairs; ``ci``: 120 episodes,
        1,500 steps (under a minute per model on one CPU thread), CEM (100, 10, 5) on 12 pairs.

        >>> Config.for_profile("ci").evaluation.planner.samples
        100

        Raises
        ------
        ParameterError
            If ``profile`` is unknown.
        """
        return cls(
            sweep=SweepConfig(
                sample_counts=by_profile(profile, ci=(10, 30, 100, 300, 1000), full=(10, 30, 100, 300, 1000, 3000)),
                problems=by_profile(profile, ci=16, full=32),
            ),
            data=MazeDataConfig(episodes=by_profile(profile, ci=120, full=500)),
            train=LatentTrainConfig(steps=by_profile(profile, ci=1_500, full=20_000)),
            evaluation=MazeEvalConfig(
                pairs=by_profile(profile, ci=12, full=50),
                planner=CEMConfig(
                    samples=by_profile(profile, ci=100, full=300),
                    elites=by_profile(profile, ci=10, full=30),
                    iterations=by_profile(profile, ci=5, full=10),
                ),
            ),
        )


@dataclass(frozen=True)
class MazeRun:
    """The closed-loop runs of one model under one background.

    Attributes
    ----------
    starts, goals : numpy.ndarray, shape (B, 2)
    positions : numpy.ndarray, shape (B, T + 1, 2)
        The agent's path.
    final_distance : numpy.ndarray, shape (B,)
        ``||p_T - g||``.
    success : numpy.ndarray of bool, shape (B,)
        ``final_distance < success_radius``.
    latent_distance : numpy.ndarray, shape (B, T + 1)
        ``||e(o_t) - e(o_g)||`` along the path (e: the model's encoder).
    planned_distance : numpy.ndarray, shape (B, H + 1)
        ``||z_hat_t - z_g||`` along the first plan, as the model predicts it.
    """

    starts: np.ndarray
    goals: np.ndarray
    positions: np.ndarray
    final_distance: np.ndarray
    success: np.ndarray
    latent_distance: np.ndarray
    planned_distance: np.ndarray

    @property
    def success_rate(self) -> float:
        """The fraction of successful episodes."""
        return float(self.success.mean())


def start_goal_pairs(count: int, rng, *, maze: Maze = U_MAZE) -> tuple[np.ndarray, np.ndarray]:
    """``count`` starts and goals, independent and uniform on the free space of ``maze``.

    Parameters
    ----------
    count : int
        Number of pairs, >= 1.
    rng : int or numpy.random.Generator
        Seed or generator of the draws (starts first, then goals).
    maze : Maze
        The layout (default the U-maze).

    Returns
    -------
    starts, goals : numpy.ndarray, shape (count, 2)

    Raises
    ------
    ParameterError
        If ``count`` is not a positive integer.
    """
    rng = np.random.default_rng(rng)
    return sample_free(check_count("count", count), rng, maze=maze), sample_free(count, rng, maze=maze)


def crosses_wall(starts: np.ndarray, goals: np.ndarray, *, points: int = 256, maze: Maze = U_MAZE) -> np.ndarray:
    """Whether the straight segment from each start to its goal leaves the free space.

    Both ends are free and the arena is convex, so the segment can only leave the free space
    through an (inflated) wall: these are the pairs a planner must take around a wall.

    Parameters
    ----------
    starts, goals : numpy.ndarray, shape (B, 2)
    points : int
        Points tested along each segment (spacing below a tenth of the agent's radius for
        segments up to 1.4 long).
    maze : Maze
        The layout (default the U-maze).

    Returns
    -------
    numpy.ndarray of bool, shape (B,)

    Raises
    ------
    ShapeError
        If the shapes are not both (B, 2).
    """
    starts, goals = np.asarray(starts, dtype=float), np.asarray(goals, dtype=float)
    if starts.shape != goals.shape or starts.ndim != 2 or starts.shape[1] != 2:
        raise ShapeError(f"starts {starts.shape} and goals {goals.shape} must both be (B, 2)")
    s = np.linspace(0.0, 1.0, check_count("points", points))[None, :, None]
    segment = (1 - s) * starts[:, None] + s * goals[:, None]
    return ~is_free(segment, maze=maze).all(axis=1)


def plan_in_maze(
    model: LatentWorldModel,
    background: Background,
    starts: np.ndarray,
    goals: np.ndarray,
    *,
    config: MazeEvalConfig,
    rng,
    image_size: int = 32,
    planner=None,
    differentiable: bool = False,
    maze: Maze = U_MAZE,
) -> MazeRun:
    """Drive the agent from each start towards the goal image by latent CEM-MPC.

    Parameters
    ----------
    model : LatentWorldModel
        A trained world model (its device is used).
    background : Background
        The test condition: the floor of observations and goal images, and distractors.
    starts, goals : numpy.ndarray, shape (B, 2)
        Free positions.
    config : MazeEvalConfig
        Horizon, execution, budget, radius, CEM settings.
    rng : int or numpy.random.Generator
        Seeds the distractors and the planner.
    image_size : int
        Must be the model's image size.
    planner : callable, optional
        ``planner(cost_fn, init_mean, *, low, high, generator) -> Plan`` in place of CEM with
        ``config.planner`` (e.g. MPPI or the gradient planner with their settings bound).
    differentiable : bool
        Give the planner the differentiable terminal cost (the gradient planner).
    maze : Maze
        The layout the agent moves and is rendered in (default the U-maze).

    Returns
    -------
    MazeRun

    Raises
    ------
    ShapeError
        If ``starts`` and ``goals`` differ in shape.
    DataError
        If a start is not in the free space.
    """
    starts, goals = np.asarray(starts, dtype=float), np.asarray(goals, dtype=float)
    if starts.shape != goals.shape:
        raise ShapeError(f"starts {starts.shape} and goals {goals.shape} must have one shape (B, 2)")
    rng = np.random.default_rng(rng)
    env = PointMaze(background, image_size=image_size, maze=maze)
    state = env.reset(starts, rng)
    goal = model.encode(render(goals, background, distractors=state.distractors, image_size=image_size, maze=maze))
    device = goal.device
    generator = torch_generator(int(rng.integers(2**63)), device)
    chosen = partial(cem, config=config.planner) if planner is None else planner
    run = mpc(
        lambda s, u: env.step(s, u.cpu().numpy()),
        lambda s: model.terminal_cost(model.encode(env.observe(s)), goal, differentiable=differentiable),
        state,
        planner=partial(chosen, low=-1.0, high=1.0, generator=generator),
        init_mean=torch.zeros(len(starts), config.horizon, 2, device=device),
        execute=config.execute,
        steps=config.steps,
    )
    positions = np.stack([s.positions for s in run.states], axis=1)
    final = np.linalg.norm(positions[:, -1] - goals, axis=1)
    along = torch.stack([model.encode(env.observe(s)) for s in run.states], dim=1)
    with torch.no_grad():
        planned = model.rollout(along[:, 0], run.plans[0].actions[:, None])[:, 0]
    return MazeRun(
        starts=starts,
        goals=goals,
        positions=positions,
        final_distance=final,
        success=final < config.success_radius,
        latent_distance=(along - goal[:, None]).norm(dim=-1).cpu().numpy(),
        planned_distance=(planned - goal[:, None]).norm(dim=-1).cpu().numpy(),
    )


def background_shift(
    model: LatentWorldModel, positions: np.ndarray, base: Background, other: Background, *, maze: Maze = U_MAZE
) -> float:
    """How far a change of floor moves the latents, relative to how far position moves them.

    .. math::  \\rho = \\frac{\\operatorname{mean}_i \\|e(o^{\\text{other}}(p_i)) - e(o^{\\text{base}}(p_i))\\|}
                              {\\operatorname{mean}_{i \\ne j} \\|e(o^{\\text{base}}(p_i)) - e(o^{\\text{base}}(p_j))\\|}

    ``rho >> 1``: the slow feature dominates the latent; ``rho << 1``: the latent barely sees it.

    Parameters
    ----------
    model : LatentWorldModel
    positions : numpy.ndarray, shape (B, 2), B >= 2
        Agent positions rendered under both floors.
    base, other : Background
        Floors without distractors.
    maze : Maze
        The layout whose walls are drawn (default the U-maze).

    Raises
    ------
    ShapeError
        If fewer than two positions are given.
    DataError
        If a background has distractors (use floors only).
    """
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 2 or positions.shape[1] != 2 or len(positions) < 2:
        raise ShapeError(f"positions: expected (B >= 2, 2), found {positions.shape}")
    size = model.features.image_size
    z_base = model.encode(render(positions, base, image_size=size, maze=maze))
    z_other = model.encode(render(positions, other, image_size=size, maze=maze))
    shift = (z_other - z_base).norm(dim=-1).mean()
    spread = torch.cdist(z_base, z_base).sum() / (len(positions) * (len(positions) - 1))
    return float(shift / spread)
