"""Shared test configuration: hypothesis profiles, the project root."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

# "ci" (default) is derandomized: a property test is a regression test that cannot flake;
# "nightly" explores more (HYPOTHESIS_PROFILE=nightly make test).
settings.register_profile("ci", derandomize=True, max_examples=60, deadline=None, print_blob=True)
settings.register_profile("nightly", max_examples=600, deadline=None, print_blob=True)
settings.load_profile(os.getenv("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT
