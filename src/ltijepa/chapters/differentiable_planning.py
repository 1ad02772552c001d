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
- our solver against mpc.pytorch and cvxpylayers (:func:`peer_differences`).

Every size a profile sets lives in :class:`Config`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from ltijepa.diffcontrol import (
    LQRCounts,
    LQRGradients,
    conjugate_gradient,
    finite_difference_errors,
    gradient_descent_argmin,
    implicit_gradient,
    neumann_series,
    probe_gradients,
    probe_loss,
    random_lqr_problem,
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
]


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

    @classmethod
    def for_profile(cls, profile: str) -> Config:
        """``ci``: 6 problems of 4 x 10 x (4 + 2); ``full``: 30 problems, more unconstrained ones.

        >>> Config.for_profile("ci").problems
        6
        """
        return cls(
            problems=by_profile(profile, ci=6, full=30),
            implicit_problems=by_profile(profile, ci=4, full=16),
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
    per problem). Returns ``{peer: {"tau": ..., "C": ..., ...}}``; ``rng`` draws the problems.
    """
    from ltijepa.testing.peers import cvxpylayers_lqr, mpc_pytorch_lqr

    out = {"mpc.pytorch": {}, "cvxpylayers": {}}
    streams = np.random.default_rng(rng).spawn(len(config.peer_sizes))
    for index, (sizes, stream) in enumerate(zip(config.peer_sizes, streams)):
        problem = random_lqr_problem(*sizes, rng=stream)
        weights = torch.as_tensor(stream.standard_normal(tuple(problem.c.shape)))
        tau, grads = probe_gradients(solve_lqr, problem, weights)
        ours = {"tau": tau, **grads._asdict()}
        peers = {"mpc.pytorch": mpc_pytorch_lqr}
        if index < 2:
            peers["cvxpylayers"] = cvxpylayers_lqr
        for peer, solver in peers.items():
            their_tau, their_grads = solver(problem, weights)
            theirs = {"tau": their_tau.detach(), **dict(zip(LQRGradients._fields, their_grads))}
            for key in ours:
                out[peer][key] = max(out[peer].get(key, 0.0), _relative(theirs[key], ours[key]))
    return out
