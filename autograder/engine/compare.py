"""Decide whether a received answer equals the expected one.

Runs in the grader only, on values decoded from the worker's bytes: Python
ints, floats, lists, tuples and NumPy arrays of plain dtypes. Nothing the
student made ever compares itself. Each verdict carries two texts: ``summary``
never shows a value (safe for hidden cases), ``detail`` shows what differs.
"""

from __future__ import annotations

import math
import reprlib
from typing import Any

import numpy as np

from autograder.engine.outcomes import WRONG
from autograder.model import Comparison, Verdict

SMALL_ARRAY = 64  # entries; up to this size an array difference is shown in full
PASS = Verdict(True)


def judge(expected: Any, received: Any, comparison: Comparison) -> Verdict:
    """Compare by the spec's kind: ``int`` exactly, ``ints`` element-wise, ``array`` within tolerance."""
    if comparison.kind == "int":
        return _judge_int(expected, received)
    if comparison.kind == "ints":
        return _judge_ints(expected, received)
    return _judge_array(np.asarray(expected), received, comparison)


def agrees(expected: Any, received: Any, comparison: Comparison) -> bool:
    """Just the yes or no of :func:`judge`, without building its texts (spec checks, diagnoses)."""
    if comparison.kind != "array":
        return judge(expected, received, comparison).passed
    try:
        received = np.asarray(received, dtype=np.float64)
    except (ValueError, TypeError):
        return False
    expected = np.asarray(expected, dtype=np.float64)
    return (received.shape == expected.shape and bool(np.all(np.isfinite(received)))
            and bool(np.allclose(received, expected, rtol=comparison.rtol, atol=comparison.atol)))


def is_integral(value: Any) -> bool:
    """An int answer: a Python or NumPy integer, or a finite float equal to an integer."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, np.integer)):
        return True
    return isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer()


def describe_type(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"a NumPy {value.dtype} scalar"
    return f"a {type(value).__name__}" if not hasattr(value, "type_name") else f"an object of type {value.type_name[:80]}"


def _judge_int(expected: int, received: Any) -> Verdict:
    if isinstance(received, np.ndarray) and received.shape == () :
        received = received[()]
    if not isinstance(received, (int, float, np.integer, np.floating)) or isinstance(received, (bool, np.bool_)):
        return Verdict(False, WRONG,
                       f"expected {expected}, received {short_repr(received)} ({describe_type(received)})")
    if not is_integral(received):
        return Verdict(False, WRONG,
                       f"expected {expected}, received {received!r}, which is not a whole number")
    if int(received) != int(expected):
        difference = int(received) - int(expected)
        try:
            relative = f"{abs(difference) / max(abs(int(expected)), 1):.3g}"
        except OverflowError:  # e.g. a factorial returned by mistake
            relative = "enormous"
        return Verdict(False, WRONG,
                       f"expected {int(expected):,}, received {short_repr(int(received), 80)} (relative error {relative})")
    return PASS


def _judge_ints(expected: list, received: Any) -> Verdict:
    if isinstance(received, np.ndarray) and received.ndim == 1:
        if len(received) != len(expected):  # before list(): the vector may be huge
            return Verdict(False, WRONG,
                           f"expected {len(expected)} numbers, received {len(received):,}")
        received = list(received)
    if not isinstance(received, (list, tuple)):
        return Verdict(False, WRONG,
                       f"expected {list(expected)}, received {short_repr(received)}")
    if len(received) != len(expected):
        return Verdict(False, WRONG,
                       f"expected {list(expected)}, received {short_repr(received)}")
    for index, (want, got) in enumerate(zip(expected, received)):
        verdict = _judge_int(want, got)
        if not verdict.passed:
            return Verdict(False, WRONG,
                           f"entry {index}: {verdict.detail}; whole list expected {list(expected)}, received {short_repr(received)}")
    return PASS


def _judge_array(expected: np.ndarray, received: Any, comparison: Comparison) -> Verdict:
    if isinstance(received, (list, tuple)):
        try:
            received = np.array(received, dtype=float)
        except (ValueError, TypeError):
            return Verdict(False, WRONG,
                           f"nested lists that do not form a rectangular array of numbers: expected an array of shape {expected.shape}, received {short_repr(received)}")
    if not isinstance(received, np.ndarray):
        return Verdict(False, WRONG,
                       f"expected an array of shape {expected.shape}, received {short_repr(received)}")
    if received.dtype.kind not in "iuf":
        return Verdict(False, WRONG,
                       f"an array that does not hold real numbers: expected an array of shape {expected.shape}, received dtype {received.dtype}")
    if received.shape != expected.shape:
        hint = " (the transpose of the right shape)" if received.shape == expected.shape[::-1] else ""
        return Verdict(False, WRONG,
                       f"expected shape {expected.shape}, received shape {received.shape}{hint}")
    received = received.astype(np.float64)
    wanted = expected.astype(np.float64)
    if not np.all(np.isfinite(received)):
        bad = int(np.sum(~np.isfinite(received)))
        return Verdict(False, WRONG,
                       f"{bad} entries are NaN or infinite\n{_side_by_side(wanted, received, ~np.isfinite(received))}")
    close = np.isclose(received, wanted, rtol=comparison.rtol, atol=comparison.atol)
    if close.all():
        return PASS
    wrong = ~close
    errors = np.abs(received - wanted)
    worst = np.unravel_index(int(np.argmax(np.where(wrong, errors, -1))), wanted.shape)
    detail = (f"{int(wrong.sum())} of {wanted.size} entries are wrong (tolerance rtol={comparison.rtol:g}, atol={comparison.atol:g}); largest error "
              f"{errors[worst]:.6g} at index {tuple(int(i) for i in worst)}")
    if wanted.size <= SMALL_ARRAY and wanted.ndim == 2:
        detail += "\n" + _side_by_side(wanted, received, wrong)
    return Verdict(False, WRONG, detail)


def _side_by_side(expected: np.ndarray, received: np.ndarray, wrong: np.ndarray) -> str:
    """Expected and received as two text grids, wrong entries marked with ``*``."""
    if expected.ndim != 2 or expected.size > SMALL_ARRAY:
        return ""

    def cells(array: np.ndarray, marks: np.ndarray | None) -> list[list[str]]:
        return [[f"{value:.6g}" + ("*" if marks is not None and marks[i, j] else "") for j, value in enumerate(row)]
                for i, row in enumerate(array)]

    left, right = cells(expected, None), cells(received, wrong)
    width = max(len(c) for row in left + right for c in row)
    lines = [f"{'expected':<{(width + 1) * expected.shape[1]}}   received (* = wrong)"]
    for row_left, row_right in zip(left, right):
        lines.append(" ".join(c.rjust(width) for c in row_left) + "   " + " ".join(c.rjust(width) for c in row_right))
    return "\n".join(lines)


_REPR = reprlib.Repr()
_REPR.maxlist = _REPR.maxtuple = 64
_REPR.maxlevel = 4
_REPR.maxlong = _REPR.maxother = 120


def short_repr(value: Any, limit: int = 200) -> str:
    """A one-line repr, arrays as nested lists, cut at ``limit`` characters.

    Bounded before it is built (reprlib), so a 10**8-entry answer costs no
    more to describe than a small one.
    """
    if isinstance(value, np.ndarray):
        value = value.tolist() if value.size <= SMALL_ARRAY * 16 else f"<array of shape {value.shape}, dtype {value.dtype}>"
    text = value if isinstance(value, str) and value.startswith("<array") else _REPR.repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
