"""The worker's system calls: an allow-list (seccomp, default deny), applied by the worker to itself.

Worker-side code (see ``worker.py``): standard library only, and nothing
from the ``autograder`` package but the C library's handle (``libc.py``),
because it runs beside student code.

Every way two gradings can talk through the kernel is a system call: a
kernel keyring, a System V segment, a message queue, a socket bound to a
path, a memfd, an io_uring. Refusing the ones already used by an attack
leaves the next one open, so the worker may make only the calls that
computing with Python, NumPy, SciPy and PyTorch needs (ALLOWED, one group per
need, each with its reason), and every other call fails. The list was derived
by tracing real gradings (``benchmarks/trace_syscalls.py`` re-derives it) and
its numbers are checked against the kernel's headers (``tests/test_seccomp.py``).

A refused call fails with an errno; it never kills the process, so Python
raises an ordinary exception (PermissionError) and student code that tries
something unneeded loses only that. ``clone3`` fails with ENOSYS, on which
libc falls back to ``clone``, whose flags a filter can read (clone3's are
behind a pointer): a thread or a fork is allowed, a new namespace is not.

Deliberately absent:
- ``execve``/``execveat``: computing starts no programs, and for the system
  Python the folders Landlock lets the worker read and execute hold every
  program on the machine. ``subprocess.run`` raises PermissionError,
  ``os.system`` returns exit status 127, ``platform`` answers without ``uname -p``.
- sockets (``socket``, ``socketpair``, ...): a Unix socket bound to a path is
  outside the network namespace and Landlock's TCP rules. asyncio needs a
  socketpair and so does not start.
- ``prctl``, ``seccomp``, ``landlock_*``: the worker's confinement is set
  before student code runs, and nothing computing does changes it.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import struct
import sys
from typing import NamedTuple

from autograder.sandbox.confine import PR_SET_NO_NEW_PRIVS
from autograder.sandbox.libc import libc as shared_libc

# --------------------------------------------------------------------------- the allow-list

# Each group: why computing needs these calls, then each call's number on x86_64 and on aarch64. aarch64 has
# the kernel's generic table, in which the old x86 calls (open, stat, fork, pipe, poll, ...) do not exist: None.
ALLOWED: tuple[tuple[str, dict[str, tuple[int | None, int | None]]], ...] = (
    (
        "memory: the allocator, NumPy's and PyTorch's buffers, thread stacks, the libraries an import maps",
        {
            "brk": (12, 214),
            "mmap": (9, 222),
            "munmap": (11, 215),
            "mprotect": (10, 226),
            "mremap": (25, 216),
            "madvise": (28, 233),
            "mbind": (237, 235),  # PyTorch places its buffers (MPOL_PREFERRED); memory policy is the process's own
            "get_mempolicy": (239, 236),
            "set_mempolicy": (238, 237),
        },
    ),
    (
        "reading files: imports and the submission's own folder (Landlock decides which files; it allows no writes)",
        {
            "read": (0, 63),
            "pread64": (17, 67),
            "readv": (19, 65),
            "preadv": (295, 69),
            "lseek": (8, 62),
            "open": (2, None),
            "openat": (257, 56),
            "close": (3, 57),
            "close_range": (436, 436),
            "stat": (4, None),
            "lstat": (6, None),
            "fstat": (5, 80),
            "newfstatat": (262, 79),
            "statx": (332, 291),
            "statfs": (137, 43),
            "fstatfs": (138, 44),
            "getdents64": (217, 61),
            "readlink": (89, None),
            "readlinkat": (267, 78),
            "access": (21, None),
            "faccessat": (269, 48),
            "faccessat2": (439, 439),
            "getcwd": (79, 17),
            "chdir": (80, 49),
            "fchdir": (81, 50),
        },
    ),
    (
        "descriptors it already holds: the reply pipe, the captured output, pipes to its own children",
        {
            "write": (1, 64),
            "pwrite64": (18, 68),
            "writev": (20, 66),
            "pipe": (22, None),
            "pipe2": (293, 59),
            "dup": (32, 23),
            "dup2": (33, None),
            "dup3": (292, 24),
            "fcntl": (72, 25),  # descriptor flags and duplicates only (FCNTL_COMMANDS): no locks, leases or notices
            "ioctl": (16, 29),  # terminal questions only (IOCTL_REQUESTS): "is this a terminal?" on every open()
            "poll": (7, None),
            "ppoll": (271, 73),
            "select": (23, None),
            "pselect6": (270, 72),
            "epoll_create1": (291, 20),
            "epoll_ctl": (233, 21),
            "epoll_wait": (232, None),
            "epoll_pwait": (281, 22),
            "epoll_pwait2": (441, 441),
        },
    ),
    (
        "threads and futexes: BLAS, SciPy's and PyTorch's thread pools, Python's threading",
        {
            "clone": (56, 220),  # threads and forks; never a new namespace (CLONE_NAMESPACES)
            "futex": (202, 98),  # on the process's own words only (FUTEX_PRIVATE_FLAG): see FUTEX_PRIVATE_FLAG
            "set_robust_list": (273, 99),
            "set_tid_address": (218, 96),
            "rseq": (334, 293),
            "gettid": (186, 178),
            "sched_yield": (24, 124),
            "sched_getaffinity": (204, 123),  # its own only
            # Not sched_setaffinity: the filter cannot read the mask, and a worker widened its CPUs past those the
            # grader was confined to (a TA's taskset, batch's share) to spin on every core (red team).
        },
    ),
    (
        # Not setsid: with the scheduler's autogroups each new session is a CPU share of its own, so sixty
        # spinning children in sixty sessions would starve the gradings beside it (in batch) of their CPU.
        "its own processes: fork, multiprocessing, waiting for children, process groups",
        {
            "fork": (57, None),
            "vfork": (58, None),
            "wait4": (61, 260),
            "waitid": (247, 95),
            "exit": (60, 93),
            "exit_group": (231, 94),
            "setpgid": (109, 154),
            "getpgid": (121, 155),  # its own only: another process's group or session is a value its owner chose
            "getpgrp": (111, None),
            "getsid": (124, 156),
        },
    ),
    (
        "signals: Python's handlers, faulthandler, alarms, raise and kill of its own processes",
        {
            "rt_sigaction": (13, 134),
            "rt_sigprocmask": (14, 135),
            "rt_sigreturn": (15, 139),
            "rt_sigsuspend": (130, 133),
            "rt_sigpending": (127, 136),
            "rt_sigtimedwait": (128, 137),
            "sigaltstack": (131, 132),
            "restart_syscall": (219, 128),
            "kill": (62, 129),  # one process (pid >= 0), never every process at once (-1) or another group
            "tgkill": (234, 131),
            "tkill": (200, 130),
            "pause": (34, None),
            "alarm": (37, None),
            "getitimer": (36, 102),
            "setitimer": (38, 103),
        },
    ),
    (
        "time: clocks and sleeps (most clock reads go through the vDSO and never reach the filter)",
        {
            "clock_gettime": (228, 113),
            "clock_getres": (229, 114),
            "clock_nanosleep": (230, 115),
            "nanosleep": (35, 101),
            "gettimeofday": (96, 169),
            "time": (201, None),
            "times": (100, 153),
        },
    ),
    (
        "facts about itself: ids, limits, usage, the machine's name and size, random bytes",
        {
            "getpid": (39, 172),
            "getppid": (110, 173),
            "getuid": (102, 174),
            "geteuid": (107, 175),
            "getgid": (104, 176),
            "getegid": (108, 177),
            "getgroups": (115, 158),
            "getresuid": (118, 148),
            "getresgid": (120, 150),
            "uname": (63, 160),
            # Not sysinfo: its counts are the machine's (processes, free memory, load), which no namespace separates:
            # one grading forking 40 children a bit was read by another beside it, 20 ms a bit (red team).
            "getrusage": (98, 165),
            "getrlimit": (97, 163),
            "setrlimit": (160, 164),  # its own limits, which it can only lower
            "prlimit64": (302, 261),  # itself only: another process's limits are not its business
            "getrandom": (318, 278),
        },
    ),
)

# Refused with ENOSYS rather than EPERM: "this kernel has no such call" makes libc fall back to one the filter can read.
REFUSED_WITH_ENOSYS: dict[str, tuple[int | None, int | None]] = {
    "clone3": (435, 435),  # glibc's pthread_create, posix_spawn and fork fall back to clone
}

# Requests that ioctl may make (the same numbers on x86_64 and aarch64, from asm-generic/ioctls.h):
# questions about a terminal. Any other request fails with ENOTTY, as it would on a descriptor that is no terminal.
IOCTL_REQUESTS = {
    "TCGETS": 0x5401,  # isatty(): every open() of a file asks
    "TIOCGWINSZ": 0x5413,  # the terminal's size
    "FIONREAD": 0x541B,  # bytes waiting in a pipe
    "FIONBIO": 0x5421,  # non-blocking on or off
    "FIONCLEX": 0x5450,  # close-on-exec off
    "FIOCLEX": 0x5451,  # close-on-exec on
}

# Flags of clone that make a namespace (linux/sched.h); CLONE_NEWTIME cannot be given to clone, only to clone3.
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NAMESPACES = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
SIGN_BIT = 0x80000000  # of a 32-bit pid: kill(-1) is every process the user may signal, kill(-g) the group g

ARCHITECTURES = ("x86_64", "aarch64")  # the columns of ALLOWED


class ArgumentRule(NamedTuple):  # a NamedTuple: a frozen dataclass would compile five methods at every grade's import (~0.3 ms)
    """A call on the list that is allowed only when one argument passes a test; otherwise it fails with ``refusal``.

    The filter reads the argument's low 32 bits: what the kernel reads for
    the ``int`` pids, ``unsigned int`` ioctl requests and clone's flags (whose
    namespace bits are all low).
    """

    call: str
    argument: int
    refusal: int = errno.EPERM
    without_bits: int = 0  # allowed when none of these bits is set (and then the two below are not read)
    one_of: tuple[int, ...] = ()  # allowed when the argument is one of these,
    with_bits: int = 0  # or when any of these bits is set


# Commands that fcntl may run (the same numbers on x86_64 and aarch64, from asm-generic/fcntl.h and linux/fcntl.h):
# what Python and its libraries do with their own descriptors. Locks (F_SETLK, F_OFD_SETLK...) and F_GETLK would
# let two gradings signal each other through any file both can read, F_NOTIFY through any folder, F_SETLEASE too.
FCNTL_COMMANDS = {
    "F_DUPFD": 0,
    "F_GETFD": 1,
    "F_SETFD": 2,
    "F_GETFL": 3,
    "F_SETFL": 4,
    "F_DUPFD_CLOEXEC": 1030,
    "F_GETPIPE_SZ": 1032,
}

# futex (linux/futex.h). A word in a page of a file (any library both map, even one mapped privately and never
# written) is one futex to every process that maps it, whatever its user, namespaces or Landlock domain. Wakes
# there cannot all be refused: the kernel itself wakes a thread's clear-child-tid word when the thread ends, and
# that word is wherever the thread's creator pointed it. So the waiting side is what is refused: every operation
# must carry FUTEX_PRIVATE_FLAG, which keys the word by this process's own memory, and nothing of another process's
# reaches a private waiter. A shared operation fails with EAGAIN, the one answer glibc's waits take calmly: a
# pthread_join (the one shared wait glibc makes, on a word the kernel clears) re-reads the word and waits again,
# where EPERM would end the process in futex_fatal_error. futex_waitv is refused outright: its waiters' flags are
# behind a pointer.
FUTEX_PRIVATE_FLAG = 128

ARGUMENT_RULES = (
    ArgumentRule("clone", 0, without_bits=CLONE_NAMESPACES),
    ArgumentRule("futex", 1, refusal=errno.EAGAIN, with_bits=FUTEX_PRIVATE_FLAG),
    # Of another process: its group, session and CPU mask are values its owner sets, a channel between gradings.
    # The filter cannot tell the caller's own pid from another's, so only 0 ("itself") passes. sched_getaffinity
    # fails with ENOSYS, which glibc's pthread_getattr_np (asking by thread id) takes as "not supported" and goes on.
    ArgumentRule("getpgid", 0, one_of=(0,)),
    ArgumentRule("getsid", 0, one_of=(0,)),
    ArgumentRule("sched_getaffinity", 0, refusal=errno.ENOSYS, one_of=(0,)),
    ArgumentRule("kill", 0, without_bits=SIGN_BIT),
    # The clocks every process has (CLOCK_REALTIME 0 to CLOCK_TAI 11; its own CPU time is 2 and 3), not the negative
    # ids that name another process's or thread's CPU clock: they read any process's CPU time on the machine,
    # a channel between gradings side by side and a list of every process (red team).
    ArgumentRule("clock_gettime", 0, refusal=errno.EINVAL, without_bits=SIGN_BIT),
    ArgumentRule("clock_getres", 0, refusal=errno.EINVAL, without_bits=SIGN_BIT),
    ArgumentRule("clock_nanosleep", 0, refusal=errno.EINVAL, without_bits=SIGN_BIT),
    ArgumentRule("prlimit64", 0, one_of=(0,)),
    ArgumentRule("ioctl", 1, refusal=errno.ENOTTY, one_of=tuple(IOCTL_REQUESTS.values())),
    ArgumentRule("fcntl", 1, one_of=tuple(FCNTL_COMMANDS.values())),
)

# --------------------------------------------------------------------------- the kernel's side

# Audit architecture of each calling convention (linux/audit.h): the filter refuses every other one,
# such as 32-bit x86 (int 0x80) on an x86_64 kernel.
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000  # x86_64's x32 calling convention: the same call numbers with this bit set
SECCOMP_SYSCALL = {"x86_64": 317, "aarch64": 277}
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1  # every thread of the process, or none

SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000  # the low 16 bits are the errno

# struct seccomp_data: the call's number, its architecture, then six 64-bit arguments (little-endian: low word first).
OFFSET_NR = 0
OFFSET_ARCH = 4
OFFSET_ARGS = 16

# Classic BPF, as seccomp runs it (linux/bpf_common.h): each instruction is (code, jump if true, jump if false, k).
BPF_LD, BPF_JMP, BPF_RET = 0x00, 0x05, 0x06
BPF_W, BPF_ABS = 0x00, 0x20
BPF_JEQ, BPF_JGE, BPF_JSET = 0x10, 0x30, 0x40
BPF_K = 0x00
LOAD_WORD = BPF_LD | BPF_W | BPF_ABS  # accumulator = the 32-bit word of seccomp_data at offset k
JUMP_IF_EQUAL = BPF_JMP | BPF_JEQ | BPF_K
JUMP_IF_AT_LEAST = BPF_JMP | BPF_JGE | BPF_K
JUMP_IF_ANY_BIT = BPF_JMP | BPF_JSET | BPF_K
RETURN = BPF_RET | BPF_K
BPF_MAXINSNS = 4096
INSTRUCTION_BYTES = 8  # struct sock_filter: code (16 bits), jt, jf (8 each), k (32)

Instruction = tuple[int, int, int, int]


def machine() -> str:
    """This machine's architecture, as ALLOWED's columns name it (what platform.machine() says, without the
    1.5 ms its import costs every grade)."""
    return os.uname().machine


def numbers(arch: str, table: dict[str, tuple[int | None, int | None]]) -> dict[str, int]:
    """The calls of ``table`` that exist on ``arch``, with their numbers there."""
    column = ARCHITECTURES.index(arch)
    found = {}
    for name, pair in table.items():
        number = pair[column]
        if number is not None:
            found[name] = number
    return found


def allowed(arch: str) -> dict[str, int]:
    """Every call the worker may make on ``arch``, with its number."""
    return {name: number for _reason, calls in ALLOWED for name, number in numbers(arch, calls).items()}


def _refuse(code: int) -> Instruction:
    return (RETURN, 0, 0, SECCOMP_RET_ERRNO | code)


def _rule_block(rule: ArgumentRule) -> list[Instruction]:
    """Instructions that allow or refuse one call by its argument (the accumulator holds the call's number on entry)."""
    load = (LOAD_WORD, 0, 0, OFFSET_ARGS + 8 * rule.argument)
    allow = (RETURN, 0, 0, SECCOMP_RET_ALLOW)
    if rule.without_bits:
        return [load, (JUMP_IF_ANY_BIT, 1, 0, rule.without_bits), allow, _refuse(rule.refusal)]
    flagged = [(JUMP_IF_ANY_BIT, len(rule.one_of) + 1, 0, rule.with_bits)] if rule.with_bits else []  # on to ``allow``
    matches = [(JUMP_IF_EQUAL, len(rule.one_of) - index, 0, value) for index, value in enumerate(rule.one_of)]  # on to ``allow``
    return [load, *flagged, *matches, _refuse(rule.refusal), allow]


def program(arch: str) -> list[Instruction]:
    """The filter for ``arch``: its calling convention only, then each allowed call, then refusal."""
    calls = allowed(arch)
    rules = {rule.call: rule for rule in ARGUMENT_RULES}
    instructions: list[Instruction] = [
        (LOAD_WORD, 0, 0, OFFSET_ARCH),
        (JUMP_IF_EQUAL, 1, 0, AUDIT_ARCH[arch]),
        _refuse(errno.EPERM),  # another calling convention
        (LOAD_WORD, 0, 0, OFFSET_NR),
        (JUMP_IF_AT_LEAST, 0, 1, X32_SYSCALL_BIT),
        _refuse(errno.EPERM),  # an x32 number
    ]
    for name, number in sorted(calls.items(), key=lambda item: item[1]):
        block = _rule_block(rules[name]) if name in rules else [(RETURN, 0, 0, SECCOMP_RET_ALLOW)]
        instructions += [(JUMP_IF_EQUAL, 0, len(block), number), *block]
    for number in numbers(arch, REFUSED_WITH_ENOSYS).values():
        instructions += [(JUMP_IF_EQUAL, 0, 1, number), _refuse(errno.ENOSYS)]
    instructions.append(_refuse(errno.EPERM))  # everything else
    return instructions


class _SockFprog(ctypes.Structure):  # struct sock_fprog: the filter as seccomp(2) takes it
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


@functools.cache
def compiled(arch: str) -> tuple[bytes, int]:
    """The filter for ``arch`` as the kernel reads it, and the number of calls it allows.

    Built once, before the launcher forks (``zygote.prepare_for_forks``): built
    in each worker, it took a millisecond and copied pages the worker shares
    with the launcher (see libc.py).
    """
    return b"".join(struct.pack("HBBI", *instruction) for instruction in program(arch)), len(allowed(arch))


def apply() -> str:
    """Install the allow-list on this process and every thread of it; say what was done, or why it could not be."""
    arch = machine()
    if sys.platform != "linux":
        return "unavailable: seccomp needs Linux"
    if arch not in ARCHITECTURES:
        return f"unavailable: no system call table for {arch} (only {', '.join(ARCHITECTURES)})"
    packed, calls = compiled(arch)
    instructions = len(packed) // INSTRUCTION_BYTES
    if instructions > BPF_MAXINSNS:
        return f"unavailable: the filter has {instructions} instructions, more than the kernel takes"
    code = ctypes.create_string_buffer(packed, len(packed))
    fprog = _SockFprog(instructions, ctypes.addressof(code))
    libc = shared_libc()
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"unavailable: {os.strerror(ctypes.get_errno())}"
    result = libc.syscall(SECCOMP_SYSCALL[arch], SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, ctypes.byref(fprog))
    if result < 0:
        return f"unavailable: {os.strerror(ctypes.get_errno())}"
    if result > 0:  # TSYNC names a thread that could not take the filter; then no thread has it
        return f"unavailable: thread {result} could not take the filter"
    return f"applied (seccomp allow-list: {calls} calls)"
