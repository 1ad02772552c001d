"""Helpers shared by the tests and the benchmarks: hypothesis strategies and reference answers.

- :mod:`ltijepa.testing.lqr` -- well-conditioned random LQR data (matrices, tasks, gains);
- :mod:`ltijepa.testing.diffcontrol` -- random differentiable-LQR problems of random sizes;
- :mod:`ltijepa.testing.bisim` -- random deterministic systems and datasets, and the largest
  bisimulation computed by the peer libraries BisPy and automata-lib.
"""
