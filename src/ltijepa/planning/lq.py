"""Exact finite-horizon LQ planning by the Riccati recursion: MPC's simplest world model.

The talk's "most simple realization" of planning with a world model (slide "Model Predictive
Control"): an LTI system and a quadratic cost over a horizon H,

.. math::

    s_{t+1} = A s_t + B a_t, \\qquad
    \\ell(s, a) = \\sum_{\\tau=0}^{H-1} \\big(s_\\tau^\\top Q s_\\tau + a_\\tau^\\top R a_\\tau\\big)
                 + s_H^\\top Q_f s_H .

Its exact minimiser is linear state feedback ``a_t = -K_t s_t`` with the backward recursion

.. math::

    P_H = Q_f, \\qquad K_t = (R + B^\\top P_{t+1} B)^{-1} B^\\top P_{t+1} A, \\qquad
    P_t = Q + A^\\top P_{t+1} (A - B K_t),

and the optimal cost from ``s_0`` is ``s_0^T P_0 s_0``. Receding-horizon LQ MPC applies
``a = -K_0 s`` at every step; as ``H`` grows, ``K_0`` tends to the infinite-horizon LQR gain
``K*`` of :meth:`ltijepa.lqr.Task.optimal_gain` (the DARE solution). The sign convention is
``u = -K x`` throughout, as in :mod:`ltijepa.lqr`.

The noise ``w_t`` of the talk's slide is left out: for a certainty-equivalent planner with
zero-mean noise the optimal actions are the same, only the expected cost grows by a constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ltijepa.checks import as_matrix, check_count, check_definite
from ltijepa.errors import DataError, ParameterError, ShapeError
from ltijepa.lqr import Task
from ltijepa.planning.base import CostFn, torch_generator
from ltijepa.planning.cem import CEMConfig, cem
from ltijepa.planning.mppi import MPPIConfig, mppi

__all__ = [
    "LQSolution",
    "riccati_recursion",
    "lq_mpc_gain",
    "lq_optimal_plan",
    "lq_cost_fn",
    "lq_step",
    "SweepConfig",
    "sample_sweep",
]


@dataclass(frozen=True)
class LQSolution:
    """The finite-horizon optimum of a task over ``H`` steps (``thm-lq-riccati``, eq. ``eq-lq-riccati``).

    Attributes
    ----------
    gains : numpy.ndarray, shape (H, m, n)
        ``K_t``, the optimal actions being ``a_t = -K_t s_t``.
    values : numpy.ndarray, shape (H + 1, n, n)
        ``P_t``, the optimal cost-to-go from time t being ``s^T P_t s``; ``P_H = Q_f``.
    """

    gains: np.ndarray
    values: np.ndarray


def _terminal_weight(task: Task, terminal_weight) -> np.ndarray:
    if terminal_weight is None:
        return task.Q
    Qf = as_matrix("terminal_weight", terminal_weight, (task.n, task.n))
    check_definite("terminal_weight", Qf, strict=False)
    return Qf


def riccati_recursion(task: Task, horizon: int, terminal_weight=None) -> LQSolution:
    """The backward Riccati recursion of the H-step LQ problem ``def-lq-planning``.

    .. math::  K_t = (R + B^\\top P_{t+1} B)^{-1} B^\\top P_{t+1} A, \\quad
               P_t = Q + A^\\top P_{t+1} (A - B K_t), \\quad P_H = Q_f

    By ``thm-lq-riccati`` (eq. ``eq-lq-riccati``) the minimiser is ``a_t = -K_t s_t`` and the
    minimum ``s_0^T P_0 s_0`` (:func:`lq_optimal_plan`), and ``K_0 -> K*`` as ``H -> infinity``
    (:func:`lq_mpc_gain`); the chapter checks both.

    Parameters
    ----------
    task : ltijepa.lqr.Task
        ``A (n, n)``, ``B (n, m)``, ``Q (n, n)``, ``R (m, m)`` (validated by the Task).
    horizon : int
        H >= 1.
    terminal_weight : array (n, n), optional
        ``Q_f``, symmetric positive semidefinite; default ``Q``.

    Returns
    -------
    LQSolution
        Gains ``K_0..K_{H-1}`` and values ``P_0..P_H`` (each ``P_t`` symmetrised).

    Raises
    ------
    ParameterError
        If ``horizon`` is not a positive integer.
    ShapeError, DataError
        If ``terminal_weight`` is not a symmetric PSD ``(n, n)`` matrix.

    Examples
    --------
    >>> task = Task([[1.0]], [[1.0]], [[1.0]], [[1.0]])
    >>> sol = riccati_recursion(task, 1)  # K_0 = P_1 / (1 + P_1) with P_1 = Q_f = 1
    >>> float(sol.gains[0, 0, 0]), float(sol.values[0, 0, 0])
    (0.5, 1.5)
    """
    check_count("horizon", horizon)
    A, B, Q, R = task.A, task.B, task.Q, task.R
    P = _terminal_weight(task, terminal_weight)
    gains, values = [], [P]
    for _ in range(horizon):
        K = np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
        P = Q + A.T @ P @ (A - B @ K)
        P = (P + P.T) / 2
        gains.append(K)
        values.append(P)
    return LQSolution(gains=np.array(gains[::-1]), values=np.array(values[::-1]))


def lq_mpc_gain(task: Task, horizon: int, terminal_weight=None) -> np.ndarray:
    """The receding-horizon LQ MPC gain ``K_0`` of the H-step problem: ``a = -K_0 s``.

    The gain whose limit ``K_0 -> K*`` (the DARE gain) as ``H -> infinity`` is the last statement
    of ``thm-lq-riccati``, the chapter's check ``ren2026.mpc.riccati.lqr_limit``.

    Parameters
    ----------
    task, horizon, terminal_weight
        As in :func:`ltijepa.planning.lq.riccati_recursion`.

    Returns
    -------
    numpy.ndarray, shape (m, n)
        ``K_0``, the first gain of :func:`riccati_recursion`.

    Raises
    ------
    ParameterError, ShapeError, DataError
        As :func:`riccati_recursion`.
    """
    return riccati_recursion(task, horizon, terminal_weight).gains[0]


def _check_states(task: Task, x0) -> np.ndarray:
    if isinstance(x0, torch.Tensor):
        x0 = x0.detach().cpu().numpy()
    x0 = np.asarray(x0, dtype=float)
    if x0.ndim != 2 or x0.shape[1] != task.n:
        raise ShapeError(f"x0: expected initial states (B, {task.n}), found {x0.shape}")
    if not np.all(np.isfinite(x0)):
        raise DataError(f"x0 has non-finite entries: {x0.tolist()}", name="x0")
    return x0


def lq_optimal_plan(task: Task, x0, horizon: int, terminal_weight=None) -> tuple[np.ndarray, np.ndarray]:
    """The exact optimal open-loop plan and its cost from each initial state.

    The minimiser and the minimum of ``def-lq-planning`` by ``thm-lq-riccati``:

    .. math::  a_t = -K_t s_t, \\quad s_{t+1} = A s_t + B a_t, \\qquad
               \\ell^\\star(s_0) = s_0^\\top P_0 s_0

    (the lower bound of the chapter's check ``ren2026.mpc.riccati.lower_bound``, via
    :func:`sample_sweep`).

    Parameters
    ----------
    task : ltijepa.lqr.Task
    x0 : array, shape (B, n)
        Initial states.
    horizon : int
        H >= 1.
    terminal_weight : array (n, n), optional
        ``Q_f``; default ``Q``.

    Returns
    -------
    actions : numpy.ndarray, shape (B, H, m)
    cost : numpy.ndarray, shape (B,)
        ``s_0^T P_0 s_0``.

    Raises
    ------
    ShapeError
        If ``x0`` is not ``(B, n)``.
    DataError
        If ``x0`` has non-finite entries, or as :func:`riccati_recursion`.
    ParameterError
        As :func:`riccati_recursion`.
    """
    x0 = _check_states(task, x0)
    solution = riccati_recursion(task, horizon, terminal_weight)
    x, actions = x0, []
    for K in solution.gains:
        u = -x @ K.T
        actions.append(u)
        x = x @ task.A.T + u @ task.B.T
    cost = np.einsum("bi,ij,bj->b", x0, solution.values[0], x0)
    return np.stack(actions, axis=1), cost


def lq_step(task: Task, *, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu"):
    """The true system as an MPC ``step``: ``(x (B, n), u (B, m)) -> A x + B u``.

    Parameters
    ----------
    task : ltijepa.lqr.Task
        Supplies ``A (n, n)`` and ``B (n, m)`` (the cost weights are not used).
    dtype : torch.dtype
        Of the copies of ``A`` and ``B`` (default ``torch.float64``); ``x`` and ``u`` must match.
    device : str or torch.device
        Where ``A`` and ``B`` are kept (default ``"cpu"``); ``x`` and ``u`` must be there.

    Returns
    -------
    callable
        ``step(x, u)`` on tensors ``(B, n)`` and ``(B, m)``, returning the next states ``(B, n)``.
    """
    A = torch.tensor(np.array(task.A), dtype=dtype, device=device)
    B = torch.tensor(np.array(task.B), dtype=dtype, device=device)
    return lambda x, u: x @ A.T + u @ B.T


def lq_cost_fn(
    task: Task,
    x0,
    terminal_weight=None,
    *,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> CostFn:
    """The H-step quadratic cost ``l`` of ``def-lq-planning`` (eq. ``eq-lq-cost``), batched.

    .. math::  \\ell(s_0, a) = \\sum_{\\tau=0}^{H-1} \\big(s_\\tau^\\top Q s_\\tau
               + a_\\tau^\\top R a_\\tau\\big) + s_H^\\top Q_f s_H

    The returned function maps actions ``(B, N, H, m)`` to ``(B, N)`` costs (the horizon is
    read from the actions), by rolling the model out from ``x0[b]`` for every candidate.

    Parameters
    ----------
    task : ltijepa.lqr.Task
    x0 : array or torch.Tensor, shape (B, n)
        Initial states of the ``B`` problems.
    terminal_weight : array (n, n), optional
        ``Q_f``; default ``Q``.
    dtype, device
        Of the computation.

    Returns
    -------
    callable
        A cost function for :func:`~ltijepa.planning.cem.cem` and
        :func:`~ltijepa.planning.mppi.mppi`.

    Raises
    ------
    ShapeError
        If ``x0`` is not ``(B, n)`` (here, or actions without ``m`` columns when called).
    DataError
        If ``terminal_weight`` is not symmetric PSD.
    """
    x0 = torch.as_tensor(_check_states(task, x0), dtype=dtype, device=device)
    A, B, Q, R, Qf = (
        torch.tensor(np.array(M), dtype=dtype, device=device)
        for M in (task.A, task.B, task.Q, task.R, _terminal_weight(task, terminal_weight))
    )

    def cost(actions: torch.Tensor) -> torch.Tensor:
        if actions.ndim != 4 or actions.shape[0] != x0.shape[0] or actions.shape[3] != task.m:
            raise ShapeError(f"actions: expected (B={x0.shape[0]}, N, H, m={task.m}), found {tuple(actions.shape)}")
        batch, samples, horizon, _ = actions.shape
        # 2-D matmuls on (B * N, n): several times faster than batched 3-D ones for small n
        x = x0.repeat_interleave(samples, dim=0)
        u_all = actions.reshape(batch * samples, horizon, task.m)
        total = torch.zeros(batch * samples, dtype=dtype, device=device)
        for t in range(horizon):
            u = u_all[:, t]
            total = total + ((x @ Q) * x).sum(-1) + ((u @ R) * u).sum(-1)
            x = x @ A.T + u @ B.T
        return (total + ((x @ Qf) * x).sum(-1)).reshape(batch, samples)

    return cost


@dataclass(frozen=True)
class SweepConfig:
    """The comparison of a sampling planner with the exact optimum (:func:`sample_sweep`)."""

    sample_counts: tuple[int, ...] = (10, 30, 100, 300, 1000, 3000)
    """numbers of candidate sequences N per iteration, increasing"""
    problems: int = 32
    """initial states, drawn from N(0, I)"""
    horizon: int = 10
    """planning horizon H"""
    iterations: int = 30
    """planner iterations at every N"""
    elite_fraction: float = 0.1
    """elites per sample (at least 2)"""

    def __post_init__(self):
        for N in self.sample_counts:
            check_count("sample count", N)
        if list(self.sample_counts) != sorted(set(self.sample_counts)):
            raise ParameterError(
                f"sample_counts == {self.sample_counts}, must be strictly increasing",
                name="sample_counts", value=self.sample_counts,
            )
        for name in ("problems", "horizon", "iterations"):
            check_count(name, getattr(self, name))
        if not 0.0 < self.elite_fraction <= 1.0:
            raise ParameterError(
                f"elite_fraction == {self.elite_fraction!r}, must lie in (0, 1]",
                name="elite_fraction", value=self.elite_fraction,
            )


def sample_sweep(task: Task, x0, config: SweepConfig, *, planner: str, seed: int) -> np.ndarray:
    """Relative gaps ``(c(plan) - l*) / l*`` of a sampling planner on the exact LQ problem.

    For each N of ``config.sample_counts`` the planner (``"cem"`` or ``"mppi"``, from zero
    means, unbounded actions) minimises the H-step cost :func:`lq_cost_fn` from every initial
    state; ``l* = s_0^T P_0 s_0`` is the exact optimum of :func:`riccati_recursion`.

    Parameters
    ----------
    task, x0
        As in :func:`ltijepa.planning.lq.lq_optimal_plan`.
    config : SweepConfig
    planner : str
        ``"cem"`` or ``"mppi"``.
    seed : int
        Seed of the planner's noise.

    Returns
    -------
    numpy.ndarray, shape (len(sample_counts), B)
        Never below zero by more than round-off, if the recursion is right.

    Raises
    ------
    ParameterError
        If ``planner`` is unknown.
    """
    if planner not in ("cem", "mppi"):
        raise ParameterError(f"planner == {planner!r}, must be 'cem' or 'mppi'", name="planner", value=planner)
    x0 = _check_states(task, x0)
    _, optimum = lq_optimal_plan(task, x0, config.horizon)
    cost_fn = lq_cost_fn(task, x0)
    generator = torch_generator(seed)
    init = torch.zeros(len(x0), config.horizon, task.m, dtype=torch.float64)
    gaps = []
    for samples in config.sample_counts:
        elites = min(samples, max(2, round(config.elite_fraction * samples)))
        if planner == "cem":
            plan = cem(cost_fn, init, config=CEMConfig(samples, elites, config.iterations), generator=generator)
        else:
            plan = mppi(cost_fn, init, config=MPPIConfig(samples, elites, config.iterations), generator=generator)
        gaps.append((plan.cost.numpy() - optimum) / optimum)
    return np.array(gaps)
