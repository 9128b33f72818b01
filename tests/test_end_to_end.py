"""The real run_autograder, in a temporary Gradescope layout, on right and wrong submissions.

Nothing here is a fact about one assignment: the functions graded come from the specs, the total and
the file name from assignment.yaml, and each assignment in the repository is graded (conftest.ASSIGNMENTS).
Python checks are graded on a fixture assignment of their own (tests/fixtures/lab1).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import (
    ASSIGNMENTS,
    FIXTURES,
    SOLUTION,
    Assignment,
    GradescopeLayout,
    course_config,
    graded_functions,
    scores_by_function,
    spec_problems,
    total_points,
)

STARTER = course_config().starter_name  # the first of the root assignment.yaml's submission_names


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=str)
def test_solution_gets_full_marks(assignment: Assignment, tmp_path: Path) -> None:
    gradescope = GradescopeLayout(tmp_path / "autograder", assignment=assignment.root)
    starter = assignment.course.starter_name
    gradescope.submit({starter: assignment.solution.read_text()})
    data = gradescope.run()
    assert data["score"] == total_points(assignment.problems)
    assert set(scores_by_function(data)) - {"(untagged check)"} == graded_functions(assignment.problems)
    assert all(t["status"] == "passed" for t in data["tests"] if t.get("max_score"))
    for problem in (p for p in spec_problems(assignment.problems) if p.graded_by_hand):
        entries = [t for t in data["tests"] if t["name"] == problem.title]
        assert len(entries) == 1 and "score" not in entries[0] and "max_score" not in entries[0], problem.title
        assert "by hand" in entries[0]["output"]
    assert f"Graded `{starter}`" in data["output"]


def test_submission_in_a_subfolder_is_found_and_named(gradescope: GradescopeLayout) -> None:
    gradescope.submit({f"my work/{STARTER}": SOLUTION.read_text(), "my work/test_mine.py": "raise SystemExit"})
    data = gradescope.run()
    assert data["score"] == total_points()
    assert f"my work/{STARTER}" in data["output"]


def test_a_file_named_in_capitals_is_the_submission_and_loads(gradescope: GradescopeLayout) -> None:
    """PS3.PY, as Windows keeps whatever case was typed: found as the course's file, and loaded as a .py file
    (Python's own spec_from_file_location knows no loader for the suffix .PY, and the worker failed at once)."""
    gradescope.submit({STARTER.upper(): SOLUTION.read_text()})
    data = gradescope.run()
    assert data["score"] == total_points()
    assert f"Graded `{STARTER.upper()}`" in data["output"]


def test_no_submission_file_still_gets_a_valid_result(gradescope: GradescopeLayout) -> None:
    gradescope.submit({"notes.txt": "hello", "a.py": "x = 1", "b.py": "y = 2"})
    data = gradescope.run()
    assert data["score"] == 0
    assert f"No {STARTER}" in data["output"] and "`a.py`" in data["output"]


def test_empty_submission_still_gets_a_valid_result(gradescope: GradescopeLayout) -> None:
    data = gradescope.run()
    assert data["score"] == 0 and STARTER in data["output"]


def test_hidden_cases_show_no_inputs_or_answers(gradescope: GradescopeLayout) -> None:
    wrong = "".join(f"def {function}(*args, **kwargs):\n    return [[7]]\n\n\n" for function in sorted(graded_functions()))
    gradescope.submit({STARTER: wrong})
    data = gradescope.run()
    hidden = [t for t in data["tests"] if "hidden" in t.get("tags", [])]
    assert hidden and all(t["visibility"] == "visible" for t in hidden)
    for test in hidden:
        assert "inputs and answer are not shown" in test["output"]
        assert "`" not in test["output"] and "[" not in test["output"], test["output"]
    details = [t for t in data["tests"] if t["visibility"] == "after_published"]
    assert len(details) == 1 and "Expected" in details[0]["output"]


SQUARE_CHECK = '''
from gradescope_utils.autograder_utils.decorators import number, weight


@weight(2)
@number("1.c1")
def test_square_is_even(student):
    """square is even: (-x)² = x²"""
    for x in range(-5, 6):
        assert student.square(-x) == student.square(x) == x * x
'''
LAB1 = FIXTURES / "lab1"


@pytest.mark.parametrize("square, earned", [("x * x", 2), ("2 * x", 0)])
def test_a_problems_own_python_check_is_graded_with_its_points(tmp_path: Path, square: str, earned: int) -> None:
    lab = GradescopeLayout(tmp_path / "autograder", assignment=LAB1)
    (lab.root / "source" / "problems" / "p1" / "test_even.py").write_text(SQUARE_CHECK)
    lab.submit({"lab1.py": (LAB1 / "lab1.py").read_text().replace("return x * x", f"return {square}")})
    data = lab.run()
    (check,) = [t for t in data["tests"] if t["name"].endswith("(-x)² = x²")]
    assert (check["score"], check["max_score"], check["number"]) == (earned, 2, "1.c1")
    if earned:
        p1 = next(p for p in spec_problems(LAB1 / "problems") if p.key == "p1")
        assert data["score"] == total_points(LAB1 / "problems") + 2  # the check's weight is added to its problem's points
        assert f"{p1.title}: {p1.points + 2:g} / {p1.points + 2:g}" in data["output"]
