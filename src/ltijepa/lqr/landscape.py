"""The landscape results of Fazel et al. (2018) as computable checks.

- :func:`finite_difference_gradient` and :func:`gradient_error`: Lemma 1,
  nabla C(K) = 2 E_K Sigma_K, against fourth-order central differences of C;
- :func:`gradient_domination`: Corollary 5 (gradient domination),

  .. math::

      C(K) - C(K^*) \\le \\frac{\\|\\Sigma_{K^*}\\|}{\\mu^2 \\sigma_{\\min}(R)}
          \\|\\nabla C(K)\\|_F^2, \\qquad \\mu = \\sigma_{\\min}(\\Sigma_0);

  the derivation in the chapter gives the constant 1/4 in place of 1 (``constant=0.25``);
- :func:`gauss_newton_rate` and :func:`natural_gradient_rate`: the per-step contraction
  factors of the cost gap from Theorem 7, for the updates as written in
  :mod:`ltijepa.lqr.policy_gradient` (u = -K x), and :func:`step_contractions`, the
  observed factors (C(K_{k+1}) - C*) / (C(K_k) - C*) to compare them with.

Each check returns the numbers; the notebook decides and records the claim, and the tests
show that a wrong gradient or a wrong optimum makes the check fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ltijepa.checks import check_positive
from ltijepa.errors import ParameterError
from ltijepa.lqr.batched import TaskBatch
from ltijepa.lqr.task import Task

__all__ = [
    "ROUNDOFF_RTOL",
    "finite_difference_gradient",
    "gradient_error",
    "Domination",
    "domination_constant",
    "gradient_domination",
    "gauss_newton_rate",
    "natural_gradient_rate",
    "step_contractions",
]

#: Relative round-off allowance of the cost gap C(K) - C(K*) in :func:`gradient_domination`.
ROUNDOFF_RTOL = 1e-11


def finite_difference_gradient(cost: Callable[[np.ndarray], float], K, *, h: float) -> np.ndarray:
    """Fourth-order central differences of ``cost`` at K, entry by entry.

    .. math::

        \\partial_{ij} C(K) \\approx \\frac{-C(K + 2hE_{ij}) + 8C(K + hE_{ij})
            - 8C(K - hE_{ij}) + C(K - 2hE_{ij})}{12 h},

    with error O(h^4) plus round-off O(eps C / h).

    Parameters
    ----------
    cost : callable
        K (m, n) -> float.
    K : array, (m, n)
        Where to differentiate; K +- 2h E_ij must lie in cost's domain.
    h : float
        Step, > 0.

    Returns
    -------
    array, (m, n)

    Examples
    --------
    >>> finite_difference_gradient(lambda K: float(np.sum(K**3)), np.array([[1.0, 2.0]]), h=1e-3)
    array([[ 3., 12.]])
    """
    h = check_positive("h", h)
    K = np.asarray(K, dtype=float)
    gradient = np.empty_like(K)
    for index in np.ndindex(K.shape):
        E = np.zeros_like(K)
        E[index] = h
        values = [cost(K + c * E) for c in (2, 1, -1, -2)]
        gradient[index] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * h)
    return gradient


def gradient_error(objective, K, *, h: float | None = None) -> float:
    """Relative error ||grad - FD||_F / ||FD||_F of ``objective.gradient`` at K.

    The check of ``lem-pg-gradient`` (Fazel et al. 2018, Lemma 1: grad C(K) = 2 E_K Sigma_K).

    FD is :func:`finite_difference_gradient` of ``objective.cost`` with step
    h = 1e-4 max(1, max|K_ij|) unless given. Meaningful away from stationary points: where
    the gradient vanishes both sides are round-off (0 if both are exactly 0, inf if only FD is).

    Raises
    ------
    NotStabilizingError
        If K, or K +- 2h E_ij, is not stabilizing.
    """
    K = np.asarray(K, dtype=float)
    h = 1e-4 * max(1.0, float(np.max(np.abs(K)))) if h is None else h
    reference = finite_difference_gradient(objective.cost, K, h=h)
    error = float(np.linalg.norm(np.asarray(objective.gradient(K)) - reference))
    scale = float(np.linalg.norm(reference))
    if scale == 0.0:
        return 0.0 if error == 0.0 else float("inf")
    return error / scale


@dataclass(frozen=True)
class Domination:
    """Both sides of the gradient-domination inequality at a sequence of gains."""

    gap: np.ndarray
    """C(K) - C(K*) at every gain, shape (N,)."""
    bound: np.ndarray
    """constant ||Sigma_K*|| / (mu^2 sigma_min(R)) ||nabla C(K)||_F^2 at every gain, (N,)."""
    atol: float = 0.0
    """Round-off allowance: the inequality is checked as gap <= bound + atol."""

    @property
    def holds(self) -> bool:
        """Whether gap <= bound + atol at every gain."""
        return bool(np.all(self.gap <= self.bound + self.atol))

    @property
    def max_ratio(self) -> float:
        """max gap / bound over the gains with gap > atol (<= 1 when the inequality holds)."""
        counted = self.gap > self.atol
        if not np.any(counted):
            return 0.0
        gap, bound = self.gap[counted], self.bound[counted]
        with np.errstate(divide="ignore"):
            return float(np.max(np.where(bound > 0, gap / bound, np.inf)))


def domination_constant(task: Task) -> float:
    """lambda = ||Sigma_K*||_2 / (sigma_min(Sigma0)^2 sigma_min(R)) of Corollary 5.

    Raises
    ------
    NotStabilizableError, SolverError
        If the task has no optimal gain.
    """
    mu = float(np.linalg.eigvalsh(task.Sigma0)[0])
    sigma_star = float(np.linalg.norm(task.Sigma(task.optimal_gain()), 2))
    return sigma_star / (mu**2 * float(np.linalg.eigvalsh(task.R)[0]))


def gradient_domination(task: Task, gains, *, constant: float = 1.0, gradient=None) -> Domination:
    """Evaluate Fazel et al.'s Corollary 5 (``cor-gradient-domination``) at every gain of ``gains``.

    .. math::

        C(K) - C(K^*) \\le c\\, \\frac{\\|\\Sigma_{K^*}\\|_2}{\\mu^2 \\sigma_{\\min}(R)}
            \\|\\nabla C(K)\\|_F^2

    with c = ``constant`` (1 in the paper; 1/4 also holds, see the chapter).

    Parameters
    ----------
    task : Task
        The task; its DARE optimum gives K* and C(K*).
    gains : array, (N, m, n) or (m, n)
        Stabilizing gains (u = -K x), e.g. ``History.K``.
    constant : float
        The constant c > 0.
    gradient : callable, optional
        Replaces ``task``'s gradient, (N, m, n) -> (N, m, n): for the tests that show a wrong
        gradient breaks the inequality.

    Returns
    -------
    Domination
        Both sides, with the round-off allowance atol = ROUNDOFF_RTOL C(K*): C(K) and the DARE
        value C(K*) agree only to about 1e-14 relative where the gradient vanishes.

    Raises
    ------
    NotStabilizingError
        If a gain is not stabilizing.
    """
    constant = check_positive("constant", constant)
    gains = np.asarray(gains, dtype=float).reshape(-1, task.m, task.n)
    batch = TaskBatch.from_tasks([task] * len(gains))
    cost, grad = batch.cost_and_gradient(gains)
    if gradient is not None:
        grad = gradient(gains)
    factor = constant * domination_constant(task)
    optimal_cost = task.optimal_cost()
    return Domination(
        gap=cost - optimal_cost,
        bound=factor * np.sum(grad**2, axis=(1, 2)),
        atol=ROUNDOFF_RTOL * abs(optimal_cost),
    )


def _mu_over_sigma_star(task: Task) -> float:
    mu = float(np.linalg.eigvalsh(task.Sigma0)[0])
    return mu / float(np.linalg.norm(task.Sigma(task.optimal_gain()), 2))


def gauss_newton_rate(task: Task, step: float = 1.0) -> float:
    """The per-step contraction 1 - eta mu / ||Sigma_K*|| of the Gauss-Newton cost gap, 0 < eta <= 1.

    ``task`` gives mu = sigma_min(Sigma0) and Sigma_K*; ``step`` is eta.

    For K' = K - eta (R + B^T P_K B)^{-1} E_K (Fazel et al. 2018, Theorem 7; eta = 1 is policy
    iteration): C(K') - C* <= (1 - eta mu / ||Sigma_K*||) (C(K) - C*), the Gauss-Newton case
    of ``lem-contractions``.

    Raises
    ------
    ParameterError
        If step is not in (0, 1].
    """
    step = check_positive("step", step)
    if step > 1:
        raise ParameterError(f"step == {step}, must be in (0, 1]")
    return 1.0 - step * _mu_over_sigma_star(task)


def natural_gradient_rate(task: Task, step: float) -> float:
    """The per-step contraction 1 - eta mu sigma_min(R) / ||Sigma_K*|| of the natural gradient.

    ``task`` gives mu, R and Sigma_K*; ``step`` is eta.

    For K' = K - eta E_K with eta <= 1 / (||R|| + ||B||^2 C(K_0) / mu), the step of
    :func:`~ltijepa.lqr.policy_gradient.fazel_natural_step` (Fazel et al. 2018, Theorem 7), the
    natural-gradient case of ``lem-contractions``.
    """
    step = check_positive("step", step)
    return 1.0 - step * float(np.linalg.eigvalsh(task.R)[0]) * _mu_over_sigma_star(task)


def step_contractions(cost, optimal_cost: float, *, floor: float = 1e-9) -> np.ndarray:
    """Observed contractions (C(K_{k+1}) - C*) / (C(K_k) - C*) of a run's cost gap.

    The chapter compares them with the guaranteed factors of ``lem-contractions``
    (:func:`gauss_newton_rate`, :func:`natural_gradient_rate`).

    Only steps that start from a gap above ``floor * C*`` are returned: below it the gap is
    round-off (C(K) and C* agree to about 1e-14 relative) and the ratio means nothing.

    Parameters
    ----------
    cost : array, (N + 1,)
        C(K_0), ..., C(K_N), e.g. ``History.cost``.
    optimal_cost : float
        C*.
    floor : float
        Relative gap below which a step is not counted.

    Returns
    -------
    array
        One ratio per counted step, in order (empty if none).

    Examples
    --------
    >>> step_contractions(np.array([3.0, 2.0, 1.5, 1.25]), 1.0).tolist()
    [0.5, 0.5, 0.5]
    >>> step_contractions(np.array([1.0 + 1e-12, 1.0 + 2e-12]), 1.0).tolist()  # below the floor
    []
    """
    gap = np.asarray(cost, dtype=float) - float(optimal_cost)
    counted = gap[:-1] > floor * abs(float(optimal_cost))
    return gap[1:][counted] / gap[:-1][counted]
