"""pytest for instructors (``pytest problems/ --submission FILE``), and gradescope-utils suites in the grader's checks.

The plugin is run as instructors run it: pytest in a subprocess, the plugin
loaded through its installed ``pytest11`` entry point. The checks' import of
the submission by name (``from ps3 import conv2d``) and ``@leaderboard`` run
through ``run_checks`` over a real sandbox, the root assignment's solution submitted;
the tests marked ``ps3`` use Problem Set 3's own functions and problems as material.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import jsonschema
import pytest

from autograder.apps.pytest_plugin import SPEC_NAME
from autograder.engine.checks import CheckError, SubmissionModule, find_checks, run_checks, submission_module_names
from autograder.engine.specs import load_problem, load_specs
from autograder.model import CheckResult, Report
from autograder.output.results import gradescope_json
from autograder.sandbox.process import Sandbox

from conftest import REPO, SOLUTION, call_gate, graded_functions, sandbox_running, write_files

SCHEMA = json.loads((Path(__file__).parent / "gradescope_results.schema.json").read_text())


def _pytest(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """pytest in a fresh process, as an instructor starts it: installed plugins load, nothing from this run's environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_CURRENT_TEST")
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


# --------------------------------------------------------------------------- the pytest11 plugin


def test_the_plugin_is_an_installed_pytest11_entry_point() -> None:
    assert {ep.name: ep.value for ep in entry_points(group="pytest11")}.get("autograder") == "autograder.apps.pytest_plugin"


def test_every_case_is_a_test_and_the_solution_passes_them_all() -> None:
    ran = _pytest("problems/", "--submission", SOLUTION.relative_to(REPO).as_posix(), "-v")
    cases = [(problem, case) for problem in load_specs(REPO / "problems") for case in problem.cases]
    # The course's Python checks run too, importing the submission by the course's module name (``from lab2 import f``).
    checks = [
        f"{path.relative_to(REPO).as_posix()}::{node.name}"
        for path in find_checks(REPO / "problems")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    ]
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert f" {len(cases) + len(checks)} passed" in ran.stdout.splitlines()[-1]
    for problem, case in cases:
        assert f"problems/{problem.key}/spec.yaml::{case.number} {case.name} PASSED" in ran.stdout
    for check in checks:
        assert f"{check} PASSED" in ran.stdout
    assert "runs in the sandbox" in ran.stdout  # the header names the submission and what it defines


@pytest.mark.ps3
def test_a_flipped_kernel_fails_at_its_cases_spec_lines(tmp_path: Path) -> None:
    submission = tmp_path / "ps3.py"
    submission.write_text(SOLUTION.read_text() + "\n\n" + (REPO / "solutions" / "mistakes" / "flipped_kernel.py").read_text())
    junit = tmp_path / "junit.xml"
    ran = _pytest("problems/", f"--submission={submission}", "-q", f"--junitxml={junit}", "-o", "junit_family=xunit1")
    assert ran.returncode == 1, ran.stdout[-3000:] + ran.stderr[-3000:]
    q3a = load_problem(REPO / "problems" / "q3a" / "spec.yaml")
    flipped = [case for case in q3a.cases if any("flipped" in message for _, message in case.known_mistakes)]
    symmetric = q3a.cases[0]  # the problem-set instance: K is symmetric, so flipping it changes nothing
    assert flipped and symmetric not in flipped
    first = flipped[0]
    line = int(first.where.rsplit(":", 1)[1])
    assert f"FAILED problems/q3a/spec.yaml::{first.number} {first.name}" in ran.stdout
    assert f"problems/q3a/spec.yaml:{line}: {first.name}" in ran.stdout  # the failure says where the case is
    assert "kernel was flipped" in ran.stdout  # with the diagnosis
    assert f"FAILED problems/q3a/spec.yaml::{symmetric.number} " not in ran.stdout
    # reportinfo: each item is located at its spec file and line (0-based in pytest, as for Python tests)
    testcase = re.search(rf'<testcase [^>]*name="{re.escape(first.number)} [^>]*>', junit.read_text())
    assert testcase and f'file="problems/q3a/spec.yaml" line="{line - 1}"' in testcase.group(0)


@pytest.mark.ps3
def test_the_problems_checks_run_with_the_same_submission(tmp_path: Path) -> None:
    """The checks get ``student``, ``self.student`` and ``from ps3 import f``; a failing check fails."""
    shutil.copytree(REPO / "problems" / "q3a", tmp_path / "problems" / "q3a", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "assignment.yaml", tmp_path / "assignment.yaml")
    write_files(
        tmp_path,
        {
            "problems/q3a/test_conv_checks.py": """
        import unittest

        import numpy as np
        from gradescope_utils.autograder_utils.decorators import weight

        from ps3 import conv2d


        @weight(2)
        def test_linear(student):
            x, k = np.arange(12.0).reshape(3, 4), np.array([[1.0, -2.0]])
            assert np.allclose(conv2d(2 * x, k), 2 * np.asarray(student.conv2d(x, k)))


        def test_wrong_on_purpose(student):
            assert student.conv2d(np.ones((2, 2)), np.ones((1, 1))).tolist() == [[5.0]]


        class TestShape(unittest.TestCase):
            def test_shape(self):
                self.assertEqual(np.asarray(self.student.conv2d(np.ones((5, 5)), np.ones((3, 3)))).shape, (3, 3))
        """
        },
    )
    ran = _pytest("problems/", f"--submission={SOLUTION}", "-v", cwd=tmp_path)
    cases = load_problem(tmp_path / "problems" / "q3a" / "spec.yaml").cases
    assert ran.returncode == 1, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "test_conv_checks.py::test_linear PASSED" in ran.stdout
    assert "test_conv_checks.py::TestShape::test_shape PASSED" in ran.stdout
    assert "test_conv_checks.py::test_wrong_on_purpose FAILED" in ran.stdout
    assert f"1 failed, {len(cases) + 2} passed" in ran.stdout


def test_without_submission_the_plugin_does_nothing(tmp_path: Path) -> None:
    # The root's spec files alone: a course's Python checks import the submission, which only --submission provides.
    for spec in (REPO / "problems").glob(f"*/{SPEC_NAME}"):
        (tmp_path / "problems" / spec.parent.name).mkdir(parents=True)
        shutil.copy(spec, tmp_path / "problems" / spec.parent.name / SPEC_NAME)
    shutil.copy(REPO / "assignment.yaml", tmp_path / "assignment.yaml")
    ran = _pytest("problems/", "--collect-only", "-q", cwd=tmp_path)
    assert ran.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, ran.stdout + ran.stderr
    assert "spec.yaml" not in ran.stdout
    with_plugin = _pytest("tests/test_compare.py", "--collect-only", "-q")
    without = _pytest("tests/test_compare.py", "--collect-only", "-q", "-p", "no:autograder")

    def collected(ran: subprocess.CompletedProcess[str]) -> list[str]:
        return [line for line in ran.stdout.splitlines() if "::" in line]

    assert with_plugin.returncode == without.returncode == 0 and collected(with_plugin) == collected(without)


def test_a_missing_submission_is_a_usage_error() -> None:
    ran = _pytest("problems/", "--submission", "no/such/ps3.py", "--collect-only", "-q")
    assert ran.returncode == pytest.ExitCode.USAGE_ERROR and "no/such/ps3.py: no such file" in ran.stderr


# --------------------------------------------------------------------------- from ps3 import f, inside the grader's checks


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One worker over the root's solution for the module's tests."""
    with sandbox_running(tmp_path_factory.mktemp("student"), SOLUTION.read_text(), SOLUTION.name) as sandbox:
        yield sandbox


def _run(tmp_path: Path, box: Sandbox, checks: dict[str, str]) -> dict[str, CheckResult]:
    """The checks run as PS3's course runs them: the submission importable as its file's stem and as ``ps3``."""
    problems = write_files(tmp_path / "problems", checks)
    return {result.name: result for result in run_checks(find_checks(problems), call_gate(box), module_names=["ps3"])}


@pytest.mark.ps3
def test_a_check_imports_the_submission_by_name(tmp_path: Path, box: Sandbox) -> None:
    results = _run(
        tmp_path,
        box,
        {
            "q3a/test_imports.py": """
            import numpy as np

            import ps3
            from ps3 import conv2d, conv_output_size


            def test_from_import():
                assert conv_output_size(5, 3) == 3
                assert np.asarray(conv2d(np.ones((3, 3)), np.ones((2, 2)))).tolist() == [[4, 4], [4, 4]]


            def test_module_attribute_is_the_fixtures_function(student):
                assert repr(ps3.conv2d) == repr(student.conv2d) == "student.conv2d"


            def test_a_missing_function_is_a_student_error():
                from autograder.engine.checks import StudentError
                from ps3 import no_such_function
                try:
                    no_such_function()
                except StudentError as error:
                    assert error.kind == "skipped"
                else:
                    raise AssertionError("called")
            """,
            "q3b/test_star.py": """
            from ps3 import *


            def test_star():
                assert conv_output_size(7, 3) == 5
            """,
        },
    )
    assert {name: result.passed for name, result in results.items()} == {
        "test_from_import": True,
        "test_module_attribute_is_the_fixtures_function": True,
        "test_a_missing_function_is_a_student_error": True,
        "test_star": True,
    }


def test_the_module_is_there_only_during_the_session(tmp_path: Path, box: Sandbox) -> None:
    seen = """
        import sys


        def test_seen():
            assert type(sys.modules["ps3"]).__name__ == "SubmissionModule"
        """
    assert _run(tmp_path, box, {"q3a/test_seen.py": seen})["test_seen"].passed
    assert "ps3" not in sys.modules  # not left behind
    before = types.ModuleType("ps3")
    sys.modules["ps3"] = before
    try:
        assert not _run(tmp_path / "again", box, {"q3a/test_seen.py": seen})["test_seen"].passed  # a module there is never shadowed
        assert sys.modules["ps3"] is before
    finally:
        del sys.modules["ps3"]


def test_a_submission_under_another_name_is_importable_by_both(tmp_path: Path) -> None:
    path = tmp_path / "student" / "my_work.py"
    path.parent.mkdir()
    path.write_text("def double(x):\n    return 2 * x\n")
    with Sandbox(path, worker_user=None) as sandbox:
        results = _run(
            tmp_path,
            sandbox,
            {
                "q9/test_names.py": """
            from my_work import double as mine
            from ps3 import double


            def test_both():
                assert mine(2) == double(2) == 4
            """
            },
        )
    assert results["test_both"].passed
    assert "my_work" not in sys.modules


def test_a_file_name_that_is_a_real_module_never_shadows_it() -> None:
    def gate(name: str) -> types.SimpleNamespace:
        return types.SimpleNamespace(sandbox=types.SimpleNamespace(submission=Path("/upload") / name))

    assert submission_module_names(gate("ps3.ipynb"), ["ps3"]) == submission_module_names(gate("ps3.ipynb")) == ["ps3"]
    assert submission_module_names(gate("hw3.py"), ["ps3"]) == ["hw3", "ps3"]
    for taken in ("numpy.py", "json.py", "pytest.py", "autograder.py", "class.py", "ps3 (1).py", "my-work.py"):
        assert submission_module_names(gate(taken), ["ps3"]) == ["ps3"], taken
        assert submission_module_names(gate(taken)) == [], taken
    assert submission_module_names(object(), ["ps3"]) == ["ps3"]  # validate's stand-in gate has no sandbox
    assert submission_module_names(gate("hw3.py"), ["numpy"]) == ["hw3"]  # a course's name is held to the same rule


def test_the_module_lists_the_submissions_functions(box: Sandbox) -> None:
    from autograder.engine.checks import Student

    module = SubmissionModule(SOLUTION.stem, Student(call_gate(box)))
    assert graded_functions() <= set(module.__all__)
    with pytest.raises(AttributeError):
        module.__file__  # noqa: B018 - tools probing modules must see none


# --------------------------------------------------------------------------- @leaderboard


def test_leaderboard_checks_fill_the_results_leaderboard(tmp_path: Path, box: Sandbox) -> None:
    results = _run(
        tmp_path,
        box,
        {
            "q3a/test_board.py": """
        import numpy as np
        from gradescope_utils.autograder_utils.decorators import leaderboard, partial_credit, weight


        @leaderboard("accuracy")
        def test_accuracy(student, set_leaderboard_value=None):
            set_leaderboard_value(0.93)


        @weight(1)
        @leaderboard("seconds", "asc")
        def test_time(student, set_leaderboard_value=None):
            set_leaderboard_value(np.float64(1.5))


        @partial_credit(2)
        @leaderboard("both")
        def test_both(student, set_score=None, set_leaderboard_value=None):
            set_score(1)
            set_leaderboard_value(np.int64(7))


        @leaderboard("set then failed")
        def test_failed(student, set_leaderboard_value=None):
            set_leaderboard_value("B+")
            assert False


        @leaderboard("never set")
        def test_never_set(student, set_leaderboard_value=None):
            pass


        @leaderboard("not a number")
        def test_nan(student, set_leaderboard_value=None):
            set_leaderboard_value(float("nan"))
        """
        },
    )
    boards = {name: result.leaderboard for name, result in results.items()}
    assert boards == {
        "test_accuracy": [{"name": "accuracy", "value": 0.93, "order": "desc"}],
        "test_time": [{"name": "seconds", "value": 1.5, "order": "asc"}],
        "test_both": [{"name": "both", "value": 7, "order": "desc"}],
        "test_failed": [{"name": "set then failed", "value": "B+", "order": "desc"}],
        "test_never_set": [],
        "test_nan": [],
    }
    assert results["test_both"].score == 1 and results["test_time"].score == 1
    data = gradescope_json(Report(submission="ps3.py", checks=list(results.values())))
    jsonschema.validate(data, SCHEMA)
    assert data["leaderboard"] == [entry for board in boards.values() for entry in board]


def test_a_leaderboard_value_never_carries_over(tmp_path: Path, box: Sandbox) -> None:
    results = _run(
        tmp_path,
        box,
        {
            "q3a/test_twice.py": """
        import pytest
        from gradescope_utils.autograder_utils.decorators import leaderboard


        @pytest.mark.parametrize("first", [True, False])
        @leaderboard("score")
        def test_twice(student, first, set_leaderboard_value=None):
            if first:
                set_leaderboard_value(3)
        """
        },
    )
    assert [r.leaderboard for r in results.values()] == [[{"name": "score", "value": 3, "order": "desc"}], []]


def test_a_wrong_leaderboard_order_stops_the_checks(tmp_path: Path, box: Sandbox) -> None:
    with pytest.raises(CheckError, match="sort order"):
        _run(
            tmp_path,
            box,
            {
                "q3a/test_order.py": """
            from gradescope_utils.autograder_utils.decorators import leaderboard


            @leaderboard("score", "up")
            def test_order(student, set_leaderboard_value=None):
                set_leaderboard_value(1)
            """
            },
        )
