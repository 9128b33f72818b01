"""One set of words for what a call came to, for cases, checks and follow-through alike.

Every outcome gets a ``summary`` from a small fixed set (all a hidden case may
show: nothing in it is chosen by the student) and a ``detail`` that says
exactly what happened (for visible cases, staff, and after publication).
"""

from __future__ import annotations

from autograder.model import Outcome, Verdict

WRONG = "wrong answer"
RAISED = "raised an error"
TIMED_OUT = "ran out of time"
NOT_CALLED = "could not be called"
SUMMARIES = ("passed", WRONG, RAISED, TIMED_OUT, NOT_CALLED)


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
        return f"was not run: your file defines no function named {name}"
    if reason == "strikes":
        return f"was not run: {name} already timed out {outcome.detail} times"
    return "was not run: the time limit for the whole submission was reached"


def reason(outcome: Outcome, function: str) -> str:
    """Why a call of ``function`` gave no value: the rest of a sentence that starts with its name."""
    if outcome.kind == "raised":
        return f"raised {outcome.error.get('type', '')}: {outcome.error.get('message', '')}"
    if outcome.kind == "skipped":
        return not_called(outcome, function)
    return failure(outcome, "").detail.split("\n")[0]
