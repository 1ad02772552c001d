"""Task: closed forms, python-control and scipy references, Lemma 1, and every error path."""

import control
import numpy as np
import pytest
import scipy.linalg
from hypothesis import assume, given
from hypothesis import strategies as st

from ltijepa.errors import DataError, NotStabilizableError, NotStabilizingError, ShapeError, SolverError
from ltijepa.lqr import Task
from ltijepa.lqr.task import BADLY_SCALED
from ltijepa.lqr.landscape import gradient_error
from ltijepa.testing import lqr as lqr_st


def scalar_task(a=1.0, b=1.0, q=1.0, r=1.0, s=1.0):
    return Task([[a]], [[b]], [[q]], [[r]], [[s]])


def test_scalar_cost_and_gradient_closed_forms():
    a, b, q, r, s, k = 1.2, 0.5, 2.0, 0.3, 1.5, 1.0
    task = scalar_task(a, b, q, r, s)
    c = a - b * k
    cost = (q + r * k**2) * s / (1 - c**2)
    # d/dk of (q + r k^2) s / (1 - c^2) with dc/dk = -b
    grad = (2 * r * k * s * (1 - c**2) - (q + r * k**2) * s * 2 * c * b) / (1 - c**2) ** 2
    assert task.cost([[k]]) == pytest.approx(cost, rel=1e-13)
    assert task.gradient([[k]])[0, 0] == pytest.approx(grad, rel=1e-12)
    assert task.P([[k]])[0, 0] == pytest.approx((q + r * k**2) / (1 - c**2), rel=1e-13)
    assert task.Sigma([[k]])[0, 0] == pytest.approx(s / (1 - c**2), rel=1e-13)


def test_scalar_dare_closed_form():
    # a = b = q = r = 1: p^2 - p - 1 = 0, p = golden ratio, k = p / (1 + p)
    task = scalar_task()
    p = (1 + np.sqrt(5)) / 2
    assert task.optimal_gain()[0, 0] == pytest.approx(p / (1 + p), rel=1e-13)
    assert task.optimal_cost() == pytest.approx(p, rel=1e-13)


@given(lqr_st.tasks())
def test_optimal_gain_matches_python_control_and_scipy(task):
    K_ct, S_ct, _ = control.dlqr(task.A, task.B, task.Q, task.R)
    X = scipy.linalg.solve_discrete_are(task.A, task.B, task.Q, task.R)
    K = task.optimal_gain()
    scale = max(1.0, np.linalg.norm(K_ct))
    assert np.linalg.norm(K - K_ct) <= 1e-8 * scale
    assert task.optimal_cost() == pytest.approx(np.trace(S_ct @ task.Sigma0), rel=1e-8)
    assert task.optimal_cost() == pytest.approx(np.trace(X @ task.Sigma0), rel=1e-10)
    assert task.cost(K) == pytest.approx(task.optimal_cost(), rel=1e-8)
    assert task.is_stabilizing(K)


@given(lqr_st.tasks_with_gains())
def test_lyapunov_solutions_satisfy_their_equations(task_and_gain):
    task, K = task_and_gain
    A_K = task.closed_loop(K)
    P, S = task.P(K), task.Sigma(K)
    residual_P = P - (task.Q + K.T @ task.R @ K + A_K.T @ P @ A_K)
    residual_S = S - (task.Sigma0 + A_K @ S @ A_K.T)
    assert np.linalg.norm(residual_P) <= 1e-9 * np.linalg.norm(P)
    assert np.linalg.norm(residual_S) <= 1e-9 * np.linalg.norm(S)
    assert np.all(np.linalg.eigvalsh(P) >= -1e-12 * np.linalg.norm(P))
    assert task.cost(K) >= task.optimal_cost() * (1 - 1e-9)


@given(lqr_st.tasks_with_gains())
def test_gradient_matches_finite_differences(task_and_gain):
    """Lemma 1 of Fazel et al.: nabla C(K) = 2 E_K Sigma_K."""
    task, K = task_and_gain
    assume(np.linalg.norm(task.gradient(K)) >= 1e-3 * task.cost(K))  # not at a stationary point
    assert gradient_error(task, K) <= 1e-6


@given(lqr_st.tasks())
def test_gradient_vanishes_at_the_optimum(task):
    K = task.optimal_gain()
    scale = np.linalg.norm(task.gradient(K + 0.01))
    assert np.linalg.norm(task.E(K)) <= 1e-8 * max(1.0, np.linalg.norm(task.R + task.B.T @ task.P(K) @ task.B))
    assert np.linalg.norm(task.gradient(K)) <= 1e-6 * max(1.0, scale)


def test_sigma0_defaults_to_identity_and_arrays_are_read_only():
    task = Task(np.eye(2), np.eye(2), np.eye(2), np.eye(2))
    np.testing.assert_array_equal(task.Sigma0, np.eye(2))
    with pytest.raises(ValueError, match="read-only"):
        task.A[0, 0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        task.optimal_gain()[0, 0] = 5.0
    assert repr(task) == "Task(n=2, m=2)"


# --- error paths -----------------------------------------------------------------------


def test_non_square_A():
    with pytest.raises(ShapeError, match=r"A must be square: expected shape \(2, 2\), found \(2, 3\)"):
        Task(np.ones((2, 3)), np.ones((2, 1)), np.eye(2), np.eye(1))


def test_mismatched_B():
    with pytest.raises(ShapeError, match=r"B: expected shape \(2, '\*'\), found \(3, 1\)"):
        Task(np.eye(2), np.ones((3, 1)), np.eye(2), np.eye(1))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(Q=np.eye(3)), r"Q: expected shape \(2, 2\), found \(3, 3\)"),
        (dict(R=np.eye(2)), r"R: expected shape \(1, 1\), found \(2, 2\)"),
        (dict(Sigma0=np.eye(1)), r"Sigma0: expected shape \(2, 2\), found \(1, 1\)"),
    ],
)
def test_wrong_weight_shapes(kwargs, match):
    args = dict(A=np.eye(2), B=np.ones((2, 1)), Q=np.eye(2), R=np.eye(1)) | kwargs
    with pytest.raises(ShapeError, match=match):
        Task(**args)


def test_indefinite_R():
    with pytest.raises(DataError, match=r"R must be positive definite: smallest eigenvalue == -1"):
        Task(np.eye(2), np.eye(2), np.eye(2), np.diag([1.0, -1.0]))


def test_semidefinite_R_is_rejected_and_semidefinite_Q_accepted():
    with pytest.raises(DataError, match="R must be positive definite: smallest eigenvalue == 0"):
        Task(np.eye(2), np.eye(2), np.eye(2), np.diag([1.0, 0.0]))
    Task(np.eye(2), np.eye(2), np.diag([1.0, 0.0]), np.eye(2))


def test_indefinite_Q_and_singular_Sigma0():
    with pytest.raises(DataError, match="Q must be positive semidefinite"):
        Task(np.eye(2), np.eye(2), np.diag([1.0, -0.5]), np.eye(2))
    with pytest.raises(DataError, match="Sigma0 must be positive definite"):
        Task(np.eye(2), np.eye(2), np.eye(2), np.eye(2), np.diag([1.0, 0.0]))


def test_asymmetric_weight():
    with pytest.raises(DataError, match=r"Q must be symmetric: max\|Q - Q\^T\| == 0.5"):
        Task(np.eye(2), np.eye(2), [[1.0, 0.5], [0.0, 1.0]], np.eye(2))


def test_symmetry_tolerance_is_relative():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((3, 3)) * 1e3
    Q = M @ np.diag([1.0, 2.0, 3.0]) @ M.T  # entries ~1e6, round-off asymmetry ~1e-10
    Task(np.eye(3), np.eye(3), Q, np.eye(3))


def test_non_finite_entries():
    with pytest.raises(DataError, match="A has non-finite entries"):
        Task([[np.nan]], [[1.0]], [[1.0]], [[1.0]])
    with pytest.raises(DataError, match="K has non-finite entries"):
        scalar_task().cost([[np.inf]])


@pytest.mark.parametrize("A, match", [
    ([[1.0 + 1.0j]], r"A must be real, found complex entries: \[\[\(1\+1j\)\]\]"),
    ([["a"]], r"A must hold real numbers, found \[\['a'\]\]"),
    ("abc", r"A must hold real numbers, found 'abc'"),
    ([["1.5"]], r"A must hold real numbers"),
])
def test_complex_and_non_numeric_entries_are_data_errors(A, match):
    with pytest.raises(DataError, match=match) as info:
        Task(A, [[1.0]], [[1.0]], [[1.0]])
    assert info.value.name == "A"


def test_complex_weight_and_gain_are_data_errors_naming_them():
    with pytest.raises(DataError, match="Sigma0 must be real") as info:
        Task([[1.0]], [[1.0]], [[1.0]], [[1.0]], [[1.0 + 0.5j]])
    assert info.value.name == "Sigma0" and info.value.index == (0, 0)
    with pytest.raises(DataError, match="K must be real"):
        scalar_task(a=0.5).cost([[0.1j]])


def test_complex_dtype_with_zero_imaginary_part_is_real():
    task = Task(np.array([[0.5 + 0j]]), [[1.0]], [[1.0]], [[1.0]])
    assert task.A.dtype == float and task.cost([[0.0]]) == scalar_task(a=0.5).cost([[0.0]])


def test_ragged_input_is_a_shape_error_naming_the_matrix():
    with pytest.raises(ShapeError, match="A is ragged") as info:
        Task([[1.0, 2.0], [3.0]], [[1.0], [1.0]], np.eye(2), [[1.0]])
    assert info.value.name == "A"
    with pytest.raises(ShapeError, match="Q is ragged"):
        Task(np.eye(2), [[1.0], [1.0]], [[1.0, 0.0], [0.0]], [[1.0]])


def test_empty_system_is_a_shape_error():
    with pytest.raises(ShapeError, match="A is 0x0: a task has n >= 1 states") as info:
        Task(np.zeros((0, 0)), np.zeros((0, 1)), np.zeros((0, 0)), [[1.0]])
    assert info.value.name == "A" and info.value.found == (0, 0)
    with pytest.raises(ShapeError, match=r"B has no columns: a task has m >= 1 inputs, found shape \(1, 0\)"):
        Task([[1.0]], np.zeros((1, 0)), [[1.0]], np.zeros((0, 0)))


def test_wrong_gain_shape():
    task = Task(np.eye(2), np.ones((2, 1)), np.eye(2), np.eye(1))
    with pytest.raises(ShapeError, match=r"K: expected shape \(1, 2\), found \(2, 1\)"):
        task.cost(np.ones((2, 1)))


@pytest.mark.parametrize("method", ["cost", "gradient", "P", "Sigma", "E"])
def test_non_stabilizing_gain(method):
    task = scalar_task(a=2.0)
    with pytest.raises(NotStabilizingError, match=r"rho\(A - B K\) == 1.5, must be < 1") as info:
        getattr(task, method)([[0.5]])
    assert info.value.rho == pytest.approx(1.5)
    assert not task.is_stabilizing([[0.5]])
    assert task.spectral_radius([[0.5]]) == pytest.approx(1.5)


def test_marginally_stable_gain_is_not_stabilizing():
    with pytest.raises(NotStabilizingError, match="rho"):
        scalar_task(a=1.0).cost([[0.0]])


def test_unstabilizable_pair():
    # mode 1.5 of A is not reached by B = e_1
    task = Task(np.diag([0.5, 1.5]), [[1.0], [0.0]], np.eye(2), [[1.0]])
    assert not task.is_stabilizable()
    with pytest.raises(NotStabilizableError, match=r"lambda == 1.5.* is not controllable") as info:
        task.optimal_gain()
    assert info.value.eigenvalue == pytest.approx(1.5)
    with pytest.raises(NotStabilizableError):
        task.optimal_cost()


@pytest.mark.parametrize("a, b", [(2.0, 1e-11), (1e11, 1.0), (2.0, 1e-8), (2.0, 1e-200), (1e100, 1.0)])
def test_scaled_controllable_pairs_are_stabilizable(a, b):
    """Issue 13, item 9: the PBH test is relative to ||A|| and B's columns."""
    task = Task([[a]], [[b]], [[1.0]], [[1.0]])
    assert task.is_stabilizable()
    try:
        K = task.optimal_gain()
    except SolverError as exc:  # never NotStabilizableError
        assert exc.status == "badly scaled"
        assert "(A, B) is stabilizable, but the problem is badly scaled: ||A|| == " in str(exc)
        assert f"> {BADLY_SCALED:g}" in str(exc)
    else:
        assert task.is_stabilizing(K)


def test_large_dynamics_with_unit_input_solve():
    task = Task([[1e11]], [[1.0]], [[1.0]], [[1.0]])
    assert task.optimal_gain()[0, 0] == pytest.approx(1e11, rel=1e-9) and task.is_stabilizing(task.optimal_gain())


def test_tiny_input_is_reported_as_badly_scaled():
    with pytest.raises(SolverError, match=r"badly scaled: \|\|A\|\| == 2 and sqrt\(\|\|B R\^-1 B\^T\|\| \|\|Q\|\|\) == 1e-11 ") as info:
        Task([[2.0]], [[1e-11]], [[1.0]], [[1.0]]).optimal_gain()
    assert info.value.status == "badly scaled"


@given(st.integers(1, 3).flatmap(lambda n: st.integers(1, 2).flatmap(lambda m: lqr_st.stabilizable_pairs(n, m))),
       st.integers(-12, 12))
def test_stabilizability_does_not_depend_on_the_scale_of_B(pair, k):
    A, B = pair
    scaled = Task(A, B * 10.0**k, np.eye(len(A)), np.eye(B.shape[1]))
    assert scaled.is_stabilizable() and Task(A, B, np.eye(len(A)), np.eye(B.shape[1])).is_stabilizable()
    try:
        assert scaled.is_stabilizing(scaled.optimal_gain())
    except SolverError as exc:
        assert exc.status == "badly scaled"


@given(st.integers(0, 2), st.floats(1.05, 3.0), st.booleans(), st.integers(0, 2**32 - 1), st.integers(-12, 12))
def test_an_uncontrollable_unstable_mode_stays_uncontrollable_at_every_scale(r, mode, flip, seed, k):
    # A = U [[A11, A12], [0, mode]] U^T and B = U [[B1], [0]]: the mode is not reached by B
    rng = np.random.default_rng(seed)
    n = r + 1
    upper = np.zeros((n, n))
    upper[:r, :] = rng.uniform(-1, 1, (r, n))
    upper[r, r] = -mode if flip else mode
    U = np.linalg.qr(rng.standard_normal((n, n)))[0]
    B = U @ np.vstack([rng.uniform(-2, 2, (r, 1)), np.zeros((1, 1))])
    task = Task(U @ upper @ U.T, B * 10.0**k, np.eye(n), [[1.0]])
    assert not task.is_stabilizable()
    with pytest.raises(NotStabilizableError):
        task.optimal_gain()


def test_unobservable_mode_on_the_unit_circle_has_no_stabilizing_riccati_solution():
    # (A, B) stabilizable, but the mode 1 is invisible in Q = 0: the DARE solution is P = 0,
    # whose gain K = 0 leaves rho = 1
    task = Task([[1.0]], [[1.0]], [[0.0]], [[1.0]])
    assert task.is_stabilizable()
    with pytest.raises(SolverError, match="does not stabilize|no stabilizing solution") as info:
        task.optimal_gain()
    assert info.value.status in ("not stabilizing", "failed")


def test_unobservable_unstable_mode_off_the_circle_still_has_an_optimum():
    # A = 2, Q = 0: p^2 - 3p = 0, the stabilizing solution p = 3, K = 1.5, closed loop 0.5
    task = Task([[2.0]], [[1.0]], [[0.0]], [[1.0]])
    assert task.optimal_cost() == pytest.approx(3.0, rel=1e-12)
    assert task.optimal_gain()[0, 0] == pytest.approx(1.5, rel=1e-12)


def test_badly_scaled_input_gets_a_checked_riccati_solution():
    # scipy's balanced DARE returns P = 0 here (with a RuntimeWarning); the residual check
    # rejects it and the unbalanced solve gives P = Q = 0.1 (A = 0).
    task = Task([[0.0]], [[5e-81]], [[0.1]], [[1.1]], [[0.2]])
    assert task.optimal_cost() == pytest.approx(0.1 * 0.2, rel=1e-12)
    assert task.riccati_residual(np.zeros((1, 1))) == pytest.approx(1.0)
