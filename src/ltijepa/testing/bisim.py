"""Test helpers for :mod:`ltijepa.bisim`: hypothesis strategies and the peer libraries' answers.

- :func:`deterministic_systems`: small deterministic total systems ``(next_state, aux)``,
  half of them random lifts of a smaller system (so that ``B*`` has non-trivial classes);
- :func:`shaped_systems`: systems of the shapes refinement algorithms meet at their edges
  (chains, self loops, one action, many actions, unreachable states);
- :func:`datasets`: a system together with a random subset of its transitions (Def. 4);
- :func:`bispy_partition`, :func:`automata_partition`: the largest bisimulation computed by
  BisPy (Paige–Tarjan) and by automata-lib (Hopcroft DFA minimisation), for cross-checks and
  benchmarks. Both are test dependencies (``pip install ltijepa[dev]``), imported on call.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ltijepa.bisim._validation import aux_codes, check_next_state
from ltijepa.bisim.relations import canonical_labels
from ltijepa.bisim.systems import chain_system, random_system

#: The shapes :func:`shaped_systems` draws.
SYSTEM_SHAPES = ("chain", "self_loops", "one_action", "many_actions", "unreachable")

__all__ = [
    "deterministic_systems", "shaped_systems", "SYSTEM_SHAPES", "datasets", "bispy_partition",
    "automata_partition",
]


@st.composite
def deterministic_systems(
    draw, *, max_states: int = 12, max_actions: int = 3, max_aux_values: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic total system ``(next_state (n, k) int64, aux (n,) int64)``.

    Either every successor and auxiliary value is drawn freely, or the system is a lift of a
    drawn ``m``-state system: each state ``o`` is assigned a block ``β(o)`` (all blocks used),
    ``p(o) = q(β(o))`` and ``f(o, a)`` is some state of block ``g(β(o), a)``.

    Parameters
    ----------
    max_states : int
        Largest number of states ``n`` drawn (``n`` in ``[1, max_states]``).
    max_actions : int
        Largest number of actions ``k`` drawn (``k`` in ``[1, max_actions]``).
    max_aux_values : int
        Largest number of distinct auxiliary values drawn: ``aux`` takes values in
        ``[0, n_aux)`` with ``n_aux`` in ``[1, max_aux_values]``.
    """
    n = draw(st.integers(1, max_states))
    k = draw(st.integers(1, max_actions))
    n_aux = draw(st.integers(1, max_aux_values))
    if not draw(st.booleans()):
        table = draw(st.lists(st.integers(0, n - 1), min_size=n * k, max_size=n * k))
        aux = draw(st.lists(st.integers(0, n_aux - 1), min_size=n, max_size=n))
        return np.array(table, dtype=np.int64).reshape(n, k), np.array(aux, dtype=np.int64)
    m = draw(st.integers(1, n))
    base_next = np.array(
        draw(st.lists(st.integers(0, m - 1), min_size=m * k, max_size=m * k)), dtype=np.int64
    ).reshape(m, k)
    base_aux = np.array(draw(st.lists(st.integers(0, n_aux - 1), min_size=m, max_size=m)))
    extra = draw(st.lists(st.integers(0, m - 1), min_size=n - m, max_size=n - m))
    block = np.array(list(range(m)) + extra, dtype=np.int64)
    pick = np.array(draw(st.lists(st.integers(0, n - 1), min_size=n * k, max_size=n * k)))
    members = [np.flatnonzero(block == b) for b in range(m)]
    target = base_next[block]  # (n, k): the block of each successor
    next_state = np.array(
        [members[b][i % len(members[b])] for b, i in zip(target.ravel(), pick)], dtype=np.int64
    ).reshape(n, k)
    return next_state, base_aux[block].astype(np.int64)


@st.composite
def shaped_systems(
    draw, *, max_states: int = 14, max_actions: int = 70, shapes=SYSTEM_SHAPES
) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic total system ``(next_state (n, k) int64, aux (n,) int64)`` of one of
    the ``shapes``:

    - ``"chain"``: :func:`ltijepa.bisim.systems.chain_system` with its states renamed at
      random (``n - 1`` signature rounds);
    - ``"self_loops"``: a system of :func:`deterministic_systems` with some transitions
      replaced by ``f(o, a) = o``;
    - ``"one_action"``: a system of :func:`deterministic_systems` with ``|A| = 1``;
    - ``"many_actions"``: a random lift (:func:`ltijepa.bisim.systems.random_system`) with
      ``|A|`` up to ``max_actions``, so that a signature no longer fits a 64-bit word;
    - ``"unreachable"``: a system of :func:`deterministic_systems` and extra states no state
      of it reaches, whose successors are anywhere.

    Parameters
    ----------
    max_states : int
        Largest number of states ``n`` drawn.
    max_actions : int
        Largest number of actions of the ``"many_actions"`` shape (the others have at most 3).
    shapes : sequence of str
        The shapes to draw from (a subset of ``SYSTEM_SHAPES``).
    """
    shape = draw(st.sampled_from(shapes))
    if shape == "chain":
        next_state, aux = chain_system(draw(st.integers(1, max_states)), draw(st.integers(1, 3)))
        rename = np.array(draw(st.permutations(range(len(aux)))))  # old state o is rename[o]
        inverse = np.argsort(rename)
        return rename[next_state[inverse]], aux[inverse]
    if shape == "many_actions":
        n = draw(st.integers(1, max_states))
        return random_system(
            n, draw(st.integers(4, max_actions)), rng=draw(st.integers(0, 2**32 - 1)),
            n_aux_values=draw(st.integers(1, 3)), n_blocks=draw(st.integers(1, n)),
        )
    if shape == "one_action":
        return draw(deterministic_systems(max_states=max_states, max_actions=1))
    if shape == "self_loops":
        next_state, aux = draw(deterministic_systems(max_states=max_states))
        loops = np.array(draw(st.lists(st.booleans(), min_size=next_state.size, max_size=next_state.size)))
        states = np.repeat(np.arange(len(aux))[:, None], next_state.shape[1], axis=1)
        return np.where(loops.reshape(next_state.shape), states, next_state), aux
    next_state, aux = draw(deterministic_systems(max_states=max(1, max_states // 2)))
    m, k = next_state.shape
    n_extra = draw(st.integers(1, max_states - m)) if max_states > m else 0
    extra_next = draw(st.lists(st.integers(0, m + n_extra - 1), min_size=n_extra * k, max_size=n_extra * k))
    extra_aux = draw(st.lists(st.integers(0, 2), min_size=n_extra, max_size=n_extra))
    return (
        np.concatenate([next_state, np.array(extra_next, dtype=np.int64).reshape(n_extra, k)]),
        np.concatenate([aux, np.array(extra_aux, dtype=np.int64)]),
    )


@st.composite
def datasets(
    draw, *, max_states: int = 10, max_actions: int = 3, max_aux_values: int = 2
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int, int]]]:
    """A system and a dataset of some of its transitions: ``(next_state, aux, transitions)``.

    The dataset is a random subset of the ``n k`` transitions ``(o, a, f(o, a), p(o))``
    (possibly empty), in random order; successors need not be sources.

    Parameters
    ----------
    max_states, max_actions, max_aux_values : int
        Bounds on the size of the system, as in :func:`deterministic_systems` (with smaller
        defaults).
    """
    next_state, aux = draw(
        deterministic_systems(
            max_states=max_states, max_actions=max_actions, max_aux_values=max_aux_values
        )
    )
    n, k = next_state.shape
    pairs = draw(st.permutations([(o, a) for o in range(n) for a in range(k)]))
    kept = pairs[: draw(st.integers(0, len(pairs)))]
    transitions = [(o, a, int(next_state[o, a]), int(aux[o])) for o, a in kept]
    return next_state, aux, transitions


def bispy_partition(next_state, aux) -> np.ndarray:
    """The largest bisimulation by BisPy's Paige–Tarjan algorithm, as canonical labels (n,).

    BisPy has no edge labels, so each transition ``o -a-> f(o, a)`` becomes a path through an
    intermediate node ``(o, a)``; the initial partition holds the states by auxiliary value
    and, per action, all intermediate nodes of that action. Strong bisimulation of this graph
    restricted to the states is ``B*``.

    Parameters
    ----------
    next_state : array_like of int, shape (n, n_actions)
        The successor table ``next_state[o, a] = f(o, a)``, entries in ``[0, n)``.
    aux : array_like of shape (n,) or (n, d), or a sequence of n hashable values
        The auxiliary function ``p`` (compared by exact equality; rows of a 2-D array are
        vector values).
    """
    import networkx as nx
    from bispy import Algorithms, compute_maximum_bisimulation

    graph, initial = _bispy_graph(next_state, aux, nx)
    blocks = compute_maximum_bisimulation(graph, initial, algorithm=Algorithms.PaigeTarjan)
    return _labels_of_blocks(blocks, len(next_state))


def _bispy_graph(next_state, aux, nx):
    successors = check_next_state(next_state)
    codes = aux_codes(aux, successors.shape[0])
    n, k = successors.shape
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n * (1 + k)))
    middle = n + np.arange(n * k).reshape(n, k)  # node of (o, a)
    graph.add_edges_from(zip(np.repeat(np.arange(n), k).tolist(), middle.ravel().tolist()))
    graph.add_edges_from(zip(middle.ravel().tolist(), successors.ravel().tolist()))
    initial = [tuple(np.flatnonzero(codes == c).tolist()) for c in range(codes.max() + 1)]
    initial += [tuple(middle[:, a].tolist()) for a in range(k)]
    return graph, initial


def automata_partition(next_state, aux) -> np.ndarray:
    """The largest bisimulation by automata-lib's DFA minimisation, as canonical labels (n,).

    The states become DFA states (every one kept: the public ``minify`` would drop states
    unreachable from the initial state, so the classmethod ``DFA._minify`` is called). A
    gadget encodes a multi-valued ``p`` in the language: a fresh symbol ``#`` leads from ``o``
    to a counter ``c_{p(o)}``, ``c_i -#-> c_{i-1}``, ``c_0 -#-> accept``, everything else to
    a dead state; so ``o`` accepts ``u #^j`` iff ``j = p(f*(o, u)) + 2``.

    Parameters
    ----------
    next_state, aux
        As in :func:`ltijepa.testing.bisim.bispy_partition`.
    """
    from automata.fa.dfa import DFA

    successors = check_next_state(next_state)
    codes = aux_codes(aux, successors.shape[0])
    n, k = successors.shape
    symbols = [str(a) for a in range(k)] + ["#"]
    dead, accept = "dead", "accept"
    transitions = {
        o: {**{str(a): int(successors[o, a]) for a in range(k)}, "#": ("c", int(codes[o]))}
        for o in range(n)
    }
    for i in range(int(codes.max()) + 1):
        transitions[("c", i)] = {s: dead for s in symbols} | {"#": ("c", i - 1) if i else accept}
    transitions[accept] = {s: dead for s in symbols}
    transitions[dead] = {s: dead for s in symbols}
    dfa = DFA._minify(
        reachable_states=set(transitions),
        input_symbols=set(symbols),
        transitions=transitions,
        initial_state=0,
        reachable_final_states={accept},
        retain_names=True,
    )
    return _labels_of_blocks(dfa.states, n)


def _labels_of_blocks(blocks, n: int) -> np.ndarray:
    """Canonical labels (n,) of the states ``0..n-1`` from an iterable of blocks."""
    labels = np.full(n, -1, dtype=np.int64)
    for index, members in enumerate(blocks):
        for state in members:
            if isinstance(state, (int, np.integer)) and 0 <= state < n:
                labels[state] = index
    return canonical_labels(labels)
