"""The largest bisimulation of a deterministic total system, fast, by partition refinement.

For a deterministic *total* system (every state has exactly one successor under every
action) the relation ``B* = O² \\ R*`` of Def. 1 of Yu et al. (2025) is an equivalence
relation, and it is the coarsest partition of the states that

1. refines the partition by auxiliary value ``p``, and
2. is *stable*: two states in one class have, for every action ``a``, successors in one class.

The chapter proves this (book label ``lem-bisim-words``): ``B*`` is the Moore/Nerode
equivalence of the automaton ``(O, A, f, p)``, computed here in two phases:

- **signature rounds** (Moore refinement): ``cls ← class of (cls[o], cls[f(o, a)] for all
  a)``, one pass over the transitions per round. A signature is folded into one 64-bit key,
  packed exactly while ``|A| + 1`` labels fit in 64 bits and hashed (then checked against
  the stored signature) beyond, and looked up in a hash table; states alone in their class
  are skipped, since classes only split. Round ``j`` yields Moore's ``j``-equivalence, the
  complement of ``R^(j+1)``. Random systems need a handful of rounds, but a chain needs
  ``n - 1``;
- **Hopcroft's algorithm** (Hopcroft 1971), ``O(|A| n log n)`` in the worst case. It takes
  over as soon as a round fails to double the number of classes, starting from that round's
  partition with only the pieces the round cut off as splitters. At most ``log2 n + 1``
  rounds are ever run, so the whole is ``O(|A| n log n)``.

Both phases are compiled with numba (``cache=True``: the first call in a fresh environment
compiles them, later processes load the cache).
"""

from __future__ import annotations

import numba
import numpy as np

from ltijepa.bisim._validation import aux_codes, check_next_state
from ltijepa.bisim.relations import relabel
from ltijepa.errors import ParameterError

__all__ = ["METHODS", "largest_bisimulation"]

#: The algorithms :func:`largest_bisimulation` can use; ``"auto"`` is the hybrid.
METHODS = ("auto", "hopcroft", "signature")

#: Largest number of states: labels and state indices are stored as 32-bit integers.
MAX_STATES = 2**31 - 1

#: The odd multiplier of hashed signature keys (2**64 / golden ratio).
HASH_BASE = np.uint64(0x9E3779B97F4A7C15)


def largest_bisimulation(next_state, aux, *, method: str = "auto") -> np.ndarray:
    """Class labels of the largest bisimulation ``B*`` of Def. 1 (a deterministic total system).

    ``B* = O² \\ R*`` with ``R*`` the least fixed point of

    .. math::

        \\mathcal F(R) = \\{(o, o') : p(o) \\ne p(o')\\}
            \\cup \\{(o, o') : \\exists a,\\ (f(o, a), f(o', a)) \\in R\\}

    (book labels ``def-largest-bisim``, ``eq-bisim-F``). For a total system ``B*`` is the
    coarsest stable partition refining ``p`` (book label ``lem-bisim-words``), so it is
    returned as a partition: ``labels[o] == labels[o']`` iff ``(o, o') ∈ B*``, i.e. iff
    ``least_fixed_point(next_state, aux)[o, o']`` is false. On the counting MDP of
    :func:`ltijepa.envs.counting_mdp.make_counting_mdp` the chapter checks with it that the
    labels are the object counts for every target (book labels ``prop-count-bisim``,
    ``prop-count-largest``, ``cor-nine-classes``).

    Parameters
    ----------
    next_state : array_like of int, shape (n, n_actions)
        The successor table ``next_state[o, a] = f(o, a)``, entries in ``[0, n)``.
    aux : array_like of shape (n,) or (n, d), or a sequence of n hashable values
        The auxiliary function ``p``, compared by exact equality (rows of a 2-D array are
        vector values).
    method : {"auto", "hopcroft", "signature"}, default "auto"
        ``"auto"``: signature rounds while each round at least doubles the number of classes,
        then Hopcroft from the current partition (``O(|A| n log n)``). ``"hopcroft"``:
        Hopcroft from the auxiliary partition. ``"signature"``: signature rounds only (up to
        ``n - 1`` rounds, ``O(|A| n²)`` in the worst case; for comparison).

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        Class labels ``0, 1, ..., c - 1`` numbered in order of first appearance (so two
        runs on the same system return identical arrays).

    Raises
    ------
    ShapeError
        If ``next_state`` is not ``(n, n_actions)`` or ``aux`` does not have ``n`` entries.
    DataError
        If an entry of ``next_state`` is not a state index, or an auxiliary value is NaN or
        unhashable.
    ParameterError
        If ``method`` is unknown or ``n > MAX_STATES`` (2**31 - 1).

    See Also
    --------
    ltijepa.bisim.least_fixed_point : the same relation as a dense pair matrix, by Def. 1.

    Examples
    --------
    The counting MDP of Appendix C with one observation per count ``k = 0..8``, actions
    (dec, inc) and ``p = 1{k = 4}``: nine classes.

    >>> k = np.arange(9)
    >>> f = np.stack([np.maximum(k - 1, 0), np.minimum(k + 1, 8)], axis=1)
    >>> largest_bisimulation(f, k == 4).max() + 1
    np.int64(9)
    """
    if method not in METHODS:
        raise ParameterError(f"method == {method!r}, must be one of {METHODS}", name="method", value=method)
    n = np.shape(next_state)[0] if np.ndim(next_state) >= 1 else 0
    if n > MAX_STATES:
        raise ParameterError(f"n == {n} states, must be <= MAX_STATES == {MAX_STATES}", name="n", value=n)
    successors = check_next_state(next_state, np.int32)  # n <= MAX_STATES: indices fit
    k = successors.shape[1]
    labels = aux_codes(aux, n).astype(np.int32)
    n_classes = int(labels.max()) + 1
    if method == "hopcroft":
        parent = np.zeros(n, dtype=np.int32)  # the trivial partition {O}: stable for a total f
        return relabel(_hopcroft(successors, labels, n_classes, parent).astype(np.int64), n)
    while n_classes < n:  # a discrete partition is stable
        refined, n_refined = _signature_round(successors, labels, n_classes, *_key_base(n_classes, k))
        if n_refined == n_classes:  # a round that splits nothing: stable
            break
        if method == "auto" and n_refined < min(2 * n_classes, n):
            return relabel(_hopcroft(successors, refined, n_refined, labels).astype(np.int64), n)
        labels, n_classes = refined, n_refined
    return labels.astype(np.int64)


def _key_base(n_labels: int, n_actions: int) -> tuple[np.uint64, bool]:
    """``(base, packed)`` of the keys ``key = key * base + label`` of a signature round.

    ``base = 2**bits`` with ``bits`` the bit length of ``n_labels - 1`` when the ``|A| + 1``
    labels of a signature fit in 64 bits (``packed``: the key is the signature), else the odd
    multiplier ``HASH_BASE`` (the key is a hash of the signature).
    """
    bits = max(1, (n_labels - 1).bit_length())
    if bits * (n_actions + 1) <= 64:
        return np.uint64(1 << bits), True
    return HASH_BASE, False


@numba.njit(cache=True)
def _signature_round(successors, labels, n_labels, base, packed):
    """One Moore round: the class of ``(labels[o], labels[f(o, 0)], ..., labels[f(o, A-1)])``.

    Round ``j`` of ``lem-bisim-words``: the classes of Moore's ``(j + 1)``-equivalence from
    those of the ``j``-equivalence (``labels``, in ``[0, n_labels)``). A state alone in its
    class keeps a class of its own without being looked at further: a class can only split.
    The signatures of the others are folded into 64-bit keys (:func:`_signature_keys`): if
    ``packed`` the key *is* the signature, otherwise it is a hash and equal keys are checked
    against the signature stored per new class, so the result is exact either way. Keys are
    looked up in an open-addressing table of ``[key, new label + 1]`` sized by the number of
    distinct signatures there can be, at most
    ``min(#states in classes of two or more, n_labels ** (|A| + 1))``. New labels are numbered
    in order of first appearance. Returns ``(new_labels, number_of_classes)``.
    """
    n, k = successors.shape
    sizes = np.zeros(n_labels, dtype=np.int32)
    for o in range(n):
        sizes[labels[o]] += 1
    n_shared = 0  # states that share their class with another
    for b in range(n_labels):
        if sizes[b] > 1:
            n_shared += sizes[b]
    keys = _signature_keys(successors, labels, sizes, base)
    size = 1
    while size < 2 * _at_most(n_labels, k + 1, n_shared):
        size *= 2
    mask = np.uint64(size - 1)
    table = np.zeros((size, 2), dtype=np.uint64)  # [key, new label + 1]; 0: an empty slot
    seen = np.empty((0 if packed else n, k + 1), dtype=np.int32)  # signature per new label
    signature = np.empty(k + 1, dtype=np.int32)
    out = np.empty(n, dtype=np.int32)
    n_new = 0
    for o in range(n):
        if sizes[labels[o]] == 1:
            out[o] = n_new
            n_new += 1
            continue
        key = keys[o]
        if not packed:
            signature[0] = labels[o]
            for a in range(k):
                signature[a + 1] = labels[successors[o, a]]
        i = _mix(key) & mask
        while True:
            if table[i, 1] == 0:  # an empty slot: a new class
                table[i, 0] = key
                table[i, 1] = n_new + 1
                if not packed:
                    seen[n_new] = signature
                out[o] = n_new
                n_new += 1
                break
            label = np.int64(table[i, 1]) - 1
            if table[i, 0] == key and (packed or _equal(seen[label], signature)):
                out[o] = label
                break
            i = (i + np.uint64(1)) & mask
    return out, n_new


@numba.njit(cache=True)
def _signature_keys(successors, labels, sizes, base):
    """``key = key * base + label`` over the signature ``(labels[o], labels[f(o, a)]...)`` of
    every state ``o`` in a class of two or more (``sizes[labels[o]] > 1``; others: unset),
    uint64 (n,), with the base of :func:`_key_base`.

    A pass of its own: its label look-ups are independent of each other, so the memory system
    overlaps them, and the table probes of :func:`_signature_round` then read a plain array.
    """
    n, k = successors.shape
    keys = np.empty(n, dtype=np.uint64)
    for o in range(n):
        if sizes[labels[o]] > 1:
            key = np.uint64(labels[o])
            for a in range(k):
                key = key * base + np.uint64(labels[successors[o, a]])
            keys[o] = key
    return keys


@numba.njit(cache=True)
def _at_most(base, exponent, cap):
    """``min(base ** exponent, cap)`` for ``base, cap >= 1``, without overflow."""
    power = 1
    for _ in range(exponent):
        power *= base
        if power >= cap:
            return cap
    return power


@numba.njit(cache=True, inline="always")
def _equal(x, y):
    for j in range(x.shape[0]):
        if x[j] != y[j]:
            return False
    return True


@numba.njit(cache=True, inline="always")
def _mix(h):
    """The splitmix64 finaliser: a bijection of 64-bit words that scatters every input bit."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


@numba.njit(cache=True)
def _predecessors(successors):
    """Inverse transitions in CSR form per action: ``pre[a, start[a, s]:start[a, s + 1]]``
    are the states ``o`` with ``f(o, a) = s`` (a counting sort, ``O(|A| n)``)."""
    n, k = successors.shape
    start = np.zeros((k, n + 1), dtype=np.int32)
    pre = np.empty((k, n), dtype=np.int32)
    for a in range(k):
        for o in range(n):
            start[a, successors[o, a] + 1] += 1
        for s in range(n):
            start[a, s + 1] += start[a, s]
        fill = start[a, :n].copy()
        for o in range(n):
            s = successors[o, a]
            pre[a, fill[s]] = o
            fill[s] += 1
    return start, pre


@numba.njit(cache=True)
def _hopcroft(successors, labels, n_labels, parent):
    """Hopcroft's refinement of the partition ``labels`` (labels in ``[0, n_labels)``).

    ``parent`` labels a coarser partition with respect to which ``labels`` is already stable
    (every class of ``labels`` has, for each action, its successors in one ``parent`` class):
    the previous signature round, or the trivial partition ``{O}``. Only the pieces into which
    ``labels`` cuts a ``parent`` class can split anything, and of those all but the largest
    suffice (stability with respect to a union and to all other pieces implies stability with
    respect to the last one), so the work list starts with those.

    Blocks are ranges of the array ``elems``. The work list holds blocks, each waiting as a
    splitter for every action: a popped block ``B`` (its members at that moment) is taken with
    each action ``a`` in turn; ``(B, a)`` marks the states with an ``a``-successor in ``B`` by
    swapping them to the front of their block, then every touched block is split into its
    marked and unmarked parts. The smaller part becomes a new block and is pushed: if ``(b,
    a)`` is waiting, both parts must wait, and if not, the smaller part suffices (Hopcroft
    1971); if ``B`` itself splits while it is processed, the later actions still use all of
    its members, whose pieces wait. Each block is pushed at most once, and each state is in at
    most ``log2 n`` processed splitters.
    """
    n, k = successors.shape
    start, pre = _predecessors(successors)
    block_start = np.empty(n, dtype=np.int32)
    block_end = np.empty(n, dtype=np.int32)
    n_marked = np.zeros(n, dtype=np.int32)
    sizes = np.zeros(n_labels, dtype=np.int32)
    block_parent = np.empty(n_labels, dtype=np.int32)
    for o in range(n):
        sizes[labels[o]] += 1
        block_parent[labels[o]] = parent[o]
    position = 0
    for b in range(n_labels):
        block_start[b] = position
        position += sizes[b]
        block_end[b] = position
    elems = np.empty(n, dtype=np.int32)
    loc = np.empty(n, dtype=np.int32)
    block = labels.copy()
    cursor = block_start[:n_labels].copy()
    for o in range(n):
        b = labels[o]
        elems[cursor[b]] = o
        loc[o] = cursor[b]
        cursor[b] += 1
    largest_piece = np.full(n, -1, dtype=np.int32)  # per parent class
    for b in range(n_labels):
        c = block_parent[b]
        if largest_piece[c] < 0 or sizes[b] > sizes[largest_piece[c]]:
            largest_piece[c] = b
    work = np.empty(n, dtype=np.int32)  # blocks waiting as splitters; each is pushed once
    top = 0
    for b in range(n_labels):
        if largest_piece[block_parent[b]] != b:
            work[top] = b
            top += 1
    n_blocks = n_labels
    splitter = np.empty(n, dtype=np.int32)
    touched = np.empty(n, dtype=np.int32)
    while top > 0:
        top -= 1
        b_split = work[top]
        m = block_end[b_split] - block_start[b_split]
        splitter[:m] = elems[block_start[b_split] : block_end[b_split]]  # marking permutes elems
        for a in range(k):
            n_touched = 0
            for i in range(m):
                s = splitter[i]
                for j in range(start[a, s], start[a, s + 1]):
                    q = pre[a, j]
                    b = block[q]
                    first_unmarked = block_start[b] + n_marked[b]
                    if block_end[b] - block_start[b] == 1 or loc[q] < first_unmarked:
                        continue  # a singleton cannot split; q is already marked
                    here = loc[q]  # mark q: swap it to the front of its block
                    other = elems[first_unmarked]
                    elems[first_unmarked] = q
                    loc[q] = first_unmarked
                    elems[here] = other
                    loc[other] = here
                    if n_marked[b] == 0:
                        touched[n_touched] = b
                        n_touched += 1
                    n_marked[b] += 1
            for t in range(n_touched):
                b = touched[t]
                marked = n_marked[b]
                n_marked[b] = 0
                total = block_end[b] - block_start[b]
                if marked == total:
                    continue
                new = n_blocks
                n_blocks += 1
                if marked <= total - marked:  # the new block is the smaller part
                    block_start[new] = block_start[b]
                    block_end[new] = block_start[b] + marked
                    block_start[b] = block_end[new]
                else:
                    block_start[new] = block_start[b] + marked
                    block_end[new] = block_end[b]
                    block_end[b] = block_start[new]
                for i in range(block_start[new], block_end[new]):
                    block[elems[i]] = new
                work[top] = new
                top += 1
    return block
