"""Which system calls a real worker makes: the evidence behind the seccomp allow-list (autograder/sandbox/seccomp.py).

Grades each submission with the real grader (``python -m autograder grade``)
under ``strace -f``, follows the worker from the moment it installs its
seccomp filter (and every thread and process it starts after that), and
prints each system call it made: how often, how often the kernel refused it,
and whether the allow-list has it. A call the list lacks is refused in the
worker (EPERM or ENOSYS); if computing needs it, add it to a group of
``seccomp.ALLOWED`` with its numbers (tests/test_seccomp.py checks them
against the kernel headers).

With no submission named, it grades two: the instructor's solution, and that
solution with WORKLOAD appended, which at import does what submissions do:
NumPy, SciPy and PyTorch (when installed), threads, fork, a process pool,
subprocess, big allocations, deep recursion, time, randomness, signals. Each
step prints whether it worked; the report lists those lines too.

Usage (as root, every protection is on, as on Gradescope; as another user it works too):

    .venv/bin/python benchmarks/trace_syscalls.py [SUBMISSION ...]

Needs strace. Some of WORKLOAD's steps are refused on purpose (a subprocess,
asyncio's socketpair): a refused call is a finding to judge, not an error.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.sandbox import seccomp  # noqa: E402

# Appended to the instructor's solution: every step runs at import, and says how it went.
WORKLOAD = r"""

import os as _os
import sys as _sys


_STEPS = []


def _step(name, action):
    try:
        _STEPS.append(f"STEP {name}: ok {str(action())[:60]}")
    except BaseException as error:  # a refused call must surface as an ordinary exception
        _STEPS.append(f"STEP {name}: {type(error).__name__}: {str(error)[:80]}")


def _numpy_work():
    a = np.random.default_rng(0).standard_normal((300, 300))
    return float(np.linalg.norm(np.linalg.inv(a @ a.T + np.eye(300)) @ a)) + float(np.fft.fft(a[0]).real.sum())


def _big_allocation():
    block = np.ones(40_000_000 // 8)
    block[::512] = 2.0
    return float(block.sum())


def _scipy_work():
    from scipy import linalg, ndimage, signal
    x = np.arange(64.0).reshape(8, 8)
    return float(signal.correlate2d(x, np.ones((3, 3)), mode="valid").sum() + ndimage.uniform_filter(x).sum()
                 + linalg.det(np.eye(3)))


def _torch_work():
    import torch
    import torch.nn.functional as F
    torch.manual_seed(0)
    weights = torch.randn(1, 1, 3, 3, requires_grad=True)
    out = F.conv2d(torch.randn(1, 1, 8, 8), weights)
    out.sum().backward()
    layer = torch.nn.Linear(16, 4)
    return float(layer(torch.randn(2, 16)).sum() + weights.grad.sum()), torch.get_num_threads()


def _threads():
    import threading
    from concurrent.futures import ThreadPoolExecutor
    found = []
    workers = [threading.Thread(target=lambda: found.append(sum(range(10_000)))) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with ThreadPoolExecutor(4) as pool:
        return len(found), sum(pool.map(lambda n: n * n, range(100)))


def _fork():
    pid = _os.fork()
    if pid == 0:
        _os._exit(7)
    return _os.waitpid(pid, 0)[1] >> 8


def _process_pool():
    import multiprocessing
    with multiprocessing.get_context("fork").Pool(2) as pool:
        return sum(pool.map(abs, range(-10, 10)))


def _process():
    import multiprocessing
    process = multiprocessing.get_context("fork").Process(target=sum, args=([1, 2],))
    process.start()
    process.join()
    return process.exitcode


def _subprocess():
    import subprocess
    return subprocess.run([_sys.executable, "-c", "print(1)"], capture_output=True).returncode


def _system():
    return _os.system("true")


def _platform():
    import platform
    return platform.platform(), platform.processor()


def _recursion():
    def down(n):
        return down(n + 1)
    try:
        down(0)
    except RecursionError:
        return "RecursionError"


def _time_and_randomness():
    import random
    import secrets
    import time
    import datetime
    started = time.perf_counter()
    time.sleep(0.01)
    return (time.time() > 0, time.process_time() >= 0, time.perf_counter() > started, random.random() < 1,
            len(_os.urandom(8)), secrets.token_hex(4) != "", datetime.datetime.now().year)


def _signals():
    import faulthandler
    import signal
    faulthandler.enable()
    signal.signal(signal.SIGALRM, lambda *_: None)
    signal.setitimer(signal.ITIMER_REAL, 0.01)
    signal.setitimer(signal.ITIMER_REAL, 0)
    return signal.getsignal(signal.SIGINT)


def _system_facts():
    import resource
    return (_os.cpu_count(), len(_os.sched_getaffinity(0)), resource.getrlimit(resource.RLIMIT_DATA)[0] > 0,
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0, _os.getcwd() != "", len(_os.listdir(".")),
            _os.uname().sysname, _os.getpid() > 0, _os.times().user >= 0)


def _files():
    import tempfile
    with open(__file__) as own:
        own.read(10)
    return tempfile.mkdtemp()


def _anonymous_mmap():
    import mmap
    with mmap.mmap(-1, 1 << 20) as memory:
        memory[:5] = b"hello"
        return bytes(memory[:5])


def _asyncio():
    import asyncio

    async def answer():
        await asyncio.sleep(0)
        return 42
    return asyncio.run(answer())


for _name, _action in [("numpy", _numpy_work), ("big allocation", _big_allocation), ("scipy", _scipy_work),
                       ("torch", _torch_work), ("threads", _threads), ("fork", _fork), ("process pool", _process_pool),
                       ("process", _process), ("subprocess", _subprocess), ("os.system", _system),
                       ("platform", _platform), ("recursion", _recursion), ("time and randomness", _time_and_randomness),
                       ("signals", _signals), ("system facts", _system_facts), ("files", _files),
                       ("anonymous mmap", _anonymous_mmap), ("asyncio", _asyncio)]:
    _step(_name, _action)

_solution_conv2d = conv2d


def conv2d(x, kernel):  # what the steps printed at import is not shown; what a graded function prints is
    print("\n".join(_STEPS))
    return _solution_conv2d(x, kernel)
"""

STEP = re.compile(r"STEP [^:\n]+: [^\n]*")
# One strace line: "PID name(args...) = result", or the end of an interrupted one: "PID <... name resumed>...) = result".
CALL = re.compile(r"^(\d+) +(?:<\.\.\. )?([a-z_0-9]+)(?:\(| resumed>)")
RESULT = re.compile(r"\) += (-?\d+|\?)(?: (E[A-Z]+))?")
FILTER_INSTALLED = re.compile(r"^(\d+) +(?:prctl\(PR_SET_SECCOMP|seccomp\(SECCOMP_SET_MODE_FILTER)")
STARTED = re.compile(r"^(\d+) +(?:<\.\.\. )?(?:clone3?|fork|vfork)(?:\(| resumed>).*= (\d+)$")


@dataclass
class Calls:
    """The system calls seen after the filter went in: name -> (times made, times refused with each errno)."""

    made: collections.Counter[str] = field(default_factory=collections.Counter)
    failed: dict[str, collections.Counter[str]] = field(default_factory=lambda: collections.defaultdict(collections.Counter))


def confined_calls(log: str) -> Calls:
    """Every call of a confined process in an ``strace -f`` log: a process is confined from its filter on, and so is all it starts."""
    confined: set[str] = set()
    calls = Calls()
    for line in log.splitlines():
        installed = FILTER_INSTALLED.match(line)
        if installed:
            confined.add(installed.group(1))
            continue
        call = CALL.match(line)
        if not call or call.group(1) not in confined or line.rstrip().endswith("<unfinished ...>"):
            continue
        name = call.group(2)
        calls.made[name] += 1
        result = RESULT.search(line)
        if result and result.group(2):
            calls.failed[name][result.group(2)] += 1
        started = STARTED.match(line)
        if started:
            confined.add(started.group(2))
    return calls


def trace(submission: Path, log_path: Path) -> tuple[Calls, list[str]]:
    """Grade ``submission`` under strace; the confined calls, and the STEP lines it printed."""
    results = log_path.with_suffix(".json")
    command = [
        "strace",
        "-f",
        "-qq",
        "-s",
        "64",
        "-o",
        str(log_path),
        sys.executable,
        "-m",
        "autograder",
        "grade",
        str(submission),
        "--json",
        str(results),
    ]
    subprocess.run(command, cwd=REPO, capture_output=True, timeout=900, check=False)
    printed = json.loads(results.read_text())["tests"] if results.exists() else []
    steps = sorted({line for test in printed for line in STEP.findall(test.get("output", ""))})
    return confined_calls(log_path.read_text(errors="replace")), steps


def report(title: str, calls: Calls, steps: list[str]) -> list[str]:
    """Print what was seen; return the calls the table lacks (those refused with ENOSYS by design aside)."""
    allowed = set(seccomp.allowed(seccomp.machine()))
    print(f"\n== {title}: {sum(calls.made.values())} calls of {len(calls.made)} kinds after the filter went in")
    for name, count in sorted(calls.made.items()):
        errors = ", ".join(f"{errno} x{times}" for errno, times in sorted(calls.failed[name].items()))
        if name in seccomp.REFUSED_WITH_ENOSYS:
            mark = "   (refused with ENOSYS: libc falls back)"
        else:
            mark = "" if name in allowed else "   <-- not in the allow-list: refused"
        print(f"  {name:24} {count:7}  {errors}{mark}")
    for line in steps:
        print(f"  {line}")
    return sorted(set(calls.made) - allowed - set(seccomp.REFUSED_WITH_ENOSYS))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", nargs="*", type=Path, help="files to grade (default: the solution, and it with WORKLOAD)")
    arguments = parser.parse_args()
    if shutil.which("strace") is None:
        print("strace is not installed: apt-get install strace", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="trace-syscalls-") as folder:
        os.chmod(folder, 0o755)  # the worker's user reads the submission from here
        submissions = [path.resolve() for path in arguments.submissions]
        if not submissions:
            solution = REPO / "solutions" / "ps3.py"
            workload = Path(folder) / "ps3.py"
            workload.write_text(solution.read_text() + WORKLOAD)
            workload.chmod(0o644)
            submissions = [solution, workload]
        lacking: set[str] = set()
        for index, submission in enumerate(submissions):
            calls, steps = trace(submission, Path(folder) / f"strace-{index}.log")
            if not calls.made:
                print(f"\n== {submission}: no confined worker was seen (did the grade start one?)", file=sys.stderr)
                return 2
            lacking.update(report(str(submission), calls, steps))
    print(
        f"\nallow-list on {seccomp.machine()}: {len(seccomp.allowed(seccomp.machine()))} calls; "
        f"made but not on it: {', '.join(lacking) or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
