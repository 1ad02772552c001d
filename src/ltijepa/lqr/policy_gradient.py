"""Policy-gradient methods for LQR: gradient descent, natural gradient, Gauss-Newton, model-free.

With u = -K x, E_K = (R + B^T P_K B) K - B^T P_K A and nabla C(K) = 2 E_K Sigma_K
(Fazel et al. 2018, Lemma 1), the three exact updates are

.. math::

    \\text{gradient descent:} \\quad K \\leftarrow K - \\eta\\, \\nabla C(K), \\\\
    \\text{natural gradient:} \\quad K \\leftarrow K - \\eta\\, E_K
        = K - \\tfrac{\\eta}{2} \\nabla C(K) \\Sigma_K^{-1}, \\\\
    \\text{Gauss-Newton:} \\quad K \\leftarrow K - \\eta\\, (R + B^\\top P_K B)^{-1} E_K
        = K - \\tfrac{\\eta}{2} (R + B^\\top P_K B)^{-1} \\nabla C(K) \\Sigma_K^{-1}.

Fazel et al. display the natural-gradient and Gauss-Newton updates with the factor
nabla C(K) Sigma_K^{-1} = 2 E_K; we write them with E_K (the factor 2 absorbed into eta). In
this form Gauss-Newton with eta = 1 is policy iteration (Hewer's algorithm: K' = (R + B^T P_K
B)^{-1} B^T P_K A), and the per-step contractions of their Theorem 7 hold with their step
sizes; the derivations are in the chapter "LQR by policy gradient":

- Gauss-Newton, 0 < eta <= 1: C(K') - C* <= (1 - eta mu / ||Sigma_K*||) (C(K) - C*);
- natural gradient, eta = 1 / (||R|| + ||B||^2 C(K_0) / mu):
  C(K') - C* <= (1 - eta mu sigma_min(R) / ||Sigma_K*||) (C(K) - C*),

with mu = sigma_min(Sigma0) (:func:`~ltijepa.lqr.landscape.gauss_newton_rate`,
:func:`~ltijepa.lqr.landscape.natural_gradient_rate`).

Step-size rule ``step=None`` (backtracking, documented once here): at iterate K with gradient
g and direction D, try eta = 2 eta_prev (first eta = ``initial_step``, never above
``max_step``) and halve it, at most ``max_backtracks`` times, until K - eta D is stabilizing
and satisfies Armijo's sufficient decrease

.. math::

    C(K - \\eta D) \\le C(K) - c\\, \\eta\\, \\langle g, D \\rangle_F, \\qquad c = 10^{-4}.

(and C(K - eta D) < C(K) in floating point). Every iterate is then stabilizing and the
cost decreases strictly. If no trial step is accepted (at a numerical stationary point the
decrease is below round-off) the run stops early, with ``History.stop == "no_decrease"``.

A constant step (a float) that leaves the stabilizing set raises
:class:`~ltijepa.errors.NotStabilizingError` naming the iteration.

The exact methods are generic over an :class:`Objective`: a :class:`~ltijepa.lqr.task.Task`,
the multitask average :class:`~ltijepa.multitask.objective.MultitaskObjective`, FedLQR's
:class:`~ltijepa.fedlqr.objective.CostWithoutInitialTerm`, ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from tqdm import tqdm

from ltijepa.checks import check_count, check_positive, check_stabilizing
from ltijepa.errors import ParameterError
from ltijepa.lqr.batched import TaskBatch
from ltijepa.lqr.task import Task
from ltijepa.lqr.zeroth_order import estimate_gradient

__all__ = [
    "ARMIJO",
    "Objective",
    "History",
    "gradient_descent",
    "natural_gradient",
    "gauss_newton",
    "model_free_gradient_descent",
    "fazel_natural_step",
    "initial_gain",
]

#: Armijo's constant c of the backtracking rule.
ARMIJO = 1e-4


@runtime_checkable
class Objective(Protocol):
    """What the exact methods minimise: a cost of a gain K (u = -K x) on the stabilizing set.

    :class:`~ltijepa.lqr.task.Task` is one; so are the multitask average
    :class:`~ltijepa.multitask.objective.MultitaskObjective` and FedLQR's
    :class:`~ltijepa.fedlqr.objective.CostWithoutInitialTerm`.
    """

    def cost(self, K) -> float:
        """The cost at K (finite on the stabilizing set)."""

    def gradient(self, K) -> np.ndarray:
        """Its gradient at K, shape (m, n)."""

    def is_stabilizing(self, K):
        """Whether K stabilizes (every task): a bool, or one per task."""

    def spectral_radius(self, K):
        """rho(A - B K) (one per task for several tasks)."""


@dataclass(frozen=True)
class History:
    """The iterates of a policy-gradient run and their exact costs.

    Costs and gradient norms are exact (model-based) evaluations, also for the model-free
    method, whose updates use rollouts only.
    """

    method: str
    """Name of the method, e.g. ``"gauss_newton"``."""
    K: np.ndarray
    """Gains K_0, ..., K_N, shape (N + 1, m, n)."""
    cost: np.ndarray
    """C(K_0), ..., C(K_N), shape (N + 1,)."""
    grad_norm: np.ndarray
    """Frobenius norms ||nabla C(K_k)||_F of the exact gradient, shape (N + 1,)."""
    step: np.ndarray
    """Step sizes eta_0, ..., eta_{N-1} taken, shape (N,)."""
    rho: np.ndarray
    """Spectral radius of every iterate's closed loop (the largest over tasks for a multitask
    objective), shape (N + 1,)."""
    stop: str
    """Why the run stopped: ``"iterations"``, ``"tolerance"`` (gradient norm <= tol) or
    ``"no_decrease"`` (backtracking found no acceptable step)."""
    rollouts: int = 0
    """Trajectories simulated (model-free method; 0 for the exact methods)."""

    @property
    def iterations(self) -> int:
        """The number N of updates made."""
        return len(self.step)

    @property
    def final(self) -> np.ndarray:
        """The last gain K_N, shape (m, n)."""
        return self.K[-1]

    def gap(self, optimal_cost: float) -> np.ndarray:
        """C(K_k) - C* for every iterate, shape (N + 1,); ``optimal_cost`` is C*."""
        return self.cost - float(optimal_cost)


class _Recorder:
    """Collects iterates, exact costs, gradient norms and spectral radii of a run."""

    def __init__(self, objective: Objective, method: str):
        self.objective, self.method = objective, method
        self.K, self.cost, self.grad_norm, self.step, self.rho = [], [], [], [], []

    def add(self, K: np.ndarray, cost: float, gradient: np.ndarray) -> None:
        self.K.append(K)
        self.cost.append(cost)
        self.grad_norm.append(float(np.linalg.norm(gradient)))
        self.rho.append(_rho(self.objective, K))

    def history(self, stop: str, rollouts: int = 0) -> History:
        return History(
            method=self.method,
            K=np.array(self.K),
            cost=np.array(self.cost),
            grad_norm=np.array(self.grad_norm),
            step=np.array(self.step, dtype=float),
            rho=np.array(self.rho),
            stop=stop,
            rollouts=rollouts,
        )


def _rho(objective: Objective, K: np.ndarray) -> float:
    """The largest closed-loop spectral radius (over the tasks of the objective)."""
    return float(np.max(objective.spectral_radius(K)))


def _start(objective: Objective, K0) -> np.ndarray:
    if not isinstance(objective, Objective):
        raise ParameterError(
            f"objective == {objective!r}, must be an Objective (cost, gradient, is_stabilizing, "
            "spectral_radius)", name="objective", value=objective,
        )
    K = np.array(K0, dtype=float)
    if K.ndim != 2 or not np.all(np.isfinite(K)):
        raise ParameterError(f"K0 must be a finite 2-D gain (m, n), found shape {K.shape}: {K.tolist()}")
    check_stabilizing(objective.spectral_radius(K), gain="K0")
    return K


def _check_step(objective: Objective, K: np.ndarray, iteration: int, step: float, advice: str) -> None:
    """Raise :class:`~ltijepa.errors.NotStabilizingError` (with ``iteration``) unless the iterate
    K reached by a constant ``step`` is stabilizing (every task's spectral radius < 1)."""
    check_stabilizing(objective.spectral_radius(K), advice=f"step == {step:.6g} leaves the stabilizing set; {advice}",
                      iteration=iteration)


def _descend(
    objective: Objective,
    K0,
    direction: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    method: str,
    iterations: int,
    step: float | None,
    initial_step: float,
    max_step: float,
    max_backtracks: int,
    tol: float,
    progress: bool,
) -> History:
    """The loop shared by the exact methods: K <- K - eta direction(K, grad C(K))."""
    iterations = check_count("iterations", iterations, minimum=0)
    if step is not None:
        step = check_positive("step", step)
    eta = check_positive("initial_step", initial_step) / 2  # the first trial step is 2 eta
    max_backtracks = check_count("max_backtracks", max_backtracks, minimum=0)
    K = _start(objective, K0)
    record = _Recorder(objective, method)
    cost, gradient = float(objective.cost(K)), np.asarray(objective.gradient(K))
    record.add(K, cost, gradient)
    stop = "iterations"
    for n in tqdm(range(iterations), desc=method, disable=not progress):
        if record.grad_norm[-1] <= tol:
            stop = "tolerance"
            break
        D = direction(K, gradient)
        if step is None:
            accepted = _backtrack(objective, K, cost, gradient, D, min(2 * eta, max_step), max_backtracks)
            if accepted is None:
                stop = "no_decrease"
                break
            eta, K, cost = accepted
        else:
            eta, K = step, K - step * D
            _check_step(objective, K, n + 1, step, "take a smaller step, or step=None")
            cost = float(objective.cost(K))
        gradient = np.asarray(objective.gradient(K))
        record.step.append(eta)
        record.add(K, cost, gradient)
    return record.history(stop)


def _backtrack(objective, K, cost, gradient, D, eta, max_backtracks):
    """The first eta in eta, eta/2, ... with K - eta D stabilizing and Armijo's decrease."""
    slope = float(np.sum(gradient * D))
    if not slope > 0:
        return None
    for _ in range(max_backtracks + 1):
        trial = K - eta * D
        if bool(np.all(objective.is_stabilizing(trial))):
            trial_cost = float(objective.cost(trial))
            if trial_cost < cost and trial_cost <= cost - ARMIJO * eta * slope:
                return eta, trial, trial_cost
        eta /= 2
    return None


def gradient_descent(
    objective: Objective,
    K0,
    *,
    iterations: int,
    step: float | None = None,
    initial_step: float = 1.0,
    max_backtracks: int = 60,
    tol: float = 0.0,
    progress: bool = False,
) -> History:
    """Policy gradient descent K <- K - eta nabla C(K) (Fazel et al. 2018, Sec. 2).

    Generic: ``objective`` is any :class:`Objective` (a :class:`Task`, a multitask average,
    ...); its ``spectral_radius`` is recorded at every iterate.

    Parameters
    ----------
    objective : Objective
        The cost to minimise.
    K0 : array, (m, n)
        Stabilizing initial gain (u = -K x).
    iterations : int
        Maximum number N of updates.
    step : float, optional
        Constant step size eta; ``None`` (default) uses the backtracking rule of the module
        docstring.
    initial_step : float
        First trial step of the backtracking rule.
    max_backtracks : int
        Halvings tried per iteration before stopping with ``"no_decrease"``.
    tol : float
        Stop when ||nabla C(K)||_F <= tol.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    History

    Raises
    ------
    NotStabilizingError
        If K0 is not stabilizing, or a constant step leaves the stabilizing set.
    ParameterError
        If iterations, step or initial_step are out of range, or ``objective`` is not an
        :class:`Objective`.

    Examples
    --------
    >>> task = Task([[1.0]], [[1.0]], [[1.0]], [[1.0]])
    >>> history = gradient_descent(task, [[0.5]], iterations=50)
    >>> bool(abs(history.final[0, 0] - task.optimal_gain()[0, 0]) < 1e-6)
    True
    """
    return _descend(
        objective, K0, lambda K, g: g, method="gradient_descent", iterations=iterations, step=step,
        initial_step=initial_step, max_step=np.inf, max_backtracks=max_backtracks, tol=tol,
        progress=progress,
    )


def fazel_natural_step(task: Task, K0) -> float:
    """Fazel et al.'s natural-gradient step eta = 1 / (||R|| + ||B||^2 C(K0) / mu).

    (Theorem 7, natural policy gradient case), with mu = sigma_min(Sigma0) and spectral norms,
    from the matrices of ``task`` and the initial gain ``K0``; for the update
    K <- K - eta E_K of :func:`natural_gradient`.

    Raises
    ------
    NotStabilizingError
        If K0 is not stabilizing.
    """
    mu = float(np.linalg.eigvalsh(task.Sigma0)[0])
    return 1.0 / (np.linalg.norm(task.R, 2) + np.linalg.norm(task.B, 2) ** 2 * task.cost(K0) / mu)


def natural_gradient(
    task: Task,
    K0,
    *,
    iterations: int,
    step: float | str | None = "fazel",
    initial_step: float = 1.0,
    max_backtracks: int = 60,
    tol: float = 0.0,
    progress: bool = False,
) -> History:
    """Natural policy gradient K <- K - eta E_K = K - (eta/2) nabla C(K) Sigma_K^{-1}.

    Parameters
    ----------
    task : Task
        The LQR task.
    K0 : array, (m, n)
        Stabilizing initial gain.
    iterations : int
        Maximum number of updates.
    step : "fazel", float or None
        ``"fazel"`` (default): :func:`fazel_natural_step` at K0, the step of Fazel et al.'s
        Theorem 7; a float: that constant step; ``None``: backtracking (module docstring).
    initial_step, max_backtracks, tol, progress
        As in :func:`ltijepa.lqr.policy_gradient.gradient_descent`.

    Returns
    -------
    History
        ``method == "natural_gradient"``.

    Raises
    ------
    NotStabilizingError
        If K0 is not stabilizing, or a constant step leaves the stabilizing set.
    ParameterError
        If step is neither "fazel", a positive float nor None.
    """
    if isinstance(step, str):
        if step != "fazel":
            raise ParameterError(f"step == {step!r}, must be 'fazel', a number > 0 or None")
        step = fazel_natural_step(task, K0)
    return _descend(
        task, K0, lambda K, g: task.E(K), method="natural_gradient", iterations=iterations,
        step=step, initial_step=initial_step, max_step=np.inf, max_backtracks=max_backtracks,
        tol=tol, progress=progress,
    )


def gauss_newton(
    task: Task,
    K0,
    *,
    iterations: int,
    step: float | None = 1.0,
    max_backtracks: int = 60,
    tol: float = 0.0,
    progress: bool = False,
) -> History:
    """Gauss-Newton K <- K - eta (R + B^T P_K B)^{-1} E_K; eta = 1 (default) is policy iteration.

    With eta = 1 the update is K' = (R + B^T P_K B)^{-1} B^T P_K A (Hewer's policy iteration),
    which converges to the DARE gain; the contraction of the cost gap is at most
    1 - eta mu / ||Sigma_K*|| per step for 0 < eta <= 1 (Fazel et al. 2018, Theorem 7).

    Parameters
    ----------
    task, K0, iterations
        As in :func:`ltijepa.lqr.policy_gradient.natural_gradient`.
    step : float or None
        Constant step eta (default 1); ``None``: backtracking from eta = 1, never above 1.
    max_backtracks, tol, progress
        As in :func:`ltijepa.lqr.policy_gradient.gradient_descent`.

    Returns
    -------
    History
        ``method == "gauss_newton"``; with ``step=1`` its ``step`` entries are all 1.

    Raises
    ------
    NotStabilizingError
        If K0 is not stabilizing, or the step eta leaves the stabilizing set.
    """

    def direction(K, gradient):
        P = task.P(K)
        return np.linalg.solve(task.R + task.B.T @ P @ task.B, task.E(K))

    return _descend(
        task, K0, direction, method="gauss_newton", iterations=iterations, step=step,
        initial_step=1.0, max_step=1.0, max_backtracks=max_backtracks, tol=tol, progress=progress,
    )


def model_free_gradient_descent(
    task: Task,
    K0,
    *,
    step: float,
    iterations: int,
    radius: float,
    samples: int,
    horizon: int,
    estimator: str = "one_point",
    rng=None,
    skip_initial: bool = False,
    progress: bool = False,
) -> History:
    """Model-free policy gradient: K <- K - eta g_hat(K), g_hat from rollouts only.

    g_hat is :func:`~ltijepa.lqr.zeroth_order.estimate_gradient` (one-point: Fazel et al.
    2018, Algorithm 1; two-point: Malik et al. 2019) with a fresh draw every iteration. The
    model is used only to record exact costs in the :class:`History` and to stop, with an
    error, if an iterate leaves the stabilizing set (where the cost is infinite).

    Parameters
    ----------
    task : Task
        The LQR task (it simulates the rollouts).
    K0 : array, (m, n)
        Stabilizing initial gain.
    step : float
        Constant step size eta > 0.
    iterations : int
        Number of updates.
    radius, samples, horizon, estimator, skip_initial
        As in :func:`~ltijepa.lqr.zeroth_order.estimate_gradient`.
    rng : seed or numpy.random.Generator
        Source of every perturbation and initial state.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    History
        With ``rollouts`` the total number of simulated trajectories.

    Raises
    ------
    NotStabilizingError
        If K0 is not stabilizing or an iterate leaves the stabilizing set.
    ParameterError
        If a parameter is out of range.
    """
    step = check_positive("step", step)
    iterations = check_count("iterations", iterations, minimum=0)
    rng = np.random.default_rng(rng)
    batch = TaskBatch.from_tasks([task])
    K = _start(task, K0)
    record = _Recorder(task, "model_free")
    record.add(K, task.cost(K), task.gradient(K))
    rollouts = 0
    for n in tqdm(range(iterations), desc="model-free", disable=not progress):
        estimate = estimate_gradient(
            batch, K, estimator=estimator, radius=radius, samples=samples, horizon=horizon,
            rng=rng, skip_initial=skip_initial,
        )
        rollouts += estimate.rollouts
        K = K - step * estimate.gradient[0]
        _check_step(task, K, n + 1, step, "take a smaller step")
        record.step.append(step)
        record.add(K, task.cost(K), task.gradient(K))
    return record.history("iterations", rollouts=rollouts)


def initial_gain(task: Task, *, cost_ratio: float) -> np.ndarray:
    """A stabilizing K0 = c K* (0 < c < 1) whose cost is ``cost_ratio`` times the optimum.

    c solves C(c K*) = cost_ratio C(K*) by bisection on [0, 1], counting a non-stabilizing
    c K* as infinite cost: a start far from the optimum on the segment towards K = 0, used
    by the chapter's experiments.

    Parameters
    ----------
    task : Task
        The task; its DARE gain is K*.
    cost_ratio : float
        C(K0) / C(K*), > 1.

    Returns
    -------
    array, (m, n)
        K0, with C(K0) / C(K*) within 1e-6 relative of ``cost_ratio``.

    Raises
    ------
    ParameterError
        If cost_ratio <= 1, or no c in [0, 1] gives that cost (e.g. C(0) is smaller).
    """
    cost_ratio = check_positive("cost_ratio", cost_ratio)
    if cost_ratio <= 1:
        raise ParameterError(f"cost_ratio == {cost_ratio}, must be > 1")
    K_star, target = task.optimal_gain(), cost_ratio * task.optimal_cost()

    def cost(c: float) -> float:
        K = c * K_star
        return task.cost(K) if task.is_stabilizing(K) else np.inf

    low, high = 0.0, 1.0  # cost(high) <= target; we want cost(low) > target
    if not cost(low) > target:
        raise ParameterError(
            f"cost_ratio == {cost_ratio}: C(0) == {cost(low):.6g} is below {target:.6g}, "
            "no c in [0, 1] reaches it"
        )
    for _ in range(200):
        middle = (low + high) / 2
        if cost(middle) > target:
            low = middle
        else:
            high = middle
        if abs(cost(high) - target) <= 1e-6 * target:
            return high * K_star
    raise ParameterError(f"cost_ratio == {cost_ratio}: C(c K*) has no crossing of {target:.6g} on [0, 1]")
