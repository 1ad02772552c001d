"""LQR: tasks, policy gradients, multitask bounds and FedLQR (numpy, scipy, cvxpy only).

Sign convention throughout: u_t = -K x_t (python-control's).
"""

from ltijepa.errors import NotStabilizableError, NotStabilizingError
from ltijepa.lqr.task import Task, spectral_radius

__all__ = ["Task", "NotStabilizingError", "NotStabilizableError", "spectral_radius"]
