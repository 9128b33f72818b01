"""Isolation between the grader, its worker and other gradings (round 2 of the attacks).

- A root grader that cannot drop to the worker's user refuses to run student code at all.
- Nothing the worker starts outlives its grading, with or without root (the grader's reaper).
- Two gradings cannot pass answers through System V IPC.
- The per-user lock is machine-wide, as the kill at the end of a grading is.
- A grader that is not root keeps kill, daemons and writes inside on older kernels (round 3): user and PID
  namespaces where Landlock cannot scope signals, and a report of what is open where neither applies.
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    Harness,
    as_root,
    assert_clean,
    assert_scores,
    attack,
    hostile,
    new_harness,
    printed,
    wait_until,
)

from autograder.engine.runner import grade, load_problem_set
from autograder.output.results import gradescope_json
from autograder.sandbox import isolation as sandbox
from autograder.sandbox.confine import LANDLOCK_SIGNAL_SCOPING, landlock_abi
from autograder.sandbox.gate import CallGate
from autograder.sandbox.limits import Limits
from autograder.sandbox.process import Sandbox

from conftest import REPO, SOLUTION, check_results, course_config, spec_problems, total_points

needs_root = pytest.mark.needs_root(reason="switches users")


# --------------------------------------------------------------------------- 1. fail closed


@as_root
def test_a_root_grader_that_cannot_drop_root_runs_no_student_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    private_numpy = tmp_path / "site-packages" / "numpy"  # tmp_path is inside a folder of root's alone
    private_numpy.mkdir(parents=True)
    monkeypatch.setattr(sandbox, "_worker_needs", lambda: [Path(sys.executable).resolve(), private_numpy])
    mark = Path(tempfile.gettempdir()) / f"ran-as-root-{os.getpid()}"
    submission = tmp_path / SOLUTION.name
    submission.write_text(SOLUTION.read_text() + f"\nopen({str(mark)!r}, 'w').write('ran')\n")
    report = grade(CallGate.started(Sandbox(submission)), load_problem_set(REPO / "problems"), module_names=course_config().module_names)
    assert not mark.exists(), "student code ran although the grader could not drop root"
    data = gradescope_json(report)
    check_results(data, json.dumps(data).encode())
    assert data["score"] == 0
    assert "the autograder is misconfigured, so your code was not run; this is not your fault" in data["output"]
    graded = [t for t in data["tests"] if t.get("max_score")]
    assert graded and all(t["score"] == 0 for t in graded)
    assert all(t["output"].endswith(("was not run.", "was not run).")) for t in graded if "hidden" in t.get("tags", []))
    refusal = str(report.protections["student code"])
    assert "NOT RUN" in refusal and f"{private_numpy} is not readable by 'autograder-worker'" in refusal


@needs_root
def test_a_missing_worker_user_is_a_refusal_too() -> None:
    isolation = sandbox.Isolation.detect("no-such-user-here")
    assert isolation.user is None and "does not exist" in (isolation.refusal or "")
    with pytest.raises(PermissionError, match="does not exist"):
        isolation.spawn_options()  # no way to start a worker, whoever forgets to check refusal


# --------------------------------------------------------------------------- 2. nothing outlives a grade

# A daemon may not start a program (seccomp refuses execve) nor rename itself, so it sleeps in Python, marked
# where a test can see it from outside any namespace: its RLIMIT_RTTIME, the tag's digits, in /proc/<pid>/limits.
DAEMONS = """
import os, resource, sys, time
def start_daemons(count, tag):
    started = 0
    for _ in range(count):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            code = 1
            try:
                try:
                    os.setsid()  # where the sandbox allows a session of its own
                except OSError:
                    pass
                if os.fork() == 0:
                    resource.setrlimit(resource.RLIMIT_RTTIME, (int(tag.replace(".", "")),) * 2)
                    time.sleep(float(tag))
                code = 0
            finally:
                os._exit(code)
        if os.waitpid(pid, 0)[1] != 0:
            break
        started += 1
    return started
"""

RUNNER = """
import json, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from autograder.sandbox.gate import CallGate
from autograder.sandbox.limits import Limits
from autograder.sandbox.process import Sandbox
box = Sandbox(Path({submission!r}), Limits(processes={processes}))
gate = CallGate.started(box)
report = gate.imported
outcome = gate.call("start_daemons", [{count}, {tag!r}])
gate.stop()
print(json.dumps({{"fatal": report.fatal, "problems": report.problems, "kind": outcome.kind, "output": outcome.output,
                  "value": outcome.value if outcome.kind == "returned" else str(outcome.detail),
                  "protections": box.protections}}))
"""


def _run_as_nobody(tmp: Path, submission_text: str, count: int, processes: int, tag: str) -> dict[str, Any]:
    nobody = pwd.getpwnam("nobody")
    work = tmp / "nobody"
    work.mkdir(mode=0o755)
    os.chown(work, nobody.pw_uid, nobody.pw_gid)
    submission = work / "ps3.py"
    submission.write_text(submission_text)
    script = work / "run.py"
    script.write_text(RUNNER.format(repo=str(REPO), submission=str(submission), processes=processes, count=count, tag=tag))
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(work), "HOME": str(work)}
    done = subprocess.run(
        ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", "--", sys.executable, str(script)],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _sleepers(tag: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            limits = Path(f"/proc/{entry}/limits").read_bytes() if entry.isdigit() else b""
            marked = re.search(rb"^Max realtime timeout +(\d+) ", limits, flags=re.M)
            if marked and marked.group(1) == tag.replace(".", "").encode():
                state = Path(f"/proc/{entry}/stat").read_bytes().rpartition(b")")[2].split()[0]
                if state != b"Z":
                    found.append(int(entry))
        except OSError:
            pass
    return found


@needs_root
def test_a_hundred_setsid_daemons_of_an_ordinary_users_grading_are_all_killed(traversable_tmp: Path) -> None:
    tag = f"{3600 + os.getpid() % 1000}.{time.time_ns() % 10**6}"
    result = _run_as_nobody(traversable_tmp, DAEMONS, count=100, processes=400, tag=tag)
    assert result["kind"] == "returned" and result["value"] == 100, result
    assert not result["protections"]["processes"].startswith("NOT"), result["protections"]
    assert wait_until(lambda: _sleepers(tag) == []), _sleepers(tag)


@needs_root
def test_an_ordinary_users_grading_has_a_bounded_process_count(traversable_tmp: Path) -> None:
    tag = f"{3600 + os.getpid() % 1000}.{time.time_ns() % 10**6 + 1}"
    result = _run_as_nobody(traversable_tmp, DAEMONS, count=500, processes=64, tag=tag)
    assert result["kind"] == "returned" and 10 < result["value"] <= 64, result
    assert wait_until(lambda: _sleepers(tag) == []), _sleepers(tag)


@as_root
def test_daemons_of_a_root_grading_are_all_killed(harness: Harness) -> None:
    tag = f"{3600 + os.getpid() % 1000}.{time.time_ns() % 10**6 + 2}"
    harness.submit({"ps3.py": SOLUTION.read_text() + DAEMONS + f"\nprint('DAEMONS', start_daemons(30, {tag!r}))\n"})
    data = harness.run()
    assert data["score"] == total_points()
    assert _sleepers(tag) == []
    assert_clean(harness)


COMMAND_LINE = """

def command_line(markers):
    import sys

    try:
        with open("/proc/self/cmdline", "rb") as stream:
            kernels = stream.read().decode(errors="replace")
    except OSError:  # as root, the worker's /proc files are root's
        kernels = ""
    frame, held = sys._getframe().f_back, []  # not this one's own, which holds the markers
    while frame is not None:  # the frames the launcher was forked in, and what they held
        held += [repr(value) for value in frame.f_locals.values()]
        frame = frame.f_back
    seen = [*sys.orig_argv, *sys.argv, kernels, *held, *map(str, sys.path_importer_cache)]
    return sorted({marker for marker in markers if any(marker in text for text in seen)})


def fc_layer_params(d_in, d_out):
    return "COMMAND LINE: found " + repr(command_line(MARKERS))
"""


@pytest.mark.ps3  # PS3's fc_layer_params shows what the worker read
def test_the_grader_s_command_line_is_not_the_workers_to_read(harness: Harness) -> None:
    """A worker forked from the grader kept its command line in sys.orig_argv and /proc/self/cmdline: a TA's
    folders (``grade ~/class/alice/ps3.py --json ...``) told a submission where its classmates' files were (red
    team); so did the frames the launcher was forked in (argparse's objects) and the import system's listing of the
    folder the grader ran in. None of them is the launcher's now, as its environment already was not."""
    markers = ["--root", str(harness.root)]  # its own words, and where it ran: only the command line has them
    harness.submit({"ps3.py": SOLUTION.read_text() + f"\nMARKERS = {markers!r}\n" + COMMAND_LINE})
    data = harness.run()
    shown = printed(data, "fc_layer_params")
    assert "COMMAND LINE: found []" in shown, shown[:2000]


# --------------------------------------------------------------------------- 3. no IPC between gradings


@pytest.mark.ps3  # the publisher and the reader are PS3 submissions that wrap conv2d
@as_root
def test_a_shared_memory_segment_cannot_carry_answers_between_gradings(harness: Harness, tmp_path: Path) -> None:
    harness.submit({"ps3.py": hostile("sysv_ipc_publisher")})
    published = harness.run()
    assert published["score"] == total_points()
    assert "PUBLISH denied errno 1" in printed(published, "conv2d")  # EPERM from seccomp
    with new_harness() as reader:
        reader.submit({"ps3.py": hostile("sysv_ipc_reader")})
        read = reader.run()
    assert "READ denied errno 1" in printed(read, "conv2d")
    assert_scores(read, zero={"conv2d"}, imports_cleanly=False)
    assert_clean(harness)


@pytest.mark.ps3  # the publisher wraps PS3's conv2d
@needs_root
def test_an_ordinary_users_worker_cannot_use_system_v_ipc(traversable_tmp: Path) -> None:
    text = (
        SOLUTION.read_text()
        + "\n"
        + attack("sysv_ipc_publisher")
        + "\n\ndef start_daemons(count, tag):\n    print(_STATUS)\n    return count\n"
    )
    result = _run_as_nobody(traversable_tmp, text, count=0, processes=64, tag="unused")
    assert not result["fatal"] and result["problems"] == [], result
    assert "PUBLISH denied errno 1" in result["output"], result  # EPERM from seccomp: no namespace without root


@needs_root
def test_a_root_workers_reads_leave_no_access_time_for_another_grading_to_find(traversable_tmp: Path) -> None:
    """Reading a file sets its access time (relatime: when it is not newer than the file's change), and any later
    grading may stat() it: a channel between gradings. The worker sees every mount read-only, so it sets none."""
    shared = Path(os.__file__)  # a file every worker may read: the standard library's
    before = shared.stat()
    stale = before.st_mtime_ns - 86_400 * 10**9  # older than the change: the next read would update it
    submission = traversable_tmp / "reader.py"
    submission.write_text(f"def peek():\n    with open({str(shared)!r}, 'rb') as f:\n        return len(f.read(16))\n")
    submission.chmod(0o644)
    try:
        os.utime(shared, ns=(stale, before.st_mtime_ns))
        with CallGate.started(Sandbox(submission)) as gate:
            assert gate.call("peek", []).value == 16
            assert str(gate.sandbox.protections.get("mounts", "")).startswith("read-only"), gate.sandbox.protections
        assert shared.stat().st_atime_ns == stale
    finally:
        os.utime(shared, ns=(before.st_atime_ns, before.st_mtime_ns))


CPU_COUNTERS = """\
import os


def read(path):
    try:
        with open(path) as stream:
            return stream.read().strip()
    except OSError as error:
        return type(error).__name__


def counts():
    import numpy as np

    return [os.cpu_count() or 0, len(os.sched_getaffinity(0)), int(np.ones(3).sum())]
"""


def test_the_worker_reads_the_cpus_sizes_but_not_their_busy_counters(tmp_path: Path) -> None:
    """All of /sys/devices/system/cpu was readable: each core's cpuidle time showed how busy every other core
    was, and two gradings side by side passed 16 bits through it (red team round 8). The worker reads what
    libraries size their pools and caches by (online, topology, cache), and not the counters."""
    cpus = Path("/sys/devices/system/cpu")
    idle = sorted(cpus.glob("cpu[0-9]*/cpuidle/state*/time"))
    submission = tmp_path / "probe.py"
    submission.write_text(CPU_COUNTERS)
    submission.chmod(0o644)
    tmp_path.chmod(0o755)
    with CallGate.started(Sandbox(submission, Limits(call_timeout=10))) as gate:
        assert gate.call("read", [str(cpus / "online")]).value == (cpus / "online").read_text().strip()
        assert gate.call("counts", []).value[0] == os.cpu_count() and gate.call("counts", []).value[2] == 3
        topology = sorted(cpus.glob("cpu[0-9]*/topology/core_id"))
        if topology:
            assert gate.call("read", [str(topology[0])]).value == topology[0].read_text().strip()
        for counter in idle[:2] + sorted(cpus.glob("cpufreq/policy*/scaling_cur_freq"))[:1]:
            assert gate.call("read", [str(counter)]).value == "PermissionError", counter


@needs_root
def test_a_root_worker_gets_an_ipc_namespace_of_its_own() -> None:
    isolation = sandbox.Isolation.detect("autograder-worker")
    options = isolation.spawn_options()
    assert isolation.ipc and options["ipc_namespace"] and options["network_namespace"]


@needs_root
@pytest.mark.parametrize("refused", ["network", "ipc"])
def test_a_root_probe_finds_each_namespace_the_kernel_allows_whichever_it_refuses(refused: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both are tried in one throwaway thread: one the kernel refuses must not hide the other."""
    from autograder.sandbox import namespaces

    entered = namespaces.enter

    def refusing(network: bool, ipc: bool, processes: bool) -> None:
        if {"network": network, "ipc": ipc}[refused]:
            raise OSError(1, "unshare: Operation not permitted")
        entered(network, ipc, processes)

    monkeypatch.setattr(namespaces, "enter", refusing)
    found = namespaces.probe()
    assert {name: found[name] for name in ("network", "ipc")} == {"network": refused != "network", "ipc": refused != "ipc"}


@pytest.mark.needs_root(reason="the probe as root enters network and IPC namespaces")
def test_a_root_probe_enters_its_namespaces_in_a_thread_and_leaves_the_launchers_own_as_they_were(monkeypatch: pytest.MonkeyPatch) -> None:
    """No fork (a fork of the launcher costs more than the probe), and the caller stays in its namespaces."""
    from autograder.sandbox import namespaces

    def no_fork() -> int:
        raise AssertionError("the probe forked")

    monkeypatch.setattr(os, "fork", no_fork)
    own = {name: os.readlink(f"/proc/self/ns/{name}") for name in ("net", "ipc")}
    found = namespaces.probe()
    assert found["network"] and found["ipc"]
    assert {name: os.readlink(f"/proc/self/ns/{name}") for name in ("net", "ipc")} == own


# --------------------------------------------------------------------------- 4. one lock, machine-wide


def _run_with_tmpdir(harness: Harness, results: dict[str, tuple[dict[str, Any], float, float]]) -> None:
    env = dict(
        os.environ, AUTOGRADER_ROOT=str(harness.root), AUTOGRADER_PYTHON=sys.executable, TMPDIR=str(harness.workers), PYTHONPATH=str(REPO)
    )
    started = time.monotonic()
    subprocess.run(["bash", str(harness.root / "source" / "run_autograder")], env=env, capture_output=True, timeout=300, check=False)
    results[harness.base.name] = (json.loads(harness.layout.results_file.read_text()), started, time.monotonic())


def _least_called_shown_function() -> str:
    """The root assignment's function with the fewest cases among those with a visible case (whose output a
    student sees): wrapped to sleep and print its worker's pid, it keeps a grading busy without slowing it much."""
    cases = [case for problem in spec_problems() for case in problem.cases]
    shown = {case.function for case in cases if not case.hidden}
    least: str = min(sorted(shown), key=lambda function: sum(case.function == function for case in cases))
    return least


@as_root
def test_two_root_gradings_with_different_tmpdirs_do_not_kill_each_other() -> None:
    function = _least_called_shown_function()
    # Slow on its first calls only: long enough for the two gradings to overlap, short enough for a test.
    slow = (
        SOLUTION.read_text() + f"\nimport os as _os, time as _time\n_honest = {function}\n_slow_calls_left = 10\n"
        f"def {function}(*args, **kwargs):\n    global _slow_calls_left\n    if _slow_calls_left > 0:\n"
        "        _slow_calls_left -= 1\n        _time.sleep(0.3)\n    print('PID', _os.getpid())\n"
        "    return _honest(*args, **kwargs)\n"
    )
    harnesses = []
    try:
        for _ in range(2):
            made = Harness(Path(tempfile.mkdtemp(prefix="ag-attack-", dir="/tmp")))
            made.base.chmod(0o755)
            made.submit({"ps3.py": slow})
            harnesses.append(made)
        assert len({str(h.workers) for h in harnesses}) == 2
        results: dict[str, tuple[dict[str, Any], float, float]] = {}
        threads = [threading.Thread(target=_run_with_tmpdir, args=(h, results)) for h in harnesses]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for made in harnesses:
            data, _, _ = results[made.base.name]
            assert data["score"] == total_points(), data["output"][:2000]
            pids = set(re.findall(r"^PID (\d+)$", "\n".join(t["output"] for t in data["tests"]), flags=re.M))
            assert len(pids) == 1, f"the worker was restarted (killed by the other grading?): {pids}"
            assert made.leftovers() == []
    finally:
        for made in harnesses:
            made.cleanup()


@pytest.mark.ps3  # the scanning submission wraps PS3's mlp_layer_params, whose visible cases show the scan
def test_the_grader_environment_is_nowhere_in_the_workers_memory(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker is forked from the grader's launcher (zygote.py), so it starts with a copy of the grader's
    memory: the environment the grader was started with must be wiped from it, strings on the stack included."""
    token = secrets.token_hex(16)
    scanner = attack("grader_environment_in_memory").replace("_honest_mlp_layer_params = mlp_layer_params", "")
    control = subprocess.run(
        [sys.executable, "-c", scanner + "\nprint(environment_scan())"],
        capture_output=True,
        text=True,
        env=dict(os.environ, GRADER_SECRET_TOKEN=token),
        timeout=60,
        check=True,
    )
    assert f"stack:{token}" in control.stdout  # the scan finds the variable in a process that has it

    monkeypatch.setenv("GRADER_SECRET_TOKEN", token)
    harness.submit({"ps3.py": hostile("grader_environment_in_memory")})
    data = harness.run()
    assert data["score"] == total_points()
    output = printed(data)
    assert "ENV-SCAN read" in output and "found nothing" in output and "stack scan failed" not in output, output
    scanned = int(re.search(r"ENV-SCAN read (\d+) stack bytes", output).group(1))  # type: ignore[union-attr]
    assert scanned >= 4096, output  # the worker's own stack was read: "nothing" is a finding, not a scan that could not look
    assert token not in json.dumps(data)


@needs_root
def test_stopping_a_sandbox_twice_spares_the_next_gradings_worker(tmp_path: Path) -> None:
    """A finished grading stops its sandbox once in grade() and once more in its front end; by the
    second stop the worker's user may belong to the next grading, whose worker must live on."""
    submission = tmp_path / "ps3.py"
    submission.write_text("import os\ndef pid():\n    return os.getpid()\n")
    tmp_path.chmod(0o755)
    first = CallGate.started(Sandbox(submission))
    assert first.call("pid", []).kind == "returned"
    first.stop()
    with CallGate.started(Sandbox(submission)) as second:
        before = second.call("pid", []).value
        first.stop()  # the front end's stop, after the user changed hands
        after = second.call("pid", [])
        assert after.kind == "returned" and after.value == before, after.detail


@needs_root
def test_a_worker_dies_with_its_reaper_even_after_changing_user(tmp_path: Path) -> None:
    """Changing user clears PR_SET_PDEATHSIG; the worker sets it again, so a reaper killed outright takes it along."""
    submission = tmp_path / "ps3.py"
    submission.write_text("import os\ndef pid():\n    return os.getpid()\n")
    tmp_path.chmod(0o755)
    with Sandbox(submission) as box:
        worker = CallGate.started(box).call("pid", []).value
        real_uid = int(next(line for line in Path(f"/proc/{worker}/status").read_text().splitlines() if line.startswith("Uid:")).split()[1])
        assert box.process is not None and pwd.getpwuid(real_uid).pw_name == "autograder-worker"
        os.kill(box.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not _alive(worker), "the worker outlived its reaper"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except OSError:
        return False


@needs_root
def test_the_lock_folder_is_fixed_and_roots_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", "/nonexistent-tmp")
    folder = sandbox.lock_folder()
    assert folder == Path("/run/lock/autograder")
    info = folder.lstat()
    assert info.st_uid == 0 and info.st_mode & 0o777 == 0o700


# --------------------------------------------------------------------------- 5. a grader that is not root, on any kernel

# Runs the command it is given with unshare(2) refused (EPERM) for it and all it starts: a machine that lets no
# ordinary user make namespaces (kernel.unprivileged_userns_clone=0, or Ubuntu's AppArmor restriction).
WITHOUT_USER_NAMESPACES = """
import ctypes, os, platform, struct, sys
arch, unshare = {"x86_64": (0xC000003E, 272), "aarch64": (0xC00000B7, 97)}[platform.machine()]
program = [(0x20, 0, 0, 4), (0x15, 0, 3, arch), (0x20, 0, 0, 0), (0x15, 0, 1, unshare),
           (0x06, 0, 0, 0x00050000 | 1), (0x06, 0, 0, 0x7FFF0000)]
code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *line) for line in program))
class Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
libc = ctypes.CDLL(None)
assert libc.prctl(38, 1, 0, 0, 0) == 0 and libc.prctl(22, 2, ctypes.byref(Program(len(program), ctypes.addressof(code))), 0, 0) == 0
os.execv(sys.argv[1], sys.argv[1:])
"""


class TeachingAssistant:
    """A TA's account (``nobody``) with a home of its own, grading from a folder of its own."""

    def __init__(self, base: Path) -> None:
        self.user = pwd.getpwnam("nobody")
        self.home = base / "home"
        self.work = base / "work"
        for folder in (self.home, self.work):
            folder.mkdir(mode=0o755)
            os.chown(folder, self.user.pw_uid, self.user.pw_gid)
        self.bashrc = self.home / ".bashrc"
        self.bashrc.write_text("# the TA's own\n")
        os.chown(self.bashrc, self.user.pw_uid, self.user.pw_gid)

    def command(self, argv: list[str], user_namespaces: bool) -> list[str]:
        wrapped = [sys.executable, "-c", WITHOUT_USER_NAMESPACES, *argv] if not user_namespaces else argv
        return ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups", "--", *wrapped]

    def run(self, argv: list[str], user_namespaces: bool, landlock_cap: int | None) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.home), "TMPDIR": str(self.work), "PYTHONPATH": str(REPO), "LANG": "C.UTF-8"}
        if landlock_cap is not None:
            env["AUTOGRADER_LANDLOCK_MAX_ABI"] = str(landlock_cap)
        return subprocess.run(
            self.command(argv, user_namespaces), env=env, cwd=self.work, capture_output=True, text=True, timeout=300, check=False
        )

    def canary(self) -> subprocess.Popen[bytes]:
        """A process of the TA's own, as a shell or an editor would be: kill(-1) from the worker would end it."""
        return subprocess.Popen(self.command(["/bin/sleep", "600"], user_namespaces=True), env={"PATH": "/usr/bin:/bin"})


@pytest.fixture
def ta(traversable_tmp: Path) -> TeachingAssistant:
    return TeachingAssistant(traversable_tmp)


@functools.cache
def _user_namespaces_for_anyone() -> bool:
    """Whether an ordinary user (nobody) may make the worker's user and PID namespaces on this machine."""
    probe = f"import sys; sys.path.insert(0, {str(REPO)!r}); from autograder.sandbox import namespaces; print(namespaces.probe())"
    done = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return "'process': True" in done.stdout


def _needs(user_namespaces: bool, landlock_cap: int | None) -> None:
    if user_namespaces and not _user_namespaces_for_anyone():
        pytest.skip("this machine lets no ordinary user make user and PID namespaces")
    if landlock_cap is None and landlock_abi() < LANDLOCK_SIGNAL_SCOPING:
        pytest.skip(f"Landlock's signal scoping needs Linux 6.12 (this kernel's Landlock ABI: {landlock_abi()})")


NOT_ROOT_MODES = pytest.mark.parametrize(
    ("landlock_cap", "user_namespaces", "kept_in_by"),
    [
        (4, True, "in user and PID namespaces of their own"),  # Linux 6.7-6.11: Landlock without signal scoping
        (None, False, "signals to processes outside the worker's refused (Landlock)"),  # Linux 6.12+, no namespaces
    ],
    ids=["older-landlock-with-namespaces", "landlock-scoping-without-namespaces"],
)


@pytest.mark.ps3  # the attack wraps PS3's mlp_layer_params, whose visible cases show what it did
@needs_root
@NOT_ROOT_MODES
def test_a_tas_grade_keeps_kill_daemons_and_files_inside(
    ta: TeachingAssistant, landlock_cap: int | None, user_namespaces: bool, kept_in_by: str
) -> None:
    _needs(user_namespaces, landlock_cap)
    mark = 3_700_000 + secrets.randbelow(100_000)
    (ta.work / "ps3.py").write_text(hostile("older_kernel_signals_and_daemons", mark=mark, bashrc=ta.bashrc))
    canary = ta.canary()
    try:
        done = ta.run([sys.executable, "-m", "autograder", "grade", "ps3.py", "--json", "results.json"], user_namespaces, landlock_cap)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        assert canary.poll() is None, "the worker killed a process of the TA's"
    finally:
        canary.kill()
        canary.wait()
    data = json.loads((ta.work / "results.json").read_text())
    check_results(data, json.dumps(data).encode())
    assert data["score"] == total_points()
    shown = printed(data)
    assert "ESCAPE" in shown and "daemon: done" in shown and "bashrc: done" not in shown, shown
    assert ta.bashrc.read_text() == "# the TA's own\n"
    assert _sleepers(f"{mark // 1000}.{mark % 1000:03d}") == [], "the daemon outlived the grade"
    environment = "\n".join(t["output"] for t in data["tests"] if t["name"].startswith("Grading environment"))
    assert kept_in_by in environment and "weaknesses" not in environment, environment


PROBE_ISOLATION = """
import json, sys
sys.path.insert(0, {repo!r})
from autograder.sandbox.isolation import Isolation
found = Isolation.detect(None)
print(json.dumps({{"weaknesses": found.weaknesses(), "report": found.report()}}))
"""


@needs_root
def test_where_nothing_keeps_the_worker_in_the_isolation_says_so(ta: TeachingAssistant) -> None:
    """No user namespaces and Landlock older than 6.12: the worker could kill the TA's processes. The isolation
    names that weakness (``grade`` and ``batch`` refuse on it unless told to go on)."""
    (ta.work / "probe.py").write_text(PROBE_ISOLATION.format(repo=str(REPO)))
    done = ta.run([sys.executable, str(ta.work / "probe.py")], user_namespaces=False, landlock_cap=4)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    assert len(found["weaknesses"]) == 1 and "kill the grader's own processes (each pid in turn)" in found["weaknesses"][0], found
    assert found["report"]["processes"].startswith("NOT kept in"), found
    assert "Operation not permitted" in found["report"]["not available"][1], found  # the namespaces' reason


WRITES_HOME = """
import os

def write(path):
    try:
        with open(path, "a") as profile:
            profile.write("pwned")
    except OSError as error:
        return error.strerror
    return "written"
"""

WRITE_RUNNER = """
import json, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from autograder.sandbox.gate import CallGate
from autograder.sandbox.process import Sandbox
with CallGate.started(Sandbox(Path({submission!r}), worker_user=None)) as gate:
    outcome = gate.call("write", [{bashrc!r}])
box = gate.sandbox
print(json.dumps({{"value": outcome.value, "protections": box.protections}}))
"""


@needs_root
def test_without_landlock_the_namespaces_still_write_nothing(ta: TeachingAssistant) -> None:
    """A kernel with user namespaces but no Landlock (before 5.13): every file system is read-only to the worker;
    reading is open, and the isolation says so."""
    _needs(user_namespaces=True, landlock_cap=0)
    (ta.work / "ps3.py").write_text(WRITES_HOME)
    (ta.work / "run.py").write_text(WRITE_RUNNER.format(repo=str(REPO), submission=str(ta.work / "ps3.py"), bashrc=str(ta.bashrc)))
    done = ta.run([sys.executable, str(ta.work / "run.py")], user_namespaces=True, landlock_cap=0)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["value"] == "Read-only file system", result
    assert ta.bashrc.read_text() == "# the TA's own\n"
    assert "every file system read-only" in result["protections"]["files"], result
    assert ["the worker can read every file the grader's user can" in weakness for weakness in result["protections"]["weaknesses"]] == [
        True
    ]


@needs_root
def test_check_says_what_this_machine_cannot_keep_the_checked_code_from(ta: TeachingAssistant) -> None:
    """Without user namespaces or Landlock (macOS, an old Linux), ``check`` ran the file with the student's own rights
    and said nothing, though students are told it runs in the sandbox (red team). It still runs (the file is the
    student's own), and says so first; where the machine isolates it, it says nothing."""
    (ta.work / "ps3.py").write_text(SOLUTION.read_text())
    bare = ta.run([sys.executable, "-m", "autograder", "check", "ps3.py"], user_namespaces=False, landlock_cap=0)
    assert "note: this machine cannot isolate the code being checked" in bare.stderr, bare.stderr[-3000:]
    assert "check only code you trust" in bare.stderr and "Checking" in bare.stdout
    isolated = ta.run([sys.executable, "-m", "autograder", "check", "ps3.py"], user_namespaces=True, landlock_cap=None)
    assert "cannot isolate" not in isolated.stderr and "Checking" in isolated.stdout, isolated.stderr[-3000:]
