"""What the authors' code optimises and what it plots, beside the LQR cost C(K) = tr(P_K Sigma0).

- The authors' code (``jd-anderson/FedLQR``) propagates the state before adding the stage
  cost, so its rollouts (``FedLQRConfig(skip_initial=True)``) estimate the LQR cost without
  its t = 0 term, :class:`CostWithoutInitialTerm`, whose minimiser is not the LQR optimum.
- Its plots score agent 1 by the 100-step cost from x_0 = 1 (``compute_cost.m``),
  :func:`authors_score`, normalised by the same score at the DARE gain, :func:`authors_gap`.
"""

from __future__ import annotations

import numpy as np

from ltijepa.checks import check_count
from ltijepa.errors import ShapeError
from ltijepa.lqr.policy_gradient import gradient_descent
from ltijepa.lqr.task import Task

__all__ = ["CostWithoutInitialTerm", "AUTHORS_HORIZON", "authors_score", "authors_gap"]

#: T = 100, the horizon of the authors' ``compute_cost.m``.
AUTHORS_HORIZON = 100


def authors_score(task: Task, gains, *, horizon: int = AUTHORS_HORIZON) -> np.ndarray:
    """The authors' score of a gain: the T-step cost from x_0 = 1 (``def-fedlqr-authors-score``).

    .. math::

        S_T(K) = \\sum_{t=0}^{T-1} x_t^\\top (Q + K^\\top R K)\\, x_t
               = \\mathbf 1^\\top P_T(K)\\, \\mathbf 1, \\qquad
        x_{t+1} = (A - B K)\\, x_t, \\quad x_0 = \\mathbf 1,

    with P_T(K) = sum_{t<T} (A - BK)^{T t} (Q + K^T R K) (A - BK)^t, T = 100: what the
    authors' ``compute_cost.m`` computes (its 10 rollouts start at x_0 ~ N(1, 1e-12 I), a
    spread that changes nothing at the plotted precision). The exact cost C(K) =
    tr(P_K Sigma0) weights P_K by Sigma0 = I instead of 1 1^T; as T -> infinity, S_T(K) ->
    1^T P_K 1 for a stabilizing K (finite for any K, since T is).

    Parameters
    ----------
    task : Task
        The system (A, B, Q, R) of the scored agent.
    gains : array, (..., m, n)
        Gains (u = -K x), any leading shape (e.g. a history's server gains, (R, N + 1, m, n)).
    horizon : int
        T >= 1 (authors: 100).

    Returns
    -------
    array, gains.shape[:-2]

    Raises
    ------
    ShapeError
        If the last two axes of ``gains`` are not (m, n).
    ParameterError
        If ``horizon`` < 1.

    Examples
    --------
    >>> task = Task([[0.5]], [[1.0]], [[1.0]], [[1.0]])
    >>> float(authors_score(task, [[0.0]], horizon=2))  # 1 + 0.25
    1.25
    """
    horizon = check_count("horizon", horizon)
    gains = np.asarray(gains, dtype=float)
    if gains.ndim < 2 or gains.shape[-2:] != (task.m, task.n):
        raise ShapeError(f"gains: expected shape (..., {task.m}, {task.n}), found {gains.shape}",
                         name="gains", expected=(None, task.m, task.n), found=gains.shape)
    closed_loop = task.A - task.B @ gains
    weight = task.Q + np.swapaxes(gains, -1, -2) @ task.R @ gains
    x = np.ones(gains.shape[:-2] + (task.n,))
    score = np.zeros(gains.shape[:-2])
    for _ in range(horizon):
        score += np.einsum("...i,...ij,...j->...", x, weight, x)
        x = np.einsum("...ij,...j->...i", closed_loop, x)
    return score


def authors_gap(task: Task, gains, *, horizon: int = AUTHORS_HORIZON) -> np.ndarray:
    """The authors' plotted relative gap (S_T(K) - S_T(K_*)) / S_T(K_*) (``def-fedlqr-authors-score``).

    S_T is :func:`authors_score` and K_* the task's DARE gain (``Task.optimal_gain``, the
    authors' ``dlqr``). As in :func:`ltijepa.fedlqr.objective.authors_score`; returns an array of shape
    ``gains.shape[:-2]``.

    Examples
    --------
    >>> task = Task([[0.5]], [[1.0]], [[1.0]], [[1.0]])
    >>> float(authors_gap(task, task.optimal_gain()))
    0.0
    """
    optimum = authors_score(task, task.optimal_gain(), horizon=horizon)
    return (authors_score(task, gains, horizon=horizon) - optimum) / optimum


class CostWithoutInitialTerm:
    """The objective the authors' rollouts estimate: the cost without its t = 0 term.

    .. math::

        f(K) = C(K) - \\operatorname{tr}((Q + K^\\top R K) \\Sigma_0)
             = \\mathbb{E} \\sum_{t \\ge 1} x_t^\\top (Q + K^\\top R K) x_t, \\qquad
        \\nabla f(K) = \\nabla C(K) - 2 R K \\Sigma_0,

    (u = -K x). Its minimiser is not the LQR optimum K_*: a zeroth-order method with
    ``skip_initial=True`` approaches argmin f, not K_*. An
    :class:`~ltijepa.lqr.policy_gradient.Objective` (what
    :func:`~ltijepa.lqr.policy_gradient.gradient_descent` minimises).

    Parameters
    ----------
    task : Task
    """

    def __init__(self, task: Task):
        self.task = task

    def cost(self, K) -> float:
        """f(K). Raises ``NotStabilizingError`` if K does not stabilize the task."""
        K = self.task.check_gain(K)
        return self.task.cost(K) - float(np.trace((self.task.Q + K.T @ self.task.R @ K) @ self.task.Sigma0))

    def gradient(self, K) -> np.ndarray:
        """nabla f(K), (m, n). Raises ``NotStabilizingError`` if K does not stabilize the task."""
        K = self.task.check_gain(K)
        return self.task.gradient(K) - 2.0 * self.task.R @ K @ self.task.Sigma0

    def is_stabilizing(self, K) -> bool:
        """Whether rho(A - B K) < 1."""
        return self.task.is_stabilizing(K)

    def spectral_radius(self, K) -> float:
        """rho(A - B K)."""
        return self.task.spectral_radius(K)

    def minimizer(self, *, iterations: int = 5000, tol: float = 1e-9) -> np.ndarray:
        """argmin f by gradient descent with backtracking from the task's optimum K_*.

        Parameters
        ----------
        iterations : int
            Most gradient steps (default 5000).
        tol : float
            Stop when ||nabla f(K)||_F <= tol (default 1e-9).

        Returns
        -------
        array, (m, n)
            The last iterate (u = -K x).
        """
        return gradient_descent(self, self.task.optimal_gain(), iterations=iterations, tol=tol).final
