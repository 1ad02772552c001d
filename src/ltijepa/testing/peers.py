"""The differentiable-LQR peers, called in our layout: mpc.pytorch (``mpc``) and cvxpylayers.

Both return the optimal ``tau`` (B, T, N) and the gradients of
:func:`~ltijepa.diffcontrol.problems.probe_loss` for ``C, c, F, f, x_init``, so the chapter,
the tests and ``benchmarks/diffcontrol.py`` compare them with
:func:`~ltijepa.diffcontrol.lqr.solve_lqr` one to one. Nothing here changes the peers' code;
what the calls need, and why:

- mpc.pytorch is time-major: ``C`` (T, B, N, N), ``F`` (T - 1, B, n, N) -- ``F`` and ``f`` of
  length ``T`` fail its backward pass (``assert _dlams.shape == f.shape``). It treats the LQR
  as the first iterate of iLQR and, by default, *detaches* every problem whose controls moved
  by more than ``eps`` in the last iteration: with ``lqr_iter=1`` that is every problem with
  ``u* != 0``, so all gradients come back as exact zeros without an error (its warning is
  printed only for ``verbose >= 0``). We pass ``detach_unconverged=False``; one Newton step
  solves an LQR exactly. At ``T = 1`` its backward pass fails (it returns ``df`` of shape
  ``(0,)`` for ``f`` of shape ``(0, B, n)``: "invalid gradient at index 4").
- Under torch 2.13 mpc.pytorch calls the deprecated ``torch.lu``/``lu_solve`` and indexes with
  uint8 masks; the warnings these raise are silenced here, around its calls only.
- cvxpylayers differentiates a DPP program (its derivative in diffcp's ``"dense"`` mode, see
  :func:`cvxpylayers_lqr`): ``1/2 tau^T C tau`` with ``C`` a parameter is not
  DPP, so the cost is written ``1/2 ||L_t^T tau_t||^2`` with the parameter ``L_t`` the
  Cholesky factor of ``C_t``, computed in torch, so ``C``'s gradient flows through it.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from functools import lru_cache

import cvxpy as cp
import torch

from ltijepa.diffcontrol.lqr import LQRGradients
from ltijepa.diffcontrol.problems import LQRProblem, probe_loss

__all__ = ["mpc_pytorch_lqr", "mpc_pytorch_box", "cvxpylayers_lqr", "MPC_WARNINGS", "CVXPYLAYERS_WARNINGS"]

#: The warnings mpc 0.0.6 raises under torch 2.13 (deprecated torch.lu, uint8 masks).
MPC_WARNINGS = ("torch.lu is deprecated", "torch.lu_solve is deprecated", "indexing with dtype torch.uint8")
#: The warning cvxpylayers 1.2.0 raises under numpy 2.4 (an ``__array__`` without ``copy``).
CVXPYLAYERS_WARNINGS = ("__array__ implementation doesn't accept a copy keyword",)


@contextmanager
def _quiet(messages: tuple[str, ...]):
    with warnings.catch_warnings():
        for message in messages:
            warnings.filterwarnings("ignore", message=message)
        yield


def _gradients(tau: torch.Tensor, weights: torch.Tensor, leaves: list, backward: bool) -> LQRGradients | None:
    if not backward:
        return None
    probe_loss(tau, weights).backward()
    return LQRGradients(*(torch.zeros_like(t) if t.grad is None else t.grad for t in leaves))


def mpc_pytorch_lqr(problem: LQRProblem, weights: torch.Tensor, *, backward: bool = True):
    """``(tau, gradients)`` of the LQR by mpc.pytorch's ``MPC`` (one LQR iterate, analytic gradients).

    ``problem`` in our layout, ``weights`` of the probe loss; with ``backward=False`` only the
    forward pass runs and ``gradients`` is ``None``.
    """
    from mpc import mpc as mpc_pytorch  # the peer; installed from requirements/peers.txt

    leaves = [t.detach().clone().requires_grad_(backward) for t in problem]
    C, c, F, f, x_init = leaves
    B, T, N = c.shape
    n = x_init.shape[1]
    solver = mpc_pytorch.MPC(n, N - n, T, u_lower=None, u_upper=None, lqr_iter=1, verbose=-1, n_batch=B,
                             exit_unconverged=False, detach_unconverged=False, backprop=backward,
                             grad_method=mpc_pytorch.GradMethods.ANALYTIC)
    with _quiet(MPC_WARNINGS):
        x, u, _ = solver(x_init, mpc_pytorch.QuadCost(C.transpose(0, 1), c.transpose(0, 1)),
                         mpc_pytorch.LinDx(F.transpose(0, 1), f.transpose(0, 1)))
        tau = torch.cat((x, u), dim=-1).transpose(0, 1)
        return tau, _gradients(tau, weights, leaves, backward)


@lru_cache(maxsize=8)
def _layer(T: int, n: int, m: int):
    from cvxpylayers.torch import CvxpyLayer

    N = n + m
    tau = cp.Variable((T, N))
    L = [cp.Parameter((N, N)) for _ in range(T)]
    c, F = cp.Parameter((T, N)), [cp.Parameter((n, N)) for _ in range(T - 1)]
    f, x_init = cp.Parameter((max(T - 1, 1), n)), cp.Parameter(n)
    cost = sum(0.5 * cp.sum_squares(L[t].T @ tau[t]) for t in range(T)) + cp.sum(cp.multiply(c, tau))
    constraints = [tau[0, :n] == x_init] + [tau[t + 1, :n] == F[t] @ tau[t] + f[t] for t in range(T - 1)]
    problem = cp.Problem(cp.Minimize(cost), constraints)
    assert problem.is_dpp()  # a fixed program of this module, not user input
    return CvxpyLayer(problem, parameters=[*L, c, *F, f, x_init], variables=[tau])


def cvxpylayers_lqr(problem: LQRProblem, weights: torch.Tensor, *, backward: bool = True, mode: str = "dense"):
    """``(tau, gradients)`` of the LQR by cvxpylayers (the QP through diffcp and SCS, ``eps = 1e-10``).

    ``mode`` is diffcp's derivative mode: ``"dense"`` by default, because its own default
    ``"lsqr"`` (an iterative least-squares solve) gave gradients 3-19 % off on a 3 x 6 x (3 + 2)
    problem whose forward solution agreed with ours to 4e-11 (the chapter measures both).

    As in :func:`~ltijepa.testing.peers.mpc_pytorch_lqr` for the other parameters.
    """
    leaves = [t.detach().clone().requires_grad_(backward) for t in problem]
    C, c, F, f, x_init = leaves
    B, T, N = c.shape
    n = x_init.shape[1]
    L = torch.linalg.cholesky(C)
    f_in = f if T > 1 else torch.zeros(B, 1, n, dtype=f.dtype)
    with _quiet(CVXPYLAYERS_WARNINGS):
        (tau,) = _layer(T, n, N - n)(*L.unbind(1), c, *F.unbind(1), f_in, x_init,
                                     solver_args={"eps": 1e-10, "max_iters": 100_000, "mode": mode})
        return tau, _gradients(tau, weights, leaves, backward)


class _AsModule(torch.nn.Module):
    """The shim mpc.pytorch needs: it accepts dynamics only as an ``nn.Module`` (an assertion)."""

    def __init__(self, dynamics):
        super().__init__()
        self.dynamics = dynamics

    def forward(self, x, u):
        """``dynamics(x, u)``: ``x`` (B, n), ``u`` (B, m)."""
        return self.dynamics(x, u)


def mpc_pytorch_box(dynamics, C, c, x_init, *, lower: float, upper: float, parameters, loss, iterations: int = 100):
    """``(tau, gradients)`` of mpc.pytorch's box-constrained iLQR and of ``loss(tau)`` for ``parameters``.

    ``dynamics(x, u)`` as in :func:`~ltijepa.diffcontrol.box_mpc.box_mpc` (a plain callable, so
    its linearisation is ``GradMethods.AUTO_DIFF``; wrapped in the ``nn.Module`` its
    ``forward`` asserts), ``C``, ``c``, ``x_init`` in our layout,
    ``lower``/``upper`` the bounds, ``parameters`` the tensors to differentiate (e.g. the
    dynamics' parameters), ``loss`` a scalar function of ``tau`` (B, T, N), ``iterations`` its
    ``lqr_iter`` (with ``eps=1e-10``, ``detach_unconverged=False``, see the module docstring).
    """
    from mpc import mpc as mpc_pytorch

    B, T, N = c.shape
    n = x_init.shape[1]
    bound = torch.ones(T, B, N - n, dtype=c.dtype)
    solver = mpc_pytorch.MPC(n, N - n, T, u_lower=lower * bound, u_upper=upper * bound, lqr_iter=iterations,
                             verbose=-1, n_batch=B, eps=1e-10, exit_unconverged=False, detach_unconverged=False,
                             grad_method=mpc_pytorch.GradMethods.AUTO_DIFF)
    with _quiet(MPC_WARNINGS):
        x, u, _ = solver(x_init, mpc_pytorch.QuadCost(C.transpose(0, 1), c.transpose(0, 1)), _AsModule(dynamics))
        tau = torch.cat((x, u), dim=-1).transpose(0, 1)
        gradients = torch.autograd.grad(loss(tau), parameters)
    return tau.detach(), gradients
