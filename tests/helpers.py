"""What several test modules share beyond conftest's fixtures: the attack harness (a hostile submission graded
end to end by the real run_autograder, and what it left behind), folders other users can reach, and the batch
tests' class.

A test module imports from here, never from another test module: importing one would collect its tests twice
under two names, and tie a module's helpers to whichever tests happen to live beside them.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Set
from pathlib import Path
from typing import Any

import pytest

from autograder.apps.batch import grading as batch
from autograder.apps.cli import main
from autograder.sandbox.isolation import DEFAULT_WORKER_USER

from conftest import SOLUTION, GradescopeLayout, graded_functions, scores_by_function, submission_with, total_points

Results = dict[str, Any]  # a parsed results.json: JSON, whose values may be of any JSON type
Case = dict[str, Any]  # one entry of its "tests"

ATTACKS = Path(__file__).parent / "attacks"
WORKER_USER = DEFAULT_WORKER_USER
ALL_FUNCTIONS = graded_functions()  # every function the specs grade, whatever problems/ holds


def _worker_uid() -> int | None:
    try:
        return pwd.getpwnam(WORKER_USER).pw_uid
    except KeyError:
        return None


WORKER_UID = _worker_uid()
# The attack is contained by the worker's separate user, which only a root grader switches to (conftest's needs_root).
as_root = pytest.mark.needs_root(reason="the worker's separate user contains the attack: only a root grader switches to it")


# --------------------------------------------------------------------------- waiting


def wait_until(condition: Callable[[], bool], timeout: float = 60) -> bool:
    """Whether ``condition`` came true, polled until it does or ``timeout`` seconds pass.

    A test waits for the event it is about, not for a fixed time: the timeout is far past what any machine
    needs, so only a real hang reaches it (speed is benchmarks/' business).
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# --------------------------------------------------------------------------- folders other users reach


@contextlib.contextmanager
def traversable_folder(prefix: str) -> Iterator[Path]:
    """A new folder every user can traverse, removed on leaving.

    As root the worker's user (and the isolation tests' ``nobody``) must reach what a test puts here, which
    pytest's own tmp_path (root's alone) refuses: a test there would stop on a permission error before the
    engine's own protections were ever tried.
    """
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        folder.chmod(0o755)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def shared_tmpdir(base: Path) -> Path:
    """``base/tmp``, writable by every user and sticky as /tmp is: the TMPDIR of a command run as another user."""
    folder = base / "tmp"
    folder.mkdir()
    folder.chmod(0o1777)
    return folder


# --------------------------------------------------------------------------- hostile submissions


def attack(name: str, **values: object) -> str:
    """The text of tests/attacks/<name>.py with its __PLACEHOLDERS__ filled in."""
    text = (ATTACKS / f"{name}.py").read_text()
    for key, value in values.items():
        text = text.replace(f"__{key.upper()}__", str(value))
    assert not re.search(r"__[A-Z_]+__", text.replace("__main__", "").replace("__file__", "")), f"{name}: unfilled placeholder"
    return text


def hostile(name: str, **values: object) -> str:
    """The instructor's solution with the attack appended (its definitions win)."""
    return SOLUTION.read_text() + "\n\n" + attack(name, **values)


# --------------------------------------------------------------------------- processes


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def process_status(pid: int | str) -> dict[str, str]:
    """/proc/<pid>/status as fields; empty once the process is gone."""
    fields = {}
    for line in _read(f"/proc/{pid}/status").decode(errors="replace").splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, by host pid, from each process's PPid in /proc/<pid>/status.

    Anyone may read a status file. The kernel's children lists need ptrace access, which an ordinary user lacks
    for a worker in user and PID namespaces of its own (it is not dumpable); and inside them its own getpid() is 2.
    """
    below: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        parent = process_status(entry).get("PPid", "") if entry.isdigit() else ""
        if parent.isdigit():
            below.setdefault(int(parent), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        children = below.get(todo.pop(), [])
        found += children
        todo += children
    return found


def status_uid(status: dict[str, str]) -> int:
    """The real user id in a process's status fields (-1 when there are none)."""
    return int(status.get("Uid", "-1").split()[0])


Process = tuple[int, dict[str, str], bytes]  # pid, status fields, environ


def _processes() -> list[Process]:
    """Every process of root, the worker's user or this one, zombies included."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            status = process_status(entry)
            if status and status_uid(status) in (0, WORKER_UID, os.geteuid()):
                found.append((int(entry), status, _read(f"/proc/{entry}/environ")))
    return found


def _live_processes() -> list[Process]:
    """Processes that can still run: not zombies (a zombie is dead, only not yet reaped)."""
    return [p for p in _processes() if not p[1].get("State", "").startswith(("Z", "X"))]


class Watch:
    """Samples /proc while run_autograder runs: the grader's memory, and other runs' workers."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.grader_peak_kb = 0
        self.foreign = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            for _, status, environ in _live_processes():
                if self.harness.is_ours(environ) and status_uid(status) == 0:
                    self.grader_peak_kb = max(self.grader_peak_kb, int(status.get("VmRSS", "0 kB").split()[0]))
                elif status_uid(status) == WORKER_UID and environ and not self.harness.is_ours(environ):
                    self.foreign = True
            self._stop.wait(0.02)


class Harness:
    """One Gradescope layout in a world-traversable folder, its run, and what was left behind.

    The worker's folders go into a folder of its own (``workers``, for TMPDIR), so the worker's processes
    can be told apart from those of other grading runs on the machine.
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self.layout = GradescopeLayout(base / "autograder")
        self.root = self.layout.root
        self.workers = base / "tmp"
        self.workers.mkdir()
        self.workers.chmod(0o711)
        self.mark = Path("/tmp") / f"pwned-{base.name}"
        self.seconds = 0.0
        self.grader_peak_mb = 0.0

    def submit(self, files: dict[str, str | bytes]) -> None:
        self.layout.submit(files)

    def is_ours(self, environ: bytes) -> bool:
        return f"={self.base}/".encode() in environ

    def run(self, timeout: float = 300) -> Results:
        """run_autograder; again (at most twice more) if another grading run killed its worker.

        The engine ends a run by killing every process of the worker's user, so a grading run
        elsewhere on the machine (another test session) can SIGKILL this run's worker. A run
        that overlapped another and reports a SIGKILL proves nothing either way: it is repeated.
        ``timeout`` bounds a run that hangs: only a hang reaches it.
        """
        for _ in range(3):
            self._wait_for_reaping(5.0)
            with Watch(self) as watch:
                started = time.monotonic()
                data = self.layout.run(timeout=timeout)
                self.seconds = time.monotonic() - started
            if not (watch.foreign and "SIGKILL" in json.dumps(data)):
                break
        self.grader_peak_mb = watch.grader_peak_kb / 1024
        return data

    def _wait_for_reaping(self, seconds: float) -> None:
        """Zombies of the worker's user still count against its RLIMIT_NPROC: let init reap them."""
        deadline = time.monotonic() + seconds
        while (
            time.monotonic() < deadline
            and WORKER_UID is not None
            and any(
                status_uid(status) == WORKER_UID and status.get("State", "").startswith("Z") and status.get("PPid") == "1"
                for _, status, _ in _processes()
            )
        ):
            time.sleep(0.05)

    def leftovers(self) -> list[str]:
        """This run's processes still alive (zombies are dead and do not count)."""
        return [
            f"{pid} uid={status_uid(status)} {_read(f'/proc/{pid}/cmdline')[:80]!r}"
            for pid, status, environ in _live_processes()
            if self.is_ours(environ) and pid != os.getpid()
        ]

    def marks(self) -> list[str]:
        return sorted(str(p) for p in self.mark.parent.glob(self.mark.name + "*"))

    def cleanup(self) -> None:
        for pid, _, environ in _live_processes():
            if self.is_ours(environ) and pid != os.getpid():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        for path in self.marks():
            Path(path).unlink(missing_ok=True)
        shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def new_harness() -> Iterator[Harness]:
    """A harness of its own, every process and file of its run removed on leaving."""
    with traversable_folder("ag-attack-") as base:
        made = Harness(base)
        try:
            yield made
        finally:
            made.cleanup()


# --------------------------------------------------------------------------- outcomes


def assert_scores(data: Results, zero: Set[str] = frozenset(), imports_cleanly: bool = True, ignore: Set[str] = frozenset()) -> None:
    """Every function named in ``zero`` earns nothing; every other one but those in ``ignore`` earns full marks.

    ``imports_cleanly``: the attack's own code ran at import without an error, so the attack
    really was attempted (a typo in it would otherwise pass for a defence).
    """
    if imports_cleanly:
        assert "Problems loading your file" not in data["output"], data["output"]
    scores = scores_by_function(data)
    assert set(scores) == ALL_FUNCTIONS, data["output"]
    wrong = {
        name: earned for name, (earned, possible) in scores.items() if name not in ignore and earned != (0 if name in zero else possible)
    }
    assert not wrong, f"unexpected scores {wrong}; all: {scores}\n{data['output']}"
    # The total adds up exact shares; each shown score is rounded to 4 decimals (scoring.exactly).
    assert data["score"] == pytest.approx(sum(earned for earned, _ in scores.values()), abs=5e-5 * len(data["tests"]))


def cases_of(data: Results, function: str) -> list[Case]:
    return [t for t in data["tests"] if t.get("tags", [None])[0] == function and t.get("max_score")]


def printed(data: Results, function: str = "mlp_layer_params") -> str:
    """What the function printed, as the visible cases show it."""
    return "\n".join(t["output"] for t in cases_of(data, function) if "hidden" not in t["tags"])


def assert_clean(harness: Harness) -> None:
    """No process of this run is left, the worker's daemons included."""
    assert harness.leftovers() == []


# --------------------------------------------------------------------------- the batch tests' class


def class_files() -> dict[str, str]:
    """A class of six: right, partly wrong, crashing (in the middle), no ps3.py, ps3.py in a subfolder, nothing at all.

    Made when used: importing this module must not need PS3's known mistakes.
    """
    return {
        "submission_101/ps3.py": SOLUTION.read_text(),
        "submission_102/ps3.py": submission_with("off_by_one"),
        "submission_103/ps3.py": "import os\nprint('bye')\nos._exit(3)\n",
        "submission_104/notes.txt": "I ran out of time",
        "submission_104/scratch.py": "x = 1\n",
        "submission_104/more.py": "y = 2\n",
        "submission_105/my work/ps3.py": SOLUTION.read_text(),
        "submission_106/": "",
    }


TOTAL = total_points()  # the autograded total assignment.yaml sets: the solution's score

# Gradescope recorded full marks for 101 and 102, and ten points fewer for 105.
METADATA = f"""\
submission_101:
  :submitters:
  - :name: Zoë Ångström
    :sid: '0001'
    :email: zoe@example.edu
  :created_at: 2024-02-01 10:00:00.000000000 -08:00
  :score: {float(TOTAL)!r}
  :results:
    score: {float(TOTAL)!r}
submission_102:
  :submitters:
  - :name: =HYPERLINK("http://evil.example","click")
    :sid: 1002
    :email: a@example.edu
  - :name: <script>alert(1)</script> Núñez
    :sid: '1003'
    :email: b@example.edu
  :created_at: 2024-02-02 11:30:00.000000000 -08:00
  :score: {float(TOTAL)!r}
submission_103:
  :submitters:
  - :name: 李小龙
    :sid: '1004'
    :email: li@example.edu
  :score: 0.0
submission_104:
  :submitters:
  - :name: Mary Ann O'Neil
    :sid: '1005'
    :email: mary@example.edu
  :score:
submission_105:
  :submitters:
  - :name: "@Bob"
    :sid: '1006'
    :email: bob@example.edu
  :score: {float(TOTAL - 10)!r}
submission_106:
  :submitters:
  - :name: Empty Folder
    :sid: '1007'
    :email: empty@example.edu
  :score: 0.0
"""

IDS = ["101", "102", "103", "104", "105", "106"]


def make_export(folder: Path, metadata: str | None = METADATA) -> Path:
    """The class as a Gradescope export under ``folder``, with ``metadata`` as its submission_metadata.yml."""
    for name, content in class_files().items():
        path = folder / name
        if name.endswith("/"):
            path.mkdir(parents=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    if metadata is not None:
        (folder / batch.METADATA_NAME).write_text(metadata, encoding="utf-8")
    return folder


def run_batch(*arguments: str | Path) -> int:
    return main(["batch", *map(str, arguments)])
