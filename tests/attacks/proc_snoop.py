# Attack: read the grader's memory and secrets through /proc, ptrace it, steal its file
# descriptors, become root. Every attempt must be refused; the honest functions keep full marks.
import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
_grader = os.getppid()


def _read(path, size=4096):
    with open(path, "rb") as handle:
        return handle.read(size)


def _read_grader_memory():
    with open(f"/proc/{_grader}/mem", "rb") as memory:
        memory.seek(0x400000)
        return memory.read(64)


_probe("list /proc", lambda: os.listdir("/proc"))
_probe("grader environ", lambda: _read(f"/proc/{_grader}/environ"))
_probe("grader cmdline", lambda: _read(f"/proc/{_grader}/cmdline"))
_probe("grader maps", lambda: _read(f"/proc/{_grader}/maps"))
_probe("grader mem", _read_grader_memory)
_probe("grader cwd listing", lambda: os.listdir(f"/proc/{_grader}/cwd"))
_probe("grader open files", lambda: os.listdir(f"/proc/{_grader}/fd"))
_probe("ptrace attach", lambda: _refused(_libc.ptrace(16, _grader, None, None) + 1))  # -1 + 1 == 0: refused
_probe("pidfd_getfd", lambda: _refused(_libc.syscall(438, _refused(_libc.syscall(434, _grader, 0) + 1) - 1, 3, 0) + 1))
_probe("setuid root", lambda: os.setuid(0))
_probe("read /etc/shadow", lambda: _read("/etc/shadow"))
