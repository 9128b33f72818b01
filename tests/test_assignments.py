"""Every assignment in the repository (the root's, and each assignments/*/) is built, validated and graded as
an instructor would: its solution earns full marks from the zip `build` writes, each of its known-wrong
files loses points exactly where it is wrong with the mistake named, and `make grade`'s command grades
the configured solution. Then any of them put at the repository's root passes the fast test suite.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from autograder.apps.cli import main
from autograder.engine.runner import grade, load_problem_set
from autograder.sandbox.gate import CallGate
from autograder.sandbox.process import Sandbox

from conftest import ASSIGNMENTS, REPO, Assignment, GradescopeLayout, copy_repository, graded_functions, total_points

MISTAKES = [(assignment, mistake) for assignment in ASSIGNMENTS for mistake in assignment.mistakes]


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=str)
def test_the_built_zip_grades_the_solution_to_full_marks(
    assignment: Assignment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "dist"
    assert main(["build", "--problems", str(assignment.problems), "--out", str(out)]) == 0, capsys.readouterr().err
    unzipped = tmp_path / "unzipped"
    with zipfile.ZipFile(out / "autograder.zip") as archive:
        archive.extractall(unzipped)
    assert (unzipped / "problems" / "compiled.json").is_file()  # graded from the cache, as on Gradescope
    layout = GradescopeLayout(tmp_path / "autograder", assignment=unzipped)
    layout.submit({assignment.course.starter_name: assignment.solution.read_text()})
    data = layout.run()  # what a full-marks grade shows in detail: test_end_to_end.py, from the specs
    assert data["score"] == total_points(assignment.problems), [t["output"][:300] for t in data["tests"] if t.get("status") == "failed"]


def _defined_functions(source: str) -> set[str]:
    return {node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}


@pytest.mark.parametrize("assignment, mistake", MISTAKES, ids=[f"{a}:{m.stem}" for a, m in MISTAKES])
def test_a_known_wrong_file_loses_points_where_wrong_with_its_mistake_named(assignment: Assignment, mistake: Path, tmp_path: Path) -> None:
    """Each function the file redefines loses points, and its failures name a known mistake (a spec's
    ``mistakes:``). A file named ``hardcoded*.py`` hard-codes answers rather than making a mistake: it need
    only lose points (solutions/mistakes/README.md says so). A function that only the course's Python checks
    call has no cases to name a mistake on: a check must fail."""
    submission = tmp_path / assignment.course.starter_name
    submission.write_text(assignment.with_mistake(mistake))
    report = grade(
        CallGate.started(Sandbox(submission, assignment.course.make_limits(), worker_user=None)),
        load_problem_set(assignment.problems),
        module_names=assignment.course.module_names,
    )
    assert not report.error and not report.notices
    wrong = _defined_functions(mistake.read_text())
    graded = graded_functions(assignment.problems)
    assert wrong, f"{mistake.name} redefines no function"
    if wrong - graded:
        assert any(not check.passed for check in report.checks), f"no case calls {sorted(wrong - graded)}, and no Python check failed"
    for function in wrong & graded:
        results = [result for result in report.results if result.case.function == function]
        assert any(result.score < result.case.max_score for result in results), f"{function} kept full marks"
        named = [result for result in results if not isinstance(result.case.expected.value, bool)]  # a True/False names none
        if not mistake.stem.startswith("hardcoded") and named:
            assert any(result.diagnosis for result in named), (
                f"no known mistake named for {function}: give its spec a mistakes: entry whose solver makes this mistake, "
                f"or keep {mistake.name} out of solutions/mistakes (docs/instructors.md, 'Starting a new course')"
            )


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=str)
def test_make_grades_command_grades_the_configured_solution(assignment: Assignment, capsys: pytest.CaptureFixture[str]) -> None:
    """`make grade` runs `python -m autograder grade solutions`: the course's own file is found among them."""
    assert main(["grade", str(assignment.root / "solutions"), "--problems", str(assignment.problems)]) == 0
    out = capsys.readouterr().out
    total = total_points(assignment.problems)
    assert f"Graded {assignment.course.starter_name}." in out and f"Autograded score: {total:g} / {total:g}" in out


@pytest.mark.slow
@pytest.mark.parametrize("assignment", [a for a in ASSIGNMENTS if a.root != REPO], ids=str)
def test_any_assignment_at_the_root_passes_the_fast_test_suite(assignment: Assignment) -> None:
    """An instructor who replaces problems/, assignment.yaml and solutions/ by another course's runs the
    README's test command, and it passes: no test is about the root assignment unless it is its own."""
    base = Path(tempfile.mkdtemp(prefix="ag-course-", dir="/tmp"))  # traversable: as root, the worker's user reads the engine
    try:
        base.chmod(0o755)
        copy = copy_repository(base / "repository", root_assignment=assignment)
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "AUTOGRADER_"))}
        env["PYTHONPATH"] = str(copy)  # the copy's engine, not this checkout's
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-m", "not slow", "-q", "-p", "no:cacheprovider"],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    finally:
        shutil.rmtree(base, ignore_errors=True)
