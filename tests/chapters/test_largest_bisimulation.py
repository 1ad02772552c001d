"""Tests of ltijepa.chapters.largest_bisimulation: the chapter's experiments at a tiny size."""

import numpy as np
import pytest

from ltijepa.bisim import largest_bisimulation
from ltijepa.chapters.largest_bisimulation import Config, empirical_growth, fast_vs_fixed_point
from ltijepa.bisim.systems import random_system
from ltijepa.envs.counting_mdp import make_counting_mdp
from ltijepa.errors import ParameterError


def test_profiles():
    ci, full = Config.for_profile("ci"), Config.for_profile("full")
    assert full.counting.n_states >= 10_000 and full.n_random_systems >= 200
    assert ci.counting.n_states < 2000 and ci.counting.n_states < full.counting.n_states
    # the sizes CountingConfig.for_profile gave before profiles left the library
    assert (ci.counting.n_appearances, ci.counting.layouts_per_count) == (12, 10)
    assert (full.counting.n_appearances, full.counting.layouts_per_count) == (64, 20)
    with pytest.raises(ParameterError, match="profile == 'fast'"):
        Config.for_profile("fast")


def test_fast_vs_fixed_point_small():
    result = fast_vs_fixed_point(12, 20, rng=0)
    assert result.agrees.shape == (12, 3) and result.all_agree
    assert result.n_states.max() <= 20 and (result.n_classes <= result.n_states).all()


def test_empirical_growth_on_counting():
    mdp = make_counting_mdp(Config.for_profile("ci").rounds_counting, rng=0)
    growth = empirical_growth(mdp.next_state, mdp.aux(4), 6, rng=1)
    assert growth.first_shrink is None and growth.sound
    assert np.all(np.diff(growth.n_separated) >= 0)
    assert growth.n_transitions[-1] == 2 * mdp.n_states
    assert growth.n_separated[-1] == growth.n_truly_separated[-1]  # all data: R_D* = R*
    assert (growth.n_separated <= growth.n_truly_separated).all()


def test_empirical_growth_flags_a_broken_implementation(monkeypatch):
    """The chapter's checks fail for an R_D* that separates bisimilar states or shrinks."""
    import ltijepa.chapters.largest_bisimulation as experiments

    next_state, aux = random_system(30, 2, rng=3, n_blocks=3)
    assert largest_bisimulation(next_state, aux).max() < 3  # many bisimilar pairs

    def everything(data):  # separates every pair of sources: unsound
        sources = {o for o, _, _, _ in data}
        return {(x, y) for x in sources for y in sources if x != y}

    monkeypatch.setattr(experiments, "empirical_largest_bisimulation", everything)
    assert not empirical_growth(next_state, aux, 4, rng=0).sound

    def forgetful(data):  # keeps only the pairs of the last 10 transitions: shrinks
        return everything(data[-10:])

    monkeypatch.setattr(experiments, "empirical_largest_bisimulation", forgetful)
    assert empirical_growth(next_state, aux, 6, rng=0).first_shrink is not None
