"""Helpers shared by the tests and the benchmarks: hypothesis strategies and reference answers.

- :mod:`ltijepa.testing.lqr` -- well-conditioned random LQR data (matrices, tasks, gains);
- :mod:`ltijepa.testing.diffcontrol` -- random differentiable-LQR problems of random sizes;
- :mod:`ltijepa.testing.peers` -- mpc.pytorch and cvxpylayers called in the layout of
  :mod:`ltijepa.diffcontrol` (the comparisons of its chapter, tests and benchmark);
- :mod:`ltijepa.testing.bisim` -- random deterministic systems and datasets, and the largest
  bisimulation computed by the peer libraries BisPy and automata-lib;
- :mod:`ltijepa.testing.planning` -- an exact world model of the point maze (the latent is
  the position).
"""
