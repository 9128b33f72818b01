"""Comparison rules: ints exactly, arrays by shape then tolerance, nothing non-finite equals a number."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.engine import outcomes
from autograder.engine.compare import judge
from autograder.model import Comparison
from autograder.sandbox.worker import Unsupported

INT, INTS, ARRAY = Comparison("int"), Comparison("ints"), Comparison("array")


@pytest.mark.parametrize("received", [444, np.int64(444), np.int32(444), 444.0, np.float32(444.0), np.array(444)])
def test_an_int_answer_may_arrive_in_any_integral_form(received):
    assert judge(444, received, INT).passed


SUMMARIES = set(outcomes.SUMMARIES)


@pytest.mark.parametrize("received, detail", [
    (445, "expected 444, received 445"), (444.5, "not a whole number"), (True, "(a bool)"), ("444", "(a str)"),
    (float("nan"), "not a whole number"), (float("inf"), "not a whole number"), ([444], "(a list)"),
    (Unsupported("Cheater"), "object of type Cheater"), (None, "(a NoneType)"), (10**400, "relative error enormous"),
])
def test_wrong_int_answers(received, detail):
    verdict = judge(444, received, INT)
    assert not verdict.passed and detail in verdict.detail and verdict.summary in SUMMARIES


def test_large_ints_are_exact():
    assert judge(11_329_414_656, 11_329_414_656, INT).passed
    assert not judge(11_329_414_656, 11_329_414_657, INT).passed
    assert not judge(11_329_414_656, 11_329_414_656.5, INT).passed


def test_int_lists():
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
def test_array_answers_accepted(received):
    assert judge(EXPECTED, received, ARRAY).passed


def test_float32_work_done_right_passes_with_default_tolerance():
    rng = np.random.default_rng(0)
    x, k = rng.normal(0, 3, (12, 12)), rng.normal(0, 2, (5, 5))
    from scipy.signal import correlate2d

    exact = correlate2d(x, k, mode="valid")
    in_float32 = correlate2d(x.astype(np.float32), k.astype(np.float32), mode="valid")
    assert judge(exact, in_float32, ARRAY).passed


@pytest.mark.parametrize("received, detail", [
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
])
def test_wrong_array_answers(received, detail):
    verdict = judge(EXPECTED, received, ARRAY)
    assert not verdict.passed and detail in verdict.detail and verdict.summary in SUMMARIES


def test_small_array_difference_is_shown_side_by_side_with_marks():
    verdict = judge(EXPECTED, np.trunc(EXPECTED), ARRAY)
    assert "largest error 0.5 at index (0, 0)" in verdict.detail
    assert "-2*" not in verdict.detail and "1*" in verdict.detail and "3*" in verdict.detail


def test_large_array_difference_is_summarised():
    expected = np.zeros((30, 30))
    received = expected.copy()
    received[7, 9] = 2.0
    verdict = judge(expected, received, ARRAY)
    assert verdict.summary == "wrong answer" and "1 of 900 entries are wrong" in verdict.detail
    assert "index (7, 9)" in verdict.detail and "received (* = wrong)" not in verdict.detail


def test_summaries_never_show_values_lengths_or_shapes():
    for received in (np.trunc(EXPECTED) + 17.125, EXPECTED.T, 17.125, np.zeros((7, 9)), [[1.0] * 5] * 3):
        assert judge(EXPECTED, received, ARRAY).summary in SUMMARIES
    for received in (445, [445], Unsupported("Leak_1_2_3")):
        assert judge(444, received, INT).summary in SUMMARIES
    for received in ([1, 2, 3], [40, 19], np.arange(5)):
        assert judge([40, 18], received, INTS).summary in SUMMARIES
