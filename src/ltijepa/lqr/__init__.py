"""LQR: tasks, policy gradients, multitask bounds and FedLQR (numpy, scipy, cvxpy only).

Sign convention throughout: u_t = -K x_t (python-control's).
"""

from ltijepa.errors import NotStabilizableError, NotStabilizingError, ParameterError
from ltijepa.lqr.batched import TaskBatch, TaskNotStabilizedError
from ltijepa.lqr.task import Task, spectral_radius

__all__ = [
    "Task",
    "TaskBatch",
    "NotStabilizingError",
    "NotStabilizableError",
    "TaskNotStabilizedError",
    "ParameterError",
    "spectral_radius",
]
