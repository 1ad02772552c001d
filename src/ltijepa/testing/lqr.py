"""Hypothesis strategies for LQR: matrices, stabilizable pairs, weights, tasks, stabilizing gains.

Used by ``tests/lqr`` and by any test that needs random, well-posed LQR data::

    from hypothesis import given
    from ltijepa.testing import lqr as lqr_st

    @given(lqr_st.tasks_with_gains())
    def test_something(task_and_gain):
        task, K = task_and_gain

Draws are kept well-conditioned (entries on a grid in [-2, 2], weights with eigenvalues
>= 0.1, a controllability margin for the unstable modes) so that a failure points at the
code, not at an ill-posed instance.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ltijepa.lqr.task import Task

__all__ = [
    "PBH_MARGIN",
    "GRID",
    "matrices",
    "psd_matrices",
    "pd_matrices",
    "stabilizable_pairs",
    "tasks",
    "stabilizing_gains",
    "tasks_with_gains",
    "pbh_margin",
]

#: Smallest sigma_min([A - lambda I, B]) over the modes |lambda| >= 1 that a drawn pair must have.
PBH_MARGIN = 0.05


#: Entries are drawn on a grid of this many steps per unit of ``bound``: no subnormal or
#: 1e-80 entries, which no application has and which break scipy's Riccati balancing.
GRID = 100


def matrices(rows: int, cols: int, *, bound: float = 2.0) -> st.SearchStrategy[np.ndarray]:
    """Float matrices of shape (rows, cols), entries on the grid bound * {-1, ..., 1} / GRID."""
    elements = st.integers(-GRID, GRID).map(lambda i: bound * i / GRID)
    return hnp.arrays(np.float64, (rows, cols), elements=elements)


def psd_matrices(n: int, *, floor: float = 0.0) -> st.SearchStrategy[np.ndarray]:
    """Symmetric positive semidefinite F F^T + floor I, F with entries in [-1, 1] (n, n)."""
    return matrices(n, n, bound=1.0).map(lambda F: F @ F.T + floor * np.eye(n))


def pd_matrices(n: int, *, floor: float = 0.1) -> st.SearchStrategy[np.ndarray]:
    """Symmetric positive definite n x n matrices F F^T + floor I, smallest eigenvalue >= floor > 0."""
    return psd_matrices(n, floor=floor)


def pbh_margin(A: np.ndarray, B: np.ndarray) -> float:
    """min over eigenvalues |lambda| >= 1 of A of sigma_min([A - lambda I, B]) (inf if none).

    Zero exactly when (A, B) is not stabilizable (Popov-Belevitch-Hautus test).
    """
    n = A.shape[0]
    margins = [
        np.linalg.svd(np.hstack([A - lam * np.eye(n), B]), compute_uv=False)[-1]
        for lam in np.linalg.eigvals(A)
        if abs(lam) >= 1.0
    ]
    return float(min(margins, default=np.inf))


@st.composite
def stabilizable_pairs(draw, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) of shapes (n, n), (n, m), stabilizable with margin :data:`PBH_MARGIN`.

    A has entries in [-1, 1] (spectral radius up to about n, often open-loop unstable).
    """
    A = draw(matrices(n, n, bound=1.0))
    B = draw(matrices(n, m, bound=2.0))
    assume(pbh_margin(A, B) >= PBH_MARGIN)
    return A, B


@st.composite
def tasks(draw, n: int | None = None, m: int | None = None, *, max_n: int = 4, max_m: int = 3) -> Task:
    """A :class:`Task` with a stabilizable (A, B), Q and R positive definite, random Sigma0.

    The sizes ``n`` (states) and ``m`` (inputs) are drawn in [1, max_n] x [1, max_m] unless given.
    """
    n = draw(st.integers(1, max_n)) if n is None else n
    m = draw(st.integers(1, max_m)) if m is None else m
    A, B = draw(stabilizable_pairs(n, m))
    task = Task(A, B, draw(pd_matrices(n)), draw(pd_matrices(m)), draw(pd_matrices(n, floor=0.2)))
    assume(task.spectral_radius(task.optimal_gain()) < 0.98)  # away from the boundary
    return task


@st.composite
def stabilizing_gains(draw, task: Task, *, margin: float = 0.5) -> np.ndarray:
    """A stabilizing gain K = K* + s Delta of ``task`` (u = -K x).

    Delta has entries in [-1, 1] and s in [0, 2] is halved until
    rho(A - B K) <= rho* + margin (1 - rho*), rho* = rho(A - B K*): a gain inside the
    stabilizing set at a controlled distance from its boundary.
    """
    K_star = task.optimal_gain()
    rho_star = task.spectral_radius(K_star)
    limit = rho_star + margin * (1.0 - rho_star)
    delta = draw(matrices(task.m, task.n, bound=1.0))
    s = draw(st.floats(0.0, 2.0))
    while task.spectral_radius(K_star + s * delta) > limit:
        s /= 2
    return K_star + s * delta


@st.composite
def tasks_with_gains(draw, n: int | None = None, m: int | None = None, **kwargs) -> tuple[Task, np.ndarray]:
    """A pair (task, K) from :func:`tasks` (sizes ``n``, ``m`` and ``kwargs`` as there) and
    :func:`stabilizing_gains`."""
    task = draw(tasks(n, m, **kwargs))
    return task, draw(stabilizing_gains(task))
