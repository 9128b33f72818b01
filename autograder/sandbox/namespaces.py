"""The kernel calls that put a worker out of the grader's reach: namespaces, a read-only view of files, no capabilities.

Used by the launcher's reapers and workers (``zygote.py``), which run these
before anything of the student's. As root, new network and IPC namespaces
only (the worker has a user of its own). Otherwise, where the kernel lets any
user make them, a user namespace that maps the grader's own user to itself,
and in it PID, network and IPC namespaces: signals and daemons stay inside the
PID namespace whatever Landlock's version. The worker then makes a mount
namespace of its own in which every file system is read-only and /proc shows
only its PID namespace, and gives up the capabilities the user namespace gave
it, so it cannot undo any of that.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from autograder.boundary import NamespaceProbe
from autograder.sandbox.confine import PR_SET_NO_NEW_PRIVS
from autograder.sandbox.libc import libc as shared_libc
from autograder.sandbox.seccomp import CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER

# mount(2)'s flags (linux/mount.h).
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
MS_NOSYMFOLLOW, MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 256, 1024, 2048, 1 << 21, 1 << 24
# The per-mount options of mountinfo that a remount must repeat (a user namespace may not clear them).
MOUNT_OPTIONS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
    "strictatime": MS_STRICTATIME,
    "nosymfollow": MS_NOSYMFOLLOW,
}
LINUX_CAPABILITY_VERSION_3 = 0x20080522  # capset's header: two 32-bit words of each capability set


class Mount(NamedTuple):  # a NamedTuple: a frozen dataclass would compile five methods at every grade's import (~0.3 ms)
    """One line of /proc/self/mountinfo."""

    root: str  # the folder of its file system it shows
    point: str  # where it is mounted
    options: str  # per-mount options (ro, nosuid, ...)
    kind: str  # the file system type
    super_options: str


def mountinfo() -> list[Mount]:
    """This process's mounts, parents before children."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        fields, _, tail = line.partition(" - ")
        parts, kind = fields.split(), tail.split()
        if len(parts) >= 6 and len(kind) >= 3:
            found.append(Mount(_unescape(parts[3]), _unescape(parts[4]), parts[5], kind[0], kind[2]))
    return found


def _unescape(text: str) -> str:
    """mountinfo's octal escapes (``\\040`` for a space) undone."""
    if "\\" not in text:
        return text
    return text.encode().decode("unicode_escape").encode("latin-1").decode(errors="surrogateescape")


def enter(network: bool, ipc: bool, processes: bool) -> None:
    """Enter new namespaces: network, IPC, and (``processes``) a user namespace with a PID namespace for the children.

    The user namespace maps the grader's user to itself, so files keep their
    owners. Raises OSError when the kernel refuses.
    """
    flags = (CLONE_NEWNET if network else 0) | (CLONE_NEWIPC if ipc else 0) | (CLONE_NEWUSER | CLONE_NEWPID if processes else 0)
    if not flags:
        return
    uid, gid = os.getuid(), os.getgid()
    _check(shared_libc().unshare(flags), "unshare")
    if processes:
        Path("/proc/self/setgroups").write_text("deny")  # required before an unprivileged gid_map
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def read_only_filesystem(own_proc: bool = True) -> list[str]:
    """In a new mount namespace: every mount read-only, and (``own_proc``) a /proc of this PID namespace; the mounts
    left writable.

    Writing stays possible only to devices such as /dev/null; and as the kernel
    updates no access time on a read-only mount, reading a file leaves no mark
    that a later grading could find with stat() (a channel between gradings
    otherwise: which files were read when). Mount points this user cannot reach
    are passed over: the worker cannot reach them either. Raises OSError when no
    mount namespace can be made.
    """
    libc = shared_libc()
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    if own_proc:  # Best effort: a container that masks parts of /proc does not allow a second, unmasked one.
        libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    writable = []
    for mount in mountinfo():
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for option in mount.options.split(","):
            flags |= MOUNT_OPTIONS.get(option, 0)
        if libc.mount(None, os.fsencode(mount.point), None, flags, None) != 0:
            error = ctypes.get_errno()
            if error not in (errno.ENOENT, errno.EACCES):
                writable.append(f"{mount.point} ({os.strerror(error)})")
    return writable


def drop_capabilities() -> None:
    """Give up every capability (those a user namespace grants its first process included), for good."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    libc = shared_libc()
    _check(libc.capset(ctypes.byref(Header(LINUX_CAPABILITY_VERSION_3, 0)), ctypes.byref((Data * 2)())), "capset")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def in_child(action: Callable[[], str]) -> tuple[bool, str]:
    """Run ``action`` in a throwaway child: whether it succeeded, and what it said (its error when it failed)."""
    reader, writer = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(reader)
            try:
                said, code = action(), 0
            except Exception as error:  # noqa: BLE001 - what failed is the answer
                said = f"{error}"
            os.write(writer, said.encode(errors="replace")[:4000])
        finally:
            os._exit(code)
    os.close(writer)
    received = b""
    while chunk := os.read(reader, 4096):
        received += chunk
    os.close(reader)
    return os.waitpid(pid, 0)[1] == 0, received.decode(errors="replace")


def probe() -> NamespaceProbe:
    """Which namespaces a worker can be given here, each tried for real: in a throwaway thread (root) or child.

    ``process`` (user and PID namespaces, and the read-only mount namespace)
    is for a grader that is not root; ``detail`` says why it is missing, or
    which mounts would stay writable.
    """
    if os.geteuid() == 0:
        _, entered = in_thread(_each_alone)
        found = entered.split()
        return {
            "network": "network" in found,
            "ipc": "ipc" in found,
            "process": False,
            "detail": "not used by root: the worker has a user of its own",
        }

    def isolate() -> str:
        _entered(network=True, ipc=True, processes=True)
        works, said = in_child(lambda: ", ".join(read_only_filesystem()))  # pid 1 of the new PID namespace
        if not works:
            raise OSError(said)
        return f"read-only except {said}" if said else ""

    works, detail = in_child(isolate)
    return {"network": works, "ipc": works, "process": works, "detail": detail}


def in_thread(action: Callable[[], str]) -> tuple[bool, str]:
    """Run ``action`` in a throwaway thread: whether it succeeded, and what it said (its error when it failed).

    Network and IPC namespaces belong to a thread, not to its process: the ones a thread enters are its own and
    end with it. So root's probe needs no fork of the launcher, which costs more than the probe itself. (A user
    namespace is refused to a thread of a process that has others: that probe stays in a child.)
    """
    said: list[tuple[bool, str]] = []

    def run() -> None:
        try:
            said.append((True, action()))
        except Exception as error:  # noqa: BLE001 - what failed is the answer
            said.append((False, f"{error}"))

    thread = threading.Thread(target=run, name="namespace probe")
    thread.start()
    thread.join()
    return said[0] if said else (False, "the probe's thread ended without an answer")


def _each_alone() -> str:
    """The names of the namespaces this thread could enter, each tried by itself (so one refused does not hide
    the other)."""
    entered = []
    for name, flags in (("network", (True, False)), ("ipc", (False, True))):
        try:
            enter(*flags, processes=False)
        except OSError:
            continue
        entered.append(name)
    return " ".join(entered)


def _entered(network: bool, ipc: bool, processes: bool) -> str:
    enter(network, ipc, processes)
    return ""


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")
