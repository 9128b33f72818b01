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
- spare threads: a hanging submission holds its thread until its own deadline,
  so a spare takes over its slot meanwhile (see ParallelGrading);
- resuming: ``<id>/summary.json`` records a fingerprint of what decided the
  grade (the graded file, the specs, the engine) and the per-case verdicts,
  so a rerun grades only what changed and still rebuilds the CSV and report;
- the class outputs: ``grades.csv`` and ``report.html`` (see report.py).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.apps.submission import IGNORED_NAMES
from autograder.engine import scoring
from autograder.engine.runner import Cancelled
from autograder.engine.specs import natural_key
from autograder.output.files import write_json

if TYPE_CHECKING:
    from autograder.model import Problem, Report

METADATA_NAME = "submission_metadata.yml"
SUBMISSION_FOLDER = re.compile(r"submission_([A-Za-z0-9][A-Za-z0-9_.-]*)")
RESULTS_NAME = "results.json"
RECORD_NAME = "summary.json"
MARKER_NAME = ".autograder-batch"  # marks a folder this command made, so it never writes into someone else's
SUBMISSION_SUFFIXES = (".py", ".ipynb")
WORKER_USER_PREFIX = "autograder-worker-"

MAX_ZIP_MEMBERS = 100_000
MAX_ZIP_MEMBER_BYTES = 256 << 20
MAX_ZIP_TOTAL_BYTES = 4 << 30
CANCEL_WAIT_SECONDS = 15.0
STALL_SECONDS = 3.0  # a right submission takes well under a second; one this slow is probably hanging
SPARES_PER_SLOT = 2  # slots that take over from stalled ones, so hangs (30 s at import) rarely stall the batch


class BatchError(Exception):
    """Input the command cannot use. The message says what to do; the exit code is 2 and nothing is written."""


@dataclass
class Submission:
    """One student's (or group's) submission, and what Gradescope knows about it."""

    id: str
    path: Path | None  # a folder, a lone .py/.ipynb file, or None if the export lists it without a folder
    submitters: list[dict[str, str]] = field(default_factory=list)  # each with name, sid, email
    created_at: str = ""
    recorded_score: float | None = None


@dataclass
class Job:
    """A submission to grade: the file found in it (or, with ``file`` None, why there is none)."""

    submission: Submission
    file: Path | None
    note: str
    fingerprint: str


# --------------------------------------------------------------------------- the command


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """The ``batch`` command's options (``name`` is the command's name, for the help text)."""
    parser.add_argument("export", type=Path, metavar="EXPORT",
                        help="a Gradescope 'Export Submissions' zip or folder, or a folder of submission folders or .py files")
    parser.add_argument("--out", type=Path, default=Path("batch_results"),
                        help="where results go (default: ./batch_results); rerunning into it grades only what changed")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="submissions graded at once (default: the number of CPUs)")
    parser.add_argument("--force", action="store_true", help="regrade every submission, even unchanged ones")
    parser.add_argument("--problems", type=Path, default=None, help="the problems folder (default: ./problems)")
    parser.epilog = f"Example: python -m autograder {name} submissions.zip --out grades"


def run(arguments: argparse.Namespace) -> int:
    """Grade everything in ``arguments.export``; 0 when done, 1 if the grader failed on some, 2 on bad input, 130 on Ctrl-C."""
    from autograder.apps.paths import default_problems

    started = time.monotonic()
    out = Path(arguments.out)
    if not 1 <= arguments.jobs <= 256:
        print("error: --jobs must be between 1 and 256.", file=sys.stderr)
        return 2
    try:
        with _unpacked(Path(arguments.export)) as folder:
            submissions = read_submissions(folder, skip=out)
            problems, specs_print = _load_specs(arguments.problems or default_problems())
            _check_output(out)
            stored = {} if arguments.force else _stored_records(out, submissions)
            planned = [plan(submission, specs_print) for submission in submissions]
            jobs = [job for job in planned if stored.get(job.submission.id, {}).get("fingerprint") != job.fingerprint]
            _create_output(out)
            print(f"{len(submissions)} submissions: {len(jobs)} to grade, {len(submissions) - len(jobs)} unchanged since the last run.",
                  file=sys.stderr)
            progress = Progress(len(jobs))
            slots = min(arguments.jobs, len(jobs))
            with worker_users(min((1 + SPARES_PER_SLOT) * slots, len(jobs))) as users:
                records, interrupted = ParallelGrading(jobs, problems, out, users, slots).run(progress)
            progress.close()
    except BatchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before grading began (ParallelGrading handles its own)
        print("Interrupted before any grading: nothing was graded.", file=sys.stderr)
        return 130
    # A changed submission that the interrupt left ungraded shows as not graded, never with its stale grade.
    regraded = {job.submission.id for job in jobs}
    rows = [(s, records.get(s.id) if s.id in regraded else stored.get(s.id)) for s in submissions]
    from autograder.apps.batch.report import write_csv, write_report

    write_csv(out / "grades.csv", rows, problems)
    write_report(out / "report.html", rows, problems, source=str(arguments.export))
    return _finish(rows, records, jobs, out, time.monotonic() - started, interrupted)


def _finish(rows: list, records: dict, jobs: list[Job], out: Path, seconds: float, interrupted: bool) -> int:
    """Tell the TA what happened and what is left; pick the exit code."""
    from autograder.apps.batch.report import score_difference

    errors = [s.id for s, r in rows if r and r["status"] == "grader error"]
    ungraded = [job.submission.id for job in jobs if job.submission.id not in records]
    rate = f" ({len(records) / seconds:.1f}/s)" if records and seconds > 0 else ""
    print(f"Graded {len(records)} submissions in {seconds:.1f} s{rate}. Wrote {out / 'grades.csv'}, "
          f"{out / 'report.html'} and one results.json per submission in {out}.")
    scores = [r["score"] for _, r in rows if r and r["status"] != "not graded"]
    differ = [s for s, r in rows if score_difference(s, r)]
    if scores:
        print(f"Scores: mean {sum(scores) / len(scores):.2f}; {len(differ)} differ from the score Gradescope recorded.")
    if errors:
        print(f"The grader itself failed on {len(errors)}: {_listing(errors)}. They are regraded on the next run.")
    if interrupted:
        print(f"Interrupted: {len(ungraded)} not graded ({_listing(ungraded)}). Finished results are kept; "
              "run the same command again to grade only the rest.", file=sys.stderr)
        return 130
    return 1 if errors else 0


def _listing(ids: list[str], limit: int = 10) -> str:
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


# --------------------------------------------------------------------------- reading the input


@contextlib.contextmanager
def _unpacked(export: Path) -> Iterator[Path]:
    """The export as a folder: itself, or a zip unpacked into a private temporary folder removed afterwards."""
    import zipfile

    if export.is_dir():
        yield export
        return
    if not export.exists():
        raise BatchError(f"{export} does not exist. Pass a Gradescope export (.zip or folder) or a folder of submissions.")
    if not zipfile.is_zipfile(export):
        raise BatchError(f"{export} is neither a folder nor a zip file. Pass a Gradescope export or a folder of submissions.")
    temporary = Path(tempfile.mkdtemp(prefix="ag-batch-"))  # mode 0700: no sandbox user can read other students' files
    try:
        extract_zip(export, temporary)
        entries = [p for p in temporary.iterdir() if p.name not in IGNORED_NAMES]
        # Zips usually wrap everything in one folder; look inside it.
        yield entries[0] if len(entries) == 1 and entries[0].is_dir() else temporary
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def extract_zip(archive: Path, target: Path) -> None:
    """Unpack ``archive`` into ``target``: regular files only, never outside ``target``, within size caps.

    Sizes are counted on the bytes actually written, not on what the zip's
    headers claim, so a zip bomb stops at the cap.
    """
    import zipfile

    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise BatchError(f"{archive} holds {len(members):,} files; the limit is {MAX_ZIP_MEMBERS:,}.")
            total = 0
            for info in members:
                parts = [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")]
                if info.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                    raise BatchError(f"{archive} contains the unsafe path {info.filename!r} (it points outside the folder). "
                                     "Export the submissions again from Gradescope.")
                kind = (info.external_attr >> 16) & 0o170000
                if info.is_dir() or not parts or kind not in (0, 0o100000):  # skip folders, symlinks, devices
                    continue
                destination = target.joinpath(*parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(info) as source, open(destination, "wb") as sink:
                    written = 0
                    while chunk := source.read(1 << 20):
                        written += len(chunk)
                        total += len(chunk)
                        if written > MAX_ZIP_MEMBER_BYTES or total > MAX_ZIP_TOTAL_BYTES:
                            raise BatchError(f"{archive} unpacks to more than the limit ({info.filename!r} alone is "
                                             f"over {written:,} bytes); it is not a plain export of submissions.")
                        sink.write(chunk)
    except (zipfile.BadZipFile, OSError, RuntimeError) as error:  # RuntimeError: an encrypted member
        raise BatchError(f"cannot unpack {archive}: {error}") from None


def read_submissions(folder: Path, skip: Path | None = None) -> list[Submission]:
    """The submissions in an export folder: Gradescope's layout if it has the metadata, else one per folder or file."""
    entries = _entries(folder, skip)
    if (folder / METADATA_NAME).is_file():
        return _gradescope_submissions(folder / METADATA_NAME, entries)
    exported = [entry.name for entry in entries if entry.is_dir() and SUBMISSION_FOLDER.fullmatch(entry.name)]
    if exported:
        raise BatchError(f"{folder} holds Gradescope submission folders ({_listing(exported, 3)}) but no {METADATA_NAME}, "
                         "so names and the scores Gradescope recorded are unknown. Pass the whole export (the zip from "
                         "'Export Submissions'), or rename the folders to grade them as plain folders.")
    submissions: list[Submission] = []
    taken = {entry.name for entry in entries if entry.is_dir()}
    for entry in entries:
        if entry.is_dir():
            submissions.append(Submission(entry.name, entry))
        elif entry.suffix.lower() in SUBMISSION_SUFFIXES:
            submissions.append(Submission(entry.stem if entry.stem not in taken else entry.name, entry))
            taken.add(submissions[-1].id)
    if not submissions:
        raise BatchError(f"No submissions in {folder}: expected a Gradescope export (with {METADATA_NAME}), "
                         "one folder per student, or .py files.")
    return submissions


def _entries(folder: Path, skip: Path | None) -> list[Path]:
    """The folder's visible entries in natural order, without symlinks or the output folder."""
    skip_real = skip.resolve() if skip is not None and skip.exists() else None
    entries = []
    for entry in sorted(folder.iterdir(), key=lambda p: natural_key(p.name)):
        if entry.name.startswith(".") or entry.name in IGNORED_NAMES or entry.resolve() == skip_real:
            continue
        if entry.is_symlink():
            _warn(f"skipping {entry}: a symbolic link, which could point anywhere on this machine")
            continue
        entries.append(entry)
    return entries


def _gradescope_submissions(metadata: Path, entries: list[Path]) -> list[Submission]:
    folders = {entry.name: entry for entry in entries if entry.is_dir()}
    submissions = [_from_metadata(metadata, key, entry, folders.pop(str(key), None)) for key, entry in _read_metadata(metadata).items()]
    for name, path in folders.items():
        if SUBMISSION_FOLDER.fullmatch(name):
            _warn(f"{name} is not in {METADATA_NAME}; it is graded without names or a recorded score")
            submissions.append(Submission(SUBMISSION_FOLDER.fullmatch(name).group(1), path))
        else:
            _warn(f"ignoring {path}: not a submission_<id> folder")
    return sorted(submissions, key=lambda s: natural_key(s.id))


def _read_metadata(path: Path) -> dict:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BatchError(f"cannot read {path}: {error}") from None
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe_load's loader, in C
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise BatchError(f"{path} is not valid YAML{where}: {getattr(error, 'problem', None) or error}. "
                         "Export the submissions again from Gradescope.") from None
    if not isinstance(data, dict) or not data:
        raise BatchError(f"{path} should map each submission_<id> to its :submitters, :created_at and :score, "
                         f"but it holds {'nothing' if not data else 'a ' + type(data).__name__}.")
    return data


def _from_metadata(path: Path, key: Any, entry: Any, folder: Path | None) -> Submission:
    """One metadata entry, checked: Gradescope writes Ruby symbols, so keys start with a colon."""
    match = SUBMISSION_FOLDER.fullmatch(str(key))
    if not match:
        raise BatchError(f"{path}: the key {key!r} is not of the form submission_<id>.")
    if not isinstance(entry, dict):
        raise BatchError(f"{path}: {key} should be a mapping with :submitters, :created_at and :score.")
    people = _symbol(entry, "submitters")
    if not isinstance(people, list) or not people or not all(isinstance(person, dict) for person in people):
        raise BatchError(f"{path}: {key} needs a :submitters list, each person with :name, :sid and :email.")
    score = _symbol(entry, "score")  # None until Gradescope has graded it
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise BatchError(f"{path}: {key} has :score {score!r}, which is not a number.")
    return Submission(
        id=match.group(1),
        path=folder,
        submitters=[{name: _text(_symbol(person, name)) for name in ("name", "sid", "email")} for person in people],
        created_at=_text(_symbol(entry, "created_at")),
        recorded_score=None if score is None else float(score),
    )


def _symbol(mapping: dict, name: str) -> Any:
    return mapping.get(f":{name}", mapping.get(name))


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat(sep=" ") if hasattr(value, "isoformat") else str(value)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


# --------------------------------------------------------------------------- what to grade


def _load_specs(folder: Path) -> tuple[list[Problem], str]:
    """Load the specs once for every submission, and fingerprint everything that decides a grade."""
    from autograder.engine.compiled import fingerprint
    from autograder.engine.errors import SpecError
    from autograder.engine.problemset import load

    try:
        problems = load(Path(folder))
    except SpecError as error:
        raise BatchError(f"the problem specs cannot be used, so nothing was graded: {error}") from None
    return problems, fingerprint(Path(folder))


def plan(submission: Submission, specs_print: str) -> Job:
    """Find the file Gradescope would grade, and fingerprint it with the specs."""
    from autograder.apps.submission import MAX_SUBMISSION_BYTES, NoSubmission, find_submission

    file, note = None, ""
    try:
        if submission.path is None:
            raise NoSubmission("No files were submitted. Upload your file named ps3.py.")
        if submission.path.is_dir():
            file, note = find_submission(submission.path)
        elif submission.path.stat().st_size > MAX_SUBMISSION_BYTES:
            raise NoSubmission(f"{submission.path.name} is over {MAX_SUBMISSION_BYTES:,} bytes. Upload only your code.")
        else:
            file = submission.path
    except NoSubmission as problem:
        note = str(problem)
    digest = hashlib.sha256(specs_print.encode())
    digest.update(note.encode() + b"\0")
    if file is not None:
        digest.update(file.read_bytes())
    return Job(submission, file, note, digest.hexdigest())


# --------------------------------------------------------------------------- the output folder


def _check_output(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER_NAME).exists())):
        raise BatchError(f"{out} already exists and was not made by this command; pass another --out.")


def _create_output(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER_NAME).touch()
    if os.geteuid() == 0:
        out.chmod(0o700)  # other students' results stay out of reach of the sandbox users


def _stored_records(out: Path, submissions: list[Submission]) -> dict[str, dict]:
    """The records of an earlier run, for the submissions still in the export."""
    records = {}
    for submission in submissions:
        try:
            record = json.loads((out / submission.id / RECORD_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and (out / submission.id / RESULTS_NAME).is_file():
            records[submission.id] = record
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

    lock_folder = Path("/run/lock") if Path("/run/lock").is_dir() else Path(tempfile.gettempdir())
    locks, users = [], []
    try:
        for number in range(1, count + 257):
            if len(users) == count:
                break
            name = f"{WORKER_USER_PREFIX}{number}"
            lock = open(lock_folder / f"{name}.lock", "w")  # noqa: SIM115 - held open until grading ends
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            locks.append(lock)
            users.append(name)
        for slot, name in enumerate(users, 1):
            _ensure_user(name, slot)
        yield users
    finally:
        for lock in locks:
            lock.close()


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
        raise BatchError(f"could not create the sandbox user {name} ({' '.join(command)}): {done.stderr.strip()}. "
                         "Create it yourself, or use --jobs 1.")
    print(f"Created user {name}: parallel slot {slot} runs student code as this user, apart from the other slots.",
          file=sys.stderr)


class ParallelGrading:
    """Grades jobs on threads, ``slots`` of them working at once, each thread with a sandbox user of its own.

    A submission that hangs holds its thread until its own deadline. So that it
    does not hold up the rest meanwhile, a thread busy on one submission for
    STALL_SECONDS stops counting as working and a spare thread (with a spare
    user) takes its place; once the hang ends, a thread that finds more than
    ``slots`` working retires and hands its user back.
    On Ctrl-C, in-flight grades are cancelled and their workers killed; a grade
    cut short is never written, so the next run grades it again.
    """

    def __init__(self, jobs: list[Job], problems: list[Problem], out: Path, users: list[str], slots: int) -> None:
        self.problems, self.out, self.users, self.slots = problems, out, users, slots
        self.total = len(jobs)
        self.todo: queue.SimpleQueue = queue.SimpleQueue()
        for job in jobs:
            self.todo.put(job)
        self.finished: queue.SimpleQueue = queue.SimpleQueue()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.free_users = list(users)
        self.threads: dict[threading.Thread, float | None] = {}  # live thread -> when its grade began; None between grades

    def run(self, progress: Progress) -> tuple[dict[str, dict], bool]:
        """Grade everything; return the new records and whether Ctrl-C stopped it."""
        records: dict[str, dict] = {}
        interrupted = False
        try:
            while len(records) < self.total:
                self._fill()
                try:
                    job, record = self.finished.get(timeout=0.2)
                except queue.Empty:
                    if self.todo.empty() and not any(thread.is_alive() for thread in list(self.threads)):
                        break  # only if a thread died of a bug: its job is reported as not graded
                    progress.draw()
                    continue
                records[job.submission.id] = record
                progress.advance(failed=record["status"] == "grader error")
        except KeyboardInterrupt:
            interrupted = True
        finally:  # after Ctrl-C, or any failure here: no grade may go on without us
            if any(thread.is_alive() for thread in list(self.threads)):
                progress.say("Stopping: cancelling the grades in progress...")
                self._cancel()
        while True:  # grades that finished just before Ctrl-C
            try:
                job, record = self.finished.get_nowait()
            except queue.Empty:
                return records, interrupted
            records[job.submission.id] = record

    def _working(self) -> int:
        now = time.monotonic()
        return sum(began is None or now - began < STALL_SECONDS for began in self.threads.values())

    def _fill(self) -> None:
        with self.lock:
            while self.free_users and not self.todo.empty() and self._working() < self.slots:
                thread = threading.Thread(target=self._slot, args=(self.free_users.pop(0),), daemon=True)
                self.threads[thread] = None
                thread.start()

    def _slot(self, user: str) -> None:
        me = threading.current_thread()
        try:
            while True:
                with self.lock:
                    if self.stop.is_set() or self._working() > self.slots:
                        return
                    try:
                        job = self.todo.get_nowait()
                    except queue.Empty:
                        return
                    self.threads[me] = time.monotonic()
                try:
                    record = grade_one(job, self.problems, user, self.out, self.stop)
                except Exception:  # noqa: BLE001 - e.g. a full disk: count it, keep the slot going
                    record = {"status": "grader error", "score": 0.0,
                              "message": traceback.format_exc(limit=3).strip().splitlines()[-1]}
                finally:
                    self.threads[me] = None
                self.finished.put((job, record))
        except Cancelled:
            return
        finally:
            with self.lock:
                self.threads.pop(me, None)
                self.free_users.append(user)

    def _cancel(self) -> None:
        """Tell every grade to stop, kill the workers they wait on, and wait for the threads.

        ``grade()`` raises Cancelled before its next case once ``stop`` is set;
        killing the worker wakes a thread blocked on its pipe at once.
        """
        self.stop.set()
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None  # a 2nd Ctrl-C must not cut this short
        try:
            deadline = time.monotonic() + CANCEL_WAIT_SECONDS
            while any(thread.is_alive() for thread in list(self.threads)) and time.monotonic() < deadline:
                _kill_own_workers()
                for thread in list(self.threads):
                    thread.join(timeout=0.05)
            _kill_own_workers()
        finally:
            if in_main:
                signal.signal(signal.SIGINT, previous)


def grade_one(job: Job, problems: list[Problem], user: str, out: Path, stop: threading.Event) -> dict:
    """Grade one submission as Gradescope would; write its results.json, then its record."""
    from autograder.engine.runner import grade
    from autograder.output.results import error_json, grader_failure_json, gradescope_json

    started = time.monotonic()
    if job.file is None:
        data = error_json(job.note)
        record = {"status": "no submission", "message": job.note, "score": 0.0}
    else:
        try:
            report = grade(job.file, problems, worker_user=user, cancel=stop)
        except Cancelled:
            raise
        except Exception:  # noqa: BLE001 - an engine bug: this submission gets a valid result saying so
            trace = traceback.format_exc()
            data = grader_failure_json(trace)
            record = {"status": "grader error", "message": trace.strip().splitlines()[-1], "score": 0.0}
        else:
            data = gradescope_json(report)
            if job.note:
                data["output"] = f"{job.note}\n\n{data['output']}"  # as gradescope.run does
            record = summarize(report)
        record["file"] = str(job.file.relative_to(job.submission.path)) if job.submission.path.is_dir() else job.file.name
    # A failed grade gets no fingerprint, so the next run tries it again.
    record["fingerprint"] = job.fingerprint if record["status"] != "grader error" else None
    record["seconds"] = round(time.monotonic() - started, 3)
    if stop.is_set():
        raise Cancelled  # its worker may have been killed under it: not a grade
    write_json(out / job.submission.id / RESULTS_NAME, data)
    write_json(out / job.submission.id / RECORD_NAME, record)  # last: it is what marks the submission done
    return record


def summarize(report: Report) -> dict:
    """What the CSV and the class report need from a graded submission, as plain JSON."""
    return {
        "status": "graded",
        "message": "; ".join(report.notices)[:500],
        "score": scoring.total(report),
        "max_score": scoring.possible(report),
        "problems": {problem.key: scoring.earned(report, problem)[0] for problem in report.problems if not problem.graded_by_hand},
        "passed": [r.case.number for r in report.results if r.verdict.passed],
        "failures": {r.case.number: {"summary": r.verdict.summary, "diagnosis": r.diagnosis, "where": r.case.where}
                     for r in report.results if not r.verdict.passed},
        "cases": {r.case.number: r.case.where for r in report.results},
    }


def _kill_own_workers() -> None:
    """Kill the process group of each sandbox worker this process started (each leads its own session)."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == me and int(fields[3]) == int(entry):  # our child, and a session leader
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(entry), signal.SIGKILL)


# --------------------------------------------------------------------------- progress


class Progress:
    """One line on stderr: a bar, counts, rate and time left, redrawn in place with ``\\r``.

    When stderr is not a terminal (a log file, CI), a plain line every 10% instead.
    """

    WIDTH = 30

    def __init__(self, total: int, stream: Any = None) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream or sys.stderr
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self._drawn_at = 0.0
        self._logged_tenth = 0

    def advance(self, failed: bool = False) -> None:
        self.done += 1
        self.failed += failed
        self.draw(force=self.done == self.total)

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if self.done and elapsed > 0 else 0.0
        left = f"{_clock((self.total - self.done) / rate)} left" if rate else "time left unknown"
        filled = self.WIDTH * self.done // max(self.total, 1)
        errors = f", {self.failed} grader errors" if self.failed else ""
        return (f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} graded, "
                f"{rate:.1f}/s, {_clock(elapsed)} elapsed, {left}{errors}")

    def draw(self, force: bool = False) -> None:
        if not self.total:
            return
        if self.live:
            if force or time.monotonic() - self._drawn_at >= 0.1:
                self._write("\r" + self.line() + "\x1b[K")
                self._drawn_at = time.monotonic()
        elif self.done * 10 // self.total > self._logged_tenth or (force and self.done == self.total):
            self._logged_tenth = self.done * 10 // self.total
            self._write(self.line() + "\n")

    def say(self, text: str) -> None:
        """A message that does not mangle the bar."""
        self._write(("\r\x1b[K" if self.live else "") + text + "\n")
        self.draw(force=True)

    def close(self) -> None:
        if self.live and self.total:
            self._write("\n")

    def _write(self, text: str) -> None:
        """Write, or go quiet if stderr went away (a closed pipe must not stop the grading)."""
        if self.stream is None:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.stream = None


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"
