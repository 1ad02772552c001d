"""Helpers shared by the tests and the notebooks: hypothesis strategies (``strategies``)."""
