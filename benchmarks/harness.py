"""What every benchmark script shares: best-of-n timing, the machine record, the JSON output.

Each script of ``benchmarks/`` measures its method against a baseline in the same run, prints
the ratios, and writes ``benchmarks/results/<name>.json`` (git-ignored) through
:func:`write_results`. Run a script from the repository root, e.g.
``.venv/bin/python benchmarks/lqr_batched.py``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["RESULTS_DIR", "best_time", "machine", "write_results"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def best_time(function: Callable[[], object], repeats: int) -> float:
    """The smallest wall-clock time, in seconds, of ``repeats`` calls of ``function()``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def machine(**extra) -> dict:
    """Python, numpy, platform, core count and load average, plus the ``extra`` entries."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        **extra,
    }


def write_results(name: str, data: dict) -> Path:
    """Write ``data`` as ``benchmarks/results/<name>.json`` and print the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    print(f"wrote {path}")
    return path
