"""The examples in the docstrings of the bisimulation modules are true."""

import doctest
import importlib

import pytest

MODULES = [
    "ltijepa.bisim._validation",
    "ltijepa.bisim.fixed_point",
    "ltijepa.bisim.refinement",
    "ltijepa.bisim.empirical",
    "ltijepa.bisim.relations",
    "ltijepa.bisim.systems",
    "ltijepa.envs.counting_mdp",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0
