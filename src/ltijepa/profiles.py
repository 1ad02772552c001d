"""Execution profiles of the book.

Every notebook has one ``parameters`` cell with ``profile = "full"`` and ``seed = 0``; the book
pipeline injects ``profile = "ci"`` for the published build. A chapter resolves its sizes from
the profile through :func:`by_profile`, in ``src/`` and never in the notebook, so that the
numbers a profile means are tested code.

- ``ci``: the whole book on a 2-core laptop CPU in minutes; this is what CI publishes.
- ``full``: the papers' scale (the JEPA chapters on a GPU).
"""

from __future__ import annotations

from typing import TypeVar

from ltijepa.errors import ParameterError

__all__ = ["PROFILES", "check_profile", "by_profile"]

PROFILES = ("ci", "full")

T = TypeVar("T")


def check_profile(profile: str) -> str:
    """Return ``profile`` if it names a known profile, else raise :class:`~ltijepa.errors.ParameterError`.

    >>> check_profile("ci")
    'ci'
    """
    if profile not in PROFILES:
        raise ParameterError(f"profile == {profile!r}, must be one of {PROFILES}", name="profile", value=profile)
    return profile


def by_profile(profile: str, *, ci: T, full: T) -> T:
    """Pick the value for ``profile``: ``ci`` or ``full``.

    >>> by_profile("full", ci=20, full=200)
    200
    """
    return {"ci": ci, "full": full}[check_profile(profile)]
