"""Task-specific performance bounds of multitask LQR from bisimulation measures b_i(K).

Theorem 2 of Stamouli et al. (2025, eq. (22)), as the talk states it (slide "Performance
Bound: General"): if K_* minimises C_avg, then for every task i (u = -K x)

.. math::

    C^{(i)}(K_\\star) - C^{(i)}(K_\\star^{(i)}) \\le
    c\\, \\frac{\\|\\Sigma^{(i)}_{K_\\star^{(i)}}\\|\\, b_i(K_\\star)^2}
              {\\lambda_{\\min}(\\Sigma_0^{(i)})^2\\, \\sigma_{\\min}(R^{(i)})},
    \\qquad c = 2,

and Theorem 3 (slide "Performance Bound: Policy Gradient") the same at the limit K_infinity of
policy gradient with c = 3/4. Only the talk's constants were retrievable.


Our derivation [D], which gives c = 1/4 and so implies both. At any K,
grad C_avg(K) = (1/M) sum_j grad C_j(K), hence

.. math::

    \\nabla C^{(i)}(K) = \\nabla C_{\\rm avg}(K)
        + \\frac{1}{M} \\sum_{j \\ne i} (\\nabla C^{(i)} - \\nabla C^{(j)})(K),
    \\qquad \\|\\nabla C^{(i)}(K)\\|_F \\le r + b_i(K),

with r = ||grad C_avg(K)||_F (0 at a stationary point) and b_i = (1/M) sum_{j != i} b_ij (the
talk's normalisation; with 1/(M - 1) b_i is larger and the bound still holds). Fazel et
al.'s (2018) cost-difference lemma, minimised over the gain, gives gradient domination in the
form C(K) - C(K*) <= ||Sigma_K*|| tr(E_K^T (R + B^T P_K B)^{-1} E_K) <= ||Sigma_K*||
||E_K||_F^2 / sigma_min(R); and grad C = 2 E_K Sigma_K with Sigma_K >= Sigma0 gives
||E_K||_F <= ||grad C||_F / (2 mu). Hence (Fazel et al. state the same with c = 1)

.. math::

    C^{(i)}(K) - C^{(i)}(K_\\star^{(i)}) \\le
    \\frac14\\, \\frac{\\|\\Sigma^{(i)}_{K_\\star^{(i)}}\\|\\, (r + b_i(K))^2}
                     {\\mu_i^2\\, \\sigma_{\\min}(R^{(i)})}.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ltijepa.checks import check_positive
from ltijepa.errors import ParameterError, ShapeError
from ltijepa.lqr.batched import TaskBatch, as_batch
from ltijepa.lqr.landscape import domination_constant
from ltijepa.lqr.task import Task

__all__ = [
    "TALK_GENERAL_CONSTANT",
    "TALK_PG_CONSTANT",
    "DERIVED_CONSTANT",
    "BOUND_RTOL",
    "BoundCheck",
    "gap_bound",
    "check_upper_bound",
]

#: c of the talk's slide "Performance Bound: General" (Theorem 2, eq. (22)).
TALK_GENERAL_CONSTANT = 2.0
#: c of the talk's slide "Performance Bound: Policy Gradient" (Theorem 3).
TALK_PG_CONSTANT = 0.75
#: c of our derivation [D] (module docstring).
DERIVED_CONSTANT = 0.25
#: Relative slack of :func:`check_upper_bound` for round-off: value <= bound (1 + BOUND_RTOL).
BOUND_RTOL = 1e-8


def gap_bound(
    tasks: Sequence[Task] | TaskBatch,
    b_i,
    *,
    constant: float = TALK_GENERAL_CONSTANT,
    residual: float = 0.0,
) -> np.ndarray:
    """The bound of Theorems 2-3 on C_i(K) - C_i(K_*^(i)) for every task, shape (M,).

    .. math::

        c\\, \\frac{\\|\\Sigma^{(i)}_{K_\\star^{(i)}}\\|\\, (r + b_i)^2}
                 {\\lambda_{\\min}(\\Sigma_0^{(i)})^2\\, \\sigma_{\\min}(R^{(i)})}

    with c = 2 the general bound ``thm-mt-general`` (Theorem 2, eq. (22)), c = 3/4 the
    policy-gradient bound ``thm-mt-pg`` (Theorem 3), c = 1/4 our derived constant [D].

    Parameters
    ----------
    tasks : sequence of Task, or TaskBatch
        The M tasks.
    b_i : array, (M,)
        Bisimulation measures b_i(K) at the gain K whose gaps are bounded (talk's 1/M).
    constant : float
        c > 0: :data:`TALK_GENERAL_CONSTANT`, :data:`TALK_PG_CONSTANT` or
        :data:`DERIVED_CONSTANT`.
    residual : float
        r = ||grad C_avg(K)||_F >= 0; 0 assumes K is exactly stationary.

    Returns
    -------
    array, (M,)

    Raises
    ------
    ShapeError
        If b_i is not (M,).
    ParameterError
        If constant <= 0, residual < 0, or b_i has negative or NaN entries.
    NotStabilizableError, SolverError
        If a task has no optimum K_*^(i).
    """
    batch = as_batch(tasks)
    b_i = np.asarray(b_i, dtype=float)
    if b_i.shape != (batch.M,):
        raise ShapeError(f"b_i: expected shape ({batch.M},), found {b_i.shape}")
    if not np.all(b_i >= 0):
        raise ParameterError(f"b_i == {b_i.tolist()}, must be >= 0 (no NaN)")
    constant = check_positive("constant", constant)
    residual = check_positive("residual", residual, allow_zero=True)
    # ||Sigma_{K_i*}|| / (mu_i^2 sigma_min(R_i)): the factor of Fazel et al.'s gradient domination
    factor = np.array([domination_constant(task) for task in batch.tasks])
    return constant * factor * (residual + b_i) ** 2


@dataclass(frozen=True)
class BoundCheck:
    """Whether values <= bounds holds everywhere, and by how much."""

    holds: bool
    """True iff every value <= bound (1 + BOUND_RTOL) (an infinite bound holds trivially)."""
    max_ratio: float
    """max value / bound over the finite bounds (0 when all values are 0)."""
    violations: int
    """How many entries violate the bound."""
    checked: int
    """How many entries were compared."""


def check_upper_bound(values, bounds, *, rtol: float = BOUND_RTOL) -> BoundCheck:
    """Check values <= bounds entrywise (the theorem checks of the chapter).

    Parameters
    ----------
    values, bounds : array_like, same shape
        E.g. g_ij and b_ij, or gaps and their bounds. NaN anywhere is refused.
    rtol : float
        Relative slack for round-off (default :data:`BOUND_RTOL`).

    Returns
    -------
    BoundCheck

    Raises
    ------
    ShapeError
        If the shapes differ.
    ParameterError
        If an entry is NaN or rtol < 0.

    Examples
    --------
    >>> check_upper_bound([1.0, 2.0], [1.5, 4.0]).holds
    True
    >>> check_upper_bound([1.0, 2.0], [1.5, 1.9]).violations
    1
    """
    values, bounds = np.asarray(values, dtype=float), np.asarray(bounds, dtype=float)
    if values.shape != bounds.shape:
        raise ShapeError(f"values and bounds: shapes differ, {values.shape} and {bounds.shape}")
    if np.isnan(values).any() or np.isnan(bounds).any():
        raise ParameterError("values or bounds contain NaN: nothing can be concluded")
    rtol = check_positive("rtol", rtol, allow_zero=True)
    violated = values > bounds * (1.0 + rtol)
    finite = np.isfinite(bounds) & (bounds > 0)
    ratios = values[finite] / bounds[finite]
    zero_bound = ~finite & np.isfinite(bounds)  # bound 0: the ratio is 0/0 or inf
    max_ratio = float(ratios.max()) if ratios.size else 0.0
    if np.any(values[zero_bound] > 0):
        max_ratio = np.inf
    return BoundCheck(bool(not violated.any()), max_ratio, int(violated.sum()), int(values.size))
