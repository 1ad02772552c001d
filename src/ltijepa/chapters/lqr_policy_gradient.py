"""The driver of ``notebooks/lqr_policy_gradient.ipynb`` ("LQR by policy gradient").

The chapter compares, on one inverted pendulum of the talk's family, from one initial gain
K0 = c K* with C(K0) = 3 C(K*):

- the exact methods of Fazel et al. (2018): gradient descent (backtracking, and the constant
  step the model-free runs use), natural gradient with Fazel's step, Gauss-Newton with
  eta = 1 (policy iteration);
- model-free gradient descent with the one-point (Fazel et al., Algorithm 1) and the
  two-point (Malik et al. 2019) estimators, several independent runs each;
- the error of both estimators against the number of rollouts, at K0;

and checks Lemma 1 and Gauss-Newton's limit on further tasks (unicycles, random systems),
and Lemma 2's non-convexity on :func:`midpoint_example`. Everything sized by a profile lives
in :class:`Config`; the methods are :mod:`ltijepa.lqr.policy_gradient`'s, the estimators
:mod:`ltijepa.lqr.zeroth_order`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ltijepa.errors import NotStabilizingError
from ltijepa.lqr.families import random_stabilizable, sample_pendulums, sample_unicycles
from ltijepa.lqr.policy_gradient import (
    History,
    gauss_newton,
    gradient_descent,
    initial_gain,
    model_free_gradient_descent,
    natural_gradient,
)
from ltijepa.lqr.task import Task
from ltijepa.lqr.zeroth_order import estimation_errors
from ltijepa.profiles import by_profile

__all__ = [
    "Config",
    "ModelFreeRuns",
    "midpoint_example",
    "chapter_tasks",
    "run_exact",
    "run_model_free",
    "estimator_errors",
]


@dataclass(frozen=True)
class Config:
    """Sizes and settings of the chapter's experiments (see :meth:`for_profile`)."""

    exact_iterations: int
    """Iterations of gradient descent (both step rules) and of the natural gradient."""
    model_free_iterations: int
    """Iterations of each model-free run."""
    model_free_runs: int
    """Independent model-free runs per estimator."""
    error_rollouts: tuple[int, ...]
    """Rollouts per gradient estimate in the error-against-rollouts figure."""
    error_repeats: int
    """Independent estimates per point of that figure."""
    cost_ratio: float = 3.0
    """C(K0) / C(K*) of the common initial gain K0 = c K*."""
    gauss_newton_iterations: int = 12
    """Iterations of Gauss-Newton (eta = 1 converges to round-off in fewer)."""
    constant_step: float = 0.005
    """Constant step of model-free gradient descent, and of its exact-gradient reference
    (0.01 let one of three one-point runs leave the stabilizing set on the seed-0 pendulum)."""
    radius: float = 0.05
    """Smoothing radius r of both estimators."""
    horizon: int = 1000
    """Rollout length l (truncation bias below 1e-7 relative on the chapter's pendulum)."""
    one_point_samples: int = 1000
    """Perturbations per one-point estimate (1000 rollouts)."""
    two_point_samples: int = 10
    """Perturbations per two-point estimate (20 rollouts)."""
    unicycles: int = 2
    """Unicycles (talk's law) on which Lemma 1 and the Gauss-Newton limit are also checked."""
    random_tasks: int = 2
    """Random stabilizable systems (n = 4, m = 2) for the same checks."""
    target_gap: float = 0.05
    """epsilon of the model-free reproduction: median final (C - C*) / C* of the one-point runs."""

    @classmethod
    def for_profile(cls, profile: str) -> Config:
        """The chapter's sizes: ``ci`` runs in well under a minute on 2 cores, ``full`` longer.

        >>> Config.for_profile("ci").model_free_runs
        3
        """
        return cls(
            exact_iterations=by_profile(profile, ci=400, full=2000),
            model_free_iterations=by_profile(profile, ci=300, full=2000),
            model_free_runs=by_profile(profile, ci=3, full=20),
            error_rollouts=by_profile(profile, ci=(20, 60, 200, 600, 2000, 6000),
                                      full=(20, 60, 200, 600, 2000, 6000, 20000, 60000)),
            error_repeats=by_profile(profile, ci=10, full=50),
        )


def midpoint_example() -> tuple[Task, np.ndarray, np.ndarray]:
    """The instance of ``lem-nonconvex`` (Fazel et al. 2018, Lemma 2): (task, K, K').

    A = 0, B = Q = R = I_3 (n = m = 3), K = 2 e_1 e_2^T and K' = K^T: both nilpotent closed
    loops (rho = 0, finite cost), while the midpoint (K + K') / 2 has the eigenvalues +-1.
    """
    K = 2.0 * np.outer([1, 0, 0], [0, 1, 0])
    return Task(np.zeros((3, 3)), np.eye(3), np.eye(3), np.eye(3)), K, K.T


def chapter_tasks(config: Config, rng) -> dict[str, Task]:
    """The tasks of the chapter: one pendulum (first), unicycles and random systems.

    Keys are ``"pendulum"``, ``"unicycle 1"``, ..., ``"random 1"``, ...; ``config`` gives
    the numbers of unicycles and random systems, ``rng`` draws all of them.
    """
    pendulum_rng, unicycle_rng, random_rng = np.random.default_rng(rng).spawn(3)
    tasks = {"pendulum": sample_pendulums(1, pendulum_rng)[0]}
    for i, task in enumerate(sample_unicycles(config.unicycles, unicycle_rng), start=1):
        tasks[f"unicycle {i}"] = task
    for i in range(1, config.random_tasks + 1):
        tasks[f"random {i}"] = random_stabilizable(4, 2, random_rng)
    return tasks


def run_exact(task: Task, config: Config, *, constant_step: bool = False) -> dict[str, History]:
    """The exact methods of ``thm-pg-convergence`` from K0 = :func:`initial_gain`.

    K0 has the cost ratio ``config.cost_ratio``; the chapter checks the theorem's stabilizing,
    non-increasing iterates and Gauss-Newton's limit on these runs, and their per-step
    contractions (``lem-contractions``) with :func:`~ltijepa.lqr.landscape.step_contractions`.

    Returns the histories keyed by a label: gradient descent with backtracking, natural
    gradient with Fazel's step, Gauss-Newton with eta = 1, and with ``constant_step`` also
    gradient descent with ``config.constant_step`` (chosen for the pendulum: on another task it
    may leave the stabilizing set, which raises :class:`~ltijepa.errors.NotStabilizingError`).
    """
    K0 = initial_gain(task, cost_ratio=config.cost_ratio)
    N = config.exact_iterations
    runs = {
        "gradient descent, backtracking": gradient_descent(task, K0, iterations=N),
        "natural gradient, Fazel's step": natural_gradient(task, K0, iterations=N, step="fazel"),
        "Gauss-Newton, step 1": gauss_newton(task, K0, iterations=config.gauss_newton_iterations),
    }
    if constant_step:
        label = f"gradient descent, step {config.constant_step:g}"
        runs[label] = gradient_descent(task, K0, iterations=N, step=config.constant_step)
    return runs


@dataclass(frozen=True)
class ModelFreeRuns:
    """Independent model-free runs of one estimator."""

    estimator: str
    """``"one_point"`` or ``"two_point"``."""
    histories: tuple[History, ...]
    """The runs that kept every iterate stabilizing."""
    failed: int
    """Runs stopped because an iterate left the stabilizing set."""
    rollouts_per_iteration: int
    """Trajectories simulated per update."""

    @property
    def runs(self) -> int:
        """All runs, completed or failed."""
        return len(self.histories) + self.failed

    def gaps(self, optimal_cost: float) -> np.ndarray:
        """Relative gaps (C(K_n) - C*) / C* of the completed runs, shape (runs, N + 1).

        ``optimal_cost`` is C*.
        """
        return np.array([h.gap(optimal_cost) / optimal_cost for h in self.histories])


def run_model_free(task: Task, config: Config, estimator: str, rng, *, progress: bool = True) -> ModelFreeRuns:
    """``config.model_free_runs`` independent model-free runs from K0, one stream each.

    The check of ``thm-model-free`` (Fazel et al. 2018, Theorem 9): the median final gap of the
    one-point runs against ``config.target_gap``, and how many runs stayed stabilizing.

    A run whose iterate leaves the stabilizing set is counted in ``failed``, not raised:
    Fazel et al.'s guarantee holds with high probability, and the chapter reports how often.

    Parameters
    ----------
    task : Task
        The task (the chapter's pendulum).
    config : Config
        Step, radius, samples, horizon, iterations and number of runs.
    estimator : {"one_point", "two_point"}
        The gradient estimate.
    rng : seed or numpy.random.Generator
        Split into one stream per run.
    progress : bool
        Show a tqdm progress bar over the runs.
    """
    K0 = initial_gain(task, cost_ratio=config.cost_ratio)
    samples = config.one_point_samples if estimator == "one_point" else config.two_point_samples
    histories, failed = [], 0
    for stream in tqdm(np.random.default_rng(rng).spawn(config.model_free_runs), desc=estimator, disable=not progress):
        try:
            histories.append(model_free_gradient_descent(
                task, K0, step=config.constant_step, iterations=config.model_free_iterations,
                radius=config.radius, samples=samples, horizon=config.horizon, estimator=estimator, rng=stream,
            ))
        except NotStabilizingError:
            failed += 1
    per_iteration = samples * (2 if estimator == "two_point" else 1)
    return ModelFreeRuns(estimator, tuple(histories), failed, per_iteration)


def estimator_errors(task: Task, config: Config, estimator: str, rng) -> np.ndarray:
    """Relative gradient errors at K0 for each budget of ``config.error_rollouts``.

    A budget of B rollouts is B perturbations for the one-point estimator and B / 2 pairs
    for the two-point one. ``task`` is the chapter's pendulum, ``config`` gives the budgets,
    radius and horizon, ``estimator`` is ``"one_point"`` or ``"two_point"`` and ``rng`` draws
    everything. Returns shape (len(error_rollouts), error_repeats).
    """
    per_sample = 2 if estimator == "two_point" else 1
    return estimation_errors(
        task, initial_gain(task, cost_ratio=config.cost_ratio), estimator=estimator,
        samples=[b // per_sample for b in config.error_rollouts], repeats=config.error_repeats,
        radius=config.radius, horizon=config.horizon, rng=rng,
    )
