"""The notes a submission's results.json opens with, the same whether Gradescope or a batch run graded it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autograder.model import Report
from autograder.output.results import gradescope_json
from autograder.text import Text


def graded_json(report: Report, note: Text, earlier: Sequence[Text] = ()) -> dict[str, Any]:
    """``report``'s results.json, its summary opening with ``earlier`` notes (what an export says of the
    submission) and then ``note`` (which file was graded), so a student reads the same page from either."""
    return gradescope_json(report, notes=[*earlier, *([note] if note else [])])
