"""The examples in the docstrings of every ltijepa module are true (doctest)."""

import doctest
import importlib
import pkgutil

import pytest

import ltijepa

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(ltijepa.__path__, "ltijepa.") if not info.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} fail"


def test_the_core_modules_have_examples():
    """Modules whose docstrings promise examples keep them (a deleted example is caught)."""
    without = [
        name for name in (
            "ltijepa.bisim._validation",
            "ltijepa.bisim.empirical",
            "ltijepa.bisim.fixed_point",
            "ltijepa.bisim.refinement",
            "ltijepa.bisim.relations",
            "ltijepa.bisim.systems",
            "ltijepa.envs.counting",
            "ltijepa.envs.counting_mdp",
            "ltijepa.jepa.layers",
            "ltijepa.jepa.losses",
            "ltijepa.jepa.metrics",
            "ltijepa.jepa.tabular",
            "ltijepa.multitask.epsilon_baseline",
            "ltijepa.multitask.gradient_bounds",
            "ltijepa.fedlqr.rounds",
            "ltijepa.fedlqr.estimates",
            "ltijepa.multitask.heterogeneity",
            "ltijepa.multitask.objective",
            "ltijepa.multitask.performance",
            "ltijepa.lqr.task",
            "ltijepa.profiles",
        )
        if doctest.testmod(importlib.import_module(name)).attempted == 0
    ]
    assert not without
