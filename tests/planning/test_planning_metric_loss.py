"""The bisimulation metric of a tabular system and the bisimulation loss: zero exactly at an
embedding that realises the metric, positive otherwise."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ltijepa.errors import DataError, ParameterError, ShapeError
from ltijepa.planning.metric_loss import bisimulation_loss, deterministic_bisimulation_metric, latent_distance

GAMMA = 0.9


def two_floor_chain(n: int = 5):
    """States (x, floor) for x in 0..n-1 and two floors; the policy moves x one step right
    (absorbing at the end); the reward r = x / n ignores the floor. Same-x states are
    bisimilar, whatever the floor: d((x, 0), (x, 1)) = 0."""
    states = [(x, f) for f in (0, 1) for x in range(n)]
    index = {s: i for i, s in enumerate(states)}
    rewards = np.array([x / n for x, _ in states])
    successors = np.array([index[(min(x + 1, n - 1), f)] for x, f in states])
    return states, rewards, successors


def exact_embedding(states, n: int):
    """A 1-D embedding realising the metric of the chain: d(x, y) is a function of |x - y|
    that is additive along the line (checked in the test), so w(x) = d((0, .), (x, .))."""
    _, rewards, successors = two_floor_chain(n)
    d = deterministic_bisimulation_metric(rewards, successors, GAMMA)
    return torch.tensor([[d[0, x]] for x, _ in states], dtype=torch.float64), d


def all_pairs_loss(w: torch.Tensor, rewards, successors) -> torch.Tensor:
    pairs = np.array(list(itertools.product(range(len(w)), repeat=2)))
    i, j = pairs[:, 0], pairs[:, 1]
    r = torch.tensor(rewards)
    # the exact latent model: T(w_s) = w_succ(s)
    return bisimulation_loss(w[i], w[j], (r[i] - r[j]).abs(), w[successors[i]], w[successors[j]], GAMMA)


def test_metric_closed_form_and_floor_invariance():
    n = 5
    states, rewards, successors = two_floor_chain(n)
    d = deterministic_bisimulation_metric(rewards, successors, GAMMA)
    # reward difference k/n now and at every later step until the chain end absorbs
    x, y = 1, 3  # x reaches the end after 3 steps, y after 1
    expected = sum(GAMMA**t * abs(min(x + t, n - 1) - min(y + t, n - 1)) / n for t in range(200))
    assert np.isclose(d[1, 3], expected, rtol=1e-9)
    for x in range(n):
        assert d[x, n + x] == 0.0  # same x, other floor: bisimilar
    assert np.allclose(d, d.T) and np.all(np.diag(d) == 0)


def test_loss_is_zero_at_an_embedding_realising_the_metric():
    n = 5
    states, rewards, successors = two_floor_chain(n)
    w, d = exact_embedding(states, n)
    realised = torch.cdist(w, w).numpy()
    assert np.allclose(realised, d, atol=1e-10)  # the embedding is isometric
    assert all_pairs_loss(w, rewards, successors).item() < 1e-10  # zero up to NORM_EPS


def test_loss_is_positive_when_the_embedding_sees_the_floor():
    n = 5
    states, rewards, successors = two_floor_chain(n)
    w, _ = exact_embedding(states, n)
    floor = torch.tensor([[float(f)] for _, f in states], dtype=torch.float64)
    separated = torch.cat([w, 0.5 * floor], dim=1)  # a second coordinate for the floor
    assert all_pairs_loss(separated, rewards, successors).item() > 1e-3
    scaled = 1.5 * w  # the right geometry, the wrong scale
    assert all_pairs_loss(scaled, rewards, successors).item() > 1e-3


@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 12))
def test_metric_is_a_pseudometric_fixed_point(seed, size):
    rng = np.random.default_rng(seed)
    rewards = rng.normal(size=size)
    successors = rng.integers(0, size, size=size)
    d = deterministic_bisimulation_metric(rewards, successors, GAMMA)
    assert np.allclose(d, d.T) and np.allclose(np.diag(d), 0)
    assert (d[:, :, None] <= d[:, None, :] + d.T[None, :, :] + 1e-9).all()  # triangle inequality
    fixed = np.abs(rewards[:, None] - rewards[None, :]) + GAMMA * d[np.ix_(successors, successors)]
    assert np.allclose(d, fixed, atol=1e-9)


def test_gradient_reaches_the_latents_not_the_target():
    w = torch.randn(8, 3, requires_grad=True)
    nxt = torch.randn(8, 3, requires_grad=True)
    loss = bisimulation_loss(w, w.flip(0), torch.rand(8), nxt, nxt.flip(0), 0.99)
    loss.backward()
    assert w.grad is not None and w.grad.abs().sum() > 0
    assert nxt.grad is None or nxt.grad.abs().sum() == 0


def test_errors():
    w = torch.zeros(4, 2)
    with pytest.raises(ParameterError, match=r"gamma == 1.0, must lie in \[0, 1\)"):
        bisimulation_loss(w, w, torch.zeros(4), w, w, 1.0)
    with pytest.raises(ShapeError, match=r"reward_distance: expected \(4,\), found \(3,\)"):
        bisimulation_loss(w, w, torch.zeros(3), w, w, 0.5)
    with pytest.raises(ShapeError, match=r"expected two tensors of one shape, found \(4, 2\) and \(3, 2\)"):
        latent_distance(w, torch.zeros(3, 2))
    with pytest.raises(DataError, match=r"successors == \[0, 5\], must be state indices in \[0, 2\)"):
        deterministic_bisimulation_metric(np.zeros(2), np.array([0, 5]), 0.5)
    with pytest.raises(ShapeError, match=r"expected rewards \(S,\) and successors \(S,\)"):
        deterministic_bisimulation_metric(np.zeros(2), np.array([0]), 0.5)
    with pytest.raises(ParameterError, match=r"gamma == -0.1"):
        deterministic_bisimulation_metric(np.zeros(2), np.array([0, 1]), -0.1)
