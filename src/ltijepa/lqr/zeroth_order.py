"""Zeroth-order (model-free) estimates of the LQR gradient from finite-horizon rollouts.

Two estimators, both vectorised over the tasks of a :class:`~ltijepa.lqr.batched.TaskBatch`
and over the samples, with u = -K x and d = m n the number of entries of K:

- one-point (Fazel et al. 2018, Algorithm 1): draw U_j uniformly on the Frobenius sphere
  ||U||_F = r, roll out K + U_j for ``horizon`` steps from x_0 ~ N(0, Sigma0), and return

  .. math::

      \\widehat{\\nabla C}(K) = \\frac{d}{r^2} \\frac{1}{N} \\sum_{j=1}^{N} \\hat C(K + U_j)\\, U_j;

- two-point (Malik et al. 2019): the same U_j and one x_0 for the pair K + U_j, K - U_j,

  .. math::

      \\widehat{\\nabla C}(K) = \\frac{d}{2 r^2} \\frac{1}{N}
          \\sum_{j=1}^{N} \\big(\\hat C(K + U_j) - \\hat C(K - U_j)\\big)\\, U_j.

Both are unbiased estimates of the gradient of the smoothed finite-horizon cost
E_{V uniform in the ball ||V||_F <= r} C_l(K + V), which tends to nabla C(K) as r -> 0 and
l -> infinity: the smoothing argument of both papers.

The rollout cost :math:`\\hat C` sums the stage costs x_t^T Q x_t + u_t^T R u_t over
t = 0, ..., l - 1. Fazel et al.'s Algorithm 1 writes sum_{t=1}^{l} c_t for the l costs of a
trajectory simulated from x_0; we read c_1 as the cost at x_0, so that the rollout cost tends
to C(K) = E sum_{t >= 0} (their cost) as l grows. The FedLQR authors' code (Wang et al.)
propagates the state before adding the cost, so it sums t = 1, ..., l; ``skip_initial=True``
reproduces that. It matters: the t = 0 term is x_0^T (Q + K^T R K) x_0, whose expected
gradient 2 R K Sigma0 is then missing, so that estimate converges to
nabla C(K) - 2 R K Sigma0, not to nabla C(K).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ltijepa.checks import check_count, check_positive, check_stabilizing
from ltijepa.errors import ParameterError, SolverError
from ltijepa.lqr.batched import TaskBatch
from ltijepa.lqr.task import Task

__all__ = [
    "ESTIMATORS",
    "ZerothOrderGradient",
    "estimate_gradient",
    "estimation_errors",
    "rollout_costs",
    "sample_directions",
    "sample_initial_states",
]

#: The estimators :func:`estimate_gradient` knows.
ESTIMATORS = ("one_point", "two_point")


@dataclass(frozen=True)
class ZerothOrderGradient:
    """A zeroth-order gradient estimate and what it cost."""

    gradient: np.ndarray
    """The estimate of nabla C_i(K) for every task, shape (M, m, n)."""
    rollouts: int
    """The number of trajectories simulated, over all tasks (one-point: M N, two-point: 2 M N)."""
    horizon: int
    """The length l of every rollout."""


def sample_directions(shape: tuple[int, ...], m: int, n: int, radius: float, rng) -> np.ndarray:
    """Matrices U uniform on the Frobenius sphere ||U||_F = radius, shape ``shape + (m, n)``.

    A standard Gaussian matrix divided by its Frobenius norm is uniform on the unit sphere.
    ``m, n`` is the shape of one direction, ``rng`` a seed or Generator for the draws.

    Examples
    --------
    >>> U = sample_directions((3,), 2, 2, 0.5, np.random.default_rng(0))
    >>> np.linalg.norm(U, axis=(1, 2)).round(12).tolist()
    [0.5, 0.5, 0.5]
    """
    gaussian = np.random.default_rng(rng).standard_normal((*shape, m, n))
    return radius * gaussian / np.linalg.norm(gaussian, axis=(-2, -1), keepdims=True)


def sample_initial_states(batch: TaskBatch, samples: int, rng) -> np.ndarray:
    """Initial states x_0 ~ N(0, Sigma0_i) for every task, shape (M, samples, n).

    ``batch`` gives each task's Sigma0; ``rng`` (a seed or a Generator) draws the states.
    """
    factor = np.linalg.cholesky(batch.Sigma0)  # Sigma0 is positive definite (checked by Task)
    z = np.random.default_rng(rng).standard_normal((batch.M, samples, batch.n))
    return z @ np.swapaxes(factor, 1, 2)


def rollout_costs(
    batch: TaskBatch, gains: np.ndarray, x0: np.ndarray, horizon: int, *, skip_initial: bool = False
) -> np.ndarray:
    """Costs of noiseless rollouts of x_{t+1} = A x_t + B u_t, u_t = -K x_t, for every task.

    .. math::

        \\hat C = \\sum_{t=t_0}^{t_0 + l - 1} x_t^\\top Q x_t + u_t^\\top R u_t
                = x_0^\\top P_l x_0, \\qquad
        P_l = \\sum_{t=t_0}^{t_0 + l - 1} (A_K^\\top)^t (Q + K^\\top R K) A_K^t,

    with A_K = A - B K and t_0 = 0 (default) or 1 (``skip_initial``). The simulator is exact:
    a noiseless trajectory's cost is the quadratic form x_0^T P_l x_0, and P_l is summed by
    doubling (the partial sums over 2^k steps and the powers A_K^{2^k}), about 6 log2(l)
    batched products instead of l time steps. The estimators see only the returned costs.
    (The tests check the result against a step-by-step simulation.)

    Parameters
    ----------
    batch : TaskBatch
        The M tasks.
    gains : array, (M, S, m, n)
        One gain per task and rollout.
    x0 : array, (M, S, n)
        Initial states.
    horizon : int
        Number l of stage costs summed.
    skip_initial : bool
        Sum t = 1..l instead of t = 0..l-1 (the FedLQR code's convention).

    Returns
    -------
    array, (M, S)
        The costs; ``inf`` or ``nan`` where a rollout overflowed (no warning is emitted).
    """
    closed_loop = batch.A[:, None] - batch.B[:, None] @ gains
    block_sum = batch.Q[:, None] + np.swapaxes(gains, -1, -2) @ batch.R[:, None] @ gains  # 2^0 steps
    block_power = closed_loop  # A_K^(2^k)
    offset = closed_loop if skip_initial else np.broadcast_to(np.eye(batch.n), closed_loop.shape)
    total = np.zeros_like(block_sum)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported by the caller
        for bit in range(int(horizon).bit_length()):
            if horizon >> bit & 1:  # the next 2^bit steps, starting at the current offset
                total = total + np.swapaxes(offset, -1, -2) @ block_sum @ offset
                offset = block_power @ offset
            block_sum = block_sum + np.swapaxes(block_power, -1, -2) @ block_sum @ block_power
            block_power = block_power @ block_power
        return np.einsum("...i,...ij,...j->...", x0, total, x0)


def estimate_gradient(
    batch: TaskBatch,
    K,
    *,
    estimator: str = "one_point",
    radius: float,
    samples: int,
    horizon: int,
    rng=None,
    skip_initial: bool = False,
) -> ZerothOrderGradient:
    """Zeroth-order estimate of nabla C_i(K) for every task of ``batch`` (module docstring).

    Parameters
    ----------
    batch : TaskBatch
        The M tasks; only rollouts are used (the model simulates them).
    K : array, (m, n) or (M, m, n)
        One gain shared by all tasks, or one per task; u = -K x.
    estimator : {"one_point", "two_point"}
        Fazel et al.'s Algorithm 1, or Malik et al.'s two-point estimator.
    radius : float
        Smoothing radius r > 0 (Frobenius norm of the perturbations U_j).
    samples : int
        Number N >= 1 of perturbations per task.
    horizon : int
        Rollout length l >= 1.
    rng : seed or numpy.random.Generator
        Source of the perturbations and the initial states.
    skip_initial : bool
        Sum the rollout cost over t = 1..l (the FedLQR code) instead of t = 0..l-1 (Fazel).

    Returns
    -------
    ZerothOrderGradient
        ``.gradient`` of shape (M, m, n) and ``.rollouts``, the trajectories simulated.

    Raises
    ------
    ParameterError
        If ``estimator`` is unknown, or radius, samples or horizon are out of range.
    ShapeError, DataError
        If K has the wrong shape or non-finite entries.
    NotStabilizingError
        If a rollout cost overflows, a perturbed gain K +- U_j
        far outside the stabilizing set; ``.task_index`` names the task and ``.rho`` is
        rho(A - B (K +- U_j)) of that task and perturbation.
    SolverError
        If a rollout cost overflows although its perturbed gain is stabilizing (a horizon too
        long for the transient growth of A - B (K +- U_j)).

    Examples
    --------
    >>> from ltijepa.lqr.task import Task
    >>> batch = TaskBatch.from_tasks([Task([[1.0]], [[1.0]], [[1.0]], [[1.0]])])
    >>> est = estimate_gradient(batch, [[0.5]], estimator="two_point", radius=0.01,
    ...                         samples=4, horizon=50, rng=0)
    >>> est.gradient.shape, est.rollouts
    ((1, 1, 1), 8)
    """
    if estimator not in ESTIMATORS:
        raise ParameterError(f"estimator == {estimator!r}, must be one of {ESTIMATORS}")
    if not isinstance(batch, TaskBatch):
        raise ParameterError(f"batch is a {type(batch).__name__}, must be a TaskBatch (TaskBatch.from_tasks)",
                             name="batch", value=batch)
    radius = check_positive("radius", radius)
    samples = check_count("samples", samples)
    horizon = check_count("horizon", horizon)
    gains = batch.gains(K)[:, None]  # (M, 1, m, n)
    direction_rng, state_rng = np.random.default_rng(rng).spawn(2)
    U = sample_directions((batch.M, samples), batch.m, batch.n, radius, direction_rng)
    x0 = sample_initial_states(batch, samples, state_rng)
    d = batch.m * batch.n
    if estimator == "one_point":
        perturbed, starts = gains + U, x0
    else:
        perturbed, starts = np.concatenate([gains + U, gains - U], axis=1), np.concatenate([x0, x0], axis=1)
    costs = rollout_costs(batch, perturbed, starts, horizon, skip_initial=skip_initial)
    if not np.all(np.isfinite(costs)):
        _raise_overflow(batch, perturbed, costs)
    if estimator == "one_point":
        weights, scale = costs, d / radius**2
    else:
        weights, scale = costs[:, :samples] - costs[:, samples:], d / (2 * radius**2)
    gradient = scale * np.mean(weights[..., None, None] * U, axis=1)
    return ZerothOrderGradient(gradient=gradient, rollouts=costs.size, horizon=horizon)


def _raise_overflow(batch: TaskBatch, perturbed: np.ndarray, costs: np.ndarray) -> None:
    """Raise for the first rollout whose cost overflowed: :class:`~ltijepa.errors.NotStabilizingError`
    (with ``task_index``) when its perturbed gain is not stabilizing, else :class:`~ltijepa.errors.SolverError`."""
    task, sample = (int(i) for i in np.argwhere(~np.isfinite(costs))[0])
    rho = float(np.max(np.abs(np.linalg.eigvals(batch.A[task] - batch.B[task] @ perturbed[task, sample]))))
    overflow = f"the rollout cost of sample {sample} overflowed"
    check_stabilizing(rho, gain="K +- U", label=f"task {task}",
                      advice=f"{overflow}; decrease radius or start from a stabilizing K", task_index=task)
    raise SolverError(f"task {task}: {overflow} although rho(A - B (K +- U)) == {rho:.6g} < 1 (shorten the "
                      "horizon)", status="overflow")


def estimation_errors(
    task: Task,
    K,
    *,
    estimator: str,
    samples: Sequence[int],
    repeats: int,
    radius: float,
    horizon: int,
    rng=None,
) -> np.ndarray:
    """Relative errors ||g_hat - nabla C(K)||_F / ||nabla C(K)||_F of independent estimates.

    For each number of samples N in ``samples``, ``repeats`` independent estimates
    (:func:`estimate_gradient` on a batch of ``repeats`` copies of ``task``).

    Parameters
    ----------
    task : Task
        The task; its exact gradient is the reference.
    K : array, (m, n)
        A stabilizing gain.
    estimator, radius, horizon
        As in :func:`ltijepa.lqr.zeroth_order.estimate_gradient`.
    samples : sequence of int
        The numbers N of perturbations per estimate.
    repeats : int
        Independent estimates per N.
    rng : seed or numpy.random.Generator
        Source of all draws.

    Returns
    -------
    array, (len(samples), repeats)

    Raises
    ------
    NotStabilizingError
        If K is not stabilizing.
    """
    repeats = check_count("repeats", repeats)
    exact = task.gradient(K)
    batch = TaskBatch.from_tasks([task] * repeats)
    rng = np.random.default_rng(rng)
    errors = []
    for n_samples in samples:
        estimate = estimate_gradient(batch, K, estimator=estimator, radius=radius, samples=n_samples,
                                     horizon=horizon, rng=rng)
        errors.append(np.linalg.norm(estimate.gradient - exact, axis=(1, 2)) / np.linalg.norm(exact))
    return np.array(errors)
