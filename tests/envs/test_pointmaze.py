"""The point maze: walls, bounds, step sizes, rendering, and slow features that leave the
dynamics unchanged."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltijepa.envs.pointmaze import (
    AGENT_COLOUR,
    AGENT_RADIUS,
    CONDITIONS,
    STEP_SIZE,
    U_MAZE,
    Background,
    Distractors,
    PointMaze,
    is_free,
    move,
    random_background,
    random_dataset,
    render,
    sample_free,
)
from ltijepa.errors import DataError, ParameterError, ShapeError


@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(0.1, 10.0))
def test_moves_stay_free_and_bounded(seed, scale):
    rng = np.random.default_rng(seed)
    p = sample_free(64, rng)
    for _ in range(10):
        a = scale * rng.normal(size=p.shape)
        q = move(p, a)
        assert is_free(q).all()
        assert (np.abs(q - p) <= STEP_SIZE * np.minimum(np.abs(a), 1.0) + 1e-12).all()
        p = q


def test_free_space_is_the_u_maze():
    r = AGENT_RADIUS
    assert is_free(np.array([[0.5, 0.15], [0.5, 0.85], [0.85, 0.5]])).all()  # bottom, top, right arm
    assert not is_free(np.array([[0.3, 0.5], [0.5, 1 / 3 - r / 2], [r / 2, 0.5], [0.5, 1.0]])).any()
    x0, x1, y0, y1 = U_MAZE.walls[0]
    assert not is_free(np.array([[x1 + r / 2, 0.5]]))[0] and is_free(np.array([[x1 + 1.01 * r, 0.5]]))[0]


def test_wall_blocks_and_agent_slides_along_it():
    below = np.array([[0.3, 1 / 3 - AGENT_RADIUS - 0.01]])
    up = move(below, np.array([[0.0, 1.0]]))
    assert np.isclose(up[0, 0], 0.3) and up[0, 1] < 1 / 3 - AGENT_RADIUS + 1e-9  # blocked
    diagonal = move(below, np.array([[1.0, 1.0]]))
    assert np.isclose(diagonal[0, 0], 0.3 + STEP_SIZE)  # slides in x
    assert diagonal[0, 1] < 1 / 3 - AGENT_RADIUS + 1e-9


def test_actions_are_clipped_to_the_unit_box():
    p = np.array([[0.5, 0.15]])
    assert np.allclose(move(p, np.array([[5.0, 0.0]])), move(p, np.array([[1.0, 0.0]])))
    assert np.allclose(move(p, np.array([[0.5, 0.0]])), p + [[0.5 * STEP_SIZE, 0.0]])


def test_background_changes_leave_dynamics_unchanged():
    rng = np.random.default_rng(0)
    starts = sample_free(16, rng)
    actions = rng.uniform(-1, 1, size=(20, 16, 2))
    paths = {}
    for name, background in CONDITIONS.items():
        env = PointMaze(background)
        state = env.reset(starts, np.random.default_rng(1))
        path = [state.positions]
        for a in actions:
            state = env.step(state, a)
            path.append(state.positions)
        paths[name] = np.array(path)
    reference = paths["NC"]
    for name, path in paths.items():
        assert np.array_equal(path, reference), name


def test_conditions_change_the_images_but_not_the_agent():
    p = np.array([[0.85, 0.5]])
    images = {name: PointMaze(bg).observe(PointMaze(bg).reset(p, 0)) for name, bg in CONDITIONS.items()}
    col, row = int(0.85 * 32), int((1 - 0.5) * 32)  # pixel under the agent's centre
    for name, img in images.items():
        assert img.shape == (1, 3, 32, 32) and img.dtype == np.uint8
        assert np.allclose(img[0, :, row, col] / 255, AGENT_COLOUR, atol=0.01), name
    floors = {name: img[0, :, 2, 2].tolist() for name, img in images.items()}
    assert len({tuple(v) for v in floors.values()}) >= 4  # NC, SC, C/LCG corner colours, LC differ
    assert not np.array_equal(images["NC"], images["LC"])


def test_render_puts_agent_where_it_is_and_walls_grey():
    img = render(np.array([[0.15, 0.85]]), CONDITIONS["NC"])[0] / 255.0
    red = (img[0] > 0.8) & (img[1] < 0.3)
    rows, cols = np.nonzero(red)
    assert abs(cols.mean() + 0.5 - 0.15 * 32) < 1.0 and abs(rows.mean() + 0.5 - (1 - 0.85) * 32) < 1.0
    assert np.allclose(img[:, 16, 5], 0.7, atol=0.01)  # inside the wall block


def test_distractors_move_bounce_and_are_drawn():
    d = Distractors.spawn(4, 3, np.random.default_rng(0))
    for _ in range(200):
        d = d.step()
        assert ((d.positions >= 0) & (d.positions <= 1)).all()
        assert np.allclose(np.linalg.norm(d.velocities, axis=-1), Distractors.SPEED)
    img = render(np.array([[0.85, 0.5]]), CONDITIONS["D"], distractors=Distractors(np.array([[[0.2, 0.15], [0.9, 0.9], [0.5, 0.9]]]), np.zeros((1, 3, 2))))
    assert (img[0, :, int((1 - 0.15) * 32), int(0.2 * 32)] == 0).all()  # black square


def test_random_background_is_valid_and_never_black_distractors():
    for seed in range(50):
        bg = random_background(seed)
        assert bg.kind in ("checker", "gradient", "flat")
        assert min(bg.distractor_colour) >= 0.35


def test_random_dataset_shapes_and_reproducibility():
    a = random_dataset(6, 5, 3, randomise_fraction=0.5)
    b = random_dataset(6, 5, 3, randomise_fraction=0.5)
    assert a.observations.shape == (6, 6, 3, 32, 32) and a.actions.shape == (6, 5, 2)
    assert a.positions.shape == (6, 6, 2)
    assert np.array_equal(a.observations, b.observations) and np.array_equal(a.positions, b.positions)
    for e in range(6):  # positions follow the dynamics
        for t in range(5):
            assert np.allclose(a.positions[e, t + 1], move(a.positions[e, t : t + 1], a.actions[e, t : t + 1])[0])
    plain = random_dataset(4, 2, 0)
    assert not plain.randomised.any()
    floor = render(plain.positions[0, :1], CONDITIONS["NC"])
    assert np.array_equal(plain.observations[0, 0], floor[0])


def test_errors_name_the_offending_value():
    with pytest.raises(ParameterError, match=r"kind == 'stripes'"):
        Background("stripes", (0, 0, 0), (0, 0, 0))
    with pytest.raises(ParameterError, match=r"colour1 == \(1.5, 0, 0\), must be 3 numbers in \[0, 1\]"):
        Background("flat", (1.5, 0, 0), (0, 0, 0))
    with pytest.raises(ParameterError, match=r"distractors == -1, must be an integer >= 0"):
        Background("flat", (0, 0, 0), (0, 0, 0), distractors=-1)
    with pytest.raises(DataError, match=r"position \[0.3, 0.5\] is not in the free space"):
        move(np.array([[0.3, 0.5]]), np.zeros((1, 2)))
    with pytest.raises(ShapeError, match=r"actions: expected \(1, 2\), found \(2,\)"):
        move(np.array([[0.5, 0.15]]), np.zeros(2))
    with pytest.raises(DataError, match=r"actions must be finite"):
        move(np.array([[0.5, 0.15]]), np.array([[np.nan, 0.0]]))
    with pytest.raises(ShapeError, match=r"positions: expected \(B, 2\), found \(3,\)"):
        render(np.zeros(3), CONDITIONS["NC"])
    with pytest.raises(ParameterError, match=r"image_size == 4, must be an integer >= 8"):
        render(np.zeros((1, 2)), CONDITIONS["NC"], image_size=4)
    with pytest.raises(ParameterError, match=r"distractors == 3 but distractors were not given"):
        render(np.zeros((1, 2)), CONDITIONS["D"])
    with pytest.raises(ParameterError, match=r"episodes == 0"):
        random_dataset(0, 5, 0)
    with pytest.raises(ParameterError, match=r"randomise_fraction == 2"):
        random_dataset(1, 5, 0, randomise_fraction=2)


@pytest.mark.parametrize("count", [-1, 2.5, True])
def test_sample_free_rejects_a_count_that_is_not_a_natural_number(count):
    with pytest.raises(ParameterError, match=r"count == .*, must be an integer >= 0"):
        sample_free(count, rng=0)


def test_held_actions_repeat_and_hold_one_draws_as_before():
    before, again = random_dataset(3, 7, 5), random_dataset(3, 7, 5, hold=1)
    np.testing.assert_array_equal(before.actions, again.actions)
    np.testing.assert_array_equal(before.observations, again.observations)
    held = random_dataset(3, 7, 5, hold=3)
    assert held.actions.shape == (3, 7, 2)
    np.testing.assert_array_equal(held.actions[:, 0], held.actions[:, 2])
    np.testing.assert_array_equal(held.actions[:, 3], held.actions[:, 5])
    assert not np.array_equal(held.actions[:, 2], held.actions[:, 3])
    with pytest.raises(ParameterError):
        random_dataset(3, 7, 5, hold=0)
