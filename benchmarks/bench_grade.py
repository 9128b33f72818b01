"""How long one Gradescope grade takes, end to end, against the in-process peer; and the same grade under Gradescope-like limits.

Lays out /autograder as autograder.zip unpacks on Gradescope, in a temporary
folder (source/problems with problems/compiled.json written as
``python -m autograder build`` writes it, source/assignment.yaml,
source/run_autograder, submission/ps3.py, results/), and runs, round after
round, in a fixed rotation:

  A  the real run_autograder, as this user (root: every protection on),
  B  the typical in-process gradescope-utils suite (inprocess_baseline.py),
  C  A again under Gradescope-like limits: one CPU and 768 MB of memory,

all with an interpreter that sees the packages installed as on Gradescope (installed_python: no editable-install hook),

each pinned to one core with ``taskset -c CORE`` (this script keeps to the
other core, so its sampling does not steal the child's). Per run it measures
wall time, CPU (user + sys of the child and of every descendant it reaped, from
os.wait4; the grader waits for its launcher, which waited for every reaper and
worker), and peak memory (PSS from /proc/<pid>/smaps_rollup, polled every few
ms) of each process of the grade and of all of them together: the grader (the
python that run_autograder starts), its launcher (a fork of it), the reaper
and the worker (the process running as the sandbox user). The memory limit is a memory cgroup when the machine allows one (v2:
memory.max in a child group; v1: memory.limit_in_bytes in a child of this
process's own memory group), else ``prlimit --as``.

Then it says where A's time goes: a few more grades run by grade_timed.py, which
times the grader's stages (imports, forks, specs, calls, judging, writing) in
the grader's own CPU, beside the CPU of its launcher, reapers and worker, and
of the student's own code (the grade's calls made here, in this process).

Usage: python benchmarks/bench_grade.py [--rounds 21] [--breakdown 5] [--no-limits] [--no-cache] [--core 1]
"""

from __future__ import annotations

import argparse
import compileall
import fcntl
import importlib.util
import json
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import venv
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.apps.course import cache_entry  # noqa: E402
from autograder.engine.compiled import CACHE_NAME, cache_bytes  # noqa: E402
from autograder.engine.problemset import load as load_problems  # noqa: E402
from autograder.sandbox.isolation import DEFAULT_WORKER_USER, lock_folder  # noqa: E402

WALL_RATIO_TARGET = 1.5
RSS_TARGET_MB = 150.0
LIMIT_MB = 768


# -- the interpreter -----------------------------------------------------------


def installed_python(folder: Path) -> tuple[str, str]:
    """An interpreter that finds this environment's packages installed as ``pip install .`` installs them (setup.sh on
    Gradescope), and what it is, in words.

    An editable install (``pip install -e``, as the quick start makes) leaves an import hook in site-packages that
    every interpreter of the environment runs at start-up: 15-35 ms here, in A and B alike, that Gradescope never
    pays; counted in both, it flattered the ratio (1.65x measured against 1.77x without it, paired). So both arms
    run a virtual environment of the same base interpreter, made in ``folder``, whose site-packages holds hard
    links to this one's files, less the hook; the engine comes from PYTHONPATH, as before.
    """
    packages = next((Path(entry) for entry in sys.path if entry.endswith("-packages") and any(Path(entry).glob("__editable__*"))), None)
    if packages is None or sys.prefix == sys.base_prefix:
        return sys.executable, f"{sys.executable} (no editable install in its environment)"
    venv.EnvBuilder(symlinks=True).create(folder)  # without pip: nothing of it is needed
    copy = folder / packages.relative_to(sys.prefix)
    shutil.rmtree(copy)
    shutil.copytree(packages, copy, copy_function=_link_or_copy, ignore=shutil.ignore_patterns("__editable__*"))
    return str(folder / "bin" / "python"), f"a copy of {sys.prefix} without its editable-install hook (as pip install . leaves it)"


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system
        shutil.copy2(source, destination)


# -- the layout ---------------------------------------------------------------


def make_layout(root: Path, use_cache: bool) -> None:
    """/autograder as Gradescope unpacks autograder.zip (build.gradescope_files) and puts the submission beside it."""
    source = root / "source"
    problems = source / "problems"
    shutil.copytree(REPO / "problems", problems, ignore=shutil.ignore_patterns("__pycache__", CACHE_NAME))
    shutil.copy(REPO / "assignment.yaml", source / "assignment.yaml")  # before the cache, which stores its parse
    if use_cache:
        (problems / CACHE_NAME).write_bytes(cache_bytes(problems, load_problems(problems, use_cache=False), cache_entry(problems)))
    shutil.copy(REPO / "run_autograder", source / "run_autograder")
    (root / "submission").mkdir()
    shutil.copy(REPO / "solutions" / "ps3.py", root / "submission" / "ps3.py")
    (root / "results").mkdir()
    for folder in (root.parent, root):
        os.chmod(folder, 0o755)


# -- process tree sampling ----------------------------------------------------


def _status(pid: int) -> dict[str, str]:
    fields = {}
    with open(f"/proc/{pid}/status") as stream:
        for line in stream:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stream:
                    ppid = int(stream.read().rpartition(b")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    return children


def _pss_kb(pid: int) -> int:
    """Proportional set size: the process's own pages, plus its share of pages it shares (a fork's copy-on-write image)."""
    with open(f"/proc/{pid}/smaps_rollup") as stream:
        for text in stream:
            if text.startswith("Pss:"):
                return int(text.split()[1])
    return 0


class TreeSampler(threading.Thread):
    """Polls the descendants of ``top`` every ``interval`` seconds: each one's peak PSS, uid, name and parent, and the
    peak of their sum (the whole grade's memory).

    PSS, not RSS: the launcher, the reaper and the worker are forks of the grader, and each one's RSS counts every
    page it still shares with the others; summing RSS would count NumPy four times.
    """

    def __init__(self, top: int, interval: float = 0.003) -> None:
        super().__init__(daemon=True)
        self.top, self.interval = top, interval
        self.seen: dict[int, dict[str, Any]] = {}
        self.peak_total_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            time.sleep(self.interval)

    def sample(self) -> None:
        children = _children_map()
        stack: list[int] = [self.top]
        parent_of: dict[int, int | None] = {self.top: None}
        while stack:
            pid = stack.pop()
            for child in children.get(pid, []):
                if child not in parent_of:
                    parent_of[child] = pid
                    stack.append(child)
        total = 0
        for pid, parent in parent_of.items():
            try:
                fields = _status(pid)
                with open(f"/proc/{pid}/cmdline", "rb") as stream:
                    command = stream.read().replace(b"\0", b" ").decode(errors="replace").strip()
                pss = _pss_kb(pid)
            except OSError:
                continue
            if "VmHWM" not in fields:  # a zombie: keep what was read while it lived
                continue
            total += pss
            record = self.seen.setdefault(pid, {"parent": parent, "pss_kb": 0, "command": command})
            record.update(uid=int(fields["Uid"].split()[1]), name=fields["Name"], command=command)
            record["pss_kb"] = max(record["pss_kb"], pss)
        self.peak_total_kb = max(self.peak_total_kb, total)

    def roles(self, worker_uid: int | None) -> dict[str, float]:
        """Peak PSS in MB of the grader, its launcher, the reaper and the worker (the largest of each), and of the whole tree."""
        peaks = {"grader": 0.0, "launcher": 0.0, "reaper": 0.0, "worker": 0.0, "other": 0.0, "total": self.peak_total_kb / 1024}
        graders = {pid for pid, r in self.seen.items() if r["parent"] == self.top and " -m autograder " in f" {r['command']} "}
        launchers = {pid for pid, r in self.seen.items() if r["parent"] in graders and r["uid"] != worker_uid}
        for pid, record in self.seen.items():
            if worker_uid is not None and record["uid"] == worker_uid:
                role = "worker"
            elif pid in graders:
                role = "grader"
            elif pid in launchers:
                role = "launcher"
            elif record["parent"] in launchers:
                role = "reaper"  # or, for a moment, the launcher's namespace probe
            elif pid == self.top or record["name"] in ("bash", "taskset", "sh", "prlimit"):
                continue
            else:
                role = "other"
            peaks[role] = max(peaks[role], record["pss_kb"] / 1024)
        return peaks


# -- other gradings on this machine ---------------------------------------------


def wait_for_free_worker(limit: float) -> float:
    """Wait (up to ``limit`` s) until no other grading holds the sandbox user's machine-wide lock; seconds waited.

    A grade started while another holds it would time the other's grading too."""
    path = lock_folder() / f"{DEFAULT_WORKER_USER}.lock"
    started = time.monotonic()
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(descriptor, fcntl.LOCK_UN)
                return time.monotonic() - started
            except BlockingIOError:
                if time.monotonic() - started > limit:
                    return time.monotonic() - started
                time.sleep(0.05)
    finally:
        os.close(descriptor)


# -- one run --------------------------------------------------------------------


def run_once(command: list[str], env: dict[str, str], sample: bool, worker_uid: int | None, cwd: Path | None = None) -> dict[str, Any]:
    """Start ``command``, sample its tree, wait4 it: wall seconds, CPU seconds, peaks, exit status."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = TreeSampler(process.pid) if sample else None
    if sampler:
        sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    result: dict[str, Any] = {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "status": process.returncode,
        "maxrss_mb": usage.ru_maxrss / 1024,
    }
    if sampler:
        sampler.done.set()
        sampler.join()
        result["peaks"] = sampler.roles(worker_uid)
    return result


# -- the memory limit -----------------------------------------------------------


class MemoryLimit:
    """A memory cgroup with ``megabytes`` (v2, else v1 under our own group), else prlimit --as; ``wrap`` prefixes a command."""

    def __init__(self, megabytes: int) -> None:
        self.megabytes, self.mechanism = megabytes, ""
        self.group: Path | None = None
        self.files: dict[str, str] = {}
        limit = str(megabytes * 1024 * 1024)
        for attempt in (self._v2, self._v1):
            try:
                if attempt(limit):
                    return
            except OSError as error:
                self.mechanism += f"[{attempt.__name__[1:]} refused: {error.strerror}] "
                self.close()
        self.mechanism += f"prlimit --as={limit} (address space, not resident memory: no cgroup could be made)"

    def _v2(self, limit: str) -> bool:
        base = Path("/sys/fs/cgroup")
        if not (base / "cgroup.controllers").is_file():
            return False
        own = base / next(line for line in Path("/proc/self/cgroup").read_text().splitlines() if line.startswith("0::")).split("::", 1)[
            1
        ].lstrip("/")
        if "memory" not in (own / "cgroup.controllers").read_text().split():
            return False
        # A group with processes cannot have controllers for its children (no internal processes): nest under the parent.
        group = self.group = Path(
            tempfile.mkdtemp(prefix="bench-grade-", dir=own.parent if (own / "cgroup.procs").read_text().strip() else own)
        )
        (group / "memory.max").write_text(limit)
        if (group / "memory.swap.max").exists():
            (group / "memory.swap.max").write_text("0")
        self.files = {"peak": "memory.peak", "events": "memory.events"}
        self.mechanism = f"cgroup v2 {self.group} (memory.max={limit})"
        return True

    def _v1(self, limit: str) -> bool:
        line = next((line for line in Path("/proc/self/cgroup").read_text().splitlines() if line.split(":")[1] == "memory"), None)
        if line is None:
            return False
        own = Path("/sys/fs/cgroup/memory") / line.split(":", 2)[2].lstrip("/")
        if not own.is_dir():
            return False
        group = self.group = Path(tempfile.mkdtemp(prefix="bench-grade-", dir=own))  # a child of our own group: still under its limit
        (group / "memory.limit_in_bytes").write_text(limit)
        if (group / "memory.memsw.limit_in_bytes").exists():
            try:
                (group / "memory.memsw.limit_in_bytes").write_text(limit)
            except OSError:
                pass
        self.files = {"peak": "memory.max_usage_in_bytes", "events": "memory.failcnt"}
        self.mechanism = f"cgroup v1 {self.group} (memory.limit_in_bytes={limit})"
        return True

    def wrap(self, command: list[str]) -> list[str]:
        if self.group is None:
            return ["prlimit", f"--as={self.megabytes * 1024 * 1024}", "--", *command]
        return ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(self.group), *command]

    def reset_peak(self) -> None:
        if self.group is not None and self.files["peak"] == "memory.max_usage_in_bytes":
            (self.group / "memory.max_usage_in_bytes").write_text("0")

    def peak_mb(self) -> float | None:
        try:
            return int((self.group / self.files["peak"]).read_text()) / 2**20 if self.group else None
        except OSError:
            return None

    def events(self) -> str:
        if self.group is None:
            return "n/a"
        try:
            text = (self.group / self.files["events"]).read_text().split()
        except OSError:
            return "n/a"
        return " ".join(text) if len(text) > 1 else f"failcnt {text[0]}"

    def close(self) -> None:
        if self.group is not None:
            for _ in range(50):
                try:
                    self.group.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)
            self.group = None


# -- where the time goes ----------------------------------------------------------

# The stages grade_timed.py times, in the order a grade meets them (a stage it did not see is left out).
STAGES = (
    "the command line (argparse)",
    "imports: NumPy",
    "imports: standard library and engine",
    "forks: the launcher",
    "forks: a worker",
    "sandbox set-up and teardown",
    "waiting for the worker to load the submission",
    "course and specs loading",
    "calls (requests, replies, the worker's run)",
    "follow-through: call keys and records",
    "judging",
    "writing: results built",
    "writing: results.json written",
    "other",
)


def timed_grades(root: Path, env: dict[str, str], pin: list[str], runs: int, directory: Path) -> list[dict[str, Any]]:
    """``runs`` grades by grade_timed.py, pinned like A (and with A's interpreter): each one's stages, and its children's CPU."""
    records = []
    for number in range(runs):
        out = directory / f"timed-{number}.json"
        command = [*pin, env["AUTOGRADER_PYTHON"], str(REPO / "benchmarks" / "grade_timed.py"), str(root), str(out)]
        run_once(command, env, False, None, cwd=root / "source")
        if out.is_file():
            records.append(json.loads(out.read_text()))
    return records


def student_seconds(problems: Path, submission: Path) -> tuple[float, int]:
    """CPU seconds the submission's own functions take on the grade's calls, called here, in this process (the
    instructor's solution, not a student's), best of five; and the number of calls. The solution fails no case, so
    the grader makes no follow-through part calls: one call a case."""
    spec = importlib.util.spec_from_file_location("timed_submission", submission)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    calls = [(case.function, case.args, case.kwargs) for problem in load_problems(problems) for case in problem.cases]
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for function, args, kwargs in calls:
            try:
                getattr(module, function)(*args, **kwargs)
            except Exception:  # noqa: BLE001 - a case that expects an error, timed all the same
                continue
        best = min(best, time.process_time() - started)
    return best, len(calls)


def print_breakdown(records: list[dict[str, Any]], student: tuple[float, int]) -> None:
    """The median of each stage over the timed grades, in ms: the grader's CPU, and the wall time on the pinned core."""
    if not records:
        print("\nwhere the time goes: grade_timed.py wrote no record")
        return

    def ms(values: list[float]) -> str:
        return f"{1000 * med(values):6.1f}"

    seen = [stage for stage in STAGES if any(stage in r["cpu"] for r in records)]
    others = sorted({stage for r in records for stage in r["cpu"]} - set(STAGES))
    own = [r["start_up_cpu"] + sum(r["cpu"].values()) for r in records]
    children = [r["children_cpu"] for r in records]
    print(f"\nwhere the time of A goes: median of {len(records)} grades by grade_timed.py, pinned like A (ms)")
    print(f"  {'stage (each exclusive of the stages inside it)':<52} {'grader CPU':>10} {'wall':>7}")
    print(f"  {'interpreter start-up, site and grade_timed.py imports':<52} {ms([r['start_up_cpu'] for r in records]):>10} {'':>7}")
    for stage in seen + others:
        print(f"  {stage:<52} {ms([r['cpu'].get(stage, 0.0) for r in records]):>10} {ms([r['wall'].get(stage, 0.0) for r in records]):>7}")
    print(f"  {'the grader, in all':<52} {ms(own):>10} {ms([sum(r['wall'].values()) for r in records]):>7}")
    seconds, calls = student
    print(f"  {'the launcher, reapers and worker, in all (their CPU)':<52} {ms(children):>10}")
    student_line = f"  of which the submission's own code ({calls} calls)"
    print(f"  {student_line:<52} {1000 * seconds:>10.1f}   (made in this process, best of 5)")
    print(f"  {'CPU of the whole grade':<52} {ms([a + b for a, b in zip(own, children)]):>10}")
    if any(r["unpatched"] for r in records):
        print(f"  (never imported, so not timed: {', '.join(sorted({m for r in records for m in r['unpatched']}))})")


# -- reporting ------------------------------------------------------------------


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def line(name: str, runs: list[dict[str, Any]]) -> str:
    walls, cpus = [r["wall"] for r in runs], [r["cpu"] for r in runs]
    return (
        f"{name:<36} wall median {med(walls):6.3f} s (min {min(walls):.3f}, max {max(walls):.3f})   "
        f"CPU median {med(cpus):6.3f} s   off-CPU (wall - CPU) median {med([w - c for w, c in zip(walls, cpus)]):.3f} s   n={len(runs)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21, help="rounds of the rotation (default 21)")
    parser.add_argument("--core", type=int, default=1, help="the core the graded runs are pinned to (default 1)")
    parser.add_argument("--no-limits", action="store_true", help="skip C, the grade under one CPU and 768 MB")
    parser.add_argument(
        "--wait",
        type=float,
        default=300.0,
        help="seconds to wait, before each sandboxed run, for other "
        "gradings on this machine to release the sandbox user's lock (default 300)",
    )
    parser.add_argument("--no-cache", action="store_true", help="grade from the YAML specs, without problems/compiled.json")
    parser.add_argument("--breakdown", type=int, default=5, help="timed grades that say where A's time goes (default 5; 0: none)")
    arguments = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    own_cores = {c for c in cores if c != arguments.core} or set(cores)
    os.sched_setaffinity(0, own_cores)  # this process (and its sampler) stays off the measured core
    pin = ["taskset", "-c", str(arguments.core)]
    try:
        worker_uid = pwd.getpwnam(DEFAULT_WORKER_USER).pw_uid
    except KeyError:
        worker_uid = None
    limit = None if arguments.no_limits else MemoryLimit(LIMIT_MB)
    runs: dict[str, list[dict[str, Any]]] = {"A": [], "B": [], "C": []}
    waited = 0.0
    scores: dict[str, set[Any]] = {"A": set(), "C": set()}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-grade-") as temporary:
            root = Path(temporary) / "autograder"
            make_layout(root, use_cache=not arguments.no_cache)
            python, interpreter = installed_python(Path(temporary) / "python")
            # The engine's bytecode, as pip writes it on Gradescope (and as the peer's packages have it): without
            # it, every run would compile the engine's modules again (PYTHONDONTWRITEBYTECODE may be set here).
            compileall.compile_dir(REPO / "autograder", quiet=1)
            env = dict(
                os.environ,
                AUTOGRADER_ROOT=str(root),
                AUTOGRADER_PYTHON=python,
                PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            )
            results_file = root / "results" / "results.json"
            grade = [*pin, "bash", str(root / "source" / "run_autograder")]
            baseline = [
                *pin,
                python,
                str(REPO / "benchmarks" / "inprocess_baseline.py"),
                str(root / "submission"),
                str(Path(temporary) / "baseline.json"),
            ]
            print(
                f"{arguments.rounds} rounds of A (run_autograder), B (in-process suite)"
                f"{'' if limit is None else ', C (run_autograder, 1 CPU + 768 MB)'}; each pinned to core {arguments.core}; "
                f"{'root: every protection' if os.geteuid() == 0 else 'NOT root: no separate sandbox user'}; "
                f"{'no compiled.json' if arguments.no_cache else 'with problems/compiled.json'}\n"
                f"interpreter of A and B: {interpreter}",
                flush=True,
            )
            # one unmeasured warm-up of each, so the first round does not pay for cold page cache alone
            run_once(grade, env, False, worker_uid)
            run_once(baseline, env, False, worker_uid)
            for number in range(arguments.rounds):
                for arm in ("A", "B", "C"):
                    if arm == "B":
                        runs["B"].append(run_once(baseline, env, True, worker_uid))
                        continue
                    if arm == "C" and limit is None:
                        continue
                    results_file.unlink(missing_ok=True)
                    waited += wait_for_free_worker(arguments.wait)
                    if arm == "C" and limit is not None:
                        limit.reset_peak()
                        result = run_once(limit.wrap(grade), env, True, worker_uid)
                        result["group_peak_mb"] = limit.peak_mb()
                    else:
                        result = run_once(grade, env, True, worker_uid)
                    data: dict[str, Any] = json.loads(results_file.read_text()) if results_file.is_file() else {"score": None}
                    scores[arm].add(data.get("score"))
                    runs[arm].append(result)
                done = "  ".join(f"{arm} {runs[arm][-1]['wall']:.2f}s" for arm in runs if runs[arm])
                print(f"round {number + 1:>2}/{arguments.rounds}: {done}", flush=True)
            cases = sum(1 for test in data.get("tests", []) if test.get("max_score"))
            full_marks = round(sum(float(test.get("max_score") or 0) for test in data.get("tests", [])), 4)
            records = timed_grades(root, env, pin, arguments.breakdown, Path(temporary))
            os.sched_setaffinity(0, {arguments.core})  # the rounds are over: time the student's code on the measured core
            student = student_seconds(root / "source" / "problems", REPO / "solutions" / "ps3.py") if records else (0.0, 0)
            os.sched_setaffinity(0, own_cores)
    finally:
        if limit is not None:
            events = limit.events()
            limit.close()

    a, b, c = runs["A"], runs["B"], runs["C"]
    ratio = med([r["wall"] for r in a]) / med([r["wall"] for r in b])
    paired = med([x["wall"] / y["wall"] for x, y in zip(a, b)])
    roles = ("grader", "launcher", "reaper", "worker", "other", "total")
    peaks = {role: med([r["peaks"][role] for r in a]) for role in roles}
    peak_max = {role: max(r["peaks"][role] for r in a) for role in roles}
    together = peaks["total"]
    print()
    print(line("A run_autograder (sandboxed)", a))
    print(line("B in-process gradescope-utils suite", b))
    if c:
        print(line("C run_autograder, 1 CPU + 768 MB", c))
    print(
        f"wall ratio A/B: {ratio:.2f}x of medians (median of per-round ratios {paired:.2f}x); "
        f"CPU ratio A/B: {med([r['cpu'] for r in a]) / med([r['cpu'] for r in b]):.2f}x"
    )
    other = f", other {peaks['other']:.1f} MB" if peaks["other"] else ""
    print(
        f"peak memory (PSS) in A, median over rounds: all processes together {peaks['total']:.1f} MB; each at its own peak: "
        f"grader {peaks['grader']:.1f} MB, launcher {peaks['launcher']:.1f} MB, reaper {peaks['reaper']:.1f} MB, "
        f"worker {peaks['worker']:.1f} MB{other} (worst round together: {peak_max['total']:.1f} MB)"
    )
    print(f"peak RSS of B (in-process suite), median: {med([r['maxrss_mb'] for r in b]):.1f} MB")
    print(f"score in A: {sorted(scores['A'], key=str)} over {cases} cases")
    if c and limit is not None:
        print(f"C: limit by {limit.mechanism}; CPU by taskset -c {arguments.core}")
        group_peaks = [float(r["group_peak_mb"]) for r in c if r.get("group_peak_mb") is not None]
        if group_peaks:
            print(
                f"C: peak memory charged to the group (RSS + page cache), median {med(group_peaks):.1f} MB, max {max(group_peaks):.1f} MB; "
                f"{events}"
            )
        print(f"C: score {sorted(scores['C'], key=str)}; {med([r['wall'] for r in c]):.3f} s per submission (median wall)")

    # A grade that failed (no worker user, a broken install) is fast and worthless: its ratio is no measure.
    graded = full_marks > 0 and scores["A"] == {full_marks}
    rows = [
        ("every round of A: the solution's full marks", f"{sorted(scores['A'], key=str)}", f"[{full_marks}]", graded),
        ("wall ratio run_autograder / in-process", f"{ratio:.2f}x", f"<= {WALL_RATIO_TARGET}x", graded and ratio <= WALL_RATIO_TARGET),
        ("peak memory of the grade (PSS, all processes)", f"{together:.1f} MB", f"<= {RSS_TARGET_MB:.0f} MB", together <= RSS_TARGET_MB),
    ]
    if c:
        full = scores["C"] == scores["A"] and None not in scores["C"]
        rows.append(("grade under 1 CPU + 768 MB: same score", f"{med([r['wall'] for r in c]):.2f} s/submission", "same score as A", full))
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(
        f"waited {waited:.1f} s in all for other gradings to release {DEFAULT_WORKER_USER}'s lock; "
        f"load average now {' '.join(load)} on {os.cpu_count()} CPUs (other work on the machine inflates wall times)"
    )
    print_breakdown(records, student)
    print("\nsummary")
    print(f"  {'measure':<42} {'value':>20}  {'target':<16} met")
    for name, value, target, met in rows:
        print(f"  {name:<42} {value:>20}  {target:<16} {'yes' if met else 'NO'}")


if __name__ == "__main__":
    main()
