"""The real run_autograder, in a temporary Gradescope layout, on right and known-wrong submissions.

Nothing here is a fact about Problem Set 3: the functions graded come from the specs and the total
from assignment.yaml, so a problem added as docs/instructors.md says changes nothing here. PS3's own
numbers, and which functions each known-wrong submission gets wrong, are in tests/test_ps3.py.
"""

from __future__ import annotations

import pytest

from conftest import SOLUTION, course_config, graded_functions, scores_by_function, spec_problems, submission_with, total_points

STARTER = course_config().starter_name  # ps3.py: the first of assignment.yaml's submission_names


def test_solution_gets_full_marks(gradescope):
    gradescope.submit({STARTER: SOLUTION.read_text()})
    data = gradescope.run()
    assert data["score"] == total_points()
    assert set(scores_by_function(data)) == graded_functions()
    assert all(t["status"] == "passed" for t in data["tests"] if t.get("max_score"))
    for problem in (p for p in spec_problems() if p.graded_by_hand):
        entries = [t for t in data["tests"] if t["name"] == problem.title]
        assert len(entries) == 1 and "score" not in entries[0] and "max_score" not in entries[0], problem.title
        assert "by hand" in entries[0]["output"]
    assert f"Graded `{STARTER}`" in data["output"]


def test_submission_in_a_subfolder_is_found_and_named(gradescope):
    gradescope.submit({f"my work/{STARTER}": SOLUTION.read_text(), "my work/test_mine.py": "raise SystemExit"})
    data = gradescope.run()
    assert data["score"] == total_points()
    assert f"my work/{STARTER}" in data["output"]


def test_no_ps3_file_still_gets_a_valid_result(gradescope):
    gradescope.submit({"notes.txt": "hello", "a.py": "x = 1", "b.py": "y = 2"})
    data = gradescope.run()
    assert data["score"] == 0
    assert f"No {STARTER}" in data["output"] and "`a.py`" in data["output"]


def test_empty_submission_still_gets_a_valid_result(gradescope):
    data = gradescope.run()
    assert data["score"] == 0 and STARTER in data["output"]


def test_hidden_cases_show_no_inputs_or_answers(gradescope):
    gradescope.submit({STARTER: submission_with("hardcoded")})
    data = gradescope.run()
    hidden = [t for t in data["tests"] if "hidden" in t.get("tags", [])]
    assert hidden and all(t["visibility"] == "visible" for t in hidden)
    for test in hidden:
        assert "inputs and answer are not shown" in test["output"]
        assert "`" not in test["output"] and "[" not in test["output"], test["output"]
    details = [t for t in data["tests"] if t["visibility"] == "after_published"]
    assert len(details) == 1 and "Expected" in details[0]["output"]


LINEARITY_CHECK = '''
import numpy as np
from gradescope_utils.autograder_utils.decorators import number, weight


@weight(2)
@number("3a.c1")
def test_conv2d_is_linear_in_its_input(student):
    """conv2d is linear in x"""
    rng = np.random.default_rng(1)
    x, k = rng.normal(size=(6, 7)), rng.normal(size=(3, 2))
    assert np.allclose(student.conv2d(2 * x, k), 2 * np.asarray(student.conv2d(x, k)))
    assert np.asarray(student.conv2d(x, k)).shape == (4, 6)
'''


@pytest.mark.parametrize("submission, earned", [("solution", 2), ("hardcoded", 0)])
def test_a_problems_own_python_check_is_graded_with_its_points(gradescope, submission, earned):
    (gradescope.root / "source" / "problems" / "q3a" / "test_linearity.py").write_text(LINEARITY_CHECK)
    gradescope.submit({STARTER: SOLUTION.read_text() if submission == "solution" else submission_with(submission)})
    data = gradescope.run()
    (check,) = [t for t in data["tests"] if t["name"].endswith("conv2d is linear in x")]
    assert (check["score"], check["max_score"], check["number"]) == (earned, 2, "3a.c1")
    if submission == "solution":
        q3a = next(p for p in spec_problems() if p.key == "q3a")
        assert data["score"] == total_points() + 2  # the check's weight is added to its problem's points
        assert f"{q3a.title}: {q3a.points + 2:g} / {q3a.points + 2:g}" in data["output"]
