"""Multitask LQR: one gain for M tasks, how far apart the tasks are, and what that costs.

Sign convention throughout: u_t = -K x_t (as in :mod:`ltijepa.lqr`). Modules:

- :mod:`~ltijepa.multitask.objective`: C_avg, a common stabilizing gain, the common optimum
  K_* and the per-task optima;
- :mod:`~ltijepa.multitask.heterogeneity`: the parameter distances (eps_A, eps_B) and the
  gradient gaps g_ij(K);
- :mod:`~ltijepa.multitask.epsilon_baseline`: the bound f_het(K) >= max g_ij(K) from
  (eps_A, eps_B, eps_Q, eps_R);
- :mod:`~ltijepa.multitask.gradient_bounds`: the gradient-space bisimulation bounds
  b_ij(K) >= g_ij(K) from two LMIs (Stamouli et al. 2025);
- :mod:`~ltijepa.multitask.pair_lmi`: those LMIs of one pair as Clarabel conic data, the
  default solve of :mod:`~ltijepa.multitask.gradient_bounds`;
- :mod:`~ltijepa.multitask.lifted_bounds`: the authors' lifted (vectorised) bound on g_ij(K)^2,
  as their multitask-LQG code computes it, and its tight variant;
- :mod:`~ltijepa.multitask.performance`: the optimality-gap bounds of Theorems 2 and 3.
"""

from ltijepa.multitask.epsilon_baseline import EpsilonBound, epsilon_bound
from ltijepa.multitask.gradient_bounds import (
    BisimConfig,
    BisimulationBound,
    PairwiseBisimulation,
    bisimulation_bound,
    pairwise_bisimulation_bounds,
)
from ltijepa.multitask.lifted_bounds import LiftedBound, lifted_bisimulation_bound, pairwise_lifted_bounds
from ltijepa.multitask.heterogeneity import gradient_heterogeneity, parameter_heterogeneity
from ltijepa.multitask.objective import (
    MultitaskObjective,
    common_optimum,
    find_common_stabilizer,
    optimality_gaps,
    per_task_optima,
)
from ltijepa.multitask.performance import check_upper_bound, gap_bound

__all__ = [
    "BisimConfig",
    "BisimulationBound",
    "PairwiseBisimulation",
    "bisimulation_bound",
    "pairwise_bisimulation_bounds",
    "LiftedBound",
    "lifted_bisimulation_bound",
    "pairwise_lifted_bounds",
    "gradient_heterogeneity",
    "parameter_heterogeneity",
    "EpsilonBound",
    "epsilon_bound",
    "MultitaskObjective",
    "common_optimum",
    "find_common_stabilizer",
    "optimality_gaps",
    "per_task_optima",
    "check_upper_bound",
    "gap_bound",
]
