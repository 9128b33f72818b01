"""A batch slot's sandbox: one whose waits on its worker the scheduler can see, and cut short.

A hanging submission holds its worker busy until its deadline (5 s a call,
twice per function, 30 s at import), and a busy loop holds a core meanwhile.
While fresh submissions wait, that core is theirs: the scheduler puts off a
grade whose wait on its worker has used PUT_OFF_SHARE of that wait's limit.
Putting off stops the worker at once (it uses no more CPU) and ends the grade
with :class:`PutOff`; the submission is graded again from the start, with
its full limits, once every fresh submission has begun. So a put-off grade
is never a grade: the one the student gets is made exactly as Gradescope
makes it, only later.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Generator, Sequence
from pathlib import Path

from autograder.model import ImportReport, Outcome
from autograder.sandbox.limits import Limits
from autograder.sandbox.process import Call, Sandbox

PUT_OFF_SHARE = 0.2  # a right answer takes milliseconds; a call that has used a fifth of its limit is probably hanging


class PutOff(BaseException):
    """The grade was put off behind fresh work: there is no result, and the submission is graded again later.

    A BaseException, as runner.Cancelled is, so that no ``except Exception`` mistakes it for a failed grade.
    """


class SlotSandbox(Sandbox):
    """A Sandbox that times each wait on its worker (its import, each call) and can be put off from another thread."""

    def __init__(self, submission: Path, limits: Limits, worker_user: str, packages: Sequence[str], hidden: Sequence[Path]) -> None:
        super().__init__(submission, limits, worker_user, packages, hidden)
        self.waiting: tuple[float, float] | None = None  # (since when, that wait's limit) while the grader waits on the worker
        self.put_off = threading.Event()

    def overdue(self, now: float) -> bool:
        """Whether the wait in progress has used PUT_OFF_SHARE of its limit."""
        waiting = self.waiting
        return waiting is not None and now - waiting[0] >= waiting[1] * PUT_OFF_SHARE

    def put_off_now(self) -> None:
        """Stop the worker at once, and the grade at its next step (from the scheduler's thread)."""
        self.put_off.set()
        process = self.process
        if process is not None:
            process.send_signal(signal.SIGTERM)  # its reaper kills the worker and all it started

    def start(self) -> None:
        self._go_on()  # a grade put off starts no worker, not even a fresh one after a hang
        super().start()

    def ready(self) -> ImportReport:
        outer = self._wait_begins(self.limits.import_timeout)
        try:
            return super().ready()
        finally:
            self._wait_ends(outer)

    def stream(self, calls: Sequence[Call]) -> Generator[Outcome, None, None]:
        outcomes = super().stream(calls)
        try:
            while True:
                outer = self._wait_begins(self.limits.call_timeout)
                try:
                    outcome = next(outcomes, None)
                finally:
                    self._wait_ends(outer)
                if outcome is None:
                    return
                yield outcome
        finally:
            outcomes.close()

    # Begun and ended by hand, not by a context manager: the gate asks ready() before each of a grade's
    # hundreds of calls, and this is on that path.
    def _wait_begins(self, limit: float) -> tuple[float, float] | None:
        """Time a wait on the worker; the wait it is inside (a call waiting on the import), to go on with."""
        self._go_on()
        outer, self.waiting = self.waiting, (time.monotonic(), limit)
        return outer

    def _wait_ends(self, outer: tuple[float, float] | None) -> None:
        self.waiting = (time.monotonic(), outer[1]) if outer is not None else None
        self._go_on()

    def _go_on(self) -> None:
        if self.put_off.is_set():
            raise PutOff
