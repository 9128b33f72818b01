"""One set of words for what a call came to, for cases, checks and follow-through alike.

Every outcome gets a ``summary`` from a small fixed set (nothing in it is chosen
by the student) and a ``detail`` that says exactly what happened (for visible
cases, staff, and after publication).

A hidden case shows only its summary before grades are published, so its
summary is a channel out of the sandbox: a submission that sees a hidden input
can pick which of the possible summaries its case gets. :class:`HiddenAlphabet`
keeps that channel within ``HIDDEN_FEEDBACK_BITS`` per hidden case: it fixes, for
each function, the at most ``MAX_HIDDEN_OUTCOMES`` things a hidden case of that
function can show (each with its own score: full, a follow-through share, or
nothing), and every hidden verdict is worded through it (engine/runner.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from autograder.model import Case, CaseResult, Outcome, Verdict

PASSED = "passed"
WRONG = "wrong answer"
RAISED = "raised an error"
TIMED_OUT = "ran out of time"
NOT_CALLED = "could not be called"
# Hidden cases only: failures worded together when a function's budget has no room to tell them apart.
TIMED_OUT_OR_NOT_RUN = "ran out of time or was not run"
NO_ANSWER = "gave no answer (it raised an error, ran out of time or was not run)"
CREDITED = "wrong, with follow-through credit (it is what your own parts give, or raise)"
LIKELY_MISTAKE = "wrong answer; the likely mistake: "  # then the spec's message for the function's one known mistake
SUMMARIES = (PASSED, WRONG, RAISED, TIMED_OUT, NOT_CALLED, TIMED_OUT_OR_NOT_RUN, NO_ANSWER, CREDITED)

HIDDEN_FEEDBACK_BITS = 2
MAX_HIDDEN_OUTCOMES = 2**HIDDEN_FEEDBACK_BITS  # distinct things one hidden case of a function may show


@dataclass(frozen=True)
class HiddenAlphabet:
    """The things a hidden case of one function may show before grades are published, and how each verdict maps to one.

    Always: passed, wrong answer, and the failures to answer. Then, while the
    budget has room, in this order: follow-through credit (it carries points,
    so it is never withheld), the function's known mistake when it has exactly
    one (several are withheld until publication: naming which one matched is
    the channel), and last, the failures told apart (raised an error / ran out
    of time or was not run). "Could not be called" always shares a phrase with
    running out of time: the gate refuses a call only when the file did not
    load, the function already timed out twice (or its crashes cost as long), the run's time was up, or
    the answers already held all the JSON a grading may parse.
    """

    credit: bool = False  # a hidden case of the function may earn follow-through credit
    mistake: str = ""  # the one known mistake named on hidden cases ("": none named)
    failures_apart: bool = False  # "raised an error" and "ran out of time or was not run" rather than NO_ANSWER

    def __post_init__(self) -> None:
        if len(self.phrases) > MAX_HIDDEN_OUTCOMES:
            raise ValueError(f"{len(self.phrases)} hidden outcomes are over the budget of {MAX_HIDDEN_OUTCOMES}: {self.phrases}")

    @property
    def phrases(self) -> tuple[str, ...]:
        """Every summary a hidden case of the function can get: the whole alphabet."""
        failures = (RAISED, TIMED_OUT_OR_NOT_RUN) if self.failures_apart else (NO_ANSWER,)
        return (PASSED, WRONG, *((CREDITED,) if self.credit else ()), *((self.named,) if self.mistake else ()), *failures)

    @property
    def named(self) -> str:
        """The phrase that names the function's one known mistake (its message ends where the phrase does)."""
        return LIKELY_MISTAKE + self.mistake.rstrip(".")

    def summary(self, result: CaseResult) -> str:
        """The one phrase of :attr:`phrases` that ``result`` shows before publication."""
        verdict = result.verdict
        if verdict.passed:
            return PASSED
        if result.credit and self.credit:  # a wrong answer, or an exception its own part raises there too
            return CREDITED
        if verdict.summary == WRONG:
            if self.mistake and result.diagnosis == self.mistake:
                return self.named
            return WRONG
        if not self.failures_apart:
            return NO_ANSWER
        return RAISED if verdict.summary == RAISED else TIMED_OUT_OR_NOT_RUN


def hidden_alphabet(cases: Iterable[Case]) -> HiddenAlphabet:
    """The alphabet of one function, from its cases (only the hidden ones count), filled in the order of
    :class:`HiddenAlphabet`'s docstring while it stays within ``MAX_HIDDEN_OUTCOMES``."""
    hidden = [case for case in cases if case.hidden]
    credit = any(case.follow_through for case in hidden)
    room = MAX_HIDDEN_OUTCOMES - len(HiddenAlphabet(credit=credit).phrases)
    messages = {message for case in hidden for _, message in case.known_mistakes}
    mistake = next(iter(messages)) if len(messages) == 1 and room > 0 else ""
    room -= bool(mistake)
    return HiddenAlphabet(credit=credit, mistake=mistake, failures_apart=room > 0)


def hidden_alphabets(cases: Iterable[Case]) -> dict[str, HiddenAlphabet]:
    """The alphabet of every function that ``cases`` call."""
    by_function: dict[str, list[Case]] = {}
    for case in cases:
        by_function.setdefault(case.function, []).append(case)
    return {function: hidden_alphabet(its_cases) for function, its_cases in by_function.items()}


def failure(outcome: Outcome, wanted: str) -> Verdict:
    """The verdict on a call that gave no usable answer; ``wanted`` says what was expected."""
    if outcome.kind == "raised":
        error = outcome.error
        if error.get("type") == "NotImplementedError":
            return Verdict(False, RAISED, "not implemented yet (it raises NotImplementedError)")
        return Verdict(False, RAISED, f"raised {error.get('type')}: {error.get('message')}; {wanted}\n\n{error.get('traceback', '')}")
    if outcome.kind == "timeout":
        return Verdict(False, TIMED_OUT, f"did not return within {outcome.seconds:.1f} s (an infinite loop?)")
    if outcome.kind == "crashed":
        return Verdict(False, RAISED, f"stopped the Python process running it: {outcome.detail}")
    if outcome.kind == "skipped":
        return Verdict(False, NOT_CALLED, not_called(outcome))
    return Verdict(False, WRONG, f"its answer could not be read: {outcome.detail or 'the reply was malformed'}")


def not_called(outcome: Outcome, function: str = "") -> str:
    """Why the gate did not make a call, as the rest of a sentence whose subject is the function."""
    name = f"`{function}`" if function else "it"
    reason = outcome.reason
    if reason == "not loaded":
        return "was not run: your file could not be loaded (the summary at the top says why)"
    if reason == "not defined":
        return f"was not run: {name} could not be defined ({outcome.detail})"
    if reason == "missing":
        near = f" (it has `{outcome.detail}`: that one, misspelt?)" if outcome.detail else ""
        return f"was not run: your file defines no function named {name}{near}"
    if reason == "strikes":
        return f"was not run: {name} already {outcome.detail}"
    if reason == "answers too large":
        return f"was not run: the answers before it held over {outcome.detail} of JSON in all"
    return "was not run: the time limit for the whole submission was reached"


def reason(outcome: Outcome, function: str) -> str:
    """Why a call of ``function`` gave no value: the rest of a sentence that starts with its name."""
    if outcome.kind == "raised":
        return f"raised {outcome.error.get('type', '')}: {outcome.error.get('message', '')}"
    if outcome.kind == "skipped":
        return not_called(outcome, function)
    return failure(outcome, "").detail.split("\n")[0]
