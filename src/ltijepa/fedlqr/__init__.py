"""FedLQR: federated, model-free policy gradient over M heterogeneous LQR agents.

Wang, Toso, Mitra and Anderson (TMLR 2026), as in the authors' code (u = -K x). Modules:

- :mod:`~ltijepa.fedlqr.rounds`: the rounds of ``alg-fedlqr`` (local zeroth-order steps,
  server average) of many independent federations at once, :func:`run_fedlqr`;
- :mod:`~ltijepa.fedlqr.objective`: the cost the authors' rollouts estimate,
  :class:`CostWithoutInitialTerm`, and the score their figures plot, :func:`authors_score`
  (``1^T P_100 1`` from ``x0 = 1``) with its normalised gap :func:`authors_gap`;
- :mod:`~ltijepa.fedlqr.estimates`: measurements on runs (rounds to a gap, noise floor,
  variance of the server's average, heterogeneity bias).
"""

from ltijepa.fedlqr.objective import CostWithoutInitialTerm, authors_gap, authors_score
from ltijepa.fedlqr.rounds import FedLQRConfig, FedLQRHistory, run_fedlqr

__all__ = [
    "FedLQRConfig",
    "FedLQRHistory",
    "run_fedlqr",
    "CostWithoutInitialTerm",
    "authors_score",
    "authors_gap",
]
