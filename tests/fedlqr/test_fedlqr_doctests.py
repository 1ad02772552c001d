"""The examples in the docstrings of the FedLQR modules are true."""

import doctest
import importlib

import pytest

MODULES = ["ltijepa.lqr.fedlqr", "ltijepa.lqr.fedlqr_checks", "ltijepa.lqr.fedlqr_experiments"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0
