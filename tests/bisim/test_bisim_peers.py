"""Cross-checks against the peer libraries BisPy (Paige–Tarjan) and automata-lib (Hopcroft)."""

import numpy as np
from hypothesis import given, settings

from ltijepa.bisim import largest_bisimulation
from ltijepa.bisim.systems import random_system
from ltijepa.testing.bisim import automata_partition, bispy_partition, deterministic_systems


@settings(max_examples=40)
@given(deterministic_systems(max_states=14))
def test_bispy_agrees(system):
    assert np.array_equal(largest_bisimulation(*system), bispy_partition(*system))


@settings(max_examples=40)
@given(deterministic_systems(max_states=14))
def test_automata_lib_agrees(system):
    assert np.array_equal(largest_bisimulation(*system), automata_partition(*system))


def test_peers_agree_on_a_larger_lifted_system():
    system = random_system(400, 3, rng=2, n_aux_values=3, n_blocks=60)
    labels = largest_bisimulation(*system)
    assert labels.max() + 1 > 1
    assert np.array_equal(labels, bispy_partition(*system))
    assert np.array_equal(labels, automata_partition(*system))
