"""Tests of ltijepa.bisim.empirical_largest_bisimulation: Def. 4 and the remarks after Thm. 3."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltijepa.bisim import (
    empirical_bisimulation,
    empirical_largest_bisimulation,
    least_fixed_point,
)
from ltijepa.bisim.relations import first_shrink
from ltijepa.errors import DataError, ParameterError
from ltijepa.testing.bisim import datasets

#: The smallest non-transitive example (the chapter's): 4 sources, 4 transitions, 2 actions.
NON_TRANSITIVE = [("x", "c", "t", 0), ("z", "c", "z", 0), ("y", "d", "y", 0), ("t", "d", "t", 1)]


def kleene_def4(transitions):
    """Def. 4 literally: iterate F_D from the empty relation until it stops growing."""
    succ = {(o, a): o2 for o, a, o2, _ in transitions}
    aux = {o: p for o, _, _, p in transitions}
    sources = list(aux)
    actions = {o: {a for (x, a) in succ if x == o} for o in sources}
    relation: set = set()
    while True:
        new = {
            (x, y)
            for x in sources
            for y in sources
            if aux[x] != aux[y]
            or any((succ[x, a], succ[y, a]) in relation for a in actions[x] & actions[y])
        }
        if new == relation:
            return relation
        relation = new


@given(datasets(max_states=9))
def test_equals_kleene_iteration_of_def4(data):
    _, _, transitions = data
    assert empirical_largest_bisimulation(transitions) == kleene_def4(transitions)


@given(datasets(max_states=9))
def test_sound_subset_of_true_separation(data):
    """R_D* ⊆ R*: data of a total system never separates truly bisimilar states."""
    next_state, aux, transitions = data
    separated = least_fixed_point(next_state, aux)
    assert all(separated[x, y] for x, y in empirical_largest_bisimulation(transitions))


@given(datasets(max_states=9))
def test_all_transitions_recover_the_largest_bisimulation(data):
    next_state, aux, _ = data
    n, k = next_state.shape
    full = [(o, a, int(next_state[o, a]), int(aux[o])) for o in range(n) for a in range(k)]
    result = empirical_bisimulation(full)
    order = np.array(result.observations)
    expected = least_fixed_point(next_state, aux)[np.ix_(order, order)]
    assert np.array_equal(result.separated, expected)


@given(datasets(max_states=9), st.data())
def test_adding_data_never_shrinks(data, draw):
    _, _, transitions = data
    cuts = sorted(draw.draw(st.lists(st.integers(0, len(transitions)), max_size=4)))
    relations = [empirical_largest_bisimulation(transitions[:c]) for c in cuts + [len(transitions)]]
    assert first_shrink(relations) is None


def test_first_shrink_detects_a_shrinking_sequence():
    """The notebook's monotonicity check fails when data is removed instead of added."""
    grown = empirical_largest_bisimulation(NON_TRANSITIVE)
    fewer = empirical_largest_bisimulation(NON_TRANSITIVE[:1] + NON_TRANSITIVE[2:])
    assert first_shrink([fewer, grown]) is None
    assert first_shrink([grown, fewer]) == 1


def test_smallest_non_transitive_example():
    result = empirical_bisimulation(NON_TRANSITIVE)
    pairs = result.pairs()
    assert ("x", "z") in pairs and ("x", "y") not in pairs and ("y", "z") not in pairs
    x, y, z = result.transitivity_violation()
    assert (x, z) in pairs and (x, y) not in pairs and (y, z) not in pairs


def test_maximal_collapses_of_the_non_transitive_example():
    collapses = empirical_bisimulation(NON_TRANSITIVE).maximal_collapses()
    as_sets = {frozenset(frozenset(c) for c in p) for p in collapses}
    assert as_sets == {
        frozenset({frozenset("xy"), frozenset("z"), frozenset("t")}),
        frozenset({frozenset("x"), frozenset("yz"), frozenset("t")}),
    }


@given(datasets(max_states=7))
def test_maximal_collapses_are_unique_when_transitive(data):
    result = empirical_bisimulation(data[2])
    collapses = result.maximal_collapses()
    if result.transitivity_violation() is None:
        assert len(collapses) == 1
        [partition] = collapses
        index = {o: i for i, c in enumerate(partition) for o in c}
        labels = np.array([index[o] for o in result.observations])
        assert np.array_equal(labels[:, None] != labels[None, :], result.separated)
    else:
        assert len(collapses) >= 2


def test_maximal_collapses_refuse_many_sources():
    data = [(i, "a", i, 0) for i in range(11)]
    with pytest.raises(ParameterError, match="n_D == 11 sources, must be <= MAX_ENUMERATED_SOURCES == 10"):
        empirical_bisimulation(data).maximal_collapses()


def test_transitive_relation_has_no_violation():
    assert empirical_bisimulation(NON_TRANSITIVE[1:]).transitivity_violation() is None


def test_three_transitions_are_always_transitive():
    """Exhaustive: every deterministic dataset of three transitions has a transitive B_D*.

    A violation needs three sources, hence one transition each; actions up to renaming are
    drawn from three names, a successor outside O_D is represented by "w".
    """
    import itertools

    sources = ("x", "y", "z")
    for actions in itertools.product("cde", repeat=3):
        for successors in itertools.product("xyzw", repeat=3):
            for aux in itertools.product((0, 1), repeat=3):
                data = list(zip(sources, actions, successors, aux))
                assert empirical_bisimulation(data).transitivity_violation() is None


def test_one_action_needs_a_successor_outside_the_sources():
    """Exhaustive: four sources with one action each, all successors among the sources,
    always give a transitive B_D* (so the one-action example needs a fifth observation)."""
    import itertools

    sources = ("x", "y", "z", "t")
    for successors in itertools.product(sources, repeat=4):
        for aux in itertools.product((0, 1), repeat=4):
            data = list(zip(sources, "cccc", successors, aux))
            assert empirical_bisimulation(data).transitivity_violation() is None


def test_docstring_example_and_successors_outside_sources():
    data = [("x", "c", "s", 0), ("y", "c", "t", 0), ("s", "c", "s", 0), ("t", "c", "t", 1)]
    assert sorted(empirical_largest_bisimulation(data))[:4] == [
        ("s", "t"), ("s", "y"), ("t", "s"), ("t", "x"),
    ]
    # without the sources s and t, nothing certifies that x and y differ
    assert empirical_largest_bisimulation(data[:2]) == set()


def test_array_aux_values_and_duplicates():
    data = [(0, "a", 1, np.array([1.0, 2.0])), (1, "a", 0, np.array([1.0, 3.0]))] * 2
    assert empirical_largest_bisimulation(data) == {(0, 1), (1, 0)}


def test_numpy_scalars_compare_as_python_numbers():
    data = [(np.int64(0), "a", 1, np.float64(1.0)), (0, "b", 2, 1), (1, "a", 1, np.array(0))]
    assert empirical_largest_bisimulation(data) == {(0, 1), (1, 0)}


def test_empty_dataset():
    result = empirical_bisimulation([])
    assert result.observations == () and result.n_separated == 0 and result.pairs() == set()


def test_two_successors_raise_naming_observation_and_action():
    data = [("o1", "inc", "o2", 0), ("o1", "inc", "o3", 0)]
    with pytest.raises(DataError, match="observation 'o1' under action 'inc' has two successors") as info:
        empirical_largest_bisimulation(data)
    assert info.value.index == ("o1", "inc")


def test_two_aux_values_raise_naming_observation():
    data = [("o1", "inc", "o2", 0), ("o1", "dec", "o3", 1)]
    with pytest.raises(DataError, match="observation 'o1' has two auxiliary values.*0 and 1") as info:
        empirical_largest_bisimulation(data)
    assert info.value.index == ("o1", None)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ([("o", "a", "o")], r"transitions\[0\] == \('o', 'a', 'o'\), must be a tuple \(o, a, o_next, p\)"),
        ([["o", "a", "o", 0]], r"transitions\[0\] == \['o', 'a', 'o', 0\], must be a tuple"),
        ([(["o"], "a", "o", 0)], r"transitions\[0\]: o == \['o'\] of type list, must be a hashable identifier"),
        ([(0, "a", np.array([1]), 0)], r"transitions\[0\]: o_next == array\(\[1\]\) of type ndarray, must be"),
        ([("o", "a", {}, 0)], r"transitions\[0\]: o_next == \{\} of type dict, must be a hashable"),
        ([("o", "a", "o", float("nan"))], r"transitions\[0\]: p == nan, must not be NaN"),
        ([("o", "a", "o", np.array([np.nan]))], r"transitions\[0\]: p == .*must not contain NaN"),
        ([("o", "a", "o", [1])], r"transitions\[0\]: p == \[1\] of type list, must be hashable"),
        ([("o", "a", "o", 0), ("q", "a", "o", (1.0, float("nan")))], r"transitions\[1\]: p\[1\] == nan, must not be NaN"),
        ([("o", "a", "o", (1, (2, (float("nan"),))))], r"transitions\[0\]: p\[1\]\[1\]\[0\] == nan, must not be NaN"),
        ([("o", "a", "o", ("label", np.array([0.0, np.nan])))], r"transitions\[0\]: p\[1\] == array\(.*must not contain NaN"),
        ([("o", "a", "o", complex("nan"))], r"transitions\[0\]: p == \(nan\+0j\), must not be NaN"),
        ([("o", "a", "o", np.array([1, float("nan")], dtype=object))], r"transitions\[0\]: p\[1\] == nan, must not be NaN"),
        ([("o", "a", "o", frozenset({float("nan")}))], r"transitions\[0\]: an element of p == nan, must not be NaN"),
        ([("o", "a", "o", (1, [2]))], r"transitions\[0\]: p\[1\] == \[2\] of type list, must be hashable"),
    ],
)
def test_bad_input(data, match):
    with pytest.raises(DataError, match=match) as info:
        empirical_largest_bisimulation(data)
    assert info.value.name == "transitions" and isinstance(info.value.index, int)


def test_tuples_and_arrays_inside_tuples_compare_by_value():
    """Issue 13, item 10: tuples are keyed element by element, so arrays inside them work too."""
    data = [("x", "c", "x", (1, np.array([0.0, 1.0]))), ("y", "c", "y", (1, np.array([0.0, 1.0]))),
            ("z", "c", "z", (1, np.array([0.0, 2.0])))]
    assert empirical_largest_bisimulation(data) == {("x", "z"), ("z", "x"), ("y", "z"), ("z", "y")}
    plain = [("x", "c", "x", ("a", 1)), ("y", "c", "y", ("a", 1.0)), ("z", "c", "z", ("a", 2))]
    assert empirical_largest_bisimulation(plain) == {("x", "z"), ("z", "x"), ("y", "z"), ("z", "y")}
