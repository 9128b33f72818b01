"""``grades.csv``: one row per submission for a spreadsheet, rebuilt on every run from the records.

Student-written text (names, ids, file names, messages quoting their code's
output) is hostile: a cell a spreadsheet would run as a formula gets a leading
quote. UTF-8 with a byte-order mark, which Excel needs.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.apps.batch.records import NOT_GRADED, Record
from autograder.output.files import write_text

if TYPE_CHECKING:
    from autograder.apps.batch.export import Submission
    from autograder.model import Problem

Rows = list[tuple["Submission", "Record | None"]]


# --------------------------------------------------------------------------- grades.csv


def write_csv(path: Path, rows: Rows, problems: list[Problem]) -> None:
    """One row per submission, for a spreadsheet: UTF-8 with a BOM (Excel needs it), no formula injection."""
    questions = [problem for problem in problems if not problem.graded_by_hand]
    header = ["submission_id", "names", "sids", "emails", "submitted_at", "status", "file",
              *[f"{problem.label} (/{problem.points:g})" for problem in questions],
              "total", "max_score", "gradescope_score", "difference", "note"]
    maximum = sum(problem.points for problem in questions)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for submission, record in rows:
        record = record or NOT_GRADED
        scored = record["status"] != "not graded"
        per_question = [record.get("problems", {}).get(problem.key, 0.0) if scored else None for problem in questions]
        writer.writerow([_cell(value) for value in [
            submission.id,
            *["; ".join(person[key] for person in submission.submitters) for key in ("name", "sid", "email")],
            submission.created_at, record["status"], record.get("file", ""), *per_question,
            record["score"] if scored else None, maximum, submission.recorded_score, score_difference(submission, record),
            note(record),
        ]])
    write_text(path, buffer.getvalue(), encoding="utf-8-sig")


def score_difference(submission: Submission, record: Record | None) -> float | None:
    """New score minus Gradescope's, or None when either is unknown."""
    if not record or record["status"] == "not graded" or submission.recorded_score is None:
        return None
    difference = round(record["score"] - submission.recorded_score, 4)
    return difference if abs(difference) >= 1e-4 else 0.0


def _cell(value: Any) -> Any:
    """Numbers as numbers; text that a spreadsheet would run as a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def note(record: Record) -> str:
    """Every note the submission's results carry, in one cell (older records have only their message)."""
    notes = record.get("notes")
    return "; ".join(notes) if isinstance(notes, list) else record.get("message", "")
