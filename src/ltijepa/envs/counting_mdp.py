"""The counting environment of Yu et al. (2025) as an abstract deterministic MDP (Appendix C).

A state is what a frame of the counting environment shows: a count ``k`` in
``{0, ..., k_max}`` (``k_max = 8`` in the paper), the episode's shape (circle, square,
triangle, bar) and colour, and the centres of the ``k`` objects. The actions are
``dec`` (index 0, the sign ``a < 0`` of the authors' continuous action) and ``inc`` (index 1,
``a >= 0``); the count moves to ``clip(k ∓ 1, 0, k_max)``, shape and colour are kept, and the
positions are redrawn (Appendix C: ``f(o, inc) ∈ G_min(k+1, 8)``, ``f(o, dec) ∈ G_max(k-1, 0)``).

The real environment redraws positions *at random*, so at the level of frames it is not
deterministic. This module makes a finite, deterministic MDP out of it, as the theory of
Def. 1 needs: it draws a finite sample of states, ``layouts_per_count`` position layouts for
every appearance (shape and colour) and every count ``k >= 1``, plus one empty frame per
appearance, and fixes, for every state and action, one successor drawn uniformly from the
states of the same appearance with the new count. As in the authors' code
(``tdmpc2/envs/counting.py``), a step redraws the frame even when the count is clipped, so
``inc`` at ``k_max`` leads to a random layout with ``k_max`` objects; ``dec`` at 0 leads to
the empty frame of the same appearance, i.e. to the state itself.

The auxiliary function is the authors' ``info['reward_pre']``, the reward of the *current*
frame, ``p(o) = 1{k(o) = n}`` for the target ``n`` (4 in the paper), a function of the
observation as Def. 1 requires; :meth:`CountingMDP.reward` is the environment's reward
``1{k(f(o, a)) = n}`` of a transition. All empty frames look the same (black), so the pixels
of an empty frame do not determine the shape and colour of the next one; the states here keep
the appearances apart (:meth:`CountingMDP.frame_features` describes what a frame shows). The
pixel environment is :mod:`ltijepa.envs.counting`: same shapes, colours, placement rule and
``(x, y)`` centre convention, so a state here can be drawn from its ``positions``.

Positions are integer pixel centres ``(x, y)`` (column, row) in ``[r, size - r)``, drawn
as the authors do: each centre uniformly, rejected if closer than ``2r + 1`` to an earlier one
(squared distance ``< (2r + 1)^2``), at most 50 tries, then the last try is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ltijepa.checks import check_count
from ltijepa.envs.counting import COLOUR_RANGE, SHAPES, check_placeable, place_centres
from ltijepa.errors import DataError, ParameterError

__all__ = [
    "SHAPES",
    "ACTIONS",
    "DEC",
    "INC",
    "COLOUR_RANGE",
    "CountingConfig",
    "CountingMDP",
    "make_counting_mdp",
    "separation_round",
    "steered_word_separates",
]

#: Action names, in the order of their indices: ``dec`` is ``a < 0``, ``inc`` is ``a >= 0``.
ACTIONS = ("dec", "inc")
DEC, INC = 0, 1


@dataclass(frozen=True)
class CountingConfig:
    """Sizes of a finite sample of the counting environment's states.

    Raises
    ------
    ParameterError
        If a field is not an integer in its range, or ``max_count`` objects cannot be kept apart
        in the frame (:func:`~ltijepa.envs.counting.check_placeable`).
    """

    n_appearances: int
    """number of (shape, colour) pairs, each drawn as the environment draws an episode's"""
    layouts_per_count: int
    """number of position layouts per appearance and count k >= 1"""
    max_count: int = 8
    """largest count k_max; counts are 0..k_max (8 in the paper)"""
    size: int = 64
    """frame height and width in pixels, for the positions (64 in the paper)"""
    radius: int = 3
    """object size r: centres lie in [r, size - r) and are kept 2r + 1 apart (3 in the paper)"""

    def __post_init__(self):
        check_count("n_appearances", self.n_appearances, minimum=1)
        check_count("layouts_per_count", self.layouts_per_count, minimum=1)
        check_count("max_count", self.max_count, minimum=1)
        check_count("radius", self.radius, minimum=1)
        check_count("size", self.size, minimum=2 * self.radius + 1)
        check_placeable(self.max_count, radius=self.radius, size=self.size)

    @property
    def n_states(self) -> int:
        """``n_appearances * (1 + max_count * layouts_per_count)``."""
        return self.n_appearances * (1 + self.max_count * self.layouts_per_count)


@dataclass(frozen=True, eq=False)
class CountingMDP:
    """A finite deterministic counting MDP: states, their content, and the successor table.

    States are numbered appearance by appearance; within an appearance ``g`` the empty frame
    comes first, then the layouts of count 1, count 2, ... (see :meth:`state_index`).
    """

    config: CountingConfig
    """the sizes this MDP was drawn with"""
    count: np.ndarray
    """int64 (n,): the number of objects k of each state"""
    shape: np.ndarray
    """int64 (n,): the shape code of each state (index into SHAPES)"""
    colour: np.ndarray
    """uint8 (n, 3): the RGB colour of each state's objects, channels in [30, 226)"""
    positions: np.ndarray
    """int64 (n, max_count, 2): object centres (x, y); rows >= count[i] are -1"""
    appearance: np.ndarray
    """int64 (n,): the appearance (shape and colour pair) index of each state"""
    next_state: np.ndarray
    """int64 (n, 2): the successor f(o, a), column DEC = 0 and INC = 1"""

    @property
    def n_states(self) -> int:
        """The number of states ``n``."""
        return len(self.count)

    def state_index(self, appearance: int, count: int, layout: int = 0) -> int:
        """The index of the state with this appearance, count and layout (``layout`` is 0
        for the empty frame, which has a single layout).

        Raises
        ------
        ParameterError
            If an argument is out of range.
        """
        cfg = self.config
        appearance = check_count("appearance", appearance, minimum=0, maximum=cfg.n_appearances - 1)
        count = check_count("count", count, minimum=0, maximum=cfg.max_count)
        last_layout = 0 if count == 0 else cfg.layouts_per_count - 1
        layout = check_count("layout", layout, minimum=0, maximum=last_layout)
        offset = 0 if count == 0 else 1 + (count - 1) * cfg.layouts_per_count + layout
        return appearance * (1 + cfg.max_count * cfg.layouts_per_count) + offset

    def aux(self, target: int = 4) -> np.ndarray:
        """The auxiliary function ``p(o) = 1{k(o) = n}`` (the authors' ``reward_pre``), int64 (n,).

        Raises
        ------
        ParameterError
            If ``target`` is not in ``[0, max_count]``.
        """
        target = check_count("target", target, minimum=0, maximum=self.config.max_count)
        return (self.count == target).astype(np.int64)

    def reward(self, target: int = 4) -> np.ndarray:
        """The environment's reward ``1{k(f(o, a)) = n}`` of each transition, int64 (n, 2).

        Raises
        ------
        ParameterError
            If ``target`` is not in ``[0, max_count]``.
        """
        return self.aux(target)[self.next_state]

    def frame_features(self) -> np.ndarray:
        """What each state's frame shows, as a float vector (n, 7 + 2 k_max).

        Shape one-hot (4) and colour / 255 (3) when ``k > 0``, then the centres ``(x, y) /
        size`` sorted by ``x`` then ``y`` (a frame does not show the objects' order), zeros
        where there is no object. Empty frames all get the zero vector, as they render to the
        same black image: use it where an auxiliary must be a function of the pixels, e.g. the
        paper's random linear map of the frame.
        """
        k_max, n = self.config.max_count, self.n_states
        visible = (self.count > 0)[:, None]
        shape = np.eye(len(SHAPES))[self.shape] * visible
        colour = self.colour / 255.0 * visible
        keys = np.where(self.positions[..., 0] < 0, np.iinfo(np.int64).max, self.positions[..., 0])
        order = np.lexsort((self.positions[..., 1], keys), axis=-1)  # by x, then y; empty last
        centres = np.take_along_axis(self.positions, order[..., None], axis=1) / self.config.size
        centres = np.where(centres < 0, 0.0, centres).reshape(n, 2 * k_max)
        return np.concatenate([shape, colour, centres], axis=1)

    def transitions(self, target: int = 4, states=None) -> list[tuple[int, int, int, int]]:
        """Transitions ``(o, a, f(o, a), p(o))`` of the given states (default all), both
        actions each: a dataset for :func:`ltijepa.bisim.empirical_largest_bisimulation`.

        Raises
        ------
        ParameterError
            If ``target`` is out of range.
        DataError
            If a state index is not in ``[0, n)``.
        """
        p = self.aux(target)
        states = np.arange(self.n_states) if states is None else np.asarray(states, dtype=np.int64)
        if states.size and (states.min() < 0 or states.max() >= self.n_states):
            i = int(np.flatnonzero((states < 0) | (states >= self.n_states))[0])
            raise DataError(
                f"states[{i}] == {states[i]}, must be in [0, {self.n_states}) "
                f"(a state index of the {self.n_states}-state MDP)", name="states", index=i,
            )
        o = np.repeat(states, 2)
        a = np.tile([DEC, INC], len(states))
        return list(zip(o.tolist(), a.tolist(), self.next_state[o, a].tolist(), p[o].tolist()))


def make_counting_mdp(config: CountingConfig, rng) -> CountingMDP:
    """Draw a finite counting MDP: appearances, layouts, and one successor per (state, action).

    Parameters
    ----------
    config : CountingConfig
        The sizes.
    rng : numpy.random.Generator or int
        Source of every random draw (appearances, positions, successors).

    Returns
    -------
    CountingMDP
        With ``config.n_states`` states. The successor of a state with count ``k`` under
        action ``a`` has the same appearance and count ``clip(k - 1 + 2a, 0, k_max)``, and a
        layout drawn uniformly (the empty frame when the new count is 0).

    Examples
    --------
    >>> mdp = make_counting_mdp(CountingConfig(n_appearances=2, layouts_per_count=3), rng=0)
    >>> mdp.n_states, int(mdp.count[mdp.next_state[mdp.state_index(1, 8, 2), 1]])
    (50, 8)
    """
    rng = np.random.default_rng(rng)
    g, k_max, n_layouts = config.n_appearances, config.max_count, config.layouts_per_count
    per_appearance = 1 + k_max * n_layouts
    local_count = np.concatenate([[0], np.repeat(np.arange(1, k_max + 1), n_layouts)])
    count = np.tile(local_count, g)
    appearance = np.repeat(np.arange(g), per_appearance)
    shapes = rng.integers(0, len(SHAPES), size=g)
    colours = rng.integers(*COLOUR_RANGE, size=(g, 3)).astype(np.uint8)
    positions = place_centres(count, config.size, config.radius, rng)
    positions[np.arange(k_max) >= count[:, None]] = -1  # unused object rows
    next_count = np.clip(count[:, None] + np.array([-1, 1]), 0, k_max)  # (n, 2)
    layout = rng.integers(0, n_layouts, size=next_count.shape)
    offset = np.where(next_count == 0, 0, 1 + (next_count - 1) * n_layouts + layout)
    next_state = appearance[:, None] * per_appearance + offset
    arrays = dict(
        count=count,
        shape=shapes[appearance],
        colour=colours[appearance],
        positions=positions,
        appearance=appearance,
        next_state=next_state,
    )
    for array in arrays.values():
        array.setflags(write=False)
    return CountingMDP(config=config, **arrays)


def separation_round(count_a, count_b, target: int) -> np.ndarray:
    """The round of Def. 1's iteration at which two states of the counting MDP are separated.

    .. math::

        t^\\star(o, o') = \\min\\{t : (o, o') \\in R^{(t)}\\}
        = 1 + \\min(|k - n|, |k' - n|) \\quad (k \\ne k'),

    and ``t* = 0`` (the pair is never separated: ``o B* o'``) when ``k = k'``,
    for counts ``k = k(o)``, ``k' = k(o')`` and target ``n`` (book label
    ``eq-separation-round``; the chapter derives it from the proof of Prop. 2, label
    ``prop-count-largest``, steering by the state closer to the target).

    Parameters
    ----------
    count_a, count_b : array_like of int
        Counts ``k`` and ``k'`` (broadcast against each other).
    target : int
        The target count ``n >= 0``.

    Returns
    -------
    numpy.ndarray of int64
        ``t*`` for each pair; 0 where the counts are equal.

    Raises
    ------
    ParameterError
        If ``target`` is not a non-negative integer.

    Examples
    --------
    >>> separation_round(np.arange(9), 8, target=4).tolist()
    [5, 4, 3, 2, 1, 2, 3, 4, 0]
    """
    target = check_count("target", target, minimum=0)
    k_a, k_b = np.asarray(count_a, dtype=np.int64), np.asarray(count_b, dtype=np.int64)
    closer = np.minimum(np.abs(k_a - target), np.abs(k_b - target))
    return np.where(k_a != k_b, 1 + closer, 0)


def steered_word_separates(count_a: int, count_b: int, target: int, *, steer_by: str) -> bool:
    """Whether step 1 of the proof of Prop. 2 (book label ``prop-count-largest``) separates two
    counts ``k != k'``.

    The proof takes ``t = min(|k - n|, |k' - n|)`` and the word ``a*^t`` with ``a* = inc``
    if the steering count is below ``n``, else ``dec``, and claims that after it exactly one
    of the two is at ``n``. The paper steers by the first state (``steer_by="first"``); the
    argument needs the state closer to the target (``steer_by="closer"``).

    Parameters
    ----------
    count_a, count_b : int
        Two different counts in ``[0, max]`` with ``max >= target`` (the paper: ``[0, 8]``).
    target : int
        The target ``n``.
    steer_by : {"first", "closer"}
        Which count chooses ``a*``.

    Returns
    -------
    bool
        Whether exactly one of the two counts is at ``n`` after the ``t`` steps (counts
        clipped to ``[0, 8]``).

    Raises
    ------
    ParameterError
        If ``steer_by`` is unknown, the counts are equal or a value is outside ``[0, 8]``.

    Examples
    --------
    >>> steered_word_separates(7, 3, 4, steer_by="first"), steered_word_separates(7, 3, 4, steer_by="closer")
    (False, True)
    """
    if steer_by not in ("first", "closer"):
        raise ParameterError(f"steer_by == {steer_by!r}, must be 'first' or 'closer'", name="steer_by",
                             value=steer_by)
    k_a = check_count("count_a", count_a, minimum=0, maximum=8)
    k_b = check_count("count_b", count_b, minimum=0, maximum=8)
    target = check_count("target", target, minimum=0, maximum=8)
    if k_a == k_b:
        raise ParameterError(f"count_a == count_b == {k_a}, must differ", name="count_b", value=count_b)
    steps = min(abs(k_a - target), abs(k_b - target))
    steer = k_a if steer_by == "first" or abs(k_a - target) <= abs(k_b - target) else k_b
    move = 1 if steer < target else -1
    for _ in range(steps):
        k_a, k_b = min(max(k_a + move, 0), 8), min(max(k_b + move, 0), 8)
    return (k_a == target) != (k_b == target)
