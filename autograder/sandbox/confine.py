"""The worker's confinement: resource limits, Landlock and seccomp, applied by the worker to itself.

Worker-side code (see ``worker.py``): standard library only, and nothing
from the ``autograder`` package, because it runs beside student code.
"""

from __future__ import annotations

import os
import sys


def apply_limits(limits: dict) -> dict:
    """Lower this process's resource limits; they bind student code and its children."""
    import resource

    applied = {}
    names = {
        "data_mb": (resource.RLIMIT_DATA, 1 << 20),
        "cpu_seconds": (resource.RLIMIT_CPU, 1),
        "processes": (resource.RLIMIT_NPROC, 1),
        "file_size_mb": (resource.RLIMIT_FSIZE, 1 << 20),
        "open_files": (resource.RLIMIT_NOFILE, 1),
        "core_size": (resource.RLIMIT_CORE, 1),
    }
    for name, value in limits.items():
        if value is None or name not in names:
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
    import platform

    if sys.platform != "linux" or platform.machine() not in ("x86_64", "aarch64"):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))  # landlock_create_ruleset(VERSION)
    return max(abi, 0)


def landlock(read_paths: list, write_paths: list, max_abi: int | None = None) -> str:
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
    libc = ctypes.CDLL(None, use_errno=True)
    create, add_rule, restrict = 444, 445, 446
    read_access = (1 << 0) | (1 << 2) | (1 << 3)  # execute, read file, read dir
    all_fs = (1 << 13) - 1
    if abi >= 2:
        all_fs |= 1 << 13  # refer
    if abi >= 3:
        all_fs |= 1 << 14  # truncate
    if abi >= 5:
        all_fs |= 1 << 15  # ioctl on devices

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]

    net = 3 if abi >= 4 else 0  # bind and connect on TCP
    scoped = 3 if abi >= LANDLOCK_SIGNAL_SCOPING else 0  # abstract unix sockets, signals to outside processes
    attr = RulesetAttr(all_fs, net, scoped)
    size = ctypes.sizeof(RulesetAttr) if abi >= LANDLOCK_SIGNAL_SCOPING else (16 if abi >= 4 else 8)
    ruleset = libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"unavailable: {os.strerror(ctypes.get_errno())}"
    file_rights = (1 << 0) | (1 << 1) | (1 << 2) | ((1 << 14) if abi >= 3 else 0) | ((1 << 15) if abi >= 5 else 0)
    try:
        for paths, access in ((read_paths, read_access), (write_paths, all_fs)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                rights = access if os.path.isdir(path) else access & file_rights
                rule = PathBeneath(rights, fd)
                libc.syscall(add_rule, ruleset, 1, ctypes.byref(rule), 0)
                os.close(fd)
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS, required by restrict_self
        if libc.syscall(restrict, ruleset, 0) != 0:
            return f"unavailable: {os.strerror(ctypes.get_errno())}"
    finally:
        os.close(ruleset)
    return f"applied (Landlock ABI {abi}{', TCP blocked' if net else ''}{', signals scoped' if scoped else ''})"
