"""Fixtures of the pipeline tests."""

import pytest

from minibook import make_mini_project


@pytest.fixture
def mini_project(tmp_path):
    """A book with one passing notebook, ``good``, and the real _config.yml and bibliography."""
    return make_mini_project(tmp_path)
