"""LQR: tasks, policy gradients, multitask bounds and FedLQR (numpy, scipy, cvxpy only).

Sign convention throughout: u_t = -K x_t (python-control's).
"""

from ltijepa.errors import NotStabilizableError, NotStabilizingError, ParameterError
from ltijepa.lqr.batched import TaskBatch, TaskNotStabilizedError
from ltijepa.lqr.task import Task, spectral_radius
from ltijepa.lqr.baselines import EpsilonBound, epsilon_bound
from ltijepa.lqr.bisim_bounds import (
    BisimConfig,
    BisimulationBound,
    PairwiseBisimulation,
    bisimulation_bound,
    pairwise_bisimulation_bounds,
)
from ltijepa.lqr.fedlqr import FedLQRConfig, FedLQRHistory, FedLQRStabilityError, run_fedlqr
from ltijepa.lqr.heterogeneity import gradient_heterogeneity, parameter_heterogeneity
from ltijepa.lqr.multitask import (
    MultitaskObjective,
    NoCommonStabilizerError,
    common_optimum,
    find_common_stabilizer,
    optimality_gaps,
    per_task_optima,
)
from ltijepa.lqr.performance import check_upper_bound, gap_bound

__all__ = [
    "Task",
    "TaskBatch",
    "NotStabilizingError",
    "NotStabilizableError",
    "TaskNotStabilizedError",
    "ParameterError",
    "spectral_radius",
    "BisimConfig",
    "BisimulationBound",
    "PairwiseBisimulation",
    "bisimulation_bound",
    "pairwise_bisimulation_bounds",
    "gradient_heterogeneity",
    "parameter_heterogeneity",
    "EpsilonBound",
    "epsilon_bound",
    "MultitaskObjective",
    "NoCommonStabilizerError",
    "common_optimum",
    "find_common_stabilizer",
    "optimality_gaps",
    "per_task_optima",
    "check_upper_bound",
    "gap_bound",
    "FedLQRConfig",
    "FedLQRHistory",
    "FedLQRStabilityError",
    "run_fedlqr",
]
