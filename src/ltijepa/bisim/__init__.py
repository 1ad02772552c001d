"""The largest bisimulation of Yu et al. (2025): as defined, fast, and from data.

- :func:`least_fixed_point` -- Def. 1 literally: the Kleene iteration of ``F`` on the dense
  pair matrix, returning ``R*`` (the pairs that are *not* bisimilar). The reference, for
  ``n <= MAX_FIXED_POINT_STATES``.
- :func:`largest_bisimulation` -- the same relation for a deterministic total system as class
  labels, by partition refinement in ``O(|A| n log n)`` (10^6 states in about a second).
- :func:`empirical_largest_bisimulation` -- Def. 4: the pairs ``R_D*`` a dataset of
  transitions certifies as non-bisimilar (Thm. 3: they cannot collapse).

Nothing here imports torch.
"""

from ltijepa.bisim._validation import BisimInputError
from ltijepa.bisim.empirical import (
    EmpiricalBisimulation,
    NonDeterministicDatasetError,
    empirical_bisimulation,
    empirical_largest_bisimulation,
)
from ltijepa.bisim.fixed_point import MAX_FIXED_POINT_STATES, TooManyStatesError, least_fixed_point
from ltijepa.bisim.refinement import METHODS, largest_bisimulation

__all__ = [
    "least_fixed_point",
    "largest_bisimulation",
    "empirical_largest_bisimulation",
    "empirical_bisimulation",
    "EmpiricalBisimulation",
    "MAX_FIXED_POINT_STATES",
    "METHODS",
    "BisimInputError",
    "TooManyStatesError",
    "NonDeterministicDatasetError",
]
