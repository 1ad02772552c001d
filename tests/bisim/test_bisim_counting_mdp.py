"""Tests of the largest bisimulation on the counting MDP of ltijepa.envs.counting_mdp
(Prop. 1, Prop. 2 and Cor. 1 of Yu et al. 2025, Appendix C)."""

import numpy as np
import pytest

from ltijepa.bisim import empirical_bisimulation, largest_bisimulation, least_fixed_point
from ltijepa.bisim.relations import same_partition
from ltijepa.envs import counting_mdp as cm

CONFIG = cm.CountingConfig(n_appearances=4, layouts_per_count=5)


@pytest.fixture(scope="module")
def mdp():
    return cm.make_counting_mdp(CONFIG, rng=0)


@pytest.mark.parametrize("target", range(9))
def test_largest_bisimulation_is_the_count(mdp, target):
    """Prop. 2 and Cor. 1: nine classes, the object counts, for every target."""
    labels = largest_bisimulation(mdp.next_state, mdp.aux(target))
    assert same_partition(labels, mdp.count)


def test_constant_aux_collapses_everything(mdp):
    assert largest_bisimulation(mdp.next_state, np.zeros(mdp.n_states)).max() == 0


@pytest.mark.parametrize("target", [0, 4, 8])
def test_separation_rounds_match_the_prediction(mdp, target):
    _, rounds = least_fixed_point(mdp.next_state, mdp.aux(target), return_rounds=True)
    predicted = cm.separation_round(mdp.count[:, None], mdp.count[None, :], target)
    assert np.array_equal(rounds, predicted)


def test_separation_round_check_fails_on_the_papers_steering():
    """Steering by o (step 1 of the proof of Prop. 2) instead of by the closer state
    predicts different rounds, and the check against the fixed point catches it."""
    small = cm.make_counting_mdp(cm.CountingConfig(1, 1), rng=0)
    _, rounds = least_fixed_point(small.next_state, small.aux(4), return_rounds=True)
    k = small.count
    steer_by_o = np.where(k[:, None] != k[None, :], 1 + np.abs(k[:, None] - 4), 0)
    assert not np.array_equal(rounds, steer_by_o)
    assert np.array_equal(rounds, cm.separation_round(k[:, None], k[None, :], 4))


def test_full_dataset_gives_the_count_partition(mdp):
    result = empirical_bisimulation(mdp.transitions(target=4))
    counts = mdp.count[np.array(result.observations)]
    assert np.array_equal(result.separated, counts[:, None] != counts[None, :])
