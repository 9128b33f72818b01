"""Answers a fair grader accepts: what counts as a number and as a list, the same for visible and hidden cases.

One grading of a small problem set whose three functions (an ``int`` count, an ``ints`` list, an ``array``)
are each called once per way of writing an answer, on a visible case and on a hidden twin. The submission
returns its answer in that way: a Fraction, a Decimal, a bool, a map, a range, a generator, a tuple, a NumPy
integer or float, a 0-d array. Each travels through the real worker (whose codec turns exact numbers into
ints and floats), so what is tested is what a student gets. The rules are in engine/compare.py's docstring.
"""

from __future__ import annotations

import enum
import math
import textwrap
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.engine.compare import judge
from autograder.engine.runner import grade, load_problem_set
from autograder.model import CaseResult, Comparison
from autograder.sandbox.gate import CallGate
from autograder.sandbox.process import Sandbox
from autograder.sandbox.worker import encode

FORMS = ["fraction", "decimal", "bool", "map", "range", "generator", "tuple", "numpy int", "numpy float", "0-d array"]
KINDS = {"count": "int", "counts": "ints", "grid": "array"}

# What is accepted, per kind; every other form is refused, and the detail says what to return instead.
ACCEPTED = {
    "count": {"fraction", "decimal", "numpy int", "numpy float", "0-d array"},
    "counts": {"fraction", "decimal", "tuple", "numpy int", "numpy float", "0-d array"},
    "grid": {"fraction", "decimal", "tuple", "numpy int", "numpy float", "0-d array"},
}
INSTEAD = {
    ("count", "bool"): "return a whole number, an int (True and False are not numbers here)",
    ("counts", "bool"): "return a whole number, an int (True and False are not numbers here)",
    ("grid", "bool"): "return a NumPy array of numbers (any int or float dtype) or nested lists of numbers",
    ("counts", "map"): "return a list, e.g. list(map(...))",
    ("counts", "range"): "return a list, e.g. list(range(...))",
    ("counts", "generator"): "return a list, e.g. a list comprehension [... for ...] instead of the generator expression",
    ("grid", "map"): "return a NumPy array or nested lists, e.g. np.array(list(map(...)))",
    ("grid", "range"): "return a NumPy array or nested lists, e.g. np.array(list(range(...)))",
    ("grid", "generator"): "return a NumPy array or nested lists, e.g. np.array([... for ...])",
    **{("count", form): "return one whole number: an int" for form in ("map", "range", "generator", "tuple")},
}

# The expected answers: whole numbers, except the array that a Fraction or a Decimal writes with a half in it.
REFERENCE = """\
import numpy as np


def count(form):
    return 1 if form == "bool" else 6


def counts(form):
    return {"bool": [1, 0], "range": [0, 1, 2]}.get(form, [6, 12])


def grid(form):
    if form == "bool":
        return np.array([[1.0, 0.0]])
    if form == "range":
        return np.array([0.0, 1.0, 2.0])
    return np.array([[1.5, 2.0], [3.0, 4.0]]) if form in ("fraction", "decimal") else np.array([[2.0, 3.0], [4.0, 5.0]])
"""

# The student's answers: the expected ones, written in the form the case names.
SUBMISSION = """\
from decimal import Decimal
from fractions import Fraction

import numpy as np


def _number(form, value):
    if form == "fraction":
        return Fraction(int(value * 4), 4)  # 6 arrives as Fraction(24, 4), 1.5 as Fraction(6, 4)
    if form == "decimal":
        return Decimal(f"{value:.2f}")  # Decimal("6.00")
    if form == "bool":
        return bool(value)
    if form == "numpy int":
        return np.int64(value)
    if form == "numpy float":
        return np.float64(value)
    return np.array(value)  # a 0-d array


def count(form):
    containers = {"map": lambda: map(int, [6]), "range": lambda: range(6, 7), "generator": lambda: (v for v in [6]),
                  "tuple": lambda: (6,)}
    return containers[form]() if form in containers else _number(form, 1 if form == "bool" else 6)


def counts(form):
    containers = {"map": lambda: map(int, ["6", "12"]), "range": lambda: range(3), "generator": lambda: (v for v in [6, 12]),
                  "tuple": lambda: (6, 12)}
    return containers[form]() if form in containers else [_number(form, v) for v in ([1, 0] if form == "bool" else [6, 12])]


def grid(form):
    rows = [[2.0, 3.0], [4.0, 5.0]]
    containers = {"map": lambda: map(list, rows), "range": lambda: range(3), "generator": lambda: (row for row in rows),
                  "tuple": lambda: tuple(tuple(row) for row in rows)}
    if form in containers:
        return containers[form]()
    values = [[1.0, 0.0]] if form == "bool" else [[1.5, 2.0], [3.0, 4.0]] if form in ("fraction", "decimal") else rows
    return [[_number(form, v) for v in row] for row in values]
"""


def _spec() -> str:
    lines = ['title: "F: fair answers"', 'number: "1"', f"points: {len(FORMS) * len(KINDS) * 2}", "functions:"]
    lines += [f"  {function}: {{compare: {{kind: {kind}}}}}" for function, kind in KINDS.items()]
    lines.append("cases:")
    for function in KINDS:
        for form in FORMS:
            for hidden in (False, True):
                lines.append(f'  - {{name: "{form}", call: {function}, args: ["{form}"], hidden: {str(hidden).lower()}}}')
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, bool], CaseResult]:
    root = tmp_path_factory.mktemp("fair")
    problem = root / "problems" / "fair"
    problem.mkdir(parents=True)
    (problem / "spec.yaml").write_text(_spec())
    (problem / "reference.py").write_text(REFERENCE)
    submission = root / "fair.py"
    submission.write_text(textwrap.dedent(SUBMISSION))
    report = grade(CallGate.started(Sandbox(submission)), load_problem_set(root / "problems"))
    assert not report.error and not report.notices, (report.error, report.notices)
    return {(r.case.function, r.case.name, r.case.hidden): r for r in report.results}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("function", list(KINDS))
def test_an_answer_is_judged_by_what_it_is_the_same_for_visible_and_hidden_cases(
    graded: dict[tuple[str, str, bool], CaseResult], function: str, form: str
) -> None:
    visible, hidden = graded[function, form, False], graded[function, form, True]
    accepted = form in ACCEPTED[function]
    assert visible.verdict.passed is accepted and hidden.verdict.passed is accepted, visible.verdict.detail
    assert visible.verdict.detail == hidden.verdict.detail  # one judgement; only its public wording differs
    if not accepted:
        assert INSTEAD[function, form] in visible.verdict.detail, visible.verdict.detail
        assert visible.verdict.summary == hidden.verdict.summary == "wrong answer"


# --------------------------------------------------------------------------- the worker's codec: exact numbers cross as ints and floats


class _Count(enum.IntEnum):
    SIX = 6


class _LyingNumber(float):
    def as_integer_ratio(self) -> tuple[float, int]:  # type: ignore[override]  # a lie float's own signature cannot tell
        return 1.5, 1


@pytest.mark.parametrize(
    "value, sent",
    [
        (Fraction(24, 4), 6),
        (Fraction(3, 2), 1.5),
        (Fraction(-7, 1), -7),
        (Fraction(np.int64(24), np.int64(4)), 6),  # what Fraction(a, b) is when a student's a and b are NumPy's
        (Fraction(np.int32(3), 2), 1.5),
        (Decimal("6.00"), 6),
        (Decimal("-1.25"), -1.25),
        (Decimal("1E+30"), 10**30),
        (_Count.SIX, 6),
        (Fraction(10**400 + 1, 2), None),
        (Decimal("sNaN"), None),
        (_LyingNumber(2.0), None),
        (3 + 0j, None),
    ],
)
def test_exact_real_numbers_cross_as_the_int_or_float_they_equal(value: object, sent: int | float | None) -> None:
    encoded = encode(value, [])
    if sent is None:
        assert encoded == {"$unsupported": type(value).__name__}
    else:
        assert encoded == sent and type(encoded) is type(sent)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_a_decimal_nan_or_infinity_crosses_as_a_float_and_equals_no_number(value: Decimal) -> None:
    encoded = encode(value, [])
    assert type(encoded) is float and not math.isfinite(encoded)
    assert not judge(6, encoded, Comparison("int")).passed


@given(st.fractions() | st.decimals(allow_nan=False, allow_infinity=False))
def test_any_fraction_or_decimal_crosses_as_exactly_what_it_equals(value: Fraction | Decimal) -> None:
    encoded = encode(value, [])
    if value == int(value):
        assert type(encoded) is int and encoded == value
    else:
        assert type(encoded) is float and encoded == float(value)
