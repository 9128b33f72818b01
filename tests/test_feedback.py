"""Feedback: known mistakes are named, follow-through credit is fair, hidden cases never leak."""

from __future__ import annotations

import gc
import re
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from autograder.engine.compare import short_repr
from autograder.engine.follow_through import MAX_ENTRIES, Recorder, _value_key, call_key
from autograder.engine.problemset import load as load_problems
from autograder.engine.runner import grade, load_problem_set
from autograder.model import Outcome, Report
from autograder.output.results import gradescope_json
from autograder.sandbox.gate import CallGate
from autograder.sandbox.process import Call, Sandbox

from conftest import SOLUTION, graded_against_one_problem, submission_with

REPO = Path(__file__).resolve().parent.parent
PROBLEMS = load_problems(REPO / "problems")


def _grade(tmp_path: Path, source: str) -> Report:
    path = tmp_path / "ps3.py"
    path.write_text(source)
    return grade(CallGate.started(Sandbox(path)), load_problem_set(REPO / "problems"))


def _diagnoses(report: Report, function: str) -> set[str]:
    return {r.diagnosis for r in report.results if r.case.function == function and not r.verdict.passed}


# (mistake file, function, words the diagnosis must contain)
KNOWN_MISTAKES = [
    ("no_bias", "fc_layer_params", "weights only"),
    ("no_bias", "conv_layer_params", "one bias"),
    ("flipped_kernel", "conv2d", "true convolution"),
    ("flipped_kernel", "conv_transpose2d", "flipped"),
    ("transposed", "conv2d", "transpose of the right one"),
    ("transposed", "conv_transpose2d", "transpose of the right one"),
    ("truncates", "conv2d", "truncated to integers"),
    ("off_by_one", "num_conv_layers", "One layer too many"),
]


@pytest.mark.ps3
@pytest.mark.parametrize("mistake, function, words", KNOWN_MISTAKES)
def test_known_mistake_is_named(tmp_path: Path, mistake: str, function: str, words: str) -> None:
    report = _grade(tmp_path, submission_with(mistake))
    diagnoses = _diagnoses(report, function)
    assert any(words in d for d in diagnoses), diagnoses


EXTRA_MISTAKES = {
    "double_bias": (
        "downsampling_params",
        "counted twice",
        """
_right_downsampling_params = downsampling_params

def downsampling_params(in_channels, channels, size_in, size_latent, kernel_size):
    layers = num_downsampling_layers(size_in, size_latent, kernel_size)
    return _right_downsampling_params(in_channels, channels, size_in, size_latent, kernel_size) + layers
""",
    ),
    "index_slip": ("conv_transpose2d", "Algorithm 1, line 7", None),  # built from the solution below
    "truncated_transpose": (
        "conv_transpose2d",
        "integer-truncated inputs",
        """
_right_conv_transpose2d = conv_transpose2d

def conv_transpose2d(x, kernel):
    return _right_conv_transpose2d(np.asarray(x).astype(int), np.asarray(kernel).astype(int))
""",
    ),
    "output_size_rounded_up": (
        "conv_output_size",
        "rounds the output size instead of flooring it (to the nearest integer, or up with math.ceil)",
        """
import math

_right_conv_output_size = conv_output_size

def conv_output_size(size_in, kernel_size, stride=1, padding=0):
    _right_conv_output_size(size_in, kernel_size, stride, padding)
    return math.ceil((size_in + 2 * padding - kernel_size) / stride) + 1
""",
    ),
    "transpose_output_in_input_dtype": (  # the fidelity review's files: an output buffer of the inputs' own dtype
        "conv_transpose2d",
        "products and sums alike",
        """
def conv_transpose2d(x, kernel):
    x, kernel = np.asarray(x), np.asarray(kernel)
    kh, kw = kernel.shape
    out = np.zeros((x.shape[0] + kh - 1, x.shape[1] + kw - 1), dtype=np.result_type(x, kernel))
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i : i + kh, j : j + kw] += x[i, j] * kernel
    return out
""",
    ),
    "layers_off_by_one": (
        "num_downsampling_layers",
        "One layer too many",
        """
def num_downsampling_layers(size_in, size_latent, kernel_size):
    return (size_in - size_latent) // (kernel_size - 1) + 1
""",
    ),
}


@pytest.mark.ps3
def test_a_mistake_is_named_only_where_every_answer_of_the_function_fits_it(tmp_path: Path) -> None:
    """A default of padding=1 gives, on one case, the answer rounding gives there; its other answers rule rounding out.

    The fidelity review's file was told "This rounds the output size instead of flooring it" on that one case.
    """
    wrong_default = """

def conv_output_size(size_in, kernel_size, stride=1, padding=1):
    padded = size_in + 2 * padding
    if kernel_size > padded:
        raise ValueError("the kernel does not fit")
    return (padded - kernel_size) // stride + 1
"""
    report = _grade(tmp_path, SOLUTION.read_text() + wrong_default)
    namespace: dict[str, Any] = {}
    exec(wrong_default, namespace)  # the same function here, to find the case where it gives rounding's answer
    coincidences = [
        result.case.name
        for result in report.results
        if result.case.function == "conv_output_size"
        for answer, message in result.case.known_mistakes
        if "rounds the output size" in message and answer == namespace["conv_output_size"](*result.case.args, **result.case.kwargs)
    ]
    assert coincidences  # the one case the old grader named rounding on
    assert _diagnoses(report, "conv_output_size") == {""}


# The worked answers' Algorithm 1, line 7 slip, O[i : j + K_h, ...], made in the solution's own loop.
RIGHT_SCATTER = "out[i : i + kh, j : j + kw] += x[i, j] * kernel"  # as ruff format writes the solution's slices
SLIPPED_SCATTER = "rows = max(0, min(j + kh - i, kh))\n            out[i : i + rows, j : j + kw] += x[i, j] * kernel[:rows]"


@pytest.mark.ps3
@pytest.mark.parametrize("name", sorted(EXTRA_MISTAKES))
def test_more_known_mistakes(tmp_path: Path, name: str) -> None:
    function, words, code = EXTRA_MISTAKES[name]
    solution = SOLUTION.read_text()
    assert RIGHT_SCATTER in solution
    source = solution.replace(RIGHT_SCATTER, SLIPPED_SCATTER) if code is None else solution + code
    report = _grade(tmp_path, source)
    assert any(words in d for d in _diagnoses(report, function))


# The same slip as the worked answers write it, in the solution's own NumPy slices: NumPy refuses the kernel
# wherever the row slice is not K_h rows long, and adds a one-row kernel to every row of the slice.
SLIP_AS_WRITTEN = "out[i : j + kh, j : j + kw] += x[i, j] * kernel"


@pytest.mark.ps3
def test_the_slip_as_the_worked_answers_write_it_is_named_wherever_it_returns(tmp_path: Path) -> None:
    solution = SOLUTION.read_text()
    assert RIGHT_SCATTER in solution
    report = _grade(tmp_path, solution.replace(RIGHT_SCATTER, SLIP_AS_WRITTEN))
    failed = [(r, r.outcome) for r in report.results if r.case.function == "conv_transpose2d" and not r.verdict.passed]
    returned = [r for r, outcome in failed if outcome is not None and outcome.kind == "returned"]
    assert returned and any(not r.case.hidden for r in returned)  # the visible one-row kernel, at least
    assert all("Algorithm 1, line 7" in r.diagnosis for r in returned), [(r.case.name, r.diagnosis) for r in returned]
    raised = [outcome for _, outcome in failed if outcome is not None and outcome.kind == "raised"]
    assert raised and all("broadcast" in outcome.error.get("message", "") for outcome in raised)
    assert len(returned) + len(raised) == len(failed)


@pytest.mark.ps3
def test_a_total_that_should_raise_earns_half_when_its_part_answered_instead(tmp_path: Path) -> None:
    """A layer count with no check for sizes it cannot reach returns a count where it should refuse: the classifier
    built on it returns what its own parts give, so it is wrong only because the count is (the fidelity review's
    no-step-over file). The cases whose right answer is that ValueError earn half, as any other case does."""
    unchecked_count = """
def num_conv_layers(size_in, size_out, kernel_size, stride=1, padding=0):
    n, size = 0, size_in
    while size > size_out:
        smaller = conv_output_size(size, kernel_size, stride, padding)
        if smaller >= size:  # stops where it cannot shrink, rather than loop: but raises nothing
            break
        size, n = smaller, n + 1
    return n
"""
    report = _grade(tmp_path, SOLUTION.read_text() + unchecked_count)
    totals = [r for r in report.results if r.case.function == "conv_classifier_params" and r.case.expected.raises]
    returned = [r for r in totals if r.outcome is not None and r.outcome.kind == "returned"]
    assert returned, "no classifier case that should raise returned a count: the test tests nothing"
    assert all(r.credit == 0.5 and "`num_conv_layers`" in r.credit_reason for r in returned), [(r.case.name, r.credit) for r in returned]
    assert all(
        r.credit == 0
        for r in report.results
        if r.case.function not in {"conv_classifier_params", "downsampling_params", "num_downsampling_layers"}
    )


@pytest.mark.ps3
def test_follow_through_gives_half_on_composites_of_a_wrong_part(tmp_path: Path) -> None:
    """Only conv_layer_params is wrong (no bias); the composites built on it earn half, no more."""
    wrong_part = """
def conv_layer_params(c_in, c_out, kernel_size):
    kh, kw = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    return c_in * kh * kw * c_out
"""
    report = _grade(tmp_path, SOLUTION.read_text() + wrong_part)
    for result in report.results:
        function = result.case.function
        if function == "conv_layer_params":
            assert result.score == 0
        elif function in ("conv_classifier_params", "downsampling_params") and not result.verdict.passed:
            assert result.score == pytest.approx(result.case.max_score * 0.5, abs=1e-4)
            assert "Follow-through credit" in result.credit_reason and "`conv_layer_params`" in result.credit_reason
        else:
            assert result.verdict.passed or result.case.expected.raises, (function, result.case.name)
    composites = [r for r in report.results if r.case.function in ("conv_classifier_params", "downsampling_params")]
    assert sum(not r.verdict.passed for r in composites) >= 10


class _RecordingGate(CallGate):
    """The real gate, keeping every call it is asked to make, in order."""

    made: list[str]  # each call's key (follow_through.call_key)

    def stream(self, calls: Sequence[Call]) -> Generator[Outcome, None, None]:
        self.made += [call_key(call.function, list(call.args), call.kwargs) for call in calls]
        return super().stream(calls)


def _calls_made(tmp_path: Path, source: str) -> tuple[Report, list[str]]:
    tmp_path.mkdir()
    path = tmp_path / "ps3.py"
    path.write_text(source)
    gate = cast(_RecordingGate, _RecordingGate.started(Sandbox(path)))  # started() makes an instance of the class it is called on
    gate.made = []
    return grade(gate, load_problem_set(REPO / "problems")), gate.made


@pytest.mark.ps3
def test_part_calls_are_made_only_for_composites_that_could_earn_credit(tmp_path: Path) -> None:
    """A right submission gets one call a case; a wrong part brings, after each phase's cases, the part calls of
    the composites that failed in it, each twice (the second round reversed), and nothing else."""
    cases = [case for problem in PROBLEMS for case in problem.cases]
    _, made = _calls_made(tmp_path / "right", SOLUTION.read_text())
    assert made == [call_key(case.function, case.args, case.kwargs) for case in sorted(cases, key=lambda case: case.hidden)]

    wrong_part = "\ndef conv_layer_params(c_in, c_out, kernel_size):\n    return c_in * kernel_size * kernel_size * c_out\n"
    report, made = _calls_made(tmp_path / "wrong", SOLUTION.read_text() + wrong_part)
    position = 0
    for hidden in (False, True):
        own = [call_key(case.function, case.args, case.kwargs) for case in cases if case.hidden == hidden]
        assert made[position : position + len(own)] == own
        position += len(own)
        failed = [r.case for r in report.results if r.case.hidden == hidden and r.case.follow_through and not r.verdict.passed]
        assert failed, "no composite failed in this phase: its part calls are untested"
        parts = list(dict.fromkeys(call_key(p.function, p.args, p.kwargs) for case in failed for p in case.follow_through.calls))  # type: ignore[union-attr]
        assert made[position : position + 2 * len(parts)] == parts + parts[::-1]
        position += 2 * len(parts)
    assert position == len(made)


@pytest.mark.ps3
def test_a_fit_check_that_forgets_the_padding_loses_points_where_padding_makes_room_and_nowhere_else(tmp_path: Path) -> None:
    """Refusing a kernel that fits only thanks to the padding: conv_output_size fails where padding makes room, the
    student sees it on a visible case, and the layer count built on it (it raises there too) fails on such a case
    of its own, as a fidelity review asked; no case without padding loses a point."""
    fit_ignores_padding = (
        "\ndef conv_output_size(size_in, kernel_size, stride=1, padding=0):\n"
        "    if kernel_size > size_in:\n"
        "        raise ValueError('kernel larger than the input')\n"
        "    return (size_in + 2 * padding - kernel_size) // stride + 1\n"
    )
    report = _grade(tmp_path, SOLUTION.read_text() + fit_ignores_padding)
    failed = [r.case for r in report.results if not r.verdict.passed]
    assert {case.function for case in failed} == {"conv_output_size", "num_conv_layers"}
    assert {case.hidden for case in failed if case.function == "conv_output_size"} == {False, True}
    padding_position = {"conv_output_size": 3, "num_conv_layers": 4}
    assert all(
        case.kwargs.get("padding", case.args[padding_position[case.function]] if len(case.args) > padding_position[case.function] else 0)
        > 0
        for case in failed
    )


# Slips a fidelity review found no case of PS3 caught (each function's answers changed on its domain, no point lost).
CAUGHT_SLIPS = {
    "padding floored on its own": (
        "conv_output_size",
        """
def conv_output_size(size_in, kernel_size, stride=1, padding=0):
    if kernel_size > size_in + 2 * padding:
        raise ValueError("the kernel does not fit")
    return (size_in - kernel_size) // stride + (2 * padding) // stride + 1
""",
    ),
    "a layer count remembered without its stride": (
        "num_conv_layers",
        """
_counted = {}
_right_num_conv_layers = num_conv_layers

def num_conv_layers(size_in, size_out, kernel_size, stride=1, padding=0):
    key = (size_in, size_out, kernel_size)
    if key not in _counted:
        _counted[key] = _right_num_conv_layers(size_in, size_out, kernel_size, stride, padding)
    return _counted[key]
""",
    ),
}


@pytest.mark.ps3
@pytest.mark.parametrize("slip", sorted(CAUGHT_SLIPS))
def test_slips_that_change_a_functions_answers_lose_it_points(tmp_path: Path, slip: str) -> None:
    function, code = CAUGHT_SLIPS[slip]
    report = _grade(tmp_path, SOLUTION.read_text() + code)
    assert any(r.case.function == function and not r.verdict.passed for r in report.results), slip


def test_answers_are_kept_for_follow_through_only_within_the_grades_allowance() -> None:
    """Once judged, an answer is let go unless follow-through may read it, and then only while the grade's
    allowance lasts (a reply may be 64 MB, and a grade makes hundreds of calls); one let go earns nothing."""
    recorder = Recorder({"part"})
    recorder.room = 250_000
    not_needed = Outcome("returned", np.zeros(10))
    too_large = [
        Outcome("returned", np.zeros(MAX_ENTRIES + 1)),
        Outcome("returned", "x" * (8 * MAX_ENTRIES)),  # strings and ints count by their size too
        Outcome("returned", 1 << (64 * MAX_ENTRIES)),
        Outcome("returned", [[0] * 1000] * (MAX_ENTRIES // 1000 + 1)),
    ]
    nested: list[object] = []
    for _ in range(40):
        nested = [nested]
    too_large.append(Outcome("returned", nested))  # too deep to walk
    kept = [Outcome("returned", np.zeros(90_000)) for _ in range(3)]
    raised = Outcome("raised")
    for outcome in [not_needed, *too_large, *kept, raised]:
        recorder.keep(outcome, needed=outcome is not not_needed)
    assert not_needed.dropped and not_needed.value is None
    assert all(outcome.dropped for outcome in too_large)
    assert [outcome.dropped for outcome in kept] == [False, False, True]  # the third is past the allowance
    assert not raised.dropped
    recorder.record("kept", kept[0])
    recorder.record("let go", kept[2])
    assert recorder.answer("kept") is kept[0] and recorder.answer("let go") is None


def test_keying_an_answer_leaves_nothing_for_the_cyclic_collector() -> None:
    """The grader runs with the cyclic collector off: a key built through a self-referencing closure kept every
    piece of every large answer it keyed (200 MB for a submission answering each call with nested lists)."""
    answers = [[[7] * 1000] * 50, [[7] * 1000] * (MAX_ENTRIES // 1000 + 1), "x" * 10**6, np.zeros(5)]
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        keys = [_value_key(answer) for answer in answers]
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()
    assert keys[0] != keys[1] and keys[1].startswith("too large")


@pytest.mark.ps3
def test_no_follow_through_when_the_total_is_wrong_on_its_own(tmp_path: Path) -> None:
    report = _grade(tmp_path, SOLUTION.read_text() + "\ndef conv_classifier_params(*args):\n    return 12345\n")
    wrong = [r for r in report.results if r.case.function == "conv_classifier_params" and not r.verdict.passed]
    assert wrong and all(r.score == 0 and not r.credit_reason for r in wrong)


@pytest.mark.ps3
def test_a_hostile_part_answer_cannot_stall_follow_through(tmp_path: Path) -> None:
    """A layer count of 10**12 feeds the composition; it must stay closed-form and fast."""
    hostile = "\ndef num_downsampling_layers(a, b, c):\n    return 10**12\n\ndef downsampling_params(*a):\n    return 7\n"
    report = _grade(tmp_path, SOLUTION.read_text() + hostile)
    assert report.seconds < 20
    assert all(r.score == 0 for r in report.results if r.case.function == "downsampling_params" and not r.case.expected.raises)


def _renderings(value: object) -> set[str]:
    """Distinctive texts of a hidden input or answer: whole containers, and numbers with 4+ digits."""
    texts = set()
    if isinstance(value, (np.ndarray, list, tuple)):
        rendered = short_repr(value, 10_000)[:40]
        if len(rendered) >= 8:
            texts.add(rendered)
        for item in np.ravel(np.asarray(value, dtype=object)):
            texts |= _renderings(item)
    elif isinstance(value, (int, np.integer)) and abs(int(value)) >= 1000:
        texts |= {str(int(value)), f"{int(value):,}"}
    elif isinstance(value, (float, np.floating)) and not float(value).is_integer():
        texts |= {repr(float(value))[:8], f"{float(value):.6g}"}
    return texts


@pytest.mark.ps3
def test_no_hidden_input_or_answer_appears_in_anything_a_student_sees(tmp_path: Path) -> None:
    report = _grade(tmp_path, submission_with("hardcoded"))
    data = gradescope_json(report)
    seen = data["output"] + "".join(t["name"] + t.get("output", "") for t in data["tests"] if t["visibility"] == "visible")
    # Points the grader computed ("Q2b: ... 2.5 / 30") are not inputs, even when a hidden input is 2.5 too.
    seen = re.sub(r"\d+(?:\.\d+)? / \d+(?:\.\d+)?", "points", seen)
    visible_values = set()
    for case in (c for p in PROBLEMS for c in p.cases if not c.hidden):
        for value in (*case.args, case.expected.value):
            visible_values |= _renderings(value)
    hidden = [c for p in PROBLEMS for c in p.cases if c.hidden]
    assert len(hidden) >= 50
    for case in hidden:
        for value in (*case.args, *case.kwargs.values(), case.expected.value):
            for text in _renderings(value) - visible_values:
                # a number counts only as a whole number, not as the start of 0.397 or 13000
                assert not re.search(rf"(?<![\d.]){re.escape(text)}(?![\d])", seen), f"{case.name}: {text!r} is visible"
    published = next(t for t in data["tests"] if t["visibility"] == "after_published")
    assert "Expected" in published["output"]


def test_the_staff_notes_name_the_machine_as_platform_does_without_starting_uname() -> None:
    import platform

    from autograder.output import results

    assert results._machine() == platform.platform()
    from autograder.sandbox import seccomp

    assert seccomp.machine() == platform.machine()
    report = Report(submission="ps3.py")
    assert results.staff_notes(report).startswith(f"Python {platform.python_version()} on {platform.platform()}\n")


SPREAD_SPEC = """\
title: "P1: spread"
number: "1"
points: 10
functions:
  variance: {compare: {kind: array}}
  std_error:
    compare: {kind: array}
    follow_through: {share: 0.5, using: std_error_from}
cases:
  - {name: "variance of four numbers", call: variance, args: [[1.0, 2.0, 3.0, 4.0]]}
  - {name: "variance of three numbers", call: variance, args: [[2.0, 4.0, 9.0]], hidden: true}
  - {name: "standard error of three numbers", call: std_error, args: [[2.0, 4.0, 9.0]], hidden: true}
"""

SPREAD_REFERENCE = """\
import math
import sys


def variance(values):
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def std_error(values):
    return std_error_from(sys.modules[__name__], values)


def std_error_from(parts, values):
    return math.sqrt(parts.variance(values) / len(values))
"""


@pytest.mark.parametrize("returned", ["float(np.var(values))", "np.var(values)", "np.asarray(np.var(values))", "[float(np.var(values))]"])
def test_follow_through_reads_a_parts_one_number_answer_however_it_is_returned(tmp_path: Path, returned: str) -> None:
    """One number of kind ``array`` is an array of shape (): the grader accepts a float, a NumPy float or a 0-d array
    for it, and so must follow-through, or a variance dividing by n (as np.var does) costs the standard error built
    on it its share. A one-entry list is another shape: no credit, as the grader would call it wrong."""
    submission = (
        f"import math\nimport numpy as np\n\ndef variance(values):\n    return {returned}\n\n"
        "def std_error(values):\n    return math.sqrt(np.asarray(variance(values)).item() / len(values))\n"
    )
    report = graded_against_one_problem(tmp_path, SPREAD_SPEC, SPREAD_REFERENCE, submission, "hw.py")
    (composite,) = [result for result in report.results if result.case.function == "std_error"]
    assert not composite.verdict.passed
    assert composite.credit == (0.0 if returned.startswith("[") else 0.5), composite.verdict


def test_a_missing_function_names_the_files_own_function_of_nearly_its_name(tmp_path: Path) -> None:
    """``variense`` for ``variance``: the case said only that the file defines no function named variance (fidelity
    round 7). A function of the file's own whose name is close says which; a name far from any says nothing more."""
    submission = "import math\n\ndef variense(values):\n    return 1.0\n\ndef spread(values):\n    return 0.0\n"
    report = graded_against_one_problem(tmp_path, SPREAD_SPEC, SPREAD_REFERENCE, submission, "hw.py")
    details = {result.case.function: str(result.verdict.detail) for result in report.results}
    assert details["variance"].endswith("defines no function named `variance` (it has `variense`: that one, misspelt?).")
    assert details["std_error"].endswith("defines no function named `std_error`."), details["std_error"]


def test_follow_through_withheld_for_a_helper_that_gave_no_answer_to_the_call_says_why(tmp_path: Path) -> None:
    """A helper that stops the process (or hangs) on the input a composite's credit rests on: its part call gives
    no answer, so no credit can be checked. The case said nothing, and a helper's hang cost its composites' credit
    in silence (fidelity round 7); it now says which helper gave no answer and why."""
    submission = (
        "import os\nimport numpy as np\n\ndef variance(values):\n    if len(values) == 3:\n        os._exit(3)\n"
        "    return float(np.var(values, ddof=1))\n\ndef std_error(values):\n    return float(np.std(values) / len(values))\n"
    )
    report = graded_against_one_problem(tmp_path, SPREAD_SPEC, SPREAD_REFERENCE, submission, "hw.py")
    (composite,) = [result for result in report.results if result.case.function == "std_error"]
    assert not composite.verdict.passed and composite.credit == 0
    assert composite.credit_reason == (
        "No follow-through credit: `variance` gave no answer to the call this case needs of it (it stopped the process "
        "running your code), so whether your answer follows from it cannot be known."
    ), composite.credit_reason


@pytest.mark.ps3
def test_follow_through_withheld_for_a_helper_that_answered_too_little_says_why(tmp_path: Path) -> None:
    """A helper raising on nearly all its cases, and a composite raising what it raises: students.md promises credit
    where the composite raises where the helper does, and the case showed only a traceback when none was given
    (fidelity round 6). It now says which helper gave too few values for its answers to stand in for the right ones."""
    broken_part = '''def num_downsampling_layers(size_in, size_latent, kernel_size):
    """Valid convs, stride 1, until size_latent."""
    if size_in - size_latent > 4:
        raise ValueError("too far")
    return num_conv_layers(size_in, size_latent, kernel_size)
'''
    solution = SOLUTION.read_text()
    start = solution.index("def num_downsampling_layers(")
    end = solution.index("def ", start + 4)
    report = _grade(tmp_path, solution[:start] + broken_part + "\n\n" + solution[end:])
    withheld = [r for r in report.results if r.case.function == "downsampling_params" and not r.verdict.passed and not r.case.hidden]
    assert withheld and all(r.credit == 0 for r in withheld)
    said = {r.credit_reason for r in withheld}
    assert any(
        "No follow-through credit" in reason and "`num_downsampling_layers` gave fewer than two different values" in reason
        for reason in said
    ), said
