"""Custom checks in Python (problems/*/test_*.py): scoring, settings, isolation, and the student fixture.

Every test writes real check files into a temporary problems folder and runs
them against a real sandbox over a small student file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from autograder.engine.checks import CheckError, find_checks, run_checks
from autograder.model import CheckResult
from autograder.output.results import check_test
from autograder.sandbox.limits import Limits
from autograder.sandbox.process import Sandbox

from conftest import call_gate, sandbox_running, write_files

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((Path(__file__).parent / "gradescope_results.schema.json").read_text())

STUDENT = """
import os

def double(x):
    return 2 * x

def fails(x):
    raise ValueError(f"bad input {x}")

def crashes():
    os._exit(3)

def hangs():
    while True:
        pass

def earned():
    return 3
"""


def gradescope_tests(results: list[CheckResult]) -> list[dict[str, Any]]:
    return [check_test(result, {"q9": "Q9"}) for result in results]


def _run(tmp_path: Path, box: Sandbox, checks: dict[str, str]) -> dict[str, CheckResult]:
    """Run the given check files (paths under problems/) and return the results by name."""
    problems = write_files(tmp_path / "problems", checks)
    return {result.name: result for result in run_checks(find_checks(problems), call_gate(box))}


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One worker for the module's tests: starting one costs more than most checks."""
    with sandbox_running(tmp_path_factory.mktemp("student"), STUDENT, "ps.py") as sandbox:
        yield sandbox


def test_a_check_session_never_collects_the_graders_garbage(tmp_path: Path, box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest's unraisable-exception plugin ends each session with five gc.collect() over the whole process: in a
    grade with Python checks that was 140 ms of CPU (half a grade), in batch's larger process more, under its lock."""
    import gc

    collections: list[int] = []
    real_collect = gc.collect

    def counted(*args: int) -> int:
        collections.append(1)
        return real_collect(*args)

    monkeypatch.setattr(gc, "collect", counted)
    results = _run(tmp_path, box, {"q9/test_quick.py": "def test_doubles(student):\n    assert student.double(21) == 42\n"})
    assert [result.passed for result in results.values()] == [True]
    assert collections == []


# --------------------------------------------------------------------------- settings and points


def test_markers_set_points_visibility_number_and_tags(tmp_path: Path, box: Sandbox) -> None:
    results = _run(
        tmp_path,
        box,
        {
            "q9/test_extra.py": '''
        import pytest

        @pytest.mark.weight(2)
        @pytest.mark.visibility("after_due_date")
        @pytest.mark.number("3a.x1")
        @pytest.mark.tags("conv", "shape")
        def test_doubles(student):
            """Doubles a number.

            More words that are not part of the name.
            """
            assert student.double(21) == 42

        @pytest.mark.weight(1.5)
        def test_wrong_expectation(student):
            assert student.double(3) == 7
        '''
        },
    )

    good = results["Doubles a number."]
    assert (good.problem, good.score, good.max_score, good.passed) == ("q9", 2, 2, True)
    assert (good.visibility, good.number, good.tags) == ("after_due_date", "3a.x1", ["conv", "shape"])
    bad = results["test_wrong_expectation"]
    assert (bad.score, bad.max_score, bad.passed, bad.visibility, bad.tags) == (0, 1.5, False, "visible", [])
    assert "assert 6 == 7" in bad.output and "student.double(3)" in bad.output
    assert "q9/test_extra.py" in bad.output and str(tmp_path) not in bad.output
    assert "autograder/engine/checks.py" not in bad.output


def test_class_and_module_markers_apply_to_their_checks(tmp_path: Path, box: Sandbox) -> None:
    results = _run(
        tmp_path,
        box,
        {
            "q9/test_extra.py": """
        import pytest

        pytestmark = pytest.mark.visibility("hidden")

        @pytest.mark.weight(3)
        class TestDouble:
            def test_one(self, student):
                assert student.double(1) == 2

            @pytest.mark.weight(5)
            def test_two(self, student):
                assert student.double(2) == 4
        """
        },
    )
    assert [(r.max_score, r.visibility) for r in results.values()] == [(3, "hidden"), (5, "hidden")]


def test_gradescope_utils_decorators_on_functions_and_unittest_methods(tmp_path: Path, box: Sandbox) -> None:
    results = _run(
        tmp_path,
        box,
        {
            "q9/test_suite.py": '''
        import unittest
        from gradescope_utils.autograder_utils.decorators import hide_errors, number, tags, visibility, weight

        @weight(2)
        @number("1.1")
        @visibility("after_published")
        @tags("basics")
        def test_function(student):
            assert student.double(2) == 4

        class TestSuite(unittest.TestCase):
            @weight(3)
            @number("1.2")
            @visibility("hidden")
            @tags("a", "b")
            def test_method(self):
                """Doubles through self.student."""
                self.assertEqual(self.student.double(5), 10)

            @weight(1)
            def test_method_fails(self):
                self.assertEqual(self.student.double(5), 11)

            @weight(1)
            @hide_errors("Your double is off.")
            def test_secret(self):
                self.assertEqual(self.student.double(5), 12345)
        '''
        },
    )

    function = results["test_function"]
    assert (function.score, function.max_score, function.number, function.visibility, function.tags) == (
        2,
        2,
        "1.1",
        "after_published",
        ["basics"],
    )
    method = results["Doubles through self.student."]
    assert (method.score, method.max_score, method.number, method.visibility, method.tags) == (3, 3, "1.2", "hidden", ["a", "b"])
    assert results["test_method_fails"].score == 0 and "10 != 11" in results["test_method_fails"].output
    assert results["test_secret"].output == "Your double is off."


def test_a_check_without_weight_is_listed_with_no_points(tmp_path: Path, box: Sandbox) -> None:
    results = _run(
        tmp_path,
        box,
        {
            "q9/test_extra.py": """
        def test_free(student):
            assert student.double(1) == 2

        def test_free_failing(student):
            assert student.double(1) == 3
        """
        },
    )
    assert [(r.score, r.max_score, r.passed) for r in results.values()] == [(0, 0, True), (0, 0, False)]


def test_partial_credit_scores_what_the_check_set_within_its_weight(tmp_path: Path, box: Sandbox) -> None:
    results = _run(
        tmp_path,
        box,
        {
            "q9/test_partial.py": """
        from gradescope_utils.autograder_utils.decorators import partial_credit

        @partial_credit(4)
        def test_some(student, set_score=None):
            set_score(1.5)

        @partial_credit(4)
        def test_too_much(student, set_score=None):
            set_score(10)

        @partial_credit(4)
        def test_negative(student, set_score=None):
            set_score(-1)

        @partial_credit(4)
        def test_never_set(student, set_score=None):
            assert student.double(1) == 2

        @partial_credit(4)
        def test_set_then_failed(student, set_score=None):
            set_score(student.earned())
            assert False, "the rest is wrong"
        """
        },
    )
    scores = {name: (r.score, r.max_score, r.passed) for name, r in results.items()}
    assert scores == {
        "test_some": (1.5, 4, False),
        "test_too_much": (4, 4, True),
        "test_negative": (0, 4, False),
        "test_never_set": (4, 4, True),
        "test_set_then_failed": (3, 4, False),  # what it set stands, as in gradescope-utils
    }


PARTIAL_CHECK = '''
    import pytest
    from gradescope_utils.autograder_utils.decorators import partial_credit

    @partial_credit(5)
    def test_earned(student, set_score=None):
        set_score(student.earned())

    @pytest.mark.parametrize("fail", [False, True])
    @partial_credit(5)
    def test_twice(student, fail, set_score=None):
        """Runs twice."""
        if fail:
            raise RuntimeError("failed before setting a score")
        set_score(student.earned())
    '''


def test_a_partial_score_never_carries_over(tmp_path: Path, box: Sandbox) -> None:
    """Neither to the next parametrized run of a check, nor to the next submission graded in this process."""
    first = _run(tmp_path, box, {"q9/test_partial.py": PARTIAL_CHECK})
    assert first["test_earned"].score == 3
    assert (first["Runs twice. [False]"].score, first["Runs twice. [True]"].score) == (3, 0)

    other = write_files(tmp_path / "other", {"ps.py": STUDENT.replace("return 3", "raise ValueError('no')")}) / "ps.py"
    with Sandbox(other, worker_user=None) as second_box:
        second = {r.name: r for r in run_checks(find_checks(tmp_path / "problems"), call_gate(second_box))}
    assert (second["test_earned"].score, second["test_earned"].max_score) == (0, 5)
    assert "earned raised ValueError: no" in second["test_earned"].output


def test_skipped_xfail_and_errored_checks_keep_their_points_as_lost(tmp_path: Path, box: Sandbox) -> None:
    results = _run(
        tmp_path,
        box,
        {
            "q9/test_unlucky.py": """
        import unittest
        import pytest
        from gradescope_utils.autograder_utils.decorators import partial_credit, weight

        @pytest.fixture
        def broken():
            raise RuntimeError("fixture broke")

        @pytest.mark.weight(1)
        def test_skip_call(student):
            pytest.skip("not today")

        @pytest.mark.weight(2)
        @pytest.mark.skip(reason="never")
        def test_skip_marker(student):
            pass

        @pytest.mark.weight(3)
        @pytest.mark.skipif(True, reason="always")
        def test_skipif(student):
            pass

        @pytest.mark.weight(4)
        @pytest.mark.xfail(reason="known bad")
        def test_xfail(student):
            assert student.double(1) == 3

        @pytest.mark.weight(5)
        @pytest.mark.xfail(reason="expected to fail")
        def test_xpass(student):
            assert student.double(1) == 2

        @pytest.mark.weight(6)
        def test_fixture_error(student, broken):
            pass

        @pytest.mark.weight(7)
        def test_missing_fixture(student, no_such_fixture):
            pass

        @pytest.mark.weight(8)
        def test_exception(student):
            raise KeyError("oops")

        @partial_credit(9)
        def test_partial_then_skip(student, set_score=None):
            set_score(9)
            pytest.skip("changed my mind")

        class TestUnit(unittest.TestCase):
            @weight(10)
            @unittest.skip("unittest skip")
            def test_unittest_skip(self):
                pass
        """
        },
    )

    assert {name: (r.score, r.max_score, r.passed) for name, r in results.items()} == {
        "test_skip_call": (0, 1, False),
        "test_skip_marker": (0, 2, False),
        "test_skipif": (0, 3, False),
        "test_xfail": (0, 4, False),
        "test_xpass": (0, 5, False),
        "test_fixture_error": (0, 6, False),
        "test_missing_fixture": (0, 7, False),
        "test_exception": (0, 8, False),
        "test_partial_then_skip": (0, 9, False),
        "test_unittest_skip": (0, 10, False),
    }
    assert "not today" in results["test_skip_call"].output
    assert "known bad" in results["test_xfail"].output
    assert "fixture broke" in results["test_fixture_error"].output
    assert "no_such_fixture" in results["test_missing_fixture"].output
    assert "KeyError: 'oops'" in results["test_exception"].output
    assert {test["status"] for test in gradescope_tests(list(results.values()))} == {"failed"}


# --------------------------------------------------------------------------- the student fixture


def test_student_error_says_how_the_call_failed(tmp_path: Path, box: Sandbox) -> None:
    results = _run(
        tmp_path,
        box,
        {
            "q9/test_errors.py": """
        import pytest
        from autograder.engine.checks import StudentError

        def test_raised(student):
            with pytest.raises(StudentError) as caught:
                student.fails(7)
            error = caught.value
            assert (error.kind, error.type, error.message) == ("raised", "ValueError", "bad input 7")

        def test_not_defined(student):
            with pytest.raises(StudentError) as caught:
                student.nowhere()
            assert (caught.value.kind, caught.value.type) == ("skipped", "")
            assert str(caught.value) == "nowhere was not run: your file defines no function named `nowhere`"

        def test_crashed_then_restarted(student):
            with pytest.raises(StudentError) as caught:
                student.crashes()
            assert (caught.value.kind, caught.value.type) == ("crashed", "")
            assert str(caught.value) == "crashes stopped the Python process running it: the process exited with code 3"
            assert student.double(4) == 8

        def test_uncaught(student):
            assert student.fails(1) == 2
        """
        },
    )
    assert [r.passed for r in results.values()] == [True, True, True, False]
    output = results["test_uncaught"].output
    assert "StudentError: fails raised ValueError: bad input 1" in output
    assert "q9/test_errors.py" in output and "checks.py" not in output and "sandbox.py" not in output


def test_student_error_on_timeout_and_no_call_after_two(tmp_path: Path) -> None:
    path = write_files(tmp_path / "student", {"ps.py": STUDENT}) / "ps.py"
    checks = {
        "q9/test_hangs.py": """
        import pytest
        from autograder.engine.checks import StudentError

        def test_hangs(student):
            kinds = []
            for _ in range(3):
                with pytest.raises(StudentError) as caught:
                    student.hangs()
                kinds.append((caught.value.kind, caught.value.message))
            assert kinds[0] == kinds[1] == ("timeout", "did not return within 1.0 s (an infinite loop?)")
            assert kinds[2] == ("skipped", "was not run: `hangs` already timed out 2 times")
        """
    }
    with Sandbox(path, Limits(call_timeout=1), worker_user=None) as slow_box:
        results = _run(tmp_path, slow_box, checks)
    assert results["test_hangs"].passed, results["test_hangs"].output


def test_visible_checks_run_before_any_other_whatever_the_order_they_are_collected_in(tmp_path: Path) -> None:
    """A submission that hands each call the inputs it saw before cannot show an after_due_date or hidden check's
    input in a visible check's feedback: the visible checks run first. Results keep the collection order."""
    student = "seen = []\n\ndef remember(x):\n    seen.append(x)\n    return list(seen)\n"
    checks = {
        f"{folder}/test_{folder}.py": f"""
        import pytest

        @pytest.mark.visibility({visibility!r})
        def test_{folder}(student):
            assert student.remember({value}) == [{value}], "saw another check's input first"
        """
        for folder, visibility, value in (
            ("a1", "after_due_date", 98765),
            ("b2", "visible", 1),
            ("c3", "hidden", 43210),
            ("d4", "visible", 2),
        )
    }
    with sandbox_running(tmp_path, student, "ps.py") as sandbox:
        results = run_checks(find_checks(write_files(tmp_path / "problems", checks)), call_gate(sandbox))
    assert [result.name for result in results] == ["test_a1", "test_b2", "test_c3", "test_d4"]
    assert [result.passed for result in results] == [False, True, False, False], [result.output for result in results]
    shown = results[1].output + results[3].output
    assert "98765" not in shown and "43210" not in shown, shown


def test_no_call_after_the_deadline(tmp_path: Path, box: Sandbox) -> None:
    problems = write_files(
        tmp_path / "problems",
        {
            "q9/test_late.py": """
        def test_late(student):
            student.double(1)
        """
        },
    )
    [result] = run_checks(find_checks(problems), call_gate(box, deadline=time.monotonic() - 1))
    assert "double was not run: the time limit for the whole submission was reached" in result.output


def test_a_check_imports_the_submission_by_the_courses_names_whatever_the_file_is_called(tmp_path: Path, box: Sandbox) -> None:
    """The worker's file is ps.py; the course's checks say ``from lab9 import double``. A name that is a module
    the grader uses (json) is never replaced, even when the course names it."""
    problems = write_files(
        tmp_path / "problems",
        {
            "q9/test_names.py": """
        import json

        import ps
        from lab9 import double


        def test_both_names(student):
            assert double(4) == ps.double(4) == student.double(4) == 8
            assert json.dumps([1]) == "[1]" and not hasattr(json, "double")
    """
        },
    )
    [result] = run_checks(find_checks(problems), call_gate(box), module_names=["lab9", "json"])
    assert result.passed, result.output
    assert "lab9" not in sys.modules and "ps" not in sys.modules  # only for the session
    with pytest.raises(CheckError, match="No module named 'lab9'"):
        run_checks(find_checks(problems), call_gate(box))  # a course that names none: only the file's own stem


# --------------------------------------------------------------------------- isolation


EVIL = """
from pathlib import Path
Path({marker!r}).write_text("imported")
"""


def test_nothing_but_the_check_files_is_collected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not the student's test_*.py or conftest.py, not a conftest.py above problems/, not an ini file."""
    marker = tmp_path / "IMPORTED"
    student = write_files(
        tmp_path / "submission",
        {
            "ps.py": STUDENT,
            "test_evil.py": EVIL.format(marker=str(marker)) + "\ndef test_evil():\n    pass\n",
            "conftest.py": EVIL.format(marker=str(marker)),
            "pytest.ini": "[pytest]\naddopts = --no-such-option\n",
        },
    )
    write_files(tmp_path, {"conftest.py": EVIL.format(marker=str(marker)), "pytest.ini": "[pytest]\naddopts = --no-such-option\n"})
    monkeypatch.chdir(student)  # as if graded from inside the submission's folder
    with Sandbox(student / "ps.py", worker_user=None) as own_box:
        results = _run(
            tmp_path,
            own_box,
            {
                "conftest.py": EVIL.format(marker=str(marker)),
                "q9/conftest.py": EVIL.format(marker=str(marker)),
                "q9/test_extra.py": "def test_only(student):\n    assert student.double(1) == 2\n",
            },
        )
    assert list(results) == ["test_only"] and results["test_only"].passed
    assert not marker.exists()


def test_pytest_prints_nothing_and_a_checks_own_output_is_kept(tmp_path: Path, box: Sandbox, capfd: pytest.CaptureFixture[str]) -> None:
    results = _run(
        tmp_path,
        box,
        {
            "q9/test_loud.py": """
        import sys

        def test_prints(student):
            print("hint: try a smaller kernel")
            print("on stderr", file=sys.stderr)
            assert student.double(1) == 3
        """
        },
    )
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    output = results["test_prints"].output
    assert output.startswith("hint: try a smaller kernel\non stderr") and "assert 2 == 3" in output


def test_the_environment_cannot_change_the_session(tmp_path: Path, box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_ADDOPTS", "--no-such-option -x")
    monkeypatch.setenv("PYTEST_PLUGINS", "no_such_plugin")
    results = _run(
        tmp_path,
        box,
        {
            "q9/test_extra.py": """
        def test_one(student):
            assert False

        def test_two(student):
            assert student.double(1) == 2
        """
        },
    )
    assert [r.passed for r in results.values()] == [False, True]  # -x would have stopped after the first
    assert os.environ["PYTEST_ADDOPTS"] == "--no-such-option -x" and "PYTEST_DISABLE_PLUGIN_AUTOLOAD" not in os.environ


def test_an_edited_check_file_runs_afresh_and_leaves_no_module_behind(tmp_path: Path, box: Sandbox) -> None:
    before = _run(tmp_path, box, {"q9/test_extra.py": "def test_old(student):\n    pass\n"})
    after = _run(tmp_path, box, {"q9/test_extra.py": "def test_new(student):\n    pass\n"})
    assert (list(before), list(after)) == (["test_old"], ["test_new"])
    assert not [name for name in sys.modules if name.split(".")[0] == "q9"]


def test_sessions_in_threads_take_turns(tmp_path: Path, box: Sandbox) -> None:
    """Batch grading runs submissions in threads; two sessions at once would share modules and capture."""
    folders = [
        write_files(
            tmp_path / f"problems{run}",
            {
                "q9/test_extra.py": f"""
        import time

        def test_slow(student):
            print("run {run}")
            time.sleep(0.2)
            assert student.double({run}) == {2 * run}
        """
            },
        )
        for run in (1, 2)
    ]
    results: dict[int, list[CheckResult]] = {}

    def grade(run: int) -> None:
        results[run] = run_checks(find_checks(folders[run - 1]), call_gate(box))

    threads = [threading.Thread(target=grade, args=(run,)) for run in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {run: [(r.passed, r.output) for r in checks] for run, checks in results.items()} == {1: [(True, "run 1")], 2: [(True, "run 2")]}


def test_a_grading_waiting_for_another_gradings_checks_keeps_its_time(tmp_path: Path) -> None:
    """Batch grades in threads, and pytest sessions take turns: one submission's slow checks used up the run
    deadline of the grading waiting behind them, whose right functions were then 'not run' (red team). The time
    spent waiting for the session is given back to the waiting grading's deadline."""
    slow = write_files(tmp_path / "slow", {"q9/test_slow.py": "import time\n\ndef test_slow(student):\n    time.sleep(2)\n"})
    quick = write_files(tmp_path / "quick", {"q9/test_quick.py": "def test_quick(student):\n    assert student.double(2) == 4\n"})
    results: dict[str, list[CheckResult]] = {}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with sandbox_running(tmp_path / "a", STUDENT, "ps.py") as first, sandbox_running(tmp_path / "b", STUDENT, "ps.py") as second:
        holder = threading.Thread(target=lambda: results.setdefault("slow", run_checks(find_checks(slow), call_gate(first))))
        holder.start()
        time.sleep(0.5)  # the slow session has the turn
        results["quick"] = run_checks(find_checks(quick), call_gate(second, deadline=time.monotonic() + 1))
        holder.join()
    [result] = results["quick"]
    assert result.passed, result.output


def test_what_other_threads_print_stays_out_of_a_check(tmp_path: Path, box: Sandbox, capfd: pytest.CaptureFixture[str]) -> None:
    """Batch grading's progress bar goes on writing to stderr while a check runs."""
    problems = write_files(
        tmp_path / "problems",
        {
            "q9/test_extra.py": """
        import time

        def test_slow(student):
            time.sleep(0.6)
        """
        },
    )
    progress = threading.Timer(0.3, lambda: os.write(2, b"[#####     ] 5/10\n"))
    progress.start()
    [result] = run_checks(find_checks(problems), call_gate(box))
    progress.join()
    assert result.output == "" and "5/10" in capfd.readouterr().err


def test_an_installed_pytest_plugin_is_not_loaded(tmp_path: Path, box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "IMPORTED"
    site = write_files(
        tmp_path / "site",
        {
            "evil_plugin.py": EVIL.format(marker=str(marker)),
            "evil_plugin-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: evil-plugin\nVersion: 1.0\n",
            "evil_plugin-1.0.dist-info/entry_points.txt": "[pytest11]\nevil = evil_plugin\n",
        },
    )
    monkeypatch.syspath_prepend(str(site))
    results = _run(tmp_path, box, {"q9/test_extra.py": "def test_one(student):\n    pass\n"})
    assert results["test_one"].passed and not marker.exists()


def test_broken_check_files_stop_with_check_error(tmp_path: Path, box: Sandbox) -> None:
    broken = {
        "syntax": "def test_x(student)\n    pass\n",
        "misspelt marker": "import pytest\n@pytest.mark.wieght(2)\ndef test_x(student):\n    pass\n",
        "visibility": "import pytest\n@pytest.mark.visibility('secret')\ndef test_x(student):\n    pass\n",
        "weight": "import pytest\n@pytest.mark.weight('two')\ndef test_x(student):\n    pass\n",
    }
    for index, (what, source) in enumerate(broken.items()):
        problems = write_files(tmp_path / f"problems{index}", {"q9/test_extra.py": source})
        with pytest.raises(CheckError, match=r"q9/test_extra\.py") as caught:
            run_checks(find_checks(problems), call_gate(box))
        assert str(tmp_path) not in str(caught.value), what


def test_a_check_file_that_cannot_be_imported_is_named_at_its_line_with_its_error(tmp_path: Path, box: Sandbox) -> None:
    """pytest's raw collection report (with its hint about module names) was the whole message (an adopter): each
    file that cannot be imported is now one line, as a broken spec is, at the line where importing it failed."""
    problems = write_files(
        tmp_path / "problems",
        {
            "q9/test_extra.py": "import math\n\nimport surely_not_installed_anywhere\n\n\ndef test_x(student):\n    pass\n",
            "q8/test_fine.py": "def test_y(student):\n    pass\n",
            "q7/test_raises.py": "def test_z(student):\n    pass\n\n\nTABLE = {}['missing']\n",
            "q6/test_typo.py": "import math\n\n\ndef test_w(student)\n    pass\n",  # a SyntaxError has no frame of its own
        },
    )
    with pytest.raises(CheckError) as caught:
        run_checks(find_checks(problems), call_gate(box))
    assert str(caught.value).splitlines() == [
        "problems/q6/test_typo.py:4: cannot be imported: SyntaxError: expected ':'",
        "problems/q7/test_raises.py:5: cannot be imported: KeyError: 'missing'",
        "problems/q9/test_extra.py:3: cannot be imported: ModuleNotFoundError: No module named 'surely_not_installed_anywhere'",
    ]


# --------------------------------------------------------------------------- finding checks, Gradescope's format


def test_find_checks_lists_only_problem_test_files(tmp_path: Path) -> None:
    problems = write_files(
        tmp_path / "problems",
        {
            name: ""
            for name in ("q2/test_b.py", "q1/test_a.py", "q1/test_c.py", "q1/helper.py", "q1/spec.yaml", "test_top.py", "q1/deep/test_d.py")
        },
    )
    assert [p.relative_to(problems).as_posix() for p in find_checks(problems)] == ["q1/test_a.py", "q1/test_c.py", "q2/test_b.py"]


def test_find_checks_does_not_import_pytest(tmp_path: Path) -> None:
    write_files(tmp_path / "problems", {"q1/test_a.py": ""})
    code = (
        "import sys; from pathlib import Path; from autograder.engine.checks import find_checks; "
        f"print(len(find_checks(Path({str(tmp_path / 'problems')!r}))), "
        "sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest', 'pluggy', 'numpy')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.split() == ["1", "[]"]


def test_gradescope_tests_match_the_results_schema() -> None:
    results = [
        CheckResult("q9", "doubles", "9.1", 2.0, 2.0, True, "", "after_due_date", ["conv"]),
        CheckResult("q9", "halves", "", 0.0, 1.0, False, "assert 1 == 2"),
    ]
    tests = gradescope_tests(results)
    jsonschema.validate({"score": 2.0, "tests": tests}, SCHEMA)
    assert tests[0] == {
        "name": "Q9 · doubles",
        "number": "9.1",
        "score": 2.0,
        "max_score": 2.0,
        "status": "passed",
        "output": "",
        "output_format": "text",
        "visibility": "after_due_date",
        "tags": ["conv"],
        "extra_data": {"problem": "q9", "where": "", "check": "doubles"},
    }
    assert "number" not in tests[1] and tests[1]["status"] == "failed" and tests[1]["visibility"] == "visible"


def test_a_check_passing_a_value_the_sandbox_cannot_carry_is_the_checks_error_not_the_students(tmp_path: Path, box: Sandbox) -> None:
    """``student.double(len)``: the function could only reach the worker as a stand-in, and the student was told
    that their function raised. The check fails with what is wrong with it, before any call is made."""
    results = _run(tmp_path, box, {"q9/test_values.py": "def test_a_function(student):\n    assert student.double(len) == 0\n"})
    output = results["test_a_function"].output
    assert not results["test_a_function"].passed
    assert "UnsendableArgument" in output and "double with a builtin_function_or_method, which cannot be sent" in output, output
    assert "double raised" not in output


def test_an_answer_that_cannot_come_back_fails_the_check_saying_so(tmp_path: Path) -> None:
    """A student's function returning a set reached the check as the grader's stand-in, and the check failed with
    "TypeError: 'Unsupported' object is not iterable", a name from inside the grader (adopter). The call fails as
    calls that give no value do (StudentError), saying what came back and what can."""
    source = "def unique(words):\n    return set(words)\n\ndef pairs(words):\n    return [(w, iter(w)) for w in words]\n"
    (tmp_path / "student").mkdir()
    with sandbox_running(tmp_path / "student", source, "ps.py") as sandbox:
        checks = {
            "q9/test_sets.py": """
            def test_unique(student):
                assert sorted(student.unique(["a", "b", "a"])) == ["a", "b"]

            def test_nested(student):
                assert len(student.pairs(["ab"])) == 1
            """
        }
        results = {
            result.name: result for result in run_checks(find_checks(write_files(tmp_path / "problems", checks)), call_gate(sandbox))
        }
    for name, function, kind in (("test_unique", "unique", "set"), ("test_nested", "pairs", "str_ascii_iterator")):
        output = results[name].output
        assert not results[name].passed and "Unsupported" not in output, output
        assert f"StudentError: {function} returned <object of type {kind}>, which cannot come back from the student's code" in output, (
            output
        )
