"""Follow-through credit: a composite answer wrong only because one of the student's own parts is.

The part calls a composition needs were traced from the reference when the
spec was loaded (model.FollowThrough.calls). The runner makes them after a
phase's cases, and only for a composite case that returned a wrong answer
(or raised where it should not) while one of its parts has lost points on
its own cases: no other case can
earn the credit, so a right submission is never asked for them. This module
only computes, after each phase, from the answers recorded so far. A
submission can tell part calls from cases (they come last; it could read its
request pipe ahead anyway), so the credit does not rest on their being
unseen: only on the checks below. A visible case's credit is granted right
after the visible phase, so it rests on visible-phase answers and verdicts
alone: no answer to a hidden input can change what a visible case shows.

Credit needs genuine parts, answering as a pure function would: every part
the composition used returned values on its own cases, not the same value on
all of them; every call it answered more than once (each part call is made
twice, and an own case with the same arguments counts too) got the same
answer each time; and at least one of those parts lost points on its own
cases. So no submission earns more by keeping state between calls than one
without state could: a pure function can answer any call as the stateful one
first did.

A part that raised counts as an answer too: a composite that raises the same
exception where its own part raises (a ``conv_output_size`` off by one, so the
layer count "steps over" its target) is wrong only because that part is, as
much as one that returns the sum of a part's wrong values. The part must have
raised that exception on a case of its own as well, and no starter's
NotImplementedError follows through.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from typing import Any

import numpy as np

from autograder.engine.compare import agrees, is_integral
from autograder.engine.compiled import content_hash, encode_value
from autograder.engine.errors import SpecError
from autograder.engine.references import copies
from autograder.model import CaseResult, CompareKind, Outcome
from autograder.sandbox.worker import LONG_INT_BITS

MAX_ENTRIES = 100_000  # a part's answer feeds reference code in the grader: keep it small
MAX_INT = 10**18
# Entries (see _entries: about 8 bytes each) of the answers kept after judging, in one grade, for follow-through
# to read: without a bound, a submission answering every call with the largest reply allowed (64 MB) filled the
# grader's memory, one reply after another.
KEPT_ENTRIES = 2_000_000
# What an array costs beyond its entries, in entries: its own object (about 100 bytes) and its shape. Counted by its
# size alone, an empty array was free: 55,000 of them in each answer stayed in the grader to the end (1.2 GB, red team).
ARRAY_ENTRIES = 16


PLAIN_TYPES = (int, str, type(None))  # values whose repr names them exactly (bool is a type of its own)


def call_key(function: str, args: tuple[Any, ...] | list[Any], kwargs: dict[str, Any]) -> str:
    """A call as text, so that the same call made twice finds one recorded answer.

    A call on plain values (ints, strings, tuples and lists of them: nearly every
    part call) is keyed by its repr, which tells them apart as exactly as the
    JSON of the other calls does, and costs a fraction of it; the two kinds of
    key never coincide (a repr starts with ``(``, JSON with ``[``).
    """
    if _plain(args) and _plain(list(kwargs.values())):
        return repr((function, tuple(args), sorted(kwargs.items())))
    try:
        return json.dumps([function, encode_value(list(args)), {k: encode_value(v) for k, v in kwargs.items()}], sort_keys=True)
    except (TypeError, ValueError):
        return f"unkeyable {function} {id(args)}"


class Recorder:
    """The answers of the main run to calls of part functions, part calls and ordinary cases alike, by call.

    Only the functions some composition uses as parts are recorded: nothing
    else is ever looked up, and nothing else's answer is kept alive.
    """

    def __init__(self, parts: set[str]) -> None:
        self.parts = parts
        self.answers: dict[str, list[Outcome]] = defaultdict(list)
        self.own: dict[str, list[str]] = defaultdict(list)  # function -> keys of the values its own cases returned
        self.own_raised: dict[str, set[str]] = defaultdict(set)  # function -> the exceptions its own cases raised
        self.room = KEPT_ENTRIES

    def keep(self, outcome: Outcome, needed: bool) -> None:
        """Let go of a judged answer's value unless follow-through may read it (``needed``: a part's answer, or a
        composite case's) and it fits what is left of the grade's allowance (:data:`KEPT_ENTRIES`). A value let
        go earns no credit (:func:`may_earn`, :meth:`answer`); no value larger than a part may answer
        (:data:`MAX_ENTRIES`) could earn any."""
        if outcome.kind != "returned":
            return
        size = _entries(outcome.value, min(MAX_ENTRIES, self.room)) if needed else None
        if size is None:
            outcome.value, outcome.dropped = None, True
        else:
            self.room -= size

    def key(self, function: str, args: tuple[Any, ...] | list[Any], kwargs: dict[str, Any]) -> str | None:
        """The call's key when its answer is recorded (a part function's), else None."""
        return call_key(function, args, kwargs) if function in self.parts else None

    def record(self, key: str | None, outcome: Outcome) -> None:
        """Keep ``outcome`` as an answer to the call with ``key`` (see :meth:`key`); None keeps nothing."""
        if key is not None:
            self.answers[key].append(outcome)

    def own_case(self, function: str, outcome: Outcome) -> None:
        if function in self.parts and outcome.kind == "returned":
            self.own[function].append(_value_key(outcome.value))
        elif function in self.parts and outcome.kind == "raised":
            self.own_raised[function].add(str(outcome.error.get("type", "")))

    def unanswered(self, key: str) -> Outcome | None:
        """The first call with this key that gave neither a value nor an exception (timed out, crashed, not made)."""
        return next((o for o in self.answers.get(key, []) if o.kind not in ("returned", "raised")), None)

    def answer(self, key: str) -> Outcome | None:
        """The one answer every call with this key got (a value, or an exception of one class), or None if any
        call gave none or they differ."""
        outcomes = self.answers.get(key, [])
        if not outcomes or any(o.dropped for o in outcomes):
            return None
        if all(o.kind == "raised" for o in outcomes):
            return outcomes[0] if len({str(o.error.get("type", "")) for o in outcomes}) == 1 else None
        if any(o.kind != "returned" for o in outcomes):
            return None
        return outcomes[0] if len({_value_key(o.value) for o in outcomes}) == 1 else None

    def genuine(self, function: str) -> bool:
        """The part returned values on its own cases, and not one value for all of them."""
        values = self.own.get(function, [])
        return len(values) >= 2 and len(set(values)) > 1


def may_earn(result: CaseResult, failed: set[str], recorder: Recorder) -> bool:
    """Whether the case could earn the credit at all: a composite that returned a wrong answer, or raised an
    exception one of its parts raised on a case of its own (never a starter's NotImplementedError), one of whose
    parts is among the functions that ``failed`` a case of their own. Only such a case's part calls are ever made."""
    rule, outcome = result.case.follow_through, result.outcome
    if rule is None or result.verdict.passed or outcome is None or outcome.dropped:
        return False
    if outcome.kind == "raised":
        kind = str(outcome.error.get("type", ""))
        if kind == "NotImplementedError" or not any(kind in recorder.own_raised.get(part.function, ()) for part in rule.calls):
            return False
    elif outcome.kind != "returned":
        return False
    return any(part.function in failed for part in rule.calls)


def grant(result: CaseResult, recorder: Recorder, kinds: dict[str, CompareKind], failed: set[str]) -> None:
    """Give the case's share when its wrong answer is what the student's own, genuine, parts give."""
    case, outcome, rule = result.case, result.outcome, result.case.follow_through
    if not may_earn(result, failed, recorder) or rule is None or outcome is None:  # the last two: for the type checker
        return
    parts = _RecordedParts(recorder, kinds)
    try:
        composed = rule.compose(parts, *copies(case.args), **copies(case.kwargs))
        consistent = outcome.kind == "returned" and (
            agrees(composed, outcome.value, case.comparison) or _same_counts(composed, outcome.value, case.comparison.kind)
        )
    except PartRaised as raised:  # the composition stops where the student's part raised: so must their composite
        consistent = (
            outcome.kind == "raised"
            and outcome.error.get("type") == raised.kind
            # Raised on one of the part's own cases too: a part that raised only on part calls (a submission can tell
            # them apart) would let a composite that always raises earn the share everywhere.
            and raised.kind in recorder.own_raised.get(raised.part, set())
        )  # (a starter's NotImplementedError never gets here: may_earn turned the composite's away)
    except SpecError as broken:  # the course's reference.py cannot be imported here: the course's fault, said
        result.credit_reason = (
            f"Follow-through credit could not be checked: the course's reference failed to load ({broken}); tell your course staff."
        )
        return
    except PartUnanswered as unanswered:  # said: a helper's hang otherwise cost its composites' credit in silence
        result.credit_reason = (
            f"No follow-through credit: `{unanswered.part}` gave no answer to the call this case needs of it "
            f"({unanswered.why}), so whether your answer follows from it cannot be known."
        )
        return
    except Exception:  # noqa: BLE001 - parts that failed or answered nonsense earn no follow-through
        return
    used = list(dict.fromkeys(parts.used))
    if not (consistent and used and failed.intersection(used)):
        return
    what = "your answer is what you get" if outcome.kind == "returned" else "your function raises what you get"
    doubtful = [name for name in used if not recorder.genuine(name)]
    if doubtful:  # said, so that a student told credit follows a helper's error sees why it does not here (fidelity)
        result.credit_reason = (
            f"No follow-through credit: {what} from your own {_listed(used)}, but {_listed(doubtful)} gave fewer than two "
            "different values on its own cases, too few for its answers to stand in for the right ones."
        )
        return
    result.credit = rule.share
    result.credit_reason = (
        f"Follow-through credit ({rule.share:.0%} of this case): {what} from your own {_listed(used)}, "
        f"so it is wrong only because {'that function is' if len(used) == 1 else 'one of those is'}."
    )


def _listed(functions: list[str]) -> str:
    """Function names in a sentence, each in a code span: `a`; `a` and `b`; `a`, `b` and `c`."""
    names = [f"`{name}`" for name in functions]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


class PartUnanswered(Exception):
    """A part's call that the composition needs gave no answer: it timed out, stopped the worker, or was not made."""

    def __init__(self, part: str, outcome: Outcome) -> None:
        super().__init__(part, outcome.kind)
        self.part = part
        self.why = {
            "timeout": "it ran out of time",
            "crashed": "it stopped the process running your code",
            "broken": "its answer could not be read",
        }.get(outcome.kind, f"it was not called: {outcome.detail}" if outcome.reason == "strikes" else "it was not called")


class PartRaised(BaseException):
    """A part's recorded answer was an exception: raised through the reference composition to :func:`grant`.

    A BaseException, so that a composition catching ``Exception`` (or the part's own ValueError) cannot take the
    student's exception for its own reference's.
    """

    def __init__(self, part: str, kind: str) -> None:
        super().__init__(part, kind)
        self.part = part  # the part function that raised
        self.kind = kind  # the exception's class name, as the worker reported it


class _RecordedParts:
    """The student's part functions as a composition sees them: answers recorded in the main run, nothing new."""

    def __init__(self, recorder: Recorder, kinds: dict[str, CompareKind]) -> None:
        self._recorder, self._kinds = recorder, kinds
        self.used: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            key = call_key(name, args, kwargs)
            unanswered = self._recorder.unanswered(key)
            if unanswered is not None:
                raise PartUnanswered(name, unanswered)
            outcome = self._recorder.answer(key)
            if outcome is None:
                raise LookupError(f"{name} gave no answer, or answered differently, to this call in the main run")
            self.used.append(name)
            if outcome.kind == "raised":
                raise PartRaised(name, str(outcome.error.get("type", "")))
            return _plain_answer(self._kinds.get(name, "int"), outcome.value)

        return call


def _plain(values: tuple[Any, ...] | list[Any]) -> bool:
    """Every value a plain int (short enough for repr), string or None, or a tuple or list of them (see :func:`call_key`)."""
    return all(_plain_item(value) or (type(value) in (tuple, list) and all(_plain_item(item) for item in value)) for value in values)


def _plain_item(value: Any) -> bool:
    return type(value) in PLAIN_TYPES and not (type(value) is int and value.bit_length() > LONG_INT_BITS)


def _plain_answer(kind: CompareKind, value: Any) -> Any:
    """A part's untrusted answer as plain data of its own kind and modest size, or LookupError."""
    if kind == "int":
        return _count(value)
    if kind == "ints" and isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) == 1 and len(value) <= MAX_ENTRIES:
        return [_count(item) for item in value]
    if kind == "array" and (array := _real_array(value)) is not None:
        return array
    if kind == "value" and _entries(value, MAX_ENTRIES) is not None:  # plain data, as the reply decoded it: its own copy
        return value
    raise LookupError("a part's answer of the wrong kind or size")


def _real_array(value: Any) -> np.ndarray | None:
    """An answer of kind ``array`` as the grader accepts one (compare.py): a NumPy array of numbers, nested lists of
    them, or one number (an array of shape (), as ``math.sqrt`` or ``np.var`` returns it), in float64; else None."""
    if not isinstance(value, np.ndarray):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating, list, tuple)):
            return None
        if _entries(value, MAX_ENTRIES) is None:
            return None
        try:
            value = np.asarray(value)
        except (ValueError, TypeError, OverflowError):  # ragged lists, or an int too long for any dtype
            return None
    array: np.ndarray = value
    if array.dtype.kind not in "iuf" or array.size > MAX_ENTRIES:
        return None
    return array.astype(np.float64)


def _count(value: Any) -> int | float:
    """A count as a composition reads it: an int when whole, else a finite float (a part computed in floats gives
    33.000000000000004: wrong, and a composite built on it is wrong only because of it); LookupError otherwise."""
    if is_integral(value) and abs(int(value)) <= MAX_INT:
        return int(value)
    if isinstance(value, (float, np.floating)) and math.isfinite(float(value)) and abs(float(value)) <= MAX_INT:
        return float(value)
    raise LookupError("a part's answer that is no finite number")


def _same_counts(composed: Any, received: Any, kind: CompareKind) -> bool:
    """Whether a composite's count (or list of counts) is exactly the one composed over its parts, whole or not:
    the grader's own comparison refuses a count that is not whole before it looks at its value."""
    try:
        if kind == "int":
            return _count(composed) == _count(received)
        if kind == "ints":
            return bool(_plain_answer(kind, composed) == _plain_answer(kind, received))
    except (LookupError, TypeError, ValueError):
        pass
    return False


def _entries(value: Any, limit: int) -> int | None:
    """How many entries ``value`` holds, or None past ``limit`` or 32 levels deep (counted without going further).

    An array counts its size and ``ARRAY_ENTRIES``; a list or tuple one, plus its items; a string or an int one per 8 bytes it holds
    (a reply may carry megabytes of either); anything else one.
    """
    count, pending = 0, [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if depth > 32:
            return None
        if isinstance(item, np.ndarray):
            count += item.size + ARRAY_ENTRIES
        elif isinstance(item, (list, tuple, dict)):
            count += 1
            if count + len(item) > limit:
                return None
            pending += [(entry, depth + 1) for entry in (item if not isinstance(item, dict) else [*item, *item.values()])]
        elif isinstance(item, str):
            count += len(item) // 8 + 1
        elif isinstance(item, int):
            count += item.bit_length() // 64 + 1
        else:
            count += 1
        if count > limit:
            return None
    return count


def _value_key(value: Any) -> str:
    """A returned value as short comparable text (to tell a constant function from one that computes).

    Bounded whatever the student returned: arrays count by their bytes' hash,
    and past MAX_ENTRIES entries in all the value is unique (no answer that
    large is a part's answer anyway).
    """
    parts: list[str] = []
    try:
        _key_parts(value, 0, parts, [MAX_ENTRIES])
    except OverflowError:
        return f"too large {id(value)}"
    return " ".join(parts)


def _key_parts(item: Any, depth: int, parts: list[str], budget: list[int]) -> None:
    """Append ``item``'s pieces of :func:`_value_key` to ``parts``; OverflowError past ``budget`` or 32 levels.

    A function of the module, not a closure in _value_key: a closure that calls itself is a reference cycle, and
    the grader runs with the cyclic collector off (__main__.py), so each cycle kept its ``parts`` (up to
    MAX_ENTRIES strings, several MB, for every large answer) until the grade ended."""
    budget[0] -= 1
    if budget[0] < 0 or depth > 32:
        raise OverflowError
    if isinstance(item, np.ndarray):
        budget[0] -= item.size
        if budget[0] < 0:
            raise OverflowError
        parts.append(f"array {item.dtype.str} {item.shape} {content_hash(item.tobytes()).hexdigest()}")
    elif isinstance(item, (list, tuple)):
        parts.append("(" if isinstance(item, tuple) else "[")
        for entry in item:
            _key_parts(entry, depth + 1, parts, budget)
        parts.append(")" if isinstance(item, tuple) else "]")
    elif isinstance(item, dict):  # in key order, whatever order it was built in: {a: 1, b: 2} is {b: 2, a: 1}
        entries = []
        for key, entry in item.items():
            pieces: list[str] = []
            _key_parts(key, depth + 1, pieces, budget)
            pieces.append(":")
            _key_parts(entry, depth + 1, pieces, budget)
            entries.append(" ".join(pieces))
        parts += ["{", *sorted(entries), "}"]
    elif isinstance(item, (bool, int, float, str, np.generic)) or item is None:
        parts.append(
            f"{type(item).__name__} {str(item)[:100]}"
            if not isinstance(item, int) or item.bit_length() < 4000
            else f"int {content_hash(hex(item).encode()).hexdigest()}"
        )
    else:
        parts.append(repr(type(item)))
