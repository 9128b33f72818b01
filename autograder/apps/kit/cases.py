"""The student kit's cases: ``cases.json`` (visible cases, expected and known-wrong answers precomputed).

``check`` reads its cases from either source (see :func:`find_cases`):

1. ``--cases FILE`` or ``--problems DIR`` when given;
2. else a ``cases.json`` in the current folder (an unzipped kit), then one
   beside the ``autograder`` package, then the ``problems/`` beside it (an
   instructor's checkout). A ``problems/`` in the current folder is never
   taken unless named: it holds code that would be imported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from autograder.apps.course import Course, load
from autograder.apps.paths import PACKAGE_ROOT
from autograder.model import CheckResult, Outcome, Problem

KIT_CASES = "cases.json"


KIT_FOLDER = "student_kit"  # the kit's one top-level folder, so unzipping makes one folder


CASES_FORMAT = 2  # 2: the points of the hidden cases and of the Python checks


class KitError(Exception):
    """Something the person running the command can fix; the message says what."""


@dataclass(frozen=True)
class Points:
    """The autograded points of an assignment, by what earns them (problems graded by hand have none)."""

    visible: float  # the visible YAML cases: what check runs
    hidden: float  # the hidden YAML cases: run on Gradescope only
    checks: float  # the Python checks (problems/*/test_*.py): run on Gradescope only, never shipped in the kit
    check_count: int = 0

    @property
    def total(self) -> float:
        return round(self.visible + self.hidden + self.checks, 4)


@dataclass
class VisibleCases:
    """What ``check`` runs, and what it can say about what it does not run: the whole assignment's points,
    split as Gradescope gives them, into the visible cases, the hidden cases and the Python checks."""

    problems: list[Problem]  # visible cases only; each problem's points are those cases' points
    points: Points  # of the whole assignment, whatever --only keeps
    hidden_cases: int
    origin: str  # where they were read, for the first line of the output
    follow_through: dict[str, float]  # case number -> share, for kit cases that cannot compute it
    course: Course


def find_cases() -> Path:
    """The kit's cases.json or a checkout's problems/, looked for in the documented order."""
    for candidate in (Path.cwd() / KIT_CASES, PACKAGE_ROOT / KIT_CASES, PACKAGE_ROOT / "problems"):
        if candidate.exists():
            return candidate
    raise KitError(
        f"found no {KIT_CASES} (student kit) in {Path.cwd()} or {PACKAGE_ROOT}, nor problems/ beside the engine. "
        "Run this from the unzipped kit folder, or pass --cases or --problems."
    )


def load_visible_cases(cases_file: Path | None = None, problems: Path | None = None) -> VisibleCases:
    """The visible cases, from a kit's cases.json or from an instructor's specs."""
    from autograder.engine import problemset

    source = cases_file or problems or find_cases()
    if source.is_file():
        try:
            document = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise KitError(f"cannot read {source}: {error}") from None
        try:
            return from_document(document, str(source))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise KitError(f"{source} is damaged ({type(error).__name__}: {error}); unzip the kit again") from None
    course = load(source)
    return from_specs(problemset.load(source), str(source), course, python_checks(problemset.find_checks(source), course))


def python_checks(files: list[Path], course: Course) -> list[CheckResult]:
    """The Python checks in ``files``, each with the points it is worth, found by running them with no submission
    behind the ``student`` fixture: every call they make raises at once, so each fails, with its full ``max_score``."""
    from autograder.engine.checks import CheckError, run_checks

    try:
        return run_checks(files, _NoSubmission(), course.module_names)
    except CheckError as error:
        raise KitError(f"{error}\nFix the check files (python -m autograder validate runs them on the reference solution).") from None


class _NoSubmission:
    """A call gate with nothing behind it (engine/checks.py's ``Caller``): no call is ever made."""

    def call(self, function: str, args: Sequence[object], kwargs: dict[str, object] | None = None) -> Outcome:
        return Outcome("skipped", reason="not loaded")


def from_specs(problems: list[Problem], origin: str, course: Course, checks: list[CheckResult]) -> VisibleCases:
    """Keep the visible cases of loaded specs, each worth exactly what it is worth on Gradescope.

    ``runner.grade`` splits a problem's points over its cases by weight, so
    each kept case's weight is set to its Gradescope share: the split then
    gives back the same points. The problems keep no path, so that ``check``
    never runs their Python checks: it shows what the student kit shows.
    ``checks`` are the problems' Python checks (their points, not their verdicts, are used).
    """
    from autograder.engine.scoring import assign_max_scores

    visible: list[Problem] = []
    hidden = 0.0
    for problem in problems:
        assign_max_scores(problem)
        # Its shown share is its exact share here: the kit's points are what the visible cases are shown to be worth.
        kept = [replace(case, weight=case.max_score, share=case.max_score) for case in problem.cases if not case.hidden]
        visible.append(replace(problem, cases=kept, points=round(sum(case.max_score for case in kept), 4), path=None))
        if not problem.graded_by_hand:
            hidden += sum(case.max_score for case in problem.cases if case.hidden)
    graded = {problem.key for problem in problems if not problem.graded_by_hand}
    counted = [check for check in checks if check.problem in graded]
    return VisibleCases(
        problems=visible,
        points=Points(
            visible=round(sum(p.points for p in visible if p.key in graded), 4),
            hidden=round(hidden, 4),
            checks=round(sum(check.max_score for check in counted), 4),
            check_count=len(counted),
        ),
        hidden_cases=sum(case.hidden for problem in problems for case in problem.cases),
        origin=origin,
        follow_through={},  # with the specs at hand, the runner computes it
        course=course,
    )


def to_document(cases: VisibleCases) -> dict[str, Any]:
    """The kit's cases.json: visible cases, with expected and known wrong answers precomputed."""
    from autograder.engine.compiled import problems_document

    return {
        "format": CASES_FORMAT,
        "about": "The visible cases of the problem set, written by `python -m autograder build`. Hidden cases are not in this file.",
        "points": {
            "visible": cases.points.visible,
            "hidden": cases.points.hidden,
            "checks": cases.points.checks,
            "check_count": cases.points.check_count,
        },
        "hidden_cases": cases.hidden_cases,
        "course": {
            "title": cases.course.title,
            "submission_names": list(cases.course.submission_names),
            "submission_max_bytes": cases.course.submission_max_bytes,
            "student_packages": list(cases.course.student_packages),
            "limits": dict(cases.course.limits),
        },
        "problems": problems_document([_without_seeds(problem) for problem in cases.problems]),
    }


def _without_seeds(problem: Problem) -> Problem:
    """The problem with each generated case's place in the specs named without its seed (``spec.yaml:215``, not
    ``spec.yaml:215 (seed 109, draw 1)``): a kit holds no seed, visible case's or not."""
    cases = [replace(case, where=case.where.split(" (seed ")[0]) for case in problem.cases]
    return replace(problem, cases=cases)


def from_document(document: dict[str, Any], origin: str) -> VisibleCases:
    """Inverse of :func:`to_document`: Problem and Case objects that ``runner.grade`` takes as they are.

    The kit has no reference code, so follow-through is not computed here; the
    shares are kept to tell the student which cases may still earn some.
    """
    from autograder.engine.compiled import problems_from_document

    if not isinstance(document, dict) or document.get("format") != CASES_FORMAT:
        raise KitError(f"{origin} is not a cases file of format {CASES_FORMAT}: rebuild the kit with this engine")
    follow_through = {
        raw["number"]: raw["follow_through"]["share"] for entry in document["problems"] for raw in entry["cases"] if "follow_through" in raw
    }
    course = document["course"]
    return VisibleCases(
        problems_from_document(document["problems"]),
        Points(**document["points"]),
        document["hidden_cases"],
        origin,
        follow_through,
        Course(
            title=course["title"],
            submission_names=tuple(course["submission_names"]),
            submission_max_bytes=course["submission_max_bytes"],
            student_packages=tuple(course["student_packages"]),
            limits=course["limits"],
        ),
    )
