"""Tests of ltijepa.jepa.metrics on synthetic clusters with known answers."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltijepa.errors import DataError, ParameterError, ShapeError
from ltijepa.jepa import metrics as m


def _clusters(k=9, per=20, d=6, spread=0.05, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * 3
    labels = np.repeat(np.arange(k), per)
    return scale * (centres[labels] + spread * rng.normal(size=(k * per, d))), labels


def test_separated_clusters_are_recognised():
    z, y = _clusters()
    z2, y2 = _clusters(seed=0)
    assert m.nearest_centroid_accuracy(z, y) == 1.0
    assert m.nearest_centroid_accuracy(z, y, z2, y2) == 1.0
    assert m.within_between_ratio(z, y) < 0.05
    classes, confusion = m.confusion_matrix(z, y)
    np.testing.assert_array_equal(classes, np.arange(9))
    np.testing.assert_array_equal(confusion, np.eye(9))


def test_unstructured_embeddings_score_near_chance():
    rng = np.random.default_rng(1)
    z, y = rng.normal(size=(900, 5)), rng.integers(0, 9, size=900)
    z_out, y_out = rng.normal(size=(900, 5)), rng.integers(0, 9, size=900)
    assert abs(m.nearest_centroid_accuracy(z, y, z_out, y_out) - 1 / 9) < 0.05
    assert abs(m.within_between_ratio(z, y) - 1.0) < 0.03


def test_collapse_shows_in_scale_not_in_accuracy():
    """Nearest-centroid accuracy is scale-invariant; the mean distance is not."""
    z, y = _clusters()
    tiny = 1e-6 * z
    assert m.nearest_centroid_accuracy(tiny, y) == m.nearest_centroid_accuracy(z, y)
    assert m.mean_pairwise_distance(tiny) == pytest.approx(1e-6 * m.mean_pairwise_distance(z))


@given(st.floats(0.01, 100.0), st.integers(0, 10))
def test_ratio_and_accuracy_are_invariant_to_scale_and_rotation(scale, seed):
    z, y = _clusters(k=4, per=6, d=3, spread=1.0, seed=seed)
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    w = scale * z @ q + 5.0
    assert m.within_between_ratio(w, y) == pytest.approx(m.within_between_ratio(z, y), rel=1e-6)
    assert m.nearest_centroid_accuracy(w, y) == m.nearest_centroid_accuracy(z, y)


def test_ties_go_to_the_first_label():
    """A fully collapsed encoder scores the frequency of the smallest label (as the authors')."""
    y = np.array([0, 1, 1, 2, 2, 2])
    assert m.nearest_centroid_accuracy(np.zeros((6, 3)), y) == pytest.approx(1 / 6)


def test_effective_rank_and_pca():
    rng = np.random.default_rng(2)
    basis = np.linalg.qr(rng.normal(size=(10, 10)))[0][:, :3]
    z = rng.normal(size=(500, 3)) * [5.0, 5.0, 5.0] @ basis.T
    assert m.effective_rank(z) == pytest.approx(3.0, rel=0.05)
    assert m.effective_rank(np.outer(np.arange(1, 6), np.ones(4))) == pytest.approx(1.0)
    scores, explained = m.pca(z, 2)
    assert scores.shape == (500, 2) and 0.55 < explained.sum() < 0.8
    assert np.all(np.diff(explained) <= 0)


def test_sorted_distances_give_count_blocks():
    z, y = _clusters(k=3, per=4)
    order = np.random.default_rng(0).permutation(len(y))
    d, labels, bounds = m.sorted_distances(z[order], y[order])
    np.testing.assert_array_equal(labels, np.repeat([0, 1, 2], 4))
    np.testing.assert_array_equal(bounds, [4, 8])
    assert np.allclose(d, d.T) and np.all(np.diag(d) == 0)
    np.testing.assert_allclose(m.pairwise_distances(z)[0, 5], np.linalg.norm(z[0] - z[5]))


def test_summary_has_every_metric():
    z, y = _clusters()
    s = m.summary(z, y, z, y)
    assert set(s) == {"nc_accuracy", "nc_accuracy_heldout", "mean_distance", "within_between",
                      "effective_rank", "min_recall"}
    assert s["min_recall"] == 1.0


def test_errors():
    z, y = _clusters(k=2, per=3)
    with pytest.raises(ShapeError, match=r"expected embeddings \(n, d\) with n >= 2, found \(3,\)"):
        m.mean_pairwise_distance(np.zeros(3))
    with pytest.raises(ShapeError, match=r"expected integer labels \(6,\)"):
        m.nearest_centroid_accuracy(z, y[:5])
    with pytest.raises(DataError, match="evaluation label 7 has no point"):
        m.nearest_centroid_accuracy(z, y, z, np.full(6, 7))
    with pytest.raises(ParameterError, match="give both"):
        m.nearest_centroid_accuracy(z, y, z)
    with pytest.raises(DataError, match="non-finite"):
        m.effective_rank(np.full((3, 2), np.nan))
    with pytest.raises(DataError, match="every between-label distance is 0"):
        m.within_between_ratio(np.zeros((6, 2)), y)
    with pytest.raises(ParameterError, match="k == 5, must be an integer in \\[1, 2\\]"):
        m.pca(np.ones((6, 2)), 5)
    with pytest.raises(DataError, match="all-zero"):
        m.effective_rank(np.zeros((4, 2)))
