"""The ``ltijepa`` command line (also ``python -m ltijepa``).

::

    ltijepa book build --profile ci|full [--seed N] [--only NAME ...] [--jobs N] [--force] [--no-wait]
                       [--scheduler ADDRESS]
    ltijepa book pdf [--force]

Exit status: 0 built (or up to date), 1 the build failed (nothing published changed), 2 bad
arguments, 130 interrupted (Ctrl-C; nothing published changed).
"""

from __future__ import annotations

import argparse
import os
import sys

from ltijepa.parallel import SCHEDULER_ENV
from ltijepa.profiles import PROFILES

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ltijepa", description="The From LTI to JEPA companion book.")
    commands = parser.add_subparsers(dest="command", required=True)
    book = commands.add_parser("book", help="execute the notebooks and build the book")
    book_commands = book.add_subparsers(dest="book_command", required=True)
    b = book_commands.add_parser(
        "build",
        help="execute every notebook (content-cached) and build the HTML into book/_build/html",
        description=(
            "Execute every notebook of notebooks/ with papermill (or take it from the content "
            "cache), fail on any error or failing theorem claim, write book/_build/report.json "
            "and claims.json, and build the HTML with Jupyter Book into book/_build/html."
        ),
    )
    b.add_argument("--profile", choices=PROFILES, default="ci",
                   help="ci: the whole book on a laptop CPU in minutes (default); full: the papers' scale")
    b.add_argument("--seed", type=int, default=0, help="seed injected into every notebook (default 0)")
    b.add_argument("--only", nargs="+", metavar="NAME",
                   help="execute and check only these notebooks (no report, no HTML)")
    b.add_argument("--jobs", type=int, default=None, help="parallel workers (default: number of cores)")
    b.add_argument("--force", action="store_true", help="ignore the cache: execute every notebook again")
    b.add_argument("--timeout", type=int, default=None, help="seconds one cell may run (default 4 h)")
    b.add_argument("--no-wait", action="store_true",
                   help="if another build of this book folder is running, exit at once instead of waiting for it")
    b.add_argument("--scheduler", default=os.environ.get(SCHEDULER_ENV) or None, metavar="ADDRESS",
                   help="execute the notebooks as tasks on the Dask cluster of this scheduler, e.g. "
                        "tcp://10.0.0.5:8786 (default: $LTIJEPA_SCHEDULER; unset: local processes)")
    b.add_argument("--root", default=None, help="project folder (default: found from the current directory)")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    pdf = book_commands.add_parser(
        "pdf",
        help="print the last built book to book/_build/pdf/ltijepa-book.pdf (executes nothing)",
        description=(
            "Build the single-page HTML of the last `ltijepa book build` (from the source kept "
            "with its HTML: nothing is executed) and print it with headless Chromium to "
            "book/_build/pdf/ltijepa-book.pdf, with a copy in the HTML."
        ),
    )
    pdf.add_argument("--force", action="store_true", help="print again even when the PDF is of the current HTML")
    pdf.add_argument("--root", default=None, help="project folder (default: found from the current directory)")
    pdf.add_argument("--quiet", action="store_true", help="say nothing but the result")
    return parser


def _book_build(args: argparse.Namespace) -> int:
    from ltijepa.book.build import DEFAULT_TIMEOUT, build, format_table
    from ltijepa.book.project import Project

    for flag, value in (("--jobs", args.jobs), ("--timeout", args.timeout)):
        if value is not None and value < 1:
            print(f"ltijepa: {flag} == {value}, must be >= 1", file=sys.stderr)
            return 2
    project = Project.discover(args.root)
    result = build(
        project, profile=args.profile, seed=args.seed, only=args.only, jobs=args.jobs,
        force=args.force, timeout=DEFAULT_TIMEOUT if args.timeout is None else args.timeout,
        progress=not args.quiet, wait=not args.no_wait, scheduler=args.scheduler,
    )
    print()
    print(format_table(result.runs))
    executed = sum(not r.cache_hit for r in result.runs)
    if args.only:
        html = "HTML not built (--only)"
    elif result.html_built:
        html = f"HTML built in {project.html_dir}"
    else:
        html = f"HTML up to date in {project.html_dir}"
    print(f"\n{executed} executed, {len(result.runs) - executed} from cache; {html}; {result.seconds:.1f} s")
    return 0


def _book_pdf(args: argparse.Namespace) -> int:
    from ltijepa.book.pdf import build_pdf
    from ltijepa.book.project import Project

    result = build_pdf(Project.discover(args.root), force=args.force, progress=not args.quiet)
    state = "printed" if result.built else "up to date"
    print(f"PDF {state}: {result.path}; {result.seconds:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ltijepa`` command; ``argv`` defaults to ``sys.argv[1:]``.

    Returns the exit status: 0 on success, 1 when the build (or the PDF) failed, 2 on bad
    arguments, 130 when interrupted.
    """
    from ltijepa.errors import BuildError

    args = _parser().parse_args(argv)
    name = f"ltijepa book {args.book_command}"
    try:
        return {"build": _book_build, "pdf": _book_pdf}[args.book_command](args)
    except BuildError as exc:
        print(f"\n{name}: FAILED\n{exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        unchanged = "the PDF is unchanged" if args.book_command == "pdf" else "nothing published changed"
        print(f"\n{name}: interrupted; {unchanged}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
