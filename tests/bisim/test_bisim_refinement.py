"""Tests of ltijepa.bisim.largest_bisimulation: fast refinement against the definition."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltijepa.bisim import (
    METHODS,
    largest_bisimulation,
    least_fixed_point,
)
from ltijepa.bisim._validation import aux_codes
from ltijepa.bisim.refinement import _key_base, _signature_round
from ltijepa.bisim.relations import canonical_labels, count_separated, same_partition, separated_by
from ltijepa.bisim.systems import chain_system, random_system
from ltijepa.errors import DataError, ParameterError, ShapeError
from ltijepa.testing.bisim import deterministic_systems, shaped_systems


def moore_round(next_state, labels) -> np.ndarray:
    """One naive Moore round, canonical labels: the class of ``(labels[o], labels[f(o, a)]
    for all a)`` by ``np.unique`` on rows."""
    rows = np.column_stack([labels, labels[next_state]])
    return canonical_labels(np.unique(rows, axis=0, return_inverse=True)[1].reshape(-1))


def moore_partition(next_state, aux) -> np.ndarray:
    """Naive Moore refinement (lem-bisim-words): rounds until one splits nothing."""
    labels = canonical_labels(np.asarray(aux))
    while True:
        refined = moore_round(next_state, labels)
        if refined.max() == labels.max():
            return refined
        labels = refined


@pytest.mark.parametrize("method", METHODS)
@given(system=deterministic_systems(max_states=14, max_actions=3))
def test_fast_equals_fixed_point(method, system):
    next_state, aux = system
    labels = largest_bisimulation(next_state, aux, method=method)
    assert np.array_equal(separated_by(labels), least_fixed_point(next_state, aux))


@pytest.mark.parametrize("method", METHODS)
@given(system=shaped_systems())
def test_every_method_equals_moore_refinement_on_shaped_systems(method, system):
    next_state, aux = system
    labels = largest_bisimulation(next_state, aux, method=method)
    assert np.array_equal(labels, moore_partition(next_state, aux))


@given(system=st.one_of(deterministic_systems(max_states=14), shaped_systems()))
def test_signature_rounds_are_exact_when_every_key_collides(system):
    """With base 1 (and packed=False) a key is the sum of the signature's labels: equal keys of
    distinct signatures are told apart by the stored signatures, round after round."""
    next_state, aux = system
    successors = next_state.astype(np.int32)
    labels = aux_codes(aux, len(aux)).astype(np.int32)
    n_labels = int(labels.max()) + 1
    for _ in range(len(aux)):
        base, packed = _key_base(n_labels, successors.shape[1])
        refined, n_refined = _signature_round(successors, labels, n_labels, base, packed)
        colliding, n_colliding = _signature_round(successors, labels, n_labels, np.uint64(1), False)
        assert n_colliding == n_refined
        assert np.array_equal(colliding, refined)
        assert np.array_equal(refined, moore_round(successors, labels))
        labels, n_labels = refined, n_refined


@pytest.mark.parametrize(
    "system",
    [random_system(3000, 3, rng=1, n_aux_values=2),
     random_system(3000, 24, rng=2, n_aux_values=3, n_blocks=50),
     random_system(3000, 24, rng=3, n_aux_values=2), chain_system(400, 4)],
    ids=["random", "lift-24-actions", "random-24-actions", "chain"],
)
@pytest.mark.parametrize("method", METHODS)
def test_every_method_equals_moore_refinement_on_larger_systems(method, system):
    next_state, aux = system
    labels = largest_bisimulation(next_state, aux, method=method)
    assert np.array_equal(labels, moore_partition(next_state, aux))


@given(deterministic_systems(max_states=12), st.randoms(use_true_random=False))
def test_invariant_under_relabelling_states_actions_and_aux(system, random):
    next_state, aux = system
    n, k = next_state.shape
    labels = largest_bisimulation(next_state, aux)
    perm = np.array(random.sample(range(n), n))  # state perm[i] of the new system is old i
    inverse = np.argsort(perm)
    actions = np.array(random.sample(range(k), k))
    renamed = {v: f"value-{random.random()}-{v}" for v in set(aux.tolist())}  # injective
    new_next = perm[next_state[inverse][:, actions]]
    new_aux = [renamed[v] for v in aux[inverse].tolist()]
    new_labels = largest_bisimulation(new_next, new_aux)
    assert same_partition(new_labels[perm], labels)


@given(deterministic_systems(max_states=12))
def test_labels_are_canonical_and_classes_respect_aux(system):
    next_state, aux = system
    labels = largest_bisimulation(next_state, aux)
    first = [int(np.flatnonzero(labels == c)[0]) for c in range(labels.max() + 1)]
    assert first == sorted(first)  # numbered in order of first appearance
    for c in range(labels.max() + 1):
        members = labels == c
        assert len(set(aux[members].tolist())) == 1
        assert all(len(set(labels[next_state[members, a]].tolist())) == 1 for a in range(next_state.shape[1]))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n_blocks", [None, 3, 40])
def test_methods_agree_on_larger_random_systems(method, n_blocks):
    next_state, aux = random_system(2000, 3, rng=7, n_aux_values=2, n_blocks=n_blocks)
    reference = largest_bisimulation(next_state, aux, method="signature")
    assert np.array_equal(largest_bisimulation(next_state, aux, method=method), reference)
    if n_blocks is not None:
        assert reference.max() + 1 <= n_blocks


@pytest.mark.parametrize("method", METHODS)
def test_chain_is_discrete(method):
    labels = largest_bisimulation(*chain_system(3000, 2), method=method)
    assert np.array_equal(labels, np.arange(3000))


def test_constant_aux_gives_one_class():
    next_state, _ = random_system(500, 2, rng=0)
    assert not largest_bisimulation(next_state, np.full(500, 0.25)).any()


def test_vector_aux_and_bool_aux():
    next_state = np.array([[1], [0], [3], [2]])
    rows = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.5], [1.0, 0.5]])
    assert largest_bisimulation(next_state, rows).tolist() == [0, 0, 1, 1]
    assert largest_bisimulation(next_state, rows[:, 1] > 0).tolist() == [0, 0, 1, 1]


def test_torch_tensors_are_compared_by_value():
    torch = pytest.importorskip("torch")
    next_state = torch.tensor([[1], [0], [3], [2]])
    aux = torch.tensor([0.5, 0.5, 1.0, 1.0])
    assert largest_bisimulation(next_state, aux).tolist() == [0, 0, 1, 1]
    assert largest_bisimulation(next_state, list(aux)).tolist() == [0, 0, 1, 1]


def test_docstring_counting_example():
    k = np.arange(9)
    f = np.stack([np.maximum(k - 1, 0), np.minimum(k + 1, 8)], axis=1)
    assert np.array_equal(largest_bisimulation(f, k == 4), k)


@given(st.lists(st.integers(0, 4), max_size=12))
def test_count_separated_counts_the_pairs_of_separated_by(labels):
    assert count_separated(labels) == int(separated_by(np.array(labels, dtype=np.int64)).sum())


def test_separated_by_detects_a_broken_partition():
    """The notebook's agreement check fails when two classes are wrongly merged."""
    next_state, aux = chain_system(6)
    labels = largest_bisimulation(next_state, aux)
    broken = np.where(labels == 1, 0, labels)
    reference = least_fixed_point(next_state, aux)
    assert np.array_equal(separated_by(labels), reference)
    assert not np.array_equal(separated_by(broken), reference)
    assert not same_partition(broken, labels)


def test_bad_method():
    with pytest.raises(ParameterError, match="method == 'fast', must be one of"):
        largest_bisimulation([[0]], [0], method="fast")


@pytest.mark.parametrize(
    ("next_state", "aux", "error", "match"),
    [
        ([[0, 1]], [0], DataError, r"next_state\[0, 1\] == 1, must be in \[0, 1\)"),
        ([[True], [False]], [0, 0], DataError, "found dtype bool"),
        (np.zeros((0, 2), int), [], ShapeError, r"found \(0, 2\)"),
        ([[0], [1]], [0], ShapeError, r"aux: expected shape \(2,\)"),
        ([[0], [1]], ["x", "y", "z"], ShapeError, "aux: expected 2 values, found 3"),
        ([[0], [1]], 5, DataError, "aux == 5 of type int, must be a sequence"),
    ],
)
def test_bad_input(next_state, aux, error, match):
    with pytest.raises(error, match=match):
        largest_bisimulation(next_state, aux)
