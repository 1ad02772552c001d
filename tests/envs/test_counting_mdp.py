"""Tests of ltijepa.envs.counting_mdp: the counting environment as a deterministic MDP (the MDP
itself; the largest bisimulation on it is tested in tests/bisim/test_bisim_counting_mdp.py)."""

import numpy as np
import pytest

from ltijepa.envs import counting_mdp as cm
from ltijepa.errors import DataError, ParameterError

CONFIG = cm.CountingConfig(n_appearances=4, layouts_per_count=5)


@pytest.fixture(scope="module")
def mdp():
    return cm.make_counting_mdp(CONFIG, rng=0)


def test_sizes():
    assert CONFIG.n_states == 4 * 41
    assert not hasattr(cm.CountingConfig, "for_profile")  # profile sizes live in chapters/


def test_dynamics_of_appendix_c(mdp):
    k = mdp.count
    assert np.array_equal(k[mdp.next_state[:, cm.INC]], np.minimum(k + 1, 8))
    assert np.array_equal(k[mdp.next_state[:, cm.DEC]], np.maximum(k - 1, 0))
    for column in (cm.DEC, cm.INC):  # shape and colour are kept
        assert np.array_equal(mdp.appearance[mdp.next_state[:, column]], mdp.appearance)
    empty = np.flatnonzero(k == 0)
    assert np.array_equal(mdp.next_state[empty, cm.DEC], empty)  # dec at 0: the same frame
    assert len(set(mdp.next_state[k == 8, cm.INC].tolist())) > 1  # inc at 8: frames redrawn


def test_states_and_indices(mdp):
    assert mdp.n_states == CONFIG.n_states
    for g, k, layout in [(0, 0, 0), (3, 8, 4), (2, 5, 1)]:
        i = mdp.state_index(g, k, layout)
        assert (mdp.appearance[i], mdp.count[i]) == (g, k)
    assert len(set(zip(mdp.shape.tolist(), map(tuple, mdp.colour.tolist()), mdp.appearance.tolist()))) == 4
    lo, hi = cm.COLOUR_RANGE
    assert mdp.colour.min() >= lo and mdp.colour.max() < hi


def test_positions(mdp):
    used = np.arange(8)[None, :] < mdp.count[:, None]
    assert np.all(mdp.positions[~used] == -1)
    xy = mdp.positions[used]
    assert xy.min() >= 3 and xy.max() < 61
    # centres are kept 2r + 1 = 7 apart unless 50 tries failed (rare with <= 8 objects)
    close = 0
    for i in np.flatnonzero(mdp.count >= 2):
        c = mdp.positions[i, : mdp.count[i]]
        d2 = ((c[:, None] - c[None, :]) ** 2).sum(-1)
        close += int((d2[np.triu_indices(len(c), 1)] < 49).sum())
    assert close == 0


def test_seeded(mdp):
    again = cm.make_counting_mdp(CONFIG, rng=np.random.default_rng(0))
    assert np.array_equal(again.positions, mdp.positions)
    assert np.array_equal(again.next_state, mdp.next_state)


def test_frame_features_show_what_the_frame_shows(mdp):
    features = mdp.frame_features()
    assert features.shape == (mdp.n_states, 4 + 3 + 16)
    assert not features[mdp.count == 0].any()  # every empty frame is the same black image
    i = mdp.state_index(2, 5, 3)
    assert features[i, mdp.shape[i]] == 1 and features[i, :4].sum() == 1
    xs = features[i, 7::2][:5]
    assert np.all(np.diff(xs) >= 0) and not features[i, 7 + 10 :].any()
    assert sorted(xs * 64) == sorted(mdp.positions[i, :5, 0].tolist())


def test_aux_reward_and_transitions(mdp):
    assert np.array_equal(mdp.aux(4), (mdp.count == 4).astype(int))
    assert np.array_equal(mdp.reward(4), (mdp.count[mdp.next_state] == 4).astype(int))
    data = mdp.transitions(target=2, states=[0, 7])
    assert data == [
        (0, 0, int(mdp.next_state[0, 0]), int(mdp.count[0] == 2)),
        (0, 1, int(mdp.next_state[0, 1]), int(mdp.count[0] == 2)),
        (7, 0, int(mdp.next_state[7, 0]), int(mdp.count[7] == 2)),
        (7, 1, int(mdp.next_state[7, 1]), int(mdp.count[7] == 2)),
    ]


def test_steering_by_the_closer_state_always_separates():
    pairs = [(a, b, n) for n in range(9) for a in range(9) for b in range(9) if a != b]
    assert all(cm.steered_word_separates(a, b, n, steer_by="closer") for a, b, n in pairs)
    failing = [p for p in pairs if not cm.steered_word_separates(*p, steer_by="first")]
    assert (7, 3, 4) in failing and (3, 7, 4) not in failing


def test_shapes_agree_with_the_pixel_environment():
    from ltijepa.envs import counting

    assert cm.SHAPES == counting.SHAPES


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m: m.aux(9), "target == 9, must be an integer in \\[0, 8\\]"),
        (lambda m: m.reward(-1), "target == -1, must be an integer in \\[0, 8\\]"),
        (lambda m: m.state_index(0, 0, 1), "layout == 1, must be an integer in \\[0, 0\\]"),
        (lambda m: m.state_index(4, 1, 0), "appearance == 4, must be an integer in \\[0, 3\\]"),
        (lambda m: cm.CountingConfig(0, 3), "n_appearances == 0, must be an integer >= 1"),
        (lambda m: cm.CountingConfig(1, 1, size=6), "size == 6, must be an integer >= 7"),
        (lambda m: cm.separation_round(1, 2, target=-1), "target == -1, must be an integer >= 0"),
        (lambda m: cm.steered_word_separates(1, 2, 4, steer_by="o"), "steer_by == 'o', must be"),
        (lambda m: cm.steered_word_separates(2, 2, 4, steer_by="first"), "count_a == count_b == 2"),
        (lambda m: cm.steered_word_separates(9, 2, 4, steer_by="first"), "count_a == 9, must be an integer in"),
    ],
)
def test_bad_input(mdp, call, match):
    with pytest.raises(ParameterError, match=match):
        call(mdp)


def test_a_state_index_out_of_range_is_a_data_error(mdp):
    with pytest.raises(DataError, match="states\\[1\\] == 500, must be in \\[0, 164\\)") as info:
        mdp.transitions(states=[0, 500])
    assert info.value.index == 1


def test_the_same_fault_raises_the_same_type_in_bisim_and_envs(mdp):
    """Rule 5 of issue 12: an index out of range or a NaN in an array is a DataError, a bad
    scalar or option a ParameterError, wherever it is caught (bisim/ and envs/)."""
    from ltijepa.bisim import largest_bisimulation
    from ltijepa.envs import pointmaze
    from ltijepa.envs.counting import render

    index_out_of_range = [
        lambda: largest_bisimulation([[0], [2]], [0, 0]),  # a successor index
        lambda: mdp.transitions(states=[500]),  # a state index
        lambda: render(np.array([-1]), np.array([0]), np.zeros((1, 3)), size=32, radius=2, rng=0),
    ]
    not_finite = [
        lambda: largest_bisimulation([[0], [1]], [0.0, np.nan]),
        lambda: pointmaze.move(np.array([[0.5, 0.15]]), np.array([[np.nan, 0.0]])),
    ]
    bad_option = [
        lambda: largest_bisimulation([[0]], [0], method="fast"),
        lambda: cm.steered_word_separates(1, 2, 4, steer_by="o"),
        lambda: pointmaze.Background("stripes", (0, 0, 0), (0, 0, 0)),
        lambda: mdp.aux(9),
    ]
    for calls, error in ((index_out_of_range, DataError), (not_finite, DataError), (bad_option, ParameterError)):
        for call in calls:
            with pytest.raises(error) as info:
                call()
            assert type(info.value) is error  # not a subclass: one class per fault


def test_a_max_count_the_renderer_cannot_place_apart_is_rejected():
    """40 stamps of 7x7 pixels do not fit apart in the 10x10 square of centres of a 16-pixel frame."""
    with pytest.raises(ParameterError, match="max_count == 40 objects of radius 3 cannot be kept apart"):
        cm.CountingConfig(n_appearances=1, layouts_per_count=1, max_count=40, size=16, radius=3)
