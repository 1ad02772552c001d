"""Benchmark of the planning chapters: CEM batched against a per-sample loop; gradient planning
against CEM and MPPI at equal success.

For three models -- the exact LQ model (double integrator, H = 10), the DINO-WM analog
(336 frozen features) and the bisimulation world model (32-dimensional latent), both H = 5 --
the same CEM (300 samples, 30 elites, 10 iterations: DINO-WM's point-maze planner) is run

1. **batched**: one call of the cost function scores all ``B x N`` candidates of an
   iteration (``B`` problems planned together);
2. **per-sample loop** (the baseline): the cost function is called once per candidate
   sequence, as a planner written around a single-trajectory simulator would.

Then, on the LQ double integrator (exact optimum known from the Riccati recursion), the gradient
planner of the straightened-planning chapter, CEM and MPPI at **equal success**: for each
planner the smallest iteration budget (1, 2, 4, ...) at which at least 90% of the ``B`` problems
end within 1% of the optimal cost, and its plans per second at that budget; the ratios are
against the gradient planner.

The models are untrained (timing does not depend on the weights). Measured in one run, on one
thread (``OMP_NUM_THREADS=1``, as the book build). Prints plans per second and the ratio, and
writes ``benchmarks/results/planning.json``. Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/planning.py [--problems 16] [--device cpu]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict  # noqa: E402
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from harness import machine, write_results  # noqa: E402
from ltijepa.envs.pointmaze import CONDITIONS, random_dataset, render, sample_free  # noqa: E402
from ltijepa.lqr import Task  # noqa: E402
from ltijepa.planning import CEMConfig, FrozenFeatures, build_latent_model, cem, feature_transitions  # noqa: E402
from ltijepa.planning import MPPIConfig, lq_cost_fn, lq_optimal_plan, mppi, torch_generator  # noqa: E402
from ltijepa.planning.gradient import GradientConfig, gradient_plan  # noqa: E402

CONFIG = CEMConfig(samples=300, elites=30, iterations=10)


def double_integrator() -> Task:
    dt, I, Z = 0.1, np.eye(2), np.zeros((2, 2))
    return Task(np.block([[I, dt * I], [Z, I]]), np.vstack([dt**2 / 2 * I, dt * I]), np.eye(4), 0.1 * np.eye(2))


def per_sample(cost_fn):
    """The baseline: score candidates one at a time (a (1, 1, H, m) call each)."""

    def cost(actions: torch.Tensor) -> torch.Tensor:
        B, N = actions.shape[:2]
        return torch.stack([torch.stack([cost_fn(actions[b, i][None, None])[0, 0] for i in range(N)]) for b in range(B)])

    return cost


def plans_per_second(make_cost, problems: int, horizon: int, dtype, device: str) -> float:
    """Plans per second of CEM with the cost of ``make_cost(problems)`` (after a warm-up plan)."""
    cost_fn = make_cost(problems)
    init = torch.zeros(problems, horizon, 2, dtype=dtype, device=device)
    cem(cost_fn, init, config=CEMConfig(samples=30, elites=3, iterations=1), generator=torch_generator(0, device))
    start = time.perf_counter()
    cem(cost_fn, init, config=CONFIG, generator=torch_generator(1, device))
    if device == "cuda":
        torch.cuda.synchronize()
    return problems / (time.perf_counter() - start)


def models(device: str, problems: int):
    """(name, horizon, dtype, make_cost) for the three models."""
    task = double_integrator()
    features = FrozenFeatures()
    data = feature_transitions(features, random_dataset(4, 10, 0), device=device)
    rng = np.random.default_rng(0)
    out = [("LQ double integrator", 10, torch.float64,
            lambda b: lq_cost_fn(task, rng.normal(size=(b, 4)), device=device))]
    for name, kind in (("feature world model (336-d)", "feature"), ("bisimulation world model (32-d)", "bisim")):
        model = build_latent_model(kind, features, data, seed=0, device=device)
        model.eval()

        def make_cost(b, model=model):
            z = model.encode(render(sample_free(b, 1), CONDITIONS["NC"]))
            goal = model.encode(render(sample_free(b, 2), CONDITIONS["NC"]))
            return model.terminal_cost(z, goal)

        out.append((name, 5, torch.float32, make_cost))
    return out


SUCCESS = {"relative_excess": 0.01, "fraction": 0.9}
BUDGETS = tuple(2**k for k in range(10))


def equal_success(problems: int, device: str) -> list[dict]:
    """Per planner, the smallest budget of ``BUDGETS`` meeting ``SUCCESS`` on the LQ problem
    (H = 10, unbounded actions), and its plans per second there."""
    task, horizon = double_integrator(), 10
    x0 = np.random.default_rng(3).normal(size=(problems, 4))
    optimum = lq_optimal_plan(task, x0, horizon)[1]
    cost_fn = lq_cost_fn(task, x0, device=device)
    init = torch.zeros(problems, horizon, 2, dtype=torch.float64, device=device)
    planners = {
        "gradient": lambda k: partial(gradient_plan, config=GradientConfig(iterations=k)),
        "CEM": lambda k: partial(cem, config=CEMConfig(iterations=k)),
        "MPPI": lambda k: partial(mppi, config=MPPIConfig(iterations=k)),
    }
    rows = []
    for name, make in planners.items():
        row = {"planner": name, "budget": None, "plans_per_s": None, "success": None}
        for k in BUDGETS:
            planner = make(k)
            start = time.perf_counter()
            plan = planner(cost_fn, init, generator=torch_generator(k, device))
            seconds = time.perf_counter() - start
            excess = (plan.cost.cpu().numpy() - optimum) / optimum
            success = float(np.mean(excess <= SUCCESS["relative_excess"]))
            if success >= SUCCESS["fraction"]:
                row.update(budget=k, plans_per_s=problems / seconds, success=success)
                break
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=16, help="problems planned together (batched)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    out = {"device": args.device, "machine": machine(torch=torch.__version__, torch_threads=torch.get_num_threads()),
           "cem": asdict(CONFIG),
           "problems": args.problems, "models": []}
    for name, horizon, dtype, make_cost in models(args.device, args.problems):
        batched = plans_per_second(make_cost, args.problems, horizon, dtype, args.device)
        looped = plans_per_second(lambda b, make_cost=make_cost: per_sample(make_cost(b)), 1, horizon, dtype, args.device)
        row = {"model": name, "horizon": horizon, "batched_plans_per_s": batched,
               "per_sample_plans_per_s": looped, "ratio": batched / looped}
        out["models"].append(row)
        print(f"{name:34s} batched {batched:9.2f} plans/s   per-sample loop {looped:7.3f} plans/s   "
              f"ratio {row['ratio']:7.0f}x")
    out["equal_success"] = {"criterion": SUCCESS, "rows": equal_success(args.problems, args.device)}
    reference = out["equal_success"]["rows"][0]["plans_per_s"]
    print(f"equal success on the LQ plan (>= {SUCCESS['fraction']:.0%} of problems within "
          f"{SUCCESS['relative_excess']:.0%} of the optimum):")
    for row in out["equal_success"]["rows"]:
        if row["budget"] is None:
            print(f"  {row['planner']:9s} never reached it within {BUDGETS[-1]} iterations")
            continue
        ratio = row["plans_per_s"] / reference if reference else float("nan")
        print(f"  {row['planner']:9s} {row['budget']:4d} iterations {row['plans_per_s']:9.2f} plans/s   "
              f"{ratio:6.2f}x the gradient planner")
    write_results("planning", out)


if __name__ == "__main__":
    main()
