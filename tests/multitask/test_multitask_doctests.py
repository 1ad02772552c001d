"""The examples in the docstrings of the multitask modules are true."""

import doctest
import importlib

import pytest

MODULES = [
    "ltijepa.lqr.multitask",
    "ltijepa.lqr.heterogeneity",
    "ltijepa.lqr.bisim_bounds",
    "ltijepa.lqr.baselines",
    "ltijepa.lqr.performance",
    "ltijepa.lqr.multitask_study",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0
