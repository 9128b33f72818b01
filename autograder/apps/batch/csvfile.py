"""``grades.csv``: one row per submission for a spreadsheet, rebuilt on every run from the records.

Student-written text (names, ids, file names, messages quoting their code's
output) is hostile: every text cell goes through ``text.to_csv``, which takes
out control characters and quotes a cell a spreadsheet would run as a formula.
The points are the records' (engine/scoring.py, as results.json's score):
Python checks included in each problem's column, its header and the maximum.
UTF-8 with a byte-order mark, which Excel needs.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.apps.batch.records import NOT_GRADED, Record, points_possible
from autograder.output.files import write_text
from autograder.text import StudentText, Text, Trusted, to_csv

if TYPE_CHECKING:
    from autograder.apps.batch.export import Submission
    from autograder.model import Problem

Rows = list[tuple["Submission", "Record | None"]]
Cell = Text | float | None


# --------------------------------------------------------------------------- grades.csv


def write_csv(path: Path, rows: Rows, problems: list[Problem]) -> None:
    """One row per submission, for a spreadsheet: UTF-8 with a BOM (Excel needs it), no formula injection."""
    worth, whole = points_possible((record for _, record in rows), problems)
    questions = [problem for problem in problems if problem.key in worth]
    header = [
        "submission_id",
        "names",
        "sids",
        "emails",
        "submitted_at",
        "status",
        "file",
        *[f"{problem.label} (/{worth[problem.key]:g})" for problem in questions],
        "total",
        "max_score",
        "gradescope_score",
        "difference",
        "note",
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([to_csv(Trusted(title)) for title in header])
    for submission, record in rows:
        record = record or NOT_GRADED
        scored = record["status"] != "not graded"
        per_question = [record.get("problems", {}).get(problem.key, 0.0) if scored else None for problem in questions]
        cells: list[Cell] = [
            StudentText(submission.id),
            *[StudentText("; ".join(person[key] for person in submission.submitters)) for key in ("name", "sid", "email")],
            StudentText(submission.created_at),
            Trusted(record["status"]),
            StudentText(record.get("file", "")),
            *per_question,
            record["score"] if scored else None,
            record.get("max_score", whole) if record["status"] == "graded" else whole,
            submission.recorded_score,
            score_difference(submission, record),
            StudentText(note(record)),
        ]
        writer.writerow([_cell(value) for value in cells])
    write_text(path, buffer.getvalue(), encoding="utf-8-sig")


def score_difference(submission: Submission, record: Record | None) -> float | None:
    """New score minus Gradescope's, or None when either is unknown."""
    if not record or record["status"] == "not graded" or submission.recorded_score is None:
        return None
    difference = round(record["score"] - submission.recorded_score, 4)
    return difference if abs(difference) >= 1e-4 else 0.0


def _cell(value: Cell) -> str:
    """Numbers as numbers (at most four decimals), texts through the CSV renderer, nothing as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, str):
        return to_csv(value)
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def note(record: Record) -> str:
    """Every note the submission's results carry, in one cell (older records have only their message): student text."""
    notes = record.get("notes")
    return "; ".join(notes) if isinstance(notes, list) else record.get("message", "")
