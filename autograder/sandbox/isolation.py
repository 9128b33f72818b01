"""Operating-system protections around the worker: a separate user, no network, one grading per user.

Only root can switch users and cut the network and System V IPC; Landlock and
seccomp, which any user can apply, are applied by the worker itself
(worker.py). This module decides what applies here; the launcher
(zygote.py) applies it when it starts each worker, under a reaper of its own:
a child subreaper, so nothing the worker starts, however it detaches,
outlives the grading.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import pwd
import stat
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox.zygote import launcher

DEFAULT_WORKER_USER = "autograder-worker"


@dataclass
class Isolation:
    """Operating-system protections that need root: a separate user, no network, no shared IPC.

    ``refusal`` is set when the grader is root and was given a worker user it
    cannot switch to: student code must then not run at all (never as root).
    """

    user: pwd.struct_passwd | None
    network: bool
    missing: list[str]
    ipc: bool = False
    refusal: str | None = None
    processes: int | None = None  # RLIMIT_NPROC budget per grading when there is no user of its own (not root)
    _lock: int | None = None

    @classmethod
    def detect(cls, user_name: str | None) -> Isolation:
        if os.geteuid() != 0:
            return cls(None, False, ["separate user (grader is not root)", "network namespace (grader is not root)",
                                     "IPC namespace (grader is not root; seccomp still refuses System V IPC)"])
        missing, user, refusal = [], None, None
        if user_name:
            try:
                user = pwd.getpwnam(user_name)
            except KeyError:
                refusal = f"the worker's user {user_name!r} does not exist: run setup.sh"
        else:
            missing.append("separate user (disabled)")
        unreadable = [path for path in _worker_needs() if not _usable_by(path, user)] if user else []
        if unreadable:
            refusal = (f"{unreadable[0]} is not readable by {user_name!r}; install Python and the engine's "
                       "dependencies where every user can read them")
            user = None
        if refusal:
            missing.append(f"separate user ({refusal})")
            missing.append("student code NOT RUN: a root grader never runs it as root")
        network, ipc = launcher().namespaces()
        if not network:
            missing.append("network namespace (unshare(CLONE_NEWNET) is not permitted here)")
        if not ipc:
            missing.append("IPC namespace (unshare(CLONE_NEWIPC) is not permitted here; seccomp still refuses System V IPC)")
        return cls(user, network, missing, ipc=ipc, refusal=refusal)

    def spawn_options(self) -> dict:
        """How the launcher starts this sandbox's worker (zygote.Spawn's fields).

        A refused isolation has no options: student code is not run as root,
        whoever forgets to check ``refusal``.
        """
        if self.refusal:
            raise PermissionError(self.refusal)
        budget = 0 if self.user or not self.processes else _tasks_of(os.getuid()) + self.processes
        return {"user": (self.user.pw_uid, self.user.pw_gid) if self.user else None,
                "network_namespace": self.network, "ipc_namespace": self.ipc, "process_budget": budget}

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
                raise RuntimeError(f"user {self.user.pw_name!r} is already in use by another sandbox in this process; "
                                   "give each concurrent sandbox its own worker_user")
            _CLAIMED.add(self.user.pw_name)
        folder = lock_folder()
        self._lock = os.open(folder / f"{self.user.pw_name}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)

    def release(self) -> None:
        """Kill every process of the worker's user, then let another grading have it.

        Only while this sandbox holds the user: once released, the user's
        processes may be another grading's, and a second ``stop()`` must not
        kill them.
        """
        if self._lock is None:
            return
        self.kill_everything()
        os.close(self._lock)  # closing the descriptor drops the flock
        self._lock = None
        with _CLAIMED_GUARD:
            _CLAIMED.discard(self.user.pw_name if self.user else "")

    def kill_everything(self) -> None:
        """Kill every process of the worker's user, double-forked daemons included."""
        if not self.user:
            return
        for attempt in range(200):
            if not _processes_of(self.user.pw_uid):
                return
            if attempt % 20 == 0:  # kill(-1) as the user reaches every process it owns, in one call
                launcher().kill_everything_of(self.user.pw_uid, self.user.pw_gid)
            time.sleep(0.005)

    def report(self) -> dict:
        report = {
            "separate user": self.user.pw_name if self.user else "no",
            "network": "cut (network namespace)" if self.network else "not cut by namespace",
            "System V IPC": "private (IPC namespace)" if self.ipc else "not private by namespace",
            "leftover processes": "killed by the grader's reaper (child subreaper)",
            "not available": self.missing,
        }
        if self.refusal:
            report["student code"] = f"NOT RUN: the grader is root and cannot switch to the worker's user ({self.refusal})"
        return report


def misconfigured_message(refusal: str) -> str:
    """What the student is told when a root grader refuses to run their code."""
    return ("the autograder is misconfigured, so your code was not run; this is not your fault. "
            f"Please tell the course staff (they will find the reason in the grading environment report: {refusal}).")


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


# Worker users claimed by sandboxes of this process (the flock only excludes other processes).
_CLAIMED: set[str] = set()
_CLAIMED_GUARD = threading.Lock()


def _procfs_of(uid: int, name: str) -> Iterator[tuple[int, bytes]]:
    """(pid, content of /proc/<pid>/<name>) for each process of ``uid``; processes that vanish are passed over."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            with open(f"/proc/{entry}/{name}", "rb") as handle:
                yield int(entry), handle.read()
        except OSError:
            continue


def _processes_of(uid: int) -> list[int]:
    """Live processes of ``uid``; zombies are left out, as they can no longer run anything."""
    return [pid for pid, stat in _procfs_of(uid, "stat") if stat.rpartition(b")")[2].split()[:1] != [b"Z"]]


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
    paths = [Path(sys.executable), Path(sysconfig.get_paths()["stdlib"])]
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


