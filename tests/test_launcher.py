"""The launcher is supervised (issue 19, class 9), and a grading's clean-up never costs its result.

The launcher (sandbox/zygote.py) forks every worker. It is checked before each use and replaced when it died or
stopped answering; workers already running do not depend on it. Whatever fails while a sandbox stops, or
survives the kill at its end, is reported as data, never raised.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import WORKER_USER, descendants, shared_tmpdir, wait_until

from autograder.engine.runner import grade, load_problem_set
from autograder.output.results import gradescope_json
from autograder.sandbox import isolation, process, zygote
from autograder.sandbox.gate import CallGate
from autograder.sandbox.process import Sandbox

from conftest import REPO, SOLUTION, course_config, graded_functions, total_points

PID = "import os\n\ndef pid():\n    return os.getpid()\n"


def _dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[0]
    except OSError:
        return True
    return state in (b"Z", b"X")


def _ends(pid: int, seconds: float = 10.0) -> bool:
    """Whether ``pid`` has ended (or is ending: a process closes its files before it is reaped) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not _dead(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return _dead(pid)


def _kill_the_launcher(how: int = signal.SIGKILL) -> int:
    pid = zygote.launcher().pid
    os.kill(pid, how)
    while how == signal.SIGKILL and not _dead(pid):
        time.sleep(0.01)
    return pid


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    tmp_path.chmod(0o755)
    path: Path = tmp_path / SOLUTION.name
    path.write_text(SOLUTION.read_text() + "\n" + PID)
    return path


def test_a_launcher_killed_between_two_gradings_is_replaced_and_both_are_graded(submission: Path) -> None:
    module_names = course_config().module_names  # the names the course's Python checks import the submission by
    first = gradescope_json(grade(CallGate.started(Sandbox(submission)), load_problem_set(REPO / "problems"), module_names=module_names))
    dead = _kill_the_launcher()
    second = gradescope_json(grade(CallGate.started(Sandbox(submission)), load_problem_set(REPO / "problems"), module_names=module_names))
    assert first["score"] == second["score"] == total_points()
    assert zygote.launcher().pid != dead


def test_a_launcher_killed_during_a_grading_costs_the_running_worker_nothing(submission: Path) -> None:
    with CallGate.started(Sandbox(submission)) as gate:
        worker = gate.call("pid", []).value
        _kill_the_launcher()
        again = gate.call("pid", [])
        assert again.kind == "returned" and again.value == worker, again.detail  # the same worker, never restarted
    with CallGate.started(Sandbox(submission)) as gate:
        assert gate.call("pid", []).kind == "returned"
    assert "clean-up" not in gate.sandbox.protections


def test_the_launcher_every_reaper_and_every_worker_run_as_batch_work(submission: Path) -> None:
    """SCHED_BATCH: a process woken under it never preempts the one running (see zygote._serve), so the grader
    is not stopped at each request it writes; whatever the worker starts inherits it."""
    with CallGate.started(Sandbox(submission)) as gate:
        assert gate.call("pid", []).kind == "returned"
        launcher = zygote.launcher().pid
        tree = descendants(launcher)
        assert len(tree) >= 2, tree  # a reaper and its worker (and, not as root, the namespace's init)
        assert {pid: os.sched_getscheduler(pid) for pid in [launcher, *tree]} == dict.fromkeys([launcher, *tree], os.SCHED_BATCH)
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the grader's own process is left as it was


def test_a_launcher_that_stops_answering_is_replaced(submission: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zygote, "ANSWER_SECONDS", 2.0)
    stuck = _kill_the_launcher(signal.SIGSTOP)
    try:
        with CallGate.started(Sandbox(submission)) as gate:
            assert gate.call("pid", []).kind == "returned"
        assert _ends(stuck), "the launcher that stopped answering was left running"
    finally:
        try:
            os.kill(stuck, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_clean_up_that_fails_is_reported_and_the_rest_of_it_still_runs(
    submission: Path, monkeypatch: pytest.MonkeyPatch, traversable_tmp: Path
) -> None:
    def refuse(folder: Path) -> None:
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setenv("TMPDIR", str(shared_tmpdir(traversable_tmp)))  # the worker folders this test cannot remove: removed with it
    monkeypatch.setattr(process, "_remove", refuse)
    box = Sandbox(submission)
    assert CallGate.started(box).call("pid", []).kind == "returned"
    reaper = box.process.pid if box.process else 0
    box.stop()  # must not raise
    assert "removing its folder failed: PermissionError" in str(box.protections["clean-up"]), box.protections
    assert _ends(reaper)  # the steps after it still ran: the worker was stopped first, the user released after
    with CallGate.started(Sandbox(submission)) as again:  # the worker's user was let go: a new sandbox of this process may have it
        assert again.call("pid", []).kind == "returned"


def test_a_clean_up_that_fails_after_a_restart_is_in_the_report(
    submission: Path, monkeypatch: pytest.MonkeyPatch, traversable_tmp: Path
) -> None:
    """Each worker has protections of its own (its hello's): a problem only the last clean-up meets, after a crash
    made a new worker, must reach the report all the same."""
    stops: list[Path] = []

    def refuse_the_last(folder: Path) -> None:
        stops.append(folder)
        if len(stops) > 1:
            raise PermissionError(13, "Permission denied", str(folder))

    crashing = submission.with_name("crashing")
    crashing.mkdir(mode=0o755)
    crashing_file = crashing / submission.name
    crashed = min(graded_functions())  # any of the course's functions: its first call ends the worker
    crashing_file.write_text(submission.read_text() + f"\n\ndef {crashed}(*args, **kwargs):\n    import os\n    os._exit(3)\n")
    monkeypatch.setenv("TMPDIR", str(shared_tmpdir(traversable_tmp)))
    monkeypatch.setattr(process, "_remove", refuse_the_last)
    report = grade(CallGate.started(Sandbox(crashing_file)), load_problem_set(REPO / "problems"), module_names=course_config().module_names)
    assert len(stops) > 1, "no worker was started again: the test tests nothing"
    assert "removing its folder failed: PermissionError" in str(report.protections.get("clean-up")), report.protections


def _as_the_worker_user(*command: str) -> subprocess.Popen[bytes]:
    """A process of the worker's user that no sandbox started: what a grading killed before its clean-up leaves."""
    user = pwd.getpwnam(WORKER_USER)
    started = subprocess.Popen(["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", *command])
    assert wait_until(lambda: started.pid in isolation._processes_of(user.pw_uid))  # until setpriv has taken the user
    return started


def _left_dirty() -> None:
    """The worker user's lock file as a grading killed before its clean-up leaves it."""
    lock = isolation.open_lock(f"{WORKER_USER}.lock")
    try:
        os.ftruncate(lock, 0)
    finally:
        os.close(lock)


@pytest.mark.needs_root(reason=f"kills every process of {WORKER_USER}")
def test_what_a_killed_grading_left_is_killed_before_the_next_worker_starts(submission: Path) -> None:
    """A grading killed before its clean-up (its reaper SIGKILLed too) may leave processes of the worker's user
    running, which would share the next worker's user and could signal it. The lock file says the last holder did
    not leave the user clean: the next claim kills them before anything of the next submission runs."""
    leftover = _as_the_worker_user("/bin/sleep", "600")
    try:
        _left_dirty()
        with CallGate.started(Sandbox(submission)) as gate:
            assert _ends(leftover.pid) or leftover.poll() is not None
            assert gate.call("pid", []).kind == "returned"
    finally:
        leftover.kill()
        leftover.wait()


@pytest.mark.needs_root(reason=f"kills every process of {WORKER_USER}")
def test_a_clean_grading_leaves_the_user_clean_without_searching_every_process(submission: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reaper kills and reaps every process below it, which are all the user's since the claim: a worker that
    ended so needs no search of /proc (3 ms of every grade on a machine of 90 processes), and the next claim none."""
    with CallGate.started(Sandbox(submission)) as gate:  # whatever the lock said before, it is clean after
        assert gate.call("pid", []).kind == "returned"
    searched: list[int] = []
    real = isolation._processes_of

    def counted(uid: int) -> list[int]:
        searched.append(uid)
        return real(uid)

    monkeypatch.setattr(isolation, "_processes_of", counted)
    with CallGate.started(Sandbox(submission)) as gate:
        pid = gate.call("pid", []).value
    assert searched == [] and _dead(pid)


@pytest.mark.needs_root(reason=f"kills every process of {WORKER_USER}")
def test_processes_that_survive_the_kill_are_reported_as_survivors(submission: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process of the worker's user that does not die (one stuck in the kernel, here one the kill does not
    reach) is named in the clean-up report, not claimed killed; and the next claim tries again."""
    monkeypatch.setattr(isolation, "KILL_SECONDS", 0.5)
    survivor = _as_the_worker_user("/bin/sleep", "600")
    try:
        _left_dirty()
        monkeypatch.setattr(isolation, "kill_everything_of", lambda uid, gid: None)  # the kill reaches nothing
        monkeypatch.setattr(isolation, "_kill_if_owned", lambda pid, uid: None)
        with CallGate.started(Sandbox(submission)) as gate:
            assert gate.call("pid", []).kind == "returned"
            gate.stop()
            said = str(gate.sandbox.protections.get("clean-up"))
        listed = re.search(r"an earlier grading left survived the kill: pids ([\d, ]+)", said)
        assert listed and str(survivor.pid) in listed[1].split(", "), said
        lock = isolation.open_lock(f"{WORKER_USER}.lock")
        try:
            assert os.pread(lock, 64, 0) != isolation.CLEAN  # not clean: the next grading to claim the user kills it
        finally:
            os.close(lock)
    finally:
        survivor.kill()
        survivor.wait()


GRADER = """
import json, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from autograder.sandbox import zygote
from autograder.sandbox.gate import CallGate
from autograder.sandbox.process import Sandbox
gate = CallGate.started(Sandbox(Path({submission!r})))
gate.call("pid", [])
print(json.dumps({{"reaper": gate.sandbox.process.pid, "launcher": zygote.launcher().pid}}), flush=True)
gate.call("hang", [])
"""


def test_a_grader_killed_with_its_launcher_leaves_no_worker(submission: Path, tmp_path: Path, traversable_tmp: Path) -> None:
    """Each reaper watches the grader itself (its end of the status pipe), not only the launcher."""
    submission.write_text(submission.read_text() + "\n\ndef hang():\n    while True:\n        pass\n")
    script = tmp_path / "grader.py"
    script.write_text(GRADER.format(repo=str(REPO), submission=str(submission)))
    # A killed grader cannot remove its worker's folder: it is made where this test removes it.
    environment = dict(os.environ, TMPDIR=str(shared_tmpdir(traversable_tmp)))
    with subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=environment) as grader:
        try:
            assert grader.stdout is not None
            started = json.loads(grader.stdout.readline())
            # By host pid: in its own PID namespace (an ordinary user's grader) the worker's getpid() is 2.
            sandboxed = [started["reaper"], *descendants(started["reaper"])]
            os.kill(started["launcher"], signal.SIGKILL)
            os.kill(grader.pid, signal.SIGKILL)
        finally:
            grader.kill()
    assert len(sandboxed) >= 2, f"no worker under the reaper: {sandboxed}"
    assert all(_ends(pid) for pid in sandboxed), f"the worker outlived its grader: {[p for p in sandboxed if not _dead(p)]}"


def test_a_process_that_never_shuts_its_launcher_down_ends_it_at_exit_without_a_warning(submission: Path, tmp_path: Path) -> None:
    """The process-wide launcher is ended at interpreter exit: its socket closed and the process waited for."""
    script = tmp_path / "grader.py"
    script.write_text(GRADER.format(repo=str(REPO), submission=str(submission)).replace('gate.call("hang", [])', "gate.stop()"))
    done = subprocess.run([sys.executable, "-X", "dev", "-W", "error", str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    launcher = json.loads(done.stdout)["launcher"]
    assert done.stderr == "", done.stderr  # no ResourceWarning (an unclosed socket, a launcher still running)
    assert _dead(launcher), "the launcher outlived the process that started it"


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.needs_root(reason="only root makes the workers' cgroups, which the launcher removes as it reaps each reaper")
def test_the_launcher_keeps_no_child_once_its_workers_are_stopped(submission: Path) -> None:
    """Each spawn forks a reaper, with a cgroup for its worker: every reaper is reaped once its worker is stopped."""
    for _ in range(2):
        with CallGate.started(Sandbox(submission)) as gate:
            assert gate.call("pid", []).kind == "returned"
            assert "bounded:" in str(gate.sandbox.protections["memory"]), gate.sandbox.protections
    launcher = zygote.launcher().pid
    assert wait_until(lambda: _children(launcher) == []), f"the launcher still has children {_children(launcher)}"
