"""The driver of ``notebooks/largest_bisimulation.ipynb`` ("The largest bisimulation").

:class:`Config` resolves the chapter's sizes from the profile; the experiments are

- :func:`fast_vs_fixed_point`: :func:`~ltijepa.bisim.largest_bisimulation` (every method)
  against Def. 1's Kleene iteration on many random systems (``def-largest-bisim``,
  ``lem-bisim-words``);
- :func:`empirical_growth`: ``R_D*`` of Def. 4 along a growing dataset of a total system,
  beside the truly separated pairs ``R* ∩ O_D²`` (``lem-empirical-sound``).

The counting MDP comes from :mod:`ltijepa.envs.counting_mdp` (numpy only); :mod:`ltijepa.bisim`
does not import this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ltijepa.bisim.empirical import empirical_largest_bisimulation
from ltijepa.bisim.fixed_point import least_fixed_point
from ltijepa.bisim.refinement import METHODS, largest_bisimulation
from ltijepa.bisim.relations import count_separated, separated_by
from ltijepa.bisim.systems import random_system, sample_dataset
from ltijepa.envs.counting_mdp import CountingConfig
from ltijepa.profiles import by_profile

__all__ = [
    "Config",
    "Agreement",
    "Growth",
    "fast_vs_fixed_point",
    "empirical_growth",
]


@dataclass(frozen=True)
class Config:
    """Sizes of the chapter's experiments."""

    counting: CountingConfig
    """the counting-MDP sample on which Cor. 1 is checked (>= 10^4 states in full)"""
    rounds_counting: CountingConfig
    """a small counting MDP for the dense fixed point and its rounds figure"""
    growth_counting: CountingConfig
    """the counting MDP whose transitions form the growing datasets of Def. 4"""
    n_random_systems: int
    """number of random systems on which fast refinement is compared with Def. 1"""
    max_random_states: int
    """largest number of states of those random systems"""
    n_growth_points: int
    """number of dataset sizes (geometric, up to all transitions) in the growth curve"""

    @classmethod
    def for_profile(cls, profile: str) -> Config:
        """``ci``: a 972-state counting MDP, 150 random systems; ``full``: 10,304 states, 400.

        >>> Config.for_profile("ci").counting.n_states
        972
        """
        return cls(
            counting=by_profile(
                profile,
                ci=CountingConfig(n_appearances=12, layouts_per_count=10),
                full=CountingConfig(n_appearances=64, layouts_per_count=20),
            ),
            rounds_counting=CountingConfig(n_appearances=4, layouts_per_count=8),
            growth_counting=by_profile(
                profile,
                ci=CountingConfig(n_appearances=6, layouts_per_count=8),
                full=CountingConfig(n_appearances=12, layouts_per_count=10),
            ),
            n_random_systems=by_profile(profile, ci=150, full=400),
            max_random_states=by_profile(profile, ci=100, full=300),
            n_growth_points=by_profile(profile, ci=10, full=16),
        )


@dataclass(frozen=True)
class Agreement:
    """Outcome of :func:`fast_vs_fixed_point`."""

    n_states: np.ndarray
    """int (S,): the size of each random system"""
    n_classes: np.ndarray
    """int (S,): the number of classes of B* of each (by the fixed point)"""
    agrees: np.ndarray
    """bool (S, len(METHODS)): whether each method returned exactly R* of Def. 1"""

    @property
    def all_agree(self) -> bool:
        """Every method agreed with the fixed point on every system."""
        return bool(self.agrees.all())


def fast_vs_fixed_point(n_systems: int, max_states: int, rng) -> Agreement:
    """Compare every method of :func:`largest_bisimulation` with :func:`least_fixed_point`.

    The check of ``lem-bisim-words``: ``B*`` of ``def-largest-bisim`` is the coarsest stable
    partition refining ``p``, which is what partition refinement returns.

    Each system has ``n ~ U{1..max_states}`` states, ``|A| ~ U{1..4}`` actions and
    ``U{1..3}`` auxiliary values; half of them are random lifts of a system of
    ``U{1..n}`` states (:func:`~ltijepa.bisim.systems.random_system`), so that ``B*`` has
    non-trivial classes.

    Parameters
    ----------
    n_systems : int
        Number of random systems.
    max_states : int
        Largest number of states (at most ``MAX_FIXED_POINT_STATES``).
    rng : numpy.random.Generator or int
        Source of every random draw.

    Returns
    -------
    Agreement
    """
    rng = np.random.default_rng(rng)
    sizes, classes, agrees = [], [], []
    for _ in tqdm(range(n_systems), desc="random systems", ascii=True):
        n = int(rng.integers(1, max_states + 1))
        n_blocks = int(rng.integers(1, n + 1)) if rng.random() < 0.5 else None
        next_state, aux = random_system(
            n, int(rng.integers(1, 5)), rng, n_aux_values=int(rng.integers(1, 4)), n_blocks=n_blocks
        )
        separated = least_fixed_point(next_state, aux)
        labels = [largest_bisimulation(next_state, aux, method=m) for m in METHODS]
        sizes.append(n)
        classes.append(int(labels[0].max()) + 1)
        agrees.append([np.array_equal(separated_by(lab), separated) for lab in labels])
    return Agreement(n_states=np.array(sizes), n_classes=np.array(classes), agrees=np.array(agrees))


@dataclass(frozen=True)
class Growth:
    """Outcome of :func:`empirical_growth`: one entry per dataset size."""

    n_transitions: np.ndarray
    """int (P,): the size |D| of each dataset (the first |D| transitions of one sequence)"""
    n_sources: np.ndarray
    """int (P,): |O_D|"""
    n_separated: np.ndarray
    """int (P,): |R_D*| (ordered pairs)"""
    n_truly_separated: np.ndarray
    """int (P,): |R* ∩ O_D²|, the pairs of sources that Def. 1 separates"""
    first_shrink: int | None
    """the first index at which R_D* lost a pair (None: nested, as the remark after Thm. 3 says)"""
    sound: bool
    """whether R_D* ⊆ R* held at every size"""


def empirical_growth(next_state, aux, n_points: int, rng) -> Growth:
    """``R_D*`` of Def. 4 along nested datasets of a total system, up to all its transitions.

    The transitions ``(o, a, f(o, a), p(o))`` are put in a random order; the datasets are its
    first ``|D|`` elements for ``n_points`` geometrically spaced sizes ending at ``n |A|``.
    The check of ``lem-empirical-sound``: (i) ``R_D*`` is nested (the remark after
    ``thm-empirical-collapse``), (ii) ``R_D* ⊆ R*``, with equality on all transitions.

    Parameters
    ----------
    next_state : array_like of int, shape (n, n_actions)
        The successor table of the total system.
    aux : array_like of shape (n,)
        Its auxiliary function.
    n_points : int
        Number of dataset sizes (``>= 2``).
    rng : numpy.random.Generator or int
        Source of the order of the transitions.

    Returns
    -------
    Growth
    """
    rng = np.random.default_rng(rng)
    n, k = np.shape(next_state)
    labels = largest_bisimulation(next_state, aux)
    data = sample_dataset(next_state, aux, n * k, rng, replace=False)
    sizes = np.unique(np.geomspace(4, n * k, n_points).astype(np.int64))
    previous, shrink, sound = set(), None, True
    rows = []
    for i, size in enumerate(tqdm(sizes, desc="datasets", ascii=True)):
        relation = empirical_largest_bisimulation(data[:size])
        if shrink is None and not previous <= relation:
            shrink = i
        sound = sound and all(labels[x] != labels[y] for x, y in relation)
        sources = np.unique([o for o, _, _, _ in data[:size]])
        rows.append((size, len(sources), len(relation), count_separated(labels[sources])))
        previous = relation
    columns = np.array(rows, dtype=np.int64).T
    return Growth(*columns, first_shrink=shrink, sound=sound)
