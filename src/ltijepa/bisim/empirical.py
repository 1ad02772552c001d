"""The empirical largest bisimulation of Yu et al. (2025), Def. 4: what a dataset certifies.

A dataset ``D`` is a set of transitions ``(o, a, f(o, a), p(o))`` of a deterministic MDP. Its
sources are ``O_D``; the actions co-observed at two sources are
``A∩(x, y) = {a : (x, a, ·, ·) ∈ D and (y, a, ·, ·) ∈ D}``. Def. 4 iterates, on ``O_D²``,

.. math::

    \\mathcal F_D(R) = \\{(x, y) \\in O_D^2 : p(x) \\ne p(y)\\}
        \\cup \\{(x, y) \\in O_D^2 : \\exists a \\in \\mathcal A_\\cap(x, y),\\
                 (f(x, a), f(y, a)) \\in R\\}

from ``R^(0) = ∅`` to its least fixed point ``R_D*`` (book label ``eq-bisim-FD``), and sets
``B_D* = O_D² \\ R_D*``. Thm. 3: a model well-trained on ``D`` maps every pair of ``R_D*`` to
two different latents. A successor that is never a source is not in ``O_D``, so a pair of
successors ``(f(x, a), f(y, a))`` can only be in ``R`` when both are sources.

``R_D*`` is computed exactly by backward reachability in the pair graph: the pairs with
``p(x) ≠ p(y)`` are in ``R^(1)``; one sweep over the ``p``-equal pairs finds those with a
co-observed action leading into ``R^(1)``; a breadth-first search over predecessor pairs
``pre_a(u) × pre_a(v)`` adds the rest. Time ``O(|A| n_D² + |E|)``, memory ``n_D²`` bytes.

Unlike ``B*`` of a total system, ``B_D*`` need not be transitive (the chapter shows a
four-transition example): :meth:`EmpiricalBisimulation.transitivity_violation` finds a witness.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from ltijepa.errors import DataError, ParameterError

__all__ = [
    "MAX_ENUMERATED_SOURCES",
    "EmpiricalBisimulation",
    "empirical_bisimulation",
    "empirical_largest_bisimulation",
]


@dataclass(frozen=True, eq=False)
class EmpiricalBisimulation:
    """``R_D*`` of Def. 4 over the sources ``O_D`` of a dataset, as a dense pair matrix."""

    observations: tuple
    """the sources O_D, in order of first appearance in the dataset; index i is observations[i]"""
    separated: np.ndarray
    """bool (n_D, n_D): R_D*, symmetric with a false diagonal; B_D* is its complement"""

    @property
    def n_separated(self) -> int:
        """``|R_D*|``, counting ordered pairs ``(x, y)`` and ``(y, x)`` separately."""
        return int(np.count_nonzero(self.separated))

    def pairs(self) -> set[tuple[Any, Any]]:
        """``R_D*`` as the set of ordered pairs ``(x, y)`` of observations (``x ≠ y``)."""
        xs, ys = np.nonzero(self.separated)
        obs = self.observations
        return {(obs[x], obs[y]) for x, y in zip(xs.tolist(), ys.tolist())}

    def transitivity_violation(self) -> tuple[Any, Any, Any] | None:
        """Three sources ``(x, y, z)`` with ``x B_D* y``, ``y B_D* z`` but ``(x, z) ∈ R_D*``,
        or ``None`` when ``B_D*`` is transitive (an equivalence relation).

        ``O(n_D³)`` by a matrix product; meant for datasets of up to a few thousand sources.
        """
        together = (~self.separated).astype(np.float32)
        two_steps = together @ together  # (x, z) -> number of y with x B y and y B z
        xs, zs = np.nonzero((two_steps > 0) & self.separated)
        if len(xs) == 0:
            return None
        x, z = int(xs[0]), int(zs[0])
        y = int(np.flatnonzero(~self.separated[x] & ~self.separated[:, z])[0])
        obs = self.observations
        return obs[x], obs[y], obs[z]

    def maximal_collapses(self) -> list[tuple[tuple, ...]]:
        """The coarsest partitions of ``O_D`` whose classes lie inside ``B_D*``.

        By Thm. 3 (book label ``thm-empirical-collapse``), the partition of ``O_D`` by an
        encoder's value (the pairs it collapses) of a model well-trained on ``D`` is one whose
        classes lie inside ``B_D*``. When ``B_D*`` is
        an equivalence there is exactly one coarsest such partition, ``B_D*`` itself; when it
        is not transitive there are several, and the data do not say which one to expect.

        Exhaustive (Bell-number many partitions): for at most
        ``MAX_ENUMERATED_SOURCES`` sources.

        Returns
        -------
        list of tuple of tuple
            Each partition as a tuple of classes, each class a tuple of observations in the
            order of :attr:`observations`.

        Raises
        ------
        ParameterError
            If there are more than ``MAX_ENUMERATED_SOURCES`` sources.
        """
        n = len(self.observations)
        if n > MAX_ENUMERATED_SOURCES:
            raise ParameterError(
                f"n_D == {n} sources, must be <= MAX_ENUMERATED_SOURCES == "
                f"{MAX_ENUMERATED_SOURCES} for the exhaustive enumeration of partitions",
                name="n_D", value=n,
            )
        together = ~self.separated
        found = []
        for classes in _clique_partitions(together, n):
            mergeable = any(
                together[np.ix_(a, b)].all()
                for i, a in enumerate(classes)
                for b in classes[i + 1 :]
            )
            if not mergeable:  # no coarser partition with classes inside B_D*
                found.append(tuple(tuple(self.observations[o] for o in c) for c in classes))
        return found


#: Largest ``|O_D|`` for :meth:`EmpiricalBisimulation.maximal_collapses` (Bell(10) = 115,975).
MAX_ENUMERATED_SOURCES = 10


def _clique_partitions(together: np.ndarray, n: int):
    """Every partition of ``range(n)`` into classes of pairwise related elements."""

    def extend(o: int, classes: list[list[int]]):
        if o == n:
            yield [list(c) for c in classes]
            return
        for c in classes:
            if together[o, c].all():
                c.append(o)
                yield from extend(o + 1, classes)
                c.pop()
        classes.append([o])
        yield from extend(o + 1, classes)
        classes.pop()

    yield from extend(0, [])


def empirical_largest_bisimulation(transitions: Iterable) -> set[tuple[Any, Any]]:
    """``R_D*`` of Def. 4: the ordered pairs of sources that the dataset certifies as
    non-bisimilar, so that (Thm. 3) a model well-trained on it cannot collapse them.

    Book labels ``def-empirical-bisim`` (the definition computed here) and
    ``thm-empirical-collapse`` (what it protects).

    .. math::

        R_D^\\star = \\bigcup_t R^{(t)}, \\quad R^{(0)} = \\varnothing, \\quad
        R^{(t+1)} = \\mathcal F_D(R^{(t)})

    with ``F_D`` as in the module docstring (book label ``eq-bisim-FD``). The empirical
    largest bisimulation is ``B_D* = O_D² \\ R_D*``.

    Parameters
    ----------
    transitions : iterable of tuples (o, a, o_next, p)
        The dataset ``D``: observation ``o``, action ``a`` and successor ``o_next`` as hashable
        identifiers (e.g. frame indices; ``o_next`` need not be a source itself), and the
        auxiliary value ``p(o)`` (hashable, or an array or tensor compared by value; tuples and
        frozensets compared element by element).
        Repeated transitions count once.

    Returns
    -------
    set of tuple
        The ordered pairs ``(x, y)`` in ``R_D*``; ``x ≠ y``, both in ``O_D``, and ``(y, x)``
        is in the set whenever ``(x, y)`` is.

    Raises
    ------
    DataError
        If some ``(o, a)`` has two different successors, or some ``o`` two auxiliary values
        (the message names the observation and action, ``index`` is ``(o, a)``, or
        ``(o, None)`` for two auxiliary values); or if an element is not a 4-tuple, an
        observation or action is not hashable, or an auxiliary value holds a NaN anywhere, in a
        nested tuple or an array too (``index`` is the element's position, the message names the
        place, e.g. ``p[1][0]``).

    See Also
    --------
    empirical_bisimulation : the same relation as a dense matrix, with the index maps.

    Examples
    --------
    ``x`` and ``y`` agree on ``p`` but action ``c`` leads them to observations that disagree:

    >>> D = [("x", "c", "s", 0), ("y", "c", "t", 0), ("s", "c", "s", 0), ("t", "c", "t", 1)]
    >>> sorted(empirical_largest_bisimulation(D))[:4]
    [('s', 't'), ('s', 'y'), ('t', 's'), ('t', 'x')]
    """
    return empirical_bisimulation(transitions).pairs()


def empirical_bisimulation(transitions: Iterable) -> EmpiricalBisimulation:
    """``R_D*`` of Def. 4 as a dense boolean matrix over the sources ``O_D``.

    Same relation as :func:`empirical_largest_bisimulation`, without building a set of
    pairs: use it for datasets with more than a few hundred sources.

    Parameters
    ----------
    transitions : iterable of tuples (o, a, o_next, p)
        The dataset ``D`` (see :func:`empirical_largest_bisimulation`).

    Returns
    -------
    EmpiricalBisimulation

    Raises
    ------
    DataError
        As in :func:`ltijepa.bisim.empirical.empirical_largest_bisimulation`.
    """
    observations, successor, codes = _index_dataset(transitions)
    separated = _separate(successor, codes) if len(observations) else np.zeros((0, 0), bool)
    separated.setflags(write=False)
    return EmpiricalBisimulation(observations=observations, separated=separated)


def _index_dataset(transitions: Iterable):
    """The sources ``O_D`` (tuple), the successor table (int64 (n_D, |A|): index in ``O_D`` of
    ``f(x, a)``, or -1 when ``(x, a)`` is unobserved or ``f(x, a)`` is not a source) and the
    auxiliary codes (int64 (n_D,)) of a dataset, checking that it is deterministic."""
    next_of: dict = {}  # (o, a) -> o_next
    aux_of: dict = {}  # o -> (key, value as given)
    actions: dict = {}
    for i, item in enumerate(transitions):
        if not isinstance(item, tuple) or len(item) != 4:
            raise DataError(
                f"transitions[{i}] == {item!r}, must be a tuple (o, a, o_next, p)",
                name="transitions", index=i,
            )
        o, a, o_next, p = item
        for name, value in (("o", o), ("a", a), ("o_next", o_next)):
            if not isinstance(value, Hashable) or (
                hasattr(value, "__array__") and not isinstance(value, np.generic)
            ):
                raise DataError(
                    f"transitions[{i}]: {name} == {value!r} of type {type(value).__name__}, "
                    "must be a hashable identifier such as an index (arrays and tensors are "
                    "not: they hash by identity, not by value)", name="transitions", index=i,
                )
        key = _aux_key(p, i)
        if aux_of.setdefault(o, (key, p))[0] != key:
            raise DataError(
                f"observation {o!r} has two auxiliary values in the dataset: "
                f"{aux_of[o][1]!r} and {p!r} (p must be a function of the observation)",
                name="transitions", index=(o, None),
            )
        if next_of.setdefault((o, a), o_next) != o_next:
            raise DataError(
                f"observation {o!r} under action {a!r} has two successors in the dataset: "
                f"{next_of[(o, a)]!r} and {o_next!r} (Def. 4 assumes a deterministic MDP)",
                name="transitions", index=(o, a),
            )
        actions.setdefault(a, len(actions))
    index = {o: i for i, o in enumerate(aux_of)}
    successor = np.full((len(index), max(len(actions), 1)), -1, dtype=np.int64)
    for (o, a), o_next in next_of.items():
        successor[index[o], actions[a]] = index.get(o_next, -1)
    aux_index: dict = {}
    codes = np.array([aux_index.setdefault(k, len(aux_index)) for k, _ in aux_of.values()],
                     dtype=np.int64)
    return tuple(index), successor, codes


def _aux_key(p, i: int, where: str = "p"):
    """A hashable key equal for equal auxiliary values: arrays and tensors compared by value,
    tuples and frozensets element by element (nested ones too).

    Raises :class:`DataError` naming ``transitions[i]`` and the place ``where`` in the auxiliary
    value (``p``, ``p[1][0]``, ...) of a NaN, which equals nothing, not even itself, or of an
    unhashable part.
    """
    if hasattr(p, "__array__") and not isinstance(p, (str, bytes)):
        array = np.asarray(p)
        if array.dtype.kind in "fc" and np.isnan(array).any():
            raise DataError(f"transitions[{i}]: {where} == {p!r}, must not contain NaN", name="transitions", index=i)
        if array.dtype == object and array.ndim == 0:
            return _aux_key(array.item(), i, where)
        if array.dtype == object:
            return ("array", array.shape, tuple(_aux_key(array[k], i, f"{where}[{', '.join(map(str, k))}]")
                                              for k in np.ndindex(array.shape)))
        if array.ndim == 0:
            return array.item()  # numpy scalars and 0-d tensors compare as Python numbers
        return ("array", array.shape, tuple(array.ravel().tolist()))
    if isinstance(p, tuple):
        return tuple(_aux_key(e, i, f"{where}[{k}]") for k, e in enumerate(p))
    if isinstance(p, frozenset):
        return frozenset(_aux_key(e, i, f"an element of {where}") for e in p)
    if isinstance(p, numbers.Number) and p != p:
        raise DataError(f"transitions[{i}]: {where} == {p!r}, must not be NaN", name="transitions", index=i)
    if not isinstance(p, Hashable):
        raise DataError(
            f"transitions[{i}]: {where} == {p!r} of type {type(p).__name__}, must be hashable or an "
            "array", name="transitions", index=i,
        )
    return p


@numba.njit(cache=True)
def _separate(successor, codes):
    """``R_D*`` by backward breadth-first search in the pair graph (module docstring)."""
    n, k = successor.shape
    separated = np.empty((n, n), dtype=np.bool_)
    for x in range(n):
        for y in range(n):
            separated[x, y] = codes[x] != codes[y]  # R^(1): auxiliary disagreement
    start, pre = _observed_predecessors(successor)
    queue = np.empty(max(n, 16), dtype=np.int64)  # pairs x * n + y with x < y, grows by doubling
    tail = 0
    for x in range(n):  # R^(2) \ R^(1): one sweep over the p-equal pairs
        for y in range(x + 1, n):
            if separated[x, y]:
                continue
            for a in range(k):
                u, v = successor[x, a], successor[y, a]
                if u >= 0 and v >= 0 and separated[u, v]:
                    separated[x, y] = separated[y, x] = True
                    queue = _push(queue, tail, x * n + y)
                    tail += 1
                    break
    head = 0
    while head < tail:  # later rounds: predecessors of newly separated pairs
        u, v = queue[head] // n, queue[head] % n
        head += 1
        for a in range(k):
            for i in range(start[a, u], start[a, u + 1]):
                x = pre[a, i]
                for j in range(start[a, v], start[a, v + 1]):
                    y = pre[a, j]
                    if not separated[x, y]:
                        separated[x, y] = separated[y, x] = True
                        queue = _push(queue, tail, min(x, y) * n + max(x, y))
                        tail += 1
    return separated


@numba.njit(cache=True)
def _push(queue, tail, value):
    if tail == queue.shape[0]:
        bigger = np.empty(2 * queue.shape[0], dtype=np.int64)
        bigger[:tail] = queue
        queue = bigger
    queue[tail] = value
    return queue


@numba.njit(cache=True)
def _observed_predecessors(successor):
    """CSR lists of observed predecessors per action (edges to -1 are left out)."""
    n, k = successor.shape
    start = np.zeros((k, n + 1), dtype=np.int64)
    for a in range(k):
        for x in range(n):
            if successor[x, a] >= 0:
                start[a, successor[x, a] + 1] += 1
        for s in range(n):
            start[a, s + 1] += start[a, s]
    pre = np.empty((k, max(start[:, n].max(), 1)), dtype=np.int64)
    for a in range(k):
        fill = start[a, :n].copy()
        for x in range(n):
            s = successor[x, a]
            if s >= 0:
                pre[a, fill[s]] = x
                fill[s] += 1
    return start, pre
