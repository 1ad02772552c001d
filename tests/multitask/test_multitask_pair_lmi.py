"""The pair's conic data handed to Clarabel: svec conventions, equal to the cvxpy reference, fallback."""

from dataclasses import replace

import cvxpy as cp
import numpy as np
import pytest
import scipy.linalg
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ltijepa.errors import DataError, ParameterError, ShapeError
from ltijepa.lqr.families import sample_pendulums, sample_unicycles, scalar_pair
from ltijepa.multitask import pair_lmi
from ltijepa.multitask.gradient_bounds import (
    BisimConfig,
    _closed_loops_and_E,
    build_bisimulation_program,
    output_matrix,
    pairwise_bisimulation_bounds,
)
from ltijepa.multitask.objective import find_common_stabilizer
from ltijepa.multitask.pair_lmi import bisimulation_pair_program, svec, symmetric_basis
from ltijepa.testing import lqr as lqr_st

FAST = BisimConfig(refine=2)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 5).flatmap(lambda n: st.tuples(lqr_st.psd_matrices(n), lqr_st.psd_matrices(n))))
def test_svec_is_an_isometry_and_the_basis_spans_the_symmetric_matrices(pair):
    X, Y = pair
    assert svec(X) @ svec(Y) == pytest.approx(np.trace(X @ Y), rel=1e-12, abs=1e-12)
    cols, rows = np.tril_indices(len(X))  # the upper triangle (rows <= cols), column by column
    np.testing.assert_array_equal(np.tensordot(X[rows, cols], symmetric_basis(len(X)), axes=1), X)


def _normalised_pair(tasks, K, i, j):
    closed, E = _closed_loops_and_E(tasks, K)
    A = scipy.linalg.block_diag(closed[i], closed[j])
    C = output_matrix(E[i], E[j])
    Z0 = scipy.linalg.block_diag(tasks[i].Sigma0, tasks[j].Sigma0)
    return A, C / np.linalg.norm(C, 2), Z0 / np.linalg.norm(Z0, 2)


@pytest.mark.parametrize("sampler, seed", [(sample_pendulums, 0), (sample_pendulums, 3), (sample_unicycles, 1)])
def test_direct_program_has_the_optimum_of_the_cvxpy_program(sampler, seed):
    """Same optimum u at every lam: the N x N cones are the Schur complements of cvxpy's blocks."""
    tasks = sampler(3, seed)
    K = find_common_stabilizer(tasks).K
    reference = build_bisimulation_program(tasks[0].n, tasks[0].m)
    for i, j in ((0, 1), (1, 2)):
        A, C, Z0 = _normalised_pair(tasks, K, i, j)
        direct = bisimulation_pair_program(A, C, Z0, 1e-8)
        for name in ("indices", "indptr"):  # solve() adds the data vectors entry by entry
            np.testing.assert_array_equal(getattr(direct.A_0, name), getattr(direct.A_1, name))
        reference.A.value, reference.C.value, reference.Z0.value = A, C, Z0
        lam_max = 1.0 - max(abs(np.linalg.eigvals(A))) ** 2
        for fraction in (0.2, 0.6, 0.9):
            M, status = direct.solve(1.0 - fraction * lam_max)
            reference.one_minus_lam.value = 1.0 - fraction * lam_max
            reference.solve()
            assert status == "optimal"
            u = float(np.trace(M @ Z0)) ** 2 / np.linalg.eigvalsh(M)[0]  # u = t^2 / s at the optimum
            assert u == pytest.approx(reference.u.value, rel=1e-6)


@st.composite
def normalised_data(draw):
    """(A, C, Z0) of the program for N = 2n <= 6 (any A, not only block-diagonal): A of
    spectral radius in [0.3, 0.95], C and Z0 > 0 of unit norm, and a fraction of (0, 1 - rho^2)."""
    N, p = 2 * draw(st.integers(1, 3)), draw(st.integers(1, 3))
    A = draw(lqr_st.matrices(N, N, bound=1.0))
    C = draw(lqr_st.matrices(p, N, bound=1.0))
    assume(np.linalg.norm(C, 2) > 1e-3)
    rho = max(abs(np.linalg.eigvals(A)))
    assume(rho > 1e-3)
    Z0 = draw(lqr_st.pd_matrices(N))
    A = A * draw(st.floats(0.3, 0.95)) / rho
    return A, C / np.linalg.norm(C, 2), Z0 / np.linalg.norm(Z0, 2), draw(st.floats(0.1, 0.9))


@settings(max_examples=25, deadline=None)
@given(normalised_data())
def test_direct_optimum_equals_the_cvxpy_optimum_on_random_data(data):
    A, C, Z0, fraction = data
    one_minus_lam = 1.0 - fraction * (1.0 - max(abs(np.linalg.eigvals(A))) ** 2)
    M, status = bisimulation_pair_program(A, C, Z0, 1e-8).solve(one_minus_lam)
    reference = build_bisimulation_program(len(A) // 2, C.shape[0])
    reference.A.value, reference.C.value, reference.Z0.value = A, C, Z0
    reference.one_minus_lam.value = one_minus_lam
    assume(reference.solve() == "optimal" and status == "optimal")
    u = float(np.trace(M @ Z0)) ** 2 / max(np.linalg.eigvalsh(M)[0], 1e-8)
    assert u == pytest.approx(reference.u.value, rel=1e-6)


@pytest.mark.parametrize("sampler, seed", [(sample_pendulums, 1), (sample_unicycles, 2)])
def test_certified_bounds_equal_the_cvxpy_reference(sampler, seed):
    tasks = sampler(4, seed)
    K = find_common_stabilizer(tasks).K
    direct = pairwise_bisimulation_bounds(tasks, K, config=FAST)
    reference = pairwise_bisimulation_bounds(tasks, K, config=replace(FAST, solver="cvxpy"))
    assert direct.feasible
    np.testing.assert_allclose(direct.b, reference.b, rtol=1e-6)
    assert all(r.status == "optimal" for r in direct.results.values())


def test_a_failed_direct_solve_falls_back_to_scs(monkeypatch):
    """Where Clarabel returns no solution the cvxpy program is solved by SCS (not Clarabel again)."""
    pair, K, config = scalar_pair(0.5), [[0.0]], BisimConfig(lam_fraction=0.5)
    solvers, real_solve = [], cp.Problem.solve
    monkeypatch.setattr(cp.Problem, "solve", lambda self, **options: solvers.append(options["solver"])
                        or real_solve(self, **options))
    monkeypatch.setattr(pair_lmi.PairLMIProgram, "solve", lambda self, one_minus_lam: (None, "Clarabel: NumericalError"))
    result = pairwise_bisimulation_bounds(pair, K, config=config).results[0, 1]
    monkeypatch.undo()
    assert solvers == [cp.SCS]
    exact = pairwise_bisimulation_bounds(pair, K, config=config).results[0, 1]
    assert result.feasible and result.status == "optimal"
    assert result.value == pytest.approx(exact.value, rel=1e-3)  # SCS's tolerance, certified all the same
    assert result.value >= np.linalg.norm(pair[0].gradient(K) - pair[1].gradient(K))


def test_unknown_solver_is_refused():
    with pytest.raises(ParameterError, match=r"solver == 'mosek', must be one of \('clarabel', 'cvxpy'\)"):
        BisimConfig(solver="mosek")


def test_bad_pair_data_raise_specific_errors():
    A, C, Z0 = np.eye(2) / 2, np.ones((1, 2)), np.eye(2)
    with pytest.raises(ShapeError, match=r"A: expected shape \(2, 2\), found \(2, 3\)"):
        bisimulation_pair_program(np.ones((2, 3)), C, Z0, 1e-8)
    with pytest.raises(ShapeError, match=r"C: expected shape \('\*', 2\), found \(1, 3\)"):
        bisimulation_pair_program(A, np.ones((1, 3)), Z0, 1e-8)
    with pytest.raises(ShapeError, match=r"Z0: expected shape \(2, 2\), found \(3, 3\)"):
        bisimulation_pair_program(A, C, np.eye(3), 1e-8)
    with pytest.raises(DataError, match="C has non-finite entries"):
        bisimulation_pair_program(A, np.array([[1.0, np.nan]]), Z0, 1e-8)
    with pytest.raises(ParameterError, match="s_min == 0"):
        bisimulation_pair_program(A, C, Z0, 0.0)
