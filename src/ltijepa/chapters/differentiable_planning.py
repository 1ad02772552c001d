"""The driver of ``notebooks/differentiable_planning.ipynb`` ("Planning as a layer").

The chapter checks, on random problems of :func:`~ltijepa.diffcontrol.problems.random_lqr_problem`
and :func:`~ltijepa.diffcontrol.problems.random_smooth_argmin`:

- that the Riccati recursion solves the KKT system of the LQR (:func:`kkt_gaps`);
- that Module 1's gradients equal finite differences and unrolled autograd for every one of
  ``C, c, F, f, x_init`` (:func:`module1_errors`), the V shape of the finite-difference error
  against the step (:func:`step_sweep`), and that the backward pass is one more LQR sweep
  without a new factorisation (:func:`backward_counts`);
- the implicit gradient against options 1 and 2 of the lecture (:func:`unrolling_errors`), CG
  in ``n`` steps and the Neumann series on both sides of ``rho(I - H) = 1``
  (:func:`cg_residuals`, :func:`neumann_residuals`);
- our solver against mpc.pytorch and cvxpylayers (:func:`peer_differences`);
- the method's experiment at book scale: imitation learning of a pendulum's parameters through
  :func:`~ltijepa.diffcontrol.box_mpc.box_mpc` against regressing them from the expert's
  transitions (:func:`imitation_experiment`), and the final-approximation gradient on the
  pendulum against finite differences and mpc.pytorch (:func:`pendulum_gradients`).

Every size a profile sets lives in :class:`Config`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch
from tqdm import tqdm

from ltijepa.diffcontrol import (
    LQRCounts,
    LQRGradients,
    conjugate_gradient,
    finite_difference_errors,
    gradient_descent_argmin,
    lqr_cost,
    implicit_gradient,
    neumann_series,
    probe_gradients,
    probe_loss,
    random_lqr_problem,
    box_mpc,
    random_smooth_argmin,
    solve_kkt,
    solve_lqr,
    unrolled_gradient,
    unrolled_lqr,
)
from ltijepa.diffcontrol.problems import LQRProblem
from ltijepa.profiles import by_profile

__all__ = [
    "Config",
    "draw_problems",
    "kkt_gaps",
    "module1_errors",
    "step_sweep",
    "backward_counts",
    "ImplicitSetup",
    "implicit_setup",
    "unrolling_errors",
    "cg_residuals",
    "neumann_residuals",
    "peer_differences",
    "ImitationConfig",
    "pendulum",
    "pendulum_problem",
    "ImitationRun",
    "imitation_experiment",
    "pendulum_gradients",
    "box_peer_differences",
]


@dataclass(frozen=True)
class ImitationConfig:
    """The pendulum imitation experiment (:func:`imitation_experiment`)."""

    experts: int = 32
    """expert trajectories (initial states)"""
    iterations: int = 300
    """Adam steps of both learners"""
    horizon: int = 20
    """MPC horizon T"""
    bound: float = 3.0
    """torque bound: |u_t| <= bound (active on most expert trajectories)"""
    true_parameters: tuple[float, float] = (10.0, 1.0)
    """the expert's (g / l, 1 / (m l^2))"""
    initial_parameters: tuple[float, float] = (6.0, 0.5)
    """the learners' start"""
    learning_rate: float = 0.05
    """Adam's step on the log-parameters"""
    dt: float = 0.05
    """Euler step of the pendulum, s"""


@dataclass(frozen=True)
class Config:
    """Sizes of the chapter's checks (see :meth:`for_profile`)."""

    problems: int
    """random LQR problems (each a batch) for the KKT and gradient checks"""
    batch: int = 4
    """problems per batch"""
    horizon: int = 10
    """T of the checks"""
    n: int = 4
    """states"""
    m: int = 2
    """controls"""
    fd_step: float = 1e-5
    """central-difference step of the gradient check (the bottom of the V, see step_sweep)"""
    fd_directions: int = 4
    """random directions per parameter"""
    fd_steps: tuple[float, ...] = tuple(10.0 ** -k for k in range(1, 12))
    """steps of the V-shape figure"""
    implicit_dimension: int = 8
    """dimension of x in the implicit-gradient problems"""
    implicit_parameters: int = 4
    """dimension of theta"""
    implicit_problems: int = 4
    """random unconstrained problems"""
    unroll_steps: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500)
    """k of options 1 and 2"""
    cg_dimensions: tuple[int, ...] = (5, 10, 20, 40)
    """sizes of the SPD systems CG solves"""
    peer_sizes: tuple[tuple[int, int, int, int], ...] = ((1, 10, 4, 2), (8, 10, 4, 2), (4, 50, 4, 2))
    """(B, T, n, m) of the comparison with mpc.pytorch and cvxpylayers"""
    imitation: ImitationConfig = field(default_factory=lambda: ImitationConfig())
    """the imitation-learning experiment"""

    @classmethod
    def for_profile(cls, profile: str) -> Config:
        """``ci``: 6 problems of 4 x 10 x (4 + 2); ``full``: 30 problems, more unconstrained ones.

        >>> Config.for_profile("ci").problems
        6
        """
        return cls(
            problems=by_profile(profile, ci=6, full=30),
            implicit_problems=by_profile(profile, ci=4, full=16),
            imitation=ImitationConfig(experts=by_profile(profile, ci=8, full=32),
                                      iterations=by_profile(profile, ci=150, full=400)),
        )


def draw_problems(config: Config, rng) -> list[tuple[LQRProblem, torch.Tensor]]:
    """``config.problems`` random LQR batches with probe-loss weights, from ``rng``."""
    out = []
    for stream in np.random.default_rng(rng).spawn(config.problems):
        problem = random_lqr_problem(config.batch, config.horizon, config.n, config.m, rng=stream)
        out.append((problem, torch.as_tensor(stream.standard_normal(tuple(problem.c.shape)))))
    return out


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max()) if b.numel() else 0.0


def kkt_gaps(problems) -> np.ndarray:
    """``thm-riccati-kkt``: per problem, the larger relative max-difference of ``tau`` and ``lam``
    between :func:`~ltijepa.diffcontrol.lqr.solve_lqr` and the dense KKT solve.

    ``problems`` as :func:`draw_problems` returns them.
    """
    gaps = []
    for problem, _ in problems:
        ours, kkt = solve_lqr(*problem), solve_kkt(*problem)
        gaps.append(max(_relative(ours.tau, kkt.tau), _relative(ours.lam, kkt.lam)))
    return np.array(gaps)


def module1_errors(problems, config: Config, rng) -> dict[str, dict[str, float]]:
    """``thm-lqr-backward``: the worst relative error of Module 1 per parameter, over the problems.

    Returns ``{"finite differences": {name: error}, "unrolled autograd": {name: error}}``.
    ``problems`` from :func:`draw_problems`, ``config`` the step and directions, ``rng`` the
    directions' generator.
    """
    worst = {"finite differences": {}, "unrolled autograd": {}}
    for (problem, weights), stream in zip(problems, np.random.default_rng(rng).spawn(len(problems))):
        _, ours = probe_gradients(solve_lqr, problem, weights)
        loss = lambda *data, w=weights: probe_loss(solve_lqr(*data).tau, w)  # noqa: E731
        fd = finite_difference_errors(loss, problem, ours, step=config.fd_step, directions=config.fd_directions,
                                      rng=stream)
        _, reference = probe_gradients(unrolled_lqr, problem, weights)
        for name, a, b in zip(LQRGradients._fields, ours, reference):
            worst["finite differences"][name] = max(worst["finite differences"].get(name, 0.0), fd[name])
            worst["unrolled autograd"][name] = max(worst["unrolled autograd"].get(name, 0.0), _relative(a, b))
    return worst


def step_sweep(problem: LQRProblem, weights: torch.Tensor, config: Config, rng) -> dict[str, np.ndarray]:
    """The finite-difference error of each parameter against the step ``config.fd_steps`` (the V shape).

    ``problem``, ``weights`` one pair of :func:`draw_problems`; ``rng`` the directions (the
    same directions at every step).
    """
    _, ours = probe_gradients(solve_lqr, problem, weights)
    loss = lambda *data: probe_loss(solve_lqr(*data).tau, weights)  # noqa: E731
    seed = int(np.random.default_rng(rng).integers(2**32))
    rows = [finite_difference_errors(loss, problem, ours, step=h, directions=config.fd_directions, rng=seed)
            for h in config.fd_steps]
    return {name: np.array([row[name] for row in rows]) for name in LQRGradients._fields}


def backward_counts(problem: LQRProblem) -> tuple[LQRCounts, LQRCounts]:
    """The work of the forward pass, and of forward plus backward (Module 1, ``thm-lqr-backward``).

    ``problem`` is one :class:`~ltijepa.diffcontrol.problems.LQRProblem`; the loss is ``sum(tau)``.
    """
    counts = LQRCounts()
    leaves = [t.clone().requires_grad_() for t in problem]
    tau = solve_lqr(*leaves, counts=counts).tau
    after_forward = LQRCounts(**vars(counts))
    tau.sum().backward()
    return after_forward, counts


@dataclass(frozen=True)
class ImplicitSetup:
    """One unconstrained problem at its solution: ``f``, ``theta``, ``g``, the step and ``x*``."""

    objective: object
    """the :class:`~ltijepa.diffcontrol.problems.SmoothArgmin`"""
    theta: torch.Tensor
    """the parameters"""
    grad_x: torch.Tensor
    """g = dl/dx* of a linear loss"""
    step: float
    """gradient descent's step, 1 / L"""
    x_star: torch.Tensor
    """the minimiser (gradient norm <= 1e-13)"""


def implicit_setup(config: Config, rng) -> list[ImplicitSetup]:
    """``config.implicit_problems`` random smooth problems solved by gradient descent, from ``rng``."""
    setups = []
    for stream in np.random.default_rng(rng).spawn(config.implicit_problems):
        f = random_smooth_argmin(config.implicit_dimension, config.implicit_parameters, rng=stream)
        theta = torch.as_tensor(stream.standard_normal(config.implicit_parameters))
        g = torch.as_tensor(stream.standard_normal(config.implicit_dimension))
        step = 1.0 / f.smoothness
        x_star, _ = gradient_descent_argmin(f, torch.zeros_like(g), theta, step=step, max_steps=50_000, tol=1e-13)
        setups.append(ImplicitSetup(f, theta, g, step, x_star))
    return setups


def unrolling_errors(setups, config: Config, *, progress: bool = True) -> dict[str, np.ndarray]:
    """Relative errors against the direct implicit gradient, shape (problems, len(unroll_steps)).

    Keys: ``"option 1"`` (unroll k steps from 0), ``"option 2"`` (the last k steps from x*),
    ``"option 2 - Neumann"`` (option 2 against the Neumann series with k terms,
    ``thm-last-steps``), ``"cg"`` and ``"neumann 2000"`` (one column each: the other solves
    against the direct one, ``thm-implicit-gradient``). ``setups`` from :func:`implicit_setup`,
    ``config`` the k's, ``progress`` shows a tqdm bar over the problems.
    """
    out = {key: [] for key in ("option 1", "option 2", "option 2 - Neumann", "cg", "neumann 2000")}
    for s in tqdm(setups, desc="implicit gradients", disable=not progress):
        direct, _ = implicit_gradient(s.objective, s.x_star, s.theta, s.grad_x)
        scale = float(direct.norm())
        rows = {"option 1": [], "option 2": [], "option 2 - Neumann": []}
        for k in config.unroll_steps:
            zero = torch.zeros_like(s.x_star)
            first = unrolled_gradient(s.objective, zero, s.theta, s.grad_x, step=s.step, steps=k)
            last = unrolled_gradient(s.objective, s.x_star, s.theta, s.grad_x, step=s.step, steps=k)
            neumann, _ = implicit_gradient(s.objective, s.x_star, s.theta, s.grad_x, method="neumann",
                                           iterations=k, scale=s.step)
            rows["option 1"].append(float((first - direct).norm()) / scale)
            rows["option 2"].append(float((last - direct).norm()) / scale)
            rows["option 2 - Neumann"].append(float((last - neumann).norm() / neumann.norm()))
        for key, value in rows.items():
            out[key].append(value)
        cg, _ = implicit_gradient(s.objective, s.x_star, s.theta, s.grad_x, method="cg")
        long, _ = implicit_gradient(s.objective, s.x_star, s.theta, s.grad_x, method="neumann", iterations=2000,
                                    scale=s.step)
        out["cg"].append([float((cg - direct).norm()) / scale])
        out["neumann 2000"].append([float((long - direct).norm()) / scale])
    return {key: np.array(value) for key, value in out.items()}


def _spd(n: int, low: float, high: float, rng) -> torch.Tensor:
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return torch.as_tensor(Q @ np.diag(np.linspace(low, high, n)) @ Q.T)


def cg_residuals(config: Config, rng, *, condition: float = 100.0) -> dict[int, np.ndarray]:
    """``thm-cg-steps``: relative residuals ``||r_k|| / ||b||`` of CG for each n of ``config.cg_dimensions``.

    The matrices have eigenvalues evenly spaced in ``[1, condition]``; CG runs exactly ``n``
    steps (or stops at an exactly zero residual). ``rng`` draws the matrices and ``b``.
    """
    rng = np.random.default_rng(rng)
    out = {}
    for n in config.cg_dimensions:
        A = _spd(n, 1.0, condition, rng)
        b = torch.as_tensor(rng.standard_normal(n))
        residuals = conjugate_gradient(lambda v, A=A: A @ v, b, iterations=n).residuals
        out[n] = np.array(residuals) / residuals[0]
    return out


def neumann_residuals(rng, *, n: int = 10, terms: int = 60, radii=(0.5, 0.9, 1.1)) -> dict[float, np.ndarray]:
    """``thm-neumann``: relative residuals of the Neumann series for ``A`` with ``rho(I - A)`` in ``radii``.

    ``A`` has eigenvalues evenly spaced in ``[1 - r, 1 + r]`` (so ``rho(I - A) = r``), size ``n``;
    ``terms`` terms; ``rng`` draws the matrices and ``b``.
    """
    rng = np.random.default_rng(rng)
    out = {}
    for r in radii:
        A = _spd(n, 1.0 - r, 1.0 + r, rng)
        b = torch.as_tensor(rng.standard_normal(n))
        residuals = neumann_series(lambda v, A=A: A @ v, b, terms=terms).residuals
        out[r] = np.array(residuals) / residuals[0]
    return out


def peer_differences(config: Config, rng) -> dict[str, dict[str, float]]:
    """Worst relative differences of ``tau`` and the five gradients against mpc.pytorch and cvxpylayers.

    Over the sizes ``config.peer_sizes`` (cvxpylayers on the first two only: one cone program
    per problem; ``"cvxpylayers (lsqr)"``, its default derivative mode, on the first only).
    Returns ``{peer: {"tau": ..., "C": ..., ...}}``; ``rng`` draws the problems.
    """
    from ltijepa.testing.peers import cvxpylayers_lqr, mpc_pytorch_lqr

    out = {"mpc.pytorch": {}, "cvxpylayers": {}, "cvxpylayers (lsqr)": {}}
    streams = np.random.default_rng(rng).spawn(len(config.peer_sizes))
    for index, (sizes, stream) in enumerate(zip(config.peer_sizes, streams)):
        problem = random_lqr_problem(*sizes, rng=stream)
        weights = torch.as_tensor(stream.standard_normal(tuple(problem.c.shape)))
        tau, grads = probe_gradients(solve_lqr, problem, weights)
        ours = {"tau": tau, **grads._asdict()}
        peers = {"mpc.pytorch": mpc_pytorch_lqr}
        if index < 2:
            peers["cvxpylayers"] = cvxpylayers_lqr
        if index == 0:
            peers["cvxpylayers (lsqr)"] = partial(cvxpylayers_lqr, mode="lsqr")
        for peer, solver in peers.items():
            their_tau, their_grads = solver(problem, weights)
            theirs = {"tau": their_tau.detach(), **dict(zip(LQRGradients._fields, their_grads))}
            for key in ours:
                out[peer][key] = max(out[peer].get(key, 0.0), _relative(theirs[key], ours[key]))
    return out


def pendulum(parameters: torch.Tensor, dt: float):
    """The pendulum ``theta'' = a sin(theta) + b u`` (``theta = 0`` upright), semi-implicit Euler.

    ``parameters = (a, b) = (g / l, 1 / (m l^2))``, the identifiable combinations of gravity,
    length and mass; ``dt`` the step. Returns ``dynamics(x, u)`` for :func:`~ltijepa.diffcontrol.box_mpc.box_mpc`.
    """
    def dynamics(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        omega = x[:, 1] + dt * (parameters[0] * torch.sin(x[:, 0]) + parameters[1] * u[:, 0])
        return torch.stack((x[:, 0] + dt * omega, omega), dim=-1)

    return dynamics


def pendulum_problem(config: ImitationConfig, rng) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(C, c, x_init)``: the cost ``10 theta^2 + omega^2 + 0.1 u^2`` (upright) and ``config.experts``
    initial states, ``theta ~ U(-0.6, 0.6)``, ``omega ~ U(-0.5, 0.5)``, drawn from ``rng``."""
    rng = np.random.default_rng(rng)
    B, T = config.experts, config.horizon
    C = torch.diag(torch.tensor([10.0, 1.0, 0.1], dtype=torch.float64)).expand(B, T, 3, 3).contiguous()
    x_init = torch.as_tensor(np.stack((rng.uniform(-0.6, 0.6, B), rng.uniform(-0.5, 0.5, B)), axis=-1))
    return C, torch.zeros(B, T, 3, dtype=torch.float64), x_init


@dataclass(frozen=True)
class ImitationRun:
    """Learning curves of the imitation experiment, one entry per iteration (before each step)."""

    imitation_loss: np.ndarray
    """mean squared trajectory error through the MPC layer (learning through the controller)"""
    parameter_error: np.ndarray
    """``||p - p*|| / ||p*||`` of learning through the controller"""
    regression_loss: np.ndarray
    """mean squared one-step prediction error of the baseline"""
    regression_parameter_error: np.ndarray
    """``||p - p*|| / ||p*||`` of the baseline (regressing the dynamics on the expert's transitions)"""
    final_parameters: np.ndarray
    """the controller-learned (a, b) at the end"""
    regression_final_parameters: np.ndarray
    """the baseline's (a, b) at the end"""
    regression_imitation_loss: float
    """the imitation loss of the MPC with the baseline's final parameters"""
    active_fraction: float
    """share of the expert's controls at a bound"""


def imitation_experiment(config: ImitationConfig, rng, *, progress: bool = True) -> ImitationRun:
    """Amos et al. 2018's imitation experiment at book scale (``def-diff-mpc``).

    Expert trajectories are :func:`~ltijepa.diffcontrol.box_mpc.box_mpc` with the true
    pendulum parameters from ``config.experts`` initial states. Two learners start from
    ``config.initial_parameters`` and take ``config.iterations`` Adam steps on the log of
    ``(a, b)``: through the controller, on the imitation loss ``mean ||tau(p) - tau_expert||^2``
    (backpropagated through the MPC layer); the baseline, on the one-step prediction loss of
    the dynamics on the expert's transitions. ``rng`` draws the initial states; ``progress``
    shows a tqdm bar.
    """
    C, c, x_init = pendulum_problem(config, rng)
    truth = torch.tensor(config.true_parameters, dtype=torch.float64)
    box = {"lower": -config.bound, "upper": config.bound}
    expert = box_mpc(pendulum(truth, config.dt), C, c, x_init, **box)
    target = expert.tau.detach()
    x, u, x_next = target[:, :-1, :2].reshape(-1, 2), target[:, :-1, 2:].reshape(-1, 1), target[:, 1:, :2].reshape(-1, 2)
    start = torch.log(torch.tensor(config.initial_parameters, dtype=torch.float64))
    learners = {name: start.clone().requires_grad_() for name in ("controller", "regression")}
    optimizers = {name: torch.optim.Adam([p], lr=config.learning_rate) for name, p in learners.items()}
    curves = {key: [] for key in ("imitation", "error", "regression", "regression_error")}
    error = lambda log_p: float((log_p.detach().exp() - truth).norm() / truth.norm())  # noqa: E731
    for _ in tqdm(range(config.iterations), desc="imitation", disable=not progress):
        losses = {
            "controller": ((box_mpc(pendulum(learners["controller"].exp(), config.dt), C, c, x_init, **box).tau
                            - target) ** 2).sum(dim=(1, 2)).mean(),
            "regression": ((pendulum(learners["regression"].exp(), config.dt)(x, u) - x_next) ** 2).sum(-1).mean(),
        }
        curves["imitation"].append(float(losses["controller"].detach()))
        curves["error"].append(error(learners["controller"]))
        curves["regression"].append(float(losses["regression"].detach()))
        curves["regression_error"].append(error(learners["regression"]))
        for name, loss in losses.items():
            optimizers[name].zero_grad()
            loss.backward()
            optimizers[name].step()
    with torch.no_grad():
        baseline = box_mpc(pendulum(learners["regression"].exp(), config.dt), C, c, x_init, **box).tau
    return ImitationRun(
        imitation_loss=np.array(curves["imitation"]), parameter_error=np.array(curves["error"]),
        regression_loss=np.array(curves["regression"]), regression_parameter_error=np.array(curves["regression_error"]),
        final_parameters=learners["controller"].detach().exp().numpy(),
        regression_final_parameters=learners["regression"].detach().exp().numpy(),
        regression_imitation_loss=float(((baseline - target) ** 2).sum(dim=(1, 2)).mean()),
        active_fraction=float(expert.active[:, :-1].double().mean()),
    )


def pendulum_gradients(config: ImitationConfig, rng, *, step: float = 1e-5) -> dict[str, np.ndarray]:
    """The gradient of ``sum tau^2`` for the pendulum's ``(a, b)``: ours, mpc.pytorch's, central differences.

    At ``config``'s true parameters on four of :func:`pendulum_problem`'s initial states (``rng``),
    differences of the converged MPC with ``step``. Our gradient and mpc.pytorch's come from the
    final approximation, which ignores the dynamics' curvature: they need not equal the
    differences on a nonlinear system (``def-diff-mpc``). Returns ``{"ours", "mpc.pytorch",
    "finite differences"}`` arrays of shape (2,), and ``"trajectory difference"`` (max |tau
    ours - tau theirs|) and ``"cost excess"`` (largest cost of theirs minus ours), shape (1,).
    """
    from ltijepa.testing.peers import mpc_pytorch_box

    C, c, x_init = (t[:4] for t in pendulum_problem(config, rng))
    box = {"lower": -config.bound, "upper": config.bound}
    p = torch.tensor(config.true_parameters, dtype=torch.float64, requires_grad=True)
    loss = lambda tau: (tau**2).sum()  # noqa: E731
    tau = box_mpc(pendulum(p, config.dt), C, c, x_init, **box).tau
    ours = torch.autograd.grad(loss(tau), p)[0]
    their_tau, (theirs,) = mpc_pytorch_box(pendulum(p, config.dt), C, c, x_init, **box, parameters=[p], loss=loss)
    differences = []
    for e in torch.eye(2, dtype=torch.float64):
        values = [float(loss(box_mpc(pendulum(p.detach() + s * step * e, config.dt), C, c, x_init, **box).tau.detach()))
                  for s in (1, -1)]
        differences.append((values[0] - values[1]) / (2 * step))
    tau = tau.detach()
    return {"ours": ours.numpy(), "mpc.pytorch": theirs.numpy(), "finite differences": np.array(differences),
            "trajectory difference": np.array([float((tau - their_tau).abs().max())]),
            "cost excess": np.array([float((lqr_cost(their_tau, C, c) - lqr_cost(tau, C, c)).max())])}


def box_peer_differences(config: Config, rng, *, problems: int = 3, bound: float = 1.0) -> dict[str, float]:
    """Our box MPC against mpc.pytorch's on linear time-invariant dynamics with active bounds.

    ``problems`` random LQR batches of ``config``'s sizes (``rng``) with the first step's
    ``F_1, f_1`` for every step and every problem (``box_mpc``'s dynamics are shared by the
    batch), controls in ``[-bound, bound]``; the loss is ``sum(tau)``. For linear dynamics the
    final approximation is exact (``def-diff-mpc``). Returns the worst relative differences of
    ``tau`` and of the gradients for ``c`` and ``x_init``, and the largest share of controls at a bound (over the problems).
    """
    from ltijepa.testing.peers import mpc_pytorch_box

    out = {"tau": 0.0, "c": 0.0, "x_init": 0.0, "active": 0.0}
    for stream in np.random.default_rng(rng).spawn(problems):
        p = random_lqr_problem(config.batch, config.horizon, config.n, config.m, rng=stream)
        F, f = p.F[0, 0], p.f[0, 0]
        dynamics = lambda x, u, F=F, f=f: torch.cat((x, u), -1) @ F.T + f  # noqa: E731
        c, x_init = p.c.clone().requires_grad_(), p.x_init.clone().requires_grad_()
        ours = box_mpc(dynamics, p.C, c, x_init, lower=-bound, upper=bound)
        grads = torch.autograd.grad(ours.tau.sum(), (c, x_init))
        tau, theirs = mpc_pytorch_box(dynamics, p.C, c, x_init, lower=-bound, upper=bound, parameters=[c, x_init],
                                      loss=lambda t: t.sum())
        out["tau"] = max(out["tau"], _relative(tau, ours.tau.detach()))
        for name, a, b in zip(("c", "x_init"), theirs, grads):
            out[name] = max(out[name], _relative(a, b))
        out["active"] = max(out["active"], float(ours.active[:, :-1].double().mean()))
    return out
