"""Spec loading: every assignment's specs load and add up to its course total; broken specs say where and why."""

from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import example, given

from autograder.engine.compare import agrees
from autograder.engine.errors import SpecError
from autograder.engine.follow_through import call_key
from autograder.engine.problemset import load as load_problems
from autograder.engine.scoring import assign_max_scores, earned, score_case, total
from autograder.model import Case, CaseResult, Comparison, Expected, FollowThrough, Problem, Report, Verdict

from conftest import (
    ASSIGNMENTS,
    FIXTURES,
    Assignment,
    graded_against_one_problem,
    graded_functions,
    spec_problems,
    total_points,
    write_files,
)

EVERY_ASSIGNMENT = pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=str)


def _problems(assignment: Assignment) -> dict[str, Problem]:
    return {p.key: p for p in load_problems(assignment.problems)}


# PS3's worked answers, its ten functions, each with visible and hidden cases, and its hand-graded Q1 are
# pinned in tests/test_ps3.py.


@EVERY_ASSIGNMENT
def test_case_shares_add_up_to_each_problems_points(assignment: Assignment) -> None:
    """With the Python checks' weights, the problems' points add up to the course total: validate holds them to
    it, and tests/test_assignments.py builds every assignment, which validates it."""
    problems = _problems(assignment)
    assert 0 < sum(p.points for p in problems.values()) <= total_points(assignment.problems)
    for problem in problems.values():
        assign_max_scores(problem)
        assert sum(c.max_score for c in problem.cases) == pytest.approx(problem.points, abs=1e-9)


@pytest.mark.parametrize("points, cases", [(10, 12), (10, 3), (7, 9), (1, 7), (30, 68)])
def test_totals_add_up_exact_shares_whatever_the_points_and_cases(points: int, cases: int) -> None:
    """Shown shares are rounded to 4 decimals (10 points over 12 cases are 0.8333 each), but what a submission
    earned is added up from the exact shares: half of 10 points is 5, not 4.9998, on Gradescope and in grades.csv."""
    problem = Problem(key="p", title="P: points", number="1", points=points)
    problem.cases = [Case("p", f"1.{n}", "f", f"case {n}", (n,), {}, Expected(n), Comparison("int")) for n in range(1, cases + 1)]
    assign_max_scores(problem)
    assert sum(case.max_score for case in problem.cases) == pytest.approx(points, abs=1e-9)
    for passed in range(cases + 1):
        results = [CaseResult(case, Verdict(n < passed)) for n, case in enumerate(problem.cases)]
        for result in results:
            score_case(result)
        report = Report("s.py", problems=[problem], results=results)
        assert total(report) == earned(report, problem)[0] == round(points * passed / cases, 4), passed


@EVERY_ASSIGNMENT
def test_every_function_has_a_visible_case(assignment: Assignment) -> None:
    """What students' check can show. Hidden cases are a course's choice (PS3 has them in every problem:
    tests/test_ps3.py)."""
    problems = _problems(assignment)
    functions = {c.function for p in problems.values() for c in p.cases}
    assert functions and functions == graded_functions(assignment.problems)
    for function in functions:
        assert any(not c.hidden for p in problems.values() for c in p.cases if c.function == function), function


@EVERY_ASSIGNMENT
def test_generated_cases_are_the_same_every_run(assignment: Assignment) -> None:
    problems, again = _problems(assignment), _problems(assignment)
    for key, problem in problems.items():
        for a, b in zip(problem.cases, again[key].cases, strict=True):
            assert a.name == b.name and repr(a.args) == repr(b.args)


def _spec_dir(tmp_path: Path, spec: str, reference: str | None = None) -> Path:
    folder = tmp_path / "problems" / "qx"
    folder.mkdir(parents=True)
    (folder / "spec.yaml").write_text(spec)
    if reference is not None:
        (folder / "reference.py").write_text(reference)
    return tmp_path / "problems"


GOOD = """\
title: "Qx"
points: 10
cases:
  - name: one
    call: double
    args: [2]
    expected: 4
"""


@pytest.mark.parametrize(
    "spec, line, message",
    [
        (GOOD.replace("    expected: 4", "    expected: 5"), 7, "disagrees with reference.py, which gives 4"),
        (GOOD.replace("points: 10", "points: ten"), 2, "'points' must be an int or float"),
        (GOOD.replace("    args: [2]\n", "    args: [2]\n    colour: red\n"), 7, "unknown key 'colour'"),
        (GOOD.replace("call: double", "call: triple"), 5, "defines no function 'triple'"),
        (GOOD.replace("call: double", "call: doubel"), 5, "defines no function 'doubel'; did you mean 'double'?"),
        (GOOD.replace("args: [2]", "args: [2"), 7, "(while parsing a flow sequence that begins at line 6)"),  # where the bracket opened
        (GOOD.replace("points: 10", "points: 0"), 2, "points must be a positive number"),
        (GOOD + "    raises: ValueError\n", 8, "either expected: or raises:, not both"),
        (GOOD.replace("    expected: 4", "    raises: ValueError"), 4, "the case says raises: ValueError, but reference.py returned 4"),
        (GOOD.replace("    expected: 4", "    raises: ValueEror"), 7, "'ValueEror' is not a Python exception; did you mean 'ValueError'?"),
        (GOOD + "    compare: {kind: fuzzy}\n", 8, "compare kind 'fuzzy'"),
        (GOOD + "    compare: {kind: int, rtol: 2}\n", 8, "rtol must be a number in [0, 1)"),
        ("- just a list\n", 1, "a spec must be a mapping"),
        (GOOD + "generate:\n  - {name: r, call: double, using: nowhere, count: 2, seed: 1}\n", 9, "defines no function 'nowhere'"),
        (GOOD + "mistakes:\n  - {call: halve, solver: double, message: m}\n", 9, "no case calls 'halve'"),
        (
            GOOD + "mistakes:\n  - {call: double, solver: double, message: m}\n",
            9,
            "gives the right answer (or raises as the reference does) on every case",
        ),
        (GOOD.replace("points: 10", "points: .nan"), 2, "'points' must be a finite number, not nan"),
        (GOOD + "    weight: .inf\n", 8, "'weight' must be a finite number, not inf"),
        (GOOD + "    compare: 5\n", 8, "compare must be a mapping"),
        (GOOD + "functions:\n  double: {compare: [int]}\n", 9, "compare must be a mapping"),
        (GOOD + "generate:\n  - {name: r, call: double, using: gen, count: 1000000000, seed: 1}\n", 9, "count must be from 1 to 1,000"),
        (GOOD + "generate:\n  - {name: r, call: double, using: gen, count: -4, seed: 1}\n", 9, "count must be from 1 to 1,000, not -4"),
        (GOOD + "generate:\n  - {name: r, call: double, using: gen, count: 2, seed: -1}\n", 9, "seed must be a whole number of 0 or more"),
        (
            GOOD.replace("args: [2]", "args: &two [2]") + "  - {name: again, call: double, args: *two, expected: 4}\n",
            8,
            "a YAML alias (*two)",
        ),
        (GOOD.replace("args: [2]", "args: [" + "[" * 70 + "2" + "]" * 70 + "]"), 6, "nested more than 64 deep"),
        (
            GOOD + "functions:\n  dubble: {compare: {kind: int}}\n",
            9,
            "'dubble' is called by no case, so its settings would apply to nothing; did you mean 'double'?",
        ),
    ],
)
def test_malformed_spec_names_file_line_and_problem(tmp_path: Path, spec: str, line: int, message: str) -> None:
    folder = _spec_dir(tmp_path, spec, "def double(x):\n    return 2 * x\n")
    with pytest.raises(SpecError) as caught:
        load_problems(folder)
    assert caught.value.path == folder / "qx" / "spec.yaml"
    assert caught.value.line == line
    assert message in caught.value.message


@pytest.mark.parametrize(
    "extra, message",
    [
        ("generate:\n  - {name: r, call: double, using: g, count: 50, seed: 1}\n", "generate needs a reference.py"),
        ("mistakes:\n  - {call: double, solver: s, message: m}\n", "mistakes needs a reference.py"),
        ("functions:\n  double: {follow_through: {share: 0.5, using: f}}\n", "follow_through of double needs a reference.py"),
    ],
)
def test_what_needs_a_reference_is_not_silently_dropped_without_one(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        load_problems(_spec_dir(tmp_path, GOOD + extra))


def test_a_known_mistake_that_forgets_a_refusal_is_named_where_it_returns(tmp_path: Path) -> None:
    """An adopter's bisection without its sign check: validate said the solver "gives the right answer on every
    case" (its solver never ran on a raises: case), so the mistake could never be named."""
    from autograder.engine.runner import check
    from autograder.model import Outcome

    reference = (
        "def halve(n):\n    if n % 2:\n        raise ValueError('odd')\n    return n // 2\n\n\ndef halve_unchecked(n):\n    return n // 2\n"
    )
    spec = (
        GOOD.replace("double", "halve").replace("args: [2]", "args: [4]").replace("expected: 4", "expected: 2")
        + "  - {name: odd, call: halve, args: [7], raises: ValueError}\n"
        + "mistakes:\n  - {call: halve, solver: halve_unchecked, message: The odd check is missing.}\n"
    )
    (problem,) = load_problems(_spec_dir(tmp_path, spec, reference))
    odd = next(case for case in problem.cases if case.expected.raises)
    assert odd.known_mistakes == [(3, "The odd check is missing.")]
    assert check(odd, Outcome("returned", value=3)).diagnosis == "The odd check is missing."
    assert check(odd, Outcome("returned", value=4)).diagnosis == ""
    # And so in a whole grade, where a function is named only if all its answers fit (the adopter's suite caught
    # the diagnosis being dropped there: an answer where a refusal was due was weighed as no evidence at all).
    from autograder.engine.runner import grade, load_problem_set
    from autograder.sandbox.gate import CallGate
    from autograder.sandbox.process import Sandbox

    tmp_path.chmod(0o755)
    submission = tmp_path / "submission.py"
    submission.write_text("def halve(n):\n    return n // 2\n")
    report = grade(CallGate.started(Sandbox(submission, worker_user=None)), load_problem_set(tmp_path / "problems"))
    assert [(result.case.name, result.diagnosis) for result in report.results] == [("one", ""), ("odd", "The odd check is missing.")]


def _graded(tmp_path: Path, spec: str, reference: str, submission: str) -> dict[str, str]:
    """The diagnosis of each case, by name, of ``submission`` graded in full against one problem."""
    return {result.case.name: result.diagnosis for result in graded_against_one_problem(tmp_path, spec, reference, submission).results}


def test_a_mistake_in_two_forms_never_wrong_on_the_same_case_is_still_named(tmp_path: Path) -> None:
    """Forms were counted where the most are wrong at once; two that never are on one case counted as one, so a
    right answer where the other form is wrong ruled the mistake out (review). The spec's solvers are counted."""
    reference = (
        "def half(n):\n    return n // 2\n\n\ndef half_odd_up(n):\n    return n // 2 + n % 2\n\n\n"
        "def half_fours_down(n):\n    return n // 2 - (n % 4 == 0)\n"
    )
    message = "A slip in halving."
    spec = (
        'title: "Qx"\npoints: 3\ncases:\n  - {name: odd, call: half, args: [3]}\n  - {name: four, call: half, args: [8]}\n'
        f"  - {{name: two, call: half, args: [2]}}\nmistakes:\n  - {{call: half, solver: half_odd_up, message: {message}}}\n"
        f"  - {{call: half, solver: half_fours_down, message: {message}}}\n"
    )
    diagnoses = _graded(tmp_path, spec, reference, "def half(n):\n    return n // 2 + n % 2\n")
    assert diagnoses == {"odd": message, "four": "", "two": ""}


def test_a_wrong_truth_value_fits_the_mistake_that_gives_it(tmp_path: Path) -> None:
    """A True/False case names no mistake, but its wrong answer was taken as evidence against every mistake, so
    the mistake was not named on the function's other cases either (review)."""
    reference = "def h(n):\n    return True if n == 0 else 2 * n\n\n\ndef h_slip(n):\n    return False if n == 0 else 2 * n + 1\n"
    spec = (
        'title: "Qx"\npoints: 2\nfunctions:\n  h: {compare: {kind: value}}\ncases:\n  - {name: zero, call: h, args: [0]}\n'
        "  - {name: two, call: h, args: [2]}\nmistakes:\n  - {call: h, solver: h_slip, message: One too many.}\n"
    )
    diagnoses = _graded(tmp_path, spec, reference, "def h(n):\n    return False if n == 0 else 2 * n + 1\n")
    assert diagnoses == {"zero": "", "two": "One too many."}


def test_an_array_answer_without_an_array_comparison_says_so(tmp_path: Path) -> None:
    spec = GOOD.replace("args: [2]", "args: [!array [[1.5, 2]]]").replace("    expected: 4\n", "")
    with pytest.raises(SpecError, match="cannot be compared as kind 'int'; declare functions: double"):
        load_problems(_spec_dir(tmp_path, spec, "def double(x):\n    return 2 * x\n"))


def test_a_reference_that_raises_is_reported_at_its_own_line_and_a_bad_draw_by_number(tmp_path: Path) -> None:
    """An adopter's bug in reference.py was reported at the spec line of the case that met it, and a generator
    draw the reference refused only at the generate line: which draw, with what arguments, took re-running it."""
    reference = (
        "def double(x):\n    return 2 * _checked(x)\n\n\ndef _checked(x):\n    if x < 0:\n        raise ValueError('negative')\n"
        "    return x\n\n\ndef gen(rng):\n    return [-1]\n"
    )
    with pytest.raises(SpecError) as caught:
        load_problems(
            _spec_dir(tmp_path / "case", GOOD.replace("args: [2]", "args: [-4]").replace("expected: 4", "expected: -8"), reference)
        )
    assert caught.value.line == 4 and "problems/qx/reference.py:7 (in _checked) raised ValueError: negative" in caught.value.message
    assert "write raises: ValueError in it, else fix reference.py or the case's args" in caught.value.message
    with pytest.raises(SpecError) as caught:  # the case already names another exception: it is told so
        load_problems(
            _spec_dir(tmp_path / "other", GOOD.replace("args: [2]", "args: [-4]").replace("expected: 4", "raises: TypeError"), reference)
        )
    assert "raised ValueError: negative (the case says raises: TypeError): name that exception" in caught.value.message
    generated = GOOD + "generate:\n  - {name: r, call: double, using: gen, count: 2, seed: 1}\n"
    with pytest.raises(SpecError) as caught:
        load_problems(_spec_dir(tmp_path / "draw", generated, reference))
    assert caught.value.line == 9, caught.value
    assert "on r #1, seed 1, draw 1: double(-1). A generator must draw inputs the reference answers" in caught.value.message


def test_broken_reference_is_reported_with_its_file(tmp_path: Path) -> None:
    folder = _spec_dir(tmp_path, GOOD, "def double(x):\n    return 2 *\n")
    with pytest.raises(SpecError) as caught:
        load_problems(folder)
    assert caught.value.path.name == "reference.py" and caught.value.line == 2


def test_missing_folder_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no problems folder"):
        load_problems(tmp_path / "nowhere")
    with pytest.raises(SpecError, match=r"no \*/spec\.yaml"):
        load_problems(tmp_path)


ARRAY_PARTS = """\
import numpy as np

def scaled(x):
    return 2.0 * np.asarray(x)

def total(x):
    return float(scaled(x).sum())

def total_from(parts, x):
    return float(parts.scaled(x).sum())

def total_from_answers(parts, x):
    first = parts.scaled(x)
    return float(parts.scaled(first).sum() / 2)
"""


@pytest.mark.parametrize("args", ["[!array [[1.5, 2], [3, 4]]]", "[[[1.5, 2], [3, 4]]]"], ids=["array", "nested lists"])
def test_follow_through_over_array_arguments_traces_its_part_calls(tmp_path: Path, args: str) -> None:
    """The part calls' arguments are arrays (another course's covariance matrix): traced and compared by value."""
    spec = GOOD.replace("call: double", "call: total").replace("args: [2]", f"args: {args}").replace("expected: 4", "expected: 21.0")
    spec += "functions:\n  total: {compare: {kind: array}, follow_through: {share: 0.5, using: total_from}}\n"
    (case,) = load_problems(_spec_dir(tmp_path, spec, ARRAY_PARTS))[0].cases
    assert case.follow_through is not None and [call.function for call in case.follow_through.calls] == ["scaled"]
    assert np.array_equal(case.follow_through.calls[0].args[0], np.array([[1.5, 2], [3, 4]]))


RAISING_PARTS = """\
def count(n):
    if n < 0:
        raise ValueError("no negative counts")
    return n

def total(n):
    return count(n) * 10 + 1

def total_checking_itself(n):
    if n > 100:
        raise ValueError("too many")
    return count(n) * 10 + 1

def total_from(parts, n):
    return parts.count(n) * 10 + 1
"""


@pytest.mark.parametrize(("call", "credited"), [("total", True), ("total_checking_itself", False)])
def test_a_case_whose_answer_is_a_parts_exception_gets_follow_through_only_through_that_part(
    tmp_path: Path, call: str, credited: bool
) -> None:
    """total(-1) raises because count(-1) does: its part calls are traced past the raising part. total(200) raises
    on its own check, which is what that case asks of the student's total: no follow-through there."""
    argument = -1 if credited else 200
    spec = GOOD.replace("call: double", f"call: {call}").replace("args: [2]", f"args: [{argument}]")
    spec = spec.replace("    expected: 4", "    raises: ValueError")
    spec += f"functions:\n  {call}: {{follow_through: {{share: 0.5, using: total_from}}}}\n"
    (case,) = load_problems(_spec_dir(tmp_path, spec, RAISING_PARTS))[0].cases
    if credited:
        assert case.follow_through is not None and [(c.function, c.args) for c in case.follow_through.calls] == [("count", (-1,))]
    else:
        assert case.follow_through is None


def test_follow_through_whose_part_calls_depend_on_array_answers_is_refused(tmp_path: Path) -> None:
    spec = GOOD.replace("call: double", "call: total").replace("args: [2]", "args: [!array [[1.5, 2], [3, 4]]]")
    spec = spec.replace("expected: 4", "expected: 21.0")
    spec += "functions:\n  total: {compare: {kind: array}, follow_through: {share: 0.5, using: total_from_answers}}\n"
    with pytest.raises(SpecError, match="depend on the parts' answers") as caught:
        load_problems(
            _spec_dir(
                tmp_path,
                spec,
                ARRAY_PARTS.replace(
                    "def total(x):\n    return float(scaled(x).sum())", "def total(x):\n    return float(scaled(scaled(x)).sum() / 2)"
                ),
            )
        )
    assert caught.value.line == 9


def test_points_on_a_problem_graded_by_hand_are_refused_where_they_are(tmp_path: Path) -> None:
    """They would count in no autograded total (validate's total would silently leave them out)."""
    with pytest.raises(SpecError, match="a problem graded by hand earns no autograded points") as caught:
        load_problems(_spec_dir(tmp_path, 'title: "Q1"\npoints: 5\ngraded_by_hand: "an essay"\n'))
    assert caught.value.line == 2


def test_a_failure_no_check_foresaw_names_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from autograder.engine import specs

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("The truth value of an array with more than one element is ambiguous")

    monkeypatch.setattr(specs, "_case", broken)
    folder = _spec_dir(tmp_path, GOOD, "def double(x):\n    return 2 * x\n")
    with pytest.raises(SpecError, match="loading this spec failed \\(ValueError: The truth value") as caught:
        load_problems(folder, use_cache=False)
    assert caught.value.path == folder / "qx" / "spec.yaml"


def test_array_and_tuple_tags(tmp_path: Path) -> None:
    spec = GOOD.replace("args: [2]", "args: [!array [[1, 2], [3, 4]]]").replace("expected: 4", "expected: [[2, 4], [6, 8]]")
    spec = spec.replace("points: 10", "points: 10\nfunctions:\n  double: {compare: {kind: array}}")
    (case,) = load_problems(_spec_dir(tmp_path, spec, "def double(x):\n    return 2 * x\n"))[0].cases
    assert isinstance(case.args[0], np.ndarray) and case.args[0].shape == (2, 2)
    with pytest.raises(SpecError, match="!array is not rectangular"):
        load_problems(
            _spec_dir(tmp_path / "b", GOOD.replace("args: [2]", "args: [!array [[1], [2, 3]]]"), "def double(x):\n    return x\n")
        )


# -- YAML 1.2 -------------------------------------------------------------------


def _yaml_value(text: str) -> object:
    import yaml

    from autograder.engine.specs import yaml_12_loader

    return yaml.load(f"value: {text}\n", Loader=yaml_12_loader())["value"]


@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none()))
@example(1e-06)  # the instance PyYAML reads as text: no dot before its exponent
@example(5e-324)
def test_every_json_number_and_constant_reads_as_json_reads_it(value: object) -> None:
    """YAML 1.2 is a superset of JSON: each JSON scalar, written plain, is the value Python's json module reads."""
    written = json.dumps(value, allow_nan=False)  # JSON itself: no NaN or Infinity
    read = _yaml_value(written)
    assert read == json.loads(written) and type(read) is type(json.loads(written)), (written, read)


@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["{:e}", "{:E}", "{:+.3e}", "{:g}", "{:.17g}", "{!r}"]))
def test_every_way_python_writes_a_float_is_read_back_as_that_float(number: float, style: str) -> None:
    written = style.format(number)
    assert _yaml_value(written) == float(written), written


@pytest.mark.parametrize(
    "text, value",
    [
        ("yes", "yes"),
        ("No", "No"),
        ("on", "on"),
        ("OFF", "OFF"),
        ("y", "y"),  # YAML 1.1's booleans: text in 1.2
        ("1_000", "1_000"),
        ("1:30", "1:30"),
        ("0b101", "0b101"),
        ("2024-01-31", "2024-01-31"),  # 1.1's numbers, a date
        ("017", 17),
        ("0o17", 15),
        ("0x1F", 31),
        (".5", 0.5),
        ("+.5", 0.5),
        ("1.", 1.0),
        ("-.inf", -float("inf")),
        ("TRUE", True),
        ("False", False),
        ("tRue", "tRue"),
        ("~", None),
        ("Null", None),
        ('"1e-6"', "1e-6"),
    ],
)
def test_yaml_11_forms_are_read_as_yaml_12_reads_them(text: str, value: object) -> None:
    assert _yaml_value(text) == value and type(_yaml_value(text)) is type(value)


@pytest.mark.parametrize("number, shown", [('"3.10"', "3.10"), ("7", "7"), ("3.10", None), ("true", None)])
def test_a_problem_number_is_text_or_a_whole_number(tmp_path: Path, number: str, shown: str | None) -> None:
    """``number: 3.10`` is the float 3.1: problem 3.10's cases were numbered 3.1.1... in silence (adopter)."""
    folder = _spec_dir(tmp_path, GOOD.replace('title: "Qx"', f'title: "Qx"\nnumber: {number}'), "def double(x):\n    return 2 * x\n")
    if shown is None:
        with pytest.raises(
            SpecError, match=re.escape("number must be text, not") + ".*" + re.escape('write it in quotes, e.g. number: "3.10"')
        ):
            load_problems(folder, use_cache=False)
    else:
        assert load_problems(folder, use_cache=False)[0].number == shown


def test_a_spec_and_its_course_read_numbers_and_truth_values_as_yaml_12(tmp_path: Path) -> None:
    from autograder.apps.course import load as load_course

    spec = GOOD.replace("args: [2]", "args: [1e3]").replace("expected: 4", "expected: 2e3")
    spec = spec.replace("points: 10", "points: 10\nfunctions:\n  double: {compare: {kind: value, rtol: 1e-9, atol: 0}}")
    problems = _spec_dir(tmp_path, spec, "def double(x):\n    return 2 * x\n")
    (case,) = load_problems(problems, use_cache=False)[0].cases
    assert case.args == (1000.0,) and case.expected.value == 2000.0 and case.comparison.rtol == 1e-9
    (tmp_path / "assignment.yaml").write_text("title: Lab\nsubmission_names: [lab.py]\ntotal_points: 1e1\n")
    assert load_course(problems).total_points == 10.0
    hidden = GOOD.replace("expected: 4", "expected: 4\n    hidden: yes")
    with pytest.raises(SpecError, match=re.escape("'hidden' must be a bool, not str ('yes' is text in YAML 1.2: write true or false)")):
        load_problems(_spec_dir(tmp_path / "h", hidden, "def double(x):\n    return 2 * x\n"), use_cache=False)
    with pytest.raises(SpecError, match=re.escape("'maybe' is not a YAML 1.2 bool")):
        load_problems(_spec_dir(tmp_path / "t", GOOD.replace("args: [2]", "args: [!!bool maybe]"), None), use_cache=False)


def test_reference_mutating_its_input_cannot_change_a_case(tmp_path: Path) -> None:
    reference = "def double(x):\n    x[0] = 99\n    return 2 * len(x)\n"
    spec = GOOD.replace("args: [2]", "args: [[1, 2]]")
    (case,) = load_problems(_spec_dir(tmp_path, spec, reference))[0].cases
    assert case.args == ([1, 2],)


@EVERY_ASSIGNMENT
def test_shipped_problems_copy_still_loads(tmp_path: Path, assignment: Assignment) -> None:
    shutil.copytree(assignment.problems, tmp_path / "problems")
    assert len(load_problems(tmp_path / "problems")) == len(spec_problems(assignment.problems)) > 1


def _call_keys(rule: FollowThrough) -> list[str | None]:
    return [call_key(call.function, call.args, call.kwargs) for call in rule.calls]


@EVERY_ASSIGNMENT
def test_compiled_cache_stands_in_for_the_specs_and_is_ignored_once_stale(tmp_path: Path, assignment: Assignment) -> None:
    from autograder.engine.compiled import CACHE_NAME, cache_bytes

    folder = tmp_path / "problems"
    shutil.copytree(assignment.problems, folder, ignore=shutil.ignore_patterns("__pycache__", CACHE_NAME))
    fresh = load_problems(folder)
    (folder / CACHE_NAME).write_bytes(cache_bytes(folder, fresh))
    cached = load_problems(folder)
    for a, b in zip((c for p in fresh for c in p.cases), (c for p in cached for c in p.cases), strict=True):
        assert (a.problem, a.number, a.name, a.hidden, a.weight, a.comparison, a.where) == (
            b.problem,
            b.number,
            b.name,
            b.hidden,
            b.weight,
            b.comparison,
            b.where,
        )
        # By their keys, which hash arrays' bytes: == on calls with array arguments has no truth value (an adopter's course).
        assert a.follow_through is None or (b.follow_through is not None and _call_keys(a.follow_through) == _call_keys(b.follow_through))
        assert repr(a.args) == repr(b.args) and repr(a.expected) == repr(b.expected)
        assert repr(a.known_mistakes) == repr(b.known_mistakes)
        assert (a.follow_through is None) == (b.follow_through is None)
    # A course may have no follow-through at all; PS3 and Lab 2, which this test also runs on, both have some.
    for composite in (c for p in cached for c in p.cases if c.follow_through):
        reference_rule = next(c for p in fresh for c in p.cases if c.number == composite.number).follow_through
        assert composite.follow_through is not None and reference_rule is not None
        parts = sys.modules[reference_rule.compose.__module__]  # the reference's own parts: the composition gives its answer
        if composite.expected.raises:  # ... or raises what the case expects, through a part (specs._calls_when_a_part_raises)
            with pytest.raises(Exception) as raised:  # the exception the case names: checked below
                composite.follow_through.compose(parts, *composite.args, **composite.kwargs)
            assert composite.expected.raises in [cls.__name__ for cls in raised.type.__mro__]
            continue
        assert agrees(
            composite.follow_through.compose(parts, *composite.args, **composite.kwargs), composite.expected.value, composite.comparison
        )
    assert all(c.expected is not f.expected for p, q in zip(cached, fresh) for c, f in zip(p.cases, q.cases))  # really from the cache
    assert [p.path for p in cached] == [p.path for p in fresh]  # the runner finds each problem's checks beside it

    changed = next(p for p in fresh if not p.graded_by_hand)
    assert changed.path is not None
    changed.path.write_text(re.sub(r"^points: .*$", f"points: {changed.points + 1:g}", changed.path.read_text(), flags=re.M))
    again = {p.key: p for p in load_problems(folder)}
    assert again[changed.key].points == changed.points + 1  # a changed spec makes the cache stale


def test_a_damaged_cache_is_ignored(tmp_path: Path) -> None:
    from autograder.engine.compiled import CACHE_NAME

    folder = tmp_path / "problems"
    shutil.copytree(FIXTURES / "lab1" / "problems", folder, ignore=shutil.ignore_patterns("__pycache__", CACHE_NAME))
    (folder / CACHE_NAME).write_text('{"format": 1, "fingerprint": "x", "problems": [')
    assert len(load_problems(folder)) == len(spec_problems(FIXTURES / "lab1" / "problems")) > 1


def test_a_declared_mistake_is_named_in_every_problem_that_grades_its_function(tmp_path: Path) -> None:
    """P1 declares fc without its bias; P2 grades fc too and declares nothing: P2's fc case names the mistake, in a
    whole grade and in validate, counted once where P2 declares the same solver and message itself."""
    from autograder.apps.kit.validate import validate
    from autograder.engine.specs import load_specs

    folder = tmp_path / "problems"
    reference = "def fc(d_in, d_out):\n    return d_in * d_out + d_out\n\n\ndef fc_weights_only(d_in, d_out):\n    return d_in * d_out\n"
    message = "The weights only: each unit also has a bias."
    declares = f'mistakes:\n  - {{call: fc, solver: fc_weights_only, message: "{message}"}}\n'
    for key, spec in {
        "p1": 'title: "P1"\npoints: 1\ncases:\n  - {name: small, call: fc, args: [2, 3]}\n' + declares,
        "p2": 'title: "P2"\npoints: 1\ncases:\n  - {name: wide, call: fc, args: [192, 100]}\n',
    }.items():
        (folder / key).mkdir(parents=True)
        (folder / key / "spec.yaml").write_text(spec)
        (folder / key / "reference.py").write_text(
            reference if key == "p1" else "from ..p1.reference import fc, fc_weights_only  # noqa: F401\n"
        )
    for problems in (load_specs(folder), validate(folder, mutants=False).problems):
        assert [case.known_mistakes for problem in problems for case in problem.cases] == [[(6, message)], [(19200, message)]]
        assert [problem.mistake_forms for problem in problems] == [{message: 1}, {message: 1}]
    (folder / "p2" / "spec.yaml").write_text((folder / "p2" / "spec.yaml").read_text() + declares)
    assert [case.known_mistakes for problem in load_specs(folder) for case in problem.cases] == [[(6, message)], [(19200, message)]]
    tmp_path.chmod(0o755)
    (tmp_path / "submission.py").write_text("def fc(d_in, d_out):\n    return d_in * d_out\n")
    from autograder.engine.runner import grade, load_problem_set
    from autograder.sandbox.gate import CallGate
    from autograder.sandbox.process import Sandbox

    report = grade(CallGate.started(Sandbox(tmp_path / "submission.py", worker_user=None)), load_problem_set(folder))
    assert [result.diagnosis for result in report.results] == [message, message]


def _total_spec(cases: str) -> str:
    """A spec whose ``total`` gets half its case's points through ``total_from`` (follow-through), with ``cases``."""
    return 'title: "Qx"\npoints: 6\nfunctions:\n  total: {follow_through: {share: 0.5, using: total_from}}\ncases:\n' + textwrap.indent(
        textwrap.dedent(cases), "  "
    )


COUNTED_TOTAL_SPEC = _total_spec(
    """\
    - {name: count one, call: count, args: [1]}
    - {name: count three, call: count, args: [3]}
    - {name: count seven, call: count, args: [7]}
    - {name: total of two, call: total, args: [2]}
    - {name: total of eight, call: total, args: [8]}
    - {name: total of nine, call: total, args: [9], hidden: true}
    """
)
COUNT_REFUSING_PAST_FIVE = "def count(n):\n    if n > 5:\n        raise ValueError('too many')\n    return n\n\n\n"


COUNT_RAISING_ONLY_ON_PART_CALLS = (  # wrong on its own case 7 by a value; raises only past 7, where only part calls go
    "def count(n):\n    if n > 7:\n        raise ValueError('too many')\n    return n + (n == 7)\n\n\n"
)
COUNT_UNFINISHED = "def count(n):\n    if n > 5:\n        raise NotImplementedError\n    return n\n\n\n"


@pytest.mark.parametrize(
    ("count", "total", "credited"),
    [
        (COUNT_REFUSING_PAST_FIVE, "def total(n):\n    return count(n) * 10 + 1\n", {"total of eight", "total of nine"}),
        (COUNT_REFUSING_PAST_FIVE, "def total(n):\n    raise ValueError('never')\n", {"total of eight", "total of nine"}),
        (COUNT_REFUSING_PAST_FIVE, "def total(n):\n    raise TypeError('never')\n", set()),
        (COUNT_RAISING_ONLY_ON_PART_CALLS, "def total(n):\n    raise ValueError('never')\n", set()),
        (COUNT_UNFINISHED, "def total(n):\n    return count(n) * 10 + 1\n", set()),
    ],
    ids=["composed", "always raising", "another exception", "a part raising only on part calls", "a starter's stub"],
)
def test_a_composite_that_raises_what_its_own_part_raises_there_earns_the_follow_through_share(
    tmp_path: Path, count: str, total: str, credited: set[str]
) -> None:
    """A count wrong past five (it raises) makes a total built on it raise there too: wrong only because the part
    is, as much as a total of a part's wrong values. The credit needs the part's own exception, of the same class,
    on the composition's own part call, and the part raising it on a case of its own too (else a part raising only
    on part calls would let a total that always raises earn it everywhere); a starter's NotImplementedError earns
    nothing. A composite raising everywhere earns it only where its part raises."""
    report = graded_against_one_problem(tmp_path, COUNTED_TOTAL_SPEC, RAISING_PARTS, count + total)
    assert {result.case.name for result in report.results if result.credit} == credited
    for result in (result for result in report.results if result.credit):
        assert result.credit == 0.5 and "your function raises what you get from your own `count`" in result.credit_reason
    from autograder.engine.outcomes import CREDITED, hidden_alphabet

    (hidden,) = [result for result in report.results if result.case.hidden]
    shown = hidden_alphabet([result.case for result in report.results if result.case.function == "total"]).summary(hidden)
    assert (shown == CREDITED) == bool(credited)  # what a hidden case shows before publication says so too


FLOAT_PART_SPEC = _total_spec(
    """\
    - {name: unit of one, call: unit, args: [1]}
    - {name: unit of two, call: unit, args: [2]}
    - {name: total of one, call: total, args: [1]}
    - {name: total of two, call: total, args: [2]}
    """
)
FLOAT_PARTS = (
    "def unit(n):\n    return 3 * n\n\ndef total(n):\n    return unit(n) + 1\n\ndef total_from(parts, n):\n    return parts.unit(n) + 1\n"
)


@pytest.mark.parametrize(
    ("total", "credited"),
    [("def total(n):\n    return unit(n) + 1\n", True), ("def total(n):\n    return unit(n) + 2\n", False)],
    ids=["composed", "composed wrongly"],
)
def test_a_total_of_a_parts_counts_that_are_not_whole_earns_the_follow_through_share(tmp_path: Path, total: str, credited: bool) -> None:
    """A part computed in floats (3.0000000001 a unit) is wrong, and so is a total built on it: the total's count
    is not whole, which the grader refuses before it looks further, but it is exactly the composition over the
    student's own part, so it is wrong only because the part is."""
    report = graded_against_one_problem(tmp_path, FLOAT_PART_SPEC, FLOAT_PARTS, "def unit(n):\n    return n * 3.0000000001\n\n" + total)
    assert not any(result.verdict.passed for result in report.results)
    assert {result.case.name for result in report.results if result.credit} == ({"total of one", "total of two"} if credited else set())


def test_a_problem_folder_without_its_spec_is_named_not_skipped_in_silence(tmp_path: Path) -> None:
    """An adopter's spec.yml (or one not written yet) made the folder no problem at all, and validate said nothing:
    its points were simply missing from the course."""
    from autograder.apps.kit.validate import validate

    problems = _spec_dir(tmp_path, GOOD, "def double(x):\n    return 2 * x\n")
    (problems / "qy").mkdir()
    (problems / "qy" / "reference.py").write_text("def triple(x):\n    return 3 * x\n")
    (problems / "qy" / "spec.yml").write_text(GOOD.replace("Qx", "Qy"))
    (problems / "empty").mkdir()  # an empty folder is nothing half written: not named
    warnings = [w for w in validate(problems, mutants=False).warnings if "no spec.yaml" in w]
    assert warnings == [
        f"{problems / 'qy'}: no spec.yaml here, so this folder is not a problem and nothing in it is graded (found spec.yml: name it spec.yaml)"
    ]


def test_a_reference_that_fails_as_it_is_imported_is_named_at_the_failing_line(tmp_path: Path) -> None:
    """Any exception importing reference.py was reported at its line 1 (only a SyntaxError carries a line of its
    own): the line is now the innermost frame of the problems folder."""
    reference = "import math\n\n\ndef double(x):\n    return 2 * x\n\n\nTABLE = {}['missing']\n"
    with pytest.raises(SpecError, match=r"reference\.py:8: cannot import: KeyError: 'missing'"):
        load_problems(_spec_dir(tmp_path, GOOD, reference))


def test_a_reference_failing_in_another_problems_reference_it_imports_says_whose_import_it_was(tmp_path: Path) -> None:
    """q5's reference imports q2's, which fails: both errors pointed at q2/reference.py's line alike, printed twice,
    and q5 was never named (adopter). The second says it came importing q5's reference."""
    from autograder.apps.kit.validate import validate

    failing = 'title: "Q2"\npoints: 1\ncases:\n  - {name: one, call: double, args: [1]}\n'
    problems = write_files(
        tmp_path / "problems",
        {
            "q2/spec.yaml": failing,
            "q2/reference.py": "import surely_not_installed_anywhere\n\n\ndef double(x):\n    return 2 * x\n",
            "q5/spec.yaml": failing.replace("Q2", "Q5"),
            "q5/reference.py": "from ..q2.reference import double  # noqa: F401\n",
        },
    )
    errors = validate(problems, mutants=False).errors
    assert len(errors) == 2 and all("q2/reference.py:1: cannot import: ModuleNotFoundError" in error for error in errors), errors
    assert "(importing q5/reference.py, which imports it)" in errors[1] and "importing" not in errors[0], errors


def _one_function_spec(title: str, points: int, function: str, kind: str, rest: str) -> str:
    """A spec.yaml grading one function, compared as ``kind``; ``rest`` is its cases: list and what follows."""
    return f'title: "{title}"\npoints: {points}\nfunctions:\n  {function}: {{compare: {{kind: {kind}}}}}\n' + rest


REFUSING_SPEC = _one_function_spec(
    "P1: refusals",
    4,
    "root",
    "int",
    """\
cases:
  - {name: a root, call: root, args: [4], expected: 2}
  - {name: a negative number, call: root, args: [-1], raises: ValueError}
  - {name: a runtime refusal, call: root, args: [-2], raises: RuntimeError}
  - {name: any refusal, call: root, args: [-3], raises: Exception}
""",
)
REFUSING_REFERENCE = """\
def root(n):
    if n == -1:
        raise ValueError("negative")
    if n < 0:
        raise RuntimeError("negative")
    return int(n ** 0.5)
"""


@pytest.mark.parametrize(
    ("body", "passed"),
    [
        ("    raise NotImplementedError('write root')\n", set()),
        ("    class Unfinished(NotImplementedError):\n        pass\n    raise Unfinished\n", set()),
        (REFUSING_REFERENCE.split("\n", 1)[1], {"a root", "a negative number", "a runtime refusal", "any refusal"}),
    ],
    ids=["the starter's body", "a subclass of it", "written"],
)
def test_a_function_not_written_yet_passes_no_case_that_expects_an_exception(tmp_path: Path, body: str, passed: set[str]) -> None:
    """NotImplementedError is a RuntimeError, and so an Exception: a case expecting either gave an untouched starter
    points (an adopter's course, 2 of 10, where the kit's guide promises 0). What a function not written yet raises
    passes only a case that expects NotImplementedError itself."""
    report = graded_against_one_problem(tmp_path, REFUSING_SPEC, REFUSING_REFERENCE, "def root(n):\n" + body)
    assert {result.case.name for result in report.results if result.verdict.passed} == passed


PALINDROME_SPEC = _one_function_spec(
    "P1: palindromes",
    2,
    "is_palindrome",
    "value",
    """\
cases:
  - {name: mixed case, call: is_palindrome, args: ["Abba"], expected: true}
  - {name: not one, call: is_palindrome, args: ["abc"], expected: false}
mistakes:
  - call: is_palindrome
    solver: is_palindrome_case_sensitive
    message: "Upper and lower case were compared as different letters."
""",
)
PALINDROME_REFERENCE = """\
def is_palindrome(text):
    return text.lower() == text.lower()[::-1]


def is_palindrome_case_sensitive(text):
    return text == text[::-1]
"""


def test_a_mistake_that_can_only_be_wrong_on_true_or_false_answers_is_refused(tmp_path: Path) -> None:
    """The grader names no mistake where the right answer is True or False (the one wrong answer there is every
    mistake's): an adopter's mistake on is_palindrome was accepted by validate and never shown. It is a spec error,
    at the mistake's line, saying why."""
    problems = write_files(tmp_path / "problems", {"p1/spec.yaml": PALINDROME_SPEC, "p1/reference.py": PALINDROME_REFERENCE})
    with pytest.raises(SpecError, match=r"spec\.yaml:9: the cases where is_palindrome_case_sensitive is wrong all expect True or False"):
        load_problems(problems)


WORDS_SPEC = _one_function_spec(
    "P1: distinct words",
    2,
    "distinct",
    "value",
    """\
cases:
  - {name: few words, call: distinct, args: [[pear, fig, pear, kiwi, plum, fig, lime]]}
  - {name: one word, call: distinct, args: [[fig, fig]]}
""",
)


@pytest.mark.parametrize(
    "name, args, warned",
    [("double of n = 17, scale = 2.5", "[17, 2.5]", True), ("a large odd number", "[17, 2.5]", False), ("one of 17", "[17, 25]", False)],
)
def test_validate_warns_of_a_hidden_case_whose_name_spells_its_inputs(tmp_path: Path, name: str, args: str, warned: bool) -> None:
    """A hidden case's name is shown on Gradescope before publication: "most likely count, n = 5, p = 0.9" gave
    its inputs away (adopter round 7). Named when every argument is written in the name."""
    from autograder.apps.kit.validate import validate

    spec = GOOD.replace("    expected: 4\n", "").replace("points: 10", "points: 10\nfunctions:\n  double: {compare: {kind: array}}")
    spec += f'  - name: "{name}"\n    call: double\n    args: {args}\n    hidden: true\n'
    reference = "def double(x, scale=1.0):\n    return 2 * x * scale\n"
    warnings = validate(write_files(tmp_path / "problems", {"qx/spec.yaml": spec, "qx/reference.py": reference}), mutants=False).warnings
    assert len([warning for warning in warnings if "names its inputs" in warning]) == warned, warnings


@pytest.mark.parametrize("body, warned", [("return x / 3", True), ("return x * 2.0", False), ("return np.float64(x) / 4", True)])
def test_validate_warns_of_fractional_answers_compared_with_no_tolerance(tmp_path: Path, body: str, warned: bool) -> None:
    """A zero rtol and atol on a softmax took a correct logsumexp softmax's points for an error of 2.2e-16, and
    validate said nothing (adopter round 7). Whole-number answers compare exactly in any order of work: no warning."""
    from autograder.apps.kit.validate import validate

    spec = GOOD.replace("points: 10", "points: 10\nfunctions:\n  double: {compare: {kind: array, rtol: 0, atol: 0}}")
    spec = spec.replace("expected: 4\n", "")
    problems = write_files(
        tmp_path / "problems", {"qx/spec.yaml": spec, "qx/reference.py": f"import numpy as np\n\n\ndef double(x):\n    {body}\n"}
    )
    said = [warning for warning in validate(problems, mutants=False).warnings if "compared with rtol 0 and atol 0" in warning]
    assert len(said) == warned, said


def test_validate_refuses_what_gradescopes_grader_cannot_import_in_a_reference_or_a_check(tmp_path: Path) -> None:
    """Every answer is computed here, with this machine's Python and packages; on Gradescope the grader imports a
    reference for follow-through credit, and runs the Python checks. A reference importing a package setup.sh does
    not install, or written in 3.11 syntax, passed validate and build and lost students the credit there in silence
    (adopter round 7). The allow-list: the standard library of Python 3.10, the engine's requirements, the course's
    packages and, in a check, the submission."""
    from autograder.apps.kit.validate import validate

    reference = (
        "import math\nimport yaml\nimport numpy as np\nfrom json import dumps\nfrom .. import p1\n\n\ndef double(x):\n    return 2 * x\n"
    )
    check = "import hw\nimport pytest\n\n\ndef test_double():\n    assert hw.double(2) == 4\n"
    problems = write_files(tmp_path / "problems", {"qx/spec.yaml": GOOD, "qx/reference.py": reference, "qx/test_double.py": check})
    (tmp_path / "assignment.yaml").write_text("title: Lab\nsubmission_names: [hw.py]\nstudent_packages: []\n")
    assert [error for error in validate(problems, mutants=False).errors if "Gradescope" in error] == []
    (problems / "qx" / "reference.py").write_text(reference.replace("import yaml", "import hypothesis.strategies"))
    (problems / "qx" / "test_double.py").write_text(check + "\n\ndef test_more():\n    import tomllib\n")
    errors = validate(problems, mutants=False).errors
    assert [error for error in errors if "Gradescope does not install" in error] == [
        f"{problems / 'qx' / 'reference.py'}:2: imports hypothesis, which Gradescope does not install: the grader imports this file "
        "there (follow-through, Python checks); add it to student_packages in assignment.yaml (setup.sh installs those, and "
        "students may import them too), or do without it",
        f"{problems / 'qx' / 'test_double.py'}:10: imports tomllib, which Gradescope does not install: the grader imports this file "
        "there (follow-through, Python checks); add it to student_packages in assignment.yaml (setup.sh installs those, and "
        "students may import them too), or do without it",
    ], errors
    # Not what runs at build time only (a domain's draws), under TYPE_CHECKING or as a fallback; but a helper module
    # the reference imports is imported on Gradescope too (review round 9).
    build_time = "\n\ndef domain_double(rng):\n    import hypothesis\n\n    return [(1,)]\n"
    fallback = "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import hypothesis\ntry:\n    import hypothesis\nexcept ImportError:\n    pass\n"
    (problems / "qx" / "reference.py").write_text(fallback + reference + build_time)
    (problems / "qx" / "_helpers.py").write_text("import hypothesis\n")
    (problems / "qx" / "test_double.py").write_text(check)
    errors = [error for error in validate(problems, mutants=False).errors if "Gradescope does not install" in error]
    assert len(errors) == 1 and errors[0].startswith(f"{problems / 'qx' / '_helpers.py'}:1: imports hypothesis"), errors
    (problems / "qx" / "_helpers.py").unlink()
    (problems / "qx" / "reference.py").write_text(
        reference.replace("def double(x):", "def double(x):\n    try:\n        pass\n    except* ValueError:\n        pass")
    )
    errors = validate(problems, mutants=False).errors
    assert f"{problems / 'qx' / 'reference.py'}:13: Gradescope's Python 3.10 cannot parse this file" in "\n".join(errors), errors


@pytest.mark.parametrize(
    ("body", "changes"),
    [
        ("return list(set(words))", True),  # the order of Python's string hashing, drawn anew by each process
        ("import random\n    return random.sample(sorted(set(words)), len(set(words)))", True),  # chance, unseeded
        ("return sorted(set(words))", False),
        ("return list(dict.fromkeys(words))", False),  # a dict keeps the order of insertion
    ],
)
def test_validate_refuses_a_reference_whose_answer_changes_from_one_process_to_another(tmp_path: Path, body: str, changes: bool) -> None:
    """``list(set(words))`` passed validate and build; grade, whose worker is a fork of the grader, gave the
    reference's own code full marks, and Gradescope, batch and the kit marked it wrong (adopter). Validate loads
    the problems again in other processes and names each case whose answer is not the same there."""
    from autograder.apps.kit.validate import validate

    problems = write_files(tmp_path / "problems", {"p1/spec.yaml": WORDS_SPEC, "p1/reference.py": f"def distinct(words):\n    {body}\n"})
    errors = validate(problems, mutants=False).errors
    said = [error for error in errors if "has another answer in another Python process" in error]
    if changes:
        assert len(said) == 1 and "spec.yaml" in said[0] and "(few words)" in said[0], errors
    else:
        assert errors == []
