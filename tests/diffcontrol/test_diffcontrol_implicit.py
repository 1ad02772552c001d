"""Implicit gradients: direct = CG = Neumann = unrolled at convergence; CG in n steps; Neumann
iff rho(I - eta H) < 1; option 2 = Neumann exactly; wrong versions fail; non-convergence raises."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltijepa.diffcontrol import (
    conjugate_gradient,
    gradient_descent_argmin,
    implicit_gradient,
    neumann_series,
    random_smooth_argmin,
    unrolled_gradient,
)
from ltijepa.errors import ParameterError, SolverError


def solved(seed, n=5, p=3):
    f = random_smooth_argmin(n, p, rng=seed)
    gen = torch.Generator().manual_seed(seed)
    theta = torch.randn(p, dtype=torch.float64, generator=gen)
    g = torch.randn(n, dtype=torch.float64, generator=gen)
    step = 1.0 / f.smoothness
    x_star, _ = gradient_descent_argmin(f, torch.zeros(n, dtype=torch.float64), theta, step=step, max_steps=20_000,
                                        tol=1e-13)
    return f, theta, g, step, x_star


def spd(seed, n, low, high):
    gen = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64, generator=gen))
    return Q @ torch.diag(torch.linspace(low, high, n, dtype=torch.float64)) @ Q.T


def relative(a, b):
    return float((a - b).norm() / b.norm())


@given(st.integers(0, 10_000))
def test_direct_cg_and_neumann_agree(seed):
    f, theta, g, step, x_star = solved(seed)
    direct, _ = implicit_gradient(f, x_star, theta, g)
    cg, _ = implicit_gradient(f, x_star, theta, g, method="cg")
    neumann, _ = implicit_gradient(f, x_star, theta, g, method="neumann", iterations=2000, scale=step)
    assert relative(cg, direct) <= 1e-9
    assert relative(neumann, direct) <= 1e-9


@settings(max_examples=10)
@given(st.integers(0, 10_000))
def test_implicit_gradient_equals_finite_differences_of_the_argmin(seed):
    f, theta, g, step, x_star = solved(seed)
    direct, _ = implicit_gradient(f, x_star, theta, g)
    h = 1e-5
    E = torch.eye(theta.numel(), dtype=torch.float64)
    fd = torch.stack([
        g @ (gradient_descent_argmin(f, x_star, theta + h * e, step=step, max_steps=20_000, tol=1e-13)[0]
             - gradient_descent_argmin(f, x_star, theta - h * e, step=step, max_steps=20_000, tol=1e-13)[0]) / (2 * h)
        for e in E])
    assert relative(direct, fd) <= 1e-6
    assert relative(-direct, fd) > 1.0  # the lecture's last line, without the minus sign, fails


def test_unrolled_gradient_converges_to_the_implicit_one():
    f, theta, g, step, x_star = solved(1)
    direct, _ = implicit_gradient(f, x_star, theta, g)
    errors = [relative(unrolled_gradient(f, torch.zeros(5, dtype=torch.float64), theta, g, step=step, steps=k), direct)
              for k in (5, 50, 500)]
    assert errors[0] > 1e-2 and errors[2] <= 1e-9 and errors[0] > errors[1] > errors[2]


@pytest.mark.parametrize("steps", [1, 7, 40])
def test_last_steps_equal_the_neumann_series_exactly(steps):
    f, theta, g, step, x_star = solved(2)
    last = unrolled_gradient(f, x_star, theta, g, step=step, steps=steps)
    neumann, _ = implicit_gradient(f, x_star, theta, g, method="neumann", iterations=steps, scale=step)
    assert relative(last, neumann) <= 1e-10
    other, _ = implicit_gradient(f, x_star, theta, g, method="neumann", iterations=steps + 1, scale=step)
    assert relative(last, other) > 1e-6  # one term more is not the same


@given(st.integers(0, 10_000), st.integers(2, 12))
def test_cg_reaches_the_solution_in_n_steps(seed, n):
    A = spd(seed, n, 1.0, 20.0)
    b = torch.randn(n, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))
    solve = conjugate_gradient(lambda v: A @ v, b, iterations=n)
    assert len(solve.residuals) <= n + 1
    assert solve.residuals[-1] <= 1e-10 * solve.residuals[0]


def wrong_cg(A, b, iterations):
    """beta_k with the old residual on top (a plausible slip): loses conjugacy."""
    x, r = torch.zeros_like(b), b.clone()
    p = r.clone()
    for _ in range(iterations):
        alpha = (r @ r) / (p @ A @ p)
        x, r_next = x + alpha * p, r - alpha * (A @ p)
        p, r = r_next + (r @ r) / (r_next @ r_next) * p, r_next
    return float((b - A @ x).norm() / b.norm())


def test_a_wrong_cg_fails_the_n_step_check():
    A = spd(0, 10, 1.0, 20.0)
    b = torch.randn(10, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert wrong_cg(A, b, 10) > 1e-3


def test_neumann_converges_iff_the_spectral_radius_is_below_one():
    b = torch.ones(6, dtype=torch.float64)
    inside = spd(0, 6, 0.2, 1.8)  # rho(I - A) = 0.8
    outside = spd(0, 6, 0.2, 2.2)  # rho(I - A) = 1.2
    converging = neumann_series(lambda v: inside @ v, b, terms=200).residuals
    diverging = neumann_series(lambda v: outside @ v, b, terms=200).residuals
    assert converging[-1] <= 1e-12 * converging[0]
    assert diverging[-1] >= 1e6 * diverging[0]
    with pytest.raises(SolverError, match="Neumann series did not converge"):
        neumann_series(lambda v: outside @ v, b, terms=50, tol=1e-6)


def test_errors():
    f, theta, g, step, x_star = solved(3)
    with pytest.raises(SolverError, match="x_star is not a stationary point"):
        implicit_gradient(f, x_star + 0.1, theta, g)
    with pytest.raises(ParameterError, match="method == 'lu'"):
        implicit_gradient(f, x_star, theta, g, method="lu")
    with pytest.raises(ParameterError, match="number of Neumann terms"):
        implicit_gradient(f, x_star, theta, g, method="neumann")
    with pytest.raises(SolverError, match=r"gradient descent did not converge: .* after 3 steps") as info:
        gradient_descent_argmin(f, torch.zeros(5, dtype=torch.float64), theta, step=step, max_steps=3, tol=1e-12)
    assert info.value.iterations == 3 and info.value.residual > 0
    indefinite = torch.diag(torch.tensor([1.0, -1.0], dtype=torch.float64))
    with pytest.raises(SolverError, match="A must be positive definite"):
        conjugate_gradient(lambda v: indefinite @ v, torch.tensor([0.0, 1.0], dtype=torch.float64), iterations=2)
    with pytest.raises(SolverError, match="conjugate gradient did not converge"):
        conjugate_gradient(lambda v: spd(0, 8, 1, 100) @ v, torch.ones(8, dtype=torch.float64), iterations=2, tol=1e-8)
