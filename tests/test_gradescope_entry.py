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

    def failing_release(self: Isolation, swept: bool = False) -> list[int]:
        real_release(self, swept)
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
    """run_autograder's call skips argparse (its parser, its formatter's and gettext's imports: ~3 ms of every grade).

    -X importtime logs each module as its import ends, in order: what is logged before the grade's own
    module (autograder.apps.gradescope) is what reading the command line imported. (A course's Python
    checks import pytest, and argparse with it, later: that is theirs.)
    """
    gradescope.submit({SOLUTION.name: SOLUTION.read_text()})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPROFILEIMPORTTIME", "1")  # -X importtime: every module the grader imports, on its stderr
        data = gradescope.run()
    assert data["score"] == total_points()
    log = gradescope.process.stderr.decode().splitlines()
    imported = [line.rsplit("|", 1)[-1].strip() for line in log if line.startswith("import time:")]
    assert "numpy" in imported and "autograder.apps.gradescope" in imported, log[-5:]  # the log is real
    before_the_grade = set(imported[: imported.index("autograder.apps.gradescope")])
    assert "autograder.apps.cli" in before_the_grade
    assert not before_the_grade & {"argparse", "gettext", "shutil", "locale"}


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
