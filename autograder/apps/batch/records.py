"""What batch keeps of each graded submission (``<id>/summary.json``): the CSV and the report are built from it.

Plain JSON on disk, typed here so that a status or a field name cannot drift
between the module that writes a record and those that read it. The texts
marked "student text" quote the submission (its file's name, what went wrong
loading it): grades.csv and report.html show them only through the renderers
of autograder/text.py.

The points come from engine/scoring.py, as results.json's score does: a
record keeps each problem's points earned and possible, Python checks
included, and :func:`points_possible` reads the class's columns from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal, TypedDict

if TYPE_CHECKING:
    from autograder.model import Problem

Status = Literal["graded", "no submission", "grader error", "not graded"]


class Failure(TypedDict):
    summary: str
    diagnosis: str
    where: str


class CheckEntry(TypedDict):
    name: str
    problem: str  # its problem's key
    passed: bool
    hidden: bool  # not visible to students before publication


class Record(TypedDict, total=False):
    status: Status
    message: str  # student text
    score: float  # scoring.total: results.json's score
    max_score: float  # scoring.possible
    problems: dict[str, float]  # problem key -> points earned (scoring.earned)
    maxima: dict[str, float]  # problem key -> points possible, Python checks included (scoring.earned)
    passed: list[str]  # case numbers
    failures: dict[str, Failure]  # case number -> how it failed
    cases: dict[str, str]  # case number -> spec file and line
    checks: dict[str, CheckEntry]  # a Python check's number -> its name, problem and verdict (absent in older records)
    notices: list[str]  # student text
    load_failed: bool
    timeouts: list[str]
    file: str  # student text
    notes: list[str]  # student text
    fingerprint: str | None
    seconds: float


NOT_GRADED: Record = {"status": "not graded", "message": "not graded yet: the run was interrupted"}


def points_possible(records: Iterable[Record | None], problems: list[Problem]) -> tuple[dict[str, float], float]:
    """What each autograded problem is worth, by key, and what the whole is worth, as grading counted them.

    That is the graded records' own maxima (Python checks included): the most
    any of them counted, so one grade whose checks could not run does not lower
    the class's. A problem no graded record counted (nobody graded yet, or a
    record from before records kept maxima) is worth its spec's points.
    """
    graded = [record for record in records if record and record.get("status") == "graded"]
    worth = {
        problem.key: max((r["maxima"][problem.key] for r in graded if problem.key in r.get("maxima", {})), default=problem.points)
        for problem in problems
        if not problem.graded_by_hand
    }
    whole = max((r["max_score"] for r in graded if "maxima" in r and "max_score" in r), default=round(sum(worth.values()), 4))
    return worth, whole
