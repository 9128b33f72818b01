"""``check``: a student runs the visible cases in the same sandbox, with the same messages and points, as Gradescope."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from autograder.apps.course import Course
from autograder.apps.kit.cases import KitError, Points, VisibleCases, load_visible_cases


def check_command(arguments: argparse.Namespace) -> int:
    """Grade the visible cases, print the table; 0 only when every visible case passes."""
    from autograder.apps.preflight import refuse_if_unsafe, warn_if_unisolated
    from autograder.engine.runner import ProblemSet, grade
    from autograder.output.progress import LiveProgress
    from autograder.output.table import table
    from autograder.sandbox.gate import CallGate
    from autograder.sandbox.process import Sandbox

    cases = load_visible_cases(arguments.cases, arguments.problems)
    if arguments.only:
        cases = only(cases, arguments.only)
    submission = _submission(arguments.submission, cases.course)
    if refuse_if_unsafe():  # root that cannot drop to the worker's user; a student's own file needs no isolation check
        return 2
    warn_if_unisolated()  # but the student is told what it is not kept from
    count = sum(len(problem.cases) for problem in cases.problems)
    print(f"Checking {submission} on the {count} visible cases from {cases.origin}.\n", flush=True)
    limits = cases.course.make_limits()
    limits.call_timeout = arguments.timeout or limits.call_timeout
    progress = LiveProgress()
    packages = cases.course.package_names
    try:
        report = grade(
            CallGate.started(Sandbox(submission, limits, packages=packages)),
            ProblemSet(cases.problems),
            watcher=progress,
            packages=packages,
        )
    finally:
        progress.close()
    print(table(report, show_hidden=False, verbose=arguments.all))
    print("\n" + check_footer(report, cases, arguments.only, arguments.all))
    return 0 if not report.error and all(result.verdict.passed for result in report.results) else 1


def only(cases: VisibleCases, function: str) -> VisibleCases:
    """The cases of one function, each worth what it is worth on Gradescope."""
    kept = [replace(problem, cases=[case for case in problem.cases if case.function == function]) for problem in cases.problems]
    kept = [replace(problem, points=round(sum(case.weight for case in problem.cases), 4)) for problem in kept if problem.cases]
    if not kept:
        names = sorted({case.function for problem in cases.problems for case in problem.cases})
        raise KitError(f"no visible case calls {function!r}; the functions are: {', '.join(names)}")
    return replace(cases, problems=kept)


def _submission(given: Path | None, course: Course) -> Path:
    """The file to check: the one named, the course's submission in a named folder (found as Gradescope finds
    it), else the first of the course's ``submission_names`` in the current folder."""
    from autograder.apps.submission import find_submission, named_file

    if given is None:
        given = next((Path(name) for name in course.submission_names if Path(name).is_file()), Path(course.starter_name))
    if given.is_dir():
        return find_submission(given, course)[0]
    if not given.is_file() and not given.is_symlink():
        raise KitError(
            f"{given} does not exist. Pass the path of your {' (or '.join(course.submission_names)}"
            f"{')' * (len(course.submission_names) - 1)}."
        )
    # as Gradescope takes it: a file of its own, not a link, within the size limit
    return named_file(given, course, f"pass your {course.starter_name}")


def check_footer(report: Any, cases: VisibleCases, only_function: str | None, shown_all: bool) -> str:
    """What the run means on Gradescope: the points run here and elsewhere, follow-through, and the verdict;
    when the table left failures out (it shows the first of each function), how to see them all."""
    lines = [points_line(cases.points)]
    if only_function:
        lines.append(
            f"The visible cases of {only_function}, run here, are worth {sum(problem.points for problem in cases.problems):g} of them."
        )
    if cases.hidden_cases:
        lines.append(
            f"Gradescope also runs the {cases.hidden_cases} hidden cases: it shows whether each passed, but not its inputs or answer."
        )
    missed = [  # a wrong answer, or an exception a part may raise too; not the starter's NotImplementedError, nor no answer
        r.case.number
        for r in report.results
        if not r.verdict.passed
        and r.case.number in cases.follow_through
        and r.outcome is not None
        and (r.outcome.kind == "returned" or (r.outcome.kind == "raised" and r.outcome.error.get("type") != "NotImplementedError"))
    ]
    if missed:
        lines.append(
            f"Case{'s' if len(missed) > 1 else ''} {', '.join(missed)} can still earn part of {'their' if len(missed) > 1 else 'its'} points on Gradescope (follow-through credit) "
            "when the answer, or the exception, is what your own helper functions give; that needs the reference solution, "
            "so check cannot tell."
        )
    failures = [r for r in report.results if not r.verdict.passed]
    if report.error or failures:
        left_out = not shown_all and len(failures) > len({r.case.function for r in failures})
        lines.append(
            f"{len(failures)} visible case{'s' if len(failures) != 1 else ''} fail{'s' if len(failures) == 1 else ''}."
            + (" Add --all to see every case, and every failure in full." if left_out else "")
        )
    else:
        lines.append("All visible cases pass.")
    return "\n".join(lines)


def points_line(points: Points) -> str:
    """The assignment's autograded points, by what earns them and where it runs: the kit's README says the same."""
    elsewhere = [f"hidden cases {points.hidden:g}"] if points.hidden else []
    if points.checks:
        elsewhere.append(f"Python check{'s' if points.check_count != 1 else ''} {points.checks:g}")
    line = f"Points: visible cases {points.visible:g} (run here)"
    if elsewhere:
        line += f"; {' and '.join(elsewhere)} (run on Gradescope only)"
    return f"{line}; {points.total:g} autograded in all."
