"""ltijepa: the tested package behind the book *From LTI to JEPA*.

Subpackages (the README's layout section):

- :mod:`ltijepa.lqr` -- LQR tasks, policy gradients (exact, model-free), the cost landscape;
- :mod:`ltijepa.multitask` -- the multitask objective, heterogeneity, epsilon and gradient-
  bisimulation bounds, performance bounds;
- :mod:`ltijepa.fedlqr` -- federated LQR rounds and their estimates;
- :mod:`ltijepa.bisim` -- the largest bisimulation of MDPs (fixed point, refinement, empirical);
- :mod:`ltijepa.envs`, :mod:`ltijepa.jepa`, :mod:`ltijepa.planning` -- torch code for the
  JEPA chapters;
- :mod:`ltijepa.claims` -- the claims ledger every notebook records its checks through;
- :mod:`ltijepa.chapters` -- one driver module per notebook, with the chapter's one ``Config``;
- :mod:`ltijepa.book` -- the pipeline that executes the notebooks and builds the book.

Importing :mod:`ltijepa` itself is cheap: subpackages are imported on demand.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
