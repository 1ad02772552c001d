"""The largest bisimulation of finite deterministic MDPs (Yu et al. 2025, Defs. 1 and 4).

This package holds *one* bisimulation: the partition of the observations of an MDP that a
well-trained JEPA encoder must keep apart. It is not the gradient-space bisimulation bound of
the multitask LQR chapters (:mod:`ltijepa.multitask`, LMIs) nor the bisimulation metric loss
of the planning chapter (:mod:`ltijepa.planning`).

- :func:`least_fixed_point` (:mod:`~ltijepa.bisim.fixed_point`) -- Def. 1 literally: the
  Kleene iteration of ``F`` on the dense pair matrix, returning ``R*`` (the pairs that are
  *not* bisimilar). The reference, for ``n <= MAX_FIXED_POINT_STATES``.
- :func:`largest_bisimulation` (:mod:`~ltijepa.bisim.refinement`) -- the same relation for a
  deterministic total system as class labels, by partition refinement in ``O(|A| n log n)``
  (10^6 states in about a second).
- :func:`empirical_largest_bisimulation` (:mod:`~ltijepa.bisim.empirical`) -- Def. 4: the
  pairs ``R_D*`` a dataset of transitions certifies as non-bisimilar (Thm. 3: they cannot
  collapse).
- :mod:`~ltijepa.bisim.relations` converts and compares partitions and relations;
  :mod:`~ltijepa.bisim.systems` draws random systems and datasets; ``_validation`` checks the
  inputs. Errors are those of :mod:`ltijepa.errors` (``ShapeError``, ``DataError``,
  ``ParameterError``).

Nothing here imports torch. The chapter's driver is :mod:`ltijepa.chapters.largest_bisimulation`.
"""

from ltijepa.bisim.empirical import (
    EmpiricalBisimulation,
    empirical_bisimulation,
    empirical_largest_bisimulation,
)
from ltijepa.bisim.fixed_point import MAX_FIXED_POINT_STATES, least_fixed_point
from ltijepa.bisim.refinement import METHODS, largest_bisimulation

__all__ = [
    "least_fixed_point",
    "largest_bisimulation",
    "empirical_largest_bisimulation",
    "empirical_bisimulation",
    "EmpiricalBisimulation",
    "MAX_FIXED_POINT_STATES",
    "METHODS",
]
