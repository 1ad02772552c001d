"""Performance bounds (Theorems 2-3 as in the talk) and the check that decides them."""

import numpy as np
import pytest
from hypothesis import given, settings

from ltijepa.errors import ParameterError, ShapeError
from ltijepa.multitask.gradient_bounds import BisimConfig, pairwise_bisimulation_bounds
from ltijepa.lqr.families import sample_pendulums, sample_unicycles
from ltijepa.multitask.objective import common_optimum, optimality_gaps
from ltijepa.multitask.performance import (
    DERIVED_CONSTANT,
    TALK_GENERAL_CONSTANT,
    TALK_PG_CONSTANT,
    check_upper_bound,
    gap_bound,
)
from ltijepa.testing import lqr as lqr_st


@settings(max_examples=60)
@given(lqr_st.tasks_with_gains())
def test_gradient_domination_with_constant_one_quarter(task_and_gain):
    """C(K) - C* <= ||Sigma_K*|| ||grad C(K)||_F^2 / (4 mu^2 sigma_min(R)) (our derivation)."""
    task, K = task_and_gain
    gap = task.cost(K) - task.optimal_cost()
    bound = gap_bound([task], [np.linalg.norm(task.gradient(K))], constant=DERIVED_CONSTANT)[0]
    assert gap <= bound * (1 + 1e-8) + 1e-9 * task.optimal_cost()


@pytest.mark.parametrize("sampler", [sample_pendulums, sample_unicycles])
def test_gap_bound_holds_at_the_common_optimum(sampler):
    tasks = sampler(4, 11)
    solution = common_optimum(tasks, iterations=3000, tol=1e-7)
    b_i = pairwise_bisimulation_bounds(tasks, solution.K, config=BisimConfig(refine=2)).b_i()
    gaps = optimality_gaps(tasks, solution.K)
    for constant in (DERIVED_CONSTANT, TALK_PG_CONSTANT, TALK_GENERAL_CONSTANT):
        bound = gap_bound(tasks, b_i, constant=constant, residual=solution.grad_norm)
        assert check_upper_bound(gaps, bound).holds
    # the step behind it: ||grad C_i(K)|| <= r + b_i
    norms = np.linalg.norm([t.gradient(solution.K) for t in tasks], axis=(1, 2))
    assert np.all(norms <= solution.grad_norm + b_i)


def test_gap_bound_scales_with_the_constant_and_b_squared():
    tasks = sample_pendulums(2, 1)
    base = gap_bound(tasks, [1.0, 2.0], constant=1.0)
    np.testing.assert_allclose(base[1] / base[0] * 0.25, gap_bound(tasks, [1.0, 1.0], constant=1.0)[1] / base[0])
    np.testing.assert_allclose(gap_bound(tasks, [1.0, 2.0], constant=2.0), 2 * base)
    np.testing.assert_allclose(gap_bound(tasks, [0.0, 1.0], constant=1.0, residual=1.0)[0], base[0])


def test_check_upper_bound_fails_on_a_perturbed_bound():
    values, bounds = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 30.0])
    assert check_upper_bound(values, bounds).holds
    assert check_upper_bound(values, bounds).max_ratio == pytest.approx(1.0)
    broken = check_upper_bound(values, bounds * 0.99)
    assert not broken.holds and broken.violations == 1 and broken.checked == 3
    assert check_upper_bound([1.0], [np.inf]).holds  # an infinite bound holds trivially
    assert check_upper_bound([0.0], [0.0]).holds and not check_upper_bound([1e-3], [0.0]).holds


def test_bad_inputs_raise_specific_errors():
    tasks = sample_pendulums(2, 1)
    with pytest.raises(ShapeError, match=r"b_i: expected shape \(2,\), found \(3,\)"):
        gap_bound(tasks, [1.0, 1.0, 1.0])
    with pytest.raises(ParameterError, match="must be >= 0"):
        gap_bound(tasks, [1.0, np.nan])
    with pytest.raises(ParameterError, match="constant == 0"):
        gap_bound(tasks, [1.0, 1.0], constant=0)
    with pytest.raises(ParameterError, match="residual == -1"):
        gap_bound(tasks, [1.0, 1.0], residual=-1)
    with pytest.raises(ShapeError, match=r"shapes differ, \(2,\) and \(3,\)"):
        check_upper_bound([1, 2], [1, 2, 3])
    with pytest.raises(ParameterError, match="NaN"):
        check_upper_bound([np.nan], [1.0])


def test_a_too_small_or_broken_gap_bound_is_caught():
    tasks = sample_pendulums(3, 2)
    solution = common_optimum(tasks, iterations=3000, tol=1e-7)
    b_i = pairwise_bisimulation_bounds(tasks, solution.K, config=BisimConfig(refine=1)).b_i()
    gaps = optimality_gaps(tasks, solution.K)
    check = check_upper_bound(gaps, gap_bound(tasks, b_i, residual=solution.grad_norm))
    assert check.holds and 0 < check.max_ratio < 1
    too_small = gap_bound(tasks, b_i, constant=TALK_GENERAL_CONSTANT * check.max_ratio / 2,
                          residual=solution.grad_norm)
    assert not check_upper_bound(gaps, too_small).holds
    forgot_b_i = gap_bound(tasks, np.zeros(3), residual=solution.grad_norm)  # a plausible bug
    assert not check_upper_bound(gaps, forgot_b_i).holds


def test_constant_divided_by_the_measured_slack_is_caught():
    """The check of Theorems 2-3 fails once the constant is divided by (a little more than)
    the slack it held with on the same tasks: it is as sensitive as its printed tightness."""
    tasks = sample_pendulums(3, 2)
    solution = common_optimum(tasks, iterations=2000, tol=1e-6)
    b_i = pairwise_bisimulation_bounds(tasks, solution.K, config=BisimConfig(refine=1)).b_i()
    gaps = optimality_gaps(tasks, solution.K)
    for constant in (TALK_GENERAL_CONSTANT, TALK_PG_CONSTANT, DERIVED_CONSTANT):
        check = check_upper_bound(gaps, gap_bound(tasks, b_i, constant=constant, residual=solution.grad_norm))
        assert check.holds and check.max_ratio < 1
        shrunk = constant * check.max_ratio / 1.01
        assert not check_upper_bound(gaps, gap_bound(tasks, b_i, constant=shrunk, residual=solution.grad_norm)).holds
