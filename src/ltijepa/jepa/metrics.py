"""Representation metrics: how embeddings ``z_i`` group by a label ``y_i`` (e.g. the count).

All functions take embeddings ``z : (n, d)`` and integer labels ``y : (n,)`` as numpy arrays
and compute in float64. Definitions (``D_ij = ||z_i - z_j||_2``):

- nearest-centroid accuracy (Yu et al. 2025, §2.3): centroids ``c_k = mean{z_i : y_i = k}``
  of a *fit* set; a point of an *evaluation* set is correct when its nearest centroid (L2,
  ties to the smallest label) has its label. The authors fit and evaluate on the same 256
  points (in-sample); pass a second set for a held-out score;
- mean pairwise distance ``mean_{i<j} D_ij`` (the authors' "encoding space size"): the
  scale of the representation, ~0 under complete collapse;
- within/between ratio ``mean_{y_i = y_j, i != j} D_ij / mean_{y_i != y_j} D_ij``: ~1 when
  labels do not structure the space (the heatmap's diagonal blocks as bright as the rest),
  ~0 for tight, separated clusters;
- effective rank (RankMe, Garrido et al. 2023): ``exp(H(sigma / ||sigma||_1))`` with
  ``sigma`` the singular values of ``z`` (not centred);
- the confusion matrix of the nearest-centroid classifier, PCA, and the label-sorted distance
  matrix with the block boundaries (the paper's Fig. 2).
"""

from __future__ import annotations

import numpy as np

from ltijepa.checks import check_count
from ltijepa.errors import DataError, ParameterError, ShapeError

__all__ = [
    "nearest_centroid_predict",
    "nearest_centroid_accuracy",
    "confusion_matrix",
    "pairwise_distances",
    "mean_pairwise_distance",
    "within_between_ratio",
    "effective_rank",
    "pca",
    "sorted_distances",
    "summary",
]


def _check(z, labels=None) -> tuple[np.ndarray, np.ndarray | None]:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or len(z) < 2:
        raise ShapeError(f"expected embeddings (n, d) with n >= 2, found {z.shape}")
    if not np.isfinite(z).all():
        raise DataError(f"embeddings contain {np.count_nonzero(~np.isfinite(z))} non-finite values", name="z",
                        index=tuple(int(i) for i in np.argwhere(~np.isfinite(z))[0]))
    if labels is None:
        return z, None
    labels = np.asarray(labels)
    if labels.shape != (len(z),) or not np.issubdtype(labels.dtype, np.integer):
        raise ShapeError(f"expected integer labels ({len(z)},), found {labels.dtype} {labels.shape}")
    return z, labels


def _evaluation_set(z, labels, z_eval, labels_eval):
    """``(z_eval, labels_eval)``, the fit set itself when both are ``None``."""
    if (z_eval is None) != (labels_eval is None):
        raise ParameterError("give both z_eval and labels_eval, or neither", name="z_eval", value=z_eval)
    return (z, labels) if z_eval is None else (z_eval, labels_eval)


def pairwise_distances(z) -> np.ndarray:
    """``D_ij = ||z_i - z_j||_2``, shape ``(n, n)``, exactly zero on the diagonal.

    Parameters
    ----------
    z : array (n, d)
        Embeddings (``n >= 2``, finite), computed in float64.
    """
    z, _ = _check(z)
    sq = (z**2).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * z @ z.T, 0.0)
    np.fill_diagonal(d2, 0.0)
    return np.sqrt(d2)


def nearest_centroid_predict(z_fit, labels_fit, z_eval) -> np.ndarray:
    """Labels ``(m,)`` of the nearest fit-set centroid of each row of ``z_eval``.

    Parameters
    ----------
    z_fit, labels_fit : arrays (n, d) and (n,)
        The fit set: embeddings (``n >= 2``, finite) and integer labels; one centroid per
        distinct label.
    z_eval : array (m, d)
        Embeddings to classify (``m >= 2``, finite).

    Raises
    ------
    ShapeError
        If the arrays are malformed or the widths differ.
    """
    z_fit, labels_fit = _check(z_fit, labels_fit)
    z_eval, _ = _check(z_eval)
    if z_eval.shape[1] != z_fit.shape[1]:
        raise ShapeError(f"expected evaluation embeddings (m, {z_fit.shape[1]}), found {z_eval.shape}")
    classes = np.unique(labels_fit)
    centroids = np.stack([z_fit[labels_fit == k].mean(0) for k in classes])
    d2 = ((z_eval[:, None, :] - centroids[None]) ** 2).sum(-1)
    return classes[np.argmin(d2, axis=1)]


def nearest_centroid_accuracy(z, labels, z_eval=None, labels_eval=None) -> float:
    """Fraction of evaluation points whose nearest centroid has their label.

    Parameters
    ----------
    z, labels : arrays (n, d) and (n,)
        The fit set (centroids).
    z_eval, labels_eval : arrays (m, d) and (m,), optional
        The evaluation set; by default the fit set itself (the authors' in-sample score).

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    ParameterError
        If only one of ``z_eval``/``labels_eval`` is given.
    DataError
        If an evaluation label has no centroid, or an embedding is not finite.

    Examples
    --------
    >>> z = np.array([[0.0], [0.1], [5.0], [5.2]])
    >>> nearest_centroid_accuracy(z, np.array([0, 0, 1, 1]))
    1.0
    """
    z_eval, labels_eval = _evaluation_set(z, labels, z_eval, labels_eval)
    _, labels_eval = _check(z_eval, labels_eval)
    missing = np.setdiff1d(labels_eval, labels)
    if missing.size:
        raise DataError(f"evaluation label {missing[0]} has no point in the fit set", name="labels_eval",
                        index=int(missing[0]))
    return float(np.mean(nearest_centroid_predict(z, labels, z_eval) == labels_eval))


def confusion_matrix(z, labels, z_eval=None, labels_eval=None) -> tuple[np.ndarray, np.ndarray]:
    """Row-normalised confusion of the nearest-centroid classifier.

    Parameters
    ----------
    z, labels : arrays (n, d) and (n,)
        The fit set (centroids).
    z_eval, labels_eval : arrays (m, d) and (m,), optional
        The evaluation set; by default the fit set itself (in-sample).

    Returns
    -------
    classes : array (K,)
        The labels of the fit set, sorted.
    matrix : array (K, K)
        ``matrix[i, j]`` = fraction of evaluation points of label ``classes[i]`` assigned to
        ``classes[j]`` (rows of absent labels are zero); the diagonal is the per-label recall.
    """
    z_eval, labels_eval = _evaluation_set(z, labels, z_eval, labels_eval)
    _, labels = _check(z, labels)
    _, labels_eval = _check(z_eval, labels_eval)
    classes = np.unique(labels)
    pred = nearest_centroid_predict(z, labels, z_eval)
    matrix = np.zeros((len(classes), len(classes)))
    for i, k in enumerate(classes):
        rows = labels_eval == k
        if rows.any():
            matrix[i] = [np.mean(pred[rows] == c) for c in classes]
    return classes, matrix


def mean_pairwise_distance(z) -> float:
    """``mean_{i<j} ||z_i - z_j||_2``: the scale of the representation (0 iff collapsed).

    Parameters
    ----------
    z : array (n, d)
        Embeddings (``n >= 2``, finite).
    """
    d = pairwise_distances(z)
    return float(d[np.triu_indices(len(d), k=1)].mean())


def within_between_ratio(z, labels) -> float:
    """``mean_{same label, i != j} D_ij / mean_{different labels} D_ij``.

    Parameters
    ----------
    z, labels : arrays (n, d) and (n,)
        Embeddings (``n >= 2``, finite) and their integer labels.

    Raises
    ------
    DataError
        If no label occurs twice, all labels are equal, or every distance is zero.
    """
    z, labels = _check(z, labels)
    d = pairwise_distances(z)
    same = labels[:, None] == labels[None, :]
    off = ~np.eye(len(z), dtype=bool)
    if not (same & off).any() or same.all():
        raise DataError("within_between_ratio needs a label that occurs twice and two distinct labels",
                        name="labels")
    between = d[~same].mean()
    if between == 0:
        raise DataError("every between-label distance is 0: the ratio is undefined (complete collapse)", name="z")
    return float(d[same & off].mean() / between)


def effective_rank(z) -> float:
    """RankMe: ``exp(-sum_k p_k log p_k)``, ``p = sigma / sum(sigma)`` (``sigma`` the singular
    values of ``z``); between 1 and ``min(n, d)``.

    Raises
    ------
    DataError
        If ``z`` is all zeros.
    """
    z, _ = _check(z)
    sigma = np.linalg.svd(z, compute_uv=False)
    if sigma.sum() == 0:
        raise DataError("effective rank of an all-zero embedding matrix is undefined", name="z")
    p = sigma / sigma.sum()
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def pca(z, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Project the centred embeddings on their first ``k`` principal axes.

    Returns
    -------
    scores : array (n, k)
    explained : array (k,)
        Fraction of the total variance along each axis (zeros if ``z`` has no variance).

    Raises
    ------
    ParameterError
        If ``k`` is not an integer in ``[1, min(n, d)]``.
    """
    z, _ = _check(z)
    check_count("k", k, maximum=min(z.shape))
    centred = z - z.mean(0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    total = (s**2).sum()
    explained = (s[:k] ** 2) / total if total > 0 else np.zeros(k)
    return centred @ vt[:k].T, explained


def sorted_distances(z, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distance matrix with points sorted by label (stable), for the Fig. 2 heatmap.

    Parameters
    ----------
    z : array (n, d)
        Embeddings (``n >= 2``, finite).
    labels : array of int, shape (n,)
        The sort key.

    Returns
    -------
    distances : array (n, n)
    sorted_labels : array (n,)
    boundaries : array
        Positions ``b`` where ``sorted_labels[b - 1] != sorted_labels[b]`` (grid lines).
    """
    z, labels = _check(z, labels)
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    boundaries = np.flatnonzero(np.diff(sorted_labels)) + 1
    return pairwise_distances(z[order]), sorted_labels, boundaries


def summary(z, labels, z_eval=None, labels_eval=None) -> dict[str, float]:
    """Every scalar metric of ``(z, labels)``: ``nc_accuracy`` (in-sample),
    ``nc_accuracy_heldout`` (if an evaluation set is given), ``mean_distance``,
    ``within_between``, ``effective_rank`` and ``min_recall`` (the smallest per-label
    in-sample recall).

    Parameters
    ----------
    z, labels : arrays (n, d) and (n,)
        The fit set: every metric is computed on it.
    z_eval, labels_eval : arrays (m, d) and (m,), optional
        A held-out evaluation set, used only for ``nc_accuracy_heldout``; give both or neither.

    Raises
    ------
    DataError, ParameterError
        As the metrics it calls (e.g. every distance exactly zero).
    """
    z, labels = _check(z, labels)
    out = {"nc_accuracy": nearest_centroid_accuracy(z, labels)}
    if z_eval is not None or labels_eval is not None:
        out["nc_accuracy_heldout"] = nearest_centroid_accuracy(z, labels, z_eval, labels_eval)
    out["mean_distance"] = mean_pairwise_distance(z)
    out["within_between"] = within_between_ratio(z, labels)
    out["effective_rank"] = effective_rank(z)
    out["min_recall"] = float(np.diag(confusion_matrix(z, labels)[1]).min())
    return out
