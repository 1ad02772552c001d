"""Thm. 1 and Thm. 3 of Yu et al. (2025) exactly, for tabular P-JEPA models.

A *tabular* model has a lookup-table encoder: observation ``o`` gets the latent ``e_{c(o)}``
of its label ``c(o)``, distinct labels getting distinct vectors. Two observations *collapse*
iff they have one label. The model is *well-trained* (Thm. 1) when some ``T`` and ``P``
satisfy, for every observation ``o`` and action ``a``,

.. math::

    T(E(o), a) = E(f(o, a)), \\qquad P(E(o)) = p(o),

which for a lookup table holds iff the labelling is *consistent*: ``c(o) = c(o')`` implies
``p(o) = p(o')`` (else no ``P`` exists) and ``c(f(o, a)) = c(f(o', a))`` for every ``a``
(else no ``T`` exists). Then ``T[c, a] = c(f(o, a))`` and ``P[c] = p(o)`` for any ``o`` of
label ``c``. On a dataset ``D`` (Thm. 3, Eq. (1) of the paper) the same holds with the
conditions required only on the transitions of ``D`` (sources that share an action).

Thm. 1 (``thm-pjepa-no-collapse`` in the book) then says: a consistent labelling never merges a
pair of ``R*`` (the least fixed point of Def. 1, ``def-pjepa-largest-bisim``), i.e. it refines
the largest bisimulation ``B*``; and the classes of ``B*``
themselves are consistent, so they give the *coarsest* well-trained tabular model. This module
builds that model (:func:`tabular_model`), finds the witness of an inconsistency
(:func:`violation`, :func:`dataset_violation`), checks that merging any two classes breaks
``T`` or ``P`` (:func:`merge_violations`), and enumerates every consistent labelling of a small
system (:func:`well_trained_labellings`) so that the theorem can be checked exhaustively.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from ltijepa.bisim._validation import canonical_labels, check_next_state
from ltijepa.errors import DataError, ShapeError

__all__ = [
    "Violation",
    "TabularModel",
    "violation",
    "tabular_model",
    "merge_violations",
    "dataset_violation",
    "dataset_merge_violations",
    "well_trained_labellings",
    "MAX_ENUMERATED_STATES",
]

#: Largest system :func:`well_trained_labellings` enumerates (Bell(10) = 115,975 labellings).
MAX_ENUMERATED_STATES = 10


@dataclass(frozen=True)
class Violation:
    """Why a labelling is not well-trained: two observations with one latent and either
    different auxiliary values (``kind == "P"``) or, under one action, successors with
    different latents (``kind == "T"``)."""

    kind: str
    """'P' (no auxiliary head can fit) or 'T' (no latent transition can fit)"""
    first: Hashable
    """an observation"""
    second: Hashable
    """another observation with the same label"""
    action: Hashable | None
    """the action whose successors disagree (kind 'T'), else None"""


@dataclass(frozen=True)
class TabularModel:
    """A well-trained tabular P-JEPA model ``(E, T, P)`` of a total deterministic system."""

    encoder: np.ndarray
    """int64 (n,): the label (latent index) c(o) of every observation"""
    transition: np.ndarray
    """int64 (c, |A|): T[c, a], the latent index of the successors"""
    aux: np.ndarray
    """(c,): P[c], the auxiliary value of the observations with latent c"""


def _check_system(next_state, aux, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    next_state, aux, labels = check_next_state(next_state), np.asarray(aux), np.asarray(labels)
    if aux.shape[:1] != (len(next_state),) or labels.shape != (len(next_state),):
        raise ShapeError(
            f"expected next_state (n, |A|), aux (n,) and labels (n,); found {next_state.shape}, "
            f"{aux.shape}, {labels.shape}"
        )
    return next_state, aux, labels


def violation(next_state, aux, labels) -> Violation | None:
    """The first reason the lookup-table encoder ``labels`` is not well-trained, or ``None``.

    Parameters
    ----------
    next_state : array_like of int, shape (n, |A|)
        ``f(o, a)`` of a deterministic total system.
    aux : array_like, shape (n,) or (n, d)
        ``p(o)`` (rows compared by value).
    labels : array_like, shape (n,)
        The latent index ``c(o)`` of every observation.

    Returns
    -------
    Violation or None
        ``None`` iff some ``T, P`` make ``(labels, T, P)`` well-trained (Thm. 1's hypothesis).

    Raises
    ------
    ShapeError
        If ``next_state`` is not ``(n, |A|)`` with ``n, |A| >= 1`` or the arrays disagree in
        length.
    DataError
        If a successor is not a state index in ``[0, n)``.

    Examples
    --------
    Counts 0..2, actions (dec, inc), ``p = 1{k = 2}``: merging counts 0 and 1 breaks ``T``.

    >>> f = [[0, 1], [0, 2], [1, 2]]
    >>> violation(f, [0, 0, 1], [0, 0, 1])
    Violation(kind='T', first=0, second=1, action=1)
    """
    next_state, aux, labels = _check_system(next_state, aux, labels)
    order = np.argsort(labels, kind="stable")
    lab = labels[order]
    same = np.flatnonzero(lab[1:] == lab[:-1])  # consecutive members of one class
    first, second = order[same], order[same + 1]
    aux_rows = aux.reshape(len(aux), -1)
    bad_p = np.flatnonzero((aux_rows[first] != aux_rows[second]).any(axis=1))
    if bad_p.size:
        i = bad_p[0]
        return Violation("P", int(first[i]), int(second[i]), None)
    succ_labels = labels[next_state]
    bad_t = np.argwhere(succ_labels[first] != succ_labels[second])
    if bad_t.size:
        i, a = bad_t[0]
        return Violation("T", int(first[i]), int(second[i]), int(a))
    return None


def tabular_model(next_state, aux, labels) -> TabularModel:
    """The tabular model with encoder ``labels`` and the ``T``, ``P`` that make it well-trained.

    With ``labels`` the classes of the largest bisimulation
    (:func:`ltijepa.bisim.largest_bisimulation`) this is the coarsest well-trained tabular
    model of Thm. 1 (``thm-pjepa-no-collapse``): building it is the first half of the book's
    check of ``cor-pjepa-nine`` on the counting MDP, where it has one latent per count.

    Parameters
    ----------
    next_state, aux, labels
        As in :func:`ltijepa.jepa.tabular.violation`.

    Returns
    -------
    TabularModel
        Labels renumbered ``0..c-1`` in order of first appearance.

    Raises
    ------
    DataError
        If ``labels`` is not consistent: no ``T`` or no ``P`` exists (the message names the two
        observations, ``index`` is the pair).
    ShapeError, DataError
        As :func:`violation`.
    """
    witness = violation(next_state, aux, labels)
    if witness is not None:
        raise DataError(
            f"labels are not well-trained: observations {witness.first} and {witness.second} share a "
            f"latent but {'their auxiliary values differ' if witness.kind == 'P' else f'action {witness.action} leads them to different latents'}",
            name="labels", index=(witness.first, witness.second),
        )
    next_state, aux, labels = _check_system(next_state, aux, labels)
    encoder = canonical_labels(labels)  # classes renumbered by first appearance
    reps = np.unique(encoder, return_index=True)[1]  # the first observation of each class
    return TabularModel(encoder=encoder, transition=encoder[next_state[reps]], aux=aux[reps])


def merge_violations(next_state, aux, labels) -> dict[tuple[int, int], Violation | None]:
    """For every two classes ``c < c'`` of ``labels``, the violation after merging them.

    Thm. 1 (``thm-pjepa-no-collapse``) with ``labels`` the classes of ``B*``: every merge of
    two non-bisimilar classes must break ``T`` or ``P``, i.e. every value is a
    :class:`Violation`. On the counting MDP with ``p = 1{k = 4}`` this is the second half of
    the check of ``cor-pjepa-nine``: nine classes, each of the 36 merges broken.

    Parameters
    ----------
    next_state, aux, labels : array_like
        The system and the labelling, as in :func:`violation`: ``f(o, a)`` of shape
        ``(n, |A|)``, ``p(o)`` of shape ``(n,)`` or ``(n, d)``, ``c(o)`` of shape ``(n,)``.

    Returns
    -------
    dict
        ``(c, c') -> Violation or None``, over the distinct values of ``labels``.
    """
    next_state, aux, labels = _check_system(next_state, aux, labels)
    classes = np.unique(labels)
    out = {}
    for c1, c2 in combinations(classes.tolist(), 2):
        merged = np.where(labels == c2, c1, labels)
        out[(c1, c2)] = violation(next_state, aux, merged)
    return out


def _index_transitions(transitions: Iterable, labels: Mapping):
    rows = list(transitions)
    for row in rows:
        if len(row) != 4:
            raise ShapeError(f"expected transitions (o, a, o_next, p), found an element of length {len(row)}")
    missing = [o for row in rows for o in (row[0], row[2]) if o not in labels]
    if missing:
        raise DataError(f"observation {missing[0]!r} of the dataset has no label", name="labels", index=missing[0])
    return rows


def dataset_violation(transitions: Iterable, labels: Mapping) -> Violation | None:
    """The first reason the lookup table ``labels`` is not well-trained on ``D`` (Eq. (1)).

    Well-trained on ``D``: for all ``(o, a, o', p) in D``, ``T(E(o), a) = E(o')`` and
    ``P(E(o)) = p``. For a lookup table this holds iff two sources with one label have one
    auxiliary value, and, for every action both were observed with, successors with one label.
    The hypothesis of Thm. 3 (``thm-pjepa-empirical``), checked on the replay buffer.

    Parameters
    ----------
    transitions : iterable of (o, a, o_next, p)
        The dataset (hashable observations and actions, comparable auxiliary values).
    labels : mapping
        The latent index of every source and successor.

    Returns
    -------
    Violation or None

    Raises
    ------
    ShapeError
        If an element is not a 4-tuple.
    DataError
        If an observation has no label.
    """
    aux_of: dict = {}
    next_of: dict = {}
    for o, a, o_next, p in _index_transitions(transitions, labels):
        c = labels[o]
        if c in aux_of and aux_of[c][1] != p:
            return Violation("P", aux_of[c][0], o, None)
        aux_of.setdefault(c, (o, p))
        target = labels[o_next]
        if (c, a) in next_of and next_of[(c, a)][1] != target:
            return Violation("T", next_of[(c, a)][0], o, a)
        next_of.setdefault((c, a), (o, target))
    return None


def dataset_merge_violations(transitions: Iterable, labels: Mapping) -> dict[tuple, Violation | None]:
    """:func:`merge_violations` on a dataset: for every two labels, the violation after
    merging them (Thm. 3, ``thm-pjepa-empirical``, with ``labels`` consistent on ``D``).

    Parameters
    ----------
    transitions, labels
        As in :func:`ltijepa.jepa.tabular.dataset_violation`, which also names the errors.

    Returns
    -------
    dict
        ``(c, c') -> Violation or None`` for every two labels ``c < c'`` that occur in the
        dataset (sorted).
    """
    rows = _index_transitions(transitions, labels)
    classes = sorted(set(labels[o] for row in rows for o in (row[0], row[2])))
    out = {}
    for c1, c2 in combinations(classes, 2):
        merged = {o: (c1 if c == c2 else c) for o, c in labels.items()}
        out[(c1, c2)] = dataset_violation(rows, merged)
    return out


def well_trained_labellings(next_state, aux) -> Iterator[np.ndarray]:
    """Every consistent labelling of a small system, as restricted growth strings.

    Enumerates all ``Bell(n)`` partitions of the states (labels ``c(0) = 0`` and
    ``c(o) <= 1 + max_{o' < o} c(o')``) and yields those that are well-trained: the
    exhaustive check of ``thm-pjepa-no-collapse`` asks each of them to separate every pair of
    ``R*`` (``def-pjepa-largest-bisim``) and none to be coarser than ``B*``.

    Raises
    ------
    ShapeError
        If ``next_state`` and ``aux`` disagree, or ``n > MAX_ENUMERATED_STATES``.
    DataError
        If a successor is not a state index.
    """
    next_state = np.asarray(next_state)
    n = len(next_state)
    if n > MAX_ENUMERATED_STATES:
        raise ShapeError(f"n == {n} states, must be <= MAX_ENUMERATED_STATES == {MAX_ENUMERATED_STATES}")
    _check_system(next_state, aux, np.zeros(n, dtype=np.int64))
    labels = np.zeros(n, dtype=np.int64)

    def extend(o: int, top: int) -> Iterator[np.ndarray]:
        if o == n:
            if violation(next_state, aux, labels) is None:
                yield labels.copy()
            return
        for c in range(top + 2):
            labels[o] = c
            yield from extend(o + 1, max(top, c))

    if n:
        yield from extend(1, 0)
