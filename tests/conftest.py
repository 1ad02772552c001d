"""Shared test configuration: the hypothesis profiles."""

import os

from hypothesis import settings

# "ci" (default) is derandomized: a property test is a regression test that cannot flake;
# "nightly" explores more (HYPOTHESIS_PROFILE=nightly make test).
settings.register_profile("ci", derandomize=True, max_examples=60, deadline=None, print_blob=True)
settings.register_profile("nightly", max_examples=600, deadline=None, print_blob=True)
settings.load_profile(os.getenv("HYPOTHESIS_PROFILE", "ci"))
