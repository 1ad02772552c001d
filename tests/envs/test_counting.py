"""Tests of ltijepa.envs.counting: the pixel counting environment and its datasets."""

import numpy as np
import pytest

from ltijepa.envs import counting_mdp as cm
from ltijepa.envs.counting import (
    SHAPES,
    CountingEnv,
    make_probe,
    make_transitions,
    render,
    shape_stamp,
)
from ltijepa.errors import DataError, ParameterError, ShapeError

ENV = CountingEnv(size=32, radius=2)


def _object_pixels(frame: np.ndarray) -> np.ndarray:
    """Boolean (H, W): pixels that are not black."""
    return frame.any(axis=0)


def test_episode_keeps_shape_and_colour_and_moves_the_count():
    obs, episode = ENV.reset(rng=3)
    shape, colour = episode.shape, episode.colour.copy()
    counts = [episode.count]
    actions = np.random.default_rng(0).uniform(-1, 1, size=40)
    for a in actions:
        before = episode.count
        obs, reward, info = ENV.step(episode, a)
        expected = min(max(before + (1 if a >= 0 else -1), 0), 8)
        assert episode.count == info["count"] == expected
        assert reward == float(expected == 4) and info["reward_pre"] == float(before == 4)
        assert episode.shape == shape and np.array_equal(episode.colour, colour)
        pixels = obs[:, _object_pixels(obs)]
        assert np.all(pixels == colour[:, None])  # every object pixel has the episode's colour
        counts.append(episode.count)
    assert len(set(counts)) > 3


def test_clipping_at_zero_and_max_count():
    env = CountingEnv(size=32, radius=2)
    assert env.next_count(8, 0.5) == 8 and env.next_count(0, -0.2) == 0
    assert env.next_count(0, 0.0) == 1  # a = 0 is inc (sign split, ties to +1)
    np.testing.assert_array_equal(env.next_count(np.arange(9), -1.0), [0, 0, 1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(env.reward(np.arange(9)), np.arange(9) == 4)


def test_dynamics_agree_with_the_abstract_counting_mdp():
    mdp = cm.make_counting_mdp(cm.CountingConfig(n_appearances=3, layouts_per_count=2), rng=0)
    for column, sign in ((cm.DEC, -1.0), (cm.INC, 1.0)):
        np.testing.assert_array_equal(ENV.next_count(mdp.count, sign), mdp.count[mdp.next_state[:, column]])
    np.testing.assert_array_equal(ENV.reward(mdp.count), mdp.aux(ENV.target))
    assert SHAPES == cm.SHAPES


@pytest.mark.parametrize("shape", range(len(SHAPES)))
def test_rendered_frames_show_k_separate_objects(shape):
    n = 200
    rng = np.random.default_rng(shape)
    counts = rng.integers(0, 9, size=n)
    frames = render(counts, np.full(n, shape), np.full((n, 3), 120), size=32, radius=2, rng=rng)
    assert frames.shape == (n, 3, 32, 32) and frames.dtype == np.uint8
    area = shape_stamp(shape, 2).sum()
    lit = frames.any(axis=1).sum(axis=(1, 2))
    assert np.all(lit[counts == 0] == 0)
    if SHAPES[shape] == "circle":  # discs of radius r + 1/2 with centres >= 2r + 1 apart
        np.testing.assert_array_equal(lit, counts * area)
    # the other stamps reach into the corners of their square and may touch a neighbour
    assert np.all(lit <= counts * area) and np.all(lit >= 0.8 * counts * area)


def test_stamps_have_the_expected_sizes():
    assert [int(shape_stamp(s, 3).sum()) for s in range(4)] == [37, 49, 25, 19]
    triangle = shape_stamp(2, 3)
    assert triangle[0].sum() == 1 and triangle[-1].sum() == 7  # apex on top, base at the bottom


def test_transitions_are_episodes_of_the_environment():
    data = make_transitions(ENV, 300, 4, rng=1)
    assert len(data) == 1200 and data.frames.shape == (1500, 3, 32, 32)
    np.testing.assert_array_equal(data.next_count, ENV.next_count(data.count, data.actions))
    np.testing.assert_array_equal(data.reward_pre, data.count == 4)
    assert set(np.unique(data.actions)) == {-1.0, 1.0}
    np.testing.assert_array_equal(data.shapes[data.src], data.shapes[data.dst])
    np.testing.assert_array_equal(data.colours[data.src], data.colours[data.dst])
    chained = data.dst.reshape(300, 4)[:, :-1] == data.src.reshape(300, 4)[:, 1:]
    assert chained.all()  # within an episode o_{t+1} of one step is o_t of the next
    lit = data.frames.any(axis=1).sum(axis=(1, 2))
    assert np.all((lit == 0) == (data.counts == 0))
    frequencies = np.bincount(data.count, minlength=9) / len(data)
    assert np.all(np.abs(frequencies - 1 / 9) < 0.03)  # the clipped walk keeps counts uniform


def test_datasets_are_reproducible_from_the_seed():
    a, b = make_transitions(ENV, 20, 3, rng=7), make_transitions(ENV, 20, 3, rng=7)
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.actions, b.actions)
    c = make_transitions(ENV, 20, 3, rng=8)
    assert not np.array_equal(a.frames, c.frames)


def test_as_tuples_feeds_the_empirical_bisimulation():
    data = make_transitions(ENV, 5, 2, rng=0)
    rows = data.as_tuples()
    assert rows[0] == (0, int(data.actions[0]), 1, float(data.count[0] == 4))
    assert len(rows) == 10 and all(len(r) == 4 for r in rows)


def test_probe_counts_cover_all_counts():
    frames, counts = make_probe(ENV, 256, rng=0)
    assert frames.shape == (256, 3, 32, 32)
    assert set(counts.tolist()) == set(range(9))
    np.testing.assert_array_equal(frames.any(axis=1).any(axis=(1, 2)), counts > 0)


def test_bad_arguments_raise_with_the_value():
    with pytest.raises(ParameterError, match="target == 9, must be an integer in \\[0, 8\\]"):
        CountingEnv(size=32, radius=2, target=9)
    with pytest.raises(ParameterError, match="radius == 0, must be an integer >= 1"):
        CountingEnv(size=32, radius=0)
    with pytest.raises(ParameterError, match="cannot be kept apart"):
        CountingEnv(size=12, radius=2)
    with pytest.raises(ParameterError, match="action == nan"):
        ENV.step(ENV.reset(rng=0)[1], float("nan"))
    with pytest.raises(ParameterError, match="n_episodes == 0"):
        make_transitions(ENV, 0, 4, rng=0)
    with pytest.raises(ParameterError, match="episode_length == 2.5, must be an integer"):
        make_transitions(ENV, 3, 2.5, rng=0)
    with pytest.raises(ShapeError, match="colours \\(B, 3\\)"):
        render(np.array([1, 2]), np.array([0, 0]), np.zeros((2, 4)), size=32, radius=2, rng=0)
    with pytest.raises(DataError, match="colours contains 300"):
        render(np.array([1]), np.array([0]), np.array([[300, 0, 0]]), size=32, radius=2, rng=0)
    with pytest.raises(DataError, match="shapes contains 4"):
        render(np.array([1]), np.array([4]), np.zeros((1, 3)), size=32, radius=2, rng=0)
    with pytest.raises(DataError, match="counts contains -1"):
        render(np.array([-1]), np.array([0]), np.zeros((1, 3)), size=32, radius=2, rng=0)
    with pytest.raises(ParameterError, match="max_steps == 2, must be an integer >= 3"):
        make_probe(ENV, 10, rng=0, min_steps=3, max_steps=2)
