"""Comparison rules: ints exactly, arrays by shape then tolerance, nothing non-finite equals a number."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import hypothesis.extra.numpy as hypothesis_numpy
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import example, given, settings

from autograder.engine import compare as compare_module
from autograder.engine import outcomes
from autograder.engine.compare import agrees, judge, short_repr
from autograder.model import Case, CompareKind, Comparison, Problem
from autograder.sandbox.worker import Unsupported
from autograder.text import valid_unicode

INT, INTS, ARRAY = Comparison("int"), Comparison("ints"), Comparison("array")
Solver = Callable[[np.ndarray, np.ndarray], np.ndarray]  # a conv2d or conv_transpose2d, right or degraded


@pytest.mark.parametrize("received", [444, np.int64(444), np.int32(444), 444.0, np.float32(444.0), np.array(444)])
def test_an_int_answer_may_arrive_in_any_integral_form(received: object) -> None:
    assert judge(444, received, INT).passed


SUMMARIES = set(outcomes.SUMMARIES)


@pytest.mark.parametrize(
    "received, detail",
    [
        (445, "expected 444, received 445"),
        (444.5, "not a whole number"),
        (True, "(a bool)"),
        ("444", "(a str)"),
        (float("nan"), "not a whole number"),
        (float("inf"), "not a whole number"),
        ([444], "(a list)"),
        (Unsupported("Cheater"), "object of type Cheater"),
        (None, "received None: the function returned None: is a return statement missing?"),
        (10**400, "relative error enormous"),
    ],
)
def test_wrong_int_answers(received: object, detail: str) -> None:
    verdict = judge(444, received, INT)
    assert not verdict.passed and detail in verdict.detail and verdict.summary in SUMMARIES


def test_large_ints_are_exact() -> None:
    assert judge(11_329_414_656, 11_329_414_656, INT).passed
    assert not judge(11_329_414_656, 11_329_414_657, INT).passed
    assert not judge(11_329_414_656, 11_329_414_656.5, INT).passed


def test_int_lists() -> None:
    assert judge([40, 18], [40, 18], INTS).passed
    assert judge([40, 18], (np.int64(40), 18.0), INTS).passed
    assert judge([40, 18], np.array([40, 18]), INTS).passed
    assert judge([], [], INTS).passed
    assert "expected [40, 18], received [40]" in judge([40, 18], [40], INTS).detail
    assert "entry 1: expected 18, received 19" in judge([40, 18], [40, 19], INTS).detail
    huge = judge([40, 18], np.zeros(16_000_000, dtype=np.int8), INTS)  # refused by its length, before any list is built
    assert huge.detail == "expected 2 numbers, received 16,000,000"


EXPECTED = np.array([[1.5, -2.0, 3.25], [0.0, 4.0, -1.0]])


@pytest.mark.parametrize("received", [EXPECTED, EXPECTED.tolist(), EXPECTED.astype(np.float32), EXPECTED + 1e-7])
def test_array_answers_accepted(received: object) -> None:
    assert judge(EXPECTED, received, ARRAY).passed


@pytest.mark.parametrize("received", [0.8, np.float64(0.8), np.float32(0.8), np.array(0.8), np.longdouble(0.8), 0.80001])
def test_a_one_number_array_answer_may_be_any_real_number(received: object) -> None:
    """A statistic graded as an array of shape (): what a student returns for one float is a float."""
    assert judge(np.array(0.8), received, ARRAY).passed and agrees(np.array(0.8), received, ARRAY)


@pytest.mark.parametrize(
    "received, detail",
    [
        (1, "expected 0.8, received 1: off by 0.2, where 9e-05 is allowed"),
        (float("nan"), "expected 0.8, received nan, which is not a finite number"),
        (True, "(a bool)"),
        ("0.8", "(a str)"),
        (0.8 + 0j, "complex"),
        ([0.8], "expected one number, received [0.8] of shape (1,)"),
    ],
)
def test_wrong_one_number_array_answers(received: object, detail: str) -> None:
    verdict = judge(np.array(0.8), received, ARRAY)
    assert not verdict.passed and detail in verdict.detail and verdict.summary in SUMMARIES


def test_float32_work_done_right_passes_with_default_tolerance() -> None:
    rng = np.random.default_rng(0)
    x, k = rng.normal(0, 3, (12, 12)), rng.normal(0, 2, (5, 5))
    from scipy.signal import correlate2d

    exact = correlate2d(x, k, mode="valid")
    in_float32 = correlate2d(x.astype(np.float32), k.astype(np.float32), mode="valid")
    assert judge(exact, in_float32, ARRAY).passed


@pytest.mark.parametrize(
    "received, detail",
    [
        (EXPECTED.T, "the transpose of the right shape"),
        (EXPECTED[:1], "shape (1, 3)"),
        (EXPECTED.ravel(), "shape (6,)"),
        (np.trunc(EXPECTED), "2 of 6 entries are wrong"),
        (np.where(EXPECTED == 0, np.nan, EXPECTED), "1 entries are NaN or infinite"),
        (np.full((2, 3), np.inf), "6 entries are NaN or infinite"),
        (EXPECTED.astype(complex), "dtype complex128"),
        (EXPECTED > 0, "dtype bool"),
        ([[1, 2], [3]], "received [[1, 2], [3]]"),
        (Unsupported("FakeArray"), "object of type FakeArray"),
        (3.0, "received 3.0"),
    ],
)
def test_wrong_array_answers(received: object, detail: str) -> None:
    verdict = judge(EXPECTED, received, ARRAY)
    assert not verdict.passed and detail in verdict.detail and verdict.summary in SUMMARIES


def test_small_array_difference_is_shown_side_by_side_with_marks() -> None:
    verdict = judge(EXPECTED, np.trunc(EXPECTED), ARRAY)
    assert "largest error 0.5 at index (0, 0)" in verdict.detail
    assert "-2*" not in verdict.detail and "1*" in verdict.detail and "3*" in verdict.detail


def test_large_array_difference_is_summarised() -> None:
    expected = np.zeros((30, 30))
    received = expected.copy()
    received[7, 9] = 2.0
    verdict = judge(expected, received, ARRAY)
    assert verdict.summary == "wrong answer" and "1 of 900 entries are wrong" in verdict.detail
    assert "index (7, 9)" in verdict.detail and "received (* = wrong)" not in verdict.detail


def test_summaries_never_show_values_lengths_or_shapes() -> None:
    for received in (np.trunc(EXPECTED) + 17.125, EXPECTED.T, 17.125, np.zeros((7, 9)), [[1.0] * 5] * 3):
        assert judge(EXPECTED, received, ARRAY).summary in SUMMARIES
    for received in (445, [445], Unsupported("Leak_1_2_3")):
        assert judge(444, received, INT).summary in SUMMARIES
    for received in ([1, 2, 3], [40, 19], np.arange(5)):
        assert judge([40, 18], received, INTS).summary in SUMMARIES


# --------------------------------------------------------------------------- hostile answers: a verdict, never an exception


def _structured() -> np.ndarray:
    return np.zeros((2, 3), dtype=[("a", "<f8"), ("b", "S2")])


def _deep(levels: int) -> list[object]:
    value: list[object] = [1.0]
    for _ in range(levels):
        value = [value]
    return value


HOSTILE = [
    [[10**400]],
    [[1.0, 10**400, 2.0], [1.0, 2.0, 3.0]],
    10**400,
    -(10**309),
    2**1024,
    [2**1024] * 3,
    _deep(10_000),
    _deep(40),
    [[1, 2], [3]],
    [[1, 2, 3], [4, 5]],
    [[[1]], [2]],
    [],
    [[]],
    np.zeros((0,)),
    np.zeros((2, 0)),
    "\ud800",
    ["\udfff"],
    [["1.5", "-2", "3.25"], ["0", "4", "-1"]],
    [[1.5, -2.0, 3.25], [0.0, 4.0, "-1"]],
    [[1.5 + 0j, -2.0, 3.25], [0.0, 4.0, -1.0]],
    444 + 0j,
    [[True, False, True], [False, True, False]],
    EXPECTED.astype(complex),
    EXPECTED > 0,
    EXPECTED.astype(str),
    EXPECTED.astype(bytes),
    _structured(),
    np.zeros((2, 3), dtype="M8[s]"),
    np.zeros((2, 3), dtype="m8[D]"),
    np.array(5, dtype="m8[D]"),
    np.timedelta64(444, "D"),
    np.frombuffer(np.array([1, 2, 3], dtype="<i8").tobytes(), dtype="<M8"),
    np.array("x\ud800"),
    np.array(b"x" * 100_000),
    np.zeros(1, dtype="V100000"),
    np.zeros(1, dtype="V100000")[0],
    np.array(444, dtype=[("a", "<i8")]),
    np.float16(444.0),
    np.longdouble(444.5),
    np.array([444.0], dtype=np.longdouble),
    np.array([1e300], dtype=np.longdouble) ** 2,
    [np.array([1.5, -2.0, 3.25]), np.array([0.0, 4.0, -1.0])],
    [np.array([1.5, -2.0, 3.25]), np.array(["0", "4", "-1"])],
    (np.int64(40), np.float32(18)),
    [np.array(40), np.array(18.0)],
    [Unsupported("x\ud800y")],
    Unsupported("Cheater"),
    {"a": 1},
    {1, 2},
    None,
    float("nan"),
    [float("inf")] * 2,
    b"\xff\xfe",
    bytearray(b"444"),
]


@pytest.mark.parametrize("received", HOSTILE, ids=lambda value: type(value).__name__)
@pytest.mark.parametrize(
    "expected, comparison",
    [
        (444, INT),
        ([40, 18], INTS),
        (EXPECTED, ARRAY),
        (np.zeros((2, 0)), ARRAY),
        (np.array(444.0), ARRAY),
        (EXPECTED, Comparison("array", eps=1e-6, magnitudes=np.abs(EXPECTED))),
    ],
)
def test_hostile_answers_get_a_verdict_for_their_case_alone(expected: object, received: object, comparison: Comparison) -> None:
    verdict = judge(expected, received, comparison)
    assert verdict.summary in SUMMARIES or verdict.passed
    assert "could not compare" not in verdict.detail  # the safety net in judge() was not needed
    verdict.detail.encode("utf-8")  # no lone surrogate reaches the results
    assert agrees(expected, received, comparison) == verdict.passed
    text = short_repr(received)
    assert len(text) <= 203
    text.encode("utf-8")


@pytest.mark.parametrize("received", [[[10**400]], [10**400, 1.0], [[2**1024, 0, 0], [0, 0, 0]]])
def test_an_int_beyond_float_range_inside_lists_is_wrong(received: list[object]) -> None:
    verdict = judge(EXPECTED if isinstance(received[0], list) else np.zeros(2), received, ARRAY)
    assert not verdict.passed


@pytest.mark.parametrize(
    "received",
    [
        [["1.5", "-2", "3.25"], ["0", "4", "-1"]],
        [[1.5 + 0j, -2, 3.25], [0, 4, -1]],
        [[True, -2, 3.25], [0, 4, -1]],
        [np.array([1.5, -2.0, 3.25]), np.array(["0", "4", "-1"])],
        [np.array([1.5, -2.0, 3.25]), np.array([0, 4, -1], dtype=complex)],
    ],
)
def test_strings_complex_numbers_and_bools_are_not_numbers_inside_lists_either(received: object) -> None:
    verdict = judge(EXPECTED, received, ARRAY)
    assert not verdict.passed and "not" in verdict.detail
    assert not agrees(EXPECTED, received, ARRAY)


@pytest.mark.parametrize(
    "received",
    [
        EXPECTED.astype(">f8"),
        EXPECTED.astype(">f4"),
        EXPECTED.astype("<f2"),
        EXPECTED.astype(np.longdouble),
        np.asfortranarray(EXPECTED),
        np.repeat(EXPECTED, 2, axis=1)[:, ::2],
        np.array(EXPECTED.T, order="C").T,
        [np.array([1.5, -2.0, 3.25]), [0, 4, -1]],
        tuple(tuple(np.float32(v) for v in row) for row in EXPECTED),
        [[np.array(1.5), np.float16(-2), 3.25], [np.uint8(0), np.array([4.0])[0], -1]],
    ],
)
def test_right_arrays_pass_in_any_real_dtype_byte_order_and_memory_layout(received: object) -> None:
    assert judge(EXPECTED, received, ARRAY).passed
    assert agrees(EXPECTED, received, ARRAY)


@pytest.mark.parametrize(
    "received",
    [np.array(444), np.array(444, dtype=">i8"), np.array(444.0, dtype="<f2"), np.uint16(444), np.array(444, dtype=np.longdouble)],
)
def test_a_zero_dimensional_array_equal_to_an_int_answer_is_right(received: object) -> None:
    assert judge(444, received, INT).passed


@pytest.mark.parametrize(
    "received",
    [
        np.timedelta64(444, "D"),
        np.array(444, dtype="m8[D]"),
        np.datetime64(444, "D"),
        np.bool_(True),
        np.longdouble(2**60) + np.longdouble(0.5),
    ],
)
def test_timedeltas_bools_and_inexact_long_doubles_are_not_ints(received: object) -> None:
    assert not judge(444 if not isinstance(received, np.longdouble) else 2**60, received, INT).passed


def test_numpy_numbers_inside_an_answer_are_shown_as_numbers() -> None:
    """NumPy 2 writes a scalar as np.int64(0): a list of a student's NumPy ints read [np.int64(1), np.int64(1), ...]
    in a message (adopter). Inside a list, tuple or dict each is shown as NumPy prints it; alone it keeps its type,
    which may be what the message is about."""
    assert short_repr([np.int64(1), np.uint64(2**64 - 1), 3]) == "[1, 18446744073709551615, 3]"
    assert short_repr((np.float64(1.5), np.float32(0.1), np.True_)) == "(1.5, 0.1, True)"
    assert short_repr({"a": np.int32(3), "b": [np.complex64(1 + 2j)]}) == "{'a': 3, 'b': [(1+2j)]}"
    assert short_repr(list(np.arange(3))) == short_repr(np.arange(3)) == "[0, 1, 2]"
    assert short_repr(np.int64(5)) == repr(np.int64(5))


def test_descriptions_are_bounded_and_never_raise() -> None:
    assert short_repr(10**5000) == "<an integer of about 5,001 digits>"
    assert short_repr(np.zeros(1, dtype="V10000000")).startswith("<array of shape (1,), dtype |V10000000")
    assert short_repr(np.frombuffer(np.array([7], dtype="<i8").tobytes(), dtype="<M8")) == "<array of shape (1,), dtype datetime64>"
    assert short_repr(np.str_("x" * 10**6)).startswith("'xxxx") and len(short_repr(np.str_("x" * 10**6))) < 200
    assert short_repr(b"y" * 10**6).startswith("b'yyy") and short_repr(Unsupported("a\ud800b")) == "<object of type a\ufffdb>"
    assert short_repr([_deep(5000)]) == "[[[[[...]]]]]"
    assert short_repr(np.empty((10**6, 0))) == "<array of shape (1000000, 0), dtype float64>"  # not a million empty lists
    assert short_repr(np.empty((3, 0, 2))) == "[[], [], []]"


_REAL_DTYPES = st.sampled_from(["?", "i1", "u2", "<i4", ">i8", "u8", "<f2", "f4", ">f8", "g", "c16", "m8[D]"])
_SMALL_SHAPES = st.lists(st.integers(0, 3), max_size=3).map(tuple)
_ANSWERS = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.complex_numbers(max_magnitude=1e3),
        st.text(max_size=3),
        hypothesis_numpy.arrays(_REAL_DTYPES, _SMALL_SHAPES),
        hypothesis_numpy.arrays(_REAL_DTYPES, st.just(())).map(lambda array: array[()]),  # NumPy scalars
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple)),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(
    expected=hypothesis_numpy.arrays("f8", _SMALL_SHAPES, elements=st.floats(-1e6, 1e6)),
    received=st.one_of(_ANSWERS, hypothesis_numpy.arrays("f8", _SMALL_SHAPES, elements=st.floats(-1e6, 1e6))),
    kind=st.sampled_from(["array", "ints", "int"]),
)
@example(expected=np.array(0.8), received=0.8, kind="array")  # a float statistic: once refused by judge, taken by agrees
@example(expected=np.array(0.8), received=np.float32(0.8), kind="array")
def test_agrees_and_judge_never_disagree(expected: np.ndarray, received: object, kind: CompareKind) -> None:
    """``agrees`` (validate, known mistakes, follow-through) and ``judge`` (the grade) say the same yes or no on
    any answer: else a spec that validates can fail its own right answer, or a mistake be named on a right one."""
    wanted: object = expected
    if kind == "int":
        wanted = int(expected.flat[0]) if expected.size else 0
    elif kind == "ints":
        wanted = [int(value) for value in expected.ravel()]
    comparison = Comparison(kind)
    assert agrees(wanted, received, comparison) == judge(wanted, received, comparison).passed
    assert agrees(wanted, wanted, comparison) and judge(wanted, wanted, comparison).passed


@settings(max_examples=400, deadline=None)
@given(
    array=hypothesis_numpy.arrays(
        st.sampled_from(["?", "i1", "u2", "<i4", ">i8", "u8", "<f2", "f4", ">f8", "g", "c8", "c16"]),
        st.lists(st.one_of(st.integers(0, 4), st.integers(62, 66)), max_size=5)  # sides about reprlib's cut, 64
        .map(tuple)
        .filter(lambda shape: math.prod(shape) <= 1024),
    ),
    nesting=st.integers(min_value=0, max_value=4),
    limit=st.one_of(st.integers(min_value=1, max_value=400), st.just(10**6)),
)
@example(array=np.zeros(64, dtype=np.int8), nesting=0, limit=3)  # the shortest entries: one character and a comma each
@example(array=np.zeros((64, 1), dtype=np.int8), nesting=0, limit=100)
@example(array=np.zeros((2, 0)), nesting=0, limit=1)
def test_an_arrays_description_is_reprlibs_whatever_its_shape_dtype_depth_and_cut(array: np.ndarray, nesting: int, limit: int) -> None:
    """The fast paths (Python's own repr of a small array; only the rows the cut keeps) say exactly what reprlib,
    walking every entry and cutting where it must, says."""
    value: object = array
    for _ in range(nesting):
        value = [value]
    expected = reprlib_text(value)
    assert short_repr(value, limit) == (expected if len(expected) <= limit else expected[:limit] + "...")


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize("kind", ["matrix", "masked"])
def test_an_array_subclass_is_described_as_reprlib_describes_it_whole(kind: str) -> None:
    """Only a plain ndarray's rows are cut before it is described: a subclass's own repr is cut in its middle."""
    square = np.arange(400.0).reshape(20, 20)
    subclass = np.matrix(square) if kind == "matrix" else np.ma.masked_array(square, mask=np.eye(20, dtype=bool))
    expected = reprlib_text(subclass)
    assert short_repr(subclass, 120) == (expected if len(expected) <= 120 else expected[:120] + "...")


def reprlib_text(value: object) -> str:
    """What short_repr's reprlib says of ``value`` with every array walked entry by entry, as it was before the fast path."""

    class Walking(compare_module._BoundedRepr):
        def repr_ndarray(self, x: np.ndarray, level: int) -> str:
            if compare_module._shown_in_full(x):
                return self.repr1(x.tolist(), level)
            return super().repr_ndarray(x, level)

    walking = Walking()
    for limit in ("maxlist", "maxtuple", "maxlevel", "maxlong", "maxother"):
        setattr(walking, limit, getattr(compare_module._REPR, limit))
    return walking.repr(value)


def test_the_detail_names_what_is_not_a_number() -> None:
    assert "'1.5' (a str) is not a real number" in judge(EXPECTED, [["1.5", -2, 3.25], [0, 4, -1]], ARRAY).detail
    assert "too large for a float" in judge(np.zeros(2), [10**400, 1], ARRAY).detail
    assert "relative error enormous" in judge(444, 10**400, INT).detail


@pytest.mark.parametrize(
    "expected, received, comparison, instead",
    [
        (444, True, INT, "return a whole number, an int (True and False are not numbers here)"),
        (444, (444,), INT, "return one whole number: an int"),
        (444, Unsupported("map"), INT, "return one whole number: an int"),
        (444, "444", INT, "return one whole number: an int"),
        ([40, 18], Unsupported("map"), INTS, "return a list, e.g. list(map(...))"),
        ([40, 18], Unsupported("filter"), INTS, "return a list, e.g. list(filter(...))"),
        ([40, 18], Unsupported("zip"), INTS, "return a list, e.g. list(zip(...))"),
        ([40, 18], Unsupported("dict_values"), INTS, "return a list, e.g. list(...) of the dict_values"),
        ([40, 18], Unsupported("list_iterator"), INTS, "return a list, e.g. list(...) of the list_iterator"),
        ([40, 18], Unsupported("generator"), INTS, "a list comprehension [... for ...] instead of the generator expression"),
        ([40, 18], 58, INTS, "return a list of ints (a tuple or a 1-D NumPy array of ints is fine too)"),
        ([40, 18], np.array([[40, 18]]), INTS, "return a list of ints"),
        ([40, 18], np.array([True, False]), INTS, "(a NumPy bool scalar): return a whole number, an int"),
        ([40, 18], True, INTS, "return a list of ints (True and False are not numbers here)"),
        (EXPECTED, Unsupported("object array"), ARRAY, "return an array of numbers, e.g. np.asarray(x, dtype=float)"),
        (EXPECTED, Unsupported("map"), ARRAY, "e.g. np.array(list(map(...)))"),
        (EXPECTED, EXPECTED > 0, ARRAY, "x.astype(float) (True and False are not numbers here)"),
        (EXPECTED, EXPECTED.astype(complex), ARRAY, "return a NumPy array of numbers (any int or float dtype) or nested lists"),
        (EXPECTED, [["1.5", "-2", "3.25"], ["0", "4", "-1"]], ARRAY, "return a NumPy array of numbers"),
    ],
)
def test_a_refused_answer_is_told_what_to_return_instead(expected: object, received: object, comparison: Comparison, instead: str) -> None:
    verdict = judge(expected, received, comparison)
    assert not verdict.passed and verdict.summary == outcomes.WRONG
    assert instead in verdict.detail, verdict.detail


# --------------------------------------------------------------------------- a tolerance that follows the numbers


MAGNITUDE_SPEC = """\
title: "T: magnitudes"
number: "9"
points: 10
functions:
  conv2d: {compare: {kind: array, magnitude: true}}
  conv_transpose2d: {compare: {kind: array, magnitude: true}}
cases:
  - name: "visible"
    call: conv2d
    args: [!array [[1, 2, 3], [4, 5, 6]], !array [[1, -1]]]
    expected: [[-1, -1], [-1, -1]]
  - name: "int8 inputs: -128 has a magnitude"
    call: conv2d
    args: [!array [[-128, 127], [1, -1]], !array [[1, 1]]]
generate:
  - {name: "big conv2d", call: conv2d, using: big_case, count: 6, seed: 1}
  - {name: "big transposed", call: conv_transpose2d, using: big_case, count: 6, seed: 2}
  - {name: "small conv2d", call: conv2d, using: small_case, count: 6, seed: 3}
  - {name: "small transposed", call: conv_transpose2d, using: small_case, count: 6, seed: 4}
"""

MAGNITUDE_REFERENCE = '''\
import re

import numpy as np


def conv2d(x, kernel):
    x, kernel = np.asarray(x, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(x, kernel.shape)
    return np.einsum("ijkl,kl->ij", windows, kernel)


def conv_transpose2d(x, kernel):
    x, kernel = np.asarray(x, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    (h, w), (kh, kw) = x.shape, kernel.shape
    out = np.zeros((h + kh - 1, w + kw - 1))
    for i in range(kh):
        for j in range(kw):
            out[i : i + h, j : j + w] += kernel[i, j] * x
    return out


def big_case(rng):
    """64x64 inputs near 1000 (positive and negative, so entries cancel), 5x5 kernels."""
    return [rng.uniform(-1000, 1000, (64, 64)), rng.uniform(-1000, 1000, (5, 5)) if rng.random() < 0.5 else rng.normal(0, 2, (5, 5))]


def small_case(rng):
    """Inputs of magnitude about 1, small kernels."""
    return [rng.normal(0, 1, (int(rng.integers(4, 9)), int(rng.integers(4, 9)))), rng.normal(0, 1, (int(rng.integers(2, 4)), 3))]
'''


@pytest.fixture(scope="module")
def magnitude_problem(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    from autograder.engine.specs import load_problem

    folder = tmp_path_factory.mktemp("problems") / "tm"
    folder.mkdir()
    (folder / "spec.yaml").write_text(MAGNITUDE_SPEC)
    (folder / "reference.py").write_text(MAGNITUDE_REFERENCE)
    return load_problem(folder / "spec.yaml")


def _cases(problem: Problem, prefix: str) -> list[Case]:
    cases = [case for case in problem.cases if case.name.startswith(prefix)]
    assert cases
    return cases


def _f32_conv2d_sum_per_window(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    x, k = np.asarray(x, np.float32), np.asarray(k, np.float32)
    (kh, kw), out = k.shape, np.zeros((x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1), np.float32)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i : i + kh, j : j + kw] * k)
    return out


def _f32_conv2d_shifted_sums(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    x, k = np.asarray(x, np.float32), np.asarray(k, np.float32)
    (kh, kw), out = k.shape, np.zeros((x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1), np.float32)
    for a in range(kh):
        for b in range(kw):
            out += k[a, b] * x[a : a + out.shape[0], b : b + out.shape[1]]
    return out


def _f32_conv2d_scalar_loops(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Four nested loops, one float32 product and sum at a time: the slowest, most rounded way."""
    x, k = np.asarray(x, np.float32), np.asarray(k, np.float32)
    (kh, kw), out = k.shape, np.zeros((x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1), np.float32)
    rows, kernel = x.tolist(), k.tolist()
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            total = np.float32(0)
            for a in range(kh):
                row, weights = rows[i + a], kernel[a]
                for b in range(kw):
                    total = np.float32(total + np.float32(row[j + b]) * np.float32(weights[b]))
            out[i, j] = total
    return out


def _f32_conv2d_einsum(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    x, k = np.asarray(x, np.float32), np.asarray(k, np.float32)
    return np.asarray(np.einsum("ijkl,kl->ij", np.lib.stride_tricks.sliding_window_view(x, k.shape), k))


def _f32_conv_transpose2d_scatter(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    x, k = np.asarray(x, np.float32), np.asarray(k, np.float32)
    (h, w), (kh, kw) = x.shape, k.shape
    out = np.zeros((h + kh - 1, w + kw - 1), np.float32)
    for i in range(h):
        for j in range(w):
            out[i : i + kh, j : j + kw] += x[i, j] * k
    return out


@pytest.mark.parametrize("student", [_f32_conv2d_sum_per_window, _f32_conv2d_shifted_sums, _f32_conv2d_einsum])
def test_float32_conv2d_passes_on_big_inputs(magnitude_problem: Problem, student: Solver) -> None:
    for case in _cases(magnitude_problem, "big conv2d"):
        assert judge(case.expected.value, student(*case.args), case.comparison).passed, case.name


def test_float32_scalar_loops_pass_on_big_inputs(magnitude_problem: Problem) -> None:
    case = _cases(magnitude_problem, "big conv2d")[0]
    assert judge(case.expected.value, _f32_conv2d_scalar_loops(*case.args), case.comparison).passed


def test_float32_conv_transpose2d_passes_on_big_inputs(magnitude_problem: Problem) -> None:
    for case in _cases(magnitude_problem, "big transposed"):
        assert judge(case.expected.value, _f32_conv_transpose2d_scatter(*case.args), case.comparison).passed, case.name


def test_a_fixed_tolerance_fails_right_float32_work_on_big_inputs(magnitude_problem: Problem) -> None:
    """Why the magnitude term exists: entries that cancel to near zero are beyond rtol alone."""
    fixed = Comparison("array", 1e-4, 1e-5)
    verdicts = [judge(case.expected.value, _f32_conv2d_shifted_sums(*case.args), fixed) for case in _cases(magnitude_problem, "big conv2d")]
    assert not all(verdict.passed for verdict in verdicts)


def _f16(solver: Solver) -> Solver:
    return lambda x, k: solver(np.asarray(x, np.float16), np.asarray(k, np.float16)).astype(np.float16)


def _rounded_inputs(solver: Solver) -> Solver:
    return lambda x, k: solver(np.round(x, 3), np.round(k, 3))


def _rounded_output(solver: Solver) -> Solver:
    return lambda x, k: np.round(solver(x, k), 3)


@pytest.mark.parametrize("prefix, solver", [("small conv2d", "conv2d"), ("small transposed", "conv_transpose2d")])
@pytest.mark.parametrize("degrade", [_f16, _rounded_inputs, _rounded_output])
def test_float16_and_three_decimals_fail_on_small_inputs(
    magnitude_problem: Problem, prefix: str, solver: str, degrade: Callable[[Solver], Solver]
) -> None:
    from autograder.engine.references import reference_module

    assert magnitude_problem.path is not None
    reference = reference_module(magnitude_problem.path.parent)
    student = degrade(getattr(reference, solver))
    for case in _cases(magnitude_problem, prefix):
        verdict = judge(case.expected.value, student(*case.args), case.comparison)
        assert not verdict.passed and "plus 1e-06 times the sum of the absolute values" in verdict.detail, case.name
        assert verdict.summary == outcomes.WRONG


def test_magnitudes_are_the_sums_of_absolute_terms_and_travel_in_the_compiled_cache(magnitude_problem: Problem) -> None:
    import json

    from autograder.engine.compiled import problems_document, problems_from_document

    visible = magnitude_problem.cases[0]
    assert visible.comparison.eps == 1e-6
    assert np.array_equal(visible.comparison.magnitudes, [[3, 5], [9, 11]])  # |1|·|1| + |2|·|-1| ...
    int8 = magnitude_problem.cases[1]
    assert np.array_equal(int8.comparison.magnitudes, [[255], [2]])
    (again,) = problems_from_document(json.loads(json.dumps(problems_document([magnitude_problem]), allow_nan=False)))
    for case, copy in zip(magnitude_problem.cases, again.cases):
        assert copy.comparison == case.comparison
        assert np.array_equal(copy.comparison.magnitudes, case.comparison.magnitudes)
        assert copy.comparison.magnitudes.dtype == np.float64


def test_a_known_mistake_of_another_shape_is_compared_with_the_largest_magnitude() -> None:
    comparison = Comparison("array", eps=1e-6, magnitudes=np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 1e6]]))
    mistake = EXPECTED.T  # a transposed answer, recognised in a student's transposed answer
    assert agrees(mistake, mistake + 0.9, comparison)  # 1e-6 * 1e6 = 1 allowed everywhere
    assert not agrees(mistake, mistake + 1.1, comparison)
    assert not judge(EXPECTED, mistake, comparison).passed


@pytest.mark.parametrize(
    "compare, message",
    [
        ("{kind: int, magnitude: true}", "magnitude: true applies to kind: array only"),
        ("{kind: array, eps: 1.0e-6}", "eps scales the magnitude of each entry: it needs magnitude: true"),
        ("{kind: array, magnitude: yes please}", "magnitude must be true or false"),
        ("{kind: array, magnitude: true, eps: 2}", "eps must be a number in [0, 1)"),
        ("{kind: array, magnitudes: true}", "unknown compare setting 'magnitudes'"),
        ("{kind: array, rtol: '1e-9'}", "rtol must be a number in [0, 1), not '1e-9'"),
        ("{kind: array, atol: 5E+7}", "atol must be a number in [0, 1), not 50000000.0"),
    ],
)
def test_magnitude_settings_are_checked(tmp_path: Path, compare: str, message: str) -> None:
    from autograder.engine.errors import SpecError
    from autograder.engine.specs import load_problem

    folder = tmp_path / "tm"
    folder.mkdir()
    (folder / "spec.yaml").write_text(
        MAGNITUDE_SPEC.replace("conv2d: {compare: {kind: array, magnitude: true}}", f"conv2d: {{compare: {compare}}}", 1)
    )
    (folder / "reference.py").write_text(MAGNITUDE_REFERENCE)
    with pytest.raises(SpecError, match=re.escape(message)):
        load_problem(folder / "spec.yaml")


def test_magnitude_needs_a_reference_that_accepts_absolute_values(tmp_path: Path) -> None:
    from autograder.engine.errors import SpecError
    from autograder.engine.specs import load_problem

    folder = tmp_path / "tm"
    folder.mkdir()
    (folder / "spec.yaml").write_text(MAGNITUDE_SPEC)
    (folder / "reference.py").write_text(
        MAGNITUDE_REFERENCE.replace("windows = np", 'assert x.min() < 0 or x.size < 9, "no"\n    windows = np')
    )
    with pytest.raises(SpecError, match="absolute values"):
        load_problem(folder / "spec.yaml")


@given(st.text(max_size=300))
def test_a_string_is_shown_whole_up_to_120_characters_and_else_cut_between_characters(text: str) -> None:
    """reprlib's default cut strings at 30 characters, in the middle of their repr: a sentence a case passed lost
    its middle, and a cut could fall inside an escape (a backslash alone before the dots)."""
    shown = short_repr(text, limit=10**6)
    if len(text) <= 120:
        assert shown == valid_unicode(repr(text))
    else:
        assert shown == valid_unicode(repr(text[:120])) + "..."


# --------------------------------------------------------------------------- what a wrong answer shows (an adopter's numerical course)


@given(st.floats(0.5, 1e6), st.floats(1e-15, 1e-7))
def test_a_near_miss_prints_two_different_numbers(wanted: float, relative: float) -> None:
    """ "expected 1.41421, received 1.41421: off by 2.42e-08" showed the same number twice under rtol=1e-8."""
    got = wanted * (1 + 10 * relative)
    verdict = judge(np.float64(wanted), got, Comparison("array", rtol=relative, atol=0.0))
    assert not verdict.passed  # off by ten times the tolerance
    shown = re.match(r"expected (\S+), received (\S+):", verdict.detail)
    assert shown and shown.group(1) != shown.group(2), verdict.detail
    assert float(shown.group(1)) != float(shown.group(2))


def test_a_wrong_vector_is_shown_beside_the_right_one() -> None:
    detail = judge(np.array([0.5, 1, 1, 1, 0.5]), [0.5, 1, 1, 1, 1], Comparison("array", rtol=0.0, atol=0.0)).detail
    assert detail.splitlines()[1:] == ["expected               received (* = wrong)", "0.5   1   1   1 0.5   0.5   1   1   1  1*"]


def test_a_wrong_dict_names_the_missing_and_the_extra_keys_and_shows_what_came() -> None:
    """The adopter's word count: the keys the student made ("Newton's") were the clue, and were never shown."""
    detail = judge({"newton's": 1, "method": 2}, {"Newton's": 1, "method": 2}, Comparison("value")).detail
    assert detail == (
        'the key "newton\'s" is missing (1 key missing); the key "Newton\'s" should not be there (1 key too many); '
        "received {\"Newton's\": 1, 'method': 2}"
    )
    assert "the key True should not be there" in judge({1: "a"}, {True: "a"}, Comparison("value")).detail  # no truth value is a number


@pytest.mark.parametrize(
    ("expected", "received", "said"),
    [
        (11_329_414_656, np.float32(11_329_414_656), "a 32-bit float holds whole numbers exactly only up to 2**24"),
        (11_329_414_656, float(np.float32(11_329_414_656)), "a 32-bit float holds whole numbers exactly only up to 2**24"),
        (2**60 + 1, float(2**60 + 1), "a 64-bit float holds whole numbers exactly only up to 2**53"),
        (4097, np.float16(4097), "a 16-bit float holds whole numbers exactly only up to 2**11"),
        (11_329_414_656, 11_329_414_657.0, None),
        (7, np.float32(5), None),
        (11_329_414_656, 11_329_414_657, None),
    ],
    ids=[
        "float32",
        "float32 as a Python float",
        "float64 past 2**53",
        "float16",
        "a whole float, simply wrong",
        "a float32, simply wrong",
        "an int",
    ],
)
def test_a_count_rounded_by_a_float_says_so(expected: int, received: object, said: str | None) -> None:
    """fc_layer_params in float32 was only "relative error 4.52e-08" (red team), where the int32 slip has a message of
    its own: a whole float that is exactly the count as a float of its width holds it says why it is off, and no
    other wrong answer does (a float32 that is simply wrong included)."""
    verdict = judge(expected, received, Comparison("int"))
    assert not verdict.passed
    assert (said in verdict.detail) if said else ("float holds" not in verdict.detail), verdict.detail
