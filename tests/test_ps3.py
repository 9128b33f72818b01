"""Problem Set 3's own numbers: its points, the seed's worked answers, and what each known-wrong submission gets wrong.

Every other test reads the functions graded and the total from the specs and assignment.yaml. The
facts pinned here are about PS3's problems only (q1 ... q4), so a problem added beside them as
docs/instructors.md says (its Q5 example) changes nothing here; tests/test_adding_a_problem.py
checks that it does not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from autograder.model import Problem

from conftest import SOLUTION, GradescopeLayout, scores_by_function, spec_problems, submission_with, total_points

PS3_KEYS = ("q1", "q2a", "q2b", "q3a", "q3b", "q4")


def ps3_problems() -> list[Problem]:
    by_key = {problem.key: problem for problem in spec_problems()}
    return [by_key[key] for key in PS3_KEYS]


def ps3_problem(key: str) -> Problem:
    return ps3_problems()[PS3_KEYS.index(key)]


def ps3_functions() -> set[str]:
    """The functions PS3's own problems grade, from their specs."""
    return {case.function for problem in ps3_problems() for case in problem.cases}


# Which functions each known-wrong submission (solutions/mistakes/<name>.py) must lose points on;
# every other function keeps full marks. hardcoded.py replaces every PS3 function.
WRONG = {
    "no_bias": {"fc_layer_params", "mlp_layer_params", "conv_layer_params", "conv_classifier_params", "downsampling_params"},
    "flipped_kernel": {"conv2d", "conv_transpose2d"},
    "transposed": {"conv2d", "conv_transpose2d"},
    "truncates": {"conv2d", "conv_transpose2d"},
    "off_by_one": {"num_conv_layers", "conv_classifier_params", "num_downsampling_layers", "downsampling_params"},
    "rounds_output_size": {"conv_output_size", "num_conv_layers"},  # the solution's layer count steps with it
    "hardcoded": None,  # every function of PS3's problems
}


def test_ps3_is_worth_100_points_over_ten_functions_and_q1_is_graded_by_hand() -> None:
    problems = ps3_problems()
    assert sum(problem.points for problem in problems) == 100
    assert len(ps3_functions()) == 10
    assert all(losing is None or losing <= ps3_functions() for losing in WRONG.values())
    q1 = ps3_problem("q1")
    assert q1.graded_by_hand and not q1.cases
    assert all(not problem.graded_by_hand and problem.cases for problem in problems[1:])


def test_every_ps3_function_has_visible_and_hidden_cases() -> None:
    for function in ps3_functions():
        cases = [case for problem in ps3_problems() for case in problem.cases if case.function == function]
        assert any(not case.hidden for case in cases) and any(case.hidden for case in cases), function


def test_ps3_questions_are_the_grades_csv_columns() -> None:
    """grades.csv (tests/test_batch.py) has a column per autograded problem: PS3's are these."""
    assert [f"{problem.label} (/{problem.points:g})" for problem in ps3_problems() if not problem.graded_by_hand] == [
        "Q2a (/15)",
        "Q2b (/30)",
        "Q3a (/20)",
        "Q3b (/20)",
        "Q4 (/15)",
    ]


def test_worked_answers_are_the_visible_instances() -> None:
    expected = [
        ("fc_layer_params", (150528, 75264), 11_329_414_656),  # Q2a-i
        ("fc_layer_params", (75264, 100), 7_526_500),
        ("conv_layer_params", (3, 3, 7), 444),  # Q2b
        ("num_conv_layers", (224, 8, 7), 36),
        ("fc_layer_params", (192, 100), 19_300),
        ("conv_classifier_params", ((3, 224, 224), 7, 8, 100), 35_284),  # Q2b-iv
        ("num_downsampling_layers", (224, 16, 3), 104),  # Q4
        ("downsampling_params", (3, [16, 32, 64, 128, 256], 224, 16, 3), 58_810_528),
    ]
    found = {(case.function, repr(case.args)): case for problem in ps3_problems() for case in problem.cases}
    for function, args, value in expected:
        case = found[function, repr(args)]
        assert case.expected.value == value and not case.hidden
    q3a = next(case for case in ps3_problem("q3a").cases if case.name.startswith("Q3a"))
    assert np.array_equal(q3a.expected.value, [[1, 0], [-1, 4]])


def _ps3_scores(data: dict[str, Any]) -> dict[str, tuple[float, float]]:
    return {name: score for name, score in scores_by_function(data).items() if name in ps3_functions()}


def test_solution_gets_all_100_points_of_ps3(gradescope: GradescopeLayout) -> None:
    gradescope.submit({"ps3.py": SOLUTION.read_text()})
    data = gradescope.run()
    scores = _ps3_scores(data)
    assert set(scores) == ps3_functions()
    assert all(earned == possible for earned, possible in scores.values())
    assert sum(possible for _, possible in scores.values()) == pytest.approx(100)


# Mistakes that raise where the right answer returns: caught, but a spec's ``mistakes:`` (which match returned
# answers) cannot name them, so they are not among solutions/mistakes/ (test_assignments.py asks that of those).
RAISING = {
    # "An int or a pair" told apart with isinstance(kernel_size, int): np.int64 (an array's shape) is unpacked as a pair.
    "int_only_kernel": (
        {"conv_layer_params", "conv_classifier_params", "downsampling_params"},
        """
def conv_layer_params(c_in, c_out, kernel_size):
    if isinstance(kernel_size, int):
        kh = kw = kernel_size
    else:
        kh, kw = kernel_size
    return (c_in * kh * kw + 1) * c_out
""",
    ),
}


@pytest.mark.parametrize("mistake", sorted(WRONG) + sorted(RAISING))
def test_wrong_submission_loses_points_exactly_where_wrong(gradescope: GradescopeLayout, mistake: str) -> None:
    if mistake in RAISING:
        wrong, source = RAISING[mistake]
        gradescope.submit({"ps3.py": SOLUTION.read_text() + "\n\n" + source})
    else:
        wrong = WRONG[mistake] or ps3_functions()
        gradescope.submit({"ps3.py": submission_with(mistake)})
    data = gradescope.run()
    losing = {name for name, (earned, possible) in scores_by_function(data).items() if earned < possible}
    assert losing == wrong
    assert 0 < data["score"] < total_points()
    # The student can see each mistake: every function it breaks fails a visible case too, not only hidden ones.
    failing_visibly = {
        test["tags"][0]
        for test in data["tests"]
        if "hidden" not in test.get("tags", []) and test.get("score", 0) < test.get("max_score", 0)
    }
    assert losing <= failing_visibly, losing - failing_visibly


FLOAT32_LOOPS = """

def conv2d(x, kernel):
    x, k = np.asarray(x, dtype=np.{dtype}), np.asarray(kernel, dtype=np.{dtype})
    kh, kw = k.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1), dtype=np.{dtype})
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = {round_open}np.sum(x[i:i + kh, j:j + kw] * k){round_close}
    return out


def conv_transpose2d(x, kernel):
    x, k = np.asarray(x, dtype=np.{dtype}), np.asarray(kernel, dtype=np.{dtype})
    kh, kw = k.shape
    out = np.zeros((x.shape[0] + kh - 1, x.shape[1] + kw - 1), dtype=np.{dtype})
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i:i + kh, j:j + kw] += x[i, j] * k
    return {round_open}out{round_close}
"""


@pytest.mark.parametrize(
    "dtype, rounded, full_marks",
    [
        ("float32", False, True),  # float32 done right passes, the 16x16 hidden inputs near 1,000 included
        ("float16", False, False),  # half precision is not enough
        ("float64", True, False),  # rounding to 3 decimals is not right
    ],
)
def test_precision_float32_passes_float16_and_rounding_do_not(
    gradescope: GradescopeLayout, dtype: str, rounded: bool, full_marks: bool
) -> None:
    wrap = ("np.round(", ", 3)") if rounded else ("", "")
    gradescope.submit({"ps3.py": SOLUTION.read_text() + FLOAT32_LOOPS.format(dtype=dtype, round_open=wrap[0], round_close=wrap[1])})
    data = gradescope.run()
    scores = scores_by_function(data)
    for function in ("conv2d", "conv_transpose2d"):
        earned, possible = scores[function]
        assert (earned == possible) == full_marks, (function, earned, possible)
    large = [t for t in data["tests"] if "16x16 input" in t["name"]]  # rounding to 3 decimals is small beside entries near 25,000
    assert len(large) == 4 and all((t["status"] == "passed") == (dtype != "float16") for t in large)
