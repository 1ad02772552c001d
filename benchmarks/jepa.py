"""Benchmark of the P-JEPA chapter: data generation, training speed, time to nine clusters.

Measured in one run, on one thread (``OMP_NUM_THREADS=1``, as the book build), on ``--device``
(``cpu`` by default; ``cuda`` when a GPU is there):

1. **dataset generation**: transitions per second of ``make_transitions`` (vectorised
   rendering) at 32 and 64 pixels, against the baseline of stepping one ``CountingEnv`` frame
   by frame (the authors' way); prints the ratio;
2. **training speed**: steps per second of ``train_pjepa`` for the ``ci`` model and for the paper's
   ``full`` model (ResNet encoder, 64-pixel frames, batch 256; a few steps only), the ratio
   of their step times, and the extrapolated time of the ``full`` profile (4 ablations x 5
   seeds x 300k steps) on this device;
3. **time to accuracy 0.9**: the ``ci`` P-JEPA ablation trained with evaluation every 250
   steps; wall time and step at which the in-sample nearest-centroid accuracy first reaches
   0.9 (``--seeds`` runs).

Prints a summary and writes ``benchmarks/results/jepa.json``. Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/jepa.py [--device cpu] [--seeds 1] [--full-steps 3]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from harness import machine, write_results  # noqa: E402
from ltijepa.envs.counting import CountingEnv, make_transitions  # noqa: E402
from ltijepa.chapters import p_jepa_counting  # noqa: E402
from ltijepa.jepa import metrics  # noqa: E402
from ltijepa.jepa.model import build_pjepa  # noqa: E402
from ltijepa.jepa.training import train_pjepa  # noqa: E402



def generation_rate(size: int, radius: int, n_episodes: int) -> dict:
    """Transitions per second: vectorised make_transitions vs stepping one environment."""
    env = CountingEnv(size=size, radius=radius)
    start = time.perf_counter()
    data = make_transitions(env, n_episodes, 4, rng=0)
    vectorised = len(data) / (time.perf_counter() - start)
    steps = max(len(data) // 50, 200)
    start = time.perf_counter()
    _, episode = env.reset(rng=0)
    actions = np.random.default_rng(1).choice([-1.0, 1.0], size=steps)
    for a in actions:
        env.step(episode, a)
    stepped = steps / (time.perf_counter() - start)
    return {"size": size, "transitions": len(data), "vectorised_per_s": vectorised,
            "stepped_per_s": stepped, "ratio": vectorised / stepped}


def steps_per_second(experiment: p_jepa_counting.Config, data, device: str, steps: int) -> float:
    """Training steps per second of the P-JEPA ablation (after one warm-up step)."""
    buffer = p_jepa_counting.buffer_of(data, device=device)
    model = build_pjepa(experiment.model_config("pjepa"), seed=0, device=device)
    config = replace(experiment.train_config("pjepa"), steps=1)
    train_pjepa(model, buffer, config, seed=0, progress=False)
    if device == "cuda":
        torch.cuda.synchronize()
    info = train_pjepa(model, buffer, replace(config, steps=steps), seed=1, progress=False)
    return info["steps_per_second"]


def time_to_accuracy(experiment, data, probes, device: str, seed: int, threshold: float = 0.9) -> dict:
    """Wall time and step at which the in-sample NC accuracy of P-JEPA first reaches 0.9."""
    buffer = p_jepa_counting.buffer_of(data, device=device)
    model = build_pjepa(experiment.model_config("pjepa"), seed=seed, device=device)
    fit = probes[0]
    seconds: list[float] = []  # wall time of each evaluation, in the order of info["eval_step"]
    start = time.perf_counter()

    def evaluate(m):
        accuracy = metrics.nearest_centroid_accuracy(p_jepa_counting.encode_frames(m, fit.frames), fit.counts)
        seconds.append(time.perf_counter() - start)
        return {"nc_accuracy": accuracy}

    info = train_pjepa(model, buffer, experiment.train_config("pjepa"), seed=seed, evaluate=evaluate, progress=False)
    accuracy = info["eval"]["nc_accuracy"]
    reached = [(int(s), t) for s, t, acc in zip(info["eval_step"], seconds, accuracy) if acc >= threshold]
    return {"seed": seed, "steps_per_second": info["steps_per_second"], "final_accuracy": float(accuracy[-1]),
            "step_to_threshold": reached[0][0] if reached else None,
            "seconds_to_threshold": reached[0][1] if reached else None, "seconds_total": info["seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seeds", type=int, default=1, help="ci P-JEPA runs for the time to 0.9")
    parser.add_argument("--full-steps", type=int, default=3, help="timed steps of the full model")
    args = parser.parse_args()
    ci, full = p_jepa_counting.Config.for_profile("ci"), p_jepa_counting.Config.for_profile("full")
    out = {"device": args.device, "machine": machine(torch=torch.__version__, torch_threads=torch.get_num_threads())}

    out["generation"] = [generation_rate(32, 2, 25_000), generation_rate(64, 3, 25_000)]
    for g in out["generation"]:
        print(f"data {g['size']:2d} px: {g['vectorised_per_s']:9.0f} transitions/s vectorised, "
              f"{g['stepped_per_s']:7.0f}/s stepping one env  (ratio {g['ratio']:.0f}x)")

    ci_data = ci.transitions(0)
    full_data = make_transitions(full.env, 500, 4, rng=0)
    ci_rate = steps_per_second(ci, ci_data, args.device, 300)
    full_rate = steps_per_second(full, full_data, args.device, args.full_steps)
    runs = len(p_jepa_counting.ABLATIONS) * full.seeds
    full_hours = runs * full.train.steps / full_rate / 3600
    out["training"] = {"ci_steps_per_s": ci_rate, "full_steps_per_s": full_rate,
                       "full_step_time_ratio": ci_rate / full_rate, "full_profile_hours_here": full_hours}
    print(f"train ci:   {ci_rate:8.2f} steps/s ({ci.model.encoder}, {ci.env.size} px, batch {ci.train.batch_size})")
    print(f"train full: {full_rate:8.3f} steps/s ({full.model.encoder}, {full.env.size} px, batch "
          f"{full.train.batch_size}); a full step costs {ci_rate / full_rate:.0f}x a ci step")
    print(f"full profile ({runs} runs x {full.train.steps:,} steps) on this device: ~{full_hours:,.0f} h")

    probes = p_jepa_counting.make_probes(ci, 1)
    out["time_to_0.9"] = [time_to_accuracy(ci, ci_data, probes, args.device, seed) for seed in range(args.seeds)]
    for r in out["time_to_0.9"]:
        print(f"ci P-JEPA seed {r['seed']}: NC >= 0.9 at step {r['step_to_threshold']} after "
              f"{r['seconds_to_threshold'] if r['seconds_to_threshold'] is None else round(r['seconds_to_threshold'])} s "
              f"(final NC {r['final_accuracy']:.2f}, {r['seconds_total']:.0f} s for {ci.train.steps} steps)")

    write_results("jepa", out)


if __name__ == "__main__":
    main()
