"""A cgroup per worker: one bound on all the memory the worker, and everything it starts, makes the kernel hold.

RLIMIT_DATA (``limits.py``) bounds one process's heap and private mappings.
It counts neither shared memory (``MAP_SHARED``, memfd, files in /dev/shm)
nor the worker's children, each of which has a data limit of its own: four
children of 500 MB fit under a 512 MB limit. A memory cgroup counts every page
charged to its processes, however mapped, and when it is full the kernel's
OOM killer picks its victim inside it, never the grader.

Only root can make one, and only where the cgroup file system is writable:
not in an ordinary Docker container (Gradescope's), whose /sys/fs/cgroup is
read-only. There the worker's ``oom_score_adj`` of 1000 (``zygote.py``) still
makes the kernel kill student code first; this module then only reads the
container's own OOM-kill counter, to tell a student that memory ran out.

The launcher (``zygote.py``) makes a worker's cgroup before it forks the
worker's reaper, the worker moves itself in while it is still root, and the
launcher removes the cgroup once the reaper has ended. The cgroup v2 hierarchy
is used when its memory controller can be enabled below this process's own
cgroup; otherwise cgroup v1's memory (and pids) hierarchies.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import NamedTuple

from autograder.sandbox.namespaces import mountinfo

REMOVAL_SECONDS = 2.0  # how long removal waits for killed processes to leave the cgroup
WORKER_PREFIX = "autograder-worker-"  # a worker cgroup is named WORKER_PREFIX + "<launcher's pid>-<number>"
ABANDONED_SECONDS = 600.0  # a worker cgroup this old whose launcher is gone was left behind


class Unavailable(Exception):
    """No worker cgroup can be made here; the message says why."""


class Parent(NamedTuple):  # a NamedTuple: a frozen dataclass would compile five methods at every grade's import (~0.3 ms)
    """A folder to make worker cgroups in, and which of the controllers we bound (memory, pids) it carries."""

    version: int
    folder: Path
    controllers: frozenset[str]


def parents() -> list[Parent]:
    """Where this process can make worker cgroups: one folder on cgroup v2, one per controller on v1.

    Raises :class:`Unavailable` with the reason when memory cannot be bounded here.
    """
    if os.geteuid() != 0:
        raise Unavailable("only root can make cgroups for the worker")
    own = _own_cgroups()
    mounts = _cgroup_mounts()
    reasons = []
    if "" in own and "cgroup2" in mounts:
        try:
            return [_v2_parent(mounts["cgroup2"], own[""])]
        except Unavailable as why:
            reasons.append(f"cgroup v2: {why}")
    v1 = [_v1_parent(mounts, own, controller) for controller in ("memory", "pids")]
    if v1[0] is not None:
        return [parent for parent in v1 if parent is not None]
    reasons.append("cgroup v1: no writable memory hierarchy")
    raise Unavailable("; ".join(reasons))


def memory_folder() -> Path | None:
    """This process's own memory cgroup (v2 or v1), writable or not: where the kernel counts its OOM kills."""
    own, mounts = _own_cgroups(), _cgroup_mounts()
    for key, controller in (("", "cgroup2"), ("memory", "memory")):
        if key in own and controller in mounts:
            folder = _inside(mounts[controller], own[key])
            if folder is not None and (folder / ("memory.events" if key == "" else "memory.oom_control")).is_file():
                return folder
    return None


def oom_kills(folder: Path | None) -> int:
    """How many processes the kernel killed for want of memory in the cgroup ``folder`` (0 when unknown)."""
    if folder is None:
        return 0
    for name in ("memory.events", "memory.oom_control"):  # v2 (counts the cgroups below too), v1
        try:
            lines = (folder / name).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
    return 0


def cpu_quota() -> float | None:
    """How many CPUs' worth of time this process's cgroups give it (``docker --cpus``, a Kubernetes limit, systemd's
    CPUQuota): the tightest quota of its own cgroup and those above it, v2 or v1. None when none is set or readable.

    A quota leaves the CPU affinity as it was, so a batch that sized itself by the affinity alone would start a
    slot per CPU of the host and then be throttled: its hanging submissions' timers run while it waits.
    """
    own, mounts = _own_cgroups(), _cgroup_mounts()
    quotas = []
    for key, controller in (("", "cgroup2"), ("cpu", "cpu")):
        if key in own and controller in mounts:
            folder = _inside(mounts[controller], own[key])
            quotas += _quotas_from(folder, mounts[controller][0]) if folder is not None else []
    return min(quotas, default=None)


def _quotas_from(folder: Path, top: Path) -> list[float]:
    """The CPU quotas (in CPUs) set on ``folder`` and every cgroup above it up to the mount point ``top``.

    v2 writes ``cpu.max`` as "QUOTA PERIOD" ("max" for none); v1 writes ``cpu.cfs_quota_us`` (-1 for none)
    beside ``cpu.cfs_period_us``. A file that is missing or unreadable sets nothing.
    """
    quotas = []
    for place in [folder, *folder.parents]:
        try:
            if (place / "cpu.max").exists():
                quota, period = (place / "cpu.max").read_text().split()[:2]
            else:
                quota, period = ((place / name).read_text().strip() for name in ("cpu.cfs_quota_us", "cpu.cfs_period_us"))
            if quota not in ("max", "-1") and int(period) > 0:
                quotas.append(int(quota) / int(period))
        except (OSError, ValueError):
            pass
        if place == top:
            break
    return quotas


def worker_cgroup_name(launcher: int, number: int) -> str:
    """The name of the ``number``-th worker cgroup the launcher of pid ``launcher`` makes."""
    return f"{WORKER_PREFIX}{launcher}-{number}"


def remove_abandoned(places: list[Parent]) -> int:
    """Remove the empty worker cgroups of launchers that no longer run; how many were removed.

    A launcher removes each worker's cgroup once the worker's reaper has ended; one that is killed first (a
    grader stopped with SIGKILL, a container torn down halfway) leaves its cgroups behind, empty. On a TA's
    machine these add up, a few hundred a day of tests, so each new launcher removes those whose launcher is
    gone. Only empty ones: the kernel refuses to remove a cgroup that still holds a process or a cgroup, and
    nothing is killed here. A pid since reused keeps its launcher's cgroups until that process ends too, and a
    cgroup made in the last ``ABANDONED_SECONDS`` is kept whatever its name says: a launcher in another PID
    namespace that shares this parent may have just made it for a worker about to enter it.
    """
    removed, now = 0, time.time()
    for place in places:
        try:
            names = os.listdir(place.folder)
        except OSError:
            continue
        for name in names:
            launcher, _, number = name.removeprefix(WORKER_PREFIX).partition("-")
            if not name.startswith(WORKER_PREFIX) or not (launcher.isdigit() and number.isdigit()) or _running(int(launcher)):
                continue
            try:
                if now - os.stat(place.folder / name).st_mtime > ABANDONED_SECONDS:
                    os.rmdir(place.folder / name)
                    removed += 1
            except OSError:  # not empty, or removed by another launcher meanwhile
                pass
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


class WorkerCgroup:
    """One worker's cgroup (a folder per hierarchy on v1): its memory bound, no swap, a bound on its tasks."""

    def __init__(self, folders: list[Path], version: int, memory_bytes: int, tasks: int) -> None:
        self.folders = folders
        self.version = version
        self.memory_bytes = memory_bytes
        self.tasks = tasks

    @classmethod
    def create(cls, places: list[Parent], name: str, memory_bytes: int, tasks: int) -> WorkerCgroup:
        """Make the cgroup ``name`` under each parent with its limits; raises OSError (and makes nothing) when it cannot."""
        made = cls([], places[0].version, memory_bytes, tasks)
        try:
            for place in places:
                folder = place.folder / name
                folder.mkdir(mode=0o755)
                made.folders.append(folder)
                for file, value in _settings(place, memory_bytes, tasks):
                    if (folder / file).exists():
                        (folder / file).write_text(value)
        except OSError:
            made.remove()
            raise
        return made

    def enter(self) -> None:
        """Move the calling process into the cgroup; its children are born there."""
        for folder in self.folders:
            (folder / "cgroup.procs").write_text("0")

    @property
    def memory(self) -> Path:
        """The folder that holds the memory controller's files."""
        return self.folders[0]

    def describe(self) -> str:
        bounded = f"{self.memory_bytes >> 20} MB" + (
            ", no swap" if self.version == 2 or (self.memory / "memory.memsw.limit_in_bytes").exists() else ""
        )
        return (
            f"bounded: {bounded}, {self.tasks} tasks, for the worker and everything it starts, shared memory and "
            f"files in memory included (cgroup v{self.version}, {self.memory.name})"
        )

    def remove(self, patience: float = REMOVAL_SECONDS) -> bool:
        """Kill every process left in the cgroup, wait up to ``patience`` seconds for them to leave, and remove it; whether it is gone."""
        deadline = time.monotonic() + patience
        for folder in reversed(self.folders):
            while folder.exists():
                members = _members(folder)
                if not members:
                    try:
                        folder.rmdir()
                    except FileNotFoundError:
                        pass
                    except OSError:
                        if time.monotonic() > deadline:
                            return False
                        time.sleep(0.01)
                    continue
                if time.monotonic() > deadline:
                    return False
                for pid in members:
                    _kill_if_member(pid, folder)
                time.sleep(0.005)
        return True


def _settings(place: Parent, memory_bytes: int, tasks: int) -> list[tuple[str, str]]:
    if place.version == 2:
        settings = [("memory.max", str(memory_bytes)), ("memory.swap.max", "0")]
        return settings + ([("pids.max", str(tasks))] if "pids" in place.controllers else [])
    if "memory" in place.controllers:  # the memory limit first: the memory+swap limit may not be below it
        return [
            ("memory.limit_in_bytes", str(memory_bytes)),
            ("memory.memsw.limit_in_bytes", str(memory_bytes)),
            ("memory.swappiness", "0"),
        ]
    return [("pids.max", str(tasks))]


def _members(folder: Path) -> list[int]:
    try:
        return [int(pid) for pid in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _kill_if_member(pid: int, folder: Path) -> None:
    """SIGKILL ``pid`` through a pidfd, once the pidfd's process is shown to be in ``folder``: never a recycled pid's."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return  # gone already
    try:
        if any(
            line.rpartition(":")[2].rstrip("/").endswith("/" + folder.name) for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        ):
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(pidfd)


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup path per v1 controller name ("memory", "pids", ...); "" is the v2 hierarchy's."""
    found: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            found[controller] = path
    return found


def _cgroup_mounts() -> dict[str, tuple[Path, str]]:
    """(mount point, root of the mount) of the v2 hierarchy ("cgroup2") and of each v1 controller's."""
    found: dict[str, tuple[Path, str]] = {}
    for mount in mountinfo():
        if mount.kind == "cgroup2":
            found.setdefault("cgroup2", (Path(mount.point), mount.root))
        elif mount.kind == "cgroup":
            for option in mount.super_options.split(","):
                found.setdefault(option, (Path(mount.point), mount.root))
    return found


def _inside(mount: tuple[Path, str], path: str) -> Path | None:
    """The folder of cgroup ``path`` under a mount of the hierarchy that shows it from ``root`` down; None if outside it."""
    point, root = mount
    relative = os.path.relpath(path, root) if root != "/" else path.lstrip("/")
    if relative.startswith(".."):
        return None
    return point / relative if relative != "." else point


def _v2_parent(mount: tuple[Path, str], path: str) -> Parent:
    folder = _inside(mount, path)
    if folder is None or not folder.is_dir():
        raise Unavailable("this process's cgroup is not under the mounted hierarchy")
    if not os.access(folder, os.W_OK):
        raise Unavailable(f"{folder} is not writable (a read-only cgroup file system, as in most containers)")
    available = set((folder / "cgroup.controllers").read_text().split())
    if "memory" not in available:
        raise Unavailable("its memory controller is not available here (in use by cgroup v1?)")
    wanted = {"memory"} | ({"pids"} & available)
    enabled = set((folder / "cgroup.subtree_control").read_text().split())
    if not wanted <= enabled:
        try:
            (folder / "cgroup.subtree_control").write_text(" ".join(f"+{name}" for name in sorted(wanted - enabled)))
        except OSError as error:
            raise Unavailable(
                f"the memory controller cannot be enabled below {folder} ({error.strerror}: a cgroup "
                "that holds processes cannot hand controllers to cgroups below it)"
            ) from None
    return Parent(2, folder, frozenset(wanted))


def _v1_parent(mounts: dict[str, tuple[Path, str]], own: dict[str, str], controller: str) -> Parent | None:
    if controller not in mounts or controller not in own:
        return None
    folder = _inside(mounts[controller], own[controller])
    if folder is None or not folder.is_dir() or not os.access(folder, os.W_OK):
        return None
    return Parent(1, folder, frozenset([controller]))
