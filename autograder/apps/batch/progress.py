"""The progress line of ``batch``: a bar, counts, rate, an honest time left, and what is still running.

Time left comes from completed work: the mean time one submission took,
times the submissions still queued, shared over the parallel slots, plus what
the running ones probably still need. A submission running longer than the
mean has no honest estimate (it may be hanging until its deadline), so once
one has run more than SLOW_SECONDS the line names it with its time, and when
only such submissions are left it says so instead of a time that reads
"0:01 left" for the next 40 seconds.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from autograder.text import StudentText, to_terminal

SLOW_SECONDS = 5.0  # a right submission takes about a second; one running this long is named on the line
NAMED = 3  # at most this many running submissions named


class Progress:
    """One line on stderr, redrawn in place with ``\\r``; a plain line every 10% when stderr is not a terminal.

    ``begin`` is called from the grading threads, so the running set is guarded by a lock.
    """

    WIDTH = 30

    def __init__(self, total: int, stream: Any = None, slots: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.slots = max(slots, 1)
        self.clock = clock
        self.stream = stream or sys.stderr
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = clock()
        self.work = 0.0  # seconds spent on the submissions done
        self.running: dict[str, float] = {}  # submission id -> when its grade began
        self._lock = threading.Lock()
        self._drawn_at = float("-inf")
        self._logged_tenth = 0
        self._named_at = float("-inf")

    def begin(self, name: str) -> None:
        with self._lock:
            self.running[name] = self.clock()

    def pause(self, name: str) -> None:
        """``name`` stopped running before it was done (put off until later): no longer named as running."""
        with self._lock:
            self.running.pop(name, None)

    def advance(self, failed: bool = False, name: str | None = None, seconds: float | None = None) -> None:
        with self._lock:
            began = self.running.pop(name, None) if name is not None else None
        if seconds is None:
            seconds = self.clock() - began if began is not None else 0.0
        self.done += 1
        self.failed += failed
        self.work += seconds
        self.draw(force=self.done == self.total)

    def left(self) -> str:
        """Time left, or why there is no honest number."""
        now = self.clock()
        with self._lock:
            ages = {name: now - began for name, began in self.running.items()}
        if not self.done:
            return "time left unknown"
        mean = self.work / self.done
        queued = max(self.total - self.done - len(ages), 0)
        running_left = [max(mean - age, 0.0) for age in ages.values()]
        if not queued and ages and all(age > max(mean, SLOW_SECONDS) for age in ages.values()):
            return "time left unknown: waiting on the slow ones"
        # Queued work shared over the slots; never less than the longest single piece still to finish.
        estimate = max((queued * mean + sum(running_left)) / self.slots, max(running_left, default=0.0), mean if queued else 0.0)
        return f"~{_clock(estimate)} left"

    def slow(self) -> str:
        """The submissions running for more than SLOW_SECONDS, longest first, with their times."""
        now = self.clock()
        with self._lock:
            ages = sorted(((now - began, name) for name, began in self.running.items()), reverse=True)
        slow = [f"{to_terminal(StudentText(name))} ({_clock(age)})" for age, name in ages if age > SLOW_SECONDS]  # a folder's name
        if not slow:
            return ""
        more = f" and {len(slow) - NAMED} more" if len(slow) > NAMED else ""
        return "; still running: " + ", ".join(slow[:NAMED]) + more

    def line(self) -> str:
        elapsed = self.clock() - self.started
        rate = self.done / elapsed if self.done and elapsed > 0 else 0.0
        filled = self.WIDTH * self.done // max(self.total, 1)
        errors = f", {self.failed} grader errors" if self.failed else ""
        left = self.left() if self.done < self.total else "done"
        return (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} graded, "
            f"{rate:.1f}/s, {_clock(elapsed)} elapsed, {left}{errors}{self.slow() if self.done < self.total else ''}"
        )

    def draw(self, force: bool = False) -> None:
        if not self.total:
            return
        now = self.clock()
        if self.live:
            if force or now - self._drawn_at >= 0.1:
                self._write("\r" + self.line() + "\x1b[K")
                self._drawn_at = now
        elif self.done * 10 // self.total > self._logged_tenth or (force and self.done == self.total):
            self._logged_tenth = self.done * 10 // self.total
            self._write(self.line() + "\n")
        elif self.slow() and now - self._named_at >= 30:  # a log still hears about a hang, every 30 s
            self._named_at = now
            self._write(self.line() + "\n")

    def say(self, text: str) -> None:
        """A message that does not mangle the bar."""
        self._write(("\r\x1b[K" if self.live else "") + text + "\n")
        self.draw(force=True)

    def close(self) -> None:
        if self.live and self.total:
            self._write("\n")

    def _write(self, text: str) -> None:
        """Write, or go quiet if stderr went away (a closed pipe must not stop the grading)."""
        if self.stream is None:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.stream = None


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"
