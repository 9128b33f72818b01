"""Where a person is watching, a grader that cannot run student code stops and says why; it never grades a class of zeros."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from autograder.apps.cli import main
from autograder.sandbox import isolation

from conftest import SOLUTION

root_only = pytest.mark.needs_root(reason="only a root grader switches to the worker's user")


@pytest.fixture
def python_out_of_the_workers_reach(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NumPy as if it lay in a folder of root's alone (pytest's tmp_path is one): the worker's user could not import it."""
    private = tmp_path / "site-packages" / "numpy"
    private.mkdir(parents=True)
    monkeypatch.setattr(isolation, "_worker_needs", lambda: [Path(sys.executable).resolve(), private])


@root_only
def test_grade_refuses_before_grading_and_names_the_fix(
    python_out_of_the_workers_reach: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "results.json"
    assert main(["grade", str(SOLUTION), "--json", str(report)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: student code cannot be run safely here") and "is not readable by 'autograder-worker'" in error
    assert "Nothing was graded" in error and not report.exists()


@root_only
def test_check_refuses_before_grading(python_out_of_the_workers_reach: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SOLUTION)]) == 2
    assert "student code cannot be run safely here" in capsys.readouterr().err


def test_a_students_check_does_not_ask_about_isolation(a_kernel_that_cannot_isolate: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SOLUTION)]) == 0


@root_only
def test_batch_refuses_before_grading_anyone(
    python_out_of_the_workers_reach: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "class"
    for student in ("ann", "bob"):
        (folder / student).mkdir(parents=True)
        (folder / student / SOLUTION.name).write_text(SOLUTION.read_text())
    out = tmp_path / "out"
    assert main(["batch", str(folder), "--out", str(out)]) == 2
    assert "student code cannot be run safely here" in capsys.readouterr().err
    assert not (out / "grades.csv").exists()


@root_only
def test_selfcheck_fails_where_the_worker_cannot_run(python_out_of_the_workers_reach: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selfcheck"]) == 1
    assert "is not readable by 'autograder-worker'" in capsys.readouterr().err


@root_only
def test_selfcheck_passes_where_a_worker_runs_as_its_own_user(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selfcheck"]) == 0
    assert "answered as it must" in capsys.readouterr().out


@root_only
def test_selfcheck_imports_what_students_may_import_as_the_workers_user() -> None:
    from autograder.apps.preflight import prove_the_worker_runs

    failure = prove_the_worker_runs(["no_such_package_anywhere"])
    assert failure is not None and "No module named 'no_such_package_anywhere'" in failure
    # A package imported by another name than pip's (pyyaml as yaml, typing-extensions as typing_extensions): the
    # probe imported the distribution's name, and a course listing one failed setup.sh (review).
    assert prove_the_worker_runs(["pyyaml", "typing-extensions"]) is None


@pytest.fixture
def a_kernel_that_cannot_isolate(monkeypatch: pytest.MonkeyPatch) -> None:
    """As an older kernel without namespaces for ordinary users or Landlock's signal scoping would report itself."""
    monkeypatch.setattr(isolation.Isolation, "weaknesses", lambda self: ["the worker can kill the grader's own processes"])


def test_grade_and_batch_refuse_where_student_code_would_not_be_isolated(
    a_kernel_that_cannot_isolate: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["grade", str(SOLUTION)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: student code would not be isolated here: the worker can kill the grader's own processes")
    assert "--allow-unisolated" in error
    (tmp_path / "class" / "ann").mkdir(parents=True)
    (tmp_path / "class" / "ann" / SOLUTION.name).write_text(SOLUTION.read_text())
    assert main(["batch", str(tmp_path / "class"), "--out", str(tmp_path / "out")]) == 2
    assert "would not be isolated" in capsys.readouterr().err and not (tmp_path / "out" / "grades.csv").exists()


def test_told_to_go_on_they_grade(a_kernel_that_cannot_isolate: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", str(SOLUTION), "--allow-unisolated"]) == 0
    assert "Autograded score" in capsys.readouterr().out
