"""The driver of ``notebooks/fedlqr.ipynb`` ("FedLQR"): the authors' systems, settings, runs.

:class:`Config` resolves the sizes of the chapter's three experiments from the profile:
:class:`AgentsExperiment`, :class:`HeterogeneityExperiment` and
:class:`ConvergenceExperiment`. The rounds are :func:`~ltijepa.fedlqr.rounds.run_fedlqr`'s.

Systems (``jd-anderson/FedLQR``, ``main.m`` and ``sysgen.m`` of both experiment folders;
the authors' MATLAB scripts): n = m = 3, u = -K x, Q = 2 I, R = 0.5 I, K_0 = 1.62 I, agent 1 nominal,

.. math::

    A_0 = \\begin{bmatrix} 1.2 & 0.5 & 0.4 \\\\ 0.01 & 0.75 & 0.3 \\\\ 0.1 & 0.02 & 1.5
          \\end{bmatrix}, \\qquad B_0 = I_3,

- varying the number of agents (:func:`growing_agents`): A_i = A_0 + eps i I and
  B_i = B_0 + eps i I for i = 2, ..., M, eps = 0.01, M in {1, 10, 50}; the heterogeneity
  therefore grows with M;
- varying the heterogeneity (:func:`random_agents`), M = 10: A_i = A_0 + eps u_i V and
  B_i = B_0 + eps u_i U with u_i ~ U(0, 1) drawn once, V = diag(3.5, 1, 0.1),
  U = diag(1.5, 0.1, 1), eps in {0, 0.1, 0.5}.

The plotted metric is agent 1's relative gap (C^(1)(K_n) - C^(1)_*) / C^(1)_*, scored as
the authors' ``compute_cost.m`` scores it: C^(1)(K) = 1^T P_100(K) 1, the 100-step cost from
x_0 = 1 (``def-fedlqr-authors-score``, :func:`~ltijepa.fedlqr.objective.authors_gap`). Beside
it, the exact cost tr(P_K Sigma0) with Sigma0 = I, the covariance of the initial states the
agents' rollouts draw (``FedLQRHistory.relative_gap``): a weighting of P_K by I instead of
1 1^T.

The measurements on these runs are in :mod:`ltijepa.fedlqr.estimates`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np

from ltijepa import parallel
from ltijepa.checks import check_count
from ltijepa.errors import ParameterError
from ltijepa.fedlqr.rounds import FedLQRConfig, FedLQRHistory, run_fedlqr
from ltijepa.fedlqr.estimates import averaged_estimate_variance, heterogeneity_bias
from ltijepa.lqr.task import Task
from ltijepa.profiles import by_profile

__all__ = [
    "NOMINAL_A",
    "NOMINAL_B",
    "WEIGHT_Q",
    "WEIGHT_R",
    "INITIAL_GAIN",
    "DIRECTION_V",
    "DIRECTION_U",
    "AUTHORS_CODE_SOURCE",
    "AUTHORS_CODE_START",
    "AUTHORS_CODE_GAPS",
    "Config",
    "nominal_task",
    "growing_agents",
    "random_agents",
    "draw_weights",
    "AgentsExperiment",
    "HeterogeneityExperiment",
    "ConvergenceExperiment",
]


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


#: A_0 of the authors' ``main.m``.
NOMINAL_A = _frozen(np.array([[1.2, 0.5, 0.4], [0.01, 0.75, 0.3], [0.1, 0.02, 1.5]]))
#: B_0 = I_3 (``main.m``).
NOMINAL_B = _frozen(np.eye(3))
#: Q = 2 I (``main.m``).
WEIGHT_Q = _frozen(2.0 * np.eye(3))
#: R = 0.5 I (``main.m``).
WEIGHT_R = _frozen(0.5 * np.eye(3))
#: K_0 = 1.62 I, the initial server gain (``main.m``).
INITIAL_GAIN = _frozen(1.62 * np.eye(3))
#: V of the heterogeneity experiment's ``main.m``: the direction of the A_i perturbations.
DIRECTION_V = _frozen(np.diag([3.5, 1.0, 0.1]))
#: U of the heterogeneity experiment's ``main.m``: the direction of the B_i perturbations.
DIRECTION_U = _frozen(np.diag([1.5, 0.1, 1.0]))
#: Provenance of :data:`AUTHORS_CODE_GAPS` and :data:`AUTHORS_CODE_START`, as a claim source.
AUTHORS_CODE_SOURCE = ("Wang et al. 2026, authors' public MATLAB code (jd-anderson/FedLQR, 'varying the "
                       "number of systems') run under GNU Octave 7.3 (2 realizations)")
#: Agent 1's relative gap at K_0 in the authors' code (``compute_cost.m``; 0.933 in both
#: realizations).
AUTHORS_CODE_START = 0.933
#: M -> round n -> agent 1's relative gap after n rounds in the authors' two realizations
#: (two digits), their code run under GNU Octave 7.3 (ltijepa issue 21).
AUTHORS_CODE_GAPS = {
    1: {500: (0.45, 0.50), 5000: (0.29, 0.34)},
    10: {500: (0.44, 0.44), 5000: (0.27, 0.27)},
    50: {500: (0.28, 0.30), 5000: (0.19, 0.20)},
}


def nominal_task() -> Task:
    """Agent 1 of both experiments: (A_0, B_0, Q, R), Sigma0 = I."""
    return Task(NOMINAL_A, NOMINAL_B, WEIGHT_Q, WEIGHT_R)


def growing_agents(M: int, eps: float = 1e-2) -> list[Task]:
    """The varying-M family: agent 1 nominal, A_i = A_0 + eps i I, B_i = B_0 + eps i I (i >= 2).

    Parameters
    ----------
    M : int
        Number of agents >= 1.
    eps : float
        Step of the perturbation, >= 0 (authors: 0.01); eps = 0 gives M identical agents.

    Raises
    ------
    ParameterError
        If M < 1 or eps < 0.

    Examples
    --------
    >>> [round(float(task.A[0, 0]), 2) for task in growing_agents(3)]  # A_0[0, 0] = 1.2
    [1.2, 1.22, 1.23]
    """
    M = check_count("M", M)
    if not eps >= 0:
        raise ParameterError(f"eps == {eps!r}, must be >= 0")
    shifts = [0.0] + [eps * i for i in range(2, M + 1)]
    return [Task(NOMINAL_A + s * np.eye(3), NOMINAL_B + s * np.eye(3), WEIGHT_Q, WEIGHT_R) for s in shifts]


def draw_weights(M: int, rng) -> np.ndarray:
    """u_1, ..., u_M ~ U(0, 1) of the heterogeneity experiment (u_1 is unused), shape (M,).

    Parameters
    ----------
    M : int
        Number of agents >= 1.
    rng : seed or numpy.random.Generator
        Source of the draws.
    """
    return np.random.default_rng(rng).uniform(size=check_count("M", M))


def random_agents(eps: float, weights) -> list[Task]:
    """The varying-eps family: agent 1 nominal, A_i = A_0 + eps u_i V, B_i = B_0 + eps u_i U.

    Parameters
    ----------
    eps : float
        Heterogeneity level >= 0 (authors: 0, 0.1, 0.5).
    weights : array, (M,)
        u_i in [0, 1] (:func:`draw_weights`); u_1 is ignored, agent 1 is nominal.

    Raises
    ------
    ParameterError
        If eps < 0 or a weight lies outside [0, 1].
    """
    weights = np.asarray(weights, dtype=float)
    if not eps >= 0:
        raise ParameterError(f"eps == {eps!r}, must be >= 0")
    if weights.ndim != 1 or not np.all((weights >= 0) & (weights <= 1)):
        raise ParameterError(f"weights == {weights.tolist()}, must be a 1-D array in [0, 1]")
    scales = np.concatenate([[0.0], eps * weights[1:]])
    return [Task(NOMINAL_A + s * DIRECTION_V, NOMINAL_B + s * DIRECTION_U, WEIGHT_Q, WEIGHT_R) for s in scales]


@dataclass(frozen=True)
class AgentsExperiment:
    """Varying the number of agents (authors' "varying the number of systems" folder)."""

    agents: tuple[int, ...] = (1, 10, 50)
    """Numbers of agents M (authors: 1, 10, 50)."""
    eps: float = 1e-2
    """Step of :func:`growing_agents` (authors: 0.01; 0 gives identical agents)."""
    realisations: int = 20
    """Independent runs per M (authors: 20)."""
    config: FedLQRConfig = field(default_factory=FedLQRConfig)
    """FedLQR settings (authors: eta_l = 1e-4, eta_g = 2e-2 / 1.0005^n, L = 1, N = 5000)."""
    variance_draws: int = 4000
    """Independent server averages per M measured by :meth:`variances` (not in the authors'
    code)."""

    def tasks(self, M: int) -> list[Task]:
        """The M agents (:func:`growing_agents`)."""
        return growing_agents(M, self.eps)

    def run(self, rng=None, *, progress: bool = False) -> dict[int, FedLQRHistory]:
        """One :func:`~ltijepa.fedlqr.rounds.run_fedlqr` run (all realisations) per M, from K_0.

        Each M gets its own stream ``rng.spawn``, so a run does not depend on the others; the
        runs go through :func:`ltijepa.parallel.map` (a Dask cluster or local processes).

        Parameters
        ----------
        rng : seed or numpy.random.Generator
            Source of the runs' randomness; each M gets its own stream ``rng.spawn``.
        progress : bool
            Show a tqdm progress bar over the rounds of each run.
        """
        runs = parallel.map(partial(self.run_one, progress=progress), self.agents, seed=np.random.default_rng(rng))
        return dict(zip(self.agents, runs))

    def run_one(self, M: int, rng, *, progress: bool = False) -> FedLQRHistory:
        """The :func:`~ltijepa.fedlqr.rounds.run_fedlqr` run (all realisations) of M agents.

        Parameters
        ----------
        M : int
            The number of agents (:meth:`tasks`).
        rng, progress
            As in :meth:`ltijepa.chapters.fedlqr.AgentsExperiment.run`; ``rng`` is this M's stream.
        """
        return run_fedlqr(self.tasks(M), INITIAL_GAIN, self.config, replicas=self.realisations, rng=rng,
                          progress=progress)

    def variances(self, rng=None) -> dict[int, tuple[float, float]]:
        """:func:`averaged_estimate_variance` at K_0 for M identical nominal agents, each M.

        Parameters
        ----------
        rng : seed or numpy.random.Generator
            Source of the estimators' perturbations and initial states; each M gets its own
            stream ``rng.spawn``.

        Returns
        -------
        dict
            M -> (variance, standard error), with :attr:`variance_draws` draws per M.
        """
        return averaged_estimate_variance(
            nominal_task(), INITIAL_GAIN, self.agents, self.config, draws=self.variance_draws, rng=rng
        )

    def exact(self, agents: tuple[int, ...]) -> AgentsExperiment:
        """The same experiment with exact gradients (one realisation: it is deterministic).

        Parameters
        ----------
        agents : tuple of int
            Numbers of agents M of the new experiment (replaces :attr:`agents`).
        """
        return replace(self, agents=agents, realisations=1, config=replace(self.config, gradient="exact"))


@dataclass(frozen=True)
class HeterogeneityExperiment:
    """Varying the heterogeneity with M = 10 (authors' "varying the heterogeneity level")."""

    agents: int = 10
    """Number of agents M (authors: 10)."""
    levels: tuple[float, ...] = (0.0, 0.1, 0.5)
    """Heterogeneity levels eps (authors: 0, 0.1, 0.5)."""
    realisations: int = 20
    """Independent runs per level (authors: 20)."""
    config: FedLQRConfig = field(default_factory=lambda: FedLQRConfig(global_step=1e-2))
    """FedLQR settings (authors: as when varying M, but eta_g = 1e-2)."""

    def weights(self, rng=None) -> np.ndarray:
        """u_1, ..., u_M ~ U(0, 1), drawn once for all levels as in the authors' code.

        Parameters
        ----------
        rng : seed or numpy.random.Generator
            Source of the draws (:func:`draw_weights`).

        Returns
        -------
        array, (M,)
        """
        return draw_weights(self.agents, rng)

    def tasks(self, eps: float, weights) -> list[Task]:
        """The M agents at level eps (:func:`random_agents`).

        Raises
        ------
        ParameterError
            If ``weights`` does not hold M values in [0, 1].
        """
        if np.shape(weights) != (self.agents,):
            raise ParameterError(f"weights has shape {np.shape(weights)}, must be ({self.agents},)")
        return random_agents(eps, weights)

    def run(self, weights, rng=None, *, progress: bool = False) -> dict[float, FedLQRHistory]:
        """One FedLQR run (all realisations) per level, with agents :func:`random_agents`.

        Parameters
        ----------
        weights : array, (M,)
            u_i in [0, 1] (:meth:`weights`), the same for every level.
        rng : seed or numpy.random.Generator
            Source of the runs' randomness; each level gets its own stream ``rng.spawn``; the
            runs go through :func:`ltijepa.parallel.map`.
        progress : bool
            Show a tqdm progress bar over the rounds of each run.

        Raises
        ------
        ParameterError
            If ``weights`` does not hold M values in [0, 1].
        """
        run = partial(self.run_one, weights=weights, progress=progress)
        return dict(zip(self.levels, parallel.map(run, self.levels, seed=np.random.default_rng(rng))))

    def run_one(self, eps: float, rng, *, weights, progress: bool = False) -> FedLQRHistory:
        """The FedLQR run (all realisations) at level eps; ``rng`` is this level's stream.

        Parameters
        ----------
        eps : float
            The heterogeneity level.
        rng, weights, progress
            As in :meth:`ltijepa.chapters.fedlqr.HeterogeneityExperiment.run`.
        """
        return run_fedlqr(self.tasks(eps, weights), INITIAL_GAIN, self.config,
                          replicas=self.realisations, rng=rng, progress=progress)

    def biases(self, levels, weights, *, score: str = "exact") -> np.ndarray:
        """Agent 1's relative gap at the common optimum of each level's agents, shape (k,).

        :func:`~ltijepa.fedlqr.estimates.heterogeneity_bias` with exact gradients from K_0.

        Parameters
        ----------
        levels : sequence of float
            The k heterogeneity levels eps >= 0 (need not be :attr:`levels`).
        weights : array, (M,)
            u_i in [0, 1] (:meth:`weights`), the same for every level.
        score : str
            ``"exact"`` (tr(P_K Sigma0)) or ``"authors"`` (1^T P_100 1).
        """
        return np.array(
            [heterogeneity_bias(self.tasks(eps, weights), INITIAL_GAIN, score=score) for eps in levels]
        )


@dataclass(frozen=True)
class ConvergenceExperiment:
    """eps = 0 (M identical nominal agents): FedLQR from K_0 and from the optimum K_*.

    Not an experiment of the authors' code: their global step decays geometrically, so the
    total step eta_l sum_n eta_{g,n} < eta_l eta_{g,0} gamma / (gamma - 1) (4.0e-3 in the
    varying-M setting) is finite and the iterates stop short of the optimum. Here the step is
    constant; the run started at K_* measures the estimator's noise floor
    (:func:`~ltijepa.fedlqr.estimates.floor_check`).
    """

    agents: int = 10
    """Number of identical agents M."""
    realisations: int = 20
    """Independent runs from each start."""
    config: FedLQRConfig = field(
        default_factory=lambda: FedLQRConfig(
            local_step=1e-3, global_step=1.0, global_decay=1.0, rounds=2500, gradient="two_point",
            skip_initial=False,
        )
    )
    """Constant step eta_l eta_g = 1e-3, Malik et al.'s two-point estimator with the authors'
    r = 0.1, 5 samples, l = 15, and Fazel's cost (t = 0 included) so that the estimator's
    target is the smoothed C itself."""
    window: float = 0.2
    """Fraction of the last rounds averaged per realisation by
    :func:`~ltijepa.fedlqr.estimates.floor_check`."""

    def run(self, rng=None, *, progress: bool = False) -> tuple[FedLQRHistory, FedLQRHistory]:
        """Histories from K_0 and from K_*, each start with its own stream ``rng.spawn``.

        ``rng`` and ``progress`` as in :meth:`AgentsExperiment.run`.
        """
        tasks = [nominal_task()] * self.agents
        streams = np.random.default_rng(rng).spawn(2)
        return tuple(
            run_fedlqr(tasks, K, self.config, replicas=self.realisations, rng=stream, progress=progress)
            for K, stream in zip((INITIAL_GAIN, tasks[0].optimal_gain()), streams)
        )


@dataclass(frozen=True)
class Config:
    """Sizes of the chapter's three experiments (resolved per profile by :meth:`for_profile`)."""

    agents: AgentsExperiment
    """Varying the number of agents, and the variance of the server's average."""
    heterogeneity: HeterogeneityExperiment
    """Varying the heterogeneity level with M = 10."""
    convergence: ConvergenceExperiment
    """Identical agents with a constant step, from K_0 and from K_*."""

    @classmethod
    def for_profile(cls, profile: str) -> Config:
        """``full``: the authors' counts (20 realisations of 5000 rounds), 4000 variance draws,
        20 constant-step realisations; ``ci``: 5 realisations of the same 5000 rounds when
        varying M (enough for a range to set beside the authors' code's numbers) and 2 when
        varying the heterogeneity (the decaying step makes the round count part of the
        curve's shape), 1000 draws, 5 constant-step realisations (2500 rounds each).

        >>> Config.for_profile("ci").agents.realisations
        5

        Raises
        ------
        ParameterError
            If the profile is unknown.
        """
        return cls(
            agents=AgentsExperiment(
                realisations=by_profile(profile, ci=5, full=20),
                variance_draws=by_profile(profile, ci=1000, full=4000),
            ),
            heterogeneity=HeterogeneityExperiment(realisations=by_profile(profile, ci=2, full=20)),
            convergence=ConvergenceExperiment(realisations=by_profile(profile, ci=5, full=20)),
        )
