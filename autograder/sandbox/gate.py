"""The one call gate: whether a student function is called at all, and its strikes.

YAML cases, Python checks and follow-through all call the submission through
one gate per grading, so a function that timed out twice is not called again
by any of them, and every call after the run's deadline is refused alike. The
gate is the only way to call the submission: a front end makes one per
grading (``CallGate.started``) and hands it to ``runner.grade``.

A function that stops the worker some other way (a crash, a reply that cannot
be read) is struck too once what its stops cost reaches what two time-outs
would: each such call's own time, and loading the file again in a new worker.
Crashes are cheap when the file loads at once, so a function that crashes on a
few inputs is still called on the rest; but a notebook that works for seconds
as it loads, with one crashing function, no longer spends the whole run's time
reloading, leaving every function after it unrun.

A worker that dies with no call of its own running (the next call finds it
gone, and the same call in a fresh worker answers) was killed by what an
earlier call left behind: a thread, an exit handler, a signal. That death is
charged to the function that ran last in it (its reload too, as a crash's
is), and a function charged twice is not called again. Otherwise a file whose every function ends its worker after
answering would earn full marks while the grader started a worker per call.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from dataclasses import replace

from autograder.model import ImportReport, Outcome
from autograder.sandbox.process import Call, Sandbox

MAX_TIMEOUTS_PER_FUNCTION = 2
ANSWERED = ("returned", "raised", "skipped")  # outcomes after which the worker that gave them is still running


class CallGate:
    """Calls through ``sandbox`` unless the call cannot or should not be made.

    A refused call comes back as an Outcome of kind ``skipped`` with its
    ``reason``; engine/outcomes.py words it.
    """

    def __init__(self, sandbox: Sandbox, deadline: float, max_timeouts: int = MAX_TIMEOUTS_PER_FUNCTION) -> None:
        self.sandbox, self.deadline, self.max_timeouts = sandbox, deadline, max_timeouts
        self.timeouts: dict[str, int] = {}
        self.stops: dict[str, tuple[int, float]] = {}  # per function: the worker stops it caused, not time-outs, and their cost in seconds
        self.left_dead: dict[str, int] = {}  # per function: workers that died after it ran, with no call of their own running
        self.ran_last: str | None = None  # the function of the worker's last answer, in any stream

    @classmethod
    def started(cls, sandbox: Sandbox) -> CallGate:
        """The gate of one grading: ``sandbox`` started now, and the run's deadline (its limits') counted from now.

        Starting returns at once: the worker imports the submission while the
        caller goes on (loading the problems, say). A start that fails stops
        the sandbox, so no worker user stays claimed.
        """
        try:
            sandbox.start()
        except BaseException:
            sandbox.stop()
            raise
        return cls(sandbox, time.monotonic() + sandbox.limits.run_deadline)

    def stop(self) -> None:
        """Stop the sandbox (see ``Sandbox.stop``); never raises, and may be called again."""
        self.sandbox.stop()

    def __enter__(self) -> CallGate:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def imported(self) -> ImportReport:
        return self.sandbox.ready()

    def refusal(self, function: str) -> Outcome | None:
        """Why ``function`` is not called now, as a skipped Outcome; None when it may be."""
        if self.sandbox.json_budget.spent:  # before ``imported``, which would start a worker only to refuse its calls
            return Outcome("skipped", reason="answers too large", detail=f"{self.sandbox.json_budget.total >> 20} MB")
        imported = self.imported
        if imported.fatal:
            return Outcome("skipped", reason="not loaded", detail=imported.fatal)
        if self.timeouts.get(function, 0) >= self.max_timeouts:
            return Outcome("skipped", reason="strikes", detail=f"timed out {self.max_timeouts} times")
        stops, seconds = self.stops.get(function, (0, 0.0))
        if seconds >= self.max_timeouts * self.sandbox.limits.call_timeout:
            return Outcome(
                "skipped",
                reason="strikes",
                detail=f"stopped the worker {stops} time{'s' * (stops != 1)}, each time reloading your file ({seconds:.0f} s in all)",
            )
        deaths = self.left_dead.get(function, 0)
        if deaths >= self.max_timeouts:
            return Outcome(
                "skipped",
                reason="strikes",
                detail=(
                    f"ended the process running your code {deaths} times after returning (through a thread, an exit handler "
                    "or a signal it left behind): let each call finish its work before it returns"
                ),
            )
        if time.monotonic() > self.deadline:
            return Outcome("skipped", reason="deadline")
        return None

    def missing(self, function: str) -> Outcome:
        """The outcome of a call the worker could not make, ``function`` being bound to no callable.

        The worker looks each name up when it is called, as ``module.function``
        would be (graded or not, defined late or by a module ``__getattr__``);
        when loading the file broke the statement that defines it, that is why.
        """
        broken = next((p for p in self.imported.problems if function in p.get("names", [])), None)
        if broken:
            return Outcome("skipped", reason="not defined", detail=f"{broken['type']} at {broken['where']}: {broken['message']}")
        near = [name for name in self.imported.functions if _misspelt(name, function) and name not in self.sandbox.graded_names]
        return Outcome("skipped", reason="missing", detail=near[0] if near else "")  # the file's name: student text

    def call(self, function: str, args: Sequence[object], kwargs: dict[str, object] | None = None) -> Outcome:
        """Call ``function(*args, **kwargs)`` (a stream of one call; see :meth:`stream`)."""
        return next(self.stream([Call(function, args, kwargs or {})]))

    def stream(self, calls: Sequence[Call]) -> Generator[Outcome, None, None]:
        """The outcomes of ``calls`` in order; the calls the gate allows go to the worker as one stream.

        The plan is made again whenever the worker's stream ends (a hang or a
        crash; only a timeout changes what the gate allows) and once the run's
        deadline has passed. A call whose worker died before any answer is
        made once more, once.
        """
        position, retried, forgiven = 0, -1, 0.0  # forgiven: what the death before a retry cost, charged if the retry dies too
        suspect: str | None = None  # the function that ran last when the worker died before the call being retried
        while position < len(calls):
            if self.ran_last is not None and self.sandbox.died_idle():  # gone before this stream began (a check's call)
                self._charge_idle_death(self.ran_last, self.sandbox.load_seconds)
                self.ran_last = None
            plan = [(call, self.refusal(call.function)) for call in calls[position:]]
            allowed = [call for call, refused in plan if refused is None]
            replies = self.sandbox.stream(allowed) if allowed else _no_replies()
            try:
                for call, refused in plan:
                    outcome = refused or next(replies, None)
                    if outcome is None:
                        break  # the worker's stream ended early: plan the rest again
                    if refused is None and outcome.kind == "skipped":
                        outcome = replace(self.missing(call.function), output=outcome.output, seconds=outcome.seconds)
                    if outcome.died_unanswered and retried != position:
                        retried, forgiven, suspect = position, outcome.seconds + self.sandbox.load_seconds, self.ran_last
                        self.ran_last = None
                        break  # once more, in a fresh worker: the death may not be this call's (a thread an earlier call left)
                    if outcome.kind in ("crashed", "broken"):
                        cost = outcome.seconds + self.sandbox.load_seconds + (forgiven if retried == position else 0.0)
                        self._add_stops(call.function, 1 + (retried == position), cost)
                    elif retried == position and suspect is not None and outcome.kind in ANSWERED:  # not this call's death
                        self._charge_idle_death(suspect, forgiven)
                    if outcome.kind == "timeout":
                        self.timeouts[call.function] = self.timeouts.get(call.function, 0) + 1
                    if refused is None:  # a worker that answered is still running it; any other has gone
                        self.ran_last = call.function if outcome.kind in ANSWERED else None
                    position += 1
                    yield outcome
                    if refused is None and time.monotonic() > self.deadline:
                        break  # plan again: every call left is refused
            finally:
                replies.close()

    def _charge_idle_death(self, function: str, cost: float) -> None:
        """A worker died after ``function`` answered, with no call of its own running: one death, and its reload."""
        self.left_dead[function] = self.left_dead.get(function, 0) + 1
        self._add_stops(function, 1, cost)  # a slow file's reloads strike it sooner

    def _add_stops(self, function: str, count: int, cost: float) -> None:
        stops, seconds = self.stops.get(function, (0, 0.0))
        self.stops[function] = (stops + count, seconds + cost)


def _misspelt(name: str, wanted: str) -> bool:
    """Whether ``name`` reads as ``wanted`` misspelt: at most two letters changed, added or dropped, and its length
    within one of it (``variense``, ``conv_2d``; not ``covariance`` for ``variance``, another function)."""
    if name == wanted or abs(len(name) - len(wanted)) > 1 or len(wanted) < 4:
        return False
    previous = list(range(len(wanted) + 1))  # Levenshtein's distance, row by row
    for i, letter in enumerate(name, 1):
        current = [i]
        for j, other in enumerate(wanted, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (letter != other)))
        previous = current
    return previous[-1] <= 2


def _no_replies() -> Generator[Outcome, None, None]:
    yield from ()
