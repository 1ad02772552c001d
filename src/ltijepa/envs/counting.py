"""The pixel counting environment of Yu et al. (2025), §2.3 and Appendix D, and its datasets.

An observation is an RGB image (black background) showing ``k`` objects, ``k`` in
``{0, ..., max_count}``. Shape (circle, square, triangle, bar) and colour are drawn at the
start of an episode and fixed for it; the positions of the objects are drawn anew at every
step. The action is a real number whose sign is the move: ``a >= 0`` adds an object
(``inc``), ``a < 0`` removes one (``dec``), and the count is clipped to
``[0, max_count]``:

.. math::

    k_{t+1} = \\min\\{\\max\\{k_t + \\operatorname{sign}(a_t), 0\\}, k_{\\max}\\},
    \\qquad r_{t+1} = \\mathbf 1\\{k_{t+1} = n\\},
    \\qquad r^{\\text{pre}}_t = \\mathbf 1\\{k_t = n\\},

with ``n`` the target count (4 in the paper). The auxiliary target of P-JEPA is the
*current* reward ``r_pre`` of the observation ``o_t`` (the authors' ``info['reward_pre']``),
so the auxiliary function is ``p(o) = 1{k(o) = n}`` as in Appendix C of the paper.

At the level of counts this is the deterministic MDP of Appendix C (and of
:mod:`ltijepa.envs.counting_mdp`); at the level of pixels the successor is random, because the
positions are redrawn. Following the authors' code (``tdmpc2/envs/counting.py``), a step
redraws the positions even when the count is clipped (``inc`` at ``k_max``, ``dec`` at 0).

Rendering is vectorised: :func:`render` draws a batch of frames with boolean stamps of the
four shapes and rejection-sampled centres (overlap protection: centres at least ``2r + 1``
pixels apart, 50 tries, then overlap is allowed, as in the authors' code).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ltijepa.checks import check_count
from ltijepa.errors import DataError, ParameterError, ShapeError

__all__ = [
    "SHAPES",
    "COLOUR_RANGE",
    "Episode",
    "CountingEnv",
    "Transitions",
    "shape_stamp",
    "render",
    "place_centres",
    "check_placeable",
    "make_transitions",
    "make_probe",
]

#: The object shapes, in the order of their integer codes. ``"bar"`` is the authors' ``line``:
#: a diagonal segment about two pixels wide.
SHAPES = ("circle", "square", "triangle", "bar")

#: Colour channels are integers in ``[30, 226)``, as in the authors' code.
COLOUR_RANGE = (30, 226)
_PLACEMENT_TRIES = 50  # rejection-sampling attempts per object before overlap is allowed


def shape_stamp(shape: int, radius: int) -> np.ndarray:
    """The boolean stamp of one object, centred in a ``(2r+1, 2r+1)`` square.

    Parameters
    ----------
    shape : int
        Index into :data:`SHAPES`.
    radius : int
        The size parameter ``r >= 1`` (3 for 64-pixel frames in the paper).

    Returns
    -------
    numpy.ndarray of bool, shape (2r+1, 2r+1)
        Circle ``dx^2 + dy^2 <= (r + 1/2)^2``; square: all; triangle with apex ``(0, -r)`` and
        base ``dy = r``: ``|dx| <= (dy + r) / 2``; bar (the diagonal): ``|dx - dy| <= 1``.

    Raises
    ------
    ParameterError
        If ``shape`` is not an index of :data:`SHAPES` or ``radius < 1``.

    Examples
    --------
    >>> shape_stamp(1, 1).sum()
    np.int64(9)
    """
    shape = check_count("shape", shape, minimum=0, maximum=len(SHAPES) - 1)
    radius = check_count("radius", radius, minimum=1)
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    name = SHAPES[shape]
    if name == "circle":
        return dx**2 + dy**2 <= (radius + 0.5) ** 2
    if name == "square":
        return np.ones_like(dx, dtype=bool)
    if name == "triangle":
        return 2 * np.abs(dx) <= dy + radius
    return np.abs(dx - dy) <= 1


def place_centres(counts: np.ndarray, size: int, radius: int, rng: np.random.Generator) -> np.ndarray:
    """Object centres of a batch of frames, placed as the authors do.

    Object ``j`` of every frame is drawn uniformly in ``[r, size - r)²``, up to 50 times, until
    it is at least ``2r + 1`` from objects ``0..j-1`` (squared distance ``>= (2r + 1)²``);
    after 50 tries the last draw is kept (overlap allowed).

    Parameters
    ----------
    counts : numpy.ndarray of int, shape (B,)
        Number of objects in each frame.
    size : int
        Height and width of a frame in pixels.
    radius : int
        The object size parameter r.
    rng : numpy.random.Generator
        Source of the positions.

    Returns
    -------
    numpy.ndarray of int64, shape (B, k_max, 2)
        ``k_max = max(counts)``; rows ``j >= counts[b]`` of frame ``b`` are 0.
    """
    batch, k_max = len(counts), int(counts.max(initial=0))
    centres = np.zeros((batch, k_max, 2), dtype=np.int64)
    min_sq = (2 * radius + 1) ** 2
    for j in range(k_max):
        todo = np.flatnonzero(counts > j)
        for _ in range(_PLACEMENT_TRIES):
            centres[todo, j] = rng.integers(radius, size - radius, size=(len(todo), 2))
            if j == 0:
                break
            sq = ((centres[todo, :j] - centres[todo, j : j + 1]) ** 2).sum(axis=-1)
            todo = todo[(sq < min_sq).any(axis=1)]
            if len(todo) == 0:
                break
    return centres


def render(
    counts: np.ndarray,
    shapes: np.ndarray,
    colours: np.ndarray,
    *,
    size: int,
    radius: int,
    rng,
) -> np.ndarray:
    """Draw a batch of frames with fresh object positions.

    Parameters
    ----------
    counts : array of int, shape (B,)
        Number of objects in each frame, each ``>= 0``.
    shapes : array of int, shape (B,)
        Shape code of each frame (index into :data:`SHAPES`).
    colours : array of int, shape (B, 3)
        RGB colour of the objects, each channel in ``[0, 255]``.
    size : int
        Height and width of a frame in pixels.
    radius : int
        Object size ``r``; an object covers at most ``(2r+1)^2`` pixels.
    rng : numpy.random.Generator or int
        Source of the positions.

    Returns
    -------
    numpy.ndarray of uint8, shape (B, 3, size, size)
        Channels-first frames, black where there is no object.

    Raises
    ------
    ShapeError
        If the arrays do not have the shapes above.
    ParameterError
        If ``radius < 1`` or ``size < 2 r + 2``.
    DataError
        If a count, shape code or colour is out of range.

    Examples
    --------
    >>> frames = render(np.array([0, 3]), np.array([0, 1]), np.full((2, 3), 200), size=16,
    ...                 radius=1, rng=0)
    >>> frames.shape, int(frames[0].max()), int((frames[1, 0] > 0).sum())
    ((2, 3, 16, 16), 0, 27)
    """
    rng = np.random.default_rng(rng)
    counts, shapes, colours = np.asarray(counts), np.asarray(shapes), np.asarray(colours)
    radius = check_count("radius", radius, minimum=1)
    size = check_count("size", size, minimum=2 * radius + 2)
    if counts.ndim != 1 or shapes.shape != counts.shape or colours.shape != (len(counts), 3):
        raise ShapeError(
            f"expected counts (B,), shapes (B,), colours (B, 3); found {counts.shape}, "
            f"{shapes.shape}, {colours.shape}"
        )
    for name, values, high in (("shapes", shapes, len(SHAPES) - 1), ("colours", colours, 255), ("counts", counts, None)):
        bad = np.argwhere((values < 0) | (values > (np.inf if high is None else high)))
        if bad.size:
            bound = ">= 0" if high is None else f"in [0, {high}]"
            index = tuple(int(i) for i in bad[0])
            raise DataError(f"{name} contains {values[index]}, must be {bound}", name=name, index=index)
    frames = np.zeros((len(counts), size, size, 3), dtype=np.uint8)
    centres = place_centres(counts, size, radius, rng)
    for code in range(len(SHAPES)):
        dy, dx = np.nonzero(shape_stamp(code, radius))
        rows, slots = np.nonzero((shapes[:, None] == code) & (np.arange(centres.shape[1]) < counts[:, None]))
        ys = centres[rows, slots, 1][:, None] + dy - radius
        xs = centres[rows, slots, 0][:, None] + dx - radius
        frames[rows[:, None], ys, xs] = colours[rows][:, None, :]
    return frames.transpose(0, 3, 1, 2)


@dataclass
class Episode:
    """The state of one episode: what :meth:`CountingEnv.step` advances."""

    count: int
    """the current number of objects k_t"""
    shape: int
    """the shape code of the episode (index into SHAPES), fixed at reset"""
    colour: np.ndarray
    """int64 (3,): the RGB colour of the episode, fixed at reset"""
    rng: np.random.Generator
    """the source of the object positions"""


def check_placeable(max_count: int, *, radius: int, size: int) -> None:
    """Raise :class:`ParameterError` unless ``max_count`` stamps fit apart in the frame.

    Centres lie in a ``(size - 2r)``-pixel square and each stamp covers ``(2r + 1)^2`` pixels, so
    ``max_count (2r + 1)^2 <= (size - 2r)^2`` is necessary for :func:`place_centres` to keep
    the objects apart (beyond it the renderer overlaps them and the count is not visible).

    Parameters
    ----------
    max_count : int
        The largest number of objects in a frame.
    radius, size : int
        The object size r and the frame side in pixels, as in :class:`CountingEnv`.
    """
    side = size - 2 * radius
    if max_count * (2 * radius + 1) ** 2 > side**2:
        raise ParameterError(
            f"max_count == {max_count} objects of radius {radius} cannot be kept apart in a "
            f"{size}-pixel frame; use a larger size or a smaller radius",
            name="max_count", value=max_count,
        )


@dataclass(frozen=True)
class CountingEnv:
    """The counting environment: sizes, dynamics and reward.

    The environment is immutable; :meth:`reset` returns an :class:`Episode` that
    :meth:`step` advances.

    Raises
    ------
    ParameterError
        If a size is not a positive integer, the target is not in ``[0, max_count]``, or
        ``max_count`` objects cannot be kept apart in the frame.
    """

    size: int = 64
    """height and width of a frame in pixels (64 in the paper)"""
    radius: int = 3
    """object size parameter r: stamps are (2r+1) pixels wide (3 at 64 pixels in the paper)"""
    max_count: int = 8
    """largest number of objects k_max (counts are 0..k_max; 8 in the paper)"""
    target: int = 4
    """the rewarded count n: reward 1{k = n} (4 in the paper)"""

    def __post_init__(self):
        check_count("radius", self.radius, minimum=1)
        check_count("max_count", self.max_count, minimum=0)
        check_count("target", self.target, minimum=0, maximum=self.max_count)
        check_count("size", self.size, minimum=2 * self.radius + 2)
        check_placeable(self.max_count, radius=self.radius, size=self.size)

    def next_count(self, count, action) -> np.ndarray:
        """``clip(k + sign(a), 0, k_max)`` with ``sign(a) = +1`` for ``a >= 0`` (inc), else -1.

        Parameters
        ----------
        count : int or array of int
            Current count(s) ``k``.
        action : float or array of float
            Action(s) ``a``; only the sign matters. Broadcast against ``count``.

        Returns
        -------
        numpy.ndarray of int
            The next count(s), of the broadcast shape (0-d for scalar inputs).
        """
        step = np.where(np.asarray(action) < 0, -1, 1)
        return np.clip(np.asarray(count) + step, 0, self.max_count)

    def reward(self, count) -> np.ndarray:
        """``1{k = n}`` as float32: the reward of a frame showing ``k`` objects.

        Parameters
        ----------
        count : int or array of int
            Count(s) ``k``; the result has the same shape (0-d for a scalar).
        """
        return (np.asarray(count) == self.target).astype(np.float32)

    def draw(self, counts, shapes, colours, rng) -> np.ndarray:
        """:func:`render` with this environment's size and radius.

        Parameters
        ----------
        counts, shapes, colours, rng
            As in :func:`ltijepa.envs.counting.render`.

        Returns
        -------
        numpy.ndarray of uint8, shape (B, 3, size, size)
        """
        return render(counts, shapes, colours, size=self.size, radius=self.radius, rng=rng)

    def reset(self, rng) -> tuple[np.ndarray, Episode]:
        """Start an episode: ``k ~ U{0..k_max}``, a uniform shape, a uniform colour.

        Returns the first frame (3, size, size) and the :class:`Episode` that :meth:`step`
        advances.

        Parameters
        ----------
        rng : numpy.random.Generator or int or None
            Source of the draws (passed to :func:`numpy.random.default_rng`). A generator is
            used as is and kept in the episode, which draws its later positions from it.
        """
        rng = np.random.default_rng(rng)
        episode = Episode(
            count=int(rng.integers(0, self.max_count + 1)),
            shape=int(rng.integers(0, len(SHAPES))),
            colour=rng.integers(*COLOUR_RANGE, size=3),
            rng=rng,
        )
        return self._frame(episode), episode

    def step(self, episode: Episode, action: float) -> tuple[np.ndarray, float, dict]:
        """Apply ``action`` to ``episode`` (in place): the count moves, the positions are redrawn.

        Returns
        -------
        obs : numpy.ndarray of uint8, shape (3, size, size)
            The next frame, positions redrawn.
        reward : float
            ``1{k_{t+1} = n}``.
        info : dict
            ``reward_pre = 1{k_t = n}`` (the auxiliary target of ``o_t``) and ``count = k_{t+1}``.

        Raises
        ------
        ParameterError
            If ``action`` is not a finite number.
        """
        a = float(np.asarray(action).reshape(-1)[0])
        if not np.isfinite(a):
            raise ParameterError(f"action == {action!r}, must be a finite number", name="action", value=action)
        reward_pre = float(self.reward(episode.count))
        episode.count = int(self.next_count(episode.count, a))
        info = {"reward_pre": reward_pre, "count": episode.count}
        return self._frame(episode), float(self.reward(episode.count)), info

    def _frame(self, episode: Episode) -> np.ndarray:
        counts, shapes = np.array([episode.count]), np.array([episode.shape])
        return self.draw(counts, shapes, episode.colour[None], episode.rng)[0]


@dataclass(frozen=True)
class Transitions:
    """A dataset of transitions ``(o_t, a_t, o_{t+1}, r_pre_t, k_t, k_{t+1})`` of episodes.

    Frames are stored once: transition ``i`` goes from ``frames[src[i]]`` to
    ``frames[dst[i]]``, and within an episode the successor of one transition is the source of
    the next.
    """

    env: CountingEnv
    """the environment that generated the data"""
    frames: np.ndarray
    """uint8 (F, 3, size, size): every frame of every episode"""
    counts: np.ndarray
    """int64 (F,): the count k of each frame"""
    shapes: np.ndarray
    """int64 (F,): the shape code of each frame (constant within an episode)"""
    colours: np.ndarray
    """int64 (F, 3): the colour of each frame (constant within an episode)"""
    src: np.ndarray
    """int64 (N,): frame index of o_t"""
    dst: np.ndarray
    """int64 (N,): frame index of o_{t+1}"""
    actions: np.ndarray
    """float32 (N,): a_t in {-1, +1}"""

    def __len__(self) -> int:
        return len(self.src)

    @cached_property
    def reward_pre(self) -> np.ndarray:
        """float32 (N,): the auxiliary target ``1{k_t = n}`` of each transition's source."""
        return self.env.reward(self.counts[self.src])

    @property
    def count(self) -> np.ndarray:
        """int64 (N,): ``k_t``."""
        return self.counts[self.src]

    @property
    def next_count(self) -> np.ndarray:
        """int64 (N,): ``k_{t+1}``."""
        return self.counts[self.dst]

    def as_tuples(self) -> list[tuple[int, int, int, float]]:
        """The dataset as ``(o, a, o_next, p(o))`` tuples with frame indices as observations:
        the input of :func:`ltijepa.bisim.empirical_largest_bisimulation` (Def. 4)."""
        return [
            (int(s), int(a), int(d), float(p))
            for s, a, d, p in zip(self.src, self.actions, self.dst, self.reward_pre)
        ]


def make_transitions(env: CountingEnv, n_episodes: int, episode_length: int, *, rng) -> Transitions:
    """Roll out ``n_episodes`` episodes of a uniformly random policy, in parallel.

    Each episode starts with ``k ~ U{0..k_max}`` and a fresh shape and colour, then takes
    ``episode_length`` steps with independent actions ``a ~ U{-1, +1}``. The clipped random
    walk keeps the count uniform (its transition matrix is doubly stochastic).

    Parameters
    ----------
    env : CountingEnv
        Sizes, dynamics and reward.
    n_episodes : int
        Number of episodes (>= 1).
    episode_length : int
        Steps per episode (>= 1); the dataset has ``n_episodes * episode_length`` transitions
        and ``n_episodes * (episode_length + 1)`` frames. ``episode_length = 1`` gives
        independent pairs.
    rng : numpy.random.Generator or int
        Source of every random draw.

    Returns
    -------
    Transitions

    Raises
    ------
    ParameterError
        If ``n_episodes`` or ``episode_length`` is not a positive integer.

    Examples
    --------
    >>> data = make_transitions(CountingEnv(size=16, radius=1, max_count=4, target=2), 3, 2, rng=0)
    >>> len(data), data.frames.shape
    (6, (9, 3, 16, 16))
    """
    rng = np.random.default_rng(rng)
    n_episodes = check_count("n_episodes", n_episodes, minimum=1)
    episode_length = check_count("episode_length", episode_length, minimum=1)
    steps = episode_length + 1
    counts = np.empty((n_episodes, steps), dtype=np.int64)
    counts[:, 0] = rng.integers(0, env.max_count + 1, size=n_episodes)
    actions = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(n_episodes, episode_length))
    for t in range(episode_length):
        counts[:, t + 1] = env.next_count(counts[:, t], actions[:, t])
    shapes = np.repeat(rng.integers(0, len(SHAPES), size=n_episodes), steps)
    colours = np.repeat(rng.integers(*COLOUR_RANGE, size=(n_episodes, 3)), steps, axis=0)
    counts = counts.reshape(-1)
    frames = env.draw(counts, shapes, colours, rng)
    first = np.arange(n_episodes)[:, None] * steps + np.arange(episode_length)[None, :]
    return Transitions(
        env=env,
        frames=frames,
        counts=counts,
        shapes=shapes,
        colours=colours,
        src=first.reshape(-1),
        dst=first.reshape(-1) + 1,
        actions=actions.reshape(-1),
    )


def make_probe(env: CountingEnv, n: int, *, rng, min_steps: int = 3, max_steps: int = 5):
    """Labelled frames for the representation metrics, as the authors' baseline set.

    Each frame is the last of an episode that starts with :meth:`CountingEnv.reset` and takes
    ``U{min_steps..max_steps}`` random steps (the authors use 256 frames and 3 to 5 steps).

    Parameters
    ----------
    env : CountingEnv
        Sizes, dynamics and reward.
    n : int
        Number of frames (>= 1).
    rng : numpy.random.Generator or int
        Source of every random draw.
    min_steps, max_steps : int, default 3 and 5
        Range of the number of random steps per episode, inclusive
        (``0 <= min_steps <= max_steps``).

    Returns
    -------
    frames : numpy.ndarray of uint8, shape (n, 3, size, size)
    counts : numpy.ndarray of int64, shape (n,)

    Raises
    ------
    ParameterError
        If ``n < 1`` or the step range is empty or negative.
    """
    rng = np.random.default_rng(rng)
    n = check_count("n", n, minimum=1)
    min_steps = check_count("min_steps", min_steps, minimum=0)
    max_steps = check_count("max_steps", max_steps, minimum=min_steps)
    counts = rng.integers(0, env.max_count + 1, size=n)
    n_steps = rng.integers(min_steps, max_steps + 1, size=n)
    for t in range(max_steps):
        move = rng.choice(np.array([-1.0, 1.0]), size=n)
        counts = np.where(t < n_steps, env.next_count(counts, move), counts)
    shapes = rng.integers(0, len(SHAPES), size=n)
    colours = rng.integers(*COLOUR_RANGE, size=(n, 3))
    return env.draw(counts, shapes, colours, rng), counts
