"""Tests of ltijepa.jepa.losses: two-hot targets, soft cross-entropy, the MSE terms."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ltijepa.errors import ParameterError, ShapeError
from ltijepa.jepa.losses import (
    TwoHot,
    consistency_loss,
    mse_loss,
    reconstruction_loss,
    soft_cross_entropy,
    symexp,
    symlog,
)

TH = TwoHot(101, -10.0, 10.0)


@given(st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=20))
def test_two_hot_is_a_distribution_with_mean_symlog_x(values):
    x = torch.tensor(values, dtype=torch.float64)
    target = TH.encode(x)
    support = torch.linspace(-10, 10, 101)
    assert torch.all(target >= 0) and torch.allclose(target.sum(1), torch.ones(len(x)))
    assert (target > 0).sum(1).max() <= 2
    np.testing.assert_allclose(target @ support, symlog(x).clamp(-10, 10).float(), atol=1e-5)


def test_symexp_inverts_symlog():
    x = torch.tensor([-50.0, -1.0, 0.0, 0.3, 7.0])
    torch.testing.assert_close(symexp(symlog(x)), x)


def test_reward_targets_of_the_counting_chapter():
    target = TH.encode(torch.tensor([0.0, 1.0]))
    assert target[0, 50] == 1.0  # symlog(0) = 0 is bin 50
    position = (math.log(2) + 10) / 0.2  # symlog(1) = log 2 lies between bins 53 and 54
    assert target[1, 53] == pytest.approx(54 - position, abs=1e-6)
    assert target[1, 54] == pytest.approx(position - 53, abs=1e-6)


def test_decode_of_sharp_logits_recovers_the_value():
    x = torch.tensor([0.0, 1.0, -3.0, 20.0])
    logits = torch.log(TH.encode(x) + 1e-12)
    torch.testing.assert_close(TH.decode(logits), x, rtol=1e-4, atol=1e-4)


def test_soft_cross_entropy_is_minimal_at_the_target():
    y = torch.tensor([0.0, 1.0, 1.0])
    target = TH.encode(y)
    entropy = -(target * torch.log(target.clamp_min(1e-30))).sum(1).mean()
    at_target = soft_cross_entropy(torch.log(target + 1e-30), y, TH)
    uniform = soft_cross_entropy(torch.zeros(3, 101), y, TH)
    assert at_target == pytest.approx(float(entropy), abs=1e-5)
    assert uniform == pytest.approx(math.log(101), rel=1e-6)


def test_mse_terms():
    a, b = torch.zeros(4, 3), torch.ones(4, 3)
    assert consistency_loss(a, b) == 1.0 and mse_loss(a, 2 * b) == 4.0
    obs = torch.full((2, 3, 4, 4), 255, dtype=torch.uint8)
    assert reconstruction_loss(torch.ones(2, 3, 4, 4), obs) == 0.0


def test_errors_name_the_shapes():
    with pytest.raises(ParameterError, match="num_bins == 1, must be an integer >= 2"):
        TwoHot(1)
    with pytest.raises(ParameterError, match="vmin == 1.0 and vmax == 1.0"):
        TwoHot(5, 1.0, 1.0)
    with pytest.raises(ShapeError, match="expected scalars"):
        TH.encode(torch.zeros(2, 2))
    with pytest.raises(ShapeError, match=r"expected logits \(3, 101\), found \(3, 5\)"):
        soft_cross_entropy(torch.zeros(3, 5), torch.zeros(3), TH)
    with pytest.raises(ShapeError, match=r"found \(4, 3\) and \(4, 2\)"):
        consistency_loss(torch.zeros(4, 3), torch.zeros(4, 2))
