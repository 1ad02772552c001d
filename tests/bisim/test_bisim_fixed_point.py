"""Tests of ltijepa.bisim.least_fixed_point: Def. 1 as a Kleene iteration."""

import itertools

import numpy as np
import pytest
from hypothesis import given

from ltijepa.bisim import (
    MAX_FIXED_POINT_STATES,
    least_fixed_point,
)
from ltijepa.bisim.systems import chain_system
from ltijepa.errors import DataError, ParameterError, ShapeError
from ltijepa.testing.bisim import deterministic_systems


def shortest_separating_word(next_state, aux, o, o_prime, max_length):
    """Brute force: the length of the shortest word w with p(f*(o, w)) != p(f*(o', w))."""
    n_actions = next_state.shape[1]
    for length in range(max_length + 1):
        for word in itertools.product(range(n_actions), repeat=length):
            x, y = o, o_prime
            for a in word:
                x, y = next_state[x, a], next_state[y, a]
            if aux[x] != aux[y]:
                return length
    return None


def apply_F(relation, next_state, aux):
    """Def. 1's operator F, written pair by pair."""
    n = len(aux)
    out = np.zeros_like(relation)
    for o, o2 in itertools.product(range(n), repeat=2):
        out[o, o2] = aux[o] != aux[o2] or any(
            relation[next_state[o, a], next_state[o2, a]] for a in range(next_state.shape[1])
        )
    return out


def test_docstring_chain():
    separated, rounds = least_fixed_point([[1], [2], [2]], [0, 0, 1], return_rounds=True)
    assert rounds.tolist() == [[0, 2, 1], [2, 0, 1], [1, 1, 0]]
    assert separated.tolist() == (rounds > 0).tolist()


def test_chain_needs_n_minus_one_rounds():
    separated, rounds = least_fixed_point(*chain_system(40, 2), return_rounds=True)
    assert rounds.max() == 39
    assert separated.sum() == 40 * 39


@given(deterministic_systems(max_states=7, max_actions=2))
def test_rounds_are_shortest_separating_words_plus_one(system):
    next_state, aux = system
    n = len(aux)
    separated, rounds = least_fixed_point(next_state, aux, return_rounds=True)
    for o, o2 in itertools.product(range(n), repeat=2):
        length = shortest_separating_word(next_state, aux, o, o2, max_length=n)
        assert rounds[o, o2] == (0 if length is None else length + 1)
        assert separated[o, o2] == (length is not None)


@given(deterministic_systems(max_states=8))
def test_result_is_a_fixed_point_symmetric_with_empty_diagonal(system):
    next_state, aux = system
    separated = least_fixed_point(next_state, aux)
    assert np.array_equal(apply_F(separated, next_state, aux), separated)
    assert np.array_equal(separated, separated.T)
    assert not separated.diagonal().any()


def test_vector_and_hashable_aux():
    next_state = np.array([[1], [2], [0]])
    vector = least_fixed_point(next_state, np.array([[0, 1], [0, 1], [1, 1]]))
    strings = least_fixed_point(next_state, ["a", "a", "b"])
    assert np.array_equal(vector, strings)
    assert vector.sum() == 6  # on the cycle 0 -> 1 -> 2 -> 0 every pair is separated


def test_constant_aux_separates_nothing():
    assert not least_fixed_point(np.array([[1, 0], [0, 1]]), [3, 3]).any()


def test_too_many_states_names_the_fast_function():
    n = MAX_FIXED_POINT_STATES + 1
    with pytest.raises(ParameterError, match=f"n == {n} states.*largest_bisimulation"):
        least_fixed_point(np.zeros((n, 1), dtype=int), np.zeros(n))


@pytest.mark.parametrize(
    ("next_state", "aux", "error", "match"),
    [
        ([0, 1], [0, 0], ShapeError, r"expected shape \(n, n_actions\).*found \(2,\)"),
        (np.zeros((2, 0), int), [0, 0], ShapeError, r"found \(2, 0\)"),
        ([[0], [2]], [0, 0], DataError, r"next_state\[1, 0\] == 2, must be in \[0, 2\)"),
        ([[0], [-1]], [0, 0], DataError, r"next_state\[1, 0\] == -1"),
        ([[0.0], [1.0]], [0, 0], DataError, "must hold integer state indices, found dtype float64"),
        ([[0], [1]], [0, 0, 1], ShapeError, r"aux: expected shape \(2,\) or \(2, d\), found \(3,\)"),
        ([[0], [1]], [0.0, np.nan], DataError, r"aux\[1\] == .*nan.*must not be NaN"),
        ([[0], [1]], ["a", ["b"]], DataError, r"aux\[1\] == \['b'\] of type list, must be hashable"),
    ],
)
def test_bad_input(next_state, aux, error, match):
    with pytest.raises(error, match=match):
        least_fixed_point(next_state, aux)
