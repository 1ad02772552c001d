"""The objective FedLQR's rollouts estimate with the authors' convention (t >= 1).

The authors' code (``jd-anderson/FedLQR``) propagates the state before adding the stage cost,
so its rollouts (``FedLQRConfig(skip_initial=True)``) estimate the LQR cost without its t = 0
term, :class:`CostWithoutInitialTerm`, whose minimiser is not the LQR optimum.
"""

from __future__ import annotations

import numpy as np

from ltijepa.lqr.policy_gradient import gradient_descent
from ltijepa.lqr.task import Task

__all__ = ["CostWithoutInitialTerm"]


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
