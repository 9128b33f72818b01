"""The worker's confinement of itself: resource limits and Landlock (its system calls: seccomp.py).

Worker-side code (see ``worker.py``): standard library only, and nothing
from the ``autograder`` package but the message types (``boundary.py``) and
the C library's handle (``libc.py``), because it runs beside student code.
"""

from __future__ import annotations

import os
import sys

from autograder.boundary import ResourceLimits
from autograder.sandbox.libc import libc as shared_libc

# System calls and prctl options (the same numbers on x86_64 and aarch64: Landlock's are from the generic table).
LANDLOCK_CREATE_RULESET, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1  # the flag that asks for the ABI instead of making a ruleset
LANDLOCK_RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38  # required by landlock_restrict_self and by a seccomp filter without CAP_SYS_ADMIN

# Landlock's access rights (linux/landlock.h): to files and folders, by ABI, and to TCP ports and outside processes.
ACCESS_EXECUTE, ACCESS_WRITE_FILE, ACCESS_READ_FILE, ACCESS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
ACCESS_ALL_ABI_1 = (1 << 13) - 1  # the thirteen rights of ABI 1
ACCESS_REFER, ACCESS_TRUNCATE, ACCESS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3 and 5
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6
RULESET_SIZE_ABI_1, RULESET_SIZE_ABI_4 = 8, 16  # bytes of struct landlock_ruleset_attr a kernel of that ABI reads


def apply_limits(limits: ResourceLimits) -> dict[str, int | str]:
    """Lower this process's resource limits; they bind student code and its children."""
    import resource

    applied: dict[str, int | str] = {}
    names = {
        "data_mb": (resource.RLIMIT_DATA, 1 << 20),
        "cpu_seconds": (resource.RLIMIT_CPU, 1),
        "processes": (resource.RLIMIT_NPROC, 1),
        "file_size_mb": (resource.RLIMIT_FSIZE, 1 << 20),
        "open_files": (resource.RLIMIT_NOFILE, 1),
        "core_size": (resource.RLIMIT_CORE, 1),
    }
    for name, value in limits.items():
        if not isinstance(value, int) or name not in names:
            continue
        which, unit = names[name]
        try:
            resource.setrlimit(which, (value * unit, value * unit))
            applied[name] = value
        except (ValueError, OSError) as error:
            applied[name] = f"not applied: {error}"
    return applied


LANDLOCK_SIGNAL_SCOPING = 6  # the first Landlock ABI that keeps signals (and abstract Unix sockets) inside (Linux 6.12)


def landlock_abi() -> int:
    """The Landlock ABI this kernel offers: 0 when it has none (before Linux 5.13, or not enabled)."""
    import ctypes

    if sys.platform != "linux" or os.uname().machine not in ("x86_64", "aarch64"):
        return 0
    libc = shared_libc()
    abi: int = libc.syscall(LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    return max(abi, 0)


def landlock(read_paths: list[str], write_paths: list[str], max_abi: int | None = None) -> str:
    """Confine the filesystem (and TCP, from ABI 4; signals, from ABI 6) with Landlock; no root needed.

    Read access only below ``read_paths`` (the Python install), read and write
    only below ``write_paths`` (the worker's own folder); everything else,
    including the grader's problems and results, is out of reach.
    ``max_abi`` uses no Landlock feature newer than that ABI: for tests that
    play an older kernel (``AUTOGRADER_LANDLOCK_MAX_ABI``); 0 applies none.
    """
    import ctypes

    abi = landlock_abi() if max_abi is None else min(landlock_abi(), max_abi)
    if abi < 1:
        return "unavailable: kernel has no Landlock" if max_abi is None else f"unavailable: Landlock capped at ABI {max_abi} for a test"
    libc = shared_libc()
    read_access = ACCESS_EXECUTE | ACCESS_READ_FILE | ACCESS_READ_DIR
    all_fs = ACCESS_ALL_ABI_1
    if abi >= 2:
        all_fs |= ACCESS_REFER
    if abi >= 3:
        all_fs |= ACCESS_TRUNCATE
    if abi >= 5:
        all_fs |= ACCESS_IOCTL_DEV

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]

    net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= LANDLOCK_SIGNAL_SCOPING else 0
    attr = RulesetAttr(all_fs, net, scoped)
    size = ctypes.sizeof(RulesetAttr) if abi >= LANDLOCK_SIGNAL_SCOPING else (RULESET_SIZE_ABI_4 if abi >= 4 else RULESET_SIZE_ABI_1)
    ruleset: int = libc.syscall(LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"unavailable: {os.strerror(ctypes.get_errno())}"
    file_rights = (
        ACCESS_EXECUTE | ACCESS_WRITE_FILE | ACCESS_READ_FILE | (ACCESS_TRUNCATE if abi >= 3 else 0) | (ACCESS_IOCTL_DEV if abi >= 5 else 0)
    )
    try:
        for paths, access in ((read_paths, read_access), (write_paths, all_fs)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                rights = access if os.path.isdir(path) else access & file_rights
                rule = PathBeneath(rights, fd)
                libc.syscall(LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0)
                os.close(fd)
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if libc.syscall(LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
            return f"unavailable: {os.strerror(ctypes.get_errno())}"
    finally:
        os.close(ruleset)
    return f"applied (Landlock ABI {abi}{', TCP blocked' if net else ''}{', signals scoped' if scoped else ''})"
