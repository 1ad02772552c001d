"""A point mass in a maze (by default a U-maze), rendered to small RGB images with a changeable background.

A CPU-sized analog of the MuJoCo PointMaze of DINO-WM (Zhou et al. 2025) and Toso et al.
(2026), with the talk's *slow features*: the floor (a checker, a gradient or a flat colour) and
moving distractors change what the images look like and nothing else.

Geometry (units: the arena is the unit square). A :class:`Maze` is a union ``W`` of
axis-aligned wall rectangles in the arena; every function that moves, samples or draws the
agent takes it as the keyword ``maze``, by default :data:`U_MAZE`, the U-maze of D4RL's
``maze2d-umaze``: three by three cells, the middle row walled on the left two cells,

.. math::

    \\mathcal W = [0, \\tfrac23] \\times [\\tfrac13, \\tfrac23], \\qquad
    \\mathcal F = \\{p \\in [r, 1 - r]^2 : \\operatorname{dist}_\\infty(p, \\mathcal W) \\ge r\\},

with ``r`` the agent's radius; ``F`` is where the agent's centre may be (for another layout,
``W`` is the union of its walls). :data:`S_MAZE` is the larger, harder layout of the ``full``
profile of the straightened-planning chapter: three walls forming a serpentine corridor, with a
longest path of about 31 steps against the U-maze's 18. Dynamics: first order,

.. math::

    p_{t+1} = \\operatorname{move}(p_t, \\delta \\operatorname{clip}(a_t, -1, 1)),

the displacement being applied in ``SUBSTEPS`` equal parts, each accepted per axis only if the
centre stays in ``F`` (the agent slides along walls). No velocity: one image shows the whole
state, so a one-frame world model suffices (DINO-WM stacks 3 frames for its second-order ball).

Rendering: ``image_size`` pixels per side over the unit square; floor, then grey walls, then
distractor squares, then the agent, an anti-aliased red disc (so sub-pixel moves change pixels).
The backgrounds of the talk's conditions (:data:`CONDITIONS`) follow Toso et al.'s code where
it has them: default, ``slight_change`` and ``gradient_aggressive``
(``datasets/domain_randomization.py``); LC and the distractors are our choice.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ltijepa.checks import check_count
from ltijepa.errors import DataError, ParameterError, ShapeError

__all__ = [
    "Maze",
    "U_MAZE",
    "S_MAZE",
    "AGENT_RADIUS",
    "STEP_SIZE",
    "SUBSTEPS",
    "Background",
    "CONDITIONS",
    "random_background",
    "Distractors",
    "is_free",
    "sample_free",
    "move",
    "render",
    "MazeState",
    "PointMaze",
    "Transitions",
    "random_dataset",
]


#: Collision radius of the agent (and the drawn disc's radius), arena units.
AGENT_RADIUS = 0.045
#: Largest displacement per step and axis, delta (actions are clipped to [-1, 1]).
STEP_SIZE = 0.1
#: Equal parts in which a step's displacement is applied, each checked against the walls.
SUBSTEPS = 8

WALL_COLOUR = (0.7, 0.7, 0.7)
AGENT_COLOUR = (0.95, 0.15, 0.1)
_CHECKER_CELLS = 8  # checker squares per side


@dataclass(frozen=True)
class Maze:
    """A layout of the arena: the walls, axis-aligned rectangles in the unit square.

    A point ``(x, y)`` is in the wall ``(x0, x1, y0, y1)`` when ``x0 < x < x1`` and
    ``y0 < y < y1``; the agent's centre must keep a sup-norm distance of at least
    :data:`AGENT_RADIUS` from every wall and from the arena's border (the free space ``F`` of
    the module docstring). The layout is checked on construction: every wall inside the arena,
    with ``x0 < x1`` and ``y0 < y1``, and the free space non-empty and connected (on a grid of
    spacing 1/200), so that every start can reach every goal.

    >>> Maze(((0.0, 0.5, 0.4, 0.6),)).walls
    ((0.0, 0.5, 0.4, 0.6),)
    >>> Maze(((0.0, 1.2, 0.4, 0.6),))
    Traceback (most recent call last):
    ...
    ltijepa.errors.ParameterError: walls[0].x1 == 1.2, must lie in [0, 1]

    Raises
    ------
    ShapeError
        If ``walls`` is not a sequence of walls of 4 numbers each.
    ParameterError
        If a coordinate is not a real number in [0, 1], a wall is empty (``x0 >= x1`` or
        ``y0 >= y1``), or the walls leave no free space or split it in several parts.
    """

    walls: tuple[tuple[float, float, float, float], ...]
    """the wall rectangles ``(x0, x1, y0, y1)``, arena units (an empty tuple: an open arena)"""

    #: Spacing of the grid on which the free space is checked to be non-empty and connected.
    GRID = 1.0 / 200.0

    def __post_init__(self):
        if not isinstance(self.walls, (tuple, list, np.ndarray)):
            raise ShapeError(f"walls: expected a sequence of walls (x0, x1, y0, y1), found {self.walls!r}", name="walls")
        walls = []
        for i, wall in enumerate(self.walls):
            if not isinstance(wall, (tuple, list, np.ndarray)) or np.ndim(wall) != 1 or len(wall) != 4:
                raise ShapeError(f"walls[{i}]: expected 4 numbers (x0, x1, y0, y1), found {wall!r} "
                                 "(a single wall is written walls=((x0, x1, y0, y1),))",
                                 name=f"walls[{i}]", expected=(4,), found=np.shape(wall))
            for axis, value in zip(("x0", "x1", "y0", "y1"), wall):
                name = f"walls[{i}].{axis}"
                if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
                    raise ParameterError(f"{name} == {value!r}, must lie in [0, 1]", name=name, value=value)
            x0, x1, y0, y1 = (float(v) for v in wall)
            for low, high, axis in ((x0, x1, "x"), (y0, y1, "y")):
                if low >= high:
                    raise ParameterError(f"walls[{i}] == {(x0, x1, y0, y1)!r}: {axis}0 == {low!r} >= {axis}1 == {high!r}, "
                                         f"must be {axis}0 < {axis}1", name=f"walls[{i}]", value=wall)
            walls.append((x0, x1, y0, y1))
        object.__setattr__(self, "walls", tuple(walls))
        centres = (np.arange(round(1 / self.GRID)) + 0.5) * self.GRID
        grid = np.stack(np.meshgrid(centres, centres, indexing="ij"), axis=-1)
        parts = ndimage.label(self.free(grid))[1]
        if parts != 1:
            raise ParameterError(
                f"walls == {self.walls!r} leave {'no free space' if parts == 0 else f'{parts} unconnected free regions'} "
                f"for an agent of radius {AGENT_RADIUS}, must leave one connected free space", name="walls", value=self.walls,
            )

    def free(self, positions: np.ndarray) -> np.ndarray:
        """Whether each agent centre lies in the free space F of this layout (module docstring).

        Parameters
        ----------
        positions : numpy.ndarray, shape (..., 2)

        Returns
        -------
        numpy.ndarray of bool, shape (...)
        """
        x, y = positions[..., 0], positions[..., 1]
        r = AGENT_RADIUS
        inside = (x >= r) & (x <= 1 - r) & (y >= r) & (y <= 1 - r)
        return inside & ~self.covers(x, y, margin=r)

    def covers(self, x: np.ndarray, y: np.ndarray, *, margin: float = 0.0) -> np.ndarray:
        """Whether each point ``(x, y)`` is within sup-norm distance ``margin`` of a wall.

        Parameters
        ----------
        x, y : numpy.ndarray
            Coordinates, broadcast together.
        margin : float
            How far the walls are inflated (0: the open rectangles themselves).

        Returns
        -------
        numpy.ndarray of bool, the broadcast shape of ``x`` and ``y``
        """
        x, y = np.asarray(x), np.asarray(y)
        out = np.zeros(np.broadcast_shapes(x.shape, y.shape), dtype=bool)
        for x0, x1, y0, y1 in self.walls:
            out |= (x < x1 + margin) & (x > x0 - margin) & (y > y0 - margin) & (y < y1 + margin)
        return out


@dataclass(frozen=True)
class Background:
    """What the floor looks like, and the distractors moving over it: the slow features."""

    kind: str
    """``"checker"`` (squares of the two colours), ``"gradient"`` (colour1 at the bottom-left
    corner to colour2 at the top-right), or ``"flat"`` (colour1 everywhere)"""
    colour1: tuple[float, float, float]
    """first RGB colour, entries in [0, 1]"""
    colour2: tuple[float, float, float]
    """second RGB colour, entries in [0, 1]"""
    distractors: int = 0
    """number of moving squares drawn over the floor (0: none)"""
    distractor_colour: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """their RGB colour (black, as Toso et al.'s test distractors)"""

    def __post_init__(self):
        if self.kind not in ("checker", "gradient", "flat"):
            raise ParameterError(f"kind == {self.kind!r}, must be 'checker', 'gradient' or 'flat'", name="kind",
                                 value=self.kind)
        for name in ("colour1", "colour2", "distractor_colour"):
            value = np.asarray(getattr(self, name), dtype=float)
            if value.shape != (3,) or not np.all((value >= 0) & (value <= 1)):
                raise ParameterError(f"{name} == {getattr(self, name)!r}, must be 3 numbers in [0, 1]", name=name,
                                     value=getattr(self, name))
        check_count("distractors", self.distractors, minimum=0)

    def floor(self, image_size: int) -> np.ndarray:
        """The floor image, float ``(image_size, image_size, 3)`` in [0, 1] (row 0 at y = 1)."""
        centres = (np.arange(image_size) + 0.5) / image_size
        x, y = np.meshgrid(centres, centres[::-1])
        c1, c2 = np.asarray(self.colour1), np.asarray(self.colour2)
        if self.kind == "flat":
            return np.broadcast_to(c1, (image_size, image_size, 3)).copy()
        if self.kind == "gradient":
            s = ((x + y) / 2)[..., None]
            return (1 - s) * c1 + s * c2
        odd = ((np.floor(x * _CHECKER_CELLS) + np.floor(y * _CHECKER_CELLS)) % 2)[..., None]
        return (1 - odd) * c1 + odd * c2


#: The talk's test conditions (slide "Results: Success Rate"); NC is the training floor.
CONDITIONS: dict[str, Background] = {
    # NC, no change: DINO-WM's default floor texture (checker 0.2 0.3 0.4 / 0.1 0.2 0.3)
    "NC": Background("checker", (0.2, 0.3, 0.4), (0.1, 0.2, 0.3)),
    # SC, slight colour change: Toso et al.'s 'slight_change' (+0.2 per channel)
    "SC": Background("checker", (0.4, 0.5, 0.6), (0.3, 0.4, 0.5)),
    # C, colour gradient change: Toso et al.'s 'gradient' (default colours as a gradient)
    "C": Background("gradient", (0.2, 0.3, 0.4), (0.1, 0.2, 0.3)),
    # LC, large colour change: not in the authors' code; an unseen olive-green hue (ours)
    "LC": Background("checker", (0.55, 0.7, 0.25), (0.4, 0.55, 0.15)),
    # LCG, large colour and gradient change: Toso et al.'s 'gradient_aggressive'
    "LCG": Background("gradient", (0.18, 0.05, 0.35), (0.5, 0.22, 0.55)),
    # D, moving distractors: the training floor with three black squares (ours: sizes, speed)
    "D": Background("checker", (0.2, 0.3, 0.4), (0.1, 0.2, 0.3), distractors=3),
}


def random_background(rng) -> Background:
    """A domain-randomisation floor, after Toso et al.'s DR set: a random kind, colour1 uniform
    in [0.1, 0.6]^3, colour2 = colour1 - 0.1; with probability 1/2, 1 to 3 distractors of a
    random colour in [0.35, 0.95]^3 (never black, the test distractors' colour).

    Parameters
    ----------
    rng : int or numpy.random.Generator
        Seed or generator.
    """
    rng = np.random.default_rng(rng)
    kind = ("checker", "gradient", "flat")[int(rng.integers(3))]
    colour1 = rng.uniform(0.1, 0.6, size=3)
    distractors = int(rng.integers(1, 4)) if rng.random() < 0.5 else 0
    return Background(
        kind,
        tuple(colour1.round(3)),
        tuple((colour1 - 0.1).round(3)),
        distractors=distractors,
        distractor_colour=tuple(rng.uniform(0.35, 0.95, size=3).round(3)),
    )


@dataclass(frozen=True)
class Distractors:
    """Squares moving at constant speed over the image, bouncing off its borders.

    Attributes
    ----------
    positions : numpy.ndarray, shape (B, k, 2)
        Centres in the unit square.
    velocities : numpy.ndarray, shape (B, k, 2)
        Displacement per step.
    """

    positions: np.ndarray
    velocities: np.ndarray

    #: Side of a square (arena units) and speed per step.
    SIZE = 0.1
    SPEED = 0.04

    @classmethod
    def spawn(cls, batch: int, count: int, rng) -> Distractors:
        """``count`` squares per problem, uniform positions and directions, speed ``SPEED``."""
        rng = np.random.default_rng(rng)
        angle = rng.uniform(0, 2 * np.pi, size=(batch, count))
        velocities = cls.SPEED * np.stack([np.cos(angle), np.sin(angle)], axis=-1)
        return cls(rng.uniform(0.05, 0.95, size=(batch, count, 2)), velocities)

    def step(self) -> Distractors:
        """Move one step; a square crossing [0, 1] is reflected back and turns around."""
        p = self.positions + self.velocities
        v = self.velocities.copy()
        low, high = p < 0, p > 1
        p = np.where(low, -p, np.where(high, 2 - p, p))
        v[low | high] *= -1
        return Distractors(p, v)


#: The default layout, D4RL's ``maze2d-umaze``: one wall over the left two cells of the middle
#: row of three by three cells; the longest shortest path between free points is about 18 steps.
U_MAZE = Maze(((0.0, 2.0 / 3.0, 1.0 / 3.0, 2.0 / 3.0),))
#: The larger layout of the ``full`` profile of the chapter "Planning by gradient descent in a
#: straightened latent space" (``notebooks/straightened_planning.ipynb``): a serpentine of
#: three walls 0.06 thick, alternately from the left and the right border and leaving a gap of
#: 0.25 at the other, so that four corridors of width 0.205 join into one S-shaped path from the
#: bottom-left to the top-left corner; the longest shortest path is about 31 steps.
S_MAZE = Maze(((0.0, 0.75, 0.205, 0.265), (0.25, 1.0, 0.47, 0.53), (0.0, 0.75, 0.735, 0.795)))


def is_free(positions: np.ndarray, *, maze: Maze = U_MAZE) -> np.ndarray:
    """Whether each agent centre lies in the free space F of ``maze`` (:meth:`Maze.free`).

    Parameters
    ----------
    positions : numpy.ndarray, shape (..., 2)
    maze : Maze
        The layout (default :data:`U_MAZE`).

    Returns
    -------
    numpy.ndarray of bool, shape (...)
    """
    return maze.free(positions)


def sample_free(count: int, rng, *, maze: Maze = U_MAZE) -> np.ndarray:
    """``count`` positions uniform on the free space F of ``maze``, by rejection; shape (count, 2).

    Parameters
    ----------
    count : int
        Number of positions to draw.
    rng : int or numpy.random.Generator
        Seed or generator of the candidate points (a generator is advanced in place).
    maze : Maze
        The layout (default :data:`U_MAZE`).

    Returns
    -------
    numpy.ndarray, shape (count, 2)
        Agent centres in F, in arena units.

    Raises
    ------
    ParameterError
        If ``count`` is not an integer >= 0.
    """
    count = check_count("count", count, minimum=0)
    rng = np.random.default_rng(rng)
    out = np.empty((0, 2))
    while len(out) < count:
        candidates = rng.uniform(0, 1, size=(2 * count, 2))
        out = np.concatenate([out, candidates[maze.free(candidates)]])
    return out[:count]


def _check_positions(positions, maze: Maze) -> np.ndarray:
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 2 or positions.shape[1] != 2:
        raise ShapeError(f"positions: expected (B, 2), found {positions.shape}")
    free = maze.free(positions)
    if not free.all():
        i = int(np.flatnonzero(~free)[0])
        raise DataError(f"position {positions[i].tolist()} is not in the free space (walls, borders)",
                        name="positions", index=i)
    return positions


def move(positions: np.ndarray, actions: np.ndarray, *, maze: Maze = U_MAZE) -> np.ndarray:
    """One step of the dynamics: ``p + STEP_SIZE * clip(a, -1, 1)``, sliding along walls.

    Parameters
    ----------
    positions : numpy.ndarray, shape (B, 2)
        Agent centres, in the free space.
    actions : numpy.ndarray, shape (B, 2)
        Actions; clipped to [-1, 1] (a NaN action is an error).
    maze : Maze
        The layout (default :data:`U_MAZE`).

    Returns
    -------
    numpy.ndarray, shape (B, 2)
        The new positions, in the free space.

    Raises
    ------
    ShapeError
        If the shapes are not (B, 2) and (B, 2).
    DataError
        If a position is not free or an action is not finite.
    """
    p = _check_positions(positions, maze).copy()
    actions = np.asarray(actions, dtype=float)
    if actions.shape != p.shape:
        raise ShapeError(f"actions: expected {p.shape}, found {actions.shape}")
    if not np.all(np.isfinite(actions)):
        raise DataError(f"actions must be finite, found {actions[~np.isfinite(actions)][:3].tolist()}",
                        name="actions", index=tuple(int(i) for i in np.argwhere(~np.isfinite(actions))[0]))
    delta = STEP_SIZE * np.clip(actions, -1, 1) / SUBSTEPS
    for _ in range(SUBSTEPS):
        for axis in (0, 1):
            trial = p.copy()
            trial[:, axis] += delta[:, axis]
            ok = maze.free(trial)
            p[ok] = trial[ok]
    return p


def render(
    positions: np.ndarray,
    background: Background,
    *,
    distractors: Distractors | None = None,
    image_size: int = 32,
    maze: Maze = U_MAZE,
) -> np.ndarray:
    """Images of the agent at ``positions`` on ``background`` in ``maze``: uint8 ``(B, 3, S, S)``.

    Parameters
    ----------
    positions : numpy.ndarray, shape (B, 2)
        Agent centres (need not be free: the goal images of planning are rendered the same way).
    background : Background
        Floor and distractor colours.
    distractors : Distractors, optional
        Squares to draw (``(B, k, 2)`` positions); required iff ``background.distractors > 0``.
    image_size : int
        S, pixels per side (>= 8).
    maze : Maze
        The layout whose walls are drawn (default :data:`U_MAZE`).

    Raises
    ------
    ShapeError
        If ``positions`` is not (B, 2) or the distractors do not match.
    ParameterError
        If ``image_size`` is not an integer >= 8, or distractors are missing or unexpected.
    """
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 2 or positions.shape[1] != 2:
        raise ShapeError(f"positions: expected (B, 2), found {positions.shape}")
    check_count("image_size", image_size, minimum=8)
    if (distractors is None) != (background.distractors == 0):
        raise ParameterError(
            f"background has distractors == {background.distractors} but distractors "
            f"{'were not' if distractors is None else 'were'} given", name="distractors", value=distractors,
        )
    S = image_size
    centres = (np.arange(S) + 0.5) / S
    x, y = np.meshgrid(centres, centres[::-1])  # (S, S): row 0 at the top (y near 1)
    floor = background.floor(S)
    floor[maze.covers(x, y)] = WALL_COLOUR
    images = np.broadcast_to(floor, (len(positions), S, S, 3)).copy()
    if distractors is not None:
        if distractors.positions.shape[:2] != (len(positions), background.distractors):
            raise ShapeError(
                f"distractors: expected ({len(positions)}, {background.distractors}, 2), "
                f"found {distractors.positions.shape}"
            )
        half = Distractors.SIZE / 2
        for k in range(background.distractors):
            c = distractors.positions[:, k]
            mask = (np.abs(x - c[:, 0, None, None]) <= half) & (np.abs(y - c[:, 1, None, None]) <= half)
            images[mask] = background.distractor_colour
    dist = np.hypot(x - positions[:, 0, None, None], y - positions[:, 1, None, None]) * S
    cover = np.clip(AGENT_RADIUS * S + 0.5 - dist, 0.0, 1.0)[..., None]
    images = (1 - cover) * images + cover * np.asarray(AGENT_COLOUR)
    return np.round(images * 255).astype(np.uint8).transpose(0, 3, 1, 2)


@dataclass(frozen=True)
class MazeState:
    """The state of a batch of mazes: agent positions and the distractors (if any)."""

    positions: np.ndarray
    """(B, 2) agent centres"""
    distractors: Distractors | None = None
    """the moving squares, or None"""


@dataclass(frozen=True)
class PointMaze:
    """The environment under one background: reset, step (batched), observe.

    The agent's motion is :func:`move` whatever the background: the background only changes
    :meth:`observe`.
    """

    background: Background = field(default_factory=lambda: CONDITIONS["NC"])
    """floor and distractors"""
    image_size: int = 32
    """pixels per side of the observations"""
    maze: Maze = U_MAZE
    """the layout: its walls block the agent and are drawn"""

    def reset(self, positions: np.ndarray, rng) -> MazeState:
        """Start at ``positions`` (B, 2), spawning the background's distractors from ``rng``.

        Raises
        ------
        ShapeError, DataError
            If the positions are not (B, 2) points of the free space.
        """
        positions = _check_positions(positions, self.maze)
        distractors = None
        if self.background.distractors:
            distractors = Distractors.spawn(len(positions), self.background.distractors, rng)
        return MazeState(positions, distractors)

    def step(self, state: MazeState, actions) -> MazeState:
        """Move the agents by ``actions`` (B, 2) and the distractors by one step.

        Parameters
        ----------
        state : MazeState
            The current state: ``B`` agent positions in the free space, and the distractors.
        actions : array_like, shape (B, 2)
            One action per agent, as in :func:`move`: clipped to [-1, 1], then scaled by
            ``STEP_SIZE``.

        Returns
        -------
        MazeState
            The next state (``state`` itself is not changed).

        Raises
        ------
        ShapeError, DataError
            As :func:`move`.
        """
        distractors = None if state.distractors is None else state.distractors.step()
        return MazeState(move(state.positions, np.asarray(actions, dtype=float), maze=self.maze), distractors)

    def observe(self, state: MazeState) -> np.ndarray:
        """The images of ``state``: uint8 (B, 3, S, S)."""
        return render(state.positions, self.background, distractors=state.distractors, image_size=self.image_size,
                      maze=self.maze)


@dataclass(frozen=True)
class Transitions:
    """Random-action trajectories: what the world models learn from.

    Attributes
    ----------
    observations : numpy.ndarray of uint8, shape (E, T + 1, 3, S, S)
    actions : numpy.ndarray, shape (E, T, 2)
        In [-1, 1].
    positions : numpy.ndarray, shape (E, T + 1, 2)
        The true agent positions (for evaluation, and the bisimulation reward).
    randomised : numpy.ndarray of bool, shape (E,)
        Which episodes had a domain-randomised background.
    """

    observations: np.ndarray
    actions: np.ndarray
    positions: np.ndarray
    randomised: np.ndarray


def random_dataset(
    episodes: int,
    steps: int,
    rng,
    *,
    background: Background = CONDITIONS["NC"],
    randomise_fraction: float = 0.0,
    image_size: int = 32,
    hold: int = 1,
    maze: Maze = U_MAZE,
) -> Transitions:
    """Trajectories of uniform random actions from uniform free starts.

    With ``hold > 1`` each drawn action is repeated for ``hold`` steps, so the agent moves on
    straight segments between turns (and walls); ``hold = 1`` is a fresh action every step
    and draws exactly what it drew before the option existed.

    Parameters
    ----------
    episodes, steps : int
        E trajectories of T steps each (>= 1).
    rng : int or numpy.random.Generator
        Seed or generator of starts, actions, backgrounds and distractors.
    background : Background
        The floor of the non-randomised episodes (default: the training floor NC).
    randomise_fraction : float
        Probability in [0, 1] that an episode gets a :func:`random_background` instead
        (domain randomisation; Toso et al.'s DR baseline uses 0.4).
    image_size : int
        Pixels per side.
    hold : int
        Steps each drawn action is held (default 1).
    maze : Maze
        The layout of starts, motion and images (default :data:`U_MAZE`).

    Raises
    ------
    ParameterError
        If ``episodes``, ``steps`` or ``hold`` is not a positive integer, or the fraction is
        outside [0, 1].
    """
    check_count("episodes", episodes)
    check_count("steps", steps)
    check_count("hold", hold)
    if not 0.0 <= randomise_fraction <= 1.0:
        raise ParameterError(f"randomise_fraction == {randomise_fraction!r}, must lie in [0, 1]",
                             name="randomise_fraction", value=randomise_fraction)
    rng = np.random.default_rng(rng)
    randomised = rng.random(episodes) < randomise_fraction
    positions = np.empty((episodes, steps + 1, 2))
    positions[:, 0] = sample_free(episodes, rng, maze=maze)
    actions = np.repeat(rng.uniform(-1, 1, size=(episodes, -(-steps // hold), 2)), hold, axis=1)[:, :steps]
    for t in range(steps):
        positions[:, t + 1] = move(positions[:, t], actions[:, t], maze=maze)
    observations = np.empty((episodes, steps + 1, 3, image_size, image_size), dtype=np.uint8)
    for e in range(episodes):
        floor = random_background(rng) if randomised[e] else background
        observations[e] = render(positions[e], floor, distractors=_trajectory(floor, steps, rng), image_size=image_size,
                                 maze=maze)
    return Transitions(observations, actions, positions, randomised)


def _trajectory(background: Background, steps: int, rng: np.random.Generator) -> Distractors | None:
    """The distractors of one episode at times 0..steps, stacked as a batch of steps + 1."""
    if not background.distractors:
        return None
    current = Distractors.spawn(1, background.distractors, rng)
    frames = [current]
    for _ in range(steps):
        current = current.step()
        frames.append(current)
    return Distractors(
        np.concatenate([f.positions for f in frames]), np.concatenate([f.velocities for f in frames])
    )
