"""The authors' lifted bisimulation bound of two LQR tasks: vectorised covariances, squared gaps.

The authors' public multitask-LQG code (Stamouli, Anderson et al., GitHub
``jd-anderson/multitask_LQG``, ``codes/pg_lqg_multitask_model_based.py``, function
``compute_pairwise_bisim_lqg``) bounds the gradient gap of a pair differently from the
talk's eq. (20) (:mod:`~ltijepa.multitask.gradient_bounds`). Specialised to LQR (their
S-dagger is the identity), with u = -K x and vec stacking columns:

.. math::

    z_{t+1} = F z_t + \\nu, \\quad F = \\operatorname{blkdiag}(A_K^{(i)} \\otimes A_K^{(i)},
    A_K^{(j)} \\otimes A_K^{(j)}), \\quad \\nu = [\\operatorname{vec}\\Sigma_0^{(i)};
    \\operatorname{vec}\\Sigma_0^{(j)}], \\quad
    H = [2 (I \\otimes E_K^{(i)}),\\ -2 (I \\otimes E_K^{(j)})],

so that z_t = [vec Sigma_t^(i); vec Sigma_t^(j)] and H z_t = vec(Y_t^(i) - Y_t^(j)) of the
lifted systems (``eq-mt-lifted``). If M >= H^T H and F^T M F <= (1 - lam) M, then V(z) =
z^T M z >= ||H z||^2 and, for any eta in (0, lam / (1 - lam)) (Young's inequality),

.. math::

    V(z_{t+1}) \\le (1 + \\eta)(1 - \\lambda) V(z_t) + (1 + 1/\\eta)\\, \\nu^\\top M \\nu
    \\;\\Rightarrow\\;
    g_{ij}(K)^2 \\le \\frac{(1 + 1/\\eta)\\, \\nu^\\top M \\nu}{\\lambda - \\eta (1 - \\lambda)}
    \\quad\\text{(eq-mt-lifted-bound)}.

Their rule (``tight=False``): lam = max(1e-8, (1 - rho(F)^2) / 4 - 1e-6), halved (at most 8
times) while the SDP fails; M minimises tr(M); eta = lam / (2 (1 - lam)), so the bound reads
b_ij = 2 (2 - lam) nu^T M nu / lam^2. It bounds the SQUARED gap: :attr:`LiftedBound.value`
is sqrt(b_ij), in gradient units like g_ij. ``tight=True``: the best certificate of the same
form, M minimising nu^T M nu, lam searched over (0, 1 - rho(F)^2) by the grid and golden
section of :mod:`~ltijepa.multitask.gradient_bounds`, and the optimal eta = (1 - lam)^(-1/2) - 1,
which turns the bound into g_ij <= sqrt(nu^T M nu) / (1 - sqrt(1 - lam)).

Both SDPs are one DPP program per pair, min tr(M W) with W = I (theirs) or W = nu nu^T
(tight), compiled once and re-solved for every lam (:func:`build_lifted_program`). Certified values, as in
:mod:`~ltijepa.multitask.gradient_bounds`: the solver's M is repaired at the same lam, first
M + delta X with F^T X F - (1 - lam) X = -I (so the decrease LMI holds with margin), then
scaled until M >= H^T H holds in float64; the bound is evaluated on that exactly valid M.
The chapter (``notebooks/multitask_lqr.ipynb``, section ``multitask-authors-sdp``) compares
the three bounds pair by pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.linalg

from ltijepa.checks import check_count
from ltijepa.errors import SolverError
from ltijepa.lqr.task import Task, spectral_radius
from ltijepa.multitask.gradient_bounds import (
    BisimulationBound,
    PairwiseBisimulation,
    _check_pair,
    _closed_loops_and_E,
    _golden_search,
    _solve_with_fallback,
    _stable_closed_loop,
)

__all__ = [
    "AUTHORS_LAM_FLOOR",
    "AUTHORS_LAM_BACKOFFS",
    "LiftedProgram",
    "LiftedBound",
    "build_lifted_program",
    "lifted_data",
    "authors_lambda",
    "lifted_bisimulation_bound",
    "pairwise_lifted_bounds",
]

#: The smallest lam of the authors' rule (their BISIM_LAM_MIN).
AUTHORS_LAM_FLOOR = 1e-8
#: How often the authors' rule halves lam after a failed SDP (their BISIM_LAM_BACKOFFS).
AUTHORS_LAM_BACKOFFS = 8
#: The authors' margin below a quarter of the feasible interval (their eps_lambda).
_AUTHORS_LAM_MARGIN = 1e-6
#: Relative margin of the repaired decrease LMI: F^T M F - (1 - lam) M <= -margin ||M|| I.
_REPAIR_MARGIN = 1e-10


@dataclass(frozen=True)
class LiftedProgram:
    """The DPP program min tr(M W) s.t. M >= H^T H, F^T M F <= (1 - lam) M of one pair.

    Built by :func:`build_lifted_program` for the pair's (F, H, W); set ``one_minus_lam.value``
    and call :meth:`solve` for every lam.
    """

    problem: cp.Problem
    """The cvxpy problem (DPP in 1 - lam)."""
    one_minus_lam: cp.Parameter
    """1 - lam, nonnegative."""
    M: cp.Variable
    """The certificate, (N, N) symmetric, N = 2 n^2."""

    def solve(self) -> str:
        """Solve with Clarabel, SCS as fallback (the authors' solver); returns the status.

        ``M.value`` is None when no solver returned a finite solution.
        """
        return _solve_with_fallback(self.problem, self.M, {"eps": 1e-6, "max_iters": 20000},
                                    statuses=("optimal", "optimal_inaccurate"))


def build_lifted_program(F: np.ndarray, H: np.ndarray, W: np.ndarray) -> LiftedProgram:
    """The program of one pair: F, H and the objective weight W are constants, 1 - lam a Parameter.

    .. math::

        \\min_M \\operatorname{tr}(M W) \\;\\text{s.t.}\\;
        M - H^\\top H \\succeq 0,\\; (1 - \\lambda) M - F^\\top M F \\succeq 0.

    W = I gives the authors' tr(M), W = nu nu^T the tight objective. With F constant the
    decrease LMI is an N x N cone; with F a Parameter (one program for all pairs, as
    :func:`~ltijepa.multitask.gradient_bounds.build_bisimulation_program`) it must be the
    2N x 2N Schur form, which made Clarabel about 8 times slower on unicycle pairs (N = 18).

    Raises
    ------
    SolverError
        If the problem is not DPP (it would be recompiled at every solve).
    """
    N = len(F)
    one_minus_lam = cp.Parameter(nonneg=True, name="one_minus_lam")
    M = cp.Variable((N, N), symmetric=True, name="M")
    constraints = [M - H.T @ H >> 0, one_minus_lam * M - F.T @ M @ F >> 0]
    problem = cp.Problem(cp.Minimize(cp.trace(M @ W)), constraints)
    if not problem.is_dpp():
        raise SolverError("the lifted program is not DPP: it would recompile at every solve", status="not DPP")
    return LiftedProgram(problem, one_minus_lam, M)


@dataclass(frozen=True)
class LiftedBound(BisimulationBound):
    """The lifted bound of one pair and its certificate: the fields of
    :class:`~ltijepa.multitask.gradient_bounds.BisimulationBound` with ``value`` = sqrt of the
    bound on g_ij^2 (gradient units, comparable with g_ij), ``M`` of size (2 n^2, 2 n^2) and
    ``lam_max`` = 1 - rho(F)^2, plus the squared bound and the variant."""

    squared: float = math.nan
    """The bound on g_ij^2 itself (the authors' b_ij when ``tight`` is False)."""
    tight: bool = False
    """Whether this is the tight variant (nu^T M nu, lam searched, optimal eta)."""


def lifted_data(A_i, A_j, E_i, E_j, Sigma0_i, Sigma0_j) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(F, H, nu) of the module docstring from two closed loops, E_K's and initial covariances.

    Parameters
    ----------
    A_i, A_j : array, (n, n)
        Closed loops A_K = A - B K of the two tasks.
    E_i, E_j : array, (m, n)
        E_K of the two tasks (``Task.E``).
    Sigma0_i, Sigma0_j : array, (n, n)
        Initial-state covariances.

    Examples
    --------
    >>> F, H, nu = lifted_data([[0.5]], [[0.2]], [[1.0]], [[3.0]], [[1.0]], [[2.0]])
    >>> F.tolist(), H.tolist(), nu.tolist()
    ([[0.25, 0.0], [0.0, 0.04000000000000001]], [[2.0, -6.0]], [1.0, 2.0])
    """
    A_i, A_j, E_i, E_j = (np.asarray(x, dtype=float) for x in (A_i, A_j, E_i, E_j))
    n = A_i.shape[0]
    F = scipy.linalg.block_diag(np.kron(A_i, A_i), np.kron(A_j, A_j))
    H = 2.0 * np.hstack([np.kron(np.eye(n), E_i), -np.kron(np.eye(n), E_j)])
    nu = np.concatenate([np.asarray(Sigma0_i, float).ravel(order="F"), np.asarray(Sigma0_j, float).ravel(order="F")])
    return F, H, nu


def authors_lambda(lam_max: float) -> float:
    """The authors' first lam: max(1e-8, lam_max / 4 - 1e-6) with lam_max = 1 - rho(F)^2.

    >>> authors_lambda(0.5)
    0.124999
    """
    return max(AUTHORS_LAM_FLOOR, lam_max / 4.0 - _AUTHORS_LAM_MARGIN)


def _authors_factor(lam: float) -> float:
    """(1 + 1/eta) / (lam - eta (1 - lam)) at eta = lam / (2 (1 - lam)): 2 (2 - lam) / lam^2."""
    return 2.0 * (2.0 - lam) / lam**2


def _optimal_factor(lam: float) -> float:
    """min over eta of (1 + 1/eta) / (lam - eta (1 - lam)): 1 / (1 - sqrt(1 - lam))^2."""
    return 1.0 / (1.0 - math.sqrt(1.0 - lam)) ** 2


def _repair(M: np.ndarray, F: np.ndarray, H: np.ndarray, lam: float) -> np.ndarray | None:
    """An M' near M with F^T M' F <= (1 - lam) M' and M' >= H^T H in float64, or None."""
    M = (M + M.T) / 2
    a = 1.0 - lam
    # X with F^T X F - a X = -I: positive definite while rho(F)^2 < a
    try:
        X = scipy.linalg.solve_discrete_lyapunov(F.T / math.sqrt(a), np.eye(len(F)) / a)
    except (np.linalg.LinAlgError, ValueError):
        return None
    X = (X + X.T) / 2
    if not np.all(np.isfinite(X)) or np.linalg.eigvalsh(X)[0] <= 0.0:
        return None
    scale = max(float(np.linalg.norm(M, 2)), 1e-300)
    excess = float(np.linalg.eigvalsh(F.T @ M @ F - a * M)[-1])
    delta = max(excess, 0.0) + _REPAIR_MARGIN * scale
    for _ in range(8):
        repaired = M + delta * X
        residual = float(np.linalg.eigvalsh(F.T @ repaired @ F - a * repaired)[-1])
        if residual <= 0.0 and np.linalg.eigvalsh(repaired)[0] > 0.0:
            break
        delta *= 4.0
    else:
        return None
    L = np.linalg.cholesky(repaired)
    L_inv = np.linalg.inv(L)  # small and triangular: faster than solve_triangular's checks
    domination = float(np.linalg.norm(H @ L_inv.T, 2) ** 2)  # lambda_max(L^-1 H^T H L^-T)
    return repaired * max(1.0, domination)


def _certified_solve(program: LiftedProgram, F, H_unit, lam: float):
    """Solve at lam; (M certified for the unit-norm H, status) or (None, status)."""
    program.one_minus_lam.value = 1.0 - lam
    status = program.solve()
    if program.M.value is None:
        return None, status
    M = _repair(program.M.value, F, H_unit, lam)
    return M, status if M is not None else f"{status}, certification failed"


def _lifted_from_data(F, H, nu, *, tight: bool, refine: int) -> LiftedBound:
    lam_max = 1.0 - spectral_radius(F) ** 2
    h_scale = float(np.linalg.norm(H, 2))
    if h_scale == 0.0:
        return LiftedBound(0.0, None, math.nan, lam_max, "zero output", 0, squared=0.0, tight=tight)
    nu_scale = float(np.linalg.norm(nu))
    unit_nu = nu / nu_scale
    program = build_lifted_program(F, H / h_scale, np.outer(unit_nu, unit_nu) if tight else np.eye(len(F)))
    factor = _optimal_factor if tight else _authors_factor
    solved: dict[float, tuple] = {}

    def solve_at(lam: float) -> tuple:
        if lam not in solved:
            M, status = _certified_solve(program, F, H / h_scale, lam)
            squared = math.inf if M is None else factor(lam) * float(unit_nu @ M @ unit_nu)
            solved[lam] = (squared, M, status)
        return solved[lam]

    if tight:
        _golden_search(lambda fraction: solve_at(fraction * lam_max)[0], refine)
        lam = min(solved, key=lambda x: solved[x][0])
    else:
        lam = authors_lambda(lam_max)
        for _ in range(AUTHORS_LAM_BACKOFFS):
            if solve_at(lam)[1] is not None:
                break
            lam = max(lam / 2.0, AUTHORS_LAM_FLOOR)
    squared, M, status = solved[lam]
    if M is None:
        seen = sorted({s for _, _, s in solved.values()})
        return LiftedBound(math.inf, None, math.nan, lam_max, f"no certified M (solver: {', '.join(seen)})",
                           len(solved), squared=math.inf, tight=tight)
    squared *= (h_scale * nu_scale) ** 2  # M ~ h^2, nu^T M nu ~ h^2 |nu|^2
    return LiftedBound(math.sqrt(squared), M * h_scale**2, lam, lam_max, status, len(solved), squared=squared,
                       tight=tight)


def lifted_bisimulation_bound(task_i: Task, task_j: Task, K, *, tight: bool = False, refine: int = 8) -> LiftedBound:
    """The authors' lifted bound on g_ij(K) (module docstring, ``eq-mt-lifted-bound``).

    Parameters
    ----------
    task_i, task_j : Task
        Two tasks with the same (n, m).
    K : array, (m, n)
        A gain stabilizing both (u = -K x).
    tight : bool
        False: the authors' rule (lam from rho(F), tr(M), their eta). True: the best
        certificate of the same form (nu^T M nu, lam searched, optimal eta).
    refine : int
        Golden-section steps of the tight lam search (ignored when ``tight`` is False).

    Returns
    -------
    LiftedBound
        ``.value`` = sqrt of the bound on g_ij^2 (gradient units), ``.squared``, ``.M``,
        ``.lam``, ``.status``.

    Raises
    ------
    NotStabilizingError
        If K does not stabilize one of the tasks (the message names it).
    ShapeError
        If the tasks' sizes differ or K is not (m, n).
    """
    _check_pair(task_i, task_j)
    K = task_i.check_gain(K)
    F, H, nu = lifted_data(_stable_closed_loop(task_i, K, "task_i"), _stable_closed_loop(task_j, K, "task_j"),
                           task_i.E(K), task_j.E(K), task_i.Sigma0, task_j.Sigma0)
    return _lifted_from_data(F, H, nu, tight=tight, refine=check_count("refine", refine, minimum=0))


def pairwise_lifted_bounds(tasks, K, *, tight: bool = False, refine: int = 8) -> PairwiseBisimulation:
    """:func:`lifted_bisimulation_bound` for all pairs of ``tasks`` (values in gradient units).

    Parameters
    ----------
    tasks : sequence of Task
        M >= 2 tasks of equal (n, m).
    K : array, (m, n)
        A gain stabilizing every task.
    tight : bool
        The authors' rule (False) or the tight variant (True).
    refine : int
        Golden-section steps of the tight lam search.

    Raises
    ------
    NotStabilizingError
        If K does not stabilize a task (the message names its index).
    ShapeError
        If fewer than 2 tasks are given, their sizes differ, or K is not (m, n).
    """
    tasks = list(tasks)
    closed, E = _closed_loops_and_E(tasks, K)
    refine = check_count("refine", refine, minimum=0)
    M = len(tasks)
    b, results = np.zeros((M, M)), {}
    for i in range(M):
        for j in range(i + 1, M):
            F, H, nu = lifted_data(closed[i], closed[j], E[i], E[j], tasks[i].Sigma0, tasks[j].Sigma0)
            results[i, j] = _lifted_from_data(F, H, nu, tight=tight, refine=refine)
            b[i, j] = b[j, i] = results[i, j].value
    return PairwiseBisimulation(b, results)
