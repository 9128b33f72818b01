"""Memory that counts everything (issue 19, class 2): student code cannot make the kernel kill the grader.

Each attack (tests/attacks/memory_*.py) holds 1.5 GB in a way RLIMIT_DATA does not count: shared anonymous
memory, four children under the data limit each, memfd pages, files in memory. It is graded by the real
``python -m autograder grade`` (and ``batch``) as root inside a 768 MB memory cgroup, Gradescope's size, in two
ways:

- as on a machine where root can make cgroups: each worker gets one of its own (sandbox/cgroups.py);
- as in a Docker container (Gradescope's): the cgroup file system is read-only, so no worker cgroup can be
  made, and only the worker's oom_score_adj of 1000 makes the kernel's OOM killer take student code first.

Either way the grader survives and writes a valid result, the attacked function earns nothing (its cases say
the memory ran out, never "could not start"), and every other function keeps full marks.
"""

from __future__ import annotations

import csv
import ctypes
import errno
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ALL_FUNCTIONS, WORKER_UID, assert_scores, attack, cases_of, hostile, printed

from autograder.sandbox import cgroups, namespaces

from conftest import REPO, SOLUTION, check_results, scores_by_function, total_points

CONTAINER_BYTES = 768 << 20  # Gradescope's memory limit
WORKER_BOUND = "bounded: 640 MB"  # the default worker cgroup: data_mb 512 + 128


def _container_parents() -> list[cgroups.Parent]:
    if os.geteuid() != 0 or WORKER_UID is None:
        pytest.skip("the memory attacks run in a memory cgroup of their own: needs root and the autograder-worker user")
    try:
        return cgroups.parents()
    except cgroups.Unavailable as why:
        pytest.skip(f"no memory cgroup can be made here to play a 768 MB container: {why}")


class Container:
    """A 768 MB memory cgroup (no swap) and a world-traversable folder; commands run inside both."""

    def __init__(self) -> None:
        parents = _container_parents()
        self.cgroup = cgroups.WorkerCgroup.create(parents, f"ag-test-container-{os.getpid()}-{secrets.token_hex(4)}", CONTAINER_BYTES, 4096)
        self.base = Path(tempfile.mkdtemp(prefix="ag-memory-", dir="/tmp"))
        self.base.chmod(0o755)
        self.tmp = self.base / "tmp"  # the workers' folders: traversable by the worker's users
        self.tmp.mkdir(mode=0o711)
        self.tmp.chmod(0o711)

    def run(self, arguments: list[str], read_only_cgroups: bool) -> subprocess.CompletedProcess[str]:
        """``python -m autograder ARGUMENTS`` in the container, from a folder of its own (never the repository)."""
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "AUTOGRADER_"))}
        env.update(PYTHONPATH=str(REPO), TMPDIR=str(self.tmp))

        def inside() -> None:
            self.cgroup.enter()
            if read_only_cgroups:
                _read_only_cgroup_file_system()

        return subprocess.run(
            [sys.executable, "-m", "autograder", *arguments],
            cwd=self.base,
            env=env,
            preexec_fn=inside,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def remove(self) -> None:
        assert self.cgroup.remove(), "the container's processes did not all end"
        shutil.rmtree(self.base, ignore_errors=True)


def _read_only_cgroup_file_system() -> None:
    """In a new mount namespace, every cgroup mount read-only: the grader sees what it sees in a Docker container."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(namespaces.CLONE_NEWNS) != 0 or libc.mount(None, b"/", None, namespaces.MS_REC | namespaces.MS_PRIVATE, None) != 0:
        os._exit(97)
    for mount in namespaces.mountinfo():
        if mount.kind in ("cgroup", "cgroup2") or mount.point == "/sys/fs/cgroup":
            flags = namespaces.MS_REMOUNT | namespaces.MS_BIND | namespaces.MS_RDONLY
            for option in mount.options.split(","):
                flags |= namespaces.MOUNT_OPTIONS.get(option, 0)
            if libc.mount(None, os.fsencode(mount.point), None, flags, None) != 0:
                os._exit(98)


@pytest.fixture
def container() -> Iterator[Container]:
    made = Container()
    yield made
    made.remove()


MODES = pytest.mark.parametrize("read_only_cgroups", [False, True], ids=["worker-cgroup", "docker-like-no-cgroup"])


def _grade(container: Container, text: str, read_only_cgroups: bool) -> tuple[dict[str, Any], str]:
    submission = container.base / "ps3.py"
    submission.write_text(text)
    out = container.base / "results.json"
    done = container.run(["grade", str(submission), "--json", str(out)], read_only_cgroups)
    assert done.returncode == 0, f"the grader did not finish ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    raw = out.read_bytes()
    data = json.loads(raw)
    check_results(data, raw)
    return data, done.stdout


def _environment(data: dict[str, Any]) -> str:
    """The staff-only "Grading environment" entry: the protections in force."""
    return "\n".join(t["output"] for t in data["tests"] if t["name"].startswith("Grading environment"))


def _assert_memory_protection_reported(data: dict[str, Any], read_only_cgroups: bool) -> None:
    environment = _environment(data)
    assert "oom_score_adj 1000" in environment, environment
    if read_only_cgroups:
        assert "nothing bounds the total: no cgroup" in environment and "not writable" in environment, environment
    else:
        assert WORKER_BOUND in environment, environment


@pytest.mark.slow  # grades 1.5 GB attacks in a 768 MB container: `make test-slow`
@pytest.mark.ps3  # the attacks are PS3's solution with a hostile part: another course at the root skips them
@MODES
def test_shared_memory_beyond_the_container_kills_only_the_worker(container: Container, read_only_cgroups: bool) -> None:
    data, _ = _grade(container, hostile("memory_shared"), read_only_cgroups)
    assert_scores(data, zero={"mlp_layer_params"})
    shown = printed(data)
    assert "the process ran out of memory" in shown and "the kernel killed it" in shown, shown
    assert "could not start" not in json.dumps(data)
    _assert_memory_protection_reported(data, read_only_cgroups)


@pytest.mark.slow  # grades 1.5 GB attacks in a 768 MB container: `make test-slow`
@pytest.mark.ps3  # the attacks are PS3's solution with a hostile part: another course at the root skips them
@MODES
def test_children_each_under_the_data_limit_are_bounded_together(container: Container, read_only_cgroups: bool) -> None:
    data, _ = _grade(container, hostile("memory_fork_allocate"), read_only_cgroups)
    assert_scores(data, zero={"mlp_layer_params"})
    shown = printed(data)
    # The kernel's OOM killer takes the largest of the worker's processes: the children, each holding 400 MB.
    assert "MemoryError" in shown and "children ended with" in shown and "9" in shown, shown
    assert "could not start" not in json.dumps(data)
    _assert_memory_protection_reported(data, read_only_cgroups)


@pytest.mark.slow  # grades 1.5 GB attacks in a 768 MB container: `make test-slow`
@pytest.mark.ps3  # the attacks are PS3's solution with a hostile part: another course at the root skips them
def test_memfd_pages_are_refused(container: Container) -> None:
    data, _ = _grade(container, hostile("memory_memfd"), read_only_cgroups=True)
    assert_scores(data, zero={"mlp_layer_params"})
    assert "PermissionError" in printed(data), printed(data)  # seccomp: no memfd_create


@pytest.mark.slow  # grades 1.5 GB attacks in a 768 MB container: `make test-slow`
@pytest.mark.ps3  # the attacks are PS3's solution with a hostile part: another course at the root skips them
def test_files_in_memory_are_refused_and_nothing_is_left(container: Container) -> None:
    tag = f"ag-hoard-{secrets.token_hex(6)}"
    data, _ = _grade(container, hostile("memory_page_cache", tag=tag), read_only_cgroups=True)
    assert_scores(data, zero={"mlp_layer_params"})
    shown = printed(data)
    # Refused by Landlock (PermissionError) or, before it, by the read-only mounts a root grader's worker sees (OSError).
    assert all(re.search(rf"{folder}: (PermissionError|OSError)", shown) for folder in ("/dev/shm", "/tmp")), shown
    left = [*Path("/dev/shm").glob(f"{tag}-*"), *Path("/tmp").glob(f"{tag}-*"), *container.tmp.rglob(f"{tag}-*")]
    assert left == []


@pytest.mark.slow  # grades 1.5 GB attacks in a 768 MB container: `make test-slow`
@pytest.mark.ps3  # the attacks are PS3's solution with a hostile part: another course at the root skips them
@MODES
def test_a_batch_loses_nobody_to_a_memory_attacker(container: Container, read_only_cgroups: bool) -> None:
    export = container.base / "export"
    for name, text in (("forks", hostile("memory_fork_allocate")), ("shares", hostile("memory_shared")), ("honest", SOLUTION.read_text())):
        (export / name).mkdir(parents=True)
        (export / name / "ps3.py").write_text(text)
    out = container.base / "out"
    done = container.run(["batch", str(export), "--out", str(out), "--jobs", "2"], read_only_cgroups)
    assert done.returncode == 0, f"batch did not finish ({done.returncode}):\n{done.stderr[-3000:]}"
    with (out / "grades.csv").open(encoding="utf-8-sig", newline="") as stream:
        assert len(list(csv.DictReader(stream))) == 3
    for name in ("forks", "shares", "honest"):
        raw = (out / name / "results.json").read_bytes()
        data = json.loads(raw)
        check_results(data, raw)
        losing = {function for function, (earned, possible) in scores_by_function(data).items() if earned != possible}
        assert losing == (set() if name == "honest" else {"mlp_layer_params"}), (name, scores_by_function(data))
        assert set(scores_by_function(data)) == ALL_FUNCTIONS
        assert all(t["status"] == "failed" for t in cases_of(data, "mlp_layer_params")) or name == "honest"
    honest = json.loads((out / "honest" / "results.json").read_text())
    assert honest["score"] == total_points()


@pytest.mark.slow  # grades 1.5 GB attacks in a 768 MB container: `make test-slow`
@pytest.mark.ps3  # the attacks are PS3's solution with a hostile part: another course at the root skips them
def test_the_attacks_are_real_without_the_protections() -> None:
    """Each attack, run as a plain process with no limit but RLIMIT_DATA, holds what it claims: the protections
    above are what stops it, not a mistake in the attack (shared memory and children; the memfd attack needs
    memfd_create, which seccomp refuses, and the files need a writable folder)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to bound the probe in a memory cgroup of its own")
    parents = _container_parents()
    probe = cgroups.WorkerCgroup.create(parents, f"ag-test-probe-{os.getpid()}-{secrets.token_hex(4)}", 4 << 30, 64)
    try:
        for name in ("memory_shared", "memory_fork_allocate"):
            code = (
                f"import resource\nresource.setrlimit(resource.RLIMIT_DATA, (512 << 20, 512 << 20))\n{attack(name)}\n"
                "print(mlp_layer_params([1, 2]))\n"
            )
            done = subprocess.run(
                [sys.executable, "-c", code], preexec_fn=probe.enter, capture_output=True, text=True, timeout=120, check=False
            )
            assert done.returncode == 0 and ("1.5 GB" in done.stdout or "1.6 GB" in done.stdout), (name, done.stderr[-2000:])
    finally:
        assert probe.remove()


OOM_PROBE = """
import os

def adjustment():
    return [os.getpid(), open("/proc/self/oom_score_adj").read().strip()]

def lower(value):
    try:
        with open("/proc/self/oom_score_adj", "w") as setting:
            setting.write(str(value))
    except OSError as error:
        return os.strerror(error.errno)
    return "lowered"
"""


def test_the_worker_is_the_kernels_first_choice_and_stays_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """oom_score_adj 1000 on the worker. As root its /proc files stay root's (it is not dumpable after changing
    user), so its user cannot lower it, here even with no Landlock to keep it from /proc."""
    from autograder.sandbox.gate import CallGate
    from autograder.sandbox.process import Sandbox

    if os.geteuid() != 0 or WORKER_UID is None:
        pytest.skip("the worker's user keeps it as root; without root, read-only mounts or Landlock keep /proc")
    monkeypatch.setenv("AUTOGRADER_LANDLOCK_MAX_ABI", "0")  # /proc readable and writable as far as Landlock goes
    tmp_path.chmod(0o755)
    submission = tmp_path / "probe.py"
    submission.write_text(OOM_PROBE)
    with CallGate.started(Sandbox(submission)) as gate:
        pid, adjustment = gate.call("adjustment", []).value
        assert adjustment == "1000" and Path(f"/proc/{pid}/oom_score_adj").read_text().strip() == "1000"
        # Refused by the file's owner (root), or before that by the read-only mount the worker sees.
        refusals = {os.strerror(errno.EACCES), os.strerror(errno.EPERM), os.strerror(errno.EROFS)}
        assert {gate.call("lower", [value]).value for value in (999, 0, -1000)} <= refusals
        assert Path(f"/proc/{pid}/oom_score_adj").read_text().strip() == "1000"
        assert "Landlock capped for a test" in gate.sandbox.protections


def test_a_new_launcher_removes_the_cgroups_that_killed_launchers_left(tmp_path: Path) -> None:
    """A launcher killed before it could remove its workers' cgroups leaves them, empty: the next launcher removes
    those whose launcher is gone and that are older than a grade could be; never one with a process in it, one of a
    launcher still running, or one just made (a launcher of another PID namespace may be about to use it)."""
    parents = _container_parents()
    gone = int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True).stdout)  # a pid that has ended
    names = {
        "abandoned": cgroups.worker_cgroup_name(gone, 1),
        "busy": cgroups.worker_cgroup_name(gone, 2),
        "just made": cgroups.worker_cgroup_name(gone, 3),
        "running launcher": cgroups.worker_cgroup_name(os.getpid(), 1),
        "not a worker's": f"ag-test-other-{gone}-1",
    }
    old = 1_000_000_000  # 2001: long before any grade
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        for parent in parents:
            for role, name in names.items():
                (parent.folder / name).mkdir()
                if role == "busy":
                    (parent.folder / name / "cgroup.procs").write_text(str(sleeper.pid))
                if role != "just made":
                    os.utime(parent.folder / name, (old, old))
        tmp_path.chmod(0o755)
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "AUTOGRADER_"))}
        graded = subprocess.run(
            [sys.executable, "-m", "autograder", "grade", str(SOLUTION), "--json", str(tmp_path / "out.json")],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert graded.returncode == 0, graded.stderr
        for parent in parents:
            left = {role for role, name in names.items() if (parent.folder / name).exists()}
            assert left == {"busy", "just made", "running launcher", "not a worker's"}, parent.folder
    finally:
        sleeper.kill()
        sleeper.wait()
        for parent in parents:
            for name in names.values():
                if (parent.folder / name).exists():
                    (parent.folder / name).rmdir()
