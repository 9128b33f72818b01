"""Gradescope's entry point writes a valid results.json whatever fails after grading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.apps import gradescope
from autograder.sandbox.isolation import Isolation

from conftest import SOLUTION, GradescopeLayout, check_results, total_points


def test_a_failed_clean_up_still_writes_the_result_and_tells_staff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = GradescopeLayout(tmp_path / "autograder")
    layout.submit({SOLUTION.name: SOLUTION.read_text()})
    real_release = Isolation.release

    def failing_release(self: Isolation) -> list[int]:
        real_release(self)
        raise RuntimeError("the reaper did not answer")

    monkeypatch.setattr(Isolation, "release", failing_release)
    gradescope.run(layout.root)
    raw = layout.results_file.read_bytes()
    data = json.loads(raw)
    check_results(data, raw)
    assert data["score"] == total_points()
    staff = [test["output"] for test in data["tests"] if test.get("visibility") == "hidden"]
    assert any("killing the worker's user's processes failed: RuntimeError: the reaper did not answer" in text for text in staff)
