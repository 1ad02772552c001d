"""Multitask LQR: one gain K for M tasks, its average cost, common optimum and task optima.

The talk (slide "Multi-Task LQR") and Stamouli et al. (2025, eq. (1)) seek one gain for M
tasks (A_i, B_i, Q_i, R_i, Sigma0_i), u = -K x, minimising the average cost

.. math::

    C_{\\rm avg}(K) = \\frac{1}{M} \\sum_{i=1}^M C^{(i)}(K), \\qquad
    \\nabla C_{\\rm avg}(K) = \\frac{1}{M} \\sum_{i=1}^M 2 E^{(i)}_K \\Sigma^{(i)}_K,

over the gains that stabilize every task, K_stab (the cost is +inf outside). Vanilla policy
gradient K_{n+1} = K_n - eta grad C_avg(K_n) from K_0 in K_stab approximates the common
optimum K_* (the paper's K_infinity is its limit); the task optima K_*^(i) are the DARE gains.

A first gain in K_stab: the paper says one "can be efficiently computed" (footnote 1) without
saying how. We use a sufficient condition, a common quadratic Lyapunov function [D]: if
X > 0 and Y satisfy, for every task,

.. math::

    \\begin{bmatrix} X & (A_i X - B_i Y)^\\top \\\\ A_i X - B_i Y & X \\end{bmatrix}
    \\succeq \\delta I, \\qquad X \\succeq I,

then K = Y X^{-1} stabilizes every task (x^T X^{-1} x decreases along each closed loop).
By default we first try the mean of the task optima (near K_* when the tasks are alike),
then the LMI, then each task optimum; if none stabilizes all tasks,
:func:`find_common_stabilizer` raises :class:`~ltijepa.errors.NotStabilizableError` (with
``rho``, the smallest max_i rho reached, and ``status``, the LMI's), which says that none
was *found*, not that none exists (the LMI is only sufficient). For scalar tasks the
stabilizing sets are intervals, and :func:`scalar_stabilizing_interval` decides exactly.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from ltijepa.checks import check_count, check_positive
from ltijepa.errors import LtijepaError, NotStabilizableError, ParameterError, ShapeError
from ltijepa.lqr.batched import TaskBatch, as_batch
from ltijepa.lqr.families import random_stabilizable
from ltijepa.multitask.heterogeneity import shared_gain
from ltijepa.lqr.policy_gradient import History, gradient_descent
from ltijepa.lqr.task import Task

__all__ = [
    "START_METHODS",
    "MultitaskObjective",
    "CommonStabilizer",
    "MultitaskSolution",
    "find_common_stabilizer",
    "common_optimum",
    "per_task_optima",
    "optimality_gaps",
    "lyapunov_safe_step",
    "scalar_stabilizing_interval",
    "random_family",
]


#: Candidates of :func:`find_common_stabilizer`, in its default order.
START_METHODS = ("mean", "lmi", "optima")


class MultitaskObjective:
    """C_avg(K) = (1/M) sum_i C_i(K) of M tasks, with u = -K x and one shared K of shape (m, n).

    An :class:`~ltijepa.lqr.policy_gradient.Objective` (``cost``, ``gradient``,
    ``is_stabilizing``, ``spectral_radius``), so the exact methods run on it.

    Parameters
    ----------
    tasks : sequence of Task, or TaskBatch
        M >= 1 tasks of equal sizes (n, m).

    Raises
    ------
    ShapeError
        If the tasks differ in size.

    Examples
    --------
    >>> from ltijepa.lqr.families import scalar_pair
    >>> objective = MultitaskObjective(scalar_pair(0.5))
    >>> round(objective.cost([[0.0]]), 6)  # both tasks: 1 / (1 - 0.25)
    1.333333
    """

    def __init__(self, tasks: Sequence[Task] | TaskBatch):
        self.batch = as_batch(tasks)

    def __repr__(self) -> str:
        return f"MultitaskObjective(M={self.M}, n={self.n}, m={self.m})"

    @property
    def tasks(self) -> tuple[Task, ...]:
        """The tasks, in order."""
        return self.batch.tasks

    @property
    def M(self) -> int:
        """Number of tasks."""
        return self.batch.M

    @property
    def n(self) -> int:
        """State dimension."""
        return self.batch.n

    @property
    def m(self) -> int:
        """Input dimension."""
        return self.batch.m

    def task_costs(self, K) -> np.ndarray:
        """C_i(K) for every task, shape (M,). Raises ``NotStabilizingError`` naming a task."""
        return self.batch.cost(shared_gain(self.batch, K))

    def task_gradients(self, K) -> np.ndarray:
        """grad C_i(K) for every task, shape (M, m, n). Raises ``NotStabilizingError`` naming a task."""
        return self.batch.gradient(shared_gain(self.batch, K))

    def cost(self, K) -> float:
        """C_avg(K) (the paper's eq. (1)).

        Raises
        ------
        NotStabilizingError
            Naming the first task (``.task_index``) K does not stabilize.
        """
        return float(np.mean(self.task_costs(K)))

    def gradient(self, K) -> np.ndarray:
        """grad C_avg(K) = (1/M) sum_i 2 E_i Sigma_i, shape (m, n).

        Raises
        ------
        NotStabilizingError
            Naming the first task (``.task_index``) K does not stabilize.
        """
        return self.task_gradients(K).mean(axis=0)

    def spectral_radius(self, K) -> np.ndarray:
        """rho(A_i - B_i K) for every task, shape (M,)."""
        return self.batch.spectral_radius(shared_gain(self.batch, K))

    def is_stabilizing(self, K) -> bool:
        """Whether K stabilizes every task (K in K_stab)."""
        return bool(np.all(self.batch.is_stabilizing(shared_gain(self.batch, K))))


@dataclass(frozen=True)
class CommonStabilizer:
    """A gain that stabilizes every task, and how it was found."""

    K: np.ndarray
    """The gain, (m, n)."""
    method: str
    """``"mean of task optima"``, ``"common Lyapunov LMI"``, ``"optimum of task i"`` or
    ``"given"``."""
    rho: np.ndarray
    """rho(A_i - B_i K) per task, shape (M,), all < 1."""


def _common_lyapunov_gain(batch: TaskBatch, margin: float) -> tuple[np.ndarray | None, str]:
    """K = Y X^-1 from the common-Lyapunov LMI of the module docstring, or (None, status)."""
    n, m = batch.n, batch.m
    X = cp.Variable((n, n), symmetric=True)
    Y = cp.Variable((m, n))
    constraints = [X >> np.eye(n)]
    for A, B in zip(batch.A, batch.B):
        AX = A @ X - B @ Y
        constraints.append(cp.bmat([[X, AX.T], [AX, X]]) >> margin * np.eye(2 * n))
    problem = cp.Problem(cp.Minimize(cp.trace(X)), constraints)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            problem.solve(solver=cp.CLARABEL)
    except cp.error.SolverError as exc:
        return None, f"solver error: {exc}"
    if X.value is None or Y.value is None:
        return None, str(problem.status)
    return Y.value @ np.linalg.inv(X.value), str(problem.status)


def find_common_stabilizer(
    tasks: Sequence[Task] | TaskBatch, *, margin: float = 1e-3, order: Sequence[str] = START_METHODS
) -> CommonStabilizer:
    """A gain K with rho(A_i - B_i K) < 1 for every task (u = -K x), or a clear error.

    Tries the candidates named in ``order`` and returns the first that stabilizes all tasks:
    ``"mean"``, the mean of the task optima K_*^(i) (cheap, and near K_* when the tasks are
    alike); ``"lmi"``, the common-Lyapunov LMI of the module docstring (margin ``margin``), a
    generic stabilizing gain not informed by the optima; ``"optima"``, each task optimum.

    Parameters
    ----------
    tasks : sequence of Task, or TaskBatch
        M tasks of equal sizes.
    margin : float
        delta > 0 of the LMI (strictness of the Lyapunov decrease).
    order : sequence of str
        Candidates to try, a non-empty ordered subset of :data:`START_METHODS`.

    Returns
    -------
    CommonStabilizer

    Raises
    ------
    NotStabilizableError
        If no candidate stabilizes every task; the message gives the LMI status and the
        smallest max_i rho reached. It does not prove that no such gain exists.
    ParameterError
        If margin <= 0 or ``order`` names an unknown candidate.
    """
    margin = check_positive("margin", margin)
    order = tuple(order)
    if not order or not set(order) <= set(START_METHODS) or len(set(order)) != len(order):
        raise ParameterError(f"order == {order!r}, must be distinct names from {START_METHODS}")
    batch = as_batch(tasks)
    try:
        optima = batch.optimal_gains()
    except LtijepaError:  # a task without an optimum (not stabilizable): no candidate from it
        optima = np.empty((0, batch.m, batch.n))
    best_rho = np.inf

    def stabilizes_all(K) -> np.ndarray | None:
        nonlocal best_rho
        rho = batch.spectral_radius(K)
        best_rho = min(best_rho, float(np.max(rho)))
        return rho if np.all(rho < 1.0) else None

    lmi_status = "not tried"
    for method in order:
        if method == "mean":
            candidates = [("mean of task optima", optima.mean(axis=0))] if len(optima) else []
        elif method == "lmi":
            K_lmi, lmi_status = _common_lyapunov_gain(batch, margin)
            candidates = [] if K_lmi is None else [("common Lyapunov LMI", K_lmi)]
        else:
            candidates = [(f"optimum of task {i}", K) for i, K in enumerate(optima)]
        for name, K in candidates:
            if (rho := stabilizes_all(K)) is not None:
                return CommonStabilizer(K, name, rho)
    raise NotStabilizableError(
        f"no gain found that stabilizes all {batch.M} tasks: the common-Lyapunov LMI is "
        f"{lmi_status!r}, and the best candidate tried ({', '.join(order)}) leaves "
        f"max_i rho(A_i - B_i K) == {best_rho:.6g}, must be < 1. The LMI is "
        "only sufficient, so this does not prove that no common stabilizing gain exists.",
        rho=best_rho, status=lmi_status,
    )


@dataclass(frozen=True)
class MultitaskSolution:
    """The policy-gradient approximation of the common optimum K_*."""

    K: np.ndarray
    """The last iterate K_N, (m, n)."""
    history: History
    """The whole run (gains, average costs, gradient norms, steps)."""
    start: CommonStabilizer
    """The initial gain K_0 and how it was found."""

    @property
    def grad_norm(self) -> float:
        """||grad C_avg(K_N)||_F: how stationary the result is."""
        return float(self.history.grad_norm[-1])


def common_optimum(
    tasks: Sequence[Task] | TaskBatch,
    *,
    iterations: int,
    step: float | None = None,
    K0=None,
    start_order: Sequence[str] = START_METHODS,
    tol: float = 0.0,
    progress: bool = False,
) -> MultitaskSolution:
    """K_* ~ argmin C_avg by policy gradient from a common stabilizing gain.

    Runs :func:`~ltijepa.lqr.policy_gradient.gradient_descent` on :class:`MultitaskObjective`.

    Parameters
    ----------
    tasks : sequence of Task, or TaskBatch
    iterations : int
        Maximum number of gradient steps.
    step : float, optional
        Constant step eta (the paper's pendulum uses 0.01); None: backtracking that keeps
        every iterate in K_stab.
    K0 : array (m, n), optional
        Initial gain; default :func:`find_common_stabilizer` with ``order=start_order``.
    start_order : sequence of str
        Candidates for K0 when it is not given (see :func:`find_common_stabilizer`).
    tol : float
        Stop when ||grad C_avg||_F <= tol.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    MultitaskSolution

    Raises
    ------
    NotStabilizableError
        If K0 is not given and no common stabilizing gain is found.
    NotStabilizingError
        If K0 does not stabilize every task, or a constant step leaves K_stab.
    """
    objective = MultitaskObjective(tasks)
    if K0 is None:
        start = find_common_stabilizer(objective.batch, order=start_order)
    else:
        K0 = shared_gain(objective.batch, K0)
        start = CommonStabilizer(K0, "given", objective.spectral_radius(K0))
    history = gradient_descent(objective, start.K, iterations=iterations, step=step, tol=tol,
                               progress=progress)
    return MultitaskSolution(history.final, history, start)


def per_task_optima(tasks: Sequence[Task] | TaskBatch) -> np.ndarray:
    """The task optima K_*^(i) (DARE gains), shape (M, m, n).

    Parameters
    ----------
    tasks : sequence of Task, or TaskBatch
        M tasks of equal sizes (n, m).

    Raises
    ------
    NotStabilizableError, SolverError
        For the first task without an optimum.
    """
    return as_batch(tasks).optimal_gains()


def optimality_gaps(tasks: Sequence[Task] | TaskBatch, K) -> np.ndarray:
    """C_i(K) - C_i(K_*^(i)) for every task, shape (M,): the paper's gaps (6) and (7).

    Parameters
    ----------
    tasks : sequence of Task, or TaskBatch
        M tasks of equal sizes (n, m).
    K : array, (m, n)
        One gain shared by all tasks (u = -K x).

    Raises
    ------
    NotStabilizingError
        Naming the first task (``.task_index``) K does not stabilize.
    """
    batch = as_batch(tasks)
    return batch.cost(shared_gain(batch, K)) - batch.optimal_costs()


def lyapunov_safe_step(tasks: Sequence[Task], K) -> float:
    """A step eta for which K - eta grad C_avg(K) stabilizes every task, from each task's
    Lyapunov matrix Sigma_K [D] (the talk's "alpha sufficiently small", slide "Performance
    Bound: Policy Gradient", made explicit for one step).

    With A_K = A - B K, Sigma_K = Sigma0 + A_K Sigma_K A_K^T and the step's perturbation
    Delta = eta B grad C_avg(K) of the closed loop,
    (A_K + Delta) Sigma_K (A_K + Delta)^T = Sigma_K - Sigma0 + X with
    ||X|| <= 2 ||A_K|| ||Sigma_K|| d + ||Sigma_K|| d^2, d = ||Delta||. If ||X|| < mu =
    lambda_min(Sigma0), then X < Sigma0, Sigma_K is a Lyapunov matrix of A_K + Delta and the new
    gain stabilizes. That holds for d < sqrt(a^2 + mu / s) - a (a = ||A_K||, s = ||Sigma_K||),
    hence for

    .. math::

        \\eta < \\min_i \\frac{\\sqrt{a_i^2 + \\mu_i / s_i} - a_i}{\\|B_i\\|\\, \\|\\nabla C_{\\rm avg}(K)\\|}
        \\quad\\text{(spectral norms)}.

    Returns that bound (``math.inf`` if the gradient is 0).

    Parameters
    ----------
    tasks : sequence of Task
        The M tasks.
    K : array, (m, n)
        A gain stabilizing every task.

    Raises
    ------
    NotStabilizingError
        If K does not stabilize a task.
    """
    objective = MultitaskObjective(tasks)
    gradient = float(np.linalg.norm(objective.gradient(K), 2))
    if gradient == 0.0:
        return float("inf")
    steps = []
    for task in objective.tasks:
        a = float(np.linalg.norm(task.closed_loop(K), 2))
        s = float(np.linalg.norm(task.Sigma(K), 2))
        mu = float(np.linalg.eigvalsh(task.Sigma0)[0])
        steps.append((np.sqrt(a * a + mu / s) - a) / (float(np.linalg.norm(task.B, 2)) * gradient))
    return float(min(steps))


def scalar_stabilizing_interval(task: Task) -> tuple[float, float]:
    """The open interval of gains k with |a - b k| < 1 for a scalar task x' = a x + b u, u = -k x.

    Returns ``((a - 1) / b, (a + 1) / b)`` sorted.

    Raises
    ------
    ShapeError
        If the task is not scalar (n = m = 1).
    ParameterError
        If b == 0 (then no gain moves the pole).

    Examples
    --------
    >>> from ltijepa.lqr.families import scalar_pair
    >>> [scalar_stabilizing_interval(t) for t in scalar_pair(1.5)]
    [(0.5, 2.5), (-2.5, -0.5)]
    """
    if (task.n, task.m) != (1, 1):
        raise ShapeError(f"expected a scalar task (n, m) == (1, 1), found ({task.n}, {task.m})")
    a, b = float(task.A[0, 0]), float(task.B[0, 0])
    if b == 0.0:
        raise ParameterError(f"b == {b}, must be nonzero for a gain to move the pole a == {a}")
    lo, hi = sorted(((a - 1.0) / b, (a + 1.0) / b))
    return lo, hi


def random_family(
    M: int, n: int, m: int, rng=None, *, spread: float = 0.05, spectral_radius: float = 1.1
) -> list[Task]:
    """M tasks scattered around one random nominal task (for property tests and collections).

    The nominal (A, B, Q, R) is :func:`~ltijepa.lqr.families.random_stabilizable`; task i has

    .. math::

        A_i = A + s \\frac{G^A_i}{\\sqrt n}, \\; B_i = B + s \\frac{G^B_i}{\\sqrt n}, \\;
        Q_i = Q + s \\frac{F_i F_i^\\top}{n}, \\; R_i = R + s \\frac{H_i H_i^\\top}{m},

    with s = ``spread`` and standard Gaussian G, F, H, so heterogeneity is in all four
    matrices (Sigma0 = I). A task that is not stabilizable is redrawn.

    Parameters
    ----------
    M, n, m : int
        Number of tasks, state and input dimensions (>= 1).
    rng : seed or numpy.random.Generator
    spread : float
        s > 0, the size of the perturbations.
    spectral_radius : float
        Spectral radius of the nominal A.

    Raises
    ------
    ParameterError
        If a size is not a positive integer or spread <= 0.
    """
    M, n, m = (check_count(name, v) for name, v in (("M", M), ("n", n), ("m", m)))
    spread = check_positive("spread", spread)
    rng = np.random.default_rng(rng)
    nominal = random_stabilizable(n, m, rng, spectral_radius=spectral_radius)
    tasks = []
    while len(tasks) < M:
        G, H = rng.standard_normal((n, n)), rng.standard_normal((n, m))
        F, W = rng.standard_normal((n, n)), rng.standard_normal((m, m))
        task = Task(
            nominal.A + spread * G / np.sqrt(n), nominal.B + spread * H / np.sqrt(n),
            nominal.Q + spread * F @ F.T / n, nominal.R + spread * W @ W.T / m,
        )
        if task.is_stabilizable():
            tasks.append(task)
    return tasks
