"""What batch keeps of each graded submission (``<id>/summary.json``): the CSV and the report are built from it.

Plain JSON on disk, typed here so that a status or a field name cannot drift
between the module that writes a record and those that read it.
"""

from __future__ import annotations

from typing import Literal, TypedDict

Status = Literal["graded", "no submission", "grader error", "not graded"]


class Failure(TypedDict):
    summary: str
    diagnosis: str
    where: str


class Record(TypedDict, total=False):
    status: Status
    message: str
    score: float
    max_score: float
    problems: dict[str, float]  # problem key -> points earned
    passed: list[str]  # case numbers
    failures: dict[str, Failure]  # case number -> how it failed
    cases: dict[str, str]  # case number -> spec file and line
    notices: list[str]
    load_failed: bool
    timeouts: list[str]
    file: str
    notes: list[str]
    fingerprint: str | None
    seconds: float


NOT_GRADED: Record = {"status": "not graded", "message": "not graded yet: the run was interrupted"}
