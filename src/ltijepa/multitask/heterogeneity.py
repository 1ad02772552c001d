"""How different M LQR tasks are: parameter distances and gradient gaps.

Two notions of task heterogeneity from the talk and Stamouli et al. (2025):

- the open-loop *parameter* distances (talk, slide "Quantifying Heterogeneity: First Attempt";
  the paper's b_A, b_B, b_Q, b_R of Sec. 2.1)

  .. math::

      \\epsilon_A = \\max_{i,j} \\|A^{(i)} - A^{(j)}\\|_2, \\quad
      \\epsilon_B = \\max_{i,j} \\|B^{(i)} - B^{(j)}\\|_2,

  and likewise epsilon_Q, epsilon_R (and epsilon_Sigma0 for the initial covariances); the
  norm is the spectral norm (the talk writes ||.|| without a subscript);
- the closed-loop *gradient* gaps under a common gain K (paper, Sec. 2; u = -K x)

  .. math::

      g_{ij}(K) = \\|\\nabla C^{(i)}(K) - \\nabla C^{(j)}(K)\\|_F .
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ltijepa.errors import ShapeError
from ltijepa.lqr.batched import TaskBatch, as_batch
from ltijepa.lqr.task import Task

__all__ = [
    "ParameterHeterogeneity",
    "parameter_heterogeneity",
    "max_pairwise_distance",
    "gradient_heterogeneity",
    "shared_gain",
]


def shared_gain(batch: TaskBatch, K) -> np.ndarray:
    """``K`` as a finite (m, n) array: one gain shared by all tasks of ``batch`` (u = -K x).

    Raises
    ------
    ShapeError
        If K is not (m, n) (a stack of per-task gains is refused here).
    DataError
        If K has non-finite entries.
    """
    K = np.asarray(K, dtype=float)
    if K.shape != (batch.m, batch.n):
        raise ShapeError(f"K: expected shape ({batch.m}, {batch.n}) (one shared gain), found {K.shape}")
    return batch.gains(K)[0]


def max_pairwise_distance(stack: np.ndarray, ord: int | str = 2) -> float:
    """max_{i,j} ||X_i - X_j|| over a stack (M, p, q) of matrices (0 for M = 1).

    Parameters
    ----------
    stack : array, (M, p, q)
    ord : int or str
        Matrix norm of ``numpy.linalg.norm`` (default 2: the spectral norm).

    Raises
    ------
    ShapeError
        If ``stack`` is not 3-dimensional.
    """
    stack = np.asarray(stack, dtype=float)
    if stack.ndim != 3:
        raise ShapeError(f"stack: expected shape (M, p, q), found {stack.shape}")
    differences = stack[:, None] - stack[None, :]
    return float(np.max(np.linalg.norm(differences, ord=ord, axis=(-2, -1))))


@dataclass(frozen=True)
class ParameterHeterogeneity:
    """The talk's exact measures epsilon_A, epsilon_B, epsilon_Q, epsilon_R (and Sigma0)."""

    eps_A: float
    """max_{i,j} ||A_i - A_j||_2."""
    eps_B: float
    """max_{i,j} ||B_i - B_j||_2."""
    eps_Q: float
    """max_{i,j} ||Q_i - Q_j||_2."""
    eps_R: float
    """max_{i,j} ||R_i - R_j||_2."""
    eps_Sigma0: float
    """max_{i,j} ||Sigma0_i - Sigma0_j||_2 (zero in the talk's examples)."""

    def as_array(self) -> np.ndarray:
        """(eps_A, eps_B, eps_Q, eps_R, eps_Sigma0) as an array of shape (5,)."""
        return np.array([self.eps_A, self.eps_B, self.eps_Q, self.eps_R, self.eps_Sigma0])


def parameter_heterogeneity(tasks: Sequence[Task] | TaskBatch) -> ParameterHeterogeneity:
    """The smallest epsilon_A, epsilon_B, epsilon_Q, epsilon_R of the talk's definition.

    .. math::

        \\epsilon_X = \\max_{i,j} \\|X^{(i)} - X^{(j)}\\|_2, \\quad X \\in \\{A, B, Q, R, \\Sigma_0\\}.

    Parameters
    ----------
    tasks : sequence of Task, or TaskBatch
        M >= 1 tasks of equal sizes.

    Returns
    -------
    ParameterHeterogeneity

    Raises
    ------
    ShapeError
        If the tasks differ in (n, m).

    Examples
    --------
    >>> from ltijepa.lqr.families import scalar_pair
    >>> parameter_heterogeneity(scalar_pair(1.5)).eps_A  # the talk's 2 alpha
    3.0
    """
    batch = as_batch(tasks)
    return ParameterHeterogeneity(
        *(max_pairwise_distance(getattr(batch, name)) for name in ("A", "B", "Q", "R", "Sigma0"))
    )


def gradient_heterogeneity(tasks: Sequence[Task] | TaskBatch, K) -> np.ndarray:
    """All gradient gaps g_ij(K) = ||grad C_i(K) - grad C_j(K)||_F at once.

    .. math::

        g_{ij}(K) = \\| 2 E^{(i)}_K \\Sigma^{(i)}_K - 2 E^{(j)}_K \\Sigma^{(j)}_K \\|_F

    (Fazel et al. 2018, Lemma 1; u = -K x), from one batched evaluation of the M gradients.

    Parameters
    ----------
    tasks : sequence of Task, or TaskBatch
        M tasks of equal sizes (n, m).
    K : array, (m, n)
        One gain shared by all tasks.

    Returns
    -------
    array, (M, M)
        Symmetric with a zero diagonal.

    Raises
    ------
    NotStabilizingError
        Naming the first task (``.task_index``) K does not stabilize, with its
        spectral radius ``.rho``.
    ShapeError
        If K is not (m, n) or the tasks differ in size.

    Examples
    --------
    >>> from ltijepa.lqr.families import scalar_pair
    >>> gradient_heterogeneity(scalar_pair(0.5), [[0.0]]).round(4).tolist()
    [[0.0, 3.5556], [3.5556, 0.0]]
    """
    batch = as_batch(tasks)
    gradients = batch.gradient(shared_gain(batch, K))
    differences = gradients[:, None] - gradients[None, :]
    return np.linalg.norm(differences, ord="fro", axis=(-2, -1))
