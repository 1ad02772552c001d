"""Deterministic systems and datasets to test and time the bisimulation algorithms on.

- :func:`random_system`: uniformly random successors, optionally a random *lift* of a smaller
  machine (many bisimilar states, so the partition is non-trivial);
- :func:`chain_system`: the worst case of round-based refinement (``n - 1`` rounds);
- :func:`sample_dataset`: transitions of a total system, as a dataset for Def. 4.
"""

from __future__ import annotations

import numpy as np

from ltijepa.bisim._validation import aux_codes, check_next_state
from ltijepa.checks import check_count
from ltijepa.errors import ParameterError

__all__ = ["random_system", "chain_system", "sample_dataset"]


def random_system(
    n_states: int,
    n_actions: int,
    rng,
    *,
    n_aux_values: int = 2,
    n_blocks: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A random deterministic total system ``(next_state, aux)``.

    Without ``n_blocks``: ``f(o, a)`` uniform on the states, ``p(o)`` uniform on
    ``{0, ..., n_aux_values - 1}``, all independent. With ``n_blocks = m``: a random *lift* of
    a random ``m``-state system ``(g, q)``: every state ``o`` gets a block ``β(o)`` (each
    block non-empty), ``p(o) = q(β(o))`` and ``f(o, a)`` uniform on the block ``g(β(o), a)``.
    The map ``β`` is then a bisimulation onto ``(g, q)``, so ``B*`` has at most ``m`` classes.

    Parameters
    ----------
    n_states : int
        Number of states ``n >= 1``.
    n_actions : int
        Number of actions ``|A| >= 1``.
    rng : numpy.random.Generator or int
        Source of every random draw.
    n_aux_values : int, default 2
        Number of auxiliary values (``>= 1``).
    n_blocks : int, optional
        Size ``m`` of the lifted machine, ``1 <= m <= n_states``.

    Returns
    -------
    next_state : numpy.ndarray of int64, shape (n_states, n_actions)
    aux : numpy.ndarray of int64, shape (n_states,)

    Raises
    ------
    ParameterError
        If a size is not an integer ``>= 1``, or ``n_blocks > n_states``.

    Examples
    --------
    >>> f, p = random_system(5, 2, rng=0)
    >>> f.shape, p.shape
    ((5, 2), (5,))
    """
    rng = np.random.default_rng(rng)
    n = check_count("n_states", n_states)
    k = check_count("n_actions", n_actions)
    n_aux_values = check_count("n_aux_values", n_aux_values)
    if n_blocks is None:
        return rng.integers(0, n, size=(n, k)), rng.integers(0, n_aux_values, size=n)
    m = check_count("n_blocks", n_blocks)
    if m > n:
        raise ParameterError(f"n_blocks == {m}, must be <= n_states == {n}")
    block = np.concatenate([np.arange(m), rng.integers(0, m, size=n - m)])
    rng.shuffle(block)
    members = np.argsort(block, kind="stable")  # states grouped by block
    first = np.searchsorted(block[members], np.arange(m))
    size = np.bincount(block, minlength=m)
    base_next = rng.integers(0, m, size=(m, k))
    base_aux = rng.integers(0, n_aux_values, size=m)
    target = base_next[block]  # (n, k): the block each successor must lie in
    offset = (rng.random((n, k)) * size[target]).astype(np.int64)
    return members[first[target] + offset], base_aux[block]


def chain_system(n_states: int, n_actions: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The chain ``0 → 1 → ... → n-1 → n-1`` with ``p = 1`` only at its end.

    Action 0 advances, every other action stays put. All ``n`` states are pairwise
    non-bisimilar, and state ``o`` is separated from ``o + 1`` only by the word of length
    ``n - 2 - o``: signature refinement needs ``n - 1`` rounds, its worst case.

    Parameters
    ----------
    n_states, n_actions
        As in :func:`ltijepa.bisim.systems.random_system` (``n_actions`` defaults to 1 here).

    Returns
    -------
    next_state, aux
        As there; a ParameterError for a size that is not a positive integer.

    Examples
    --------
    >>> f, p = chain_system(3, 2)
    >>> f.tolist(), p.tolist()
    ([[1, 0], [2, 1], [2, 2]], [0, 0, 1])
    """
    n = check_count("n_states", n_states)
    k = check_count("n_actions", n_actions)
    states = np.arange(n)
    next_state = np.repeat(states[:, None], k, axis=1)
    next_state[:, 0] = np.minimum(states + 1, n - 1)
    aux = np.zeros(n, dtype=np.int64)
    aux[-1] = 1
    return next_state, aux


def sample_dataset(
    next_state, aux, n_transitions: int, rng, *, replace: bool = True
) -> list[tuple]:
    """Transitions ``(o, a, f(o, a), p(o))`` of a total system at random ``(o, a)``.

    Parameters
    ----------
    next_state : array_like of int, shape (n, n_actions)
        The successor table.
    aux : array_like of shape (n,) or (n, d), or a sequence of n hashable values
        The auxiliary function; the dataset carries ``p(o)`` as given (a row of a 2-D array
        as a tuple).
    n_transitions : int
        Number of draws (``>= 0``).
    rng : numpy.random.Generator or int
        Source of the draws.
    replace : bool, default True
        Draw ``(o, a)`` with replacement (repeats are the same transition), or without
        (then ``n_transitions <= n * n_actions``).

    Returns
    -------
    list of tuple (int, int, int, int)
        In the order drawn, so that the first ``t`` elements are a dataset for every ``t``
        (nested datasets).

    Raises
    ------
    ShapeError, DataError
        If the system is malformed.
    ParameterError
        If ``n_transitions`` is not an integer ``>= 0`` or, without replacement, is larger
        than ``n * n_actions``.
    """
    rng = np.random.default_rng(rng)
    successors = check_next_state(next_state)
    n, k = successors.shape
    aux_codes(aux, n)  # the checks: n values, no NaN, hashable
    values = [tuple(v) if isinstance(v, list) else v for v in np.asarray(aux).tolist()]
    count = check_count("n_transitions", n_transitions, minimum=0)
    if not replace and count > n * k:
        raise ParameterError(
            f"n_transitions == {count}, must be <= n * n_actions == {n * k} without replacement"
        )
    flat = rng.choice(n * k, size=count, replace=replace)
    o, a = flat // k, flat % k
    return [
        (int(oi), int(ai), int(si), values[oi])
        for oi, ai, si in zip(o.tolist(), a.tolist(), successors[o, a].tolist())
    ]
