"""Checks on FedLQR runs: rounds to a gap, the noise floor, stability, variance, bias.

The measurements behind the claims of the chapter "FedLQR" (Wang et al. 2026, as presented
in the talk), each a function of :class:`~ltijepa.fedlqr.rounds.FedLQRHistory` objects or of the
tasks, with u = -K x throughout:

- :func:`rounds_to_gap` and :func:`speedup`: rounds (and per-agent rollouts) to reach a fixed
  relative gap, for each number of agents -- the "1/M" sample-complexity claim;
- :func:`floor_check`: has a run from K_0 reached the noise floor that the same run started
  at the optimum measures?
- :func:`every_iterate_stabilizing`: every server gain of every run stabilizes every agent;
- :func:`averaged_estimate_variance` and :func:`variance_scaling`: the server's average of M
  independent estimates has 1/M of the variance;
- :func:`heterogeneity_bias` and :func:`bias_order`: agent 1's gap at the common optimum
  and its order in the heterogeneity level;
- :func:`path_heterogeneity`: max_ij g_ij(K_n) along a server path;
- :func:`gap_summary`: mean, sd and range over realisations of a gap at given rounds (ours
  beside the authors' code's numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ltijepa.checks import check_count, check_positive
from ltijepa.errors import ParameterError
from ltijepa.lqr.batched import TaskBatch
from ltijepa.fedlqr.objective import authors_gap
from ltijepa.fedlqr.rounds import FedLQRConfig, FedLQRHistory
from ltijepa.multitask.heterogeneity import gradient_heterogeneity
from ltijepa.multitask.objective import common_optimum
from ltijepa.lqr.task import Task
from ltijepa.lqr.zeroth_order import estimate_gradient

__all__ = [
    "SCORES",
    "rounds_to_gap",
    "SpeedUp",
    "speedup",
    "FloorCheck",
    "floor_check",
    "every_iterate_stabilizing",
    "averaged_estimate_variance",
    "variance_scaling",
    "heterogeneity_bias",
    "bias_order",
    "path_heterogeneity",
    "gap_summary",
]


#: Scores of agent 1: the exact cost tr(P_K Sigma0), or the authors' 1^T P_100 1.
SCORES = ("exact", "authors")


def rounds_to_gap(gap: np.ndarray, threshold: float) -> int | None:
    """The first round n with gap[n] <= threshold, or ``None`` if there is none.

    Parameters
    ----------
    gap : array, (N + 1,)
        A gap curve (e.g. the mean over realisations).
    threshold : float

    Examples
    --------
    >>> rounds_to_gap(np.array([3.0, 2.0, 1.0, 0.5]), 1.0)
    2
    """
    below = np.flatnonzero(np.asarray(gap) <= threshold)
    return int(below[0]) if below.size else None


@dataclass(frozen=True)
class SpeedUp:
    """Rounds needed by M agents to reach the gap the fewest agents reach in N rounds."""

    threshold: float
    """The fixed relative gap: the final mean gap of the smallest M."""
    rounds: dict
    """M -> first round whose mean gap is <= threshold (``None``: not within N rounds)."""
    ratios: dict
    """M -> rounds(smallest M) / rounds(M); ``None`` if M does not reach the threshold. The
    "1/M" claim predicts ratios[M] = M / (smallest M)."""


def speedup(gaps: Mapping[int, np.ndarray]) -> SpeedUp:
    """Rounds to a fixed relative gap of agent 1, for each number of agents.

    The check of ``thm-fedlqr``'s sample-complexity statement (a reduction ~M).

    The threshold is the mean (over realisations) gap that the smallest M reaches after its
    N rounds; every M's rounds are counted on its mean gap curve. Each agent simulates the
    same number of rollouts per round for every M, so the ratio of rounds is also the ratio
    of per-agent samples.

    Parameters
    ----------
    gaps : mapping of int to array, (replicas, N + 1)
        M -> agent 1's relative gap along the run with M agents, one row per realisation:
        the authors' score (:func:`~ltijepa.fedlqr.objective.authors_gap` of the server
        gains) or the exact one (``FedLQRHistory.relative_gap``); agent 1 must be the same
        task in every run.

    Raises
    ------
    ParameterError
        If ``gaps`` is empty.
    """
    if not gaps:
        raise ParameterError("gaps == {}, must hold at least one run")
    curves = {M: np.asarray(gap).mean(axis=0) for M, gap in gaps.items()}
    base = min(curves)
    threshold = float(curves[base][-1])
    rounds = {M: rounds_to_gap(curve, threshold) for M, curve in curves.items()}
    ratios = {M: (rounds[base] / r if r else None) for M, r in rounds.items()}
    return SpeedUp(threshold, rounds, ratios)


@dataclass(frozen=True)
class FloorCheck:
    """FedLQR from K_0 against the same run started at the optimum (:func:`floor_check`)."""

    holds: bool
    """Whether gap <= floor + tolerance."""
    gap: float
    """Mean over realisations of the last-window mean relative gap, run from K_0."""
    floor: float
    """The same for the run started at K_*: the estimator's noise floor."""
    tolerance: float
    """z standard errors of gap - floor (realisations are independent)."""
    initial_gap: float
    """The relative gap at K_0."""


def floor_check(
    from_start: FedLQRHistory, from_optimum: FedLQRHistory, optimal_cost: float, *,
    window: float, z: float = 3.0, agent: int = 0,
) -> FloorCheck:
    """Has FedLQR from K_0 reached the noise floor of its estimator at the common optimum?

    The check of ``thm-fedlqr``'s convergence with identical agents (bias B(0, 0) = 0).

    The floor is measured, not chosen: the run started at the optimum K_* with the same
    estimator, steps and rounds fluctuates around the stationary level that the sampling
    noise and the smoothing bias allow. Per realisation, average the relative gap of
    ``agent`` over the last ``window`` fraction of the rounds; the check holds when the mean
    from K_0 is at most the mean from K_* plus z standard errors of their difference.

    Parameters
    ----------
    from_start, from_optimum : FedLQRHistory
        The two runs (same config, each with >= 2 realisations).
    optimal_cost : float
        C^(i)_* of the agent.
    window : float
        Fraction in (0, 1] of the last rounds averaged.
    z : float
        Number of standard errors allowed (default 3).
    agent : int
        The agent whose gap is compared (default agent 1, index 0).

    Raises
    ------
    ParameterError
        If window is not in (0, 1], z <= 0, or a run has fewer than 2 realisations.
    """
    if not 0 < window <= 1:
        raise ParameterError(f"window == {window!r}, must be in (0, 1]")
    z = check_positive("z", z)
    means = []
    for name, history in (("from_start", from_start), ("from_optimum", from_optimum)):
        if history.replicas < 2:
            raise ParameterError(f"{name} has {history.replicas} realisation(s), must have >= 2")
        last = max(1, int(round(window * history.rounds)))
        means.append(history.relative_gap(optimal_cost, agent)[:, -last:].mean(axis=1))
    a, b = means
    tolerance = z * float(np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size))
    gap, floor = float(a.mean()), float(b.mean())
    initial = float(from_start.relative_gap(optimal_cost, agent)[0, 0])
    return FloorCheck(bool(gap <= floor + tolerance), gap, floor, tolerance, initial)


def every_iterate_stabilizing(histories: Sequence[FedLQRHistory]) -> bool:
    """Whether every server gain K_0, ..., K_N of every run stabilizes every agent.

    The check of ``thm-fedlqr``'s "K_N stabilizes every agent, for all N".

    Parameters
    ----------
    histories : sequence of FedLQRHistory
        The runs; every realisation of each is checked (``FedLQRHistory.stabilizing``).
    """
    return bool(all(h.stabilizing.all() for h in histories))


def averaged_estimate_variance(
    task: Task, K, agents: Sequence[int], config: FedLQRConfig, *, draws: int, rng=None
) -> dict[int, tuple[float, float]]:
    """Variance of the server's average of M identical agents' gradient estimates at K.

    For each M, ``draws`` independent averages g_k = (1/M) sum_i g_hat_i(K) (the first
    local step of a round, :func:`~ltijepa.lqr.zeroth_order.estimate_gradient` with the
    settings of ``config``) give s_k = ||g_k - mean_k g_k||_F^2; the variance is
    sum_k s_k / (draws - 1), with standard error std(s_k) / sqrt(draws). No target gradient
    is needed, so the estimator's bias does not enter.

    Parameters
    ----------
    task : Task
        The system every agent has (eps = 0).
    K : array, (m, n)
        The gain the agents estimate the gradient at.
    agents : sequence of int
        Numbers of agents M.
    config : FedLQRConfig
        Estimator settings (``gradient`` must be a zeroth-order one).
    draws : int
        Independent averages per M (>= 2).
    rng : seed or numpy.random.Generator

    Returns
    -------
    dict
        M -> (variance, standard error).

    Raises
    ------
    ParameterError
        If ``config.gradient == "exact"`` or draws < 2.
    """
    if config.gradient == "exact":
        raise ParameterError("config.gradient == 'exact', must be a zeroth-order estimator")
    draws = check_count("draws", draws, minimum=2)
    result = {}
    for M, stream in zip(agents, np.random.default_rng(rng).spawn(len(agents))):
        batch = TaskBatch.from_tasks([task] * (check_count("M", M) * draws))
        estimate = estimate_gradient(
            batch, K, estimator=config.gradient, radius=config.radius, samples=config.samples,
            horizon=config.horizon, rng=stream, skip_initial=config.skip_initial,
        )
        averages = estimate.gradient.reshape(draws, M, task.m, task.n).mean(axis=1)
        spread = np.sum((averages - averages.mean(axis=0)) ** 2, axis=(1, 2))
        result[M] = (float(spread.sum() / (draws - 1)), float(spread.std(ddof=1) / np.sqrt(draws)))
    return result


def variance_scaling(variances: Mapping[int, tuple[float, float]], *, z: float = 4.0) -> tuple[bool, dict]:
    """Does M agents' averaged estimate have 1/M of one agent's variance?

    For every M, |M var_M - var_1| <= z sqrt(M^2 se_M^2 + se_1^2), with (var, se) from
    :func:`averaged_estimate_variance`.

    Parameters
    ----------
    variances : mapping of int to (float, float)
        M -> (variance, standard error), as :func:`averaged_estimate_variance` returns;
        must include M = 1.
    z : float
        Number of standard errors allowed (default 4).

    Returns
    -------
    holds : bool
    ratios : dict
        M -> var_1 / var_M (M if the variance scales as 1/M).

    Raises
    ------
    ParameterError
        If M = 1 is missing or z <= 0.
    """
    if 1 not in variances:
        raise ParameterError(f"variances has M in {sorted(variances)}, must include M = 1")
    z = check_positive("z", z)
    var_1, se_1 = variances[1]
    holds = all(
        abs(M * var - var_1) <= z * np.hypot(M * se, se_1) for M, (var, se) in variances.items()
    )
    return bool(holds), {M: var_1 / var for M, (var, _) in variances.items()}


def heterogeneity_bias(
    tasks: Sequence[Task], K0, *, iterations: int = 20_000, tol: float = 1e-9, score: str = "exact"
) -> float:
    """Agent 1's relative gap at the common optimum: (C^(1)(K_*) - C^(1)_*) / C^(1)_*.

    ``thm-fedlqr`` states it is O((eps_A + eps_B)^2) (:func:`bias_order` measures the order).
    With ``score="authors"`` C^(1) is the authors' plotted score S_100 instead
    (:func:`~ltijepa.fedlqr.objective.authors_gap`, ``def-fedlqr-authors-score``).

    K_* = argmin C_avg by exact gradient descent with backtracking
    (:func:`~ltijepa.multitask.objective.common_optimum`) from K0, stopped at
    ||grad C_avg||_F <= tol: the limit that FedLQR's gap curves approach with exact
    gradients (the talk's "Distance between K_* and K_*^(i)").

    Parameters
    ----------
    tasks : sequence of Task
        The M agents; agent 1 is ``tasks[0]``.
    K0 : array, (m, n)
        A gain that stabilizes every task.
    iterations : int
        Most gradient steps.
    tol : float
        Stop when ||grad C_avg||_F <= tol.
    score : str
        ``"exact"``: C^(1)(K) = tr(P_K Sigma0); ``"authors"``: S_100(K) = 1^T P_100 1.

    Raises
    ------
    NotStabilizingError
        If K0 does not stabilize every task.
    ParameterError
        If ``score`` is neither, or the descent stops with ||grad C_avg||_F > 1e3 tol (not
        converged).
    """
    if score not in SCORES:
        raise ParameterError(f"score == {score!r}, must be one of {SCORES}")
    solution = common_optimum(tasks, iterations=iterations, K0=K0, tol=tol)
    if solution.grad_norm > 1e3 * tol:
        raise ParameterError(
            f"common optimum not reached: ||grad C_avg|| == {solution.grad_norm:.3g} after "
            f"{solution.history.iterations} iterations, must be <= {1e3 * tol:.3g}"
        )
    first = tasks[0]
    if score == "authors":
        return float(authors_gap(first, solution.K))
    return (first.cost(solution.K) - first.optimal_cost()) / first.optimal_cost()


def bias_order(levels, biases) -> float:
    """Least-squares slope of log(bias) against log(level): 2 for a bias of order level^2.

    The talk's C^(i)(K_*) - C^(i)(K_*^(i)) = O((eps_A + eps_B)^2) predicts 2 when eps_A and
    eps_B are proportional to the level.

    Parameters
    ----------
    levels, biases : array, (k,)
        k >= 2 positive levels and the positive biases measured at them.

    Raises
    ------
    ParameterError
        If fewer than two points, or a level or a bias is <= 0.

    Examples
    --------
    >>> round(bias_order([0.1, 0.2, 0.4], [0.01, 0.04, 0.16]), 12)
    2.0
    """
    levels, biases = np.asarray(levels, dtype=float), np.asarray(biases, dtype=float)
    if levels.shape != biases.shape or levels.size < 2:
        raise ParameterError(f"levels {levels.tolist()} and biases {biases.tolist()}: need >= 2 pairs")
    if not (np.all(levels > 0) and np.all(biases > 0)):
        raise ParameterError(f"levels == {levels.tolist()}, biases == {biases.tolist()}: all must be > 0")
    return float(np.polyfit(np.log(levels), np.log(biases), 1)[0])


def path_heterogeneity(
    history: FedLQRHistory, tasks: Sequence[Task], *, every: int
) -> tuple[np.ndarray, np.ndarray]:
    """max_{i,j} g_ij(K_n) along the server path of realisation 0, every ``every`` rounds.

    g_ij(K) = ||grad C^(i)(K) - grad C^(j)(K)||_F
    (:func:`~ltijepa.multitask.heterogeneity.gradient_heterogeneity`).

    Parameters
    ----------
    history : FedLQRHistory
        The run; only its first realisation's server gains are used.
    tasks : sequence of Task
        The M agents of the run (i, j range over them).
    every : int
        Spacing >= 1 of the rounds evaluated: 0, every, 2 every, ... <= N.

    Returns
    -------
    rounds : array of int
    g_max : array, same length

    Raises
    ------
    NotStabilizingError
        If a server gain on the path does not stabilize every agent.
    """
    rounds = np.arange(0, history.rounds + 1, check_count("every", every))
    g_max = np.array([gradient_heterogeneity(tasks, history.server_gains[0, n]).max() for n in rounds])
    return rounds, g_max


def gap_summary(gap: np.ndarray, rounds: Sequence[int]) -> dict[int, dict[str, float]]:
    """Mean, sample sd (ddof = 1; 0 for one realisation), min and max over realisations.

    Parameters
    ----------
    gap : array, (replicas, N + 1)
        A relative gap along a run, one row per realisation.
    rounds : sequence of int
        Rounds n in [0, N] at which to summarise.

    Returns
    -------
    dict
        n -> {"mean", "sd", "min", "max"}.

    Raises
    ------
    ParameterError
        If a round is outside [0, N].

    Examples
    --------
    >>> gap_summary(np.array([[1.0, 0.4], [1.0, 0.6]]), [1])[1]["mean"]
    0.5
    """
    gap = np.asarray(gap, dtype=float)
    summary = {}
    for n in rounds:
        n = check_count("round", n, minimum=0, maximum=gap.shape[1] - 1)
        column = gap[:, n]
        summary[n] = {
            "mean": float(column.mean()), "sd": float(column.std(ddof=1)) if column.size > 1 else 0.0,
            "min": float(column.min()), "max": float(column.max()),
        }
    return summary
