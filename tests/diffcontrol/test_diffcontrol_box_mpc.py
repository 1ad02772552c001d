"""box_mpc: the LQR when the bounds are inactive, exact gradients for linear dynamics with
active bounds, projected Newton = enumeration of active sets, non-convergence raises."""

import itertools

import pytest
import torch

from ltijepa.diffcontrol import box_mpc, probe_gradients, projected_newton_qp, random_lqr_problem, solve_lqr
from ltijepa.errors import ParameterError, SolverError


def linear(F, f):
    """Time-invariant dynamics x' = F_0 (x, u) + f_0, the same for every row of a batch."""
    return lambda x, u: torch.cat((x, u), -1) @ F[0, 0].T + f[0, 0]


def lti_problem(seed, batch=2, horizon=6, n=3, m=2):
    p = random_lqr_problem(batch, horizon, n, m, rng=seed)
    F = p.F[:1, :1].expand(batch, horizon - 1, -1, -1).contiguous()
    f = p.f[:1, :1].expand(batch, horizon - 1, -1).contiguous()
    return p._replace(F=F, f=f)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inactive_bounds_give_the_lqr_and_its_gradients(seed):
    p = lti_problem(seed)
    weights = torch.randn(p.c.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    tau, grads = probe_gradients(solve_lqr, p, weights)
    C, c, x_init = (t.clone().requires_grad_() for t in (p.C, p.c, p.x_init))
    solution = box_mpc(linear(p.F, p.f), C, c, x_init, lower=-1e3, upper=1e3)
    assert not bool(solution.active.any())
    assert float((solution.tau.detach() - tau).abs().max()) <= 1e-8
    loss = (weights * solution.tau).sum() + 0.5 * (solution.tau**2).sum()
    for ours, theirs in zip(torch.autograd.grad(loss, (C, c, x_init)), (grads.C, grads.c, grads.x_init)):
        assert float((ours - theirs).abs().max() / theirs.abs().max()) <= 1e-7


def test_active_bounds_linear_dynamics_gradients_match_finite_differences():
    p = lti_problem(3)
    dynamics = linear(p.F, p.f)
    c, x_init = p.c.clone().requires_grad_(), p.x_init.clone().requires_grad_()
    solution = box_mpc(dynamics, p.C, c, x_init, lower=-0.3, upper=0.3)
    assert bool(solution.active.any()) and not bool(solution.active.all())
    gc, gx = torch.autograd.grad(solution.tau.sum(), (c, x_init))
    h = 1e-6
    for value, grad, name in ((p.c, gc, "c"), (p.x_init, gx, "x_init")):
        E = torch.randn(value.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
        data = {"c": p.c, "x_init": p.x_init}
        plus = box_mpc(dynamics, p.C, **{**data, name: value + h * E}, lower=-0.3, upper=0.3).tau.sum()
        minus = box_mpc(dynamics, p.C, **{**data, name: value - h * E}, lower=-0.3, upper=0.3).tau.sum()
        fd = float((plus - minus).detach()) / (2 * h)
        assert abs(float((grad * E).sum()) - fd) <= 1e-5 * abs(fd), name


@pytest.mark.parametrize("seed", range(5))
def test_projected_newton_equals_the_best_active_set(seed):
    gen = torch.Generator().manual_seed(seed)
    L = torch.randn(1, 3, 3, dtype=torch.float64, generator=gen)
    H = L @ L.mT + 0.1 * torch.eye(3, dtype=torch.float64)
    q = 3 * torch.randn(1, 3, dtype=torch.float64, generator=gen)
    lo, hi = -torch.ones(1, 3, dtype=torch.float64), torch.ones(1, 3, dtype=torch.float64)
    k, _ = projected_newton_qp(H, q, lo, hi)
    objective = lambda v: float(0.5 * v @ H[0] @ v + q[0] @ v)  # noqa: E731
    best = float("inf")
    for pattern in itertools.product((-1, 0, 1), repeat=3):  # each coordinate at lower, free, upper
        fixed = torch.tensor([float(s) for s in pattern], dtype=torch.float64)
        free = torch.tensor([s == 0 for s in pattern])
        v = fixed.clone()
        if free.any():
            Hf = H[0][free][:, free]
            v[free] = torch.linalg.solve(Hf, -(q[0][free] + H[0][free][:, ~free] @ fixed[~free]))
        if bool(((v >= -1 - 1e-12) & (v <= 1 + 1e-12)).all()):
            best = min(best, objective(v))
    assert objective(k[0]) <= best + 1e-10


def test_errors():
    p = lti_problem(0)
    with pytest.raises(SolverError, match="iLQR did not converge: .* after 1 iterations") as info:
        box_mpc(lambda x, u: x + 0.3 * torch.sin(x) + u.sum(-1, keepdim=True), p.C, p.c, p.x_init, lower=-0.2,
                upper=0.2, iterations=1)
    assert info.value.iterations == 1 and info.value.residual > 0
    with pytest.raises(ParameterError, match="lower == 1.0, must be <= upper == -1.0"):
        box_mpc(linear(p.F, p.f), p.C, p.c, p.x_init, lower=1.0, upper=-1.0)
