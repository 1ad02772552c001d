"""Planning as a layer: differentiable LQR and MPC, and implicit gradients (torch).

- :mod:`~ltijepa.diffcontrol.lqr`: :func:`solve_lqr`, the batched Riccati forward pass with
  Module 1's backward pass (Amos et al. 2018), and its unrolled-autograd reference.
- :mod:`~ltijepa.diffcontrol.problems`: random LQR problems, the finite-difference check.
- :mod:`~ltijepa.diffcontrol.kkt`: the same LQR as one KKT system, solved densely.
- :mod:`~ltijepa.diffcontrol.box_mpc`: differentiable MPC, nonlinear dynamics and box-constrained
  controls, by control-limited iLQR (gradients from the final approximation).
- :mod:`~ltijepa.diffcontrol.implicit`: implicit gradients of an unconstrained argmin (direct
  solve, conjugate gradient, Neumann series) and the unrolled alternatives.

The chapter's experiments are in :mod:`ltijepa.chapters.differentiable_planning`.
"""

from ltijepa.diffcontrol.lqr import LQRCounts, LQRGradients, LQRSolution, lqr_cost, module1_gradients, solve_lqr, unrolled_lqr
from ltijepa.diffcontrol.problems import (
    PARAMETER_NAMES, LQRProblem, SmoothArgmin, finite_difference_errors, probe_gradients, probe_loss, random_lqr_problem,
    random_smooth_argmin,
)
from ltijepa.diffcontrol.kkt import kkt_system, solve_kkt
from ltijepa.diffcontrol.box_mpc import BoxMPCSolution, box_mpc, linearize, projected_newton_qp
from ltijepa.diffcontrol.implicit import (
    LinearSolve, conjugate_gradient, gradient_descent_argmin, implicit_gradient, neumann_series, unrolled_gradient,
)

__all__ = [
    "LQRSolution",
    "LQRCounts",
    "LQRGradients",
    "solve_lqr",
    "unrolled_lqr",
    "module1_gradients",
    "lqr_cost",
    "LQRProblem",
    "PARAMETER_NAMES",
    "random_lqr_problem",
    "probe_loss",
    "probe_gradients",
    "finite_difference_errors",
    "SmoothArgmin",
    "random_smooth_argmin",
    "kkt_system",
    "solve_kkt",
    "BoxMPCSolution",
    "box_mpc",
    "linearize",
    "projected_newton_qp",
    "LinearSolve",
    "conjugate_gradient",
    "neumann_series",
    "implicit_gradient",
    "gradient_descent_argmin",
    "unrolled_gradient",
]
