"""Tests of ltijepa.bisim.systems: the random and chain systems and dataset sampling."""

import numpy as np
import pytest

from ltijepa.bisim import largest_bisimulation, least_fixed_point
from ltijepa.bisim.systems import chain_system, random_system, sample_dataset
from ltijepa.errors import DataError, ParameterError, ShapeError


def test_random_system_is_seeded_and_in_range():
    f, p = random_system(50, 3, rng=4, n_aux_values=3)
    g, q = random_system(50, 3, rng=np.random.default_rng(4), n_aux_values=3)
    assert np.array_equal(f, g) and np.array_equal(p, q)
    assert f.shape == (50, 3) and f.min() >= 0 and f.max() < 50 and set(p.tolist()) <= {0, 1, 2}


@pytest.mark.parametrize("n_blocks", [1, 5, 60])
def test_lift_has_at_most_n_blocks_classes(n_blocks):
    f, p = random_system(60, 2, rng=1, n_blocks=n_blocks)
    assert largest_bisimulation(f, p).max() + 1 <= n_blocks


def test_chain_needs_n_minus_one_rounds():
    _, rounds = least_fixed_point(*chain_system(25, 3), return_rounds=True)
    assert rounds.max() == 24


def test_sample_dataset_prefixes_are_nested_datasets():
    f, p = random_system(30, 2, rng=0)
    data = sample_dataset(f, p, 40, rng=3)
    assert data[:10] == sample_dataset(f, p, 40, rng=3)[:10]
    assert all(f[o, a] == s and p[o] == v for o, a, s, v in data)


def test_sample_dataset_without_replacement_is_all_transitions():
    f, p = random_system(10, 2, rng=0)
    data = sample_dataset(f, p, 20, rng=0, replace=False)
    assert len(set(data)) == 20


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: random_system(0, 2, rng=0), ParameterError, "n_states == 0, must be an integer >= 1"),
        (lambda: random_system(5, 2.0, rng=0), ParameterError, "n_actions == 2.0, must be an integer"),
        (lambda: random_system(5, 2, rng=0, n_blocks=6), ParameterError, "n_blocks == 6, must be <= n_states == 5"),
        (lambda: chain_system(3, 0), ParameterError, "n_actions == 0, must be an integer >= 1"),
        (lambda: sample_dataset([[0]], [0], -1, rng=0), ParameterError, "n_transitions == -1, must be an integer >= 0"),
        (lambda: sample_dataset([[0]], [0], 2, rng=0, replace=False), ParameterError, "must be <= n \\* n_actions == 1"),
        (lambda: sample_dataset([[0], [2]], [0, 0], 1, rng=0), DataError, r"next_state\[1, 0\] == 2"),
        (lambda: sample_dataset([[0]], [0, 1], 1, rng=0), ShapeError, "aux: expected shape"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
