"""The real run_autograder, in a temporary Gradescope layout, on right and known-wrong submissions."""

from __future__ import annotations

import pytest
from conftest import SOLUTION, scores_by_function, submission_with

ALL_FUNCTIONS = {
    "fc_layer_params", "mlp_layer_params", "conv_layer_params", "conv_output_size", "num_conv_layers",
    "conv_classifier_params", "conv2d", "conv_transpose2d", "num_downsampling_layers", "downsampling_params",
}

# Which functions each known-wrong submission must lose points on; every other function keeps full marks.
WRONG = {
    "no_bias": {"fc_layer_params", "mlp_layer_params", "conv_layer_params", "conv_classifier_params", "downsampling_params"},
    "flipped_kernel": {"conv2d", "conv_transpose2d"},
    "transposed": {"conv2d", "conv_transpose2d"},
    "truncates": {"conv2d", "conv_transpose2d"},
    "off_by_one": {"num_conv_layers", "conv_classifier_params", "num_downsampling_layers", "downsampling_params"},
    "hardcoded": ALL_FUNCTIONS,
}


def test_solution_gets_full_marks(gradescope):
    gradescope.submit({"ps3.py": SOLUTION.read_text()})
    data = gradescope.run()
    assert data["score"] == 100
    assert set(scores_by_function(data)) == ALL_FUNCTIONS
    assert all(t["status"] == "passed" for t in data["tests"] if t.get("max_score"))
    q1 = [t for t in data["tests"] if t["name"].startswith("Q1")]
    assert len(q1) == 1 and "score" not in q1[0] and "max_score" not in q1[0] and "by hand" in q1[0]["output"]
    assert "Graded `ps3.py`" in data["output"]


@pytest.mark.parametrize("mistake", sorted(WRONG))
def test_wrong_submission_loses_points_exactly_where_wrong(gradescope, mistake):
    gradescope.submit({"ps3.py": submission_with(mistake)})
    data = gradescope.run()
    scores = scores_by_function(data)
    losing = {name for name, (earned, possible) in scores.items() if earned < possible}
    assert losing == WRONG[mistake]
    assert 0 < data["score"] < 100


def test_submission_in_a_subfolder_is_found_and_named(gradescope):
    gradescope.submit({"my work/ps3.py": SOLUTION.read_text(), "my work/test_mine.py": "raise SystemExit"})
    data = gradescope.run()
    assert data["score"] == 100
    assert "my work/ps3.py" in data["output"]


def test_no_ps3_file_still_gets_a_valid_result(gradescope):
    gradescope.submit({"notes.txt": "hello", "a.py": "x = 1", "b.py": "y = 2"})
    data = gradescope.run()
    assert data["score"] == 0
    assert "No ps3.py" in data["output"] and "`a.py`" in data["output"]


def test_empty_submission_still_gets_a_valid_result(gradescope):
    data = gradescope.run()
    assert data["score"] == 0 and "ps3.py" in data["output"]


def test_hidden_cases_show_no_inputs_or_answers(gradescope):
    gradescope.submit({"ps3.py": submission_with("hardcoded")})
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
    gradescope.submit({"ps3.py": SOLUTION.read_text() if submission == "solution" else submission_with(submission)})
    data = gradescope.run()
    (check,) = [t for t in data["tests"] if t["name"].endswith("conv2d is linear in x")]
    assert (check["score"], check["max_score"], check["number"]) == (earned, 2, "3a.c1")
    if submission == "solution":
        assert data["score"] == 102 and "Q3a: 2-D convolution (cross-correlation): 22 / 22" in data["output"]
