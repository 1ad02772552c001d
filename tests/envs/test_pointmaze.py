"""The point maze: walls, bounds, step sizes, rendering, and slow features that leave the
dynamics unchanged; the layouts (the default U-maze as the one wall it replaced, the S-maze)."""

import hashlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltijepa.envs.pointmaze import (
    AGENT_COLOUR,
    AGENT_RADIUS,
    CONDITIONS,
    S_MAZE,
    STEP_SIZE,
    U_MAZE,
    WALL_COLOUR,
    Background,
    Distractors,
    Maze,
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


# The one wall the default layout replaced (the former constant ``WALL``), and the free-space
# test and wall drawing written with it, as they were.
OLD_WALL = (0.0, 2.0 / 3.0, 1.0 / 3.0, 2.0 / 3.0)


def old_is_free(positions):
    x, y = positions[..., 0], positions[..., 1]
    r = AGENT_RADIUS
    inside = (x >= r) & (x <= 1 - r) & (y >= r) & (y <= 1 - r)
    x0, x1, y0, y1 = OLD_WALL
    return inside & ~((x < x1 + r) & (x > x0 - r) & (y > y0 - r) & (y < y1 + r))


def test_default_layout_is_the_old_wall():
    assert U_MAZE.walls == (OLD_WALL,) and PointMaze().maze == U_MAZE
    axis = np.linspace(-0.05, 1.05, 221)
    x0, x1, y0, y1 = OLD_WALL
    r = AGENT_RADIUS
    edges = np.array([x0 - r, x1 + r, y0 - r, y1 + r, r, 1 - r])  # boundaries, where < and <= differ
    points = np.concatenate([
        np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2),
        np.stack(np.meshgrid(edges, axis), -1).reshape(-1, 2),
        np.stack(np.meshgrid(axis, edges), -1).reshape(-1, 2),
        np.random.default_rng(0).uniform(0, 1, size=(5000, 2)),
    ])
    expected = old_is_free(points)
    np.testing.assert_array_equal(is_free(points), expected)
    np.testing.assert_array_equal(is_free(points, maze=U_MAZE), expected)


@pytest.mark.parametrize("size", [8, 31, 32, 64])
def test_default_layout_draws_the_old_wall(size):
    off_image = np.array([[2.0, 2.0]])  # no agent on the picture
    img = render(off_image, CONDITIONS["NC"], image_size=size)[0].transpose(1, 2, 0)
    centres = (np.arange(size) + 0.5) / size
    x, y = np.meshgrid(centres, centres[::-1])
    x0, x1, y0, y1 = OLD_WALL
    wall = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    floor = np.round(CONDITIONS["NC"].floor(size) * 255).astype(np.uint8)
    np.testing.assert_array_equal(img[wall], np.broadcast_to(np.round(np.array(WALL_COLOUR) * 255), img[wall].shape))
    np.testing.assert_array_equal(img[~wall], floor[~wall])
    np.testing.assert_array_equal(img, render(off_image, CONDITIONS["NC"], image_size=size, maze=U_MAZE)[0].transpose(1, 2, 0))


def test_default_layout_draws_the_old_dataset():
    # the positions of this dataset (57 moves blocked, 7 by the wall), as the code drew them
    # with the constant WALL before layouts were a parameter
    data = random_dataset(8, 20, 7, randomise_fraction=0.5, hold=2)
    digest = hashlib.sha256(np.ascontiguousarray(data.positions, dtype="<f8").tobytes()).hexdigest()
    assert digest == "d36abb590f1d9c59145bcb2c3479a59205edb06a82607f5dd21a3dbf8dc2fbeb"
    again = random_dataset(8, 20, 7, randomise_fraction=0.5, hold=2, maze=U_MAZE)
    np.testing.assert_array_equal(data.observations, again.observations)
    np.testing.assert_array_equal(data.positions, again.positions)


def test_s_maze_walls_block_and_are_drawn():
    r = AGENT_RADIUS
    for x0, x1, y0, y1 in S_MAZE.walls:
        inside = np.array([[(x0 + x1) / 2, (y0 + y1) / 2], [x0 + 0.01, y0 + 0.01], [x1 - 0.01, y1 - 0.01]])
        assert not is_free(inside, maze=S_MAZE).any()
        # within the agent's radius of the wall's face: not free; just beyond it: free
        mid = (x0 + x1) / 2
        assert not is_free(np.array([[mid, y0 - r / 2], [mid, y1 + r / 2]]), maze=S_MAZE).any()
        assert is_free(np.array([[mid, y0 - 1.01 * r], [mid, y1 + 1.01 * r]]), maze=S_MAZE).all()
    corridors = np.array([[0.5, 0.1], [0.5, 0.37], [0.5, 0.63], [0.5, 0.9], [0.875, 0.235], [0.1, 0.5], [0.875, 0.765]])
    assert is_free(corridors, maze=S_MAZE).all()
    assert not is_free(corridors[4:], maze=U_MAZE).all()  # the layouts differ
    # moving up from the bottom corridor into the first wall is blocked, sliding sideways is not
    below = np.array([[0.3, 0.205 - r - 0.01]])
    up = move(below, np.array([[0.0, 1.0]]), maze=S_MAZE)
    assert up[0, 1] <= 0.205 - r + 1e-12 and np.isclose(up[0, 0], 0.3)
    assert np.isclose(move(below, np.array([[1.0, 1.0]]), maze=S_MAZE)[0, 0], 0.3 + STEP_SIZE)
    # a straight segment across a wall leaves the free space somewhere
    s = np.linspace(0, 1, 256)[:, None]
    assert not is_free((1 - s) * np.array([0.5, 0.1]) + s * np.array([0.5, 0.37]), maze=S_MAZE).all()
    img = render(np.array([[2.0, 2.0]]), CONDITIONS["NC"], maze=S_MAZE)[0]
    grey = np.round(np.array(WALL_COLOUR) * 255)
    for x0, x1, y0, y1 in S_MAZE.walls:
        col, row = int((x0 + x1) / 2 * 32), int((1 - (y0 + y1) / 2) * 32)
        np.testing.assert_array_equal(img[:, row, col], grey)
    assert not np.array_equal(img, render(np.array([[2.0, 2.0]]), CONDITIONS["NC"])[0])


def waypoint_actions(start, waypoints, maze, steps_per_leg=12):
    """Drive from ``start`` through ``waypoints`` with saturated proportional actions."""
    p, path = np.array([start], dtype=float), [np.array(start, dtype=float)]
    for target in waypoints:
        for _ in range(steps_per_leg):
            p = move(p, np.clip((np.asarray(target) - p) / STEP_SIZE, -1, 1), maze=maze)
            path.append(p[0])
    return np.array(path)


def test_s_maze_is_one_serpentine_corridor_from_bottom_left_to_top_left():
    legs = [(0.875, 0.1), (0.875, 0.37), (0.1, 0.37), (0.1, 0.63), (0.875, 0.63), (0.875, 0.9), (0.1, 0.9)]
    path = waypoint_actions((0.1, 0.1), legs, S_MAZE)
    assert is_free(path, maze=S_MAZE).all()
    assert np.allclose(path[-1], (0.1, 0.9), atol=1e-9)
    moves = int((np.abs(np.diff(path, axis=0)).max(axis=1) > 1e-12).sum())
    assert moves == 41  # 4 corridors of 8 steps and 3 gaps of 3; the straight line up is 8 steps


def test_point_maze_and_dataset_live_in_their_layout():
    in_s_wall = np.array([[0.5, 0.235]])  # inside the S-maze's first wall, free in the U-maze
    assert is_free(in_s_wall)[0] and not is_free(in_s_wall, maze=S_MAZE)[0]
    with pytest.raises(DataError, match=r"position \[0.5, 0.235\] is not in the free space"):
        PointMaze(maze=S_MAZE).reset(in_s_wall, 0)
    data = random_dataset(6, 15, 1, maze=S_MAZE)
    assert is_free(data.positions, maze=S_MAZE).all()
    np.testing.assert_array_equal(data.observations[0, 0], render(data.positions[0, :1], CONDITIONS["NC"], maze=S_MAZE)[0])
    assert sample_free(300, 2, maze=S_MAZE).shape == (300, 2) and is_free(sample_free(300, 2, maze=S_MAZE), maze=S_MAZE).all()


@pytest.mark.parametrize(
    "walls, error, name, message",
    [
        (((0.0, 1.2, 0.4, 0.6),), ParameterError, "walls[0].x1", r"walls\[0\]\.x1 == 1\.2, must lie in \[0, 1\]"),
        (((0.1, 0.2, 0.3, 0.4), (-0.1, 0.5, 0.4, 0.6)), ParameterError, "walls[1].x0", r"walls\[1\]\.x0 == -0\.1, must lie"),
        (((0.1, 0.2, float("nan"), 0.4),), ParameterError, "walls[0].y0", r"walls\[0\]\.y0 == nan, must lie in \[0, 1\]"),
        (((0.1, "a", 0.3, 0.4),), ParameterError, "walls[0].x1", r"walls\[0\]\.x1 == 'a'"),
        (((0.5, 0.5, 0.1, 0.2),), ParameterError, "walls[0]", r"x0 == 0\.5 >= x1 == 0\.5, must be x0 < x1"),
        (((0.1, 0.5, 0.6, 0.4),), ParameterError, "walls[0]", r"y0 == 0\.6 >= y1 == 0\.4, must be y0 < y1"),
        (((0.1, 0.5, 0.4),), ShapeError, "walls[0]", r"walls\[0\]: expected 4 numbers \(x0, x1, y0, y1\), found \(0\.1, 0\.5, 0\.4\)"),
        ((0.1, 0.5, 0.4, 0.6), ShapeError, "walls[0]", r"a single wall is written walls=\(\(x0, x1, y0, y1\),\)"),
        (None, ShapeError, "walls", r"walls: expected a sequence of walls"),
        (((0.0, 1.0, 0.0, 1.0),), ParameterError, "walls", r"leave no free space for an agent of radius 0\.045"),
        (((0.0, 1.0, 0.4, 0.6),), ParameterError, "walls", r"leave 2 unconnected free regions"),
    ],
)
def test_maze_errors_name_the_offending_wall(walls, error, name, message):
    with pytest.raises(error, match=message) as info:
        Maze(walls)
    assert info.value.name == name


def test_maze_normalises_its_walls_to_float_tuples():
    maze = Maze([[0, 0.5, 0.4, 0.6]])
    assert maze.walls == ((0.0, 0.5, 0.4, 0.6),) and maze == Maze(((0.0, 0.5, 0.4, 0.6),))
    assert hash(maze) == hash(Maze(np.array([[0.0, 0.5, 0.4, 0.6]])))
