"""FedLQR: federated, model-free policy gradient over M heterogeneous LQR agents.

Wang, Toso, Mitra and Anderson (TMLR 2026), as implemented in the authors' public code
(``jd-anderson/FedLQR``, ``solve_model_free_multiple_local_update.m``). With u = -K x and
agent i's cost C^(i)(K) (``ltijepa.lqr.task``), round n = 0, 1, ..., N - 1 is

.. math::

    K^{(i)}_{n,0} = K_n, \\qquad
    K^{(i)}_{n,l+1} = K^{(i)}_{n,l} - \\eta_l\\, \\widehat{\\nabla} C^{(i)}(K^{(i)}_{n,l}),
    \\quad l = 0, \\dots, L - 1,

.. math::

    K_{n+1} = K_n + \\eta_{g,n} \\frac{1}{M} \\sum_{i=1}^{M} \\big(K^{(i)}_{n,L} - K_n\\big),
    \\qquad \\eta_{g,n+1} = \\eta_{g,n} / \\gamma,

(book labels ``eq-fedlqr-local`` and ``eq-fedlqr-server``). The gradient estimate
:math:`\\widehat\\nabla C^{(i)}` comes from agent i's own rollouts,
:func:`~ltijepa.lqr.zeroth_order.estimate_gradient` (one-point, Fazel et al. 2018,
Algorithm 1, as in the authors' code; or two-point, Malik et al. 2019), or is the exact
gradient 2 E_K Sigma_K ("exact" mode, for comparison). With exact gradients and L = 1 a round
is K_{n+1} = K_n - eta_l eta_{g,n} nabla C_avg(K_n): the talk's iterate (slide "Performance
Guarantees: Bounded Policy Gradients") with eta = L eta_l eta_g.

Safety. A round is *destabilizing* when its new server gain fails to stabilize an agent that
the current gain stabilizes (rho(A_i - B_i K_{n+1}) >= 1 while rho(A_i - B_i K_n) < 1). What
happens then is :attr:`FedLQRConfig.safety`: ``"report"`` accepts the round and flags it in
the history, ``"halve"`` rejects it and retries the same averaged change with the global
step halved (at most ``max_halvings`` times), ``"raise"`` stops with
:class:`~ltijepa.errors.NotStabilizingError` (with ``round``, ``agent`` and
``replica``). Costs of gains that do not stabilize an agent are recorded as
``inf`` beside the spectral radius, never as NaN.

Vectorisation. ``replicas`` independent federations (realisations of the sampling noise) run
as one :class:`~ltijepa.lqr.batched.TaskBatch` of ``replicas * M`` tasks, so every round is a
handful of batched numpy calls. All draws come from the one generator ``rng``, consumed by
one :func:`~ltijepa.lqr.zeroth_order.estimate_gradient` call per local step, in order: with
one agent, one replica, L = 1 and no decay, a run draws exactly what
:func:`~ltijepa.lqr.policy_gradient.model_free_gradient_descent` draws with step
eta_l eta_g and the same seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ltijepa.checks import as_matrix, check_count, check_positive, check_stabilizing
from ltijepa.errors import NotStabilizingError, ParameterError
from ltijepa.lqr.batched import TaskBatch, as_batch
from ltijepa.lqr.task import Task
from ltijepa.lqr.zeroth_order import ESTIMATORS, estimate_gradient

__all__ = [
    "GRADIENTS",
    "SAFETY",
    "FedLQRConfig",
    "FedLQRHistory",
    "run_fedlqr",
    "agent_costs",
]

#: Gradient modes of a FedLQR run: the two zeroth-order estimators, or the exact gradient.
GRADIENTS = (*ESTIMATORS, "exact")
#: What a destabilizing round does (module docstring).
SAFETY = ("report", "halve", "raise")
#: Most tasks per batched cost evaluation of a run's server gains (rounds x replicas x agents).
COST_BLOCK = 4096


@dataclass(frozen=True)
class FedLQRConfig:
    """Settings of a FedLQR run; the defaults are the authors' code (varying-M experiment).

    Source of every default: ``jd-anderson/FedLQR``, ``main.m``,
    ``solve_model_free_multiple_local_update.m`` and ``estimate_gradient.m``.
    """

    local_step: float = 1e-4
    """Local step eta_l > 0 of eq-fedlqr-local (authors: 1e-4)."""
    global_step: float = 2e-2
    """Initial global step eta_{g,0} > 0 of eq-fedlqr-server (authors: 2e-2 when varying M,
    1e-2 when varying the heterogeneity)."""
    global_decay: float = 1.0005
    """gamma >= 1: eta_g is divided by gamma after every round (authors: 1.0005; 1 = constant)."""
    local_steps: int = 1
    """Number L >= 1 of local steps per round (authors: 1)."""
    rounds: int = 5000
    """Number N >= 0 of rounds (authors: 5000)."""
    gradient: str = "one_point"
    """``"one_point"`` (authors), ``"two_point"`` or ``"exact"``."""
    radius: float = 0.1
    """Smoothing radius r > 0, the Frobenius norm of the perturbations (authors: 0.1)."""
    samples: int = 5
    """Perturbations per agent and local step (the authors' m = 5)."""
    horizon: int = 15
    """Rollout length l (authors: 15)."""
    skip_initial: bool = True
    """Sum the rollout cost over t = 1..l, as the authors' code does (it propagates the state
    before adding the stage cost); ``False``: t = 0..l-1, Fazel et al.'s cost."""
    safety: str = "report"
    """``"report"``, ``"halve"`` or ``"raise"``: what a destabilizing round does."""
    max_halvings: int = 30
    """Most halvings of the global step in one round under ``safety="halve"``."""

    def __post_init__(self):
        check_positive("local_step", self.local_step)
        check_positive("global_step", self.global_step)
        if check_positive("global_decay", self.global_decay) < 1:
            raise ParameterError(f"global_decay == {self.global_decay!r}, must be >= 1 (a non-increasing eta_g)")
        check_count("local_steps", self.local_steps)
        check_count("rounds", self.rounds, minimum=0)
        if self.gradient not in GRADIENTS:
            raise ParameterError(f"gradient == {self.gradient!r}, must be one of {GRADIENTS}")
        check_positive("radius", self.radius)
        check_count("samples", self.samples)
        check_count("horizon", self.horizon)
        if self.safety not in SAFETY:
            raise ParameterError(f"safety == {self.safety!r}, must be one of {SAFETY}")
        check_count("max_halvings", self.max_halvings, minimum=0)

    def global_steps(self) -> np.ndarray:
        """The scheduled global steps eta_{g,0}, ..., eta_{g,N-1}, shape (N,)."""
        return self.global_step / self.global_decay ** np.arange(self.rounds)


@dataclass(frozen=True)
class FedLQRHistory:
    """Per-round record of ``replicas`` independent FedLQR runs on the same M agents.

    Costs and spectral radii are exact (model-based) evaluations of the server gains; the
    updates themselves use only what ``config.gradient`` allows (rollouts, for the
    zeroth-order modes).
    """

    config: FedLQRConfig
    """The settings of the run."""
    server_gains: np.ndarray
    """Server gains K_0, ..., K_N, shape (replicas, N + 1, m, n)."""
    costs: np.ndarray
    """C^(i)(K_n) for every agent, shape (replicas, N + 1, M); ``inf`` where K_n does not
    stabilize agent i."""
    spectral_radii: np.ndarray
    """rho(A_i - B_i K_n), shape (replicas, N + 1, M)."""
    global_steps: np.ndarray
    """The global step eta_{g,n} actually applied (after any halving), shape (replicas, N)."""
    halvings: np.ndarray
    """Halvings of the global step in each round (``safety="halve"``), shape (replicas, N)."""
    destabilizing: np.ndarray
    """Whether the accepted round destabilized an agent that K_n stabilized, (replicas, N)."""
    rollouts: np.ndarray = field(repr=False)
    """Trajectories simulated in each round by all M agents of one replica, shape (N,)
    (0 in exact mode)."""

    @property
    def replicas(self) -> int:
        """Number of independent runs."""
        return self.server_gains.shape[0]

    @property
    def rounds(self) -> int:
        """Number N of rounds."""
        return self.server_gains.shape[1] - 1

    @property
    def M(self) -> int:
        """Number of agents."""
        return self.costs.shape[2]

    @property
    def stabilizing(self) -> np.ndarray:
        """Whether K_n stabilizes agent i, shape (replicas, N + 1, M)."""
        return self.spectral_radii < 1.0

    def rollouts_per_agent(self) -> np.ndarray:
        """Cumulative trajectories one agent has simulated after rounds 0..N, shape (N + 1,)."""
        return np.concatenate([[0], np.cumsum(self.rollouts)]) // self.M

    def relative_gap(self, optimal_cost: float, agent: int = 0) -> np.ndarray:
        """(C^(i)(K_n) - C^(i)_*) / C^(i)_* for one agent, shape (replicas, N + 1).

        The authors' plotted metric with i = agent 1 (index 0), C^(1)_* its DARE cost;
        ``inf`` where K_n does not stabilize the agent.

        Raises
        ------
        ParameterError
            If ``optimal_cost`` is not > 0 or ``agent`` is out of range.
        """
        optimal_cost = check_positive("optimal_cost", optimal_cost)
        if not (isinstance(agent, (int, np.integer)) and 0 <= agent < self.M):
            raise ParameterError(f"agent == {agent!r}, must be an integer in [0, {self.M - 1}]")
        return (self.costs[:, :, agent] - optimal_cost) / optimal_cost


def agent_costs(batch: TaskBatch, gains: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """C_i(K_i) for every task of ``batch``, ``inf`` where rho_i >= 1; shape (batch.M,).

    Parameters
    ----------
    batch : TaskBatch
        The tasks.
    gains : array, (batch.M, m, n)
        One gain per task (u = -K x).
    rho : array, (batch.M,)
        The spectral radii rho(A_i - B_i K_i) (``batch.spectral_radius(gains)``).

    Returns
    -------
    array, (batch.M,)

    Raises
    ------
    ShapeError
        If ``gains`` is not (batch.M, m, n).
    """
    stable = rho < 1.0
    if stable.all():
        return batch.cost(gains)
    costs = np.full(batch.M, np.inf)
    if stable.any():
        index = np.flatnonzero(stable)
        costs[index] = TaskBatch.from_tasks([batch.tasks[i] for i in index]).cost(gains[index])
    return costs


class _Federation:
    """R replicas of M agents as one batch of R M tasks (index r M + i), and its rounds."""

    def __init__(self, batch: TaskBatch, replicas: int, config: FedLQRConfig, rng):
        self.M, self.R, self.config = batch.M, replicas, config
        self.batch = TaskBatch.from_tasks(list(batch.tasks) * replicas)
        self.rng = rng

    def per_task(self, K: np.ndarray) -> np.ndarray:
        """Server gains (R, m, n) repeated for each agent: (R M, m, n)."""
        return np.repeat(K, self.M, axis=0)

    def radii(self, K: np.ndarray) -> np.ndarray:
        """rho(A_i - B_i K_r) of the server gains K (R, m, n) on every agent, (R, M)."""
        return self.batch.spectral_radius(self.per_task(K)).reshape(self.R, self.M)

    def path_costs(self, gains: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """C^(i)(K_n) of all server gains (R, N + 1, m, n) on every agent, (R, N + 1, M).

        ``inf`` where rho >= 1. Evaluated after the rounds, a block of rounds per batched call
        (a block of k rounds is the batch tiled k times, index b R M + r M + i): one call per
        round would cost more in numpy overhead than in arithmetic.
        """
        R, rounds, M = rho.shape
        block = max(1, COST_BLOCK // (R * M))
        costs = np.empty((R, rounds, M))
        tiled = None
        for start in range(0, rounds, block):
            k = min(block, rounds - start)
            if tiled is None or tiled.M != k * R * M:
                tiled = TaskBatch.from_tasks(list(self.batch.tasks) * k)
            per_task = np.repeat(np.swapaxes(gains[:, start : start + k], 0, 1), M, axis=1)
            radii = np.swapaxes(rho[:, start : start + k], 0, 1).ravel()
            block_costs = agent_costs(tiled, per_task.reshape(k * R * M, *gains.shape[2:]), radii)
            costs[:, start : start + k] = np.swapaxes(block_costs.reshape(k, R, M), 0, 1)
        return costs

    def gradient(self, gains: np.ndarray, round: int) -> tuple[np.ndarray, int]:
        """Every agent's gradient (estimate) at its local gain, (R M, m, n), and the rollouts used."""
        c = self.config
        try:
            if c.gradient == "exact":
                return self.batch.gradient(gains), 0
            estimate = estimate_gradient(
                self.batch, gains, estimator=c.gradient, radius=c.radius, samples=c.samples,
                horizon=c.horizon, rng=self.rng, skip_initial=c.skip_initial,
            )
        except NotStabilizingError as exc:  # at a local gain (exact) or a perturbed one (estimate)
            replica, agent = divmod(exc.task_index, self.M)
            exact = c.gradient == "exact"
            check_stabilizing(
                exc.rho, gain="K" if exact else "K +- U", label=f"agent {agent} (replica {replica})",
                advice=("" if exact else "a rollout cost overflowed; decrease radius, ")
                + "use safety='halve' or smaller steps",
                round=round, agent=agent, replica=replica,
            )
            raise  # only if exc.rho < 1, which estimate_gradient and TaskBatch never report
        return estimate.gradient, estimate.rollouts

    def local_change(self, K: np.ndarray, round: int) -> tuple[np.ndarray, int]:
        """(1/M) sum_i (K^(i)_{n,L} - K_n) for every replica, (R, m, n) (eq-fedlqr-local),
        and the rollouts one replica's agents simulated."""
        start = self.per_task(K)
        local, rollouts = start.copy(), 0
        for _ in range(self.config.local_steps):
            gradient, used = self.gradient(local, round)
            local, rollouts = local - self.config.local_step * gradient, rollouts + used
        change = (local - start).reshape(self.R, self.M, *K.shape[1:]).mean(axis=1)
        return change, rollouts // self.R

    def server_step(self, K, change, step, rho, round):
        """K_{n+1} (eq-fedlqr-server) with the safety rule; also returns steps, halvings, flags."""
        c = self.config
        steps = np.full(self.R, step)
        halvings = np.zeros(self.R, dtype=int)
        while True:
            candidate = K + steps[:, None, None] * change
            new_rho = self.radii(candidate)
            destabilized = (rho < 1.0) & ~(new_rho < 1.0)  # (R, M)
            bad = destabilized.any(axis=1)
            if not bad.any() or c.safety == "report":
                return candidate, new_rho, steps, halvings, bad
            replica = int(np.flatnonzero(bad)[0])
            agent = int(np.flatnonzero(destabilized[replica])[0])
            if c.safety == "raise" or halvings[replica] >= c.max_halvings:
                check_stabilizing(
                    new_rho[replica, agent], gain="K_{n+1}", label=f"agent {agent} (replica {replica})",
                    advice=f"the averaged gain, global step {steps[replica]:.6g} after {halvings[replica]} halvings",
                    round=round, agent=agent, replica=replica,
                )
            steps[bad] /= 2
            halvings[bad] += 1


def run_fedlqr(
    tasks: Sequence[Task] | TaskBatch,
    K0,
    config: FedLQRConfig = FedLQRConfig(),
    *,
    replicas: int = 1,
    rng=None,
    progress: bool = False,
) -> FedLQRHistory:
    """Run N FedLQR rounds (eq-fedlqr-local, eq-fedlqr-server) from the server gain K0.

    The algorithm ``alg-fedlqr`` (the authors' code), for ``replicas`` independent federations
    at once (module docstring).

    Parameters
    ----------
    tasks : sequence of Task, or TaskBatch
        The M agents' systems (A_i, B_i, Q_i, R_i, Sigma0_i), all of the same (n, m);
        rollouts draw x_0 ~ N(0, Sigma0_i).
    K0 : array, (m, n)
        Initial server gain (u = -K x). It need not stabilize every agent (the authors'
        M = 50 experiment starts from one that does not); the history records which it does.
    config : FedLQRConfig
        Steps, estimator and safety rule; the default is the authors' setting.
    replicas : int
        Number R >= 1 of independent runs (realisations), vectorised together.
    rng : seed or numpy.random.Generator
        Source of every perturbation and initial state (unused in exact mode).
    progress : bool
        Show a tqdm progress bar over the rounds.

    Returns
    -------
    FedLQRHistory

    Raises
    ------
    ShapeError
        If K0 is not (m, n) or the tasks differ in size.
    ParameterError
        If ``replicas`` < 1 (the config checks its own fields).
    NotStabilizingError
        With ``safety="raise"`` on a destabilizing round; with ``"halve"`` when
        ``max_halvings`` halvings do not make it safe; in exact mode when a gain met by an
        agent does not stabilize it; when a rollout cost overflows.

    Examples
    --------
    >>> task = Task([[1.0]], [[1.0]], [[1.0]], [[1.0]])
    >>> exact = FedLQRConfig(gradient="exact", local_step=0.1, global_step=1.0,
    ...                      global_decay=1.0, rounds=200)
    >>> history = run_fedlqr([task, task], [[0.5]], exact)
    >>> bool(abs(history.server_gains[0, -1, 0, 0] - task.optimal_gain()[0, 0]) < 1e-8)
    True
    """
    if not isinstance(config, FedLQRConfig):
        raise ParameterError(f"config is a {type(config).__name__}, must be a FedLQRConfig", name="config", value=config)
    replicas = check_count("replicas", replicas)
    batch = as_batch(tasks)
    federation = _Federation(batch, replicas, config, np.random.default_rng(rng))
    N, R, M = config.rounds, replicas, batch.M
    K = np.repeat(as_matrix("K0", K0, (batch.m, batch.n))[None], R, axis=0)
    gains = np.empty((R, N + 1, batch.m, batch.n))
    rho = np.empty((R, N + 1, M))
    steps, halvings = np.empty((R, N)), np.zeros((R, N), dtype=int)
    flagged, rollouts = np.zeros((R, N), dtype=bool), np.zeros(N, dtype=int)
    gains[:, 0] = K
    rho[:, 0] = federation.radii(K)
    for n, step in enumerate(tqdm(config.global_steps(), desc=f"FedLQR M={M}", disable=not progress)):
        change, rollouts[n] = federation.local_change(K, n)
        K, rho[:, n + 1], steps[:, n], halvings[:, n], flagged[:, n] = federation.server_step(
            K, change, step, rho[:, n], n
        )
        gains[:, n + 1] = K
    costs = federation.path_costs(gains, rho)
    return FedLQRHistory(config, gains, costs, rho, steps, halvings, flagged, rollouts)
