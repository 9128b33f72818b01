"""The batch scheduler: a grade that hangs while fresh work waits is put off behind it, its worker stopped at once."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from helpers import descendants

from autograder.apps.batch import grading as batch
from autograder.apps.batch.records import Record
from autograder.apps.batch.slots import SlotSandbox
from autograder.apps.cli import main
from autograder.apps.course import Course
from autograder.engine.runner import ProblemSet
from autograder.sandbox.process import IMPORT_SHARE

from conftest import SOLUTION, total_points

IMPORT_TIMEOUT = 3  # seconds; the hanging import is put off after a fifth of it while fresh work waits
ENDED = {"Z", "X"}


def _state_and_ticks(pid: int) -> tuple[str, int] | None:
    """A process's state letter and the CPU it has used (user + system, in clock ticks); None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[11]) + int(fields[12])


def test_a_hanging_grade_waits_behind_fresh_work_and_its_worker_stops_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One slot; the first submission busy-loops at import ahead of three right ones. Its grade is put off: its
    worker ends as soon as it is (the kernel's own CPU count for it stays far below the import's limit), the three
    are begun before it is begun again, and then it is graded in full, its import running to its own deadline."""
    monkeypatch.setenv("AUTOGRADER_IMPORT_TIMEOUT", str(IMPORT_TIMEOUT))
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "a_hangs.py").write_text("while True:\n    pass\n")
    fresh = ["b", "c", "d"]
    for name in fresh:
        (folder / f"{name}.py").write_text(SOLUTION.read_text())

    begun: list[str] = []
    real_grade_one = batch.grade_one

    def recording_grade_one(
        job: batch.Job, problem_set: ProblemSet, course: Course, slot: batch.Slot, out: Path, stop: threading.Event
    ) -> Record:
        begun.append(job.submission.id)
        return real_grade_one(job, problem_set, course, slot, out, stop)

    stopped: list[tuple[int, tuple[str, int], bool]] = []  # pid, its last state and CPU ticks seen, whether it ended
    real_put_off = SlotSandbox.put_off_now

    def observed_put_off(sandbox: SlotSandbox) -> None:
        process = sandbox.process
        assert process is not None
        workers = descendants(process.pid)
        before = {pid: _state_and_ticks(pid) for pid in workers}  # one the kill ends at once keeps its last reading
        real_put_off(sandbox)
        for pid in workers:
            last, ended = _state_and_ticks(pid) or before[pid], False
            for _ in range(100_000):  # until the kernel has ended it (a bound, not a timing)
                now = _state_and_ticks(pid)
                if now is None or now[0] in ENDED:
                    last, ended = now or last, True
                    break
                last = now
            if last is not None:
                stopped.append((pid, last, ended))

    monkeypatch.setattr(batch, "grade_one", recording_grade_one)
    monkeypatch.setattr(SlotSandbox, "put_off_now", observed_put_off)
    out = tmp_path / "out"
    assert main(["batch", str(folder), "--out", str(out), "--jobs", "1"]) == 0

    assert begun[0] == "a_hangs" and begun.count("a_hangs") == 2, begun
    assert begun.index("a_hangs", 1) > max(begun.index(name) for name in fresh), begun

    assert stopped, "the hanging grade was never put off"
    assert max(ticks for _, (_, ticks), _ in stopped) > 0, "no process of the put-off worker had used any CPU"
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    for pid, (state, ticks), ended in stopped:
        assert ended, f"worker {pid} still runs after being put off (state {state})"
        assert ticks < IMPORT_TIMEOUT * ticks_per_second, f"worker {pid} used its whole import limit: {ticks} ticks"

    hanging = json.loads((out / "a_hangs" / "results.json").read_text())
    # Graded in full: its loading stopped at the worker's share of the limit (or the grader's own deadline ended it).
    limits = (f"longer than {IMPORT_TIMEOUT * IMPORT_SHARE:g} s", f"longer than {IMPORT_TIMEOUT} s")
    assert hanging["score"] == 0 and any(limit in hanging["output"] for limit in limits), hanging["output"]
    for name in fresh:
        assert json.loads((out / name / "results.json").read_text())["score"] == total_points()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux's")
def test_the_default_slots_follow_the_cpus_this_process_may_use() -> None:
    """taskset, a container's cpuset: the slots follow the CPUs the batch may run on, not the machine's."""
    allowed = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(allowed)})
        assert batch.default_jobs() == 3
    finally:
        os.sched_setaffinity(0, allowed)
    assert batch.default_jobs() == 2 * len(allowed) + 1
