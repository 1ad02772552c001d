"""Tests of ltijepa.chapters.multitask_lqr at tiny sizes: shapes, consistency, errors."""

import dataclasses

import numpy as np
import pytest

from ltijepa.chapters.multitask_lqr import (
    BOUNDS,
    Config,
    scalar_pair_check,
    bounds_along_path,
    collection_study,
    fixed_step_run,
    path_example,
    path_indices,
    random_family_checks,
    settings_sweep,
    step_key,
)
from ltijepa.errors import NotStabilizingError, ParameterError
from ltijepa.lqr import Task
from ltijepa.lqr.families import sample_pendulums, sample_unicycles
from ltijepa.multitask.gradient_bounds import BisimConfig
from ltijepa.multitask.objective import common_optimum, find_common_stabilizer
from ltijepa.multitask.performance import check_upper_bound

TINY = dataclasses.replace(
    Config(), random_families=2, family_dims=(2, 1), family_path_points=2,
    bisim=BisimConfig(refine=1),
)


def test_profiles_resolve_the_sizes():
    ci, full = Config.for_profile("ci"), Config.for_profile("full")
    assert ci.random_families >= 20 and full.random_families >= 200
    assert (full.pendulum_collections, full.unicycle_collections) == (100, 75)
    with pytest.raises(ParameterError, match="profile == 'fast'"):
        Config.for_profile("fast")


def test_scalar_counterexample_check_holds_and_can_fail():
    alphas, gains = np.array([0.6, 0.95, 1.05, 2.0]), np.linspace(-4, 4, 801)
    check = scalar_pair_check(alphas, gains)
    assert check.holds
    np.testing.assert_array_equal(check.overlap, [True, True, False, False])
    np.testing.assert_allclose(check.min_max_rho, alphas)  # min_K (alpha + |K|) at K = 0
    # a perturbed input: two identical systems always share a stabilizing gain
    same = scalar_pair_check(alphas, gains, pair=lambda a: [Task([[a]], [[1.0]], [[1.0]], [[1.0]])] * 2)
    assert not same.holds and same.overlap.all()


def test_path_indices_include_both_ends():
    assert path_indices(0, 5).tolist() == [0]
    idx = path_indices(1000, 6)
    assert idx[0] == 0 and idx[-1] == 1000 and np.all(np.diff(idx) > 0)
    with pytest.raises(ParameterError, match="points == 1"):
        path_indices(10, 1)


def test_bounds_along_path_are_consistent():
    tasks = sample_unicycles(3, 0)
    solution = common_optimum(tasks, iterations=300, tol=1e-6)
    path = bounds_along_path(tasks, solution.history, points=3, config=TINY.bisim)
    P = len(path.iterations)
    assert path.g.shape == path.b.shape == (P, 3, 3) and path.b_i.shape == (P, 3)
    g, b = path.pairs()
    assert g.size == 3 * P and check_upper_bound(g, b).holds
    assert np.all(path.f_het >= path.g.max(axis=(1, 2)))
    assert np.all(path.f_het_cost >= path.f_het)
    np.testing.assert_allclose(path.b_i, path.b.sum(axis=2) / 3)


def test_fixed_step_run_reports_divergence_and_refuses_a_bad_start():
    tasks = sample_pendulums(6, 0)
    K0 = find_common_stabilizer(tasks).K
    run = fixed_step_run(tasks, K0, step=0.01, iterations=5)
    assert run.diverged and run.error.startswith("iteration 1: K does not stabilize task")
    assert "(step == 0.01 leaves the stabilizing set; take a smaller step, or step=None)" in run.error
    small = fixed_step_run(tasks, K0, step=1e-6, iterations=3)
    assert not small.diverged and small.history.iterations == 3
    with pytest.raises(NotStabilizingError, match=r"^K0 does not stabilize task \d: rho\(A_\d - B_\d K0\) == [\d.]+, must be < 1$"):
        fixed_step_run(tasks, np.zeros((1, 2)), step=0.01, iterations=5)


def test_path_example_draws_the_setting_and_scales_with_sigma0():
    """The example at Sigma0 = s I is the Sigma0 = I one on the same draw with every number times s
    (K_* and the path's gains do not move; the backtracking step is scale-invariant up to tol)."""
    small = dataclasses.replace(TINY, path_points=2, fixed_step_iterations=3, pg_iterations=300)
    unit = path_example(sample_pendulums, 4, small, size=2, dt=0.02, sigma0=1.0)
    tenth = path_example(sample_pendulums, 4, small, size=2, dt=0.02, sigma0=0.1)
    assert tenth.setting == {"dt": 0.02, "N": 2, "sigma0": 0.1}
    assert all(np.array_equal(t.Sigma0, 0.1 * np.eye(2)) for t in tenth.tasks)
    np.testing.assert_array_equal(unit.tasks[0].A, tenth.tasks[0].A)
    assert unit.tasks[0].A[0, 1] == 0.02 and tenth.gaps.shape[1] == 2
    np.testing.assert_allclose(tenth.run.K, unit.run.K, atol=1e-4)
    np.testing.assert_allclose(tenth.path.f_het[-1], 0.1 * unit.path.f_het[-1], rtol=1e-3)
    np.testing.assert_allclose(tenth.gaps[-1], 0.1 * unit.gaps[-1], rtol=1e-2, atol=1e-9)
    g, b = tenth.path.pairs()
    assert check_upper_bound(g, b).holds
    with pytest.raises(ParameterError, match="sigma0"):
        path_example(sample_pendulums, 4, small, size=2, dt=0.02, sigma0=0.0)


def test_random_family_checks_hold():
    checks = random_family_checks(0, TINY)
    assert checks.families == 2 and checks.g.shape == checks.b.shape == checks.family.shape
    assert set(checks.family.tolist()) == {0, 1}
    assert check_upper_bound(checks.g, checks.b).holds


def test_collection_study_shapes_and_bounds():
    study = collection_study(sample_pendulums, 3, 2, 0, TINY)
    assert study.max_b_i.shape == study.f_het.shape == (2,) and study.gaps.shape == (2, 3)
    assert 0.0 < study.reduction() < 1.0 and study.reduction("cost") >= study.reduction()
    assert check_upper_bound(study.gaps, study.gap_bounds).holds
    assert np.all(study.f_het >= study.max_g)
    with pytest.raises(ParameterError, match="size == 1"):
        collection_study(sample_pendulums, 1, 2, 0, TINY)


def test_collections_are_independent_items_with_their_own_generators():
    """collection_study through ltijepa.parallel.map (local processes here) equals the plain
    loop over the children of the seed: where a collection runs does not change it."""
    from ltijepa.chapters.multitask_lqr import _one_collection
    from ltijepa.parallel import item_generators

    study = collection_study(sample_pendulums, 3, 3, 7, TINY)
    loop = [_one_collection(sample_pendulums, 3, 4, TINY, c, rng) for c, rng in enumerate(item_generators(7, 3))]
    np.testing.assert_array_equal(study.gaps, [row["gaps"] for row, _ in loop])
    np.testing.assert_array_equal(study.f_het, [row["f_het"] for row, _ in loop])
    # b_i comes from an SDP that the solver warm-starts from the previous solve of the same
    # process: the same certificate to the solver's accuracy, not bit for bit
    np.testing.assert_allclose(study.max_b_i, [row["max_b_i"] for row, _ in loop], rtol=1e-6)
    assert study.skipped == sum(skipped for _, skipped in loop)


def test_collection_study_compares_the_three_bounds_on_every_pair():
    study = collection_study(sample_pendulums, 3, 2, 1, TINY)
    assert study.pair_g.shape == (2, 3)
    for name in BOUNDS:
        assert study.pair_bounds[name].shape == (2, 3)
        assert check_upper_bound(study.pair_g, study.pair_bounds[name]).holds
    assert np.all(study.pair_bounds["tight"] <= study.pair_bounds["authors"] * (1 + 1e-6))
    assert set(study.fixed_step_stable) == {step_key(r, s) for r in TINY.sweep_starts for s in TINY.sweep_sigma0}


def test_settings_sweep_scales_with_sigma0_and_names_what_it_reproduces():
    config = dataclasses.replace(TINY, sweep_dts=(0.05,), sweep_sizes=(2,), sweep_sigma0=(1.0, 0.1),
                                 sweep_collections=2, sweep_step_iterations=5)
    sweep = settings_sweep(0, config)
    assert [(r["dt"], r["N"], r["sigma0"]) for r in sweep.rows] == [(0.05, 2, 1.0), (0.05, 2, 0.1)]
    at_one, at_tenth = sweep.rows
    assert at_tenth["f_het"] == pytest.approx(0.1 * at_one["f_het"])
    assert at_tenth["gap"] == pytest.approx(0.1 * at_one["gap"])
    assert at_tenth["ratio"] == pytest.approx(at_one["ratio"])
    assert at_tenth["authors_squared_ratio"] == pytest.approx(0.1 * at_one["authors_squared_ratio"])
    hits = sweep.reproduces(at_tenth)
    assert set(hits) == {"f_het", "b_i", "gap", "step", "ratio"}
    assert hits["gap"] == (at_tenth["gap"] < 0.15)
    assert sweep.best() in sweep.rows


def test_sigma0_scaling_of_the_sweep_is_exact_on_a_direct_computation():
    """The sweep scales g, the bounds, f_het and the gaps by s instead of recomputing: compare
    with a direct computation at Sigma0 = 0.1 I on the same tasks and gain."""
    from ltijepa.multitask.epsilon_baseline import epsilon_bound
    from ltijepa.multitask.gradient_bounds import pairwise_bisimulation_bounds
    from ltijepa.multitask.lifted_bounds import pairwise_lifted_bounds
    from ltijepa.multitask.objective import optimality_gaps

    tasks = sample_pendulums(3, 3)
    scaled = [Task(t.A, t.B, t.Q, t.R, 0.1 * t.Sigma0) for t in tasks]
    K = common_optimum(tasks, iterations=500, tol=1e-6).K
    config = BisimConfig(lam_fraction=0.5)
    np.testing.assert_allclose(pairwise_bisimulation_bounds(scaled, K, config=config).b,
                               0.1 * pairwise_bisimulation_bounds(tasks, K, config=config).b, rtol=1e-4)
    np.testing.assert_allclose(pairwise_lifted_bounds(scaled, K).b, 0.1 * pairwise_lifted_bounds(tasks, K).b, rtol=1e-4)
    assert epsilon_bound(scaled, K, norms="cost").value == pytest.approx(0.1 * epsilon_bound(tasks, K, norms="cost").value)
    np.testing.assert_allclose(optimality_gaps(scaled, K), 0.1 * optimality_gaps(tasks, K), rtol=1e-8)
