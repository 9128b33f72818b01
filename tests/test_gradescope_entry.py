"""Gradescope's entry point writes a valid results.json whatever fails after grading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.apps import cli, gradescope
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


def test_run_autograders_call_grades_without_building_the_command_line_parser(gradescope: GradescopeLayout) -> None:
    """run_autograder's call skips argparse (its parser, its formatter's and gettext's imports: ~3 ms of every grade)."""
    gradescope.submit({SOLUTION.name: SOLUTION.read_text()})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPROFILEIMPORTTIME", "1")  # -X importtime: every module the grader imports, on its stderr
        data = gradescope.run()
    assert data["score"] == total_points()
    imported = {
        line.rsplit("|", 1)[-1].strip() for line in gradescope.process.stderr.decode().splitlines() if line.startswith("import time:")
    }
    assert {"autograder.apps.gradescope", "numpy"} <= imported  # the log is real
    assert not imported & {"argparse", "gettext", "shutil", "locale"}


@pytest.mark.parametrize(
    ("argv", "root"),
    [(["gradescope"], None), (["gradescope", "--root", "/somewhere/autograder"], Path("/somewhere/autograder"))],
)
def test_the_fast_reading_of_run_autograders_call_agrees_with_the_parser(argv: list[str], root: Path | None) -> None:
    fast = cli._run_autograders_call(argv)
    parsed = cli._parse(argv)
    assert fast is not None
    assert (fast.command, fast.root, fast.handler) == (parsed.command, parsed.root, parsed.handler) == ("gradescope", root, cli._gradescope)


@pytest.mark.parametrize(
    "argv",
    [
        ["gradescope", "--root=/x"],
        ["gradescope", "--root"],
        ["gradescope", "--help"],
        ["gradescope", "--root", "/x", "extra"],
        ["grade", "x"],
        [],
    ],
)
def test_every_other_command_line_goes_to_the_parser(argv: list[str]) -> None:
    assert cli._run_autograders_call(argv) is None
