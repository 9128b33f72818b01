"""Operating-system protections around the worker: its own user or namespaces, no network, one grading per user.

As root (Gradescope), the worker runs as an unprivileged user of its own, in
new network and IPC namespaces, and every process of that user is killed at
the end of a grading. A grader that is not root (a TA's laptop) cannot switch
users; there the worker runs in new user, PID, network and IPC namespaces
where the kernel lets any user make them (and sees every file system
read-only), else is kept in by Landlock's signal scoping (Linux 6.12), else
is not kept in at all: ``weaknesses()`` names what is then open, and the
commands a person runs refuse unless told to go on. Landlock and seccomp,
which any user can apply, are applied by the worker itself (worker.py). This
module decides what applies here; the launcher (zygote.py) applies it when it
starts each worker, under a reaper of its own: a child subreaper, so nothing
the worker starts, however it detaches, outlives the grading.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import pwd
import signal
import stat
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from autograder.boundary import SpawnOptions
from autograder.sandbox.confine import LANDLOCK_SIGNAL_SCOPING, landlock_abi
from autograder.sandbox.zygote import available_namespaces, kill_everything_of

DEFAULT_WORKER_USER = "autograder-worker"
KILL_SECONDS = 5.0  # how long the end of a grading keeps killing the worker's user's processes before reporting survivors
# For tests that play an older kernel: the worker uses no Landlock feature newer than this ABI (0: no Landlock).
LANDLOCK_CAP_VARIABLE = "AUTOGRADER_LANDLOCK_MAX_ABI"
# RLIMIT_NPROC counts a user's tasks per user namespace from Linux 5.14; before, across the machine.
NPROC_PER_NAMESPACE = (5, 14)
NAMESPACE_TASKS = 3  # counted in the worker's user namespace besides its own: the reaper, the namespace's init, the worker


@dataclass
class Isolation:
    """Operating-system protections: a separate user (root), namespaces, Landlock's version, a process budget.

    ``refusal`` is set when the grader is root and was given a worker user it
    cannot switch to: student code must then not run at all (never as root).
    """

    user: pwd.struct_passwd | None
    network: bool
    missing: list[str]
    ipc: bool = False
    refusal: str | None = None
    processes: int | None = None  # RLIMIT_NPROC budget per grading when there is no user of its own (not root)
    process_namespace: bool = False  # user and PID namespaces (and a read-only mount namespace): not root
    landlock: int = 0  # the Landlock ABI the worker will use
    landlock_cap: int | None = None  # a test's cap on it (LANDLOCK_CAP_VARIABLE)
    namespace_detail: str = ""  # why there are no user and PID namespaces, or which mounts stay writable in them
    _lock: int | None = field(default=None, repr=False)
    # Pids of the user's that an earlier grading left and the claim could not kill (stuck in the kernel).
    left_behind: list[int] = field(default_factory=list, repr=False)

    @classmethod
    def detect(cls, user_name: str | None) -> Isolation:
        cap = _landlock_cap()
        landlock = landlock_abi() if cap is None else min(landlock_abi(), cap)
        if os.geteuid() != 0:
            found = available_namespaces()
            detail = str(found.get("detail", ""))
            if found.get("process"):
                return cls(
                    None,
                    True,
                    ["separate user (the grader is not root: user and PID namespaces instead)"],
                    ipc=True,
                    process_namespace=True,
                    landlock=landlock,
                    landlock_cap=cap,
                    namespace_detail=detail,
                )
            return cls(
                None,
                False,
                [
                    "separate user (the grader is not root)",
                    f"user and PID namespaces ({detail or 'not permitted here'})",
                    "network namespace (needs root or a user namespace)",
                    "IPC namespace (needs root or a user namespace; seccomp still refuses System V IPC)",
                ],
                landlock=landlock,
                landlock_cap=cap,
                namespace_detail=detail,
            )
        missing, user, refusal = [], None, None
        if user_name:
            try:
                user = pwd.getpwnam(user_name)
            except KeyError:
                refusal = f"the worker's user {user_name!r} does not exist: run setup.sh (on Gradescope) or `make worker-user` (here)"
        else:
            missing.append("separate user (disabled)")
        unreadable = [path for path in _worker_needs() if not _usable_by(path, user)] if user else []
        if unreadable:
            refusal = (
                f"{unreadable[0]} is not readable by {user_name!r}; install Python and the engine's "
                "dependencies where every user can read them"
            )
            user = None
        if refusal:
            missing.append(f"separate user ({refusal})")
            missing.append("student code NOT RUN: a root grader never runs it as root")
        found = available_namespaces()
        network, ipc = found.get("network") is True, found.get("ipc") is True
        if not network:
            missing.append("network namespace (unshare(CLONE_NEWNET) is not permitted here)")
        if not ipc:
            missing.append("IPC namespace (unshare(CLONE_NEWIPC) is not permitted here; seccomp still refuses System V IPC)")
        return cls(user, network, missing, ipc=ipc, refusal=refusal, landlock=landlock, landlock_cap=cap)

    def weaknesses(self) -> list[str]:
        """What a hostile submission could do here that it cannot where every protection applies; [] when nothing.

        ``grade`` and ``batch`` refuse to run when this is not empty, unless
        told to go on; a student's ``check`` of their own file does not ask.
        """
        if self.refusal:
            return []  # nothing of the student's runs at all
        found = []
        if not self.user and not self.process_namespace and self.landlock < LANDLOCK_SIGNAL_SCOPING:
            found.append(
                "the worker can kill the grader's own processes (each pid in turn) and leave processes running after "
                "the grade: the grader is not root, and neither user and PID namespaces "
                f"({self.namespace_detail or 'not permitted here'}) nor Landlock's signal scoping "
                f"(Linux 6.12; here ABI {self.landlock}) are available"
            )
        if self.landlock < 1:
            owner = f"the worker's user ({self.user.pw_name})" if self.user else "the grader's user"
            writes = "" if self.user or self.process_namespace else " and write"
            found.append(
                f"the worker can read{writes} every file {owner} can (the problems' reference solutions, unless "
                "kept from that user): the kernel has no Landlock (Linux 5.13)"
            )
        return found

    def spawn_options(self) -> SpawnOptions:
        """How the launcher starts this sandbox's worker.

        A refused isolation has no options: student code is not run as root,
        whoever forgets to check ``refusal``.
        """
        if self.refusal:
            raise PermissionError(self.refusal)
        return {
            "user": [self.user.pw_uid, self.user.pw_gid] if self.user else None,
            "network_namespace": self.network,
            "ipc_namespace": self.ipc,
            "process_namespace": self.process_namespace,
            "process_budget": self._process_budget(),
        }

    def _process_budget(self) -> int:
        """RLIMIT_NPROC for a worker with no user of its own: the tasks it may add to those already counted."""
        if self.user or not self.processes:
            return 0
        if self.process_namespace and _kernel() >= NPROC_PER_NAMESPACE:
            return NAMESPACE_TASKS + self.processes
        return _tasks_of(os.getuid()) + self.processes

    def hand_over(self, folder: Path) -> None:
        """Give the worker's user its own folder, and nothing else."""
        folder.chmod(0o700)
        if self.user:
            for path in (folder, *folder.iterdir()):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def claim(self) -> None:
        """Take the worker's user for this sandbox alone, waiting while another grading holds it.

        Ending a grading kills every process of that user, so two gradings
        sharing one user at once would kill each other's workers. (Batch
        grading gives each parallel slot a user of its own; this lock makes
        sharing safe rather than fast.)
        """
        if not self.user or self._lock is not None:
            return
        with _CLAIMED_GUARD:
            if self.user.pw_name in _CLAIMED:
                raise RuntimeError(
                    f"user {self.user.pw_name!r} is already in use by another sandbox in this process; "
                    "give each concurrent sandbox its own worker_user"
                )
            _CLAIMED.add(self.user.pw_name)
        self._lock = open_lock(f"{self.user.pw_name}.lock")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        # The lock file says whether the last grading that held the user left it clean. One that did not (killed
        # before its clean-up, or whose clean-up left a survivor) may have left processes of the user's running,
        # which would share the new worker's user: they are killed now, before it starts.
        if os.pread(self._lock, len(CLEAN), 0) != CLEAN:
            self.left_behind = self.kill_everything()
        os.ftruncate(self._lock, 0)  # held, not yet clean: until release() says otherwise

    def release(self, swept: bool = False) -> list[int]:
        """Kill every process of the worker's user, then let another grading have it; the pids that survived the kill.

        Only while this sandbox holds the user: once released, the user's
        processes may be another grading's, and a second ``stop()`` must not
        kill them. The user is let go even when some survived (a process
        stuck in the kernel): the caller reports them, and the next grading
        to claim the user kills them first. ``swept``: the worker's reaper
        ended as it should, after killing and reaping every process it had
        below it, which are all the user's started since the claim (the user
        is this sandbox's alone, leftovers were killed at the claim, and a
        child subreaper's descendants cannot leave it): the search of /proc
        (a read of every process's status, 3 ms on a machine of 90 processes)
        is not made.
        """
        if self._lock is None:
            return []
        try:
            survivors = [] if swept else self.kill_everything()
            if not survivors and not self.left_behind:
                os.pwrite(self._lock, CLEAN, 0)
            return survivors
        finally:
            os.close(self._lock)  # closing the descriptor drops the flock
            self._lock = None
            with _CLAIMED_GUARD:
                _CLAIMED.discard(self.user.pw_name if self.user else "")

    def kill_everything(self) -> list[int]:
        """Kill every process of the worker's user, double-forked daemons included; those still alive after KILL_SECONDS.

        The kill is ``kill(-1)`` as that user, from the launcher, which
        reaches every process the user owns in one call; should the launcher
        fail, each process is killed from here, through a pidfd.
        """
        if not self.user:
            return []
        deadline, next_kill = time.monotonic() + KILL_SECONDS, 0.0
        while left := _processes_of(self.user.pw_uid):
            now = time.monotonic()
            if now >= deadline:
                return left
            if now >= next_kill:
                try:
                    kill_everything_of(self.user.pw_uid, self.user.pw_gid)
                except OSError:
                    for pid in left:
                        _kill_if_owned(pid, self.user.pw_uid)
                next_kill = now + 0.1
            time.sleep(0.005)
        return []

    def report(self) -> dict[str, object]:
        report: dict[str, object] = {
            "separate user": self.user.pw_name if self.user else "no",
            "network": "cut (network namespace)" if self.network else "not cut by namespace",
            "System V IPC": "private (IPC namespace)" if self.ipc else "not private by namespace",
            "processes": self._processes_report(),
            "files": self._files_report(),
            "not available": self.missing,
        }
        if weaknesses := self.weaknesses():
            report["weaknesses"] = weaknesses
        if self.landlock_cap is not None:
            report["Landlock capped for a test"] = f"ABI {self.landlock} ({LANDLOCK_CAP_VARIABLE}={self.landlock_cap})"
        if self.refusal:
            report["student code"] = f"NOT RUN: the grader is root and cannot switch to the worker's user ({self.refusal})"
        return report

    def _processes_report(self) -> str:
        if self.user:
            return (
                f"signals reach only {self.user.pw_name}'s processes; every process of that user is killed at the end, "
                "and the worker's reaper (a child subreaper) kills all the worker started"
            )
        if self.process_namespace:
            return (
                "in user and PID namespaces of their own: kill(-1) reaches only the worker's processes, "
                "and all die with the namespace's init"
            )
        if self.landlock >= LANDLOCK_SIGNAL_SCOPING:
            return (
                "signals to processes outside the worker's refused (Landlock); the worker's reaper (a child "
                "subreaper) kills all the worker started"
            )
        return "NOT kept in: the worker can signal the grader's processes, and kill its reaper to leave processes behind"

    def _files_report(self) -> str:
        landlock = f"Landlock ABI {self.landlock}: reads the Python install and its folder, writes nothing"
        if self.process_namespace:
            writable = f" ({self.namespace_detail})" if self.namespace_detail else ""
            base = f"every file system read-only in its mount namespace{writable}"
            return f"{landlock}; {base}" if self.landlock else f"{base}; reads what the grader's user can (no Landlock)"
        if self.landlock:
            return landlock
        return f"what {self.user.pw_name} may (no Landlock)" if self.user else "NOT kept in: what the grader's user may (no Landlock)"


def misconfigured_message(refusal: str) -> str:
    """What the student is told when a root grader refuses to run their code."""
    return (
        "the autograder is misconfigured, so your code was not run; this is not your fault. "
        f"Please tell the course staff (they will find the reason in the grading environment report: {refusal})."
    )


LOCK_FOLDERS = (Path("/run/lock/autograder"), Path("/var/lock/autograder"), Path("/tmp/autograder-locks"))


def lock_folder() -> Path:
    """The one machine-wide folder of worker-user locks, whatever $TMPDIR says (root's alone, mode 700).

    The kill at the end of a grading reaches every process of the user on the
    machine, so the lock that keeps two gradings apart must be machine-wide too.
    """
    for folder in LOCK_FOLDERS:
        if not folder.parent.is_dir():
            continue
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
        except OSError:
            continue
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o077:
            raise RuntimeError(f"{folder} must be a folder of root's alone (mode 700); remove it and retry")
        return folder
    raise RuntimeError(f"no folder for the grader's locks: none of {', '.join(map(str, LOCK_FOLDERS))} can be made")


CLEAN = b"clean\n"  # what a worker user's lock file holds while no grading holds it, after one that cleaned up


def open_lock(name: str) -> int:
    """A descriptor to flock, on the lock file ``name`` in :func:`lock_folder`; OSError where that name is not a plain file.

    Never truncated, never through a link: the lock is the open file, not its content.
    """
    return os.open(lock_folder() / name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)


# Worker users claimed by sandboxes of this process (the flock only excludes other processes).
_CLAIMED: set[str] = set()
_CLAIMED_GUARD = threading.Lock()


def _procfs_of(uid: int, name: str) -> Iterator[tuple[int, bytes]]:
    """(pid, content of /proc/<pid>/<name>) for each process whose real user is ``uid``; processes that vanish are passed over.

    By the real user id in /proc/<pid>/status, not the owner of /proc/<pid>:
    that is root's for a process that changed user (it is not dumpable).
    """
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as handle:
                status = handle.read()
            if _real_uid(status) != uid:
                continue
            if name == "status":
                yield int(entry), status
                continue
            with open(f"/proc/{entry}/{name}", "rb") as handle:
                yield int(entry), handle.read()
        except OSError:
            continue


def _real_uid(status: bytes) -> int | None:
    line = next((line for line in status.splitlines() if line.startswith(b"Uid:")), b"")
    fields = line.split()
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


def _processes_of(uid: int) -> list[int]:
    """Live processes of ``uid``; zombies are left out, as they can no longer run anything."""
    return [pid for pid, stat in _procfs_of(uid, "stat") if stat.rpartition(b")")[2].split()[:1] != [b"Z"]]


def _kill_if_owned(pid: int, uid: int) -> None:
    """SIGKILL ``pid`` through a pidfd, once the pidfd's process is shown to be ``uid``'s: never a recycled pid's."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        if _real_uid(Path(f"/proc/{pid}/status").read_bytes()) == uid:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(pidfd)


def _landlock_cap() -> int | None:
    value = os.environ.get(LANDLOCK_CAP_VARIABLE)
    if value is None:
        return None
    if not value.strip().isdigit():
        raise ValueError(f"{LANDLOCK_CAP_VARIABLE}={value!r} is not a Landlock ABI number (0 for no Landlock)")
    return int(value)


def _kernel() -> tuple[int, int]:
    """This kernel's (major, minor) version."""
    numbers = os.uname().release.split("-")[0].split(".")
    try:
        return int(numbers[0]), int(numbers[1])
    except (IndexError, ValueError):
        return 0, 0


def _tasks_of(uid: int) -> int:
    """Tasks (threads included, as RLIMIT_NPROC counts them) of ``uid`` now."""
    count = 0
    for _, status in _procfs_of(uid, "status"):
        threads = next((line.split()[1] for line in status.splitlines() if line.startswith(b"Threads:")), b"1")
        count += int(threads) if threads.isdigit() else 1
    return count


def _worker_needs() -> list[Path]:
    """What the worker must be able to read: the interpreter, the standard library, NumPy.

    NumPy is located, not imported: this runs before the worker starts, and
    importing NumPy here would delay it.
    """
    numpy = importlib.util.find_spec("numpy")
    paths = [Path(sys.executable), Path(os.__file__).parent]  # the standard library
    paths += [Path(numpy.origin).parent] if numpy and numpy.origin else []
    return [path.resolve() for path in paths]


def _usable_by(path: Path, user: pwd.struct_passwd) -> bool:
    """Whether ``user`` (no supplementary groups) can reach ``path`` and read (or run) it."""

    def allowed(target: Path, bits: int) -> bool:
        info = target.stat()
        shift = 6 if info.st_uid == user.pw_uid else 3 if info.st_gid == user.pw_gid else 0
        return (info.st_mode >> shift) & bits == bits

    if not all(allowed(folder, 0o1) for folder in reversed(path.parents)):
        return False
    return allowed(path, 0o5)  # read and search a folder; read and run a file
