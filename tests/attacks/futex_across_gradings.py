# Attack: two gradings at once (a batch's two slots), one waking and one waiting on a futex in a page of a file
# both can read (NumPy's __init__.py, mapped shared). The kernel keys a shared futex in a file page by the
# file's inode and offset, so users, namespaces and Landlock domains do not keep the two apart: a wake is a
# message. With __ROLE__ "send" this grading wakes every waiter for 8 s and counts how many it woke; with
# "receive" it waits five times, 1.6 s each, and records whether each wait timed out (errno 110) or was woken.
import ctypes as _ct
import os as _fos
import time as _ftime

import numpy as _fnp

_flibc = _ct.CDLL(None, use_errno=True)
_flibc.mmap.restype = _ct.c_void_p
_flibc.mmap.argtypes = [_ct.c_void_p, _ct.c_size_t, _ct.c_int, _ct.c_int, _ct.c_int, _ct.c_long]
_flibc.syscall.restype = _ct.c_long
_FUTEX = {"x86_64": 202, "aarch64": 98}[_fos.uname().machine]


class _Timespec(_ct.Structure):
    _fields_ = [("seconds", _ct.c_long), ("nanoseconds", _ct.c_long)]


_fd = _fos.open(_fos.path.join(_fos.path.dirname(_fnp.__file__), "__init__.py"), _fos.O_RDONLY)
_page = _flibc.mmap(None, 4096, 1, 1, _fd, 0)  # PROT_READ, MAP_SHARED


def _wait(seconds):
    expected = _ct.c_int.from_address(_page).value
    timeout = _Timespec(int(seconds), int((seconds % 1) * 1e9))
    result = _flibc.syscall(_FUTEX, _ct.c_void_p(_page), 0, expected, _ct.byref(timeout), None, 0)  # FUTEX_WAIT, shared
    return _ct.get_errno() if result < 0 else 0


def _wake():
    return _flibc.syscall(_FUTEX, _ct.c_void_p(_page), 1, 1000, None, None, 0)  # FUTEX_WAKE, shared: how many woke


if "__ROLE__" == "send":
    _woken, _refusals, _started = 0, set(), _ftime.monotonic()
    while _ftime.monotonic() - _started < 8:
        _count = _wake()
        _woken += max(_count, 0)
        if _count < 0:
            _refusals.add(_ct.get_errno())
        _ftime.sleep(0.01)
    _probe("futex sender", lambda: f"woke {_woken}, refused with {sorted(_refusals)}")
else:
    _errors = [_wait(1.6) for _ in range(5)]
    _probe("futex receiver", lambda: f"errnos {_errors}")
