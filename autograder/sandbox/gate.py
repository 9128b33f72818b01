"""The one call gate: whether a student function is called at all, and its strikes.

YAML cases, Python checks and follow-through all call the submission through
one gate per grading, so a function that timed out twice is not called again
by any of them, and every call after the run's deadline is refused alike.
"""

from __future__ import annotations

import time
from typing import Any

from autograder.model import ImportReport, Outcome
from autograder.sandbox.process import Sandbox

MAX_TIMEOUTS_PER_FUNCTION = 2


class CallGate:
    """Calls through ``sandbox`` unless the call cannot or should not be made.

    A refused call comes back as an Outcome of kind ``skipped`` with its
    ``reason``; engine/outcomes.py words it.
    """

    def __init__(self, sandbox: Sandbox, deadline: float, max_timeouts: int = MAX_TIMEOUTS_PER_FUNCTION) -> None:
        self.sandbox, self.deadline, self.max_timeouts = sandbox, deadline, max_timeouts
        self.timeouts: dict[str, int] = {}

    @property
    def imported(self) -> ImportReport:
        return self.sandbox.ready()

    def refusal(self, function: str) -> Outcome | None:
        """Why ``function`` is not called now, as a skipped Outcome; None when it may be."""
        imported = self.imported
        if imported.fatal:
            return Outcome("skipped", reason="not loaded", detail=imported.fatal)
        if function not in imported.functions:
            broken = next((p for p in imported.problems if function in p.get("names", [])), None)
            if broken:
                return Outcome("skipped", reason="not defined", detail=f"{broken['type']} at {broken['where']}: {broken['message']}")
            return Outcome("skipped", reason="missing")
        if self.timeouts.get(function, 0) >= self.max_timeouts:
            return Outcome("skipped", reason="strikes", detail=str(self.max_timeouts))
        if time.monotonic() > self.deadline:
            return Outcome("skipped", reason="deadline")
        return None

    def call(self, function: str, args: tuple | list, kwargs: dict[str, Any] | None = None) -> Outcome:
        refused = self.refusal(function)
        if refused is not None:
            return refused
        outcome = self.sandbox.call(function, list(args), kwargs or {})
        if outcome.kind == "timeout":
            self.timeouts[function] = self.timeouts.get(function, 0) + 1
        return outcome
