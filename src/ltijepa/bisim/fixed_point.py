"""The largest bisimulation exactly as Def. 1 of Yu et al. (2025) defines it: a Kleene iteration.

For a deterministic system with successor function ``f`` and auxiliary function ``p`` on a
finite state set ``O``, Def. 1 defines the operator on relations ``R ⊆ O²``

.. math::

    \\mathcal F(R) = \\{(o, o') : p(o) \\ne p(o')\\}
        \\cup \\{(o, o') : \\exists a \\in \\mathcal A,\\ (f(o, a), f(o', a)) \\in R\\},

iterates ``R^(0) = ∅``, ``R^(t+1) = F(R^(t))`` until the ascending chain stabilises at the
least fixed point ``R*``, and calls ``B* = O² \\ R*`` the largest bisimulation (book label
``eq-bisim-F``). This module computes ``R*`` literally, on the dense ``n × n`` pair matrix:
it is the reference the fast partition refinement of :mod:`ltijepa.bisim.refinement` is
tested against, and it records *when* each pair enters ``R*``, which the chapter plots.
"""

from __future__ import annotations

import numpy as np

from ltijepa.bisim._validation import aux_codes, check_next_state
from ltijepa.errors import ParameterError

__all__ = ["MAX_FIXED_POINT_STATES", "least_fixed_point"]

#: Largest number of states :func:`least_fixed_point` accepts: its pair matrices take
#: ``5 n²`` bytes (84 MB at the limit) and each round ``O(|A| n²)`` time.
MAX_FIXED_POINT_STATES = 4096


def least_fixed_point(next_state, aux, *, return_rounds: bool = False):
    """The least fixed point ``R*`` of the operator ``F`` of Def. 1, by Kleene iteration.

    .. math::

        R^{(0)} = \\varnothing, \\qquad R^{(t+1)} = \\mathcal F(R^{(t)}),
        \\qquad R^\\star = \\bigcup_t R^{(t)},

    with ``F`` as in the module docstring (book labels ``def-largest-bisim``, ``eq-bisim-F``):
    the chapter's reference for ``def-largest-bisim``. ``(o, o') ∈ R^(t)`` exactly when some
    action word of length ``< t`` separates the pair by ``p`` (``lem-bisim-words``), so the
    chain stabilises after at most ``n`` rounds.

    Parameters
    ----------
    next_state : array_like of int, shape (n, n_actions)
        The successor table: ``next_state[o, a] = f(o, a)``, entries in ``[0, n)``.
    aux : array_like of shape (n,) or (n, d), or a sequence of n hashable values
        The auxiliary function ``p`` (compared by exact equality; rows of a 2-D array are
        vector values).
    return_rounds : bool, default False
        Also return the round at which each pair enters ``R*``.

    Returns
    -------
    separated : numpy.ndarray of bool, shape (n, n)
        ``R*``: ``separated[o, o']`` is true when ``(o, o')`` is *not* in the largest
        bisimulation ``B*``. Symmetric, with a false diagonal.
    rounds : numpy.ndarray of int32, shape (n, n)
        Only if ``return_rounds``: ``rounds[o, o'] = min{t : (o, o') ∈ R^(t)}``, and 0 for the
        pairs of ``B*``. The chain stabilises at ``R^(T) = R*`` with ``T = rounds.max()``.

    Raises
    ------
    ParameterError
        If ``n > MAX_FIXED_POINT_STATES`` (use :func:`ltijepa.bisim.largest_bisimulation`).
    ShapeError
        If ``next_state`` is not ``(n, n_actions)`` or ``aux`` does not have ``n`` entries.
    DataError
        If an entry of ``next_state`` is not a state index, or an auxiliary value is NaN or
        unhashable.

    Notes
    -----
    Time ``O(T |A| n²)`` and memory ``O(n²)``: a reference for small systems. The chain of
    ``n`` states with ``p = 1`` only at its end needs ``T = n - 1`` rounds.

    Examples
    --------
    A three-state chain ``0 → 1 → 2 → 2`` with ``p = (0, 0, 1)``: state 2 is separated from
    the others in round 1, and states 0 and 1 in round 2.

    >>> separated, rounds = least_fixed_point([[1], [2], [2]], [0, 0, 1], return_rounds=True)
    >>> rounds.tolist()
    [[0, 2, 1], [2, 0, 1], [1, 1, 0]]
    """
    n = np.shape(next_state)[0] if np.ndim(next_state) >= 1 else 0
    if n > MAX_FIXED_POINT_STATES:
        raise ParameterError(
            f"n == {n} states, must be <= MAX_FIXED_POINT_STATES == {MAX_FIXED_POINT_STATES} for "
            "the dense fixed point (memory O(n^2)); use ltijepa.bisim.largest_bisimulation, "
            "which returns the same relation as class labels in O(|A| n log n)", name="n", value=n,
        )
    successors = check_next_state(next_state)
    codes = aux_codes(aux, successors.shape[0])
    disagree = codes[:, None] != codes[None, :]  # first set of F: auxiliary disagreement
    separated = np.zeros(disagree.shape, dtype=bool)  # R^(0) = ∅
    rounds = np.zeros(disagree.shape, dtype=np.int32)
    t = 0
    while True:
        updated = _apply_F(separated, successors, disagree)
        t += 1
        entered = updated & ~separated
        if not entered.any():
            break
        rounds[entered] = t
        separated = updated
    return (separated, rounds) if return_rounds else separated


def _apply_F(relation: np.ndarray, successors: np.ndarray, disagree: np.ndarray) -> np.ndarray:
    """``F(R)`` of Def. 1: aux disagreement, or some action leads into ``R``."""
    out = disagree.copy()
    for a in range(successors.shape[1]):
        f_a = successors[:, a]
        out |= relation[f_a][:, f_a]  # (o, o') ↦ R[f(o, a), f(o', a)]
    return out
