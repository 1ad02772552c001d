"""Tests of ltijepa.jepa.tabular: Thm. 1 and Thm. 3 for lookup-table encoders, exhaustively."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltijepa.bisim import empirical_bisimulation, largest_bisimulation, least_fixed_point
from ltijepa.envs import counting_mdp as cm
from ltijepa.errors import DataError, ShapeError
from ltijepa.jepa.tabular import (
    Violation,
    dataset_merge_violations,
    dataset_violation,
    merge_violations,
    tabular_model,
    violation,
    well_trained_labellings,
)
from ltijepa.testing.bisim import datasets, deterministic_systems

# counts 0..3, actions (dec, inc), p = 1{k = 2}: one observation per count
COUNT4 = np.array([[0, 1], [0, 2], [1, 3], [2, 3]])
AUX4 = np.array([0, 0, 1, 0])


def _separates(labels, relation) -> bool:
    i, j = np.nonzero(relation)
    return bool(np.all(labels[i] != labels[j]))


@settings(max_examples=40)
@given(deterministic_systems(max_states=7, max_actions=2, max_aux_values=2))
def test_theorem_1_every_well_trained_tabular_model_separates_r_star(system):
    """All Bell(n) labellings enumerated: the well-trained ones never merge a pair of R*,
    and the classes of B* are well-trained (the coarsest such model)."""
    next_state, aux = system
    r_star = least_fixed_point(next_state, aux)
    b_star = largest_bisimulation(next_state, aux)
    found = list(well_trained_labellings(next_state, aux))
    assert all(_separates(labels, r_star) for labels in found)
    assert min(len(set(labels.tolist())) for labels in found) == b_star.max() + 1
    assert any(np.array_equal(labels, b_star) for labels in found)
    assert violation(next_state, aux, b_star) is None


@settings(max_examples=40)
@given(deterministic_systems(max_states=10, max_actions=3, max_aux_values=3))
def test_merging_two_bisimulation_classes_breaks_t_or_p(system):
    next_state, aux = system
    b_star = largest_bisimulation(next_state, aux)
    model = tabular_model(next_state, aux, b_star)
    np.testing.assert_array_equal(model.transition[model.encoder], model.encoder[next_state])
    np.testing.assert_array_equal(model.aux[model.encoder], aux)
    merges = merge_violations(next_state, aux, b_star)
    assert len(merges) == (b_star.max() + 1) * b_star.max() // 2
    assert all(isinstance(v, Violation) and v.kind in ("T", "P") for v in merges.values())


def test_the_check_fails_on_a_broken_bisimulation():
    """The theorem check must be able to fail: feed it partitions that are not bisimulations."""
    b_star = largest_bisimulation(COUNT4, AUX4)
    np.testing.assert_array_equal(b_star, [0, 1, 2, 3])
    assert violation(COUNT4, AUX4, [0, 0, 2, 3]) == Violation("T", 0, 1, 1)
    assert violation(COUNT4, AUX4, [0, 1, 1, 3]) == Violation("P", 1, 2, None)
    constant_aux_classes = largest_bisimulation(COUNT4, np.zeros(4))  # the wrong p: one class
    with pytest.raises(DataError, match="observations 1 and 2 share a latent but their auxiliary values differ") as info:
        tabular_model(COUNT4, AUX4, constant_aux_classes)
    assert (info.value.name, info.value.index) == ("labels", (1, 2))


def test_counting_mdp_nine_classes_and_36_broken_merges():
    mdp = cm.make_counting_mdp(cm.CountingConfig(n_appearances=3, layouts_per_count=3), rng=0)
    labels = largest_bisimulation(mdp.next_state, mdp.aux(4))
    model = tabular_model(mdp.next_state, mdp.aux(4), labels)
    assert model.transition.shape == (9, 2)
    np.testing.assert_array_equal(np.unique(mdp.count[model.encoder == model.encoder[0]]), [mdp.count[0]])
    merges = merge_violations(mdp.next_state, mdp.aux(4), labels)
    assert len(merges) == 36 and all(v is not None for v in merges.values())


def _labellings(items):
    """Every partition of ``items`` as a dict item -> block index (restricted growth)."""
    if not items:
        yield {}
        return
    first, rest = items[0], items[1:]
    for partial in _labellings(rest):
        blocks = sorted(set(partial.values()))
        for b in blocks + [len(blocks)]:
            yield {first: b, **partial}


@settings(max_examples=40)
@given(datasets(max_states=6, max_actions=2, max_aux_values=2))
def test_theorem_3_every_model_well_trained_on_d_separates_r_d_star(case):
    next_state, aux, transitions = case
    nodes = sorted({o for t in transitions for o in (t[0], t[2])})
    emp = empirical_bisimulation(transitions)
    index = {o: i for i, o in enumerate(emp.observations)}
    pairs = [(x, y) for x in emp.observations for y in emp.observations if emp.separated[index[x], index[y]]]
    consistent = [lab for lab in _labellings(nodes) if dataset_violation(transitions, lab) is None]
    assert consistent  # one latent per observation is always well-trained
    for lab in consistent:
        assert all(lab[x] != lab[y] for x, y in pairs)
    truth = {o: int(c) for o, c in enumerate(largest_bisimulation(next_state, aux))}
    assert dataset_violation(transitions, truth) is None  # soundness: R_D* is inside R*


def test_dataset_checks_find_violations():
    rows = [("x", "c", "s", 0), ("y", "c", "t", 0), ("s", "c", "s", 0), ("t", "c", "t", 1)]
    labels = {"x": 0, "y": 1, "s": 2, "t": 3}
    assert dataset_violation(rows, labels) is None
    assert dataset_violation(rows, {**labels, "y": 0}) == Violation("T", "x", "y", "c")
    assert dataset_violation(rows, {**labels, "t": 2}) == Violation("P", "s", "t", None)
    merges = dataset_merge_violations(rows, labels)
    assert len(merges) == 6 and merges[(0, 1)].kind == "T" and merges[(2, 3)].kind == "P"


def test_errors():
    with pytest.raises(ShapeError, match=r"expected next_state \(n, \|A\|\), aux \(n,\) and labels \(n,\)"):
        violation(COUNT4, AUX4, [0, 1])
    with pytest.raises(DataError, match=r"next_state\[0, 0\] == 7, must be in \[0, 1\)"):
        violation([[7]], [0], [0])
    with pytest.raises(ShapeError, match="n == 11 states, must be <= MAX_ENUMERATED_STATES"):
        next(well_trained_labellings(np.zeros((11, 1), dtype=int), np.zeros(11)))
    with pytest.raises(DataError, match="observation 's' of the dataset has no label"):
        dataset_violation([("x", 0, "s", 0)], {"x": 0})
    with pytest.raises(ShapeError, match="found an element of length 3"):
        dataset_violation([("x", 0, "s")], {"x": 0, "s": 1})
