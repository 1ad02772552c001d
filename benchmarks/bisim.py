"""Benchmark of ltijepa.bisim.largest_bisimulation against the definition and two peer libraries.

For random systems (uniform successors, binary auxiliary) and chains (the worst case of
round-based refinement: n - 1 signature rounds) with n = 10^3 ... 10^6 states and |A| = 2
and 4 actions, it times, on one core:

- ``largest_bisimulation`` (the hybrid, ``method="auto"``), best of three runs;
- in the same process, best of as many runs: a yardstick, ``np.unique(next_state,
  return_inverse=True)`` (one sort of the ``n |A|`` successor entries: what the machine does
  at the moment, so that runs on loaded machines compare by ratio), and the earlier
  implementation, ``largest_bisimulation`` of ``src/ltijepa/bisim/refinement.py`` at the git
  revision ``--earlier`` (by default 9f8517d, the refinement before the speed-up of issue 19; skipped
  when git or the revision is missing);
- baselines measured in the same run: the same function with ``method="signature"`` (rounds
  only) and ``method="hopcroft"``, the dense fixed point of Def. 1 (``least_fixed_point``,
  up to its size limit), BisPy 0.2.2 (Paige-Tarjan) and automata-lib (Hopcroft DFA
  minimisation); each baseline runs in a child process, stopped after ``--timeout`` seconds
  (60 by default), and is skipped at larger n once it timed out;
- the first-call compilation time of the numba kernels (empty cache) and the time to load
  them from the cache (``cache=True``), separately.

Every baseline and the earlier implementation must return the same partition as ours
(checked). Prints a table with ours / yardstick and baseline / ours, the goals of issue 19
(random and chain, 10^6 states, |A| = 4: at most 1 s and 0.2 s), and writes
``benchmarks/results/bisim.json``.

Usage: ``python benchmarks/bisim.py [--max-n 1000000] [--timeout 60] [--repeats 3]
[--earlier 9f8517d] [--baselines signature hopcroft fixed_point bispy automata]``. The full run takes about 15-20
minutes on 2 cores, most of it in the peers' runs and their 60-second timeouts;
``--max-n 100000 --timeout 20`` takes a few minutes.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import multiprocessing as mp  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from harness import machine, write_results  # noqa: E402
from ltijepa.bisim import MAX_FIXED_POINT_STATES, METHODS, largest_bisimulation, least_fixed_point  # noqa: E402
from ltijepa.bisim.relations import separated_by  # noqa: E402
from ltijepa.bisim.systems import chain_system, random_system  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = ("random", "chain")
#: Issue 19, goal 3: seconds at n = 10^6, |A| = 4.
GOALS = {"random": 1.0, "chain": 0.2}
BASELINES = ("signature", "hopcroft", "fixed_point", "bispy", "automata")


def make_system(kind: str, n: int, k: int):
    """The benchmark input: a seeded random system or a chain (see ltijepa.bisim.systems)."""
    if kind == "random":
        return random_system(n, k, rng=12345, n_aux_values=2)
    return chain_system(n, k)


def solve(method: str, next_state, aux):
    """Labels of B* by one method (the peers' answers are canonical labels too)."""
    if method in METHODS:
        return largest_bisimulation(next_state, aux, method=method)
    if method == "fixed_point":
        return least_fixed_point(next_state, aux)
    from ltijepa.testing import bisim as peers

    return {"bispy": peers.bispy_partition, "automata": peers.automata_partition}[method](
        next_state, aux
    )


def _child(method, kind, n, k, conn):
    """Build the input, solve, send (seconds, labels or matrix) back."""
    next_state, aux = make_system(kind, n, k)
    if method in METHODS:
        largest_bisimulation(*make_system(kind, 8, k), method=method)  # load the kernels
    start = time.perf_counter()
    result = solve(method, next_state, aux)
    conn.send((time.perf_counter() - start, result))


def run_limited(method: str, kind: str, n: int, k: int, timeout: float):
    """(seconds, result) of one run in a child process, or (None, None) after ``timeout``."""
    parent, child = mp.Pipe(duplex=False)
    process = mp.get_context("fork").Process(target=_child, args=(method, kind, n, k, child))
    process.start()
    child.close()
    if parent.poll(timeout):
        seconds, result = parent.recv()
        process.join()
        return seconds, result
    process.kill()  # our own child, by its handle
    process.join()
    return None, None


def best_of(function, repeats: int):
    """Best wall time, best CPU time and the result of ``repeats`` calls of ``function()``.
    CPU time is less sensitive to other processes on the core."""
    times, cpu, result = [], [], None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(times), min(cpu), result


#: The revision whose ``bisim/refinement.py`` is timed beside ours by default: the last one
#: before the keyed signature rounds and the block work list (issue 19).
EARLIER = "9f8517d"


def load_earlier(revision: str, directory: str):
    """``largest_bisimulation`` of ``src/ltijepa/bisim/refinement.py`` at a git revision,
    imported from a copy in ``directory``; ``None`` when git or the revision is missing."""
    try:
        source = subprocess.run(
            ["git", "show", f"{revision}:src/ltijepa/bisim/refinement.py"], cwd=ROOT,
            capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(directory) / "earlier_refinement.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("earlier_refinement", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.largest_bisimulation(*make_system("random", 8, 2))  # compile its kernels
    return module.largest_bisimulation


def time_ours(kind: str, n: int, k: int, repeats: int, earlier) -> dict:
    """Ours (kernels loaded), the yardstick and the earlier implementation, in this process."""
    next_state, aux = make_system(kind, n, k)
    best, cpu, labels = best_of(lambda: largest_bisimulation(next_state, aux), repeats)
    yardstick, _, _ = best_of(lambda: np.unique(next_state, return_inverse=True), repeats)
    out = {"ours_best_s": best, "ours_cpu_s": cpu, "yardstick_s": yardstick, "labels": labels}
    if earlier is not None:
        seconds, earlier_cpu, result = best_of(lambda: earlier(next_state, aux), repeats)
        out["earlier"] = {"seconds": seconds, "cpu_s": earlier_cpu,
                          "status": "ok" if np.array_equal(result, labels) else "DIFFERENT ANSWER"}
    return out


def agrees(method: str, result, labels) -> bool:
    if method == "fixed_point":
        return bool(np.array_equal(result, separated_by(labels)))
    return bool(np.array_equal(result, labels))


def compile_times() -> dict:
    """Seconds of the first call in a fresh process: with an empty numba cache, then cached."""
    code = (
        "import time; t = time.perf_counter();"
        "from ltijepa.bisim import largest_bisimulation;"
        "from ltijepa.bisim.systems import chain_system;"
        "largest_bisimulation(*chain_system(10, 2), method='auto');"
        "largest_bisimulation(*chain_system(10, 2), method='hopcroft');"
        "print(time.perf_counter() - t)"
    )
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        for label in ("empty_cache", "cached"):
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                 text=True, check=True)
            out[label] = float(run.stdout.strip())
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=10**6, help="largest number of states")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per baseline run")
    parser.add_argument("--repeats", type=int, default=3, help="runs of ours per size")
    parser.add_argument("--earlier", default=EARLIER,
                        help="git revision of the earlier implementation timed beside ours "
                             "(default: the refinement before the keyed signature rounds)")
    parser.add_argument("--baselines", nargs="*", default=list(BASELINES), choices=BASELINES,
                        help="baselines to run (default: all)")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    start = machine()
    print(f"machine: {start}")
    jit = compile_times()
    print(f"numba kernels, first call in a fresh process: {jit['empty_cache']:.2f} s with an empty "
          f"cache, {jit['cached']:.2f} s from the cache (import included)\n")
    largest_bisimulation(*make_system("random", 8, 2))  # load the kernels here
    scratch = tempfile.TemporaryDirectory()
    earlier = load_earlier(args.earlier, scratch.name)
    print(f"earlier implementation: {args.earlier if earlier is not None else 'not available'}")
    sizes = [n for n in (10**3, 10**4, 10**5, 10**6) if n <= args.max_n]
    records = []
    header = (f"{'system':7} {'|A|':>3} {'n':>8} {'ours (s)':>9} {'cpu (s)':>8} {'classes':>8} "
              f"{'yardstick':>9} {'ours/yard':>9}  baselines: seconds (ratio to ours)")
    print(header)
    print("-" * len(header))
    for kind in SYSTEMS:
        for k in (2, 4):
            gave_up: set[str] = set()
            for n in sizes:
                row = {"system": kind, "n_actions": k, "n_states": n,
                       **time_ours(kind, n, k, args.repeats, earlier), "baselines": {}}
                labels, best = row.pop("labels"), row["ours_best_s"]
                row["classes"] = int(labels.max()) + 1
                cells = []
                if "earlier" in row:
                    seconds = row["earlier"]["seconds"]
                    cells.append(f"earlier {seconds:.3g} ({seconds / best:.2f}x)"
                                 + (" WRONG" if row["earlier"]["status"] != "ok" else ""))
                for method in BASELINES:
                    if method not in args.baselines:
                        continue
                    if method == "fixed_point" and n > MAX_FIXED_POINT_STATES:
                        status, seconds = "over MAX_FIXED_POINT_STATES", None
                    elif method in gave_up:
                        status, seconds = "skipped (timed out at a smaller n)", None
                    else:
                        seconds, result = run_limited(method, kind, n, k, args.timeout)
                        if seconds is None:
                            status = f"timeout > {args.timeout:g} s"
                            gave_up.add(method)
                        else:
                            status = "ok" if agrees(method, result, labels) else "DIFFERENT ANSWER"
                    row["baselines"][method] = {"seconds": seconds, "status": status}
                    text = (f"{seconds:.3g} ({seconds / best:.0f}x)" if seconds is not None
                            else ("timeout" if status.startswith("timeout") else "-"))
                    if status == "DIFFERENT ANSWER":
                        text += " WRONG"
                    cells.append(f"{method} {text}")
                records.append(row)
                print(f"{kind:7} {k:>3} {n:>8} {best:9.4f} {row['ours_cpu_s']:8.4f} {row['classes']:>8} "
                      f"{row['yardstick_s']:9.4f} {best / row['yardstick_s']:9.3f}  " + "; ".join(cells),
                      flush=True)
    start["load_average_end"] = os.getloadavg()
    path = write_results("bisim", {"machine": start, "jit": jit, "timeout_s": args.timeout, "results": records})
    for r in (r for r in records if r["n_states"] == 10**6 and r["n_actions"] == 4):
        goal = GOALS[r["system"]]
        earlier = (f", earlier / ours {r['earlier']['seconds'] / r['ours_best_s']:.2f}x "
                   f"({r['earlier']['seconds']:.3f} s)" if "earlier" in r else "")
        print(f"goal: {r['system']} |A|=4 n=10^6 in {r['ours_best_s']:.3f} s wall, "
              f"{r['ours_cpu_s']:.3f} s CPU ({'under' if r['ours_best_s'] <= goal else 'OVER'} {goal:g} s); "
              f"ours / yardstick {r['ours_best_s'] / r['yardstick_s']:.3f}{earlier}")
    for r in (r for r in records if r["n_states"] == 10**5 and "bispy" in r["baselines"]):
        bispy = r["baselines"]["bispy"]
        bound = bispy["seconds"] if bispy["seconds"] is not None else args.timeout
        sign = "=" if bispy["seconds"] is not None else ">"
        print(f"goal: {r['system']} |A|={r['n_actions']} n=10^5, bispy / ours {sign} "
              f"{bound / r['ours_best_s']:.0f}x (goal >= 100x)")
    print(f"(results in {path})")
    scratch.cleanup()
    wrong = [r for r in records for b in [*r["baselines"].values(), r.get("earlier", {"status": "ok"})]
             if b["status"] == "DIFFERENT ANSWER"]
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
