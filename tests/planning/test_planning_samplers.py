"""CEM and MPPI: optimum of convex quadratics, batching, seeding, clamping, error paths."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ltijepa.errors import DataError, ParameterError, ShapeError
from ltijepa.planning.base import gather_sequences, sample_sequences, torch_generator
from ltijepa.planning.cem import CEMConfig, cem
from ltijepa.planning.mppi import MPPIConfig, mppi, mppi_weights

PLANNERS = [(cem, CEMConfig(samples=200, elites=20, iterations=30)), (mppi, MPPIConfig(iterations=30))]


def quadratic(target: torch.Tensor, weight: torch.Tensor):
    """c(a) = sum_t (a_t - target_b,t)^T W (a_t - target_b,t): convex, minimum 0 at target."""

    def cost(actions):
        diff = actions - target[:, None]
        return ((diff @ weight) * diff).sum((-1, -2))

    return cost


def random_problem(seed: int, batch: int = 4, horizon: int = 3, m: int = 2):
    g = torch.Generator().manual_seed(seed)
    target = 0.8 * (2 * torch.rand(batch, horizon, m, generator=g, dtype=torch.float64) - 1)
    # eigenvalues in [0.5, 2]: CEM's plain std refit collapses early on ill-conditioned
    # quadratics (condition ~20 leaves errors ~0.1 here), a known limit of the method
    Qr, _ = torch.linalg.qr(torch.randn(m, m, generator=g, dtype=torch.float64))
    eig = 0.5 + 1.5 * torch.rand(m, generator=g, dtype=torch.float64)
    weight = Qr @ torch.diag(eig) @ Qr.T
    return target, weight


@pytest.mark.parametrize("planner, config", PLANNERS, ids=["cem", "mppi"])
@given(seed=st.integers(0, 2**16))
def test_planner_finds_optimum_of_convex_quadratic(planner, config, seed):
    target, weight = random_problem(seed)
    init = torch.zeros_like(target)
    plan = planner(quadratic(target, weight), init, config=config, generator=torch_generator(seed))
    assert torch.allclose(plan.actions, target, atol=0.03)
    assert (plan.cost <= 1e-2).all()


@pytest.mark.parametrize("planner, config", PLANNERS, ids=["cem", "mppi"])
def test_planner_is_batched_over_problems(planner, config):
    # four problems with different optima, solved in one call: each finds its own
    target, weight = random_problem(7, batch=4)
    plan = planner(quadratic(target, weight), torch.zeros_like(target), config=config, generator=torch_generator(0))
    assert plan.actions.shape == target.shape and plan.cost.shape == (4,)
    assert plan.elite_costs.shape == (config.iterations, 4)
    err = (plan.actions - target).abs().amax(dim=(1, 2))
    assert (err < 0.03).all()


@pytest.mark.parametrize("planner, config", PLANNERS, ids=["cem", "mppi"])
def test_planner_is_reproducible_from_seed(planner, config):
    target, weight = random_problem(3)
    runs = [
        planner(quadratic(target, weight), torch.zeros_like(target), config=config, generator=torch_generator(s))
        for s in (5, 5, 6)
    ]
    assert torch.equal(runs[0].actions, runs[1].actions)
    assert not torch.equal(runs[0].actions, runs[2].actions)


@pytest.mark.parametrize("planner, config", PLANNERS, ids=["cem", "mppi"])
def test_planner_respects_action_box(planner, config):
    # the unconstrained optimum (2.0) lies outside the box: the plan sits on the bound
    target = torch.full((2, 3, 1), 2.0, dtype=torch.float64)
    weight = torch.eye(1, dtype=torch.float64)
    plan = planner(quadratic(target, weight), torch.zeros_like(target), config=config, low=-1.0, high=1.0,
                   generator=torch_generator(0))
    assert (plan.actions <= 1.0).all() and (plan.actions >= -1.0).all()
    assert torch.allclose(plan.actions, torch.ones_like(plan.actions), atol=1e-2)


def test_mppi_weights_favour_low_cost_and_sum_to_one():
    w = mppi_weights(torch.tensor([[3.0, 1.0, 2.0]]), temperature=1.0)
    assert torch.allclose(w.sum(1), torch.ones(1))
    assert w.argmax().item() == 1
    expected = torch.softmax(torch.tensor([-2.0, 0.0, -1.0]), 0)
    assert torch.allclose(w[0], expected)


def test_sample_sequences_keeps_mean_first_and_clamps():
    mean = torch.full((2, 4, 3), 0.5)
    std = torch.full_like(mean, 10.0)
    s = sample_sequences(mean, std, 50, low=-1.0, high=1.0, generator=torch_generator(0))
    assert s.shape == (2, 50, 4, 3)
    assert torch.equal(s[:, 0], mean)
    assert s.min() == -1.0 and s.max() == 1.0


def test_gather_sequences_picks_per_problem():
    actions = torch.arange(2 * 3 * 1 * 1, dtype=torch.float32).reshape(2, 3, 1, 1)
    picked = gather_sequences(actions, torch.tensor([[2, 0], [1, 1]]))
    assert picked.flatten().tolist() == [2.0, 0.0, 4.0, 4.0]


# ---- error paths -------------------------------------------------------------------------

def test_config_errors_name_the_value():
    with pytest.raises(ParameterError, match=r"samples == 0, must be an integer >= 1"):
        CEMConfig(samples=0)
    with pytest.raises(ParameterError, match=r"elites == 1, must lie in \[2, samples == 300\]"):
        CEMConfig(elites=1)
    with pytest.raises(ParameterError, match=r"elites == 400, must lie"):
        CEMConfig(elites=400)
    with pytest.raises(ParameterError, match=r"init_std == -1.0, must be a finite number > 0"):
        CEMConfig(init_std=-1.0)
    with pytest.raises(ParameterError, match=r"temperature == 0.0, must be a finite number > 0"):
        MPPIConfig(temperature=0)
    with pytest.raises(ParameterError, match=r"min_std == 3.0 and max_std == 2.0"):
        MPPIConfig(min_std=3.0)
    with pytest.raises(ParameterError, match=r"elites == 600, must lie in \[1, samples == 512\]"):
        MPPIConfig(elites=600)
    with pytest.raises(ParameterError, match=r"iterations == 2.5"):
        MPPIConfig(iterations=2.5)


def test_a_bad_size_raises_one_class_whichever_it_is():
    # samples == 0 (a count) and elites == 1 (a range that depends on samples) are one fault
    faults = [lambda: CEMConfig(samples=0), lambda: CEMConfig(elites=1), lambda: MPPIConfig(elites=600)]
    for fault in faults:
        with pytest.raises(ParameterError) as error:
            fault()
        assert type(error.value) is ParameterError and error.value.name in ("samples", "elites")


@pytest.mark.parametrize("planner", [cem, mppi])
def test_planner_rejects_bad_mean_and_bad_costs(planner):
    g = torch_generator(0)
    ok = lambda a: (a**2).sum((-1, -2))  # noqa: E731
    with pytest.raises(ShapeError, match=r"init_mean: expected a tensor \(B, H, m\), found \(3, 2\)"):
        planner(ok, torch.zeros(3, 2), generator=g)
    with pytest.raises(DataError, match="init_mean has dtype torch.int64"):
        planner(ok, torch.zeros(1, 3, 2, dtype=torch.int64), generator=g)
    with pytest.raises(DataError, match="init_mean has non-finite entries"):
        planner(ok, torch.full((1, 3, 2), float("nan")), generator=g)
    with pytest.raises(ShapeError, match=r"cost_fn: expected costs \(1, \d+\), found \(1, \d+, 3\)"):
        planner(lambda a: (a**2).sum(-1), torch.zeros(1, 3, 2), generator=g)
    with pytest.raises(DataError, match=r"cost_fn returned \d+ non-finite costs"):
        planner(lambda a: (a**2).sum((-1, -2)) / 0.0 * 0.0, torch.zeros(1, 3, 2), generator=g)
    with pytest.raises(ParameterError, match=r"low == 1.0 and high == -1.0"):
        planner(ok, torch.zeros(1, 3, 2), low=1.0, high=-1.0, generator=g)


@pytest.mark.parametrize("planner", [cem, mppi], ids=["cem", "mppi"])
def test_planner_names_a_zero_horizon_a_nan_bound_and_a_missing_generator(planner):
    """Each fault is named as itself -- not blamed on the cost function, not a torch error."""
    g = torch_generator(0)
    ok = lambda a: (a**2).sum((-1, -2))  # noqa: E731
    with pytest.raises(ShapeError, match=r"init_mean: H \(the horizon\) == 0, must be >= 1"):
        planner(ok, torch.zeros(1, 0, 2), generator=g)
    with pytest.raises(ParameterError, match=r"high == nan, must be a number \(not NaN\) or None"):
        planner(ok, torch.zeros(1, 3, 2), low=-1.0, high=float("nan"), generator=g)
    with pytest.raises(ParameterError, match=r"generator == None, must be a torch.Generator"):
        planner(ok, torch.zeros(1, 3, 2), generator=None)


def test_an_underflowing_mppi_temperature_is_named():
    """1e-46 is a valid positive float but 0 in float32: 0/0 made the weights NaN, and the next
    iteration's costs, so the cost function was blamed."""
    with pytest.raises(ParameterError, match=r"temperature == 1e-46 underflows to 0 in torch.float32"):
        mppi(lambda a: (a**2).sum((-1, -2)), torch.zeros(1, 3, 2), config=MPPIConfig(temperature=1e-46),
             generator=torch_generator(0))
    weights = mppi_weights(torch.tensor([[0.0, 1.0]], dtype=torch.float64), 1e-46)
    assert torch.equal(weights, torch.tensor([[1.0, 0.0]], dtype=torch.float64)), "float64 holds it"


def test_torch_generator_rejects_bad_seed():
    with pytest.raises(ParameterError, match=r"seed == -3, must be a non-negative int"):
        torch_generator(-3)
    with pytest.raises(ParameterError, match=r"seed == 'a'"):
        torch_generator("a")
    g = torch.Generator()
    assert torch_generator(g) is g
