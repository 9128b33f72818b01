"""The C library, for the system calls Python has no function for: one handle, made before the launcher forks.

Worker-side code (see ``worker.py``): standard library only.

Every ``ctypes.CDLL`` builds a class, and a function object for each name
looked up. Made in a process forked from the launcher, that writes to pages it
still shares with its parent, and the kernel copies each one: about 120 page
faults a handle, in the launcher, every reaper and every worker (which made
three). So the handle is made, and its functions looked up, once, before the
forks (``zygote.prepare_for_forks``); every process after them only uses it.
"""

from __future__ import annotations

import ctypes
import functools

FUNCTIONS = ("capset", "clearenv", "mount", "prctl", "syscall", "unshare")  # every one the sandbox calls


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library, keeping ``errno`` for ``ctypes.get_errno()``, with its :data:`FUNCTIONS` looked up."""
    handle = ctypes.CDLL(None, use_errno=True)
    for name in FUNCTIONS:
        getattr(handle, name, None)  # a libc without one fails where it is called, as before
    return handle
