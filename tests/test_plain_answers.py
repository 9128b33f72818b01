"""Answers that are not numbers: ``compare: {kind: value}`` for strings, True/False, None, lists, tuples and dicts.

A course on strings and lists (an adopter's CS 101 homework) could not be graded at all: every kind compared
numbers only, and a dict could neither be an argument nor come back from the worker. These tests grade such a
course end to end in the real sandbox, and hold the comparison and the wire to plain data of any shape.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.engine.compare import agrees, judge
from autograder.engine.compiled import decode_value, encode_value
from autograder.engine.scoring import total
from autograder.model import Comparison, Report
from autograder.sandbox import worker as wire
from autograder.sandbox.reply import ReplyError, decode_reply

from conftest import graded_against_one_problem

VALUE = Comparison("value")

SPEC = """\
title: "P1: words"
number: "1"
points: 10
functions:
  shout: {compare: {kind: value}}
  is_palindrome: {compare: {kind: value}}
  find_index: {compare: {kind: value}}
  letter_counts: {compare: {kind: value}}
  total_stock: {compare: {kind: value}}
  mean_length: {compare: {kind: value}}
cases:
  - {name: a sentence, call: shout, args: ["the quick brown fox jumps over the lazy dog"]}
  - {name: a palindrome, call: is_palindrome, args: ["Racecar"]}
  - {name: not one, call: is_palindrome, args: ["racecars"]}
  - {name: absent, call: find_index, args: [[3, 1, 4], 9]}
  - {name: present, call: find_index, args: [[3, 1, 4], 4]}
  - {name: letters, call: letter_counts, args: ["banana"]}
  - {name: an inventory, call: total_stock, args: [{apples: 3, pears: 2}]}
  - {name: words, call: mean_length, args: [[ab, abcd]]}
"""

REFERENCE = """\
def shout(text):
    return text.upper() + "!"


def is_palindrome(text, ignore_case=True):
    text = text.lower() if ignore_case else text
    return text == text[::-1]


def find_index(items, target):
    return items.index(target) if target in items else None


def letter_counts(text):
    return {letter: text.count(letter) for letter in sorted(set(text))}


def total_stock(inventory):
    return sum(inventory.values())


def mean_length(words):
    return sum(map(len, words)) / len(words)
"""

# Right however written: a Counter for a dict, a tuple's worth of NumPy, np.True_, a float from NumPy.
RIGHT = """\
from collections import Counter
import numpy as np

def shout(text):
    return f"{text.upper()}!"

def is_palindrome(text, ignore_case=True):
    text = text.casefold() if ignore_case else text
    return np.bool_(text == "".join(reversed(text)))

def find_index(items, target):
    for index, item in enumerate(items):
        if item == target:
            return index

def letter_counts(text):
    return Counter(text)

def total_stock(inventory):
    return np.int64(sum(inventory[name] for name in inventory))

def mean_length(words):
    return np.mean([len(word) for word in words])
"""


def _grade(tmp_path: Path, submission: str) -> Report:
    return graded_against_one_problem(tmp_path, SPEC, REFERENCE, submission, "hw.py")


def test_a_course_of_strings_booleans_none_and_dicts_grades_a_right_file_to_full_marks(tmp_path: Path) -> None:
    report = _grade(tmp_path, RIGHT)
    assert not report.error, report.error
    assert total(report) == 10, [(r.case.name, r.verdict.detail) for r in report.results if not r.verdict.passed]


def test_each_wrong_function_loses_its_cases_with_words_for_its_mistake(tmp_path: Path) -> None:
    wrong = RIGHT.replace('return f"{text.upper()}!"', "return text.upper()")  # the "!" forgotten
    wrong = wrong.replace("            return index", "            index")  # a return forgotten
    wrong = wrong.replace("return Counter(text)", "return dict(Counter(text.replace('a', '')))")  # a letter dropped
    report = _grade(tmp_path, wrong)
    failed = {r.case.name: r.verdict.detail for r in report.results if not r.verdict.passed}
    assert set(failed) == {"a sentence", "present", "letters"}, failed
    assert "they differ from character 43" in failed["a sentence"]
    assert "received None: the function returned None: is a return statement missing?" in failed["present"]
    assert "the key 'a' is missing" in failed["letters"]


@pytest.mark.parametrize(
    "expected, received, passed",
    [
        ("abc", "abc", True),
        ("abc", "abc ", False),
        ("abc", b"abc", False),
        (True, True, True),
        (True, 1, False),  # a truth value is no number, and no number a truth value
        (1, True, False),
        (None, None, True),
        (None, 0, False),
        (None, "", False),
        (0, None, False),
        (3, 3.0, True),
        (0.1 + 0.2, 0.3, True),  # a float within the tolerance
        (0.3, 0.31, False),
        ([1, "a"], (1, "a"), True),
        ((1, "a"), [1, "a"], True),
        ([1, 2], [1, 2, 3], False),
        ({"a": 1, "b": [2]}, {"b": [2], "a": 1}, True),  # a dict in any order
        ({"a": 1}, Counter({"a": 1}), True),
        ({"a": 1}, {"a": 1, "b": 0}, False),
        ({"a": 1}, {"a": True}, False),
        ({"a": 1}, [("a", 1)], False),
        ({0: "no", 1: "yes"}, {False: "no", True: "yes"}, False),  # a truth value is no number, as a key neither
        ({(1, 2): 0}, {(True, 2.0): 0}, False),
        ({(1, 2): 0}, {(1, 2.0): 0}, True),
        (["x", "y"], np.array(["x", "y"]), True),
        ([1.5, 2.0], np.array([1.5, 2.0]), True),
        (False, np.False_, True),
    ],
)
def test_plain_values_compare_entry_by_entry(expected: Any, received: Any, passed: bool) -> None:
    verdict = judge(expected, received, VALUE)
    assert verdict.passed is passed, verdict.detail
    assert agrees(expected, received, VALUE) is passed
    assert passed or verdict.detail


PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(PLAIN)
def test_any_plain_value_equals_itself_through_the_wire_and_the_cache(value: Any) -> None:
    """The worker's encoding and the reply's bounded decoding, and the compiled cache's, keep every plain value as
    it was: it still equals the expected value it came from."""
    blobs: list[bytes] = []
    sent = wire.encode(value, blobs)
    received = decode_reply(sent, blobs, 1 << 20)
    assert judge(value, received, VALUE).passed
    assert judge(value, decode_value(encode_value(value)), VALUE).passed


@settings(max_examples=200, deadline=None)
@given(PLAIN, PLAIN)
def test_the_verdict_and_the_yes_or_no_agree_on_any_two_values(expected: Any, received: Any) -> None:
    assert judge(expected, received, VALUE).passed == agrees(expected, received, VALUE)


def test_a_bool_never_equals_a_number_at_any_depth() -> None:
    assert not agrees([1, {"k": 0}], [True, {"k": 0}], VALUE)
    assert not agrees({"k": [0]}, {"k": [False]}, VALUE)


def test_a_dict_whose_keys_were_chosen_to_collide_is_refused_at_once() -> None:
    """Ints a multiple of 2**61 - 1 apart share a hash: Python builds a dict of 10**5 of them in quadratic time,
    minutes of the grader's CPU; the reply is refused before any dict is built."""
    modulus = 2**61 - 1
    colliding = {"$dict": [[k * modulus, 0] for k in range(100_000)]}
    started = time.process_time()
    with pytest.raises(ReplyError, match="share a hash"):
        decode_reply(colliding, [], 1 << 20)
    assert time.process_time() - started < 5
    assert len({hash(k * modulus) for k in range(1, 50)}) == 1  # the premise: they all hash alike


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"$dict": [[[1, 2], 0]]}, "a dict key that no dict can hold"),  # a list as a key
        ({"$dict": [["a", 0], ["a", 1]]}, "a key given twice"),
        ({"$dict": [["a"]]}, "malformed dict"),
        ({"$dict": [[1, 0], [True, 1]]}, "a key given twice"),  # True is 1 as a key
    ],
)
def test_a_forged_dict_is_refused(payload: Any, message: str) -> None:
    with pytest.raises(ReplyError, match=message):
        decode_reply(payload, [], 1 << 20)


def test_a_dict_answer_reaches_a_python_check_as_a_dict(tmp_path: Path) -> None:
    """A check comparing a dict answer got ``<object of type dict>`` and failed the right solution, though validate,
    which runs checks in-process, passed it."""
    from autograder.engine.checks import find_checks, run_checks

    from conftest import call_gate, sandbox_running, write_files

    problems = write_files(
        tmp_path / "problems",
        {"p1/test_counts.py": "def test_counts(student):\n    assert student.letter_counts('aab') == {'a': 2, 'b': 1}\n"},
    )
    with sandbox_running(tmp_path, "from collections import Counter\n\ndef letter_counts(text):\n    return Counter(text)\n") as box:
        [result] = run_checks(find_checks(problems), call_gate(box))
    assert result.passed, result.output


def test_a_mapping_in_a_spec_is_an_argument_and_an_expected_value(tmp_path: Path) -> None:
    from autograder.engine.problemset import load

    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "spec.yaml").write_text(
        'title: "P"\npoints: 1\nfunctions:\n  keys: {compare: {kind: value}}\ncases:\n'
        "  - {name: two, call: keys, args: [{b: 1, a: [2, 3]}], expected: {a: 2, b: 1}}\n"
    )
    (tmp_path / "p" / "reference.py").write_text(
        "def keys(d):\n    return {k: len(v) if isinstance(v, list) else v for k, v in d.items()}\n"
    )
    [problem] = load(tmp_path, use_cache=False)
    [case] = problem.cases
    assert type(case.args[0]) is dict and case.args[0] == {"b": 1, "a": [2, 3]}
    assert case.expected.value == {"a": 2, "b": 1}


def test_an_array_with_an_empty_side_is_compared_without_listing_its_rows() -> None:
    """tolist() makes a list for every row, however empty: shape (10**8, 0) has no entries and 10**8 rows, which
    took the grader to 5.6 GB before the rows were counted as entries (red team)."""
    started = time.process_time()
    for expected in ("a string", ["a", "list"], {"a": "dict"}):
        assert not judge(expected, np.empty((10**8, 0)), VALUE).passed
    assert time.process_time() - started < 2


def test_a_text_scalar_named_many_times_is_decoded_once() -> None:
    """Each $scalar reference to one .npy blob of a 0-d text array copied the text: 2,000 references to 1 MB took
    the grader to 7.85 GB (red team). The scalar is taken once per blob."""
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array("x" * 250_000), allow_pickle=False)  # 1 MB of UCS-4 text
    value = decode_reply([{"$scalar": 0}] * 2_000, [buffer.getvalue()], 8 << 20)
    assert len(value) == 2_000 and all(item is value[0] for item in value) and len(value[0]) == 250_000


@pytest.mark.parametrize("digits", [4_000, 5_000, 100_000])
def test_an_int_longer_than_pythons_decimal_limit_crosses_the_wire_and_the_cache(digits: int) -> None:
    """Python refuses to write an int of over 4,300 digits in decimal, so a reference's factorial(2000) stopped the
    worker as it sent its answer (exit 70) and validate with a traceback (red team). Long ints travel in hex."""
    value = -(10 ** (digits - 1)) - 7
    blobs: list[bytes] = []
    frame = wire.frame({"type": "returned", "id": 1, "value": wire.encode(value, blobs)}, blobs)
    sent = json.loads(frame[4:])["value"]
    assert decode_reply(sent, [], 1 << 20) == value
    assert decode_value(json.loads(json.dumps(encode_value({"n": [value]})))) == {"n": [value]}
    assert judge(value, value, Comparison("int")).passed and not judge(value, value + 1, Comparison("int")).passed
    assert "digits" in judge(value, value + 1, Comparison("int")).detail


def test_a_forged_long_int_is_refused() -> None:
    for payload in ("12", "0x", "0xZZ", "1e5", " 0x1"):
        with pytest.raises(ReplyError):
            decode_reply({"$int": payload}, [], 1 << 20)


def test_a_wrong_true_or_false_names_no_known_mistake() -> None:
    """A truth value has one wrong answer, which every known mistake of the function gives on some case: naming
    one would be a guess (an adopter's students were told of a mistake they had not made)."""
    from autograder.engine.runner import check
    from autograder.model import Case, Expected, Outcome

    case = Case("p", "1.1", "f", "c", ("Dormitory", "dirty room"), {}, Expected(True), VALUE)
    case.known_mistakes = [(False, "Capital and small letters must count as the same letter.")]
    assert check(case, Outcome("returned", value=False)).diagnosis == ""
    case.expected = Expected(3)
    case.known_mistakes = [(2, "A space was counted.")]
    assert check(case, Outcome("returned", value=2)).diagnosis == "A space was counted."


@pytest.mark.parametrize(
    "expected, received, detail",
    [
        ([("a", 3), ("b", 1)], [("a", 3), ("b", 2)], "at [1][1]: expected 1, received 2"),  # no relative error for a count
        ({"x": {"y": [1, 2]}}, {"x": {"y": [1, 3]}}, "at ['x']['y'][1]: expected 2, received 3"),
        ("abc", ("a", "b", "c"), "received ('a', 'b', 'c') (a tuple): return a string"),
        (True, 1, "received 1 (an int): return True or False"),
        (None, 0, "received 0 (an int): return None"),
        ([1], "1", "received '1' (a str): return a list"),
    ],
)
def test_a_wrong_value_says_where_it_differs_and_what_to_return(expected: Any, received: Any, detail: str) -> None:
    """An adopter's students read "entry 0: entry 1:", "relative error 0.333" for a word count, and nothing about a
    tuple returned for a string."""
    verdict = judge(expected, received, VALUE)
    assert not verdict.passed and verdict.detail.endswith(detail), verdict.detail


def test_numpy_values_in_the_expected_answer_compare_as_pythons_own() -> None:
    """A reference computing with NumPy returns np.int64 and np.True_; the comparison refused its own answer
    ("cannot compare an expected int64"), so the spec could not load (a newcomer's review)."""
    assert agrees({"a": np.int64(1), "b": [np.True_, np.float64(0.5)]}, {"a": 1, "b": [True, 0.5]}, VALUE)
    assert agrees(np.array(["x", "y"]), ["x", "y"], VALUE)
    assert not agrees({"a": np.int64(1)}, {"a": True}, VALUE)


def test_an_int_beyond_any_float_or_printing_is_judged_in_words() -> None:
    """Ints of over 4,300 digits cannot be printed in decimal, nor made floats: the verdict says what they are rather
    than 'the grader could not compare this answer'."""
    huge = 10**5000
    assert "not a finite number" in judge(0.5, huge, VALUE).detail
    assert "could not compare" not in judge(huge, "x", Comparison("int")).detail
    assert "could not compare" not in judge(huge, 0.5, Comparison("int")).detail


def test_dict_keys_are_matched_by_the_hashes_the_decoder_bounded() -> None:
    """Tuple keys whose raw hashes differ could share a hash once rebuilt in another form; keys are matched through
    the received dict itself, whose hashes the decoder held to at most 8 alike."""
    received = {(k, 1): k for k in range(2_000)}
    expected = {(k, 1): k for k in range(2_000)}
    started = time.process_time()
    assert agrees(expected, received, VALUE)
    assert time.process_time() - started < 1


def test_a_plain_types_own_kinds_cross_the_wire_as_that_type() -> None:
    """A namedtuple is a tuple, a str subclass a string and a list subclass a list: each crossed as an unsupported
    object and failed a right answer ((word, count) pairs as a namedtuple, a layer list of a list subclass, fidelity
    round 6), as a Counter, a dict kind, already did not. A subclass crosses as what it holds, not what it says."""
    from collections import namedtuple

    class Name(str):
        pass

    class Layers(list):  # type: ignore[type-arg]
        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter(["not", "these"])

    pair = namedtuple("pair", "word count")
    for value, plain in (
        ([pair("a", 3)], [("a", 3)]),
        (Name("hi"), "hi"),
        (pair(1, 2), (1, 2)),
        (Layers([12, 34]), [12, 34]),
        ([Layers([np.int64(5)])], [[5]]),
    ):
        blobs: list[bytes] = []
        received = decode_reply(wire.encode(value, blobs), blobs, 1 << 20)
        assert received == plain and type(received) is type(plain), received
        assert judge(plain, received, VALUE).passed


def test_a_long_int_made_by_another_number_type_travels_in_hex_too() -> None:
    """A Fraction equal to a 5,000-digit int crossed as that int in decimal, which JSON cannot write: the worker died."""
    from fractions import Fraction

    blobs: list[bytes] = []
    sent = wire.encode(Fraction(10**5000), blobs)
    assert json.dumps(sent) and decode_reply(sent, blobs, 1 << 20) == 10**5000
