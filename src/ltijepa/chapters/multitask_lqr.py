"""The driver of ``notebooks/multitask_lqr.ipynb`` ("Multitask LQR: heterogeneity, bisimulation
bounds, performance").

Bounds along policy-gradient paths, random families, random collections (Stamouli et al.
2025, Sec. 5; the talk's "Inverted Pendulum" and "Unicycle" slides). Sizes per profile are in
:meth:`Config.for_profile`; the notebook calls these functions and the library
(:mod:`ltijepa.multitask`) and records their numbers as claims. Every function that samples
takes an ``rng``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from tqdm import tqdm

from ltijepa import parallel
from ltijepa.checks import check_count, check_stabilizing
from ltijepa.errors import NotStabilizableError, NotStabilizingError
from ltijepa.multitask.epsilon_baseline import epsilon_bound
from ltijepa.multitask.gradient_bounds import BisimConfig, pairwise_bisimulation_bounds
from ltijepa.multitask.heterogeneity import gradient_heterogeneity
from ltijepa.lqr.families import scalar_pair
from ltijepa.multitask.objective import (
    MultitaskObjective,
    common_optimum,
    find_common_stabilizer,
    optimality_gaps,
    random_family,
    scalar_stabilizing_interval,
)
from ltijepa.multitask.performance import TALK_GENERAL_CONSTANT, gap_bound
from ltijepa.lqr.policy_gradient import History
from ltijepa.lqr.task import Task
from ltijepa.profiles import by_profile

__all__ = [
    "Config",
    "ScalarPairCheck",
    "scalar_pair_check",
    "path_indices",
    "PathBounds",
    "bounds_along_path",
    "FixedStepRun",
    "fixed_step_run",
    "FamilyChecks",
    "random_family_checks",
    "CollectionStudy",
    "collection_study",
]


@dataclass(frozen=True)
class Config:
    """Sizes of the chapter's experiments (resolved per profile by :meth:`for_profile`)."""

    tasks: int = 6
    """M of the pendulum and unicycle examples (the paper's unicycle has 6; its pendulum
    count was not retrieved, we use 6 as well)."""
    pg_iterations: int = 3000
    """Largest number of policy-gradient steps towards K_* (backtracking step)."""
    pg_tol: float = 1e-6
    """Stop policy gradient when ||grad C_avg||_F <= pg_tol."""
    example_start: tuple[str, ...] = ("lmi", "mean", "optima")
    """K_0 of the two examples: the common-Lyapunov LMI gain first, a generic stabilizing gain
    far from the optima, so the paths show the measures evolve (the paper's K_0 is unknown);
    the families and collections start from the default order (mean of the optima first)."""
    path_points: int = 8
    """Gains along the policy-gradient path at which all pairs are bounded (examples)."""
    fixed_step: float = 0.01
    """The paper's pendulum step size."""
    fixed_step_iterations: int = 5000
    """Steps of the constant-step run."""
    random_families: int = 200
    """Random families on which g_ij <= b_ij is checked along the path."""
    family_size: int = 3
    """Tasks per random family."""
    family_dims: tuple[int, int] = (3, 2)
    """(n, m) of the random families."""
    family_spread: float = 0.1
    """Perturbation size of :func:`~ltijepa.multitask.objective.random_family`."""
    family_path_points: int = 5
    """Gains per family path at which all pairs are bounded."""
    pendulum_collections: int = 100
    """Random pendulum collections (the paper: 100)."""
    unicycle_collections: int = 75
    """Random two-task unicycle collections (the paper: 75)."""
    bisim: BisimConfig = field(default_factory=BisimConfig)
    """How each b_ij is computed."""

    @classmethod
    def for_profile(cls, profile: str) -> Config:
        """``ci``: every experiment small enough for 2 CPU cores in about 2 minutes;
        ``full``: the paper's counts (100 pendulum, 75 unicycle collections) and 200 families.

        Raises
        ------
        ParameterError
            If the profile is unknown.
        """
        return cls(
            path_points=by_profile(profile, ci=5, full=10),
            fixed_step_iterations=by_profile(profile, ci=1500, full=5000),
            random_families=by_profile(profile, ci=20, full=200),
            family_dims=by_profile(profile, ci=(2, 1), full=(3, 2)),
            family_path_points=by_profile(profile, ci=3, full=5),
            pendulum_collections=by_profile(profile, ci=5, full=100),
            unicycle_collections=by_profile(profile, ci=6, full=75),
            bisim=BisimConfig(refine=by_profile(profile, ci=4, full=8)),
        )


@dataclass(frozen=True)
class ScalarPairCheck:
    """The talk's scalar counterexample checked three ways for several alpha."""

    alphas: np.ndarray
    """The values of alpha, shape (A,)."""
    intervals: np.ndarray
    """Stabilizing gain interval of each system, shape (A, 2, 2): [alpha, system, (lo, hi)]."""
    overlap: np.ndarray
    """Whether the two intervals intersect, shape (A,)."""
    min_max_rho: np.ndarray
    """min over the gain grid of max_i rho(A_i - B_i K), shape (A,)."""
    found: np.ndarray
    """Whether :func:`~ltijepa.multitask.objective.find_common_stabilizer` found a gain, shape (A,)."""

    @property
    def holds(self) -> bool:
        """No common stabilizing gain exactly when alpha >= 1, by all three checks."""
        none_expected = self.alphas >= 1.0
        return bool(np.all(self.overlap == ~none_expected) and np.all(self.found == ~none_expected)
                    and np.all(self.min_max_rho[none_expected] >= 1.0))


def scalar_pair_check(alphas, gains, *, pair: Callable[[float], Sequence[Task]] = scalar_pair) -> ScalarPairCheck:
    """Check ``prop-mt-scalar``, the talk's "alpha > 1: no common stabilizing gain" for x+ = +-alpha x + u.

    For each alpha: the exact stabilizing intervals of the two scalar systems (u = -K x), the
    largest closed-loop spectral radius max_i |a_i - b_i K| minimised over ``gains``, and the
    library's common-stabilizer search. ``pair`` builds the two tasks from alpha (default the
    talk's :func:`~ltijepa.lqr.families.scalar_pair`; a different pair shows the check can fail).

    Parameters
    ----------
    alphas : array, (A,)
        The values of alpha checked.
    gains : array, (G,)
        Grid of scalar gains K over which max_i |a_i - b_i K| is minimised.
    pair : callable
        ``pair(alpha) -> two scalar Tasks`` (default :func:`~ltijepa.lqr.families.scalar_pair`).

    Raises
    ------
    ShapeError
        If ``pair`` returns tasks that are not scalar.
    """
    alphas, gains = np.asarray(alphas, dtype=float), np.asarray(gains, dtype=float)
    intervals, min_max_rho, found = [], [], []
    for alpha in alphas:
        tasks = list(pair(alpha))
        intervals.append([scalar_stabilizing_interval(t) for t in tasks])
        a = np.array([t.A[0, 0] for t in tasks])[:, None]
        b = np.array([t.B[0, 0] for t in tasks])[:, None]
        min_max_rho.append(np.max(np.abs(a - b * gains), axis=0).min())
        try:
            find_common_stabilizer(tasks)  # returns only a gain that stabilizes both
            found.append(True)
        except NotStabilizableError:
            found.append(False)
    intervals = np.array(intervals)
    overlap = np.max(intervals[:, :, 0], axis=1) < np.min(intervals[:, :, 1], axis=1)
    return ScalarPairCheck(alphas, intervals, overlap, np.array(min_max_rho), np.array(found))


def path_indices(iterations: int, points: int) -> np.ndarray:
    """About ``points`` iterate indices in 0..iterations, geometrically spaced, with both ends.

    >>> path_indices(100, 5).tolist()
    [0, 2, 9, 31, 100]

    Raises
    ------
    ParameterError
        If iterations < 0 or points < 2.
    """
    iterations = check_count("iterations", iterations, minimum=0)
    points = check_count("points", points, minimum=2)
    spaced = np.geomspace(1, iterations + 1, points) - 1
    return np.unique(np.concatenate([[0], np.round(spaced).astype(int), [iterations]]))


@dataclass(frozen=True)
class PathBounds:
    """Gradient gaps, bisimulation bounds and the epsilon baseline along a PG path."""

    iterations: np.ndarray
    """Iterate indices n, shape (P,)."""
    g: np.ndarray
    """g_ij(K_n), shape (P, M, M)."""
    b: np.ndarray
    """b_ij(K_n), shape (P, M, M) (inf where infeasible)."""
    b_i: np.ndarray
    """b_i(K_n) with the talk's 1/M, shape (P, M)."""
    f_het: np.ndarray
    """Epsilon baseline, exact norms, shape (P,)."""
    f_het_cost: np.ndarray
    """Epsilon baseline, cost-bounded norms, shape (P,)."""
    gaps: np.ndarray
    """C_i(K_n) - C_i(K_*^(i)), shape (P, M)."""

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(g, b) of every pair i < j at every point, flattened."""
        upper = np.triu_indices(self.g.shape[1], 1)
        return self.g[:, upper[0], upper[1]].ravel(), self.b[:, upper[0], upper[1]].ravel()


def bounds_along_path(
    tasks: Sequence[Task], history: History, *, points: int, config: BisimConfig | None = None,
    progress: bool = False,
) -> PathBounds:
    """g_ij, b_ij, b_i, the epsilon baseline and the gaps at about ``points`` iterates of a path.

    At each iterate K_n: :func:`~ltijepa.multitask.gradient_bounds.pairwise_bisimulation_bounds`
    (b_ij of ``lem-mt-lmi``, b_i with the talk's 1/M),
    :func:`~ltijepa.multitask.heterogeneity.gradient_heterogeneity` (g_ij),
    :func:`~ltijepa.multitask.epsilon_baseline.epsilon_bound` (f_het, exact and cost-bounded
    norms) and :func:`~ltijepa.multitask.objective.optimality_gaps`.

    Parameters
    ----------
    tasks : sequence of Task
        The M tasks the path is evaluated on.
    history : History
        A policy-gradient run on ``tasks``; its gains ``history.K[n]`` are evaluated.
    points : int
        About how many iterates (>= 2), geometrically spaced with both ends
        (:func:`path_indices`).
    config : BisimConfig, optional
        How each b_ij is computed; default ``BisimConfig()``.
    progress : bool
        Show a tqdm progress bar over the iterates.

    Raises
    ------
    NotStabilizingError
        If an iterate does not stabilize a task (it cannot happen for a backtracking run).
    """
    indices = path_indices(history.iterations, points)
    rows = []
    for n in tqdm(indices, desc="path", disable=not progress):
        K = history.K[n]
        pairwise = pairwise_bisimulation_bounds(tasks, K, config=config)
        rows.append({"g": gradient_heterogeneity(tasks, K), "b": pairwise.b, "b_i": pairwise.b_i(),
                     "f_het": epsilon_bound(tasks, K).value,
                     "f_het_cost": epsilon_bound(tasks, K, norms="cost").value,
                     "gaps": optimality_gaps(tasks, K)})
    return PathBounds(indices, **{k: np.array([row[k] for row in rows]) for k in rows[0]})


@dataclass(frozen=True)
class FixedStepRun:
    """A constant-step policy-gradient run, or why it stopped."""

    history: History | None
    """The run (None if an iterate left K_stab)."""
    error: str | None
    """The NotStabilizingError message, if the run left K_stab."""

    @property
    def diverged(self) -> bool:
        """Whether an iterate left the stabilizing set."""
        return self.history is None


def fixed_step_run(tasks: Sequence[Task], K0, *, step: float, iterations: int) -> FixedStepRun:
    """Vanilla policy gradient K <- K - step grad C_avg(K) from K0, reporting a divergence.

    Parameters
    ----------
    tasks : sequence of Task
        The M tasks; C_avg is their average cost.
    K0 : array, (m, n)
        Initial gain (u = -K x), stabilizing every task.
    step : float
        Constant step size eta.
    iterations : int
        Number N of steps (the run is not stopped on a small gradient).

    Raises
    ------
    NotStabilizingError
        If K0 itself does not stabilize every task (a bad input, not a divergence).
    """
    check_stabilizing(MultitaskObjective(tasks).spectral_radius(K0), gain="K0")
    try:
        return FixedStepRun(common_optimum(tasks, iterations=iterations, step=step, K0=K0).history, None)
    except NotStabilizingError as exc:
        return FixedStepRun(None, str(exc))


@dataclass(frozen=True)
class FamilyChecks:
    """g_ij and b_ij over random families, along each family's PG path."""

    g: np.ndarray
    """Every checked g_ij, flattened."""
    b: np.ndarray
    """The matching b_ij."""
    family: np.ndarray
    """Index of the family of each entry."""
    families: int
    """Families checked."""
    skipped: int
    """Draws skipped because no common stabilizing gain was found."""


def random_family_checks(rng, config: Config, *, progress: bool = False) -> FamilyChecks:
    """Draw ``config.random_families`` random families and bound all pairs along their paths.

    A draw for which :func:`~ltijepa.multitask.objective.find_common_stabilizer` finds no gain is
    counted in ``skipped`` and replaced (at most 10 times as many draws as families).

    Parameters
    ----------
    rng : seed or numpy.random.Generator
        Source of the families (:func:`~ltijepa.multitask.objective.random_family`).
    config : Config
        Number, size, dimensions and spread of the families, the policy-gradient settings
        and the points per path.
    progress : bool
        Show a tqdm progress bar over the families.

    Raises
    ------
    NotStabilizableError
        If fewer families than asked had a common stabilizing gain within the draws allowed.
    """
    rng = np.random.default_rng(rng)
    n, m = config.family_dims
    wanted, draws = config.random_families, 10 * config.random_families
    g, b, family, skipped = [], [], [], 0
    with tqdm(total=wanted, desc="families", disable=not progress) as bar:
        for _ in range(draws):
            if len(g) == wanted:
                break
            tasks = random_family(config.family_size, n, m, rng, spread=config.family_spread)
            try:
                solution = common_optimum(tasks, iterations=config.pg_iterations, tol=config.pg_tol)
            except NotStabilizableError:
                skipped += 1
                continue
            path = bounds_along_path(tasks, solution.history, points=config.family_path_points,
                                     config=config.bisim)
            g_pairs, b_pairs = path.pairs()
            family.append(np.full(g_pairs.size, len(g)))
            g.append(g_pairs)
            b.append(b_pairs)
            bar.update()
    if len(g) < wanted:
        raise NotStabilizableError(
            f"only {len(g)} of {wanted} random families had a common stabilizing gain in "
            f"{draws} draws (spread == {config.family_spread})"
        )
    return FamilyChecks(np.concatenate(g), np.concatenate(b), np.concatenate(family),
                        config.random_families, skipped)


@dataclass(frozen=True)
class CollectionStudy:
    """Bisimulation measures against the epsilon baseline at K_* of random collections."""

    max_b_i: np.ndarray
    """max_i b_i(K_*) per collection, shape (C,)."""
    f_het: np.ndarray
    """Epsilon baseline at K_* (exact norms), shape (C,)."""
    f_het_cost: np.ndarray
    """Epsilon baseline at K_* (cost-bounded norms), shape (C,)."""
    max_g: np.ndarray
    """max_ij g_ij(K_*), shape (C,)."""
    gaps: np.ndarray
    """Gaps C_i(K_*) - C_i(K_*^(i)), shape (C, M)."""
    gap_bounds: np.ndarray
    """The talk's Theorem-2 bound (c = 2, with the residual), shape (C, M)."""
    residual: np.ndarray
    """||grad C_avg(K_*)||_F per collection, shape (C,)."""
    skipped: int
    """Collections skipped because no common stabilizing gain was found."""

    def reduction(self, baseline: str = "exact") -> float:
        """1 - mean(max_i b_i) / mean(f_het): the averaged curves' reduction at convergence.

        Parameters
        ----------
        baseline : {"exact", "cost"}
            f_het with exact norms (:attr:`f_het`, the default) or, for any other value, with
            cost-bounded norms (:attr:`f_het_cost`).
        """
        f = self.f_het if baseline == "exact" else self.f_het_cost
        return float(1.0 - self.max_b_i.mean() / f.mean())


def _one_collection(sampler: Callable[..., list[Task]], size: int, attempts: int, config: Config, _index: int, rng) -> tuple[dict, int]:
    """One collection of :func:`collection_study`, drawn from its own ``rng``: its measures at
    K_* and the number of draws without a common stabilizing gain it discarded first."""
    for skipped in range(attempts):
        tasks = sampler(size, rng)
        try:
            solution = common_optimum(tasks, iterations=config.pg_iterations, tol=config.pg_tol)
            break
        except NotStabilizableError:
            continue
    else:
        raise NotStabilizableError(f"{attempts} draws in a row had no common stabilizing gain")
    K = solution.K
    b_i = pairwise_bisimulation_bounds(tasks, K, config=config.bisim).b_i()
    row = {
        "max_b_i": b_i.max(),
        "max_g": gradient_heterogeneity(tasks, K).max(),
        "f_het": epsilon_bound(tasks, K).value,
        "f_het_cost": epsilon_bound(tasks, K, norms="cost").value,
        "gaps": optimality_gaps(tasks, K),
        "residual": solution.grad_norm,
        "gap_bounds": gap_bound(tasks, b_i, constant=TALK_GENERAL_CONSTANT, residual=solution.grad_norm),
    }
    return row, skipped


def collection_study(
    sampler: Callable[..., list[Task]], size: int, collections: int, rng,
    config: Config,
) -> CollectionStudy:
    """For ``collections`` draws of ``sampler(size, rng_c)``: K_*, b_i(K_*), baseline, gaps.

    The measures of :func:`bounds_along_path`, at K_* only, and the bound of ``thm-mt-general``
    (:func:`~ltijepa.multitask.performance.gap_bound`, the talk's constant 2, with the residual).
    Collection ``c`` draws from its own generator ``rng_c``, the ``c``-th child of ``rng``
    (:func:`ltijepa.parallel.item_generators`), so the collections are independent items of
    :func:`ltijepa.parallel.map`: local processes or a Dask cluster, with the same results.

    Parameters
    ----------
    sampler : callable
        ``sampler(M, rng) -> list of Task``, e.g. :func:`~ltijepa.lqr.families.sample_pendulums`
        (module-level, so other processes can run it).
    size : int
        Tasks per collection (>= 2).
    collections : int
        Number of collections.
    rng : seed or numpy.random.Generator
    config : Config

    Raises
    ------
    NotStabilizableError
        If a collection's generator gives more than ``collections`` draws in a row with no
        common stabilizing gain.
    """
    size, collections = check_count("size", size, minimum=2), check_count("collections", collections)
    results = parallel.map(partial(_one_collection, sampler, size, collections + 1, config), range(collections),
                           seed=np.random.default_rng(rng))
    rows = {name: np.array([row[name] for row, _ in results]) for name in results[0][0]}
    return CollectionStudy(**rows, skipped=sum(skipped for _, skipped in results))
