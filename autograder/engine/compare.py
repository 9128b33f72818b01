"""Decide whether a received answer equals the expected one.

Runs in the grader only, on values decoded from the worker's bytes
(sandbox/reply.py): Python ints of any size, floats (NaN and infinities
too), strings (lone surrogates too), lists, tuples, NumPy scalars and arrays
of any dtype NumPy can load without pickles (complex, bool, text, bytes,
datetimes, records, float16, either byte order). Nothing the student made
ever compares itself, and no answer makes these functions raise: each gives
a verdict on its own case. Each verdict carries two texts: ``summary`` never
shows a value (safe for hidden cases), ``detail`` shows what differs.

What counts as an answer is decided here (with the worker's codec, which sends
a value across as plain data: sandbox/worker.py ``encode``), and the same way for
visible and hidden cases. Every refusal's detail ends by saying exactly what to
return instead.

- A **number** is a real number that is not a truth value: a Python or NumPy
  int or float (a NumPy scalar or a 0-d array), or any other exact real number
  the student's code makes, such as ``fractions.Fraction``, ``decimal.Decimal``
  or an int or float subclass (an ``IntEnum``): the worker sends those as the
  int they equal when they are whole, else as the nearest float. A ``bool`` is
  not a number, although True == 1 in Python: a count returned as True or
  False is a comparison returned by mistake. Nor are strings, complex numbers,
  timedeltas or NaN and infinity (which equal no number).
- **int** (a count): one number equal to a whole number. 6, 6.0, np.int64(6),
  np.array(6.0), Fraction(12, 2) and Decimal("6.0") all pass; 6.5 is not whole;
  a list, even of one number, is not one number.
- **ints** (a list of counts): a list or tuple of such numbers, or a 1-D NumPy
  array of them. A lazy iterable is not a list (Python's own == says
  map(f, xs) != [...]): map, filter, zip, range, a generator, a dict view or
  an iterator is refused with the call that makes the list, e.g. list(map(...)).
- **array**: a NumPy array of a real dtype (any width of int or float, either
  byte order, any memory layout) or nested lists or tuples of numbers, of the
  expected shape. Bool, complex, text and object arrays and lazy iterables are
  refused.
- **value** (plain data, for answers that are not numbers alone): equal to the
  expected value entry by entry. A string, True or False, or None only equals
  the same; a number is judged as ``int`` when the expected one is an int and
  within the tolerance when it is a float; a list equals a list or a tuple of
  equal entries (a NumPy array as its ``tolist()``), a tuple likewise; a dict
  (or a Counter, a defaultdict...) one with the same keys whose values are equal.
"""

from __future__ import annotations

import math
import reprlib
from typing import Any

import numpy as np

from autograder.engine.outcomes import WRONG
from autograder.model import CompareKind, Comparison, Verdict
from autograder.sandbox.worker import Unsupported
from autograder.text import valid_unicode

SMALL_ARRAY = 64  # entries; up to this size an array difference is shown in full
SMALL_VECTOR = 16  # entries of a 1-D answer shown beside the right one: one line of a terminal
MAX_LISTED = 100_000  # entries of an array answer to a ``value`` case compared as the list it holds
MAX_DEPTH = 64  # nesting of lists in an array answer (NumPy's own limit on dimensions)
REAL_KINDS = "iuf"  # NumPy dtype kinds that hold real numbers
PASS = Verdict(True)


def judge(expected: Any, received: Any, comparison: Comparison) -> Verdict:
    """Compare by the spec's kind: ``int`` exactly, ``ints`` element-wise, ``array`` within tolerance."""
    if _plainly_equal(expected, received, comparison.kind):
        return PASS
    try:
        with np.errstate(all="ignore"):
            verdict = _judge(expected, received, comparison)
    except Exception as error:  # noqa: BLE001 - a last line of defence: one answer never stops the grading
        verdict = Verdict(False, WRONG, f"the grader could not compare this answer ({type(error).__name__})")
    return verdict if verdict.passed else Verdict(False, verdict.summary, valid_unicode(verdict.detail))


def _plainly_equal(expected: Any, received: Any, kind: CompareKind) -> bool:
    """The most common right answer, told without NumPy: a Python int equal to the expected one, or a list or
    tuple of them; the same string. False says nothing: the full comparison decides (and words the detail)."""
    if kind == "int" or kind == "value":
        return type(received) is type(expected) and type(expected) in (int, str) and received == expected
    if kind == "ints":
        return (
            type(received) in (list, tuple)
            and type(expected) in (list, tuple)
            and len(received) == len(expected)
            and all(type(got) is int and type(want) is int and got == want for got, want in zip(received, expected))
        )
    return False


def agrees(expected: Any, received: Any, comparison: Comparison) -> bool:
    """Just the yes or no of :func:`judge`, without building its texts (spec checks, diagnoses)."""
    if comparison.kind != "array":
        return judge(expected, received, comparison).passed
    try:
        with np.errstate(all="ignore"):
            wanted = _floats(expected)
            if _shape(received) != wanted.shape:
                return False
            got = _floats(received)
            return bool(np.all(np.isfinite(got)) and np.all(_close(got, wanted, comparison)))
    except Exception:  # noqa: BLE001 - not numbers, too large, ragged...: not the same answer
        return False


def is_integral(value: Any) -> bool:
    """An int answer: a Python or NumPy integer, or a finite float equal to an integer."""
    if isinstance(value, (bool, np.bool_, np.timedelta64)):  # NumPy counts a timedelta as an integer
        return False
    if isinstance(value, (int, np.integer)):
        return True
    if not isinstance(value, (float, np.floating)):
        return False
    with np.errstate(all="ignore"):
        as_float = float(value)  # a long double may round on the way: then it was not whole
        return math.isfinite(as_float) and as_float.is_integer() and bool(as_float == value)


def is_real(value: Any) -> bool:
    """A real number: a Python or NumPy int or float, not a bool, a string or a complex number."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_, np.timedelta64))


# Lazy iterables a student may return for a list, and the call that makes the list of each.
MAKES_A_LIST = {name: f"list({name}(...))" for name in ("map", "filter", "zip", "range", "enumerate", "reversed")}
MAKES_A_LIST["generator"] = "a list comprehension [... for ...] instead of the generator expression, or list(...) around it"


def _instead(kind: CompareKind, received: Any) -> str:
    """What to return instead of ``received``, an answer of the wrong kind for a ``kind`` answer: said exactly."""
    if received is None:
        return "the function returned None: is a return statement missing?"
    if isinstance(received, (bool, np.bool_)) or (isinstance(received, np.ndarray) and received.dtype.kind == "b"):
        truth = "True and False are not numbers here"
        return {
            "int": f"return a whole number, an int ({truth})",
            "ints": f"return a list of ints ({truth})",
            "array": f"return numbers, e.g. an array of floats: x.astype(float) ({truth})",
            "value": f"return a number ({truth})",
        }[kind]
    lazy = _lazy_name(received)
    if kind == "value":
        if lazy:
            return f"return a list, e.g. {MAKES_A_LIST.get(lazy, f'list(...) of the {lazy}')}"
        return "return the type of value the question asks for"
    if kind == "int":
        return "return one whole number: an int (a NumPy integer, or a float equal to a whole number, is fine too)"
    if kind == "ints":
        if lazy:
            return f"return a list, e.g. {MAKES_A_LIST.get(lazy, f'list(...) of the {lazy}')}"
        return "return a list of ints (a tuple or a 1-D NumPy array of ints is fine too)"
    if lazy:
        made = "[... for ...]" if lazy == "generator" else MAKES_A_LIST.get(lazy, "list(...)")
        return f"return a NumPy array or nested lists, e.g. np.array({made})"
    if isinstance(received, Unsupported) and received.type_name in ("object array", "record array"):
        return "return an array of numbers, e.g. np.asarray(x, dtype=float)"
    return "return a NumPy array of numbers (any int or float dtype) or nested lists of numbers"


def _lazy_name(received: Any) -> str:
    """The type of a lazy iterable or an unordered collection the worker could not send as a list ("": not one)."""
    if not isinstance(received, Unsupported):
        return ""
    name = str(received.type_name)
    lazy = name in MAKES_A_LIST or name.endswith("iterator") or name.startswith("dict_") or name in ("set", "frozenset")
    return name if lazy else ""


def describe_type(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape} and dtype {_dtype_name(value.dtype)}"
    if isinstance(value, np.generic):
        return f"a NumPy {_dtype_name(value.dtype)} scalar"
    if hasattr(value, "type_name"):
        return f"an object of type {str(value.type_name)[:80]}"
    name = type(value).__name__
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _received(value: Any) -> str:
    """A received answer and its type, for a refusal: ``(6,) (a tuple)``, ``<object of type map>``, ``None``."""
    return short_repr(value) if isinstance(value, Unsupported) or value is None else f"{short_repr(value)} ({describe_type(value)})"


def _dtype_name(dtype: np.dtype) -> str:
    name = str(dtype)
    return name if len(name) <= 80 else name[:80] + "..."


def _judge(expected: Any, received: Any, comparison: Comparison) -> Verdict:
    if comparison.kind == "int":
        return _judge_int(expected, received)
    if comparison.kind == "ints":
        return _judge_ints(expected, received)
    if comparison.kind == "value":
        return _judge_value(expected, received, comparison)
    return _judge_array(np.asarray(expected), received, comparison)


def _judge_value(expected: Any, received: Any, comparison: Comparison) -> Verdict:
    """Plain data entry by entry (see the module's docstring); the detail names the first entry that differs."""
    verdict, where = _differs(expected, received, comparison, 0, "")
    if verdict.passed or not where:
        return verdict
    return Verdict(False, verdict.summary, f"at {where}: {verdict.detail}")


def _differs(expected: Any, received: Any, comparison: Comparison, depth: int, where: str) -> tuple[Verdict, str]:
    """The verdict on one entry and where it sits (``[2]['total']``): the first that differs, found depth-first."""
    if depth > MAX_DEPTH:
        return Verdict(False, WRONG, "nested too deeply to compare"), where
    expected, received = _as_python(expected), _as_python(received)
    if expected is None or isinstance(expected, (bool, str)):
        if type(received) is type(expected) and received == expected:
            return PASS, where
        detail = f"expected {short_repr(expected)}, received {_received(received)}"
        if isinstance(expected, str) and isinstance(received, str):
            differs = next((i for i, (a, b) in enumerate(zip(expected, received)) if a != b), min(len(expected), len(received)))
            detail += f": they differ from character {differs}"
        elif type(received) is not type(expected):
            detail += f": {_value_instead(expected, received)}"
        return Verdict(False, WRONG, detail), where
    if isinstance(expected, int):
        return _judge_int(expected, received, relative=False), where
    if isinstance(expected, float):
        if not is_real(received):
            detail = f"expected {expected:.6g}, received {_received(received)}: {_value_instead(expected, received)}"
            return Verdict(False, WRONG, detail), where
        try:
            return _judge_number(expected, float(received), comparison), where
        except OverflowError:  # an int beyond any float
            return Verdict(False, WRONG, f"expected {expected:.6g}, received {short_repr(received)}, which is not a finite number"), where
    if isinstance(expected, (list, tuple)):
        if not isinstance(received, (list, tuple)):
            detail = f"expected {short_repr(expected)}, received {_received(received)}: {_value_instead(expected, received)}"
            return Verdict(False, WRONG, detail), where
        if len(received) != len(expected):
            entries = "entry" if len(expected) == 1 else "entries"
            return Verdict(False, WRONG, f"expected {len(expected)} {entries}, received {len(received):,}: {short_repr(received)}"), where
        for index, (want, got) in enumerate(zip(expected, received)):
            verdict, at = _differs(want, got, comparison, depth + 1, f"{where}[{index}]")
            if not verdict.passed:
                return verdict, at
        return PASS, where
    if isinstance(expected, dict):
        if not isinstance(received, dict):
            return Verdict(False, WRONG, f"expected a dict, received {_received(received)}: {_value_instead(expected, received)}"), where
        # Matched by Python's own hashes (which the reply's decoder bounded: no more than 8 keys share one), then held
        # to the rule that a truth value is no number: True is no key 1 here, as it is no number.
        keys = {key: key for key in received}
        missing = [key for key in expected if key not in keys or _key_form(keys[key]) != _key_form(key)]
        wanted_keys = {key: key for key in expected}
        extra = [key for key in received if key not in wanted_keys or _key_form(key) != _key_form(wanted_keys[key])]
        if missing or extra:
            said = [f"the key {short_repr(missing[0], 80)} is missing ({_count(len(missing), 'key')} missing)"] if missing else []
            if extra:
                said.append(f"the key {short_repr(extra[0], 80)} should not be there ({_count(len(extra), 'key')} too many)")
            return Verdict(False, WRONG, "; ".join(said) + f"; received {short_repr(received, 300)}"), where
        for key, want in expected.items():
            verdict, at = _differs(want, received[key], comparison, depth + 1, f"{where}[{short_repr(key, 40)}]")
            if not verdict.passed:
                return verdict, at
        return PASS, where
    return Verdict(False, WRONG, f"the grader cannot compare an expected {type(expected).__name__}"), where


def _as_python(value: Any) -> Any:
    """NumPy's values as Python's own, on either side of a ``value`` comparison: a scalar as its item(), an array as
    its tolist(), within reason (an empty side counts as one: tolist() makes a list for each row of (10**8, 0))."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            value = value[()]
        elif math.prod(side or 1 for side in value.shape) <= MAX_LISTED and value.dtype.kind in "biufUS":
            return value.tolist()
    if isinstance(value, np.generic) and value.dtype.kind in "biufUS":
        return value.item()
    return value


def _number_instead(received: Any) -> str:
    if received is None or isinstance(received, (bool, np.bool_)):
        return _instead("value", received)
    return "return one number, an int or a float (a NumPy number, or an array of shape (), is fine too)"


def _key_form(key: Any) -> Any:
    """A dict key as ``value`` compares keys: as Python does, except that a truth value is never a number."""
    if isinstance(key, (bool, np.bool_)):
        return ("bool", bool(key))
    if isinstance(key, tuple):
        return ("tuple", *(_key_form(item) for item in key))
    return ("key", key)


def _value_instead(expected: Any, received: Any) -> str:
    """What to return instead, for a ``value`` answer of the wrong type: the expected value's own type, said plainly."""
    if received is None or _lazy_name(received):
        return _instead("value", received)
    wanted = {
        float: "a number (a float)",
        list: "a list",
        tuple: "a tuple (or a list)",
        dict: "a dict",
        str: "a string",
        bool: "True or False",
        type(None): "None",
    }.get(type(expected))
    return f"return {wanted}" if wanted else _instead("value", received)


def _judge_int(expected: int, received: Any, relative: bool = True) -> Verdict:
    """An int answer (``relative``: with its relative error, which tells a parameter count's scale)."""
    if isinstance(received, np.ndarray) and received.shape == ():
        received = received[()]
    if not is_real(received):
        return Verdict(False, WRONG, f"expected {_grouped(int(expected))}, received {_received(received)}: {_instead('int', received)}")
    if not is_integral(received):
        return Verdict(False, WRONG, f"expected {_grouped(int(expected))}, received {short_repr(received)}, which is not a whole number")
    if int(received) != int(expected):
        difference = int(received) - int(expected)
        try:
            error = f"{abs(difference) / max(abs(int(expected)), 1):.3g}"
        except OverflowError:  # e.g. a factorial returned by mistake
            error = "enormous"
        said = f" (relative error {error})" if relative else ""
        return Verdict(
            False, WRONG, f"expected {_grouped(int(expected))}, received {_grouped(int(received))}{said}{_rounded(expected, received)}"
        )
    return PASS


def _rounded(expected: int, received: Any) -> str:
    """Why a whole float is off by a little: it is the count as a float of some width holds it (each holds whole
    numbers exactly only up to a power of two, 2**24 for 32 bits), said only when the answer is exactly that."""
    if not isinstance(received, (float, np.floating)) or not abs(int(expected)) < 2**1000:
        return ""
    widths = [np.float16, np.float32] if isinstance(received, (np.float16, np.float32)) else [np.float64, np.float32, np.float16]
    for width in widths:
        limit = np.finfo(width).nmant + 1  # 11, 24, 53
        with np.errstate(over="ignore"):
            held = float(width(expected)) if abs(int(expected)) < np.finfo(width).max else None
        if held == float(received) and held != int(expected):
            bits = np.dtype(width).itemsize * 8
            return f": a {bits}-bit float holds whole numbers exactly only up to 2**{limit} ({2**limit:,}), so count in ints"
    return ""


def _judge_ints(expected: list[Any], received: Any) -> Verdict:
    if isinstance(received, np.ndarray) and received.ndim == 1:
        if len(received) != len(expected):  # before list(): the vector may be huge
            return Verdict(False, WRONG, f"expected {len(expected)} numbers, received {len(received):,}")
        received = list(received)
    if not isinstance(received, (list, tuple)):
        return Verdict(False, WRONG, f"expected {list(expected)}, received {_received(received)}: {_instead('ints', received)}")
    if len(received) != len(expected):
        return Verdict(False, WRONG, f"expected {list(expected)}, received {short_repr(received)}")
    for index, (want, got) in enumerate(zip(expected, received)):
        verdict = _judge_int(want, got)
        if not verdict.passed:
            return Verdict(
                False, WRONG, f"entry {index}: {verdict.detail}; whole list expected {list(expected)}, received {short_repr(received)}"
            )
    return PASS


class _NotReal(Exception):
    """An answer that is not a rectangular array of real numbers; the message says why."""


def _shape(value: Any, depth: int = 0) -> tuple[int, ...]:
    """The shape of an array answer, checked without converting it: every entry a real number, rows alike.

    Checked first, so that only an answer of the expected shape is ever
    converted (a list of forty references to one big array costs nothing).
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in REAL_KINDS:
            raise _NotReal(f"an array of dtype {_dtype_name(value.dtype)} does not hold real numbers")
        return tuple(value.shape)
    if is_real(value):
        return ()
    if not isinstance(value, (list, tuple)):
        raise _NotReal(f"{short_repr(value, 60)} ({describe_type(value)}) is not a real number")
    if depth >= MAX_DEPTH:
        raise _NotReal("lists nested too deeply")
    if not value:
        return (0,)
    if all(type(item) is float or type(item) is int for item in value):  # the common case, fast
        return (len(value),)
    first = _shape(value[0], depth + 1)
    for item in value[1:]:
        if _shape(item, depth + 1) != first:
            raise _NotReal("nested lists that do not form a rectangular array")
    return (len(value), *first)


def _floats(value: Any) -> np.ndarray:
    """A float64 array of an answer whose :func:`_shape` is known; _NotReal for an int beyond float range."""
    try:
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in REAL_KINDS:
                raise _NotReal(f"an array of dtype {_dtype_name(value.dtype)} does not hold real numbers")
            return value.astype(np.float64)
        if isinstance(value, (list, tuple)):
            if not value:
                return np.zeros(0)
            if all(type(item) is float or type(item) is int for item in value):
                return np.array(value, dtype=np.float64)
            return np.array([_floats(item) for item in value], dtype=np.float64)
        if not is_real(value):
            raise _NotReal(f"{short_repr(value, 60)} ({describe_type(value)}) is not a real number")
        return np.array(float(value))
    except OverflowError:
        raise _NotReal("an integer too large for a float") from None


def _allowed(wanted: np.ndarray, comparison: Comparison) -> np.ndarray:
    """How far each entry may be off: atol + rtol·|expected| (+ eps·magnitude when the spec asks for it)."""
    allowed = comparison.atol + comparison.rtol * np.abs(wanted)
    if comparison.eps and comparison.magnitudes is not None:
        magnitudes = np.asarray(comparison.magnitudes, dtype=np.float64)
        if magnitudes.shape != wanted.shape:  # a known mistake of another shape (a transpose): its largest
            magnitudes = np.asarray(magnitudes.max() if magnitudes.size else 0.0)
        allowed = allowed + comparison.eps * magnitudes
    return np.asarray(allowed)


def _close(got: np.ndarray, wanted: np.ndarray, comparison: Comparison) -> np.ndarray:
    return np.asarray((np.abs(got - wanted) <= _allowed(wanted, comparison)) & np.isfinite(wanted))


def _tolerance_text(comparison: Comparison) -> str:
    text = f"tolerance rtol={comparison.rtol:g}, atol={comparison.atol:g}"
    if comparison.eps and comparison.magnitudes is not None:
        text += f", plus {comparison.eps:g} times the sum of the absolute values of the terms that make up the entry"
    return text


def _judge_array(expected: np.ndarray, received: Any, comparison: Comparison) -> Verdict:
    if isinstance(received, (list, tuple)) or (expected.shape == () and is_real(received)):  # one number: shape ()
        try:
            shape = _shape(received)
        except _NotReal as reason:
            return Verdict(
                False,
                WRONG,
                f"nested lists that do not form a rectangular array of numbers ({reason}): expected an array of shape "
                f"{expected.shape}, received {short_repr(received)}: {_instead('array', received)}",
            )
    elif isinstance(received, np.ndarray):
        if received.dtype.kind not in REAL_KINDS:
            return Verdict(
                False,
                WRONG,
                f"an array that does not hold real numbers: expected an array of shape {expected.shape}, "
                f"received dtype {_dtype_name(received.dtype)}: {_instead('array', received)}",
            )
        shape = received.shape
    elif expected.shape == ():  # one number (a statistic, a loss): said as one
        return Verdict(False, WRONG, f"expected a number, received {_received(received)}: {_number_instead(received)}")
    else:
        return Verdict(
            False, WRONG, f"expected an array of shape {expected.shape}, received {_received(received)}: {_instead('array', received)}"
        )
    if shape != expected.shape:
        if expected.shape == ():
            return Verdict(
                False, WRONG, f"expected one number, received {short_repr(received)} of shape {shape}: {_number_instead(received)}"
            )
        hint = " (the transpose of the right shape)" if shape == expected.shape[::-1] else ""
        return Verdict(False, WRONG, f"expected shape {expected.shape}, received shape {shape}{hint}")
    try:
        got = _floats(received)
    except _NotReal as reason:
        return Verdict(
            False,
            WRONG,
            f"{reason}: expected an array of shape {expected.shape}, received {short_repr(received)}: {_instead('array', received)}",
        )
    wanted = expected.astype(np.float64)
    if wanted.ndim == 0:  # one number: said as one
        return _judge_number(float(wanted), float(got), comparison)
    if not np.all(np.isfinite(got)):
        bad = int(np.sum(~np.isfinite(got)))
        return Verdict(False, WRONG, f"{bad} entries are NaN or infinite\n{_side_by_side(wanted, got, ~np.isfinite(got))}")
    close = _close(got, wanted, comparison)
    if close.all():
        return PASS
    wrong = ~close
    errors = np.abs(got - wanted)
    worst = np.unravel_index(int(np.argmax(np.where(wrong, errors, -1))), wanted.shape)
    allowed = np.broadcast_to(_allowed(wanted, comparison), wanted.shape)
    detail = (
        f"{int(wrong.sum())} of {wanted.size} entries are wrong ({_tolerance_text(comparison)}); largest error "
        f"{errors[worst]:.6g} at index {tuple(int(i) for i in worst)}, where {allowed[worst]:.3g} is allowed"
    )
    if (wanted.ndim == 2 and wanted.size <= SMALL_ARRAY) or (wanted.ndim == 1 and wanted.size <= SMALL_VECTOR):
        detail += "\n" + _side_by_side(wanted, got, wrong)
    return Verdict(False, WRONG, detail)


def _judge_number(wanted: float, got: float, comparison: Comparison) -> Verdict:
    if not math.isfinite(got):
        return Verdict(False, WRONG, f"expected {wanted:.6g}, received {got}, which is not a finite number")
    if bool(_close(np.asarray(got), np.asarray(wanted), comparison)):
        return PASS
    allowed = float(np.max(_allowed(np.asarray(wanted), comparison)))
    shown_wanted, shown_got = _apart(wanted, got)
    return Verdict(
        False,
        WRONG,
        f"expected {shown_wanted}, received {shown_got}: off by {abs(got - wanted):.3g}, where {allowed:.3g} is allowed "
        f"({_tolerance_text(comparison)})",
    )


def _apart(wanted: float, got: float) -> tuple[str, str]:
    """The two numbers to 6 significant digits, or as many more as it takes to tell them apart (a tight tolerance's
    miss reads "expected 1.41421356, received 1.41421354", not the same number twice)."""
    for digits in range(6, 18):
        shown = f"{wanted:.{digits}g}", f"{got:.{digits}g}"
        if shown[0] != shown[1]:
            return shown
    return repr(wanted), repr(got)


def _side_by_side(expected: np.ndarray, received: np.ndarray, wrong: np.ndarray) -> str:
    """Expected and received as two text grids, wrong entries marked with ``*`` (a vector as one row)."""
    if expected.ndim == 1 and expected.size <= SMALL_VECTOR:
        expected, received, wrong = expected[np.newaxis], received[np.newaxis], wrong[np.newaxis]
    if expected.ndim != 2 or expected.size > SMALL_ARRAY:
        return ""

    def cells(array: np.ndarray, marks: np.ndarray | None) -> list[list[str]]:
        return [
            [f"{value:.6g}" + ("*" if marks is not None and marks[i, j] else "") for j, value in enumerate(row)]
            for i, row in enumerate(array)
        ]

    left, right = cells(expected, None), cells(received, wrong)
    width = max((len(c) for row in left + right for c in row), default=1)
    lines = [f"{'expected':<{(width + 1) * expected.shape[1]}}   received (* = wrong)"]
    for row_left, row_right in zip(left, right):
        lines.append(" ".join(c.rjust(width) for c in row_left) + "   " + " ".join(c.rjust(width) for c in row_right))
    return "\n".join(lines)


def _shown_in_full(x: np.ndarray) -> bool:
    """Whether a description shows the array's entries (as nested lists): a small array of numbers.

    tolist() makes a list for every row, however empty: an empty side holds nothing, but the sides before
    it still multiply, and a reply of shape (10**9, 0) would be a billion lists. So an empty side counts as one.
    """
    walked = math.prod(side or 1 for side in x.shape)
    return walked <= SMALL_ARRAY * 16 and x.dtype.kind in "biufc" and x.dtype.names is None


class _BoundedRepr(reprlib.Repr):
    """reprlib, bounded for every kind of value a reply can hold: no repr costs more than a small one.

    Arrays become nested lists only when small and numeric; text, bytes, records
    and datetimes are shown by their type; an int too long to print by its size.
    """

    def repr_ndarray(self, x: np.ndarray, level: int) -> str:
        if not _shown_in_full(x):
            return f"<array of shape {x.shape}, dtype {_dtype_name(x.dtype)}>"
        if self.uncut(x, level) and x.dtype.char not in "gG":  # a long double's tolist() keeps NumPy scalars
            return repr(x.tolist())
        return self.repr1(x.tolist(), level)

    def uncut(self, x: np.ndarray, level: int) -> bool:
        """Whether reprlib would cut nothing of this small array of numbers (no level too deep, no list too long, no
        number too long to show): then Python's own repr of it says the same, in C, ten times sooner."""
        return x.ndim <= level and max(x.shape, default=0) <= self.maxlist

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 4 * self.maxlong:  # past about 1.2 * maxlong digits
            return f"<an integer of about {int(x.bit_length() * math.log10(2)) + 1:,} digits>"
        return super().repr_int(x, level)

    def repr_str(self, x: str, level: int) -> str:
        """Whole up to ``maxstring`` characters, else its start, cut between characters and marked: reprlib's own
        cut falls in the middle of the repr's text, which can leave half an escape (a backslash alone before the dots)."""
        return repr(x[: self.maxstring]) + ("..." if len(x) > self.maxstring else "")

    def repr_str_(self, x: np.str_, level: int) -> str:
        return self.repr_str(str(x[: self.maxstring + 1]), level)

    def repr_bytes(self, x: bytes, level: int) -> str:
        return repr(x[: self.maxstring]) + ("..." if len(x) > self.maxstring else "")

    def repr_instance(self, x: Any, level: int) -> str:
        if isinstance(x, np.generic) and x.dtype.kind not in "biufc":
            return f"<a NumPy {_dtype_name(x.dtype)} value>"
        if isinstance(x, np.generic) and level < self.maxlevel:  # inside a list: [0, 1, 2], not NumPy 2's [np.int64(0), ...]
            return str(x) if x.dtype.kind in "fc" else self.repr1(x.item(), level)  # a float32 0.1 as 0.1, as NumPy prints it
        return super().repr_instance(x, level)


_REPR = _BoundedRepr()
_REPR.maxlist = _REPR.maxtuple = 64
_REPR.maxlevel = 4
_REPR.maxlong = _REPR.maxother = _REPR.maxstring = 120  # reprlib's 30 characters cut most sentences a case passes


def _head(value: Any, limit: int) -> Any:
    """The first rows of an array, enough to decide the first ``limit`` characters of its description; anything
    else as it is. A 32x32 input is 20 kB of text, cut to 120 characters: five rows say as much.

    Each row's text is at least one character an entry, so ``rows`` of them fill more than ``limit``; and the
    text of the first rows is the text of the whole up to its closing bracket, where reprlib cuts nothing.
    Only a plain ndarray: reprlib shows a subclass (np.matrix, a masked array) by its own repr, cut in the middle.
    """
    if type(value) is not np.ndarray or value.ndim == 0 or not _shown_in_full(value) or not _REPR.uncut(value, _REPR.maxlevel):
        return value
    rows = limit // max(math.prod(value.shape[1:]), 1) + 2
    return value[:rows] if rows < len(value) else value


def _grouped(number: int) -> str:
    """An int as people read it (35,176), or shortened when it is absurdly long."""
    return f"{number:,}" if number.bit_length() < 128 else short_repr(number, 80)


def short_repr(value: Any, limit: int = 200) -> str:
    """A one-line repr, arrays as nested lists, cut at ``limit`` characters.

    Bounded before it is built (reprlib), so a 10**8-entry answer costs no
    more to describe than a small one; never raises, and holds no lone surrogate.
    """
    try:
        text = _REPR.repr(_head(value, limit))
    except Exception:  # noqa: BLE001 - a value that cannot describe itself is described by its type
        text = f"<a {type(value).__name__}>"
    text = valid_unicode(text)
    return text if len(text) <= limit else text[:limit] + "..."
