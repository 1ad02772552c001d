"""ltijepa: the tested package behind the book *From LTI to JEPA*.

Subpackages (the README's layout section):

- :mod:`ltijepa.lqr` -- LQR tasks, policy gradients, multitask bounds, FedLQR;
- :mod:`ltijepa.bisim` -- the largest bisimulation (fixed point, refinement, empirical);
- :mod:`ltijepa.envs`, :mod:`ltijepa.jepa`, :mod:`ltijepa.planning` -- torch code for the
  JEPA chapters;
- :mod:`ltijepa.claims` -- the claims ledger every notebook records its checks through;
- :mod:`ltijepa.book` -- the pipeline that executes the notebooks and builds the book.

Importing :mod:`ltijepa` itself is cheap: subpackages are imported on demand.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
