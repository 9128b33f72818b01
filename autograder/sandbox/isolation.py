"""Operating-system protections around the worker: a separate user, no network, one grading per user.

Only root can switch users and cut the network; Landlock and seccomp, which
any user can apply, are applied by the worker itself (worker.py).
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_WORKER_USER = "autograder-worker"


@dataclass
class Isolation:
    """Operating-system protections that need root: a separate user, no network."""

    user: pwd.struct_passwd | None
    network: bool
    missing: list[str]
    _lock: int | None = None

    @classmethod
    def detect(cls, user_name: str | None) -> Isolation:
        if os.geteuid() != 0:
            return cls(None, False, ["separate user (grader is not root)", "network namespace (grader is not root)"])
        missing, user = [], None
        if user_name:
            try:
                user = pwd.getpwnam(user_name)
            except KeyError:
                missing.append(f"separate user ({user_name!r} does not exist: run setup.sh)")
        else:
            missing.append("separate user (disabled)")
        unreadable = [path for path in _worker_needs() if not _usable_by(path, user)] if user else []
        if unreadable:
            missing.append(f"separate user ({unreadable[0]} is not readable by {user_name!r}; install Python "
                           "and the engine's dependencies where every user can read them)")
            user = None
        if user and not shutil.which("setpriv"):
            missing.append("separate user (setpriv is not installed)")
            user = None
        network = _can_unshare_network()
        if not network:
            missing.append("network namespace (unshare --net is not permitted here)")
        return cls(user, network, missing)

    def wrap(self, command: list[str]) -> list[str]:
        if self.user:
            ids = [f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups"]
            command = ["setpriv", *ids, "--", *command]
        if self.network:
            command = ["unshare", "--net", "--", *command]
        return command

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
        folder = Path(tempfile.gettempdir()) / "autograder-locks"
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o077:
            raise RuntimeError(f"{folder} must be a folder of root's alone (mode 700); remove it and retry")
        self._lock = os.open(folder / f"{self.user.pw_name}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)

    def release(self) -> None:
        """Kill every process of the worker's user, then let another grading have it."""
        self.kill_everything()
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor drops the flock
            self._lock = None
            with _CLAIMED_GUARD:
                _CLAIMED.discard(self.user.pw_name)

    def kill_everything(self) -> None:
        """Kill every process of the worker's user, double-forked daemons included."""
        if not self.user:
            return
        for attempt in range(200):
            if not _processes_of(self.user.pw_uid):
                return
            if attempt % 20 == 0:  # kill(-1) as the user reaches every process it owns, in one call
                subprocess.run(
                    ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups", "--",
                     "kill", "-KILL", "-1"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                )
            time.sleep(0.005)

    def report(self) -> dict:
        return {
            "separate user": self.user.pw_name if self.user else "no",
            "network": "cut (network namespace)" if self.network else "not cut by namespace",
            "not available": self.missing,
        }



# Worker users claimed by sandboxes of this process (the flock only excludes other processes).
_CLAIMED: set[str] = set()
_CLAIMED_GUARD = threading.Lock()


def _processes_of(uid: int) -> list[int]:
    """Live processes of ``uid``; zombies are left out, as they can no longer run anything."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            with open(f"/proc/{entry}/stat", "rb") as stat:
                state = stat.read().rpartition(b")")[2].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if state != b"Z":
            pids.append(int(entry))
    return pids


_unshare_works: bool | None = None


def _can_unshare_network() -> bool:
    global _unshare_works
    if _unshare_works is None:
        _unshare_works = bool(shutil.which("unshare")) and subprocess.run(
            ["unshare", "--net", "--", "true"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        ).returncode == 0
    return _unshare_works


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


