"""``python -m autograder batch EXPORT``: grade a whole class the way Gradescope grades one student.

Each submission takes exactly Gradescope's path (``find_submission``, then
``runner.grade`` in its own sandbox, then ``gradescope_json``), so the grades a
TA gets here are the grades students would get there. This module adds only
the work around it:

- reading an export (zip or folder) safely, with its ``submission_metadata.yml``;
- running several sandboxes at once. Threads suffice: each ``grade()`` spends
  its time waiting on its worker process, and threads share one loaded copy of
  the specs (read-only once ``assign_max_scores`` has run, which we run first);
- as root, one sandbox user per thread. The sandbox ends every grade by killing
  every process of its user, so two slots sharing a user would kill each
  other's workers in the middle of a grade;
- fresh work first: a grade that waits long on its worker while fresh
  submissions wait is put off to the back of the queue, its worker stopped at
  once (see ParallelGrading and slots.py);
- resuming: ``<id>/summary.json`` records a fingerprint of what decided the
  grade (the graded file, the specs, the engine) and the per-case verdicts,
  so a rerun grades only what changed and still rebuilds the CSV and report;
- the class outputs: ``grades.csv`` and ``report.html`` (see report.py).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import gc
import hashlib
import json
import math
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from autograder.apps.batch.export import (  # noqa: F401 - re-exported: the command's names in one place
    MAX_ZIP_MEMBER_BYTES,
    METADATA_NAME,
    BatchError,
    Export,
    Submission,
    extract_zip,
    listing,
    read_submissions,
    unpacked,
)
from autograder.apps.batch.progress import Progress
from autograder.apps.batch.records import Record
from autograder.apps.batch.slots import PutOff, SlotSandbox
from autograder.apps.course import Course
from autograder.apps.paths import default_problems
from autograder.engine import scoring
from autograder.engine.runner import Cancelled, PlannedCalls, ProblemSet
from autograder.output.files import write_json, write_text
from autograder.sandbox import cgroups, zygote
from autograder.text import Message, StudentText, Text, Trusted

if TYPE_CHECKING:
    from autograder.model import Report

RESULTS_NAME = "results.json"
RECORD_NAME = "summary.json"
MARKER_NAME = ".autograder-batch"  # marks a folder this command made, and which export it was made from
GRADES_NAME, REPORT_NAME = "grades.csv", "report.html"  # the class's own outputs, beside one folder per submission
TERMINATING = (signal.SIGTERM, signal.SIGHUP)  # taken as Ctrl-C (see run)
WORKER_USER_PREFIX = "autograder-worker-"

CANCEL_WAIT_SECONDS = 15.0
POLL_SECONDS = 0.05  # how often the scheduler looks for a grade to put off, between finished grades
TRIVIAL_NOTE = re.compile(r"Graded [^/]+\.")  # the note of a file found at the top of the folder: not worth a column


@dataclass
class Job:
    """A submission to grade: the file found in it (or, with ``file`` None, why there is none)."""

    submission: Submission
    file: Path | None
    note: Text  # which file was graded, or why none was (it names the student's files)
    fingerprint: str


# --------------------------------------------------------------------------- the command


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """The ``batch`` command's options (``name`` is the command's name, for the help text)."""
    parser.add_argument(
        "export",
        type=Path,
        metavar="EXPORT",
        help="a Gradescope 'Export Submissions' zip or folder, or a folder of submission folders or .py files",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("batch_results"),
        help="where results go (default: ./batch_results); rerunning into it grades only what changed",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        metavar="N",
        help="submissions graded at once (default: twice the CPUs this process may use, by its affinity and its cgroups' CPU quota, and one more: "
        "a slot waits often, for its worker to start or stop, for the kernel, for the grader's interpreter lock)",
    )
    parser.add_argument("--force", action="store_true", help="regrade every submission, even unchanged ones")
    parser.add_argument(
        "--allow-unisolated",
        action="store_true",
        help="grade even where this kernel cannot keep student code away from your processes and files",
    )
    parser.add_argument("--problems", type=Path, default=None, help=f"the problems folder (default: {default_problems()})")
    parser.epilog = f"Example: python -m autograder {name} submissions.zip --out grades"


def default_jobs() -> int:
    """Slots for the CPUs this process may use: 2 per CPU, and 1. Its affinity (taskset, a container's cpuset) says
    which CPUs, its cgroups' CPU quota (``docker --cpus``, Kubernetes limits) how much of them.

    Measured on 2 CPUs, a class of 300: 3 slots 23.4/s, 4 slots 24.4/s, 5 slots 25.2/s (paired, 6 runs each).
    """
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cgroups.cpu_quota()
    if quota is not None:
        usable = max(1, min(usable, math.ceil(quota)))
    return 2 * usable + 1


def run(arguments: argparse.Namespace) -> int:
    """Grade everything in ``arguments.export``; 0 when done, 1 if the grader failed on some, 2 on bad input, 130 on Ctrl-C.

    SIGTERM (``timeout``, systemd, ``kill``) and SIGHUP (a closed terminal) are taken as Ctrl-C: what is graded is
    kept and written, workers and temporary folders are removed. Left to their defaults, they ended the process
    at once, leaving every student's files unpacked in /tmp and no grades.csv.
    """
    in_main = threading.current_thread() is threading.main_thread()
    # Only where they would end the process: under nohup, SIGHUP is ignored, and must stay so.
    taken = [number for number in TERMINATING if signal.getsignal(number) is signal.SIG_DFL] if in_main else []
    previous = {number: signal.signal(number, _interrupt) for number in taken}
    try:
        return _run(arguments)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _interrupt(number: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run(arguments: argparse.Namespace) -> int:
    from autograder.apps.preflight import refusal

    started = time.monotonic()
    out = Path(arguments.out)
    if not 1 <= arguments.jobs <= 256:
        print("error: --jobs must be between 1 and 256.", file=sys.stderr)
        return 2
    try:
        with unpacked(Path(arguments.export)) as export:
            submissions = read_submissions(export.folder, skip=out)
            for submission in submissions:
                submission.notes += export.skipped.get(submission.id, [])
            _rename_ids_clashing_with_outputs(submissions)
            identity = export_identity(Path(arguments.export), export, submissions)
            problem_set, course = _load_specs(arguments.problems or default_problems())
            problems, specs_print = problem_set.problems, problem_set.fingerprint + repr(course)
            _check_output(out, identity, arguments.force)
            stored = {} if arguments.force else _stored_records(out, submissions)
            planned = [plan(submission, specs_print, course) for submission in submissions]
            jobs = [job for job in planned if stored.get(job.submission.id, {}).get("fingerprint") != job.fingerprint]
            slots = min(arguments.jobs, len(jobs))
            with worker_users(slots) as users:
                if users and (reason := refusal(users[0], arguments.allow_unisolated)):
                    raise BatchError(reason)
                _create_output(out, identity)
                print(
                    f"{len(submissions)} submissions: {len(jobs)} to grade, {len(submissions) - len(jobs)} unchanged since the last run.",
                    file=sys.stderr,
                )
                progress = Progress(len(jobs), slots=slots)
                # What is loaded now (the engine, NumPy, the problem set) outlives every grade: frozen while they
                # run, the cyclic garbage collector does not walk it again at each full collection (~20 ms each).
                gc.freeze()
                try:
                    records, interrupted = ParallelGrading(jobs, problem_set, course, out, users).run(progress)
                    progress.close()
                except BaseException:
                    _give_back(out)
                    raise
                finally:
                    gc.unfreeze()
                if interrupted:  # a grade whose record reached the disk as the interrupt came is done, as a rerun finds it
                    current = {job.submission.id: job.fingerprint for job in jobs if job.submission.id not in records}
                    finished = _stored_records(out, [job.submission for job in jobs if job.submission.id in current])
                    records.update({key: record for key, record in finished.items() if record.get("fingerprint") == current[key]})
    except BatchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before grading began (ParallelGrading handles its own)
        print("Interrupted before any grading: nothing was graded.", file=sys.stderr)
        return 130
    # A changed submission that the interrupt left ungraded shows as not graded, never with its stale grade.
    regraded = {job.submission.id for job in jobs}
    rows = [(s, records.get(s.id) if s.id in regraded else stored.get(s.id)) for s in submissions]
    from autograder.apps.batch.csvfile import write_csv
    from autograder.apps.batch.report import write_feedback_pages, write_report

    try:
        write_csv(out / GRADES_NAME, rows, problems)
        write_feedback_pages(out, [(submission, record) for submission, record in rows if submission.id not in regraded])
        write_report(out / REPORT_NAME, rows, problems, source=str(arguments.export), title=course.title)
    finally:
        _give_back(out)
    return _finish(rows, records, jobs, out, time.monotonic() - started, interrupted)


def _finish(
    rows: list[tuple[Submission, Record | None]], records: dict[str, Record], jobs: list[Job], out: Path, seconds: float, interrupted: bool
) -> int:
    """Tell the TA what happened and what is left; pick the exit code."""
    from autograder.apps.batch.csvfile import score_difference

    errors = [s.id for s, r in rows if r and r["status"] == "grader error"]
    ungraded = [job.submission.id for job in jobs if job.submission.id not in records]
    rate = f" ({len(records) / seconds:.1f}/s)" if records and seconds > 0 else ""
    print(
        f"Graded {len(records)} submissions in {seconds:.1f} s{rate}. Wrote {out / GRADES_NAME}, "
        f"{out / REPORT_NAME} and one results.json per submission in {out}."
    )
    scores = [r["score"] for _, r in rows if r and r["status"] != "not graded"]
    differ = [s for s, r in rows if score_difference(s, r)]
    recorded = any(s.recorded_score is not None for s, _ in rows)
    if scores:
        print(
            f"Scores: mean {sum(scores) / len(scores):.2f}"
            + (f"; {len(differ)} {'differs' if len(differ) == 1 else 'differ'} from the score Gradescope recorded." if recorded else ".")
        )
    if errors:
        print(f"The grader itself failed on {len(errors)}: {listing(errors)}. They are regraded on the next run.")
    if interrupted:
        print(
            f"Interrupted: {len(ungraded)} not graded ({listing(ungraded)}). Finished results are kept; "
            "run the same command again to grade only the rest.",
            file=sys.stderr,
        )
        return 130
    return 1 if errors else 0


# --------------------------------------------------------------------------- what to grade


def _load_specs(folder: Path) -> tuple[ProblemSet, Course]:
    """Load the specs once for every submission, with their fingerprint (of everything but the course that decides a
    grade), and the course."""
    from autograder.apps.course import CourseError, load
    from autograder.engine.errors import SpecError
    from autograder.engine.problemset import load_with_fingerprint

    try:
        (problems, stamp), course = load_with_fingerprint(Path(folder)), load(Path(folder))
    except (SpecError, CourseError) as error:
        raise BatchError(f"the problem specs cannot be used, so nothing was graded: {error}") from None
    return ProblemSet(problems, stamp, planned=PlannedCalls()), course


def _rename_ids_clashing_with_outputs(submissions: list[Submission]) -> None:
    """Rename a submission whose id would make its folder one of the class's own outputs (a student's file
    ``report.html.py``, a folder ``submission_grades.csv``): writing them would fail, and the class lose both.

    Compared case-insensitively, as a Mac's file system does; the new id is stable, so a rerun resumes it.
    """
    reserved = {name.casefold() for name in (GRADES_NAME, REPORT_NAME, MARKER_NAME)}
    taken = {submission.id.casefold() for submission in submissions}
    for submission in submissions:
        if submission.id.casefold() not in reserved:
            continue
        renamed = f"{submission.id}-submission"
        while renamed.casefold() in taken | reserved:
            renamed += "-again"
        taken.add(renamed.casefold())
        submission.notes.append(
            Message(Trusted("Graded as "), StudentText(renamed), Trusted(": its own id names one of the class's outputs."))
        )
        submission.id = StudentText(renamed)


def plan(submission: Submission, specs_print: str, course: Course) -> Job:
    """Find the file Gradescope would grade, and fingerprint it with the specs."""
    from autograder.apps.submission import NoSubmission, find_submission, named_file

    file: Path | None = None
    note: Text = Trusted("")
    try:
        if submission.path is None:
            raise NoSubmission(Trusted(f"No files were submitted. Upload your file named {course.starter_name}."))
        if submission.path.is_dir():
            file, note = find_submission(submission.path, course)
        else:
            file = named_file(submission.path, course, "unzip it into a folder of its own, and batch grades what it holds")
    except NoSubmission as problem:
        note = problem.message
    digest = hashlib.sha256(specs_print.encode())
    digest.update(note.encode() + b"\0")
    digest.update("\0".join(submission.notes).encode() + b"\0")
    if file is not None:
        digest.update(file.read_bytes())
    return Job(submission, file, note, digest.hexdigest())


# --------------------------------------------------------------------------- the output folder


def export_identity(argument: Path, export: Export, submissions: list[Submission]) -> dict[str, Any]:
    """What says which export an output folder was made from: its layout, where it was, and its submission ids.

    Gradescope's submission ids are unique across assignments, so a later
    export of the same assignment shares most of them and another assignment's
    shares none; a folder of plain submissions is named after students, so
    there the export's own path counts too.
    """
    return {
        "kind": "gradescope" if export.gradescope else "plain",
        "source": str(argument.resolve()),
        "submissions": sorted(s.id for s in submissions),
    }


def _same_export(previous: dict[str, Any], identity: dict[str, Any]) -> bool:
    before, now = set(previous.get("submissions") or []), set(identity["submissions"])
    if previous.get("kind") != identity["kind"] or len(before & now) * 2 < min(len(before), len(now)):
        return False
    return bool(identity["kind"] == "gradescope" or previous.get("source") == identity["source"])


def _check_output(out: Path, identity: dict[str, Any], force: bool) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER_NAME).exists())):
        raise BatchError(f"{out} already exists and was not made by this command; pass another --out.")
    try:
        previous = json.loads((out / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # a new folder, or one made before the marker said which export (it then learns it)
    if isinstance(previous, dict) and not force and not _same_export(previous, identity):
        raise BatchError(
            f"{out} holds the results of another export ({previous.get('source', 'unknown')}, "
            f"{len(previous.get('submissions') or [])} submissions); pass another --out, "
            "or --force to regrade this export into it."
        )


def _create_output(out: Path, identity: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        out.chmod(0o700)  # other students' results stay out of reach of the sandbox users
    write_json(out / MARKER_NAME, identity)


def _give_back(out: Path) -> None:
    """Under sudo, hand the output folder to the user who ran sudo (it stays 0700: theirs alone)."""
    uid, gid = os.environ.get("SUDO_UID", ""), os.environ.get("SUDO_GID", "")
    if os.geteuid() != 0 or not uid.isdigit() or not out.is_dir():
        return
    owner, group = int(uid), int(gid) if gid.isdigit() else -1
    paths = [out, *out.rglob("*")]
    for path in paths:
        with contextlib.suppress(OSError):
            os.chown(path, owner, group, follow_symlinks=False)


def _stored_records(out: Path, submissions: list[Submission]) -> dict[str, Record]:
    """The records of an earlier run, for the submissions still in the export.

    A record counts only when it and the submission's results both read back whole: files are not flushed to disk
    (output/files.py), so after the machine crashed either may be empty, and that submission is graded again.
    """
    records: dict[str, Record] = {}
    for submission in submissions:
        try:
            record = json.loads((out / submission.id / RECORD_NAME).read_text(encoding="utf-8"))
            results = json.loads((out / submission.id / RESULTS_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(results, dict):
            records[submission.id] = cast(Record, record)  # written by this command; read back as it was
    return records


# --------------------------------------------------------------------------- grading in parallel


@contextlib.contextmanager
def worker_users(count: int) -> Iterator[list[str]]:
    """One sandbox user per parallel slot (as root); the default user, which the sandbox ignores, otherwise.

    A lock file per user stops a second batch run on the same machine from
    using the same users: it takes the next free numbers instead.
    """
    from autograder.sandbox.isolation import DEFAULT_WORKER_USER

    if os.geteuid() != 0:
        yield [DEFAULT_WORKER_USER] * count
        return
    import fcntl

    from autograder.sandbox.isolation import open_lock

    locks: list[int] = []
    users: list[str] = []
    try:
        for number in range(1, count + 257):
            if len(users) == count:
                break
            name = f"{WORKER_USER_PREFIX}{number}"
            try:  # the sandbox's own lock scheme, in its root-only folder; a lock of its own, as each grade takes the user's
                lock = open_lock(f"batch-{name}.lock")
            except OSError:  # not a plain file (a link, say): that slot's user is not taken
                continue
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(lock)
                continue
            locks.append(lock)
            users.append(name)
        for slot, name in enumerate(users, 1):
            _ensure_user(name, slot)
        yield users
    finally:
        for lock in locks:
            os.close(lock)


def _ensure_user(name: str, slot: int) -> None:
    import pwd

    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    command = ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BatchError(
            f"could not create the sandbox user {name} ({' '.join(command)}): {done.stderr.strip()}. Create it yourself, or use --jobs 1."
        )
    print(f"Created user {name}: parallel slot {slot} runs student code as this user, apart from the other slots.", file=sys.stderr)


class ParallelGrading:
    """Grades jobs on one thread per user in ``users`` (each slot's own sandbox user), fresh work first.

    A submission that hangs would hold its slot (and, busy-looping, a core)
    until its deadlines. While fresh jobs wait, the scheduler puts off a grade
    whose wait on its worker has run long (slots.py): its worker is stopped at
    once and the job goes to the back of the queue, graded again from the start
    once every fresh job has begun. A slot takes fresh jobs first, then the put
    off ones; a grade begun when no fresh job waits is never put off, so each
    job is put off at most once.
    On Ctrl-C, in-flight grades are cancelled and their workers killed; a grade
    cut short is never written, so the next run grades it again.
    """

    def __init__(self, jobs: list[Job], problem_set: ProblemSet, course: Course, out: Path, users: list[str]) -> None:
        self.problem_set, self.course, self.out = problem_set, course, out
        self.total = len(jobs)
        self.fresh: collections.deque[Job] = collections.deque(jobs)
        self.later: collections.deque[Job] = collections.deque()  # put off: graded once no fresh job waits
        self.finished: queue.SimpleQueue[tuple[Job, Record]] = queue.SimpleQueue()
        self.stop = threading.Event()
        self.lock = threading.Lock()  # guards the two queues
        self.slots = [Slot(user) for user in users]
        self.threads: list[threading.Thread] = []
        self.progress: Progress | None = None

    def run(self, progress: Progress) -> tuple[dict[str, Record], bool]:
        """Grade everything; return the new records and whether Ctrl-C stopped it."""
        records: dict[str, Record] = {}
        interrupted = False
        self.progress = progress
        try:
            self.threads = [threading.Thread(target=self._work, args=(slot,), daemon=True) for slot in self.slots]
            for thread in self.threads:
                thread.start()
            while len(records) < self.total:
                self._put_off_the_overdue()
                try:
                    job, record = self.finished.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    if not any(thread.is_alive() for thread in self.threads):
                        break  # only if a thread died of a bug: its job is reported as not graded
                    progress.draw()
                    continue
                records[job.submission.id] = record
                progress.advance(failed=record["status"] == "grader error", name=job.submission.id, seconds=record.get("seconds"))
        except KeyboardInterrupt:
            interrupted = True
        finally:  # after Ctrl-C, or any failure here: no grade may go on without us
            if any(thread.is_alive() for thread in self.threads):
                progress.say("Stopping: cancelling the grades in progress...")
                self._cancel()
        while True:  # grades that finished just before Ctrl-C
            try:
                job, record = self.finished.get_nowait()
            except queue.Empty:
                return records, interrupted
            records[job.submission.id] = record

    def _put_off_the_overdue(self) -> None:
        """While fresh jobs wait, stop each grade whose wait on its worker has run long (slots.py)."""
        if not self.fresh:
            return
        now = time.monotonic()
        for slot in self.slots:
            sandbox = slot.sandbox
            if sandbox is not None and not sandbox.put_off.is_set() and sandbox.overdue(now):
                sandbox.put_off_now()

    def _next(self) -> Job | None:
        with self.lock:
            if self.stop.is_set():
                return None
            return self.fresh.popleft() if self.fresh else self.later.popleft() if self.later else None

    def _work(self, slot: Slot) -> None:
        try:
            while (job := self._next()) is not None:
                if self.progress is not None:
                    self.progress.begin(job.submission.id)
                try:
                    record = grade_one(job, self.problem_set, self.course, slot, self.out, self.stop)
                except PutOff:
                    with self.lock:
                        self.later.append(job)
                    if self.progress is not None:
                        self.progress.pause(job.submission.id)
                    continue
                except Exception:  # noqa: BLE001 - e.g. a full disk: count it, keep the slot going
                    record = {"status": "grader error", "score": 0.0, "message": traceback.format_exc(limit=3).strip().splitlines()[-1]}
                self.finished.put((job, record))
        except Cancelled:
            return

    def _cancel(self) -> None:
        """Tell every grade to stop, kill the workers they wait on, and wait for the threads.

        ``grade()`` raises Cancelled before its next case once ``stop`` is set;
        killing the worker wakes a thread blocked on its pipe at once.
        """
        self.stop.set()
        in_main = threading.current_thread() is threading.main_thread()
        # A second Ctrl-C (or SIGTERM) must not cut this short.
        previous = {number: signal.signal(number, signal.SIG_IGN) for number in (signal.SIGINT, *TERMINATING)} if in_main else {}
        try:
            deadline = time.monotonic() + CANCEL_WAIT_SECONDS
            while any(thread.is_alive() for thread in self.threads) and time.monotonic() < deadline:
                _kill_own_workers()
                for thread in self.threads:
                    thread.join(timeout=0.05)
            _kill_own_workers()
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


@dataclass
class Slot:
    """One grading thread's own sandbox user, and the sandbox it grades in now (None between grades), for the scheduler to watch."""

    user: str
    sandbox: SlotSandbox | None = None


def grade_one(job: Job, problem_set: ProblemSet, course: Course, slot: Slot, out: Path, stop: threading.Event) -> Record:
    """Grade one submission as Gradescope would; write its results.json, then its record.

    Raises PutOff when the scheduler put the grade off (slots.py): nothing is written.
    """
    from autograder.apps.batch.report import FEEDBACK_NAME, feedback_page
    from autograder.engine.runner import grade
    from autograder.output.notes import graded_json
    from autograder.output.results import error_json, grader_failure_json
    from autograder.sandbox.gate import CallGate

    started = time.monotonic()
    if job.file is None:
        data = error_json(job.note, notes=job.submission.notes)
        record: Record = {"status": "no submission", "message": job.note, "score": 0.0}
    else:
        slot.sandbox = SlotSandbox(job.file, course.make_limits(), slot.user, course.package_names, course.private_folders)
        try:
            report = grade(
                CallGate.started(slot.sandbox),
                problem_set,
                cancel=stop,
                packages=course.package_names,
                module_names=course.module_names,
            )
        except (Cancelled, PutOff):
            raise
        except Exception:  # noqa: BLE001 - an engine bug: this submission gets a valid result saying so
            trace = traceback.format_exc()
            data = grader_failure_json(trace)
            record = {"status": "grader error", "message": trace.strip().splitlines()[-1], "score": 0.0}
        else:
            data = graded_json(report, job.note, job.submission.notes)
            record = summarize(report)
        finally:
            slot.sandbox = None
        folder = job.submission.path
        record["file"] = str(job.file.relative_to(folder)) if folder is not None and folder.is_dir() else job.file.name
    # Every note the student's results carry, for the CSV and the report (aside from the plain "Graded `<file>`." of a file at the top).
    record["notes"] = [
        *job.submission.notes,
        *([job.note] if job.note and not TRIVIAL_NOTE.fullmatch(job.note) else []),
        *([record["message"]] if record["message"] and record["status"] != "no submission" else []),
    ]
    # A failed grade gets no fingerprint, so the next run tries it again.
    record["fingerprint"] = job.fingerprint if record["status"] != "grader error" else None
    record["seconds"] = round(time.monotonic() - started, 3)
    if stop.is_set():
        raise Cancelled  # its worker may have been killed under it: not a grade
    write_json(out / job.submission.id / RESULTS_NAME, data)
    write_text(out / job.submission.id / FEEDBACK_NAME, feedback_page(job.submission, record, data))  # from the data in hand
    write_json(out / job.submission.id / RECORD_NAME, record)  # last: it is what marks the submission done
    return record


def summarize(report: Report) -> Record:
    """What the CSV and the class report need from a graded submission, as plain JSON."""
    return {
        "status": "graded",
        "message": "; ".join(report.notices)[:500],
        "score": scoring.total(report),
        "max_score": scoring.possible(report),
        "problems": {key: earned for key, (earned, _) in scoring.per_problem(report).items()},
        "maxima": {key: possible for key, (_, possible) in scoring.per_problem(report).items()},
        "passed": [r.case.number for r in report.results if r.verdict.passed],
        "failures": {
            r.case.number: {"summary": r.verdict.summary, "diagnosis": r.diagnosis, "where": r.case.where}
            for r in report.results
            if not r.verdict.passed
        },
        "cases": {r.case.number: r.case.where for r in report.results},
        "checks": {
            c.number: {"name": c.name, "problem": c.problem, "passed": c.passed, "hidden": c.visibility != "visible"} for c in report.checks
        },
        "notices": report.notices[:20],
        "load_failed": report.load_failed or bool(report.error),
        "timeouts": [r.case.number for r in report.results if r.outcome is not None and r.outcome.kind == "timeout"],
    }


def _kill_own_workers() -> None:
    """Tell each sandbox this process started to stop: its reaper kills the worker and all it started, then exits.

    A SIGTERM, not a SIGKILL: killed outright, the reaper could not sweep the
    worker, which (running as another user) does not die with it.
    """
    zygote.stop_all_workers()
