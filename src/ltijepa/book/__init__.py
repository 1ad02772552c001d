"""The book pipeline: execute the notebooks with papermill, cache, report, build the HTML.

``ltijepa book build`` (see :mod:`ltijepa.cli`) runs :func:`ltijepa.book.build.build`:

1. every notebook of ``notebooks/`` is executed (or taken from the content cache) with the
   profile and seed injected, in parallel worker processes;
2. any error output or failing theorem claim fails the build, naming notebook and cell;
3. ``book/_build/report.json`` and ``book/_build/claims.json`` are written, and the
   "Execution report" and "Claims" pages rendered from them;
4. Jupyter Book 1 builds the HTML into a temporary directory that replaces
   ``book/_build/html`` only on success.

This subpackage knows papermill and Jupyter Book, and nothing of the science.
"""
