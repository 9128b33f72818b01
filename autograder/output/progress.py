"""A live view of a grade in the terminal: each function's result as soon as its cases are judged.

When a call takes more than a second, one line says which function is being
waited on, so a hang is not mistaken for a frozen tool.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from typing import TextIO

from autograder.model import Case, CaseResult, Problem
from autograder.text import Trusted, to_terminal

WAIT_NOTICE_SECONDS = 1.0


class LiveProgress:
    """Prints a line per function once all its cases have been judged."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.expected: Counter[str] = Counter()  # cases per function, once the problems are loaded
        self.stream = stream or sys.stderr
        self.done: dict[str, list[CaseResult]] = {}
        self._waiting: tuple[Case, float] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def begin(self, problems: list[Problem]) -> None:
        self.expected = Counter(case.function for problem in problems for case in problem.cases)

    def calling(self, case: Case) -> None:
        with self._lock:
            self._waiting = (case, time.monotonic())

    def judged(self, result: CaseResult) -> None:
        with self._lock:
            self._waiting = None
            own = self.done.setdefault(result.case.function, [])
            own.append(result)
            if len(own) == self.expected.get(result.case.function, 0):
                passed = sum(r.verdict.passed for r in own)
                mark = "ok" if passed == len(own) else "FAIL"
                self._say(f"  {mark:<4} {result.case.function}: {passed} of {len(own)} cases passed")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        told: Case | None = None
        while not self._stop.wait(0.2):
            with self._lock:
                waiting = self._waiting
                if waiting and waiting[0] is not told and time.monotonic() - waiting[1] >= WAIT_NOTICE_SECONDS:
                    told = waiting[0]
                    self._say(f"       ... waiting on {told.function} (case {told.number})")

    def _say(self, line: str) -> None:
        try:
            self.stream.write(to_terminal(Trusted(line)) + "\n")  # function names and numbers from the specs
            self.stream.flush()
        except (OSError, ValueError):
            pass
