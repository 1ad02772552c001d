"""Gradient-space bisimulation bounds: validity g_ij <= b_ij, the certificate, DPP, errors."""

import math

import numpy as np
import pytest
import scipy.linalg
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ltijepa.errors import NotStabilizingError, ParameterError, ShapeError, SolverError
from ltijepa.lqr import Task
from ltijepa.multitask import gradient_bounds as bb
from ltijepa.multitask.gradient_bounds import (
    BisimConfig,
    average_bounds,
    bisimulation_bound,
    build_bisimulation_program,
    output_matrix,
    pairwise_bisimulation_bounds,
)
from ltijepa.lqr.families import sample_pendulums, scalar_pair
from ltijepa.multitask.heterogeneity import gradient_heterogeneity
from ltijepa.multitask.objective import find_common_stabilizer
from ltijepa.multitask.performance import check_upper_bound
from ltijepa.testing import lqr as lqr_st

FAST = BisimConfig(refine=2)


@st.composite
def pairs_with_gain(draw):
    """Two tasks of equal sizes, the second a perturbation of the first, and a gain
    stabilizing both (u = -K x)."""
    task, K = draw(lqr_st.tasks_with_gains(max_n=3, max_m=2))
    dA = draw(lqr_st.matrices(task.n, task.n, bound=0.2))
    dB = draw(lqr_st.matrices(task.n, task.m, bound=0.2))
    scale = draw(st.floats(0.5, 2.0))
    other = Task(task.A + dA, task.B + dB, scale * task.Q, task.R / scale, task.Sigma0)
    rho = other.spectral_radius(K)
    assume(rho < 0.99)
    return task, other, K


@settings(max_examples=25)
@given(pairs_with_gain(), st.sampled_from(bb.OUTPUTS))
def test_bound_dominates_the_gradient_gap(pair, output):
    task_i, task_j, K = pair
    result = bisimulation_bound(task_i, task_j, K, config=BisimConfig(output=output, refine=2))
    g = np.linalg.norm(task_i.gradient(K) - task_j.gradient(K))
    assert result.feasible, result.status
    assert g <= result.value * (1 + 1e-8)


@settings(max_examples=15)
@given(pairs_with_gain())
def test_certificate_satisfies_the_lmis_exactly(pair):
    """The returned (M, lam) satisfy (17a) and (17b) in float64, not only to solver tolerance."""
    task_i, task_j, K = pair
    result = bisimulation_bound(task_i, task_j, K, config=FAST)
    A = scipy.linalg.block_diag(task_i.closed_loop(K), task_j.closed_loop(K))
    C = output_matrix(task_i.E(K), task_j.E(K))
    if not C.any():  # both tasks at their optimum with equal E = 0: b = 0, nothing to certify
        assert result.value == 0.0 and result.status == "zero output"
        return
    M, lam = result.M, result.lam
    scale = np.linalg.norm(M, 2)
    assert np.linalg.eigvalsh(M - C.T @ C).min() >= -1e-9 * scale
    assert np.linalg.eigvalsh((1 - lam) * M - A.T @ M @ A).min() >= -1e-9 * scale
    assert 0 < lam < result.lam_max * (1 + 1e-9)
    Z0 = scipy.linalg.block_diag(task_i.Sigma0, task_j.Sigma0)
    value = math.sqrt(2) * np.trace(M @ Z0) / (lam * math.sqrt(np.linalg.eigvalsh(M)[0]))
    assert result.value == pytest.approx(value, rel=1e-9)


@settings(max_examples=10)
@given(pairs_with_gain(), st.floats(0.1, 10.0))
def test_bound_is_linear_in_the_initial_covariance(pair, c):
    task_i, task_j, K = pair
    scaled = [Task(t.A, t.B, t.Q, t.R, c * t.Sigma0) for t in (task_i, task_j)]
    config = BisimConfig(lam_fraction=0.5)
    base = bisimulation_bound(task_i, task_j, K, config=config).value
    assert bisimulation_bound(*scaled, K, config=config).value == pytest.approx(c * base, rel=1e-4)


def test_bound_is_symmetric_in_the_pair():
    tasks = sample_pendulums(2, 3)
    K = find_common_stabilizer(tasks).K
    config = BisimConfig(lam_fraction=0.7)
    forward = bisimulation_bound(tasks[0], tasks[1], K, config=config).value
    backward = bisimulation_bound(tasks[1], tasks[0], K, config=config).value
    assert forward == pytest.approx(backward, rel=1e-5)


def test_search_is_no_worse_than_any_fixed_lambda():
    tasks = sample_pendulums(2, 4)
    K = find_common_stabilizer(tasks).K
    searched = bisimulation_bound(*tasks, K).value
    for fraction in (0.25, 0.5, 0.9):
        fixed = bisimulation_bound(*tasks, K, config=BisimConfig(lam_fraction=fraction)).value
        assert searched <= fixed * (1 + 1e-6)


def test_scalar_pair_matches_a_hand_check():
    """x' = +-0.5 x + u at K = 0: the bound is finite and above g = 32/9."""
    pair = scalar_pair(0.5)
    result = bisimulation_bound(*pair, [[0.0]])
    assert gradient_heterogeneity(pair, [[0.0]])[0, 1] == pytest.approx(32 / 9)
    assert 32 / 9 <= result.value < 1e3
    assert result.lam_max == pytest.approx(0.75)


def test_zero_output_gives_zero_bound():
    """Two identical tasks at their common optimum: E = 0, so C = 0 and b = g = 0."""
    task = Task([[1.2]], [[1.0]], [[1.0]], [[1.0]])
    result = bisimulation_bound(task, task, task.optimal_gain())
    assert result.value == 0.0 and result.status == "zero output"


def test_pairwise_matches_single_pairs_and_averages():
    tasks = sample_pendulums(3, 5)
    K = find_common_stabilizer(tasks).K
    pairwise = pairwise_bisimulation_bounds(tasks, K, config=FAST)
    assert pairwise.feasible
    np.testing.assert_array_equal(pairwise.b, pairwise.b.T)
    np.testing.assert_array_equal(np.diag(pairwise.b), 0.0)
    single = bisimulation_bound(tasks[0], tasks[2], K, config=FAST).value
    assert pairwise.b[0, 2] == pytest.approx(single, rel=1e-6)
    np.testing.assert_allclose(pairwise.b_i(), pairwise.b.sum(axis=1) / 3)
    np.testing.assert_allclose(pairwise.b_i("M-1"), pairwise.b.sum(axis=1) / 2)
    assert check_upper_bound(gradient_heterogeneity(tasks, K), pairwise.b).holds


def test_a_too_small_bound_is_caught():
    """The theorem check can fail: shrink the bound of one pair below its gap."""
    tasks = sample_pendulums(3, 6)
    K = find_common_stabilizer(tasks).K
    g, b = gradient_heterogeneity(tasks, K), pairwise_bisimulation_bounds(tasks, K, config=FAST).b
    assert check_upper_bound(g, b).holds
    shrunk = b.copy()
    shrunk[0, 1] = shrunk[1, 0] = 0.99 * g[0, 1]
    check = check_upper_bound(g, shrunk)
    assert not check.holds and check.violations == 2 and check.max_ratio > 1


def test_a_broken_bound_is_caught(monkeypatch):
    """A plausible bug, reporting V(Z0) instead of V(Z0) / lam, violates g <= b on pendulums."""

    def certify_without_lambda(M, A, C, Z0):
        value, M, lam = real_certify(M, A, C, Z0)
        return value * lam, M, lam

    real_certify = bb._certify
    tasks = sample_pendulums(4, 0)
    K = find_common_stabilizer(tasks).K
    g = gradient_heterogeneity(tasks, K)
    monkeypatch.setattr(bb, "_certify", certify_without_lambda)
    broken = pairwise_bisimulation_bounds(tasks, K, config=FAST).b
    assert not check_upper_bound(g, broken).holds


def test_program_is_dpp_and_reused():
    program = build_bisimulation_program(2, 1)
    assert program.problem.is_dpp()
    tasks = sample_pendulums(3, 7)
    K = find_common_stabilizer(tasks).K
    a = pairwise_bisimulation_bounds(tasks, K, config=BisimConfig(refine=2, solver="cvxpy"), program=program)
    b = pairwise_bisimulation_bounds(tasks, K, config=FAST)  # the direct Clarabel data
    np.testing.assert_allclose(a.b, b.b, rtol=1e-6)


def test_non_dpp_problem_is_refused(monkeypatch):
    monkeypatch.setattr(bb.cp.Problem, "is_dpp", lambda self, *args: False)
    with pytest.raises(SolverError, match="not DPP"):
        build_bisimulation_program(2, 1)


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
def test_numerically_infeasible_pair_is_marked_infeasible():
    """A stabilized but extremely non-normal pair: no certified M, so inf, not a number."""
    A = np.array([[0.999, 1e4], [0.0, 0.999]])
    task_i = Task(A, np.eye(2), np.eye(2), np.eye(2))
    task_j = Task(A / 2, np.eye(2), np.eye(2), np.eye(2))
    result = bisimulation_bound(task_i, task_j, np.zeros((2, 2)), config=BisimConfig(lam_fraction=0.5))
    assert result.value == math.inf and not result.feasible
    assert result.M is None and math.isnan(result.lam)
    assert result.status.startswith("infeasible at every lam")


def test_gain_not_stabilizing_one_task_names_it():
    stable, unstable = Task([[0.5]], [[1.0]], [[1.0]], [[1.0]]), Task([[3.0]], [[1.0]], [[1.0]], [[1.0]])
    with pytest.raises(NotStabilizingError, match=r"task_j: rho\(A - B K\) == 3, must be < 1") as info:
        bisimulation_bound(stable, unstable, [[0.0]])
    assert info.value.rho == pytest.approx(3.0)
    with pytest.raises(NotStabilizingError, match=r"task 1: rho\(A - B K\) == 3") as info:
        pairwise_bisimulation_bounds([stable, unstable, stable], [[0.0]])
    assert info.value.rho == pytest.approx(3.0)


def test_bad_inputs_raise_specific_errors():
    scalar = Task([[0.5]], [[1.0]], [[1.0]], [[1.0]])
    planar = Task(np.eye(2) / 2, np.ones((2, 1)), np.eye(2), [[1.0]])
    with pytest.raises(ShapeError, match=r"task_i has \(n, m\) == \(1, 1\), task_j has \(2, 1\)"):
        bisimulation_bound(scalar, planar, [[0.0]])
    with pytest.raises(ShapeError, match=r"expected shape \(1, 1\), found \(1, 2\)"):
        bisimulation_bound(scalar, scalar, [[0.0, 0.0]])
    with pytest.raises(ShapeError, match=r"program: built for A \(4, 4\) and C \(1, 4\), the pair needs A \(2, 2\)"):
        bisimulation_bound(scalar, scalar, [[0.3]], program=build_bisimulation_program(2, 1))
    with pytest.raises(ShapeError, match="need at least 2 tasks, found 1"):
        pairwise_bisimulation_bounds([scalar], [[0.0]])
    with pytest.raises(ParameterError, match="output == 'sum', must be one of"):
        BisimConfig(output="sum")
    with pytest.raises(ParameterError, match=r"lam_fraction == 1.0, must be in \(0, 1\)"):
        BisimConfig(lam_fraction=1.0)
    with pytest.raises(ParameterError, match="refine == -1"):
        BisimConfig(refine=-1)
    with pytest.raises(ParameterError, match="s_min == 0"):
        BisimConfig(s_min=0)
    with pytest.raises(ParameterError, match="n == 0, must be an integer >= 1"):
        build_bisimulation_program(0, 1)
    with pytest.raises(ParameterError, match="output == 'x'"):
        output_matrix(np.ones((1, 1)), np.ones((1, 1)), "x")
    with pytest.raises(ShapeError, match=r"expected shape \(M, M\) with M >= 2, found \(1, 1\)"):
        average_bounds(np.zeros((1, 1)))
    with pytest.raises(ParameterError, match="normalization == 'N'"):
        average_bounds(np.zeros((2, 2)), "N")


def test_output_matrix_errors_the_check_catches_and_misses(monkeypatch):
    """Our bound is at least about 2x loose (the sqrt(2), tr(M Z) >= ||C Z||_F, 1/lam), so a
    halved output matrix C still passes g <= b on the tightest scalar pair we found (g/b = 0.48),
    while a quartered one fails: the check is exactly as sensitive as its printed tightness."""
    task_i = Task([[0.2]], [[1.0]], [[1.0]], [[1.0]])
    task_j = Task([[0.2]], [[0.5]], [[1.0]], [[3.0]])
    K = [[0.05]]
    g = np.linalg.norm(task_i.gradient(K) - task_j.gradient(K))
    ratio = g / bisimulation_bound(task_i, task_j, K).value
    assert 0.45 < ratio < 0.5
    real = bb.output_matrix
    for factor, caught in ((0.5, False), (0.25, True)):
        monkeypatch.setattr(bb, "output_matrix", lambda E_i, E_j, output="difference", f=factor: f * real(E_i, E_j, output))
        assert (g > bisimulation_bound(task_i, task_j, K).value * (1 + 1e-8)) == caught
