"""Environments of the JEPA chapters: the counting environment and the point maze."""
