"""solve_lqr against the authors' library (mpc.pytorch) and cvxpylayers: same tau*, same gradients."""

import warnings

import pytest
import torch

from ltijepa.diffcontrol import LQRGradients, probe_gradients, random_lqr_problem, solve_lqr
from ltijepa.testing.peers import MPC_WARNINGS, cvxpylayers_lqr, mpc_pytorch_lqr

mpc_pytorch = pytest.importorskip("mpc.mpc")  # installed by make venv from requirements/peers.txt


def ours(problem, weights):
    return probe_gradients(solve_lqr, problem, weights)


def worst(a, b):
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("seed, sizes", [(0, (2, 5, 3, 2)), (1, (4, 10, 4, 1)), (2, (1, 2, 2, 2))])
def test_mpc_pytorch_agrees(seed, sizes):
    problem = random_lqr_problem(*sizes, rng=seed)
    weights = torch.randn(problem.c.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    tau, grads = ours(problem, weights)
    their_tau, their_grads = mpc_pytorch_lqr(problem, weights)
    assert worst(their_tau.detach(), tau) <= 1e-10
    for name, a, b in zip(LQRGradients._fields, their_grads, grads):
        if b.numel():
            assert worst(a, b) <= 1e-10, name


def test_cvxpylayers_agrees():
    problem = random_lqr_problem(2, 4, 3, 2, rng=5)
    weights = torch.randn(problem.c.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    tau, grads = ours(problem, weights)
    their_tau, their_grads = cvxpylayers_lqr(problem, weights)
    assert worst(their_tau.detach(), tau) <= 1e-7
    for name, a, b in zip(LQRGradients._fields, their_grads, grads):
        assert worst(a, b) <= 1e-6, name


def test_mpc_pytorch_default_detaches_the_lqr_gradients():
    """Why mpc_pytorch_lqr passes detach_unconverged=False: the default returns exact zeros."""
    problem = random_lqr_problem(2, 5, 3, 2, rng=0)
    C, c, F, f, x_init = [t.clone().requires_grad_() for t in problem]
    solver = mpc_pytorch.MPC(3, 2, 5, lqr_iter=1, verbose=-1, n_batch=2, exit_unconverged=False)
    with warnings.catch_warnings():
        for message in MPC_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        x, u, _ = solver(x_init, mpc_pytorch.QuadCost(C.transpose(0, 1), c.transpose(0, 1)),
                         mpc_pytorch.LinDx(F.transpose(0, 1), f.transpose(0, 1)))
        (x.sum() + u.sum()).backward()
    assert c.grad is None or float(c.grad.abs().sum()) == 0.0
    assert float(ours(problem, torch.ones_like(problem.c))[1].c.abs().sum()) > 0


def test_mpc_pytorch_cannot_differentiate_a_horizon_of_one():
    """A peer limitation the chapter reports: at T = 1 its backward returns a wrongly shaped df."""
    problem = random_lqr_problem(1, 1, 2, 2, rng=0)
    with pytest.raises(RuntimeError, match="invalid gradient at index 4"):
        mpc_pytorch_lqr(problem, torch.ones_like(problem.c))
    assert solve_lqr(*problem).tau.shape == (1, 1, 4)

