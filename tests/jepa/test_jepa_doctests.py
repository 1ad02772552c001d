"""The examples in the docstrings of the counting environment and the JEPA modules are true."""

import doctest
import importlib

import pytest

MODULES = [
    "ltijepa.envs.counting",
    "ltijepa.jepa.layers",
    "ltijepa.jepa.losses",
    "ltijepa.jepa.metrics",
    "ltijepa.jepa.tabular",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0
