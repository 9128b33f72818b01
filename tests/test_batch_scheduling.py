"""The batch scheduler: a grade that hangs while fresh work waits is put off behind it, its worker stopped at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
from autograder.sandbox import cgroups
from autograder.sandbox.process import IMPORT_SHARE

from conftest import REPO, SOLUTION, total_points

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


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "150000 100000\n"}, [1.5]),  # v2: quota and period
        ({"cpu.max": "max 100000\n"}, []),  # v2: no quota
        ({"cpu.cfs_quota_us": "200000\n", "cpu.cfs_period_us": "100000\n"}, [2.0]),  # v1
        ({"cpu.cfs_quota_us": "-1\n", "cpu.cfs_period_us": "100000\n"}, []),  # v1: no quota
        ({"cpu.max": "garbage\n"}, []),  # unreadable: sets nothing
    ],
)
def test_a_cgroups_cpu_quota_is_read_in_either_version(tmp_path: Path, files: dict[str, str], expected: list[float]) -> None:
    """The quota written in the kernel's own two formats; a cgroup with none sets none."""
    own = tmp_path / "mount" / "a" / "b"
    own.mkdir(parents=True)
    for name, text in files.items():
        (own / name).write_text(text)
    assert cgroups._quotas_from(own, tmp_path / "mount") == expected


def test_every_quota_up_to_the_mount_counts_and_none_above_it(tmp_path: Path) -> None:
    """A container's limit is usually set on a cgroup above the process's own; the hierarchy above the mount point
    is not the process's to read."""
    top = tmp_path / "mount"
    own = top / "kubepods" / "pod" / "container"
    own.mkdir(parents=True)
    (tmp_path / "cpu.max").write_text("10000 100000\n")  # above the mount: not this hierarchy
    (top / "kubepods" / "cpu.max").write_text("300000 100000\n")
    (top / "kubepods" / "pod" / "cpu.max").write_text("120000 100000\n")
    assert sorted(cgroups._quotas_from(own, top)) == [1.2, 3.0]


@pytest.mark.needs_root(reason="makes a cgroup with a CPU quota, as docker --cpus does")
def test_the_default_slots_follow_a_cgroup_cpu_quota(tmp_path: Path) -> None:
    """A real cgroup of the kernel's with one CPU's worth of time (``docker --cpus 1``): a batch started inside it
    takes the slots of one CPU, though its affinity still shows every CPU of the machine."""
    folder, quota_files = _cpu_cgroup_with_room()
    made = folder / f"autograder-test-{os.getpid()}"
    made.mkdir()
    try:
        for name, text in quota_files.items():
            (made / name).write_text(text)
        probe = (
            "import os, sys; open(sys.argv[1] + '/cgroup.procs', 'w').write(str(os.getpid())); "
            "from autograder.apps.batch.grading import default_jobs; print(len(os.sched_getaffinity(0)), default_jobs())"
        )
        shown = subprocess.run([sys.executable, "-c", probe, str(made)], capture_output=True, text=True, check=True, cwd=REPO)
        affinity, jobs = map(int, shown.stdout.split())
        assert jobs == 3, shown.stdout
        assert affinity == len(os.sched_getaffinity(0))
    finally:
        made.rmdir()


def _cpu_cgroup_with_room() -> tuple[Path, dict[str, str]]:
    """This process's CPU cgroup folder, where a child with a quota can be made, and the files that set one CPU's quota."""
    own, mounts = cgroups._own_cgroups(), cgroups._cgroup_mounts()
    if "cpu" in own and "cpu" in mounts:
        folder = cgroups._inside(mounts["cpu"], own["cpu"])
        if folder is not None and os.access(folder, os.W_OK):
            return folder, {"cpu.cfs_quota_us": "100000", "cpu.cfs_period_us": "100000"}
    if "" in own and "cgroup2" in mounts:
        folder = cgroups._inside(mounts["cgroup2"], own[""])
        if folder is not None and "cpu" in (folder / "cgroup.subtree_control").read_text().split():
            return folder, {"cpu.max": "100000 100000"}
    pytest.skip("no writable cgroup with the cpu controller here (a read-only cgroup file system)")
