"""LQR: one task, many tasks at once, task families, policy gradient, zeroth-order estimates.

Sign convention throughout: u_t = -K x_t (python-control's). Modules:
:mod:`~ltijepa.lqr.task` (:class:`Task`: cost, gradient, Lyapunov, DARE),
:mod:`~ltijepa.lqr.batched` (:class:`TaskBatch`), :mod:`~ltijepa.lqr.families`,
:mod:`~ltijepa.lqr.policy_gradient` (the :class:`Objective` the methods minimise),
:mod:`~ltijepa.lqr.zeroth_order` and :mod:`~ltijepa.lqr.landscape`. The multitask theory is in
:mod:`ltijepa.multitask`, FedLQR in :mod:`ltijepa.fedlqr`, the errors in :mod:`ltijepa.errors`.
"""

from ltijepa.lqr.batched import TaskBatch
from ltijepa.lqr.policy_gradient import History, Objective
from ltijepa.lqr.task import Task, spectral_radius

__all__ = [
    "Task",
    "TaskBatch",
    "Objective",
    "History",
    "spectral_radius",
]
