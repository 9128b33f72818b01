"""The worker's system-call allow-list (autograder/sandbox/seccomp.py): its numbers are the kernel's, its filter
refuses every call computing does not need, and gradings still work under it.

- The table's numbers, and every constant the filter is built from, are read back from the kernel headers
  (the compiler's own view of them), for x86_64 and for aarch64 (the kernel's generic table).
- The filter is run in a small interpreter of classic BPF against any call and any arguments (Hypothesis),
  on both architectures: what it allows is exactly what the table and its argument rules say.
- In a real process on this machine, a long list of unneeded calls (keyrings, memfd, userfaultfd, io_uring,
  bpf, perf, ptrace, process_vm_*, mount, namespaces, kexec, modules, IPC, sockets, ...) each fails with an
  errno, and the process lives on.
- End to end: a keyring publisher and reader (tests/attacks/kernel_keyring_*.py) pass nothing, and
  submissions using threads, fork, a process pool or a subprocess load, with each function working or
  raising an ordinary exception.
"""

from __future__ import annotations

import errno
import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ALL_FUNCTIONS, Harness, assert_clean, assert_scores, attack, cases_of, hostile, printed
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.sandbox import confine, namespaces, seccomp

from conftest import REPO, SOLUTION, scores_by_function

# --------------------------------------------------------------------------- the kernel's headers

# What arm64's own asm/unistd.h defines before it includes the generic table (arch/arm64/include/uapi/asm/unistd.h).
AARCH64_WANTS = ["RENAMEAT", "NEW_STAT", "SET_GET_RLIMIT", "TIME32_SYSCALLS", "SYS_CLONE3", "MEMFD_SECRET"]
CONSTANT_HEADERS = [
    "linux/audit.h",
    "linux/seccomp.h",
    "linux/filter.h",
    "linux/prctl.h",
    "linux/sched.h",
    "asm-generic/ioctls.h",
    "linux/fcntl.h",
    "linux/futex.h",
]


def _macros(includes: list[str], defines: tuple[str, ...] = ()) -> dict[str, str]:
    """Every macro the compiler sees after ``includes``: name -> its replacement text."""
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to read the kernel headers (apt-get install gcc linux-libc-dev)")
    source = "".join(f"#include <{header}>\n" for header in includes)
    done = subprocess.run(
        ["gcc", "-E", "-dM", *(f"-D{name}" for name in defines), "-x", "c", "-"], input=source, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"gcc could not read {includes}: {done.stderr[-2000:]}"
    return dict(re.findall(r"^#define (\w+) (.*)$", done.stdout, flags=re.M))


def _value(macros: dict[str, str], name: str) -> int:
    """A macro's integer value: names expanded, C's integer suffixes dropped, then the arithmetic done."""
    text = macros[name]
    for _ in range(20):
        expanded = re.sub(r"\b[A-Za-z_]\w*\b", lambda word: f"({macros[word.group()]})" if word.group() in macros else word.group(), text)
        if expanded == text:
            break
        text = expanded
    text = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b", r"\1", text)
    assert re.fullmatch(r"[0-9a-fA-FxX()|&<>~+\- ]+", text), f"{name} is not plain arithmetic: {text}"
    return int(eval(text))  # only digits and operators, checked above


def _call_numbers(macros: dict[str, str]) -> dict[str, int]:
    """__NR_name -> number, aliases (__NR_fstat -> __NR3264_fstat) resolved."""
    return {name[len("__NR_") :]: _value(macros, name) for name in macros if name.startswith("__NR_")}


def kernel_numbers(arch: str) -> dict[str, int]:
    """The system call numbers of ``arch`` from the kernel headers installed here."""
    if arch == "aarch64":
        return _call_numbers(_macros(["asm-generic/unistd.h"], tuple(f"__ARCH_WANT_{want}" for want in AARCH64_WANTS)))
    if seccomp.machine() != arch:
        pytest.skip(f"the {arch} kernel headers are the compiler's own only on {arch}; this machine is {seccomp.machine()}")
    return _call_numbers(_macros(["asm/unistd.h"]))


@pytest.mark.parametrize("arch", seccomp.ARCHITECTURES)
def test_every_number_in_the_table_is_the_kernels(arch: str) -> None:
    kernel = kernel_numbers(arch)
    for table in (*(calls for _reason, calls in seccomp.ALLOWED), seccomp.REFUSED_WITH_ENOSYS):
        for name, pair in table.items():
            number = pair[seccomp.ARCHITECTURES.index(arch)]
            if number is None:
                assert name not in kernel, f"{name} exists on {arch} as {kernel[name]}: give its number"
            else:
                assert kernel.get(name) == number, f"{name} is {kernel.get(name)} on {arch}, not {number}"
    assert seccomp.SECCOMP_SYSCALL[arch] == kernel["seccomp"]


@pytest.mark.parametrize("arch", seccomp.ARCHITECTURES)
def test_the_landlock_calls_are_the_kernels(arch: str) -> None:
    kernel = kernel_numbers(arch)
    assert (kernel["landlock_create_ruleset"], kernel["landlock_add_rule"], kernel["landlock_restrict_self"]) == (
        confine.LANDLOCK_CREATE_RULESET,
        confine.LANDLOCK_ADD_RULE,
        confine.LANDLOCK_RESTRICT_SELF,
    )


# confine.py's Landlock numbers by their names in linux/landlock.h; the first six are in every kernel's header
# that has Landlock at all, the rest from the ABI that brought them (an older header lacks them).
LANDLOCK_CONSTANTS = {
    "LANDLOCK_CREATE_RULESET_VERSION": confine.LANDLOCK_CREATE_RULESET_VERSION,
    "LANDLOCK_ACCESS_FS_EXECUTE": confine.ACCESS_EXECUTE,
    "LANDLOCK_ACCESS_FS_WRITE_FILE": confine.ACCESS_WRITE_FILE,
    "LANDLOCK_ACCESS_FS_READ_FILE": confine.ACCESS_READ_FILE,
    "LANDLOCK_ACCESS_FS_READ_DIR": confine.ACCESS_READ_DIR,
    "LANDLOCK_ACCESS_FS_MAKE_SYM": (confine.ACCESS_ALL_ABI_1 + 1) >> 1,  # the last right of ABI 1
    "LANDLOCK_ACCESS_FS_REFER": confine.ACCESS_REFER,
    "LANDLOCK_ACCESS_FS_TRUNCATE": confine.ACCESS_TRUNCATE,
    "LANDLOCK_ACCESS_FS_IOCTL_DEV": confine.ACCESS_IOCTL_DEV,
    "LANDLOCK_ACCESS_NET_BIND_TCP": confine.NET_BIND_TCP,
    "LANDLOCK_ACCESS_NET_CONNECT_TCP": confine.NET_CONNECT_TCP,
    "LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET": confine.SCOPE_ABSTRACT_UNIX_SOCKET,
    "LANDLOCK_SCOPE_SIGNAL": confine.SCOPE_SIGNAL,
}


def test_the_landlock_constants_are_the_kernels() -> None:
    macros = _macros(["linux/landlock.h"])
    in_header = {name: value for name, value in LANDLOCK_CONSTANTS.items() if name in macros}
    assert list(LANDLOCK_CONSTANTS)[:6] == list(in_header)[:6]
    assert {name: _value(macros, name) for name in in_header} == in_header


def test_the_mount_and_capability_constants_of_the_namespaces_are_the_kernels() -> None:
    macros = _macros(["linux/mount.h", "linux/capability.h"])
    named = {name: getattr(namespaces, name) for name in macros if name.startswith("MS_") and hasattr(namespaces, name)}
    assert len(named) == 13  # every mount flag namespaces.py names
    named["_LINUX_CAPABILITY_VERSION_3"] = namespaces.LINUX_CAPABILITY_VERSION_3
    assert {name: _value(macros, name) for name in named} == named


def test_every_constant_of_the_filter_is_the_kernels() -> None:
    macros = _macros(CONSTANT_HEADERS)
    named = {
        "AUDIT_ARCH_X86_64": seccomp.AUDIT_ARCH["x86_64"],
        "AUDIT_ARCH_AARCH64": seccomp.AUDIT_ARCH["aarch64"],
        **{
            name: getattr(seccomp, name)
            for name in (
                "SECCOMP_RET_ALLOW",
                "SECCOMP_RET_ERRNO",
                "SECCOMP_SET_MODE_FILTER",
                "SECCOMP_FILTER_FLAG_TSYNC",
                "PR_SET_NO_NEW_PRIVS",
                "BPF_LD",
                "BPF_JMP",
                "BPF_RET",
                "BPF_W",
                "BPF_ABS",
                "BPF_JEQ",
                "BPF_JGE",
                "BPF_JSET",
                "BPF_K",
                "BPF_MAXINSNS",
                "CLONE_NEWNS",
                "CLONE_NEWCGROUP",
                "CLONE_NEWUTS",
                "CLONE_NEWIPC",
                "CLONE_NEWUSER",
                "CLONE_NEWPID",
                "CLONE_NEWNET",
                "FUTEX_PRIVATE_FLAG",
            )
        },
        **seccomp.IOCTL_REQUESTS,
        **seccomp.FCNTL_COMMANDS,
    }
    assert {name: _value(macros, name) for name in named} == named
    if seccomp.machine() == "x86_64":
        assert _value(_macros(["asm/unistd.h"]), "__X32_SYSCALL_BIT") == seccomp.X32_SYSCALL_BIT


# --------------------------------------------------------------------------- the filter, interpreted

SECCOMP_RET_ACTION = 0xFFFF0000


def run_filter(instructions: list[seccomp.Instruction], arch: int, number: int, args: tuple[int, ...]) -> int:
    """What the kernel's seccomp would return for this call: classic BPF over struct seccomp_data."""
    data = struct.pack("<IIQ6Q", number, arch, 0, *args)  # the number as the filter reads it: a 32-bit word
    accumulator, pc = 0, 0
    for _ in range(len(instructions)):  # jumps only go forward: every path ends within this many steps
        code, jump_true, jump_false, k = instructions[pc]
        if code == seccomp.LOAD_WORD:
            accumulator, pc = int.from_bytes(data[k : k + 4], "little"), pc + 1
            continue
        if code == seccomp.RETURN:
            return k
        if code == seccomp.JUMP_IF_EQUAL:
            taken = accumulator == k
        elif code == seccomp.JUMP_IF_AT_LEAST:
            taken = accumulator >= k
        elif code == seccomp.JUMP_IF_ANY_BIT:
            taken = bool(accumulator & k)
        else:
            raise AssertionError(f"an instruction this interpreter does not know: {code:#x}")
        pc += 1 + (jump_true if taken else jump_false)
    raise AssertionError("the filter ran past its end")


def refused(code: int) -> int:
    return seccomp.SECCOMP_RET_ERRNO | code


def expected(arch: str, number: int, args: tuple[int, ...]) -> int:
    """What the table says of one call: allowed, refused by an argument rule, refused with ENOSYS, or refused."""
    names = {value: name for name, value in seccomp.allowed(arch).items()}
    if number in names:
        rule = next((rule for rule in seccomp.ARGUMENT_RULES if rule.call == names[number]), None)
        if rule is None:
            return seccomp.SECCOMP_RET_ALLOW
        low = args[rule.argument] & 0xFFFFFFFF
        passes = not low & rule.without_bits if rule.without_bits else low in rule.one_of or bool(low & rule.with_bits)
        return seccomp.SECCOMP_RET_ALLOW if passes else refused(rule.refusal)
    if number in seccomp.numbers(arch, seccomp.REFUSED_WITH_ENOSYS).values():
        return refused(errno.ENOSYS)
    return refused(errno.EPERM)


ARGUMENT = st.one_of(
    st.integers(0, 2**64 - 1), st.sampled_from([0, 1, 2**32 - 1, 2**64 - 1, seccomp.CLONE_NEWUSER | 17, 0x5401, 0x5412, seccomp.SIGN_BIT])
)


@st.composite
def calls(draw: st.DrawFn) -> tuple[str, int, tuple[int, ...]]:
    arch = draw(st.sampled_from(seccomp.ARCHITECTURES))
    known = sorted(seccomp.allowed(arch).values())
    number = draw(st.one_of(st.sampled_from(known), st.integers(0, 1024), st.integers(0, 2**32 - 1)))
    return arch, number, tuple(draw(st.lists(ARGUMENT, min_size=6, max_size=6)))


@settings(max_examples=400, deadline=None)
@given(calls())
def test_the_filter_does_what_the_table_says_for_any_call(call: tuple[str, int, tuple[int, ...]]) -> None:
    arch, number, args = call
    verdict = run_filter(seccomp.program(arch), seccomp.AUDIT_ARCH[arch], number, args)
    assert verdict == expected(arch, number, args)
    assert verdict & SECCOMP_RET_ACTION in (seccomp.SECCOMP_RET_ALLOW, seccomp.SECCOMP_RET_ERRNO)  # never a kill


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(seccomp.ARCHITECTURES), st.integers(0, 2**32 - 1), st.integers(0, 1024))
def test_another_calling_convention_or_an_x32_number_is_always_refused(arch: str, audit_arch: int, number: int) -> None:
    program = seccomp.program(arch)
    if audit_arch != seccomp.AUDIT_ARCH[arch]:
        assert run_filter(program, audit_arch, number, (0,) * 6) == refused(errno.EPERM)
    assert run_filter(program, seccomp.AUDIT_ARCH[arch], number | seccomp.X32_SYSCALL_BIT, (0,) * 6) == refused(errno.EPERM)


def test_each_argument_rule_names_a_call_on_the_list() -> None:
    for arch in seccomp.ARCHITECTURES:
        assert {rule.call for rule in seccomp.ARGUMENT_RULES} <= set(seccomp.allowed(arch))
        assert len(seccomp.program(arch)) <= seccomp.BPF_MAXINSNS


# --------------------------------------------------------------------------- refused in a real process

# Calls computing never needs, each with arguments that are harmless even if the call went through
# (NULL pointers, descriptor -1, invalid flags or keys that do not exist): this test may run as root.
UNNEEDED: dict[str, tuple[int, ...]] = {
    "sysinfo": (0,),  # the machine's process count, free memory and load: a channel between gradings side by side
    "sched_setaffinity": (0, 0, 0),  # its CPUs, past those the grader was given
    "add_key": (0, 0, 0, 0, 0),
    "futex_waitv": (0, 0, 0, 0, 0),  # its waiters' flags are behind a pointer: a shared wait the filter cannot see
    "request_key": (0, 0, 0, 0),
    "keyctl": (0x7FFF, 0, 0, 0, 0),
    "memfd_create": (0, 0),
    "memfd_secret": (0xFFFF,),
    "userfaultfd": (0xFFFFFFFF,),
    "io_uring_setup": (0, 0),
    "io_uring_enter": (2**32 - 1, 0, 0, 0, 0, 0),
    "io_uring_register": (2**32 - 1, 0, 0, 0),
    "bpf": (0x7FFF, 0, 0),
    "perf_event_open": (0, 0, 2**32 - 1, 2**32 - 1, 0),
    "ptrace": (0x7FFF, 0, 0, 0),
    "process_vm_readv": (0, 0, 0, 0, 0, 1),
    "process_vm_writev": (0, 0, 0, 0, 0, 1),
    "kcmp": (2**32 - 1, 2**32 - 1, 0, 0, 0),
    "pidfd_open": (2**31 - 1, 0),
    "pidfd_getfd": (2**32 - 1, 0, 0),
    "pidfd_send_signal": (2**32 - 1, 0, 0, 0),
    "process_madvise": (2**32 - 1, 0, 0, 0, 0),
    "mount": (0, 0, 0, 0, 0),
    "umount2": (0, 0),
    "pivot_root": (0, 0),
    "chroot": (0,),
    "fsopen": (0, 0),
    "open_tree": (2**32 - 1, 0, 0),
    "unshare": (0,),
    "setsid": (),  # a session of its own is a CPU share of its own (the scheduler's autogroups)
    "setns": (2**32 - 1, 0),
    "kexec_load": (0, 0, 0, 0xFFFFFFFF),
    "kexec_file_load": (2**32 - 1, 2**32 - 1, 0, 0, 0xFFFFFFFF),
    "init_module": (0, 0, 0),
    "finit_module": (2**32 - 1, 0, 0),
    "delete_module": (0, 0),
    "shmget": (0x5EC2E8, 0, 0),
    "shmat": (2**32 - 1, 0, 0),
    "msgget": (0x5EC2E8, 0),
    "semget": (0x5EC2E8, 0, 0),
    "mq_open": (0, 0, 0, 0),
    "mq_unlink": (0,),
    "socket": (1, 1, 0),
    "socketpair": (1, 1, 0, 0),
    "connect": (2**32 - 1, 0, 0),
    "fanotify_init": (0xFFFFFFFF, 0),
    "inotify_init1": (0xFFFFFFFF,),
    "open_by_handle_at": (2**32 - 1, 0, 0),
    "name_to_handle_at": (2**32 - 1, 0, 0, 0, 0),
    "swapon": (0, 0),
    "swapoff": (0,),
    "reboot": (0, 0, 0, 0),
    "acct": (1,),
    "quotactl": (0xFFFFFFFF, 0, 0, 0),
    "syslog": (10, 0, 0),
    "personality": (0xFFFFFFFF,),
    "setuid": (0xFFFFFFFF,),
    "setgid": (0xFFFFFFFF,),
    "execve": (0, 0, 0),
    "execveat": (2**32 - 1, 0, 0, 0, 0),
    "prctl": (0x7FFFFFFF, 0, 0, 0, 0),
    "seccomp": (0x7FFF, 0, 0),
    "landlock_create_ruleset": (0, 0, 0xFFFF),
    "mknodat": (2**32 - 1, 0, 0, 0),
    "unlinkat": (2**32 - 1, 0, 0),
    "mkdirat": (2**32 - 1, 0, 0),
    "fchmodat": (2**32 - 1, 0, 0),
    "fchown": (2**32 - 1, 0, 0),
    "ftruncate": (2**32 - 1, 0),
    "fallocate": (2**32 - 1, 0, 0, 0),
    "adjtimex": (0,),
    "clock_settime": (0x7FFF, 0),
    "setpriority": (0x7FFF, 0, 0),
    "sched_setscheduler": (2**32 - 1, 0, 0),
    "migrate_pages": (2**32 - 1, 0, 0, 0),
    "mlock": (0, 0),
}
SIGCHLD = 17
# Calls on the list that their arguments refuse: (label, call, arguments, the errno expected).
REFUSED_BY_ARGUMENT = [
    *(
        (f"clone({flag})", "clone", (getattr(seccomp, flag) | SIGCHLD, 0, 0, 0, 0), errno.EPERM)
        for flag in ("CLONE_NEWNS", "CLONE_NEWCGROUP", "CLONE_NEWUTS", "CLONE_NEWIPC", "CLONE_NEWUSER", "CLONE_NEWPID", "CLONE_NEWNET")
    ),
    ("clone3", "clone3", (0, 0), errno.ENOSYS),
    ("kill(-1): every process", "kill", (2**32 - 1, 0), errno.EPERM),
    ("kill(-group)", "kill", (2**32 - 2**20, 0), errno.EPERM),
    ("prlimit64 of another process", "prlimit64", (1, 7, 0, 0), errno.EPERM),
    ("ioctl(TIOCSTI): typing into a terminal", "ioctl", (2**32 - 1, 0x5412, 0), errno.ENOTTY),
    # Locks and notices: channels between gradings through any file or folder both can read.
    ("fcntl(F_GETLK)", "fcntl", (0, 5, 0), errno.EPERM),
    ("fcntl(F_SETLK)", "fcntl", (0, 6, 0), errno.EPERM),
    ("fcntl(F_OFD_SETLK)", "fcntl", (0, 37, 0), errno.EPERM),
    ("fcntl(F_NOTIFY)", "fcntl", (0, 1026, 0), errno.EPERM),
    ("fcntl(F_SETLEASE)", "fcntl", (0, 1024, 1), errno.EPERM),
    ("fcntl(F_SETPIPE_SZ)", "fcntl", (0, 1031, 1 << 20), errno.EPERM),
    # A shared futex word in a mapped file is one word for every process mapping it: nothing may wait on one.
    ("futex(FUTEX_WAIT), shared", "futex", (0, 0, 0, 0, 0, 0), errno.EAGAIN),
    ("futex(FUTEX_WAIT_BITSET), shared", "futex", (0, 9, 0, 0, 0, 2**32 - 1), errno.EAGAIN),
    ("futex(FUTEX_WAKE), shared", "futex", (0, 1, 1, 0, 0, 0), errno.EAGAIN),
    ("futex(FUTEX_CMP_REQUEUE), shared", "futex", (0, 4, 1, 1, 0, 0), errno.EAGAIN),
    ("futex(FUTEX_LOCK_PI), shared", "futex", (0, 6, 0, 0, 0, 0), errno.EAGAIN),
    ("clock_gettime of another process's CPU clock", "clock_gettime", ((~1 << 3 | 2) & 0xFFFFFFFF, 0), errno.EINVAL),
    ("clock_getres of another thread's CPU clock", "clock_getres", ((~1 << 3 | 6) & 0xFFFFFFFF, 0), errno.EINVAL),
    ("clock_nanosleep on another process's CPU clock", "clock_nanosleep", ((~1 << 3 | 2) & 0xFFFFFFFF, 0, 0, 0), errno.EINVAL),
    ("getpgid of another process", "getpgid", (1,), errno.EPERM),
    ("getsid of another process", "getsid", (1,), errno.EPERM),
    ("sched_getaffinity of another process", "sched_getaffinity", (1, 128, 0), errno.ENOSYS),
]
# The same calls with arguments the rules let through reach the kernel, which answers for itself.
ALLOWED_BY_ARGUMENT = [
    ("ioctl(TCGETS) on no descriptor", "ioctl", (2**32 - 1, 0x5401, 0), errno.EBADF),
    ("prlimit64 of itself", "prlimit64", (0, 7, 0, 0), 0),
    ("kill(0, 0): its own group", "kill", (0, 0), 0),
    ("clock_getres of its own CPU time", "clock_getres", (2, 0), 0),
    ("clock_gettime of CLOCK_TAI, no room", "clock_gettime", (11, 0), errno.EFAULT),
    ("fcntl(F_GETFD) on no descriptor", "fcntl", (2**32 - 1, 1, 0), errno.EBADF),
    ("futex(FUTEX_WAIT_PRIVATE) at no address", "futex", (0, 128, 0, 0, 0, 0), errno.EFAULT),
    ("futex(FUTEX_WAKE_PRIVATE), no waiter", "futex", (0, 129, 1, 0, 0, 0), 0),
    ("sched_getaffinity of itself, no room", "sched_getaffinity", (0, 0, 0), errno.EINVAL),
]

CHILD = r"""
import ctypes, json, os, sys
from autograder.sandbox import seccomp
status = seccomp.apply()
if not status.startswith("applied"):  # nothing is called unfiltered
    print(json.dumps({"status": status}))
    sys.exit(0)
libc = ctypes.CDLL(None, use_errno=True)
results = {}
for label, number, args in json.loads(sys.argv[1]):
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(number), *(ctypes.c_ulong(arg) for arg in args))
    if result == 0 and label.startswith("clone"):
        os._exit(0)  # a child the filter should have refused: it leaves at once, and the parent reports the pid
    results[label] = [result, ctypes.get_errno() if result == -1 else 0]
print(json.dumps({"status": status, "results": results}))
"""


def test_unneeded_calls_are_refused_with_an_errno_and_the_process_lives_on() -> None:
    kernel = kernel_numbers(seccomp.machine())
    probes = [(name, kernel[name], args) for name, args in UNNEEDED.items() if name in kernel]
    probes += [(label, kernel[call], args) for label, call, args, _ in REFUSED_BY_ARGUMENT + ALLOWED_BY_ARGUMENT]
    assert len(probes) >= 60, "most of the unneeded calls exist on every architecture"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(probes)], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["status"] == f"applied (seccomp allow-list: {len(seccomp.allowed(seccomp.machine()))} calls)"
    outcomes = report["results"]
    wanted = {name: [-1, errno.EPERM] for name, _, _ in probes if name in UNNEEDED}
    wanted |= {label: [-1, code] for label, _, _, code in REFUSED_BY_ARGUMENT}
    wanted |= {label: [-1, code] if code else [0, 0] for label, _, _, code in ALLOWED_BY_ARGUMENT}
    assert outcomes == wanted


def test_no_unneeded_call_is_on_either_architectures_list() -> None:
    for arch in seccomp.ARCHITECTURES:
        assert set(UNNEEDED) & set(seccomp.allowed(arch)) == set()
        assert set(UNNEEDED) & set(seccomp.REFUSED_WITH_ENOSYS) == set()


# --------------------------------------------------------------------------- end to end


@pytest.mark.ps3  # the publisher and the reader are PS3 submissions that wrap conv2d
def test_a_kernel_keyring_carries_no_answers_between_gradings(harness: Harness) -> None:
    harness.submit({"ps3.py": hostile("kernel_keyring_publisher")})
    published = harness.run()
    assert_scores(published)
    assert "PUBLISH denied errno 1 / now denied errno 1" in printed(published, "conv2d")  # EPERM from seccomp
    assert_clean(harness)
    harness.submit({"ps3.py": hostile("kernel_keyring_reader")})
    read = harness.run()
    assert "READ denied errno 1" in printed(read, "conv2d") and "READ OPEN" not in json.dumps(read)
    assert_scores(read, zero={"conv2d"})
    assert_clean(harness)


@pytest.mark.ps3  # the sender and the receiver are PS3 submissions (the probes print in mlp_layer_params)
def test_a_futex_in_a_file_both_map_carries_nothing_between_gradings(tmp_path: Path) -> None:
    """Two gradings of one batch at once: the sender wakes a futex in a page of NumPy's __init__.py for 8 s (shared,
    private, and through threads whose clear-child-tid word it is, which the kernel wakes as they end); the
    receiver waits on it. A shared wait is refused (EAGAIN) and a private one runs out its time: nothing is woken."""
    folder, out = tmp_path / "class", tmp_path / "out"
    for name, role in (("receiver", "receive"), ("sender", "send")):
        (folder / name).mkdir(parents=True)
        (folder / name / "ps3.py").write_text(hostile("_probes") + "\n\n" + attack("futex_across_gradings", role=role))
    command = [sys.executable, "-m", "autograder", "batch", str(folder), "--out", str(out), "--jobs", "2"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    said = {name: json.loads((out / name / "results.json").read_text()) for name in ("receiver", "sender")}
    shared, private = [errno.EAGAIN], [errno.ETIMEDOUT]  # each errno the five waits of a kind met
    assert f"PROBE futex receiver: OPEN 'shared {shared} private {private}'" in printed(said["receiver"])
    assert "PROBE futex sender: OPEN 'woke 0'" in printed(said["sender"])


THREADS_FORK_POOL_SUBPROCESS = """

import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

_solution = {"conv2d": conv2d, "conv_transpose2d": conv_transpose2d, "num_conv_layers": num_conv_layers,
             "mlp_layer_params": mlp_layer_params}


def conv2d(x, kernel):  # on a thread
    with ThreadPoolExecutor(2) as pool:
        return pool.submit(_solution["conv2d"], x, kernel).result()


def conv_transpose2d(x, kernel):  # in a process pool
    with multiprocessing.get_context("fork").Pool(1) as pool:
        return pool.apply(_solution["conv_transpose2d"], (x, kernel))


def num_conv_layers(*args, **kwargs):  # in a forked child, the answer sent back through a pipe
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, repr(_solution["num_conv_layers"](*args, **kwargs)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        text = answer.read()
    os.waitpid(pid, 0)
    return int(text) if text else _solution["num_conv_layers"](*args, **kwargs)  # the child raised: so does this


def mlp_layer_params(*args, **kwargs):  # after running another program
    subprocess.run([sys.executable, "-c", "print('hello')"], check=True)
    return _solution["mlp_layer_params"](*args, **kwargs)
"""


@pytest.mark.ps3  # each of PS3's functions tries another of these on its own cases
def test_threads_and_fork_work_and_a_pool_or_a_program_is_an_ordinary_exception(harness: Harness) -> None:
    harness.submit({"ps3.py": SOLUTION.read_text() + THREADS_FORK_POOL_SUBPROCESS})
    data = harness.run()
    scores = scores_by_function(data)
    assert scores["mlp_layer_params"][0] == 0
    assert all(
        "raised PermissionError: [Errno 1] Operation not permitted" in case["output"]
        for case in cases_of(data, "mlp_layer_params")
        if "hidden" not in case["tags"]
    )
    # A pool needs semaphores in /dev/shm: the read-only mounts or Landlock refuse them where they apply, and the
    # pool works where neither does.
    pool = scores["conv_transpose2d"]
    refused = re.search(r"raised (PermissionError|OSError: \[Errno 30\] Read-only file system)", printed(data, "conv_transpose2d"))
    assert pool[0] == pool[1] or (pool[0] == 0 and refused)
    assert all(earned == possible for name, (earned, possible) in scores.items() if name not in ("mlp_layer_params", "conv_transpose2d")), (
        scores
    )
    assert set(scores) == ALL_FUNCTIONS
    assert_clean(harness)
