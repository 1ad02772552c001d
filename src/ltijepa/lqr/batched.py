"""Many LQR tasks at once: costs and gradients from batched Lyapunov solves.

A :class:`TaskBatch` stacks M tasks of the same sizes (n, m) and evaluates, for one gain
shared by all tasks (K of shape (m, n)) or one gain per task (K of shape (M, m, n)), the
quantities :class:`~ltijepa.lqr.task.Task` computes one task at a time:

.. math::

    C^{(i)}(K) = \\operatorname{tr}(P^{(i)}_K \\Sigma^{(i)}_0), \\qquad
    \\nabla C^{(i)}(K) = 2 E^{(i)}_K \\Sigma^{(i)}_K
    \\quad \\text{(Fazel et al. 2018, Lemma 1)},

with u = -K x. Many gains for one task are the batch of M copies of that task
(``TaskBatch.from_tasks([task] * M)``) with K of shape (M, m, n).

Both Lyapunov equations, X = F X F^T + W with F = A_K (for Sigma_K) and F = A_K^T (for P_K),
are solved as one batched linear system in Kronecker form,

.. math::

    (I_{n^2} - F \\otimes F)\\, \\operatorname{vec}(X) = \\operatorname{vec}(W),

by ``numpy.linalg.solve`` over the stack: the method scipy's ``solve_discrete_lyapunov``
itself uses for n < 10 ("direct"). The Kronecker matrix has n^4 entries, so for
n > :data:`KRONECKER_MAX_N` each task is solved by scipy (Bartels-Stewart through the
bilinear transform) instead. Tasks are processed in chunks of at most
:data:`CHUNK_BYTES` of Kronecker matrices.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.linalg

from ltijepa.checks import SYMMETRY_RTOL, check_stabilizing, check_symmetric
from ltijepa.errors import DataError, ParameterError, ShapeError
from ltijepa.lqr.task import Task

__all__ = [
    "TaskBatch",
    "as_batch",
    "solve_lyapunov_batch",
    "KRONECKER_MAX_N",
    "CHUNK_BYTES",
]

#: Largest state dimension solved in Kronecker form (an (n^2, n^2) system per task).
KRONECKER_MAX_N = 12
#: Memory bound, in bytes, of the Kronecker matrices built at once.
CHUNK_BYTES = 64 * 2**20


def _check_symmetric_stack(name: str, stack: np.ndarray) -> None:
    """:func:`~ltijepa.checks.check_symmetric` for every matrix of a stack (M, n, n), vectorised.

    The message, check_symmetric's, names the first failing index, ``name[i]``.
    """
    scale = np.maximum(np.max(np.abs(stack), axis=(1, 2)), np.finfo(float).tiny)
    asymmetry = np.max(np.abs(stack - np.swapaxes(stack, 1, 2)), axis=(1, 2))
    bad = np.flatnonzero(asymmetry > SYMMETRY_RTOL * scale)
    if bad.size:
        check_symmetric(f"{name}[{bad[0]}]", stack[bad[0]])


def solve_lyapunov_batch(F: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Solve X_i = F_i X_i F_i^T + W_i for every i of a stack.

    .. math::

        (I - F_i \\otimes F_i) \\operatorname{vec}(X_i) = \\operatorname{vec}(W_i)

    (row-major vec), one batched ``numpy.linalg.solve``; for n > :data:`KRONECKER_MAX_N`
    ``scipy.linalg.solve_discrete_lyapunov`` per matrix. W must be symmetric, and X is
    returned symmetrized, (X + X^T) / 2, as :class:`Task` does.

    Parameters
    ----------
    F : array, (M, n, n)
        Matrices with spectral radius < 1 (not checked here: the caller checks stability).
    W : array, (M, n, n)
        Symmetric right-hand sides.

    Returns
    -------
    array, (M, n, n)

    Raises
    ------
    ShapeError
        If F and W are not both (M, n, n).
    DataError
        If some W_i is not symmetric (relative tolerance ``SYMMETRY_RTOL``).

    Examples
    --------
    >>> X = solve_lyapunov_batch(np.array([[[0.5]]]), np.array([[[3.0]]]))
    >>> float(X[0, 0, 0])  # 3 / (1 - 0.25)
    4.0
    """
    F, W = np.asarray(F, dtype=float), np.asarray(W, dtype=float)
    if F.ndim != 3 or F.shape[1] != F.shape[2] or W.shape != F.shape:
        raise ShapeError(f"F and W: expected shapes (M, n, n) and (M, n, n), found {F.shape} and {W.shape}")
    M, n, _ = F.shape
    _check_symmetric_stack("W", W)
    if n > KRONECKER_MAX_N:
        X = np.stack([scipy.linalg.solve_discrete_lyapunov(F[i], W[i]) for i in range(M)])
    else:
        X = np.empty_like(W)
        chunk = max(1, CHUNK_BYTES // (8 * n**4))
        identity = np.eye(n * n)
        for start in range(0, M, chunk):
            Fc = F[start : start + chunk]
            kron = (Fc[:, :, None, :, None] * Fc[:, None, :, None, :]).reshape(-1, n * n, n * n)
            rhs = W[start : start + chunk].reshape(-1, n * n, 1)
            X[start : start + chunk] = np.linalg.solve(identity - kron, rhs).reshape(-1, n, n)
    return (X + np.swapaxes(X, 1, 2)) / 2


class TaskBatch:
    """M LQR tasks of equal sizes, evaluated together (u = -K x).

    Build with :meth:`from_tasks`. Methods take ``K`` of shape (m, n), one gain shared by all
    tasks, or (M, m, n), one gain per task.

    Attributes
    ----------
    tasks : tuple of Task
        The tasks, in order.
    M, n, m : int
        Number of tasks, state and input dimension.
    A, B, Q, R, Sigma0 : array
        Stacked matrices, (M, n, n), (M, n, m), (M, n, n), (M, m, m), (M, n, n); read-only.

    Examples
    --------
    >>> batch = TaskBatch.from_tasks([Task([[1.0]], [[1.0]], [[1.0]], [[1.0]]),
    ...                               Task([[0.5]], [[1.0]], [[1.0]], [[1.0]])])
    >>> batch.cost([[0.5]]).round(6).tolist()  # (1 + 0.25) / (1 - rho^2), rho = 0.5 and 0
    [1.666667, 1.25]
    """

    def __init__(self, tasks: Sequence[Task]):
        tasks = tuple(tasks)
        if not tasks:
            raise ParameterError("tasks == (), must hold at least one Task")
        for i, task in enumerate(tasks):
            if not isinstance(task, Task):
                raise ParameterError(f"tasks[{i}] == {task!r} of type {type(task).__name__}, must be a Task",
                                     name=f"tasks[{i}]", value=task)
        n, m = tasks[0].n, tasks[0].m
        for i, task in enumerate(tasks):
            if (task.n, task.m) != (n, m):
                raise ShapeError(
                    f"tasks[{i}]: expected (n, m) == ({n}, {m}) like tasks[0], found ({task.n}, {task.m})"
                )
        self.tasks = tasks
        for name in ("A", "B", "Q", "R", "Sigma0"):
            stacked = np.stack([getattr(task, name) for task in tasks])
            stacked.setflags(write=False)
            setattr(self, name, stacked)

    @classmethod
    def from_tasks(cls, tasks: Sequence[Task]) -> TaskBatch:
        """The batch of ``tasks`` (all of the same n and m).

        Raises
        ------
        ShapeError
            If two tasks differ in n or m.
        ParameterError
            If ``tasks`` is empty.
        ParameterError
            If an element is not a :class:`Task`.
        """
        return cls(tasks)

    def __len__(self) -> int:
        return self.M

    def __repr__(self) -> str:
        return f"TaskBatch(M={self.M}, n={self.n}, m={self.m})"

    @property
    def M(self) -> int:
        """Number of tasks."""
        return len(self.tasks)

    @property
    def n(self) -> int:
        """State dimension."""
        return self.A.shape[1]

    @property
    def m(self) -> int:
        """Input dimension."""
        return self.B.shape[2]

    def gains(self, K) -> np.ndarray:
        """``K`` of shape (m, n) or (M, m, n) as a finite (M, m, n) array.

        A shared gain (m, n) is broadcast: a read-only view, no copy.

        Raises
        ------
        ShapeError, DataError
            On a wrong shape or non-finite entries.
        """
        M, m, n = self.M, self.m, self.n
        array = np.asarray(K, dtype=float)
        if array.shape == (m, n):
            array = np.broadcast_to(array, (M, m, n))
        elif array.shape != (M, m, n):
            raise ShapeError(f"K: expected shape ({m}, {n}) or ({M}, {m}, {n}), found {array.shape}")
        if not np.all(np.isfinite(array)):
            raise DataError(f"K has non-finite entries: {np.asarray(K).tolist()}")
        return array

    def closed_loop(self, K) -> np.ndarray:
        """A_i - B_i K_i for every task, shape (M, n, n); ``K`` is (m, n) shared or (M, m, n)."""
        return self.A - self.B @ self.gains(K)

    def spectral_radius(self, K) -> np.ndarray:
        """rho(A_i - B_i K_i) for every task, shape (M,); ``K`` as in :meth:`closed_loop`."""
        return np.max(np.abs(np.linalg.eigvals(self.closed_loop(K))), axis=-1)

    def is_stabilizing(self, K) -> np.ndarray:
        """Whether rho(A_i - B_i K_i) < 1 for every task, bool (M,); ``K`` as in :meth:`closed_loop`."""
        return self.spectral_radius(K) < 1.0

    def _stable_closed_loop(self, K) -> tuple[np.ndarray, np.ndarray]:
        gains = self.gains(K)
        A_K = self.A - self.B @ gains
        rho = np.max(np.abs(np.linalg.eigvals(A_K)), axis=-1)
        unstable = np.count_nonzero(~(rho < 1.0))
        check_stabilizing(rho, advice=f"{unstable} of {self.M} tasks not stabilized")
        return gains, A_K

    def _P(self, gains: np.ndarray, A_K: np.ndarray) -> np.ndarray:
        W = self.Q + np.swapaxes(gains, 1, 2) @ self.R @ gains
        return solve_lyapunov_batch(np.swapaxes(A_K, 1, 2), W)

    def _E(self, gains: np.ndarray, P: np.ndarray) -> np.ndarray:
        Bt_P = np.swapaxes(self.B, 1, 2) @ P
        return (self.R + Bt_P @ self.B) @ gains - Bt_P @ self.A

    def P(self, K) -> np.ndarray:
        """Value matrices P_K of every task, (M, n, n): P = Q + K^T R K + A_K^T P A_K.

        Raises
        ------
        NotStabilizingError
            Naming the first task (``.task_index``) with rho(A_K) >= 1.
        """
        return self._P(*self._stable_closed_loop(K))

    def Sigma(self, K) -> np.ndarray:
        """State covariance sums Sigma_K of every task, (M, n, n): Sigma = Sigma0 + A_K Sigma A_K^T.

        ``K`` is (m, n) shared or (M, m, n), as in :meth:`closed_loop`.

        Raises
        ------
        NotStabilizingError
            Naming the first task (``.task_index``) with rho(A_K) >= 1.
        """
        _, A_K = self._stable_closed_loop(K)
        return solve_lyapunov_batch(A_K, self.Sigma0)

    def E(self, K) -> np.ndarray:
        """E_K = (R + B^T P_K B) K - B^T P_K A of every task, (M, m, n).

        Raises
        ------
        NotStabilizingError
            Naming the first task (``.task_index``) with rho(A_K) >= 1.
        """
        gains, A_K = self._stable_closed_loop(K)
        return self._E(gains, self._P(gains, A_K))

    def cost(self, K) -> np.ndarray:
        """Costs C_i(K) = tr(P_K Sigma0) of every task, shape (M,).

        Raises
        ------
        NotStabilizingError
            Naming the first task (``.task_index``) with rho(A_K) >= 1 and its spectral radius.
        """
        return np.einsum("kij,kji->k", self.P(K), self.Sigma0)

    def gradient(self, K) -> np.ndarray:
        """Gradients nabla C_i(K) = 2 E_K Sigma_K of every task (Lemma 1), shape (M, m, n).

        The gradient of task i's cost with respect to the gain it is evaluated at; for a
        shared gain the gradient of the average cost is ``gradient(K).mean(axis=0)``.

        Raises
        ------
        NotStabilizingError
            Naming the first task (``.task_index``) with rho(A_K) >= 1.
        """
        return self.cost_and_gradient(K)[1]

    def cost_and_gradient(self, K) -> tuple[np.ndarray, np.ndarray]:
        """``(cost(K), gradient(K))`` with one eigenvalue pass and one batched solve.

        Raises
        ------
        NotStabilizingError
            Naming the first task (``.task_index``) with rho(A_K) >= 1.
        """
        gains, A_K = self._stable_closed_loop(K)
        W = self.Q + np.swapaxes(gains, 1, 2) @ self.R @ gains
        both = solve_lyapunov_batch(
            np.concatenate([np.swapaxes(A_K, 1, 2), A_K]), np.concatenate([W, self.Sigma0])
        )
        P, Sigma = both[: self.M], both[self.M :]
        cost = np.einsum("kij,kji->k", P, self.Sigma0)
        return cost, 2.0 * self._E(gains, P) @ Sigma

    def optimal_gains(self) -> np.ndarray:
        """Each task's optimal gain K_i* (DARE, cached by the task), shape (M, m, n).

        Raises
        ------
        NotStabilizableError, SolverError
            As :meth:`Task.optimal_gain`, for the first task that has no optimum.
        """
        return np.stack([task.optimal_gain() for task in self.tasks])

    def optimal_costs(self) -> np.ndarray:
        """Each task's optimal cost C_i(K_i*), shape (M,)."""
        return np.array([task.optimal_cost() for task in self.tasks])


def as_batch(tasks: Sequence[Task] | TaskBatch) -> TaskBatch:
    """``tasks`` as a :class:`TaskBatch` (a batch is passed through unchanged).

    Parameters
    ----------
    tasks : sequence of Task or TaskBatch
        The tasks.

    Raises
    ------
    ShapeError
        If the tasks differ in (n, m).
    ParameterError
        If there are no tasks.
    """
    return tasks if isinstance(tasks, TaskBatch) else TaskBatch.from_tasks(tasks)
