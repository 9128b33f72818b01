"""The kit's commands for the CLI: ``check`` for students; ``validate`` and ``build`` for instructors.

Each command lives in its own module; this one only adds their arguments and
runs them, turning the errors a person can fix into one line and exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.apps.course import CourseError
from autograder.apps.kit.cases import KitError

LOOKUP = """where the cases come from: --cases FILE or --problems DIR if given; otherwise a
cases.json in the current folder (the unzipped student kit), then beside the
autograder package, then the problems/ beside it (an instructor checkout)."""


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """Add the arguments of command ``name`` (check, validate or build) to its sub-parser."""
    if name == "check":
        parser.add_argument(
            "submission",
            nargs="?",
            type=Path,
            default=None,
            help="your file, or a folder holding it (default: the course's file name in this folder)",
        )
        parser.add_argument("--only", metavar="FUNCTION", default=None, help="run only the cases of this function")
        parser.add_argument(
            "--all",
            "--verbose",
            "-v",
            dest="all",
            action="store_true",
            help="one row per case (not per function), and every failing case's message (not each function's first)",
        )
        parser.add_argument("--cases", type=Path, default=None, help="a student kit's cases.json")
        parser.add_argument("--problems", type=Path, default=None, help="an instructor's problems folder")
        parser.add_argument("--timeout", type=float, default=None, help="seconds allowed per call (default: as on Gradescope)")
        parser.epilog = LOOKUP
        return
    parser.add_argument("--problems", type=Path, default=None, help="the problems folder (default: the one beside the engine)")
    parser.add_argument("--total", type=float, default=None, help="also fail unless the points add up to this total")
    if name == "build":
        parser.add_argument("--out", type=Path, default=None, help="where to write the zips (default: dist/ beside the problems folder)")


def run(arguments: argparse.Namespace) -> int:
    """Run ``arguments.command``; exit code 0 on success, 1 otherwise."""
    from autograder.apps.kit.build import build_command
    from autograder.apps.kit.check import check_command
    from autograder.apps.kit.validate import validate_command
    from autograder.apps.submission import NoSubmission
    from autograder.engine.errors import SpecError

    command = {"check": check_command, "validate": validate_command, "build": build_command}[arguments.command]
    try:
        return command(arguments)
    except (KitError, NoSubmission, SpecError, CourseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
