"""solve_lqr: Riccati = KKT, Module 1's gradients = finite differences = unrolled autograd,
one extra sweep and no extra factorisation in the backward pass; wrong formulas fail; bad input."""

import pytest
import torch
from hypothesis import given, settings

from ltijepa.diffcontrol import (
    LQRCounts,
    LQRGradients,
    LQRSolution,
    finite_difference_errors,
    lqr_cost,
    module1_gradients,
    probe_gradients,
    probe_loss,
    random_lqr_problem,
    solve_kkt,
    solve_lqr,
    unrolled_lqr,
)
from ltijepa.diffcontrol import lqr as lqr_module
from ltijepa.errors import DataError, ShapeError
from ltijepa.testing.diffcontrol import lqr_problems

KKT_TOL = 1e-10
FD_STEP, FD_TOL = 1e-5, 1e-6
AUTOGRAD_TOL = 1e-10


def relative(a, b):
    if b.numel() == 0:
        return 0.0
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def module1(problem, weights):
    """Gradients of the probe loss through solve_lqr (Module 1)."""
    return probe_gradients(solve_lqr, problem, weights)[1]


def unrolled(problem, weights):
    return probe_gradients(unrolled_lqr, problem, weights)[1]


def fd_errors(problem, weights, gradients):
    loss = lambda *data: probe_loss(solve_lqr(*data).tau, weights)  # noqa: E731
    return finite_difference_errors(loss, problem, gradients, step=FD_STEP, directions=3, rng=0)


@given(lqr_problems())
def test_riccati_equals_the_kkt_solve(drawn):
    problem, _ = drawn
    ours, kkt = solve_lqr(*problem), solve_kkt(*problem)
    assert relative(ours.tau, kkt.tau) <= KKT_TOL
    assert relative(ours.lam, kkt.lam) <= KKT_TOL


@given(lqr_problems())
def test_riccati_is_the_minimum_over_feasible_perturbations(drawn):
    problem, _ = drawn
    tau = solve_lqr(*problem).tau
    B, T, N = tau.shape
    n = problem.x_init.shape[1]
    # a feasible perturbation: change the controls, roll the dynamics forward from the same x_init
    u = tau[..., n:] + 0.1 * torch.randn(B, T, N - n, dtype=tau.dtype, generator=torch.Generator().manual_seed(0))
    x, rows = problem.x_init, []
    for t in range(T):
        rows.append(torch.cat((x, u[:, t]), -1))
        if t < T - 1:
            x = (problem.F[:, t] @ rows[-1][..., None])[..., 0] + problem.f[:, t]
    other = torch.stack(rows, 1)
    assert bool((lqr_cost(tau, problem.C, problem.c) <= lqr_cost(other, problem.C, problem.c) + 1e-12).all())


@settings(max_examples=25)
@given(lqr_problems())
def test_module1_gradients_equal_finite_differences_and_unrolled_autograd(drawn):
    problem, weights = drawn
    ours, reference = module1(problem, weights), unrolled(problem, weights)
    for name, a, b in zip(LQRGradients._fields, ours, reference):
        assert relative(a, b) <= AUTOGRAD_TOL, name
    errors = fd_errors(problem, weights, ours)
    assert max(errors.values()) <= FD_TOL, errors


def test_backward_is_one_sweep_without_new_factorisations():
    problem = random_lqr_problem(4, 7, 3, 2, rng=0)
    counts = LQRCounts()
    leaves = [t.clone().requires_grad_() for t in problem]
    tau = solve_lqr(*leaves, counts=counts).tau
    assert counts == LQRCounts(factorizations=7, sweeps=1)
    tau.sum().backward()
    assert counts == LQRCounts(factorizations=7, sweeps=2)


def test_float32_runs_and_agrees_with_float64():
    problem = random_lqr_problem(3, 5, 2, 2, rng=3)
    single = solve_lqr(*(t.float() for t in problem)).tau
    assert single.dtype == torch.float32
    assert relative(single.double(), solve_lqr(*problem).tau) <= 1e-4


# --- wrong formulas fail the same checks -------------------------------------------------------

PROBLEM = random_lqr_problem(2, 5, 3, 2, rng=11)
WEIGHTS = torch.randn(PROBLEM.c.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)


def mutated_gradients(mutation):
    """Module 1's formulas (8) with one plausible mistake."""
    leaves = [t.clone() for t in PROBLEM]
    solution = solve_lqr(*leaves)
    tau = solution.tau.clone().requires_grad_()
    grad_tau = torch.autograd.grad(probe_loss(tau, WEIGHTS), tau)[0]
    zeros_f, zeros_x = torch.zeros_like(PROBLEM.f), torch.zeros_like(PROBLEM.x_init)
    if mutation == "adjoint keeps f and x_init":
        adjoint = solve_lqr(PROBLEM.C, grad_tau, PROBLEM.F, PROBLEM.f, PROBLEM.x_init)
    elif mutation == "adjoint with -grad":
        adjoint = solve_lqr(PROBLEM.C, -grad_tau, PROBLEM.F, zeros_f, zeros_x)
    else:
        adjoint = solve_lqr(PROBLEM.C, grad_tau, PROBLEM.F, zeros_f, zeros_x)
    grads = module1_gradients(solution, adjoint)
    tau_, lam_ = solution
    d_tau, d_lam = adjoint
    if mutation == "dropped 1/2 in dC":
        grads = grads._replace(C=2 * grads.C)
    elif mutation == "dF without lam term":
        grads = grads._replace(F=d_lam[:, 1:, :, None] * tau_[:, :-1, None, :])
    elif mutation == "df sign flip":
        grads = grads._replace(f=-grads.f)
    elif mutation == "dx_init from lam_2":
        grads = grads._replace(x_init=d_lam[:, 1])
    elif mutation == "dF with lam_t":
        grads = grads._replace(F=d_lam[:, 1:, :, None] * tau_[:, :-1, None, :] + lam_[:, :-1, :, None] * d_tau[:, :-1, None, :])
    return grads


def test_the_correct_formulas_pass():
    assert max(fd_errors(PROBLEM, WEIGHTS, mutated_gradients("none")).values()) <= FD_TOL


@pytest.mark.parametrize("mutation", ["adjoint keeps f and x_init", "adjoint with -grad", "dropped 1/2 in dC",
                                      "dF without lam term", "df sign flip", "dx_init from lam_2", "dF with lam_t"])
def test_a_wrong_backward_formula_fails_the_finite_difference_check(mutation):
    errors = fd_errors(PROBLEM, WEIGHTS, mutated_gradients(mutation))
    assert max(errors.values()) > 1e-2, errors


def test_a_wrong_riccati_recursion_fails_the_kkt_check(monkeypatch):
    """The gains of Q_t = C_t (forgetting F_t^T V_{t+1} F_t) give a feasible but wrong trajectory."""
    original = lqr_module._riccati

    def forgetful(C, F, n):
        K = [-torch.cholesky_solve(C[:, t, n:, :n], torch.linalg.cholesky(C[:, t, n:, n:])) for t in range(C.shape[1])]
        return original(C, F, n)._replace(K=K)

    monkeypatch.setattr(lqr_module, "_riccati", forgetful)
    assert relative(solve_lqr(*PROBLEM).tau, solve_kkt(*PROBLEM).tau) > 1e-3


# --- bad input ----------------------------------------------------------------------------------

def with_(**changes):
    return PROBLEM._replace(**changes)


def test_horizon_zero_is_rejected():
    p = random_lqr_problem(1, 1, 2, 1, rng=0)
    with pytest.raises(ShapeError, match="horizon T == 0"):
        solve_lqr(p.C[:, :0], p.c[:, :0], p.F, p.f, p.x_init)


@pytest.mark.parametrize("name, value, match", [
    ("c", torch.zeros(2, 4, 5, dtype=torch.float64), r"c: expected shape \(2, 5, 5\), found \(2, 4, 5\)"),
    ("F", torch.zeros(2, 5, 3, 5, dtype=torch.float64), r"F: expected shape \(2, 4, 3, 5\)"),
    ("x_init", torch.zeros(2, 3, 1, dtype=torch.float64), "x_init: expected 2 dimensions"),
    ("x_init", torch.zeros(2, 5, dtype=torch.float64), "must be N = n \\+ m with m >= 1"),
])
def test_wrong_shapes_name_the_array(name, value, match):
    with pytest.raises(ShapeError, match=match):
        solve_lqr(*with_(**{name: value}))


def test_non_psd_cost_is_rejected_with_its_eigenvalue():
    C = PROBLEM.C.clone()
    C[1, 2] -= 10 * torch.eye(5, dtype=torch.float64)
    with pytest.raises(DataError, match=r"C\[1, 2\] is not positive semidefinite: smallest eigenvalue == -"):
        solve_lqr(*with_(C=C))


def test_asymmetric_cost_and_nan_are_rejected():
    C = PROBLEM.C.clone()
    C[0, 0, 0, 1] += 1.0
    with pytest.raises(DataError, match=r"C\[0, 0\] is not symmetric"):
        solve_lqr(*with_(C=C))
    f = PROBLEM.f.clone()
    f[1, 0, 2] = float("nan")
    with pytest.raises(DataError, match=r"f has a non-finite entry at index \(1, 0, 2\)"):
        solve_lqr(*with_(f=f))


def test_singular_control_cost_is_rejected():
    C = torch.zeros_like(PROBLEM.C)
    C[..., :3, :3] = torch.eye(3, dtype=torch.float64)
    with pytest.raises(DataError, match="Q_uu at step t == 5 of problem 0 is not positive definite"):
        solve_lqr(*with_(C=C))


def test_mixed_dtypes_are_rejected():
    with pytest.raises(DataError, match="must share one"):
        solve_lqr(*with_(c=PROBLEM.c.float()))


def test_solution_splits_states_and_controls():
    solution = solve_lqr(*PROBLEM)
    assert isinstance(solution, LQRSolution)
    assert torch.equal(solution.x[:, 0], PROBLEM.x_init)
    assert solution.x.shape == (2, 5, 3) and solution.u.shape == (2, 5, 2)
