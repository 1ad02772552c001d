"""Gradient-space bisimulation bounds b_ij(K) >= g_ij(K) of two LQR tasks, from two LMIs.

Which "bisimulation": a bisimulation *function* between two linear systems in the sense of
approximate bisimulation (Girard & Pappas 2007), here the lifted covariance systems of two
tasks under one gain K (Stamouli et al. 2025, Sec. 3). It is neither the partition of an MDP's
states (:mod:`ltijepa.bisim`) nor the planning chapter's bisimulation-metric loss. The
chapter ``notebooks/multitask_lqr.ipynb`` derives everything below: the function
(``def-mt-bisim``) and the lemma that its LMIs give the bound (``lem-mt-lmi``); here only the
formulas the code evaluates. With u = -K x, A_K = A - B K:

.. math::

    \\Sigma_{t+1} = A_K \\Sigma_t A_K^\\top + \\Sigma_0, \\quad Y_t = 2 E_K \\Sigma_t
    \\to \\nabla C(K), \\qquad
    g_{ij}(K) = \\|\\nabla C^{(i)}(K) - \\nabla C^{(j)}(K)\\|_F   \\quad\\text{(eq-mt-lifted)}

.. math::

    \\text{(17a)}\\;\\; M \\succeq C^\\top C, \\qquad
    \\text{(17b)}\\;\\; A_{ij}^\\top M A_{ij} \\preceq (1 - \\lambda) M, \\qquad M \\succ 0
    \\quad\\text{(eq-mt-lmi)}

.. math::

    b_{ij}(K) = \\frac{\\sqrt{2}\\,\\operatorname{tr}(M Z_0)}{\\lambda \\sqrt{\\sigma_{\\min}(M)}},
    \\qquad Z_0 = \\operatorname{diag}(\\Sigma_0^{(i)}, \\Sigma_0^{(j)})
    \\quad\\text{(the paper's eq. (20); eq-mt-bij)}

with A_ij = diag(A_K^(i), A_K^(j)) and the output matrix C = 2 [E_K^(i), -E_K^(j)] (default,
``output="difference"``) or C = 2 diag(E_K^(i), E_K^(j)) (``output="blockdiag"``,
:func:`output_matrix`). (17b) is feasible iff lam < 1 - rho(A_ij)^2.

How it is computed [D]. For fixed lam, the smallest b over M is the convex program
min u s.t. [[M, C^T], [C, I]] >= 0, [[(1 - lam) M, A_ij^T M], [M A_ij, M]] >= 0, M >= s I,
s >= s_min, ||(2 tr(M Z_0), u - s)||_2 <= u + s, and b(lam) = sqrt(2 u) / lam. By default
(``BisimConfig(solver="clarabel")``) its conic data are built once per pair with numpy and
handed to Clarabel directly, only 1 - lam changing between solves
(:mod:`~ltijepa.multitask.pair_lmi`); where Clarabel returns no solution, and with
``solver="cvxpy"`` (the reference), the cvxpy program is solved: it is DPP in
(A_ij, C, Z_0, 1 - lam), :func:`build_bisimulation_program` compiles it once and every pair
and every lam re-solves it. lam is chosen by a 1-D search over (0, 1 - rho(A_ij)^2): a grid of
fractions of the interval, refined by golden section (:class:`BisimConfig`;
``lam_fraction`` fixes it; the authors' LQG code fixes a quarter of its own interval
(0, 1 - rho(F)^2) of the lifted F, see :mod:`~ltijepa.multitask.lifted_bounds`).

Certified values. Before a bound is reported, the solver's M is scaled up until M >= C^T C
holds in exact float64 linear algebra, and lam is replaced by the largest value (17b) allows
for that M, 1 - ||L^T A_ij L^-T||_2^2 with M = L L^T; ``value`` is b_ij of that exactly valid
pair (M, lam), so the bound does not depend on the solver's tolerances.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import scipy.linalg
from tqdm import tqdm

from ltijepa.checks import check_count, check_positive, check_stabilizing
from ltijepa.errors import ParameterError, ShapeError, SolverError
from ltijepa.lqr.task import Task, spectral_radius
from ltijepa.multitask.pair_lmi import bisimulation_pair_program

__all__ = [
    "OUTPUTS",
    "SOLVERS",
    "BisimConfig",
    "BisimulationProgram",
    "BisimulationBound",
    "PairwiseBisimulation",
    "build_bisimulation_program",
    "output_matrix",
    "bisimulation_bound",
    "pairwise_bisimulation_bounds",
    "average_bounds",
]

#: The two output matrices C of the lifted pair (see the module docstring).
OUTPUTS = ("difference", "blockdiag")
#: How the program of a pair is solved: its conic data handed to Clarabel directly, or cvxpy.
SOLVERS = ("clarabel", "cvxpy")
#: Fractions of the feasible interval (0, 1 - rho^2) tried before the golden-section refinement.
_LAM_GRID = (0.05, 0.2, 0.4, 0.6, 0.8, 0.9, 0.97, 0.995)
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


@dataclass(frozen=True)
class BisimConfig:
    """How b_ij(K) is computed."""

    output: str = "difference"
    """Output matrix C of the lifted pair: ``"difference"`` 2[E_i, -E_j] or ``"blockdiag"``."""
    lam_fraction: float | None = None
    """None: search lam over (0, 1 - rho^2). A float f in (0, 1): fix lam = f (1 - rho^2)."""
    refine: int = 8
    """Golden-section steps after the grid :data:`_LAM_GRID` (search only)."""
    s_min: float = 1e-8
    """Lower bound on sigma_min(M) in the normalised problem (keeps M > 0 strictly)."""
    solver: str = "clarabel"
    """``"clarabel"``: the pair's conic data built directly (:mod:`~ltijepa.multitask.pair_lmi`),
    the cvxpy program as fallback; ``"cvxpy"``: the compiled cvxpy program only (the reference)."""

    def __post_init__(self):
        if self.output not in OUTPUTS:
            raise ParameterError(f"output == {self.output!r}, must be one of {OUTPUTS}")
        if self.solver not in SOLVERS:
            raise ParameterError(f"solver == {self.solver!r}, must be one of {SOLVERS}")
        if self.lam_fraction is not None and not 0.0 < self.lam_fraction < 1.0:
            raise ParameterError(f"lam_fraction == {self.lam_fraction!r}, must be in (0, 1) or None")
        check_count("refine", self.refine, minimum=0)
        check_positive("s_min", self.s_min)


@dataclass(frozen=True)
class BisimulationProgram:
    """The compiled DPP problem of the module docstring and its Parameters.

    Built by :func:`build_bisimulation_program`; set the Parameters' ``.value`` and call
    :meth:`solve`.
    """

    problem: cp.Problem
    """The cvxpy problem min u (DPP)."""
    A: cp.Parameter
    """Lifted closed loop A_ij, (2n, 2n)."""
    C: cp.Parameter
    """Output matrix, (p, 2n)."""
    Z0: cp.Parameter
    """diag(Sigma0_i, Sigma0_j), (2n, 2n), PSD."""
    one_minus_lam: cp.Parameter
    """1 - lam, nonnegative."""
    M: cp.Variable
    """The bisimulation matrix, (2n, 2n) symmetric."""
    u: cp.Variable
    """Epigraph variable: tr(M Z0)^2 / sigma_min(M) <= u."""

    def solve(self, solvers: tuple[str, ...] = (cp.CLARABEL, cp.SCS)) -> str:
        """Solve with Clarabel, falling back to SCS if Clarabel errs or returns no M.

        ``solvers`` = ``(cp.SCS,)`` skips Clarabel (after the direct Clarabel solve failed).
        Returns the final ``problem.status`` (a string); ``M.value`` is None when no solver
        returned a solution.
        """
        return _solve_with_fallback(self.problem, self.M, {"eps": 1e-5, "max_iters": 2000}, solvers=solvers)


def _solve_with_fallback(problem: cp.Problem, M: cp.Variable, scs_options: dict, *,
                         statuses: tuple[str, ...] | None = None,
                         solvers: tuple[str, ...] = (cp.CLARABEL, cp.SCS)) -> str:
    """Solve with the ``solvers`` in turn (Clarabel, then SCS with ``scs_options``) until one
    returns a finite M (with ``statuses``, also a status among them); returns the last status."""
    status = "not solved"
    for solver in solvers:
        options = scs_options if solver == cp.SCS else {}
        try:
            with warnings.catch_warnings():  # inaccurate solutions are certified afterwards
                warnings.simplefilter("ignore", UserWarning)
                problem.solve(solver=solver, **options)
        except cp.error.SolverError as exc:
            status = f"{solver} error: {exc}"
            continue
        status = problem.status
        if (statuses is None or status in statuses) and M.value is not None and np.all(np.isfinite(M.value)):
            return status
    return status


def build_bisimulation_program(n: int, p: int, *, s_min: float = 1e-8) -> BisimulationProgram:
    """Build the DPP program for a pair of n-state tasks and a p-row output matrix.

    .. math::

        \\min u \\;\\; \\text{s.t.}\\;
        \\begin{bmatrix} M & C^\\top \\\\ C & I_p \\end{bmatrix} \\succeq 0,\\;
        \\begin{bmatrix} (1-\\lambda) M & A^\\top M \\\\ M A & M \\end{bmatrix} \\succeq 0,\\;
        M \\succeq s I,\\; s \\ge s_{\\min},\\; \\operatorname{tr}(M Z_0)^2 \\le u s.

    Parameters
    ----------
    n : int
        State dimension of each task (the lifted pair has 2n).
    p : int
        Rows of the output matrix C (m for the difference output, 2m for block-diagonal).
    s_min : float
        Lower bound on s (sigma_min(M) >= s).

    Returns
    -------
    BisimulationProgram

    Raises
    ------
    ParameterError
        If n or p is not a positive integer.
    SolverError
        If the problem is not DPP (it would be recompiled at every solve).
    """
    n, p = check_count("n", n), check_count("p", p)
    N = 2 * n
    A = cp.Parameter((N, N), name="A_ij")
    C = cp.Parameter((p, N), name="C")
    Z0 = cp.Parameter((N, N), PSD=True, name="Z0")
    one_minus_lam = cp.Parameter(nonneg=True, name="one_minus_lam")
    M = cp.Variable((N, N), symmetric=True, name="M")
    s, u = cp.Variable(name="s"), cp.Variable(name="u")
    t = cp.trace(M @ Z0)
    constraints = [
        cp.bmat([[M, C.T], [C, np.eye(p)]]) >> 0,  # (17a) M >= C^T C
        cp.bmat([[one_minus_lam * M, A.T @ M], [M @ A, M]]) >> 0,  # (17b)
        M >> s * np.eye(N),
        s >= s_min,
        cp.SOC(u + s, cp.hstack([2 * t, u - s])),  # t^2 <= u s
    ]
    problem = cp.Problem(cp.Minimize(u), constraints)
    if not problem.is_dpp():
        raise SolverError("the bisimulation program is not DPP: it would recompile at every solve", status="not DPP")
    return BisimulationProgram(problem, A, C, Z0, one_minus_lam, M, u)


@functools.lru_cache(maxsize=32)
def _cached_program(n: int, p: int, s_min: float) -> BisimulationProgram:
    return build_bisimulation_program(n, p, s_min=s_min)


@dataclass(frozen=True)
class BisimulationBound:
    """The bound b_ij(K) of one pair and its certificate."""

    value: float
    """b_ij(K) >= g_ij(K); ``math.inf`` when no lam gave a certified M (status says why)."""
    M: np.ndarray | None
    """The certified bisimulation matrix (2n, 2n), in the pair's own scale; None if infeasible
    or if C = 0 (status ``"zero output"``, value 0)."""
    lam: float
    """The certified decay rate lam of (17b) for M; nan when M is None."""
    lam_max: float
    """1 - rho(A_ij)^2, the supremum of feasible lam."""
    status: str
    """Solver status of the best solve, ``"zero output"`` when C = 0, or why it failed."""
    solves: int = 0
    """Number of conic solves spent on this pair."""

    @property
    def feasible(self) -> bool:
        """Whether a finite certified bound was found."""
        return math.isfinite(self.value)


def output_matrix(E_i: np.ndarray, E_j: np.ndarray, output: str = "difference") -> np.ndarray:
    """The output matrix C of the lifted pair, so that ||Y_i - Y_j||_F <= sqrt(2) ||C Z||_F.

    ``"difference"``: C = 2 [E_i, -E_j], shape (m, 2n); ``"blockdiag"``: C = 2 diag(E_i, E_j),
    shape (2m, 2n).

    Raises
    ------
    ParameterError
        If ``output`` is not one of :data:`OUTPUTS`.

    Examples
    --------
    >>> output_matrix(np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]])).tolist()
    [[2.0, 4.0, -6.0, -8.0]]
    """
    if output == "difference":
        return 2.0 * np.hstack([E_i, -E_j])
    if output == "blockdiag":
        return 2.0 * scipy.linalg.block_diag(E_i, E_j)
    raise ParameterError(f"output == {output!r}, must be one of {OUTPUTS}")


def _stable_closed_loop(task: Task, K: np.ndarray, label: str) -> np.ndarray:
    A_K = task.closed_loop(K)
    check_stabilizing(spectral_radius(A_K), label=label)
    return A_K


def _certify(M: np.ndarray, A: np.ndarray, C: np.ndarray, Z0: np.ndarray):
    """(value, M, lam) for the exactly valid pair built from a solver's M, or None."""
    M = (M + M.T) / 2
    try:
        L = np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        return None
    L_inv = np.linalg.inv(L)  # small and triangular: faster than solve_triangular's checks
    domination = float(np.linalg.norm(C @ L_inv.T, 2) ** 2)  # lambda_max(L^-1 C^T C L^-T)
    M = M * max(1.0, domination)
    lam = 1.0 - float(np.linalg.norm(L.T @ A @ L_inv.T, 2) ** 2)  # invariant to scaling M
    sigma_min = float(np.linalg.eigvalsh(M)[0])
    if not (lam > 0.0 and sigma_min > 0.0):
        return None
    value = math.sqrt(2.0) * float(np.trace(M @ Z0)) / (lam * math.sqrt(sigma_min))
    return value, M, lam


def _bound_from_data(A, C, Z0, config: BisimConfig, program: BisimulationProgram | None):
    """Minimise the certified b over lam for the lifted data (A, C, Z0)."""
    lam_max = 1.0 - spectral_radius(A) ** 2
    c_scale = float(np.linalg.norm(C, 2))
    if c_scale == 0.0:  # E_i = E_j = 0: the outputs coincide and the infimum over M is 0
        return BisimulationBound(0.0, None, math.nan, lam_max, "zero output", 0)
    z_scale = float(np.linalg.norm(Z0, 2))
    if program is not None and (program.A.shape != A.shape or program.C.shape != C.shape):
        raise ShapeError(
            f"program: built for A {program.A.shape} and C {program.C.shape}, the pair needs "
            f"A {A.shape} and C {C.shape} (build_bisimulation_program(n, p) with n == "
            f"{len(A) // 2}, p == {C.shape[0]})"
        )
    C, Z0 = C / c_scale, Z0 / z_scale
    direct = bisimulation_pair_program(A, C, Z0, config.s_min) if config.solver == "clarabel" else None

    @functools.cache
    def cvxpy_program() -> BisimulationProgram:  # compiled, its Parameters set, on first use only
        compiled = program or _cached_program(len(A) // 2, C.shape[0], config.s_min)
        compiled.A.value, compiled.C.value, compiled.Z0.value = A, C, Z0
        return compiled

    def solve(one_minus_lam: float) -> tuple[np.ndarray | None, str]:
        if direct is not None:
            M, status = direct.solve(one_minus_lam)
            if M is not None:
                return M, status
        compiled = cvxpy_program()
        compiled.one_minus_lam.value = one_minus_lam
        status = compiled.solve() if direct is None else compiled.solve(solvers=(cp.SCS,))
        return compiled.M.value, status

    solved: dict[float, tuple] = {}
    statuses: dict[float, str] = {}

    def evaluate(fraction: float) -> float:
        if fraction not in solved:
            M, statuses[fraction] = solve(1.0 - fraction * lam_max)
            certificate = None if M is None else _certify(M, A, C, Z0)
            solved[fraction] = certificate if certificate is not None else (math.inf, None, math.nan)
        return solved[fraction][0]

    if config.lam_fraction is not None:
        evaluate(config.lam_fraction)
    else:
        _golden_search(evaluate, config.refine)
    best = min(solved, key=lambda f: solved[f][0])
    value, M, lam = solved[best]
    if M is None:
        statuses_seen = sorted(set(statuses.values()))
        return BisimulationBound(math.inf, None, math.nan, lam_max,
                                 f"infeasible at every lam (solver: {', '.join(statuses_seen)})",
                                 len(solved))
    scale = c_scale * c_scale  # undo the normalisation: M ~ c^2, tr(M Z0) ~ c^2 z
    return BisimulationBound(value * c_scale * z_scale, M * scale, lam, lam_max, statuses[best],
                             len(solved))


def _golden_search(evaluate, refine: int) -> None:
    """Grid over :data:`_LAM_GRID`, then golden section on the bracket around the best.

    Each step keeps its inner point as one of the next step's two (the same point, not a
    recomputation that may differ in the last bit), so ``refine`` steps cost refine + 1 solves.
    """
    values = [evaluate(f) for f in _LAM_GRID]
    k = int(np.argmin(values))
    if not math.isfinite(values[k]):
        return
    grid = (0.0, *_LAM_GRID, 1.0)
    lo, hi = grid[k], grid[k + 2]
    a, b = hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo)
    for _ in range(refine):
        if evaluate(a) <= evaluate(b):
            hi, b = b, a
            a = hi - _GOLDEN * (hi - lo)
        else:
            lo, a = a, b
            b = lo + _GOLDEN * (hi - lo)


def _check_pair(task_i: Task, task_j: Task) -> None:
    if (task_i.n, task_i.m) != (task_j.n, task_j.m):
        raise ShapeError(
            f"the tasks of a pair must have equal sizes: task_i has (n, m) == "
            f"({task_i.n}, {task_i.m}), task_j has ({task_j.n}, {task_j.m})"
        )


def _closed_loops_and_E(tasks: list[Task], K) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A_K and E_K of every task after checking the collection and the gain."""
    if len(tasks) < 2:
        raise ShapeError(f"need at least 2 tasks, found {len(tasks)}")
    for task in tasks[1:]:
        _check_pair(tasks[0], task)
    K = tasks[0].check_gain(K)
    closed = [_stable_closed_loop(t, K, f"task {i}") for i, t in enumerate(tasks)]
    return closed, [t.E(K) for t in tasks]


def bisimulation_bound(
    task_i: Task,
    task_j: Task,
    K,
    *,
    config: BisimConfig | None = None,
    program: BisimulationProgram | None = None,
) -> BisimulationBound:
    """The gradient-space bisimulation bound b_ij(K) >= ||grad C_i(K) - grad C_j(K)||_F.

    .. math::

        b_{ij}(K) = \\min_{\\lambda, M}
        \\frac{\\sqrt{2}\\,\\operatorname{tr}(M \\operatorname{diag}(\\Sigma_0^{(i)}, \\Sigma_0^{(j)}))}
             {\\lambda \\sqrt{\\sigma_{\\min}(M)}}
        \\;\\text{ s.t. (17a), (17b)},

    the paper's eq. (20) with our reconstruction of (17a)-(17b) (module docstring; u = -K x):
    the bisimulation function of ``def-mt-bisim`` certified by the LMIs of ``lem-mt-lmi``.

    Parameters
    ----------
    task_i, task_j : Task
        Two tasks with the same (n, m).
    K : array, (m, n)
        A gain stabilizing both.
    config : BisimConfig, optional
        Output matrix and lam rule; default :class:`BisimConfig()`.
    program : BisimulationProgram, optional
        A compiled cvxpy program of matching sizes, solved with ``config.solver == "cvxpy"`` and
        where the direct Clarabel solve fails; default one cached per (n, p).

    Returns
    -------
    BisimulationBound
        ``.value`` (``math.inf`` when no lam gave a certified M), ``.M``, ``.lam``,
        ``.status``.

    Raises
    ------
    NotStabilizingError
        If K does not stabilize one of the tasks; the message names ``task_i`` or ``task_j``
        and ``.rho`` holds its spectral radius.
    ShapeError
        If the tasks' sizes differ or K is not (m, n).
    """
    config = BisimConfig() if config is None else config
    _check_pair(task_i, task_j)
    K = task_i.check_gain(K)
    A = scipy.linalg.block_diag(_stable_closed_loop(task_i, K, "task_i"),
                                _stable_closed_loop(task_j, K, "task_j"))
    C = output_matrix(task_i.E(K), task_j.E(K), config.output)
    Z0 = scipy.linalg.block_diag(task_i.Sigma0, task_j.Sigma0)
    return _bound_from_data(A, C, Z0, config, program)


@dataclass(frozen=True)
class PairwiseBisimulation:
    """b_ij(K) for all pairs of a collection of M tasks."""

    b: np.ndarray
    """(M, M) symmetric, zero diagonal; ``inf`` where a pair was infeasible."""
    results: dict = field(repr=False)
    """{(i, j): BisimulationBound} for i < j."""

    def b_i(self, normalization: str = "M") -> np.ndarray:
        """The per-task averages b_i(K); see :func:`average_bounds`.

        Parameters
        ----------
        normalization : {"M", "M-1"}, default "M"
            Divide each row sum of :attr:`b` by M (the talk's b_i) or by M - 1 (the authors'
            LQG code).

        Returns
        -------
        array, (M,)
            ``inf`` for a task in an infeasible pair.
        """
        return average_bounds(self.b, normalization)

    @property
    def feasible(self) -> bool:
        """Whether every pair has a finite bound."""
        return bool(np.all(np.isfinite(self.b)))


def average_bounds(b: np.ndarray, normalization: str = "M") -> np.ndarray:
    """b_i = (1/M) sum_{j != i} b_ij (talk) or (1/(M-1)) sum_{j != i} b_ij (authors' LQG code).

    The talk's 1/M is the one the performance bound needs: grad C_avg(K*) = 0 gives
    grad C_i(K*) = (1/M) sum_{j != i} (grad C_i - grad C_j)(K*), so ||grad C_i(K*)||_F <= b_i.

    Parameters
    ----------
    b : array, (M, M)
        Pairwise bounds (the diagonal is ignored).
    normalization : {"M", "M-1"}

    Raises
    ------
    ShapeError
        If ``b`` is not square with M >= 2.
    ParameterError
        If ``normalization`` is neither ``"M"`` nor ``"M-1"``.

    Examples
    --------
    >>> b = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 4.0], [2.0, 4.0, 0.0]])
    >>> average_bounds(b).tolist(), average_bounds(b, "M-1").tolist()
    ([1.0, 1.6666666666666667, 2.0], [1.5, 2.5, 3.0])
    """
    b = np.asarray(b, dtype=float)
    if b.ndim != 2 or b.shape[0] != b.shape[1] or b.shape[0] < 2:
        raise ShapeError(f"b: expected shape (M, M) with M >= 2, found {b.shape}")
    M = b.shape[0]
    denominators = {"M": M, "M-1": M - 1}
    if normalization not in denominators:
        raise ParameterError(f"normalization == {normalization!r}, must be 'M' or 'M-1'")
    off_diagonal = np.where(np.eye(M, dtype=bool), 0.0, b)
    return off_diagonal.sum(axis=1) / denominators[normalization]


def pairwise_bisimulation_bounds(
    tasks, K, *, config: BisimConfig | None = None, program: BisimulationProgram | None = None,
    progress: bool = False,
) -> PairwiseBisimulation:
    """b_ij(K) for all M (M - 1) / 2 pairs of ``tasks``, re-solving one compiled program.

    Each b_ij is :func:`bisimulation_bound`'s (``def-mt-bisim``, ``lem-mt-lmi``); the
    chapter's check g_ij(K) <= b_ij(K) compares them with
    :func:`~ltijepa.multitask.heterogeneity.gradient_heterogeneity`.

    Parameters
    ----------
    tasks : sequence of Task
        M >= 2 tasks of equal (n, m).
    K : array, (m, n)
        A gain stabilizing every task.
    config : BisimConfig, optional
    program : BisimulationProgram, optional
        A compiled cvxpy program to re-solve with ``config.solver == "cvxpy"`` and as the
        fallback (default: the cached one for the sizes).
    progress : bool
        Show a tqdm bar over the pairs.

    Returns
    -------
    PairwiseBisimulation

    Raises
    ------
    NotStabilizingError
        If K does not stabilize a task; the message names its index and ``.rho`` holds its
        spectral radius.
    ShapeError
        If fewer than 2 tasks are given, their sizes differ, or K is not (m, n).
    """
    config = BisimConfig() if config is None else config
    tasks = list(tasks)
    closed, E = _closed_loops_and_E(tasks, K)
    M = len(tasks)
    b = np.zeros((M, M))
    results = {}
    pairs = [(i, j) for i in range(M) for j in range(i + 1, M)]
    for i, j in tqdm(pairs, desc="b_ij", disable=not progress):
        A = scipy.linalg.block_diag(closed[i], closed[j])
        C = output_matrix(E[i], E[j], config.output)
        Z0 = scipy.linalg.block_diag(tasks[i].Sigma0, tasks[j].Sigma0)
        results[i, j] = _bound_from_data(A, C, Z0, config, program)
        b[i, j] = b[j, i] = results[i, j].value
    return PairwiseBisimulation(b, results)
