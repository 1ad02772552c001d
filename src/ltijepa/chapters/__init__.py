"""The chapters' drivers: one module per notebook of ``notebooks/``, named like it.

``ltijepa.chapters.multitask_lqr`` drives ``notebooks/multitask_lqr.ipynb``, and so on. Each
module holds that chapter's experiments and exactly one frozen ``Config`` whose
``Config.for_profile(profile)`` resolves every size of the chapter from the execution profile
(``ci`` or ``full``, :mod:`ltijepa.profiles`); it is the only place that knows profiles. The
library packages (:mod:`ltijepa.lqr`, :mod:`ltijepa.multitask`, ...) take plain sizes.

Dependency direction: notebooks -> ``ltijepa.chapters.<name>`` -> the topic packages.
"""
