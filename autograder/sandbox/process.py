"""The grader's side of the trust boundary: one persistent worker process per submission.

The worker (``worker.py`` beside this file) imports the submission and answers
"call F with these inputs". This module starts it with every protection the
machine allows, keeps time on it with a deadline on the pipe (never a signal
inside the worker, which student code could ignore), reads its replies as
untrusted bytes, and kills and restarts it after a hang or a crash. The launcher
(``zygote.py``) starts each worker.
"""

from __future__ import annotations

import os
import select
import signal
import site
import sys
import time
from collections.abc import Collection, Generator, Sequence
from pathlib import Path
from typing import NamedTuple

from autograder.boundary import ANSWER_KINDS, ErrorReport, ResourceLimits, SpawnRequest, Untrusted, WorkerConfig
from autograder.model import ImportReport, Outcome, OutcomeKind
from autograder.sandbox import loader, zygote
from autograder.sandbox import worker as wire
from autograder.sandbox.isolation import DEFAULT_WORKER_USER, Isolation, misconfigured_message
from autograder.sandbox.limits import Limits
from autograder.sandbox.reply import JsonBudget, ReplyError, decode_reply, read_frame
from autograder.sandbox.zygote import ISOLATION_FAILED, WorkerProcess

IMPORT_SHARE = 0.9  # of the import timeout, the worker's own loading budget: it stops the file's code there
OUTPUT_PAUSE = 0.01  # seconds between reads of a call's output once its capture is full (see Sandbox._wait)
# A read of a pipe that brought fewer bytes than this, with more to come, is followed by a pause of SMALL_READ_PAUSE
# seconds before the next (see Sandbox._take): what the grader spends on a worker is bounded per byte, never per read.
SMALL_READ, SMALL_READ_PAUSE = 4096, 0.001
OUTPUT_READS_AFTER_REPLY = 4  # reads of the output, after a call's reply, looking for its end-of-call marker
JSON_REPLIES_BUDGET = 64  # a grading's replies may hold this many largest replies' JSON in all (128 MB by default)


class Call(NamedTuple):
    """One call to make in the worker; ``encoded`` is the call as sent, when made once for many grades (:func:`prepared`)."""

    function: str
    args: Sequence[object]
    kwargs: dict[str, object]
    encoded: wire.EncodedCall | None = None


def prepared(function: str, args: Sequence[object], kwargs: dict[str, object]) -> Call:
    """A call encoded now, for a caller that makes the same call in many grades (a case in a batch)."""
    return Call(function, args, kwargs, wire.encode_call(function, args, kwargs))


class WorkerGone(Exception):
    """The worker stopped answering: it hung, crashed, or broke the protocol."""

    def __init__(self, kind: OutcomeKind, detail: str) -> None:
        super().__init__(detail)
        self.kind: OutcomeKind = kind


class Sandbox:
    """A worker that imports ``submission`` and calls its functions on request.

    Start it early (``start()`` returns at once) so that it imports NumPy and
    the submission while the grader loads the specs.
    """

    def __init__(
        self,
        submission: Path,
        limits: Limits | None = None,
        worker_user: str | None = DEFAULT_WORKER_USER,
        packages: Sequence[str] | None = None,
        hidden: Sequence[Path] = (),
    ) -> None:
        self.submission = Path(submission)
        self.hidden = list(hidden)  # folders the worker may never read, wherever they lie (a course's folder)
        self.limits = limits or Limits.from_environment()
        self.packages = None if packages is None else list(packages)  # the course's: see importable.py (None: any module)
        self.isolation = Isolation.detect(worker_user)
        self.isolation.processes = self.limits.processes
        self.process: WorkerProcess | None = None
        self.workdir: Path | None = None
        self.imported: ImportReport | None = None
        self.graded_names: frozenset[str] = frozenset()  # set before ready(): the ready report names each one it binds
        self.load_seconds = 0.0  # how long the last worker took to load the submission: what a restart costs again
        self.workers_started = 0  # every worker of this grading: more than one means restarts (staff see how many)
        self.json_budget = JsonBudget(JSON_REPLIES_BUDGET * self.limits.reply_json_bytes)  # every worker's, together
        self.protections: dict[str, object] = {}  # made again for each worker, when it says hello
        self._cleanup_problems: list[str] = []  # what failed in stopping any of this sandbox's workers
        if self.isolation.refusal:  # root, and no way to drop root: the student's code is never run
            self.imported = ImportReport(functions=[], problems=[], fatal=misconfigured_message(self.isolation.refusal))
            self.protections = self.isolation.report()
        self._next_id = 0
        self._greeted = False  # the running worker said hello: its protections are in place, the student's code may run
        self._reply_bytes = 0  # ever received: tells a worker that died mid-answer from one that never answered
        # Written by the worker after each call's output, so a stream of calls can tell whose output is whose.
        self._marker = f"\n<autograder end of call {os.urandom(12).hex()}>\n".encode()

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        if self.process is not None or self.isolation.refusal:
            return  # refused: ready() reports why, and nothing of the student's runs
        from autograder.sandbox import source as submission_source

        source = submission_source.load(self.submission)  # a notebook arrives as Python, its cells marked
        if source.fatal:  # nothing to load, through no fault of the file's (a notebook, and nothing here reads one)
            self.imported = ImportReport(functions=[], problems=[], fatal=source.fatal)
            return
        self.isolation.claim()
        left = self.isolation.left_behind  # an earlier grading's processes that even SIGKILL did not end (stuck in the kernel)
        said = f"{len(left)} processes an earlier grading left survived the kill: pids {', '.join(map(str, left[:20]))}"
        if left and said not in self._cleanup_problems:  # once, however often the worker is started again
            self._cleanup_problems.append(said)
        self.workdir = _new_folder()
        copy = self.workdir / source.name
        copy.write_bytes(source.data)
        self.isolation.hand_over(self.workdir)
        config: WorkerConfig = {
            "submission": str(copy),
            "workdir": str(self.workdir),
            "limits": self._rlimits(),
            "read_paths": _python_paths(self.hidden),
            "output_bytes": self.limits.output_bytes,
            "output_marker": self._marker.decode(),
            "landlock_max_abi": self.isolation.landlock_cap,
            "cell_marker": source.cell_marker,
            "mounts": "",
            # Less than the grader's deadline (counted from the spawn): the worker stops loading and answers in time.
            "import_seconds": self.limits.import_timeout * IMPORT_SHARE,
            "problems": source.problems,
            "packages": self.packages,
        }
        requests_read, self._requests = os.pipe()
        self._replies, replies_write = os.pipe()
        self._output, output_write = os.pipe()
        self._started = time.monotonic()
        self._greeted = False
        spawn: SpawnRequest = {
            "op": "spawn",
            "config": config,
            "workdir": str(self.workdir),
            "environment": _clean_environment(self.workdir),
            **self.isolation.spawn_options(),
            "memory_bytes": self.limits.worker_memory_bytes(),
            "tasks": self.limits.processes,
        }
        try:
            self.process = zygote.spawn(spawn, requests_read, replies_write, output_write)
            self.workers_started += 1
        except BaseException:
            for fd in (self._requests, self._replies, self._output):
                os.close(fd)
            raise
        finally:
            for fd in (requests_read, replies_write, output_write):
                os.close(fd)
        for fd in (self._requests, self._replies, self._output):
            os.set_blocking(fd, False)
        self.reset_buffers()

    def reset_buffers(self) -> None:
        """Empty what is kept of one worker's pipes: a new worker starts with none of it."""
        self._inbox = bytearray()  # reply bytes read but not yet parsed
        self._outbox = bytearray()  # request bytes not yet written
        self._captured = bytearray()  # the current call's output, up to the cap
        self._dropped = 0
        self._finished: list[str] = []  # outputs of calls whose end-of-call marker has been read
        self._markers_owed = 1  # ends of output still to come: the import's, then one per call sent (see _drain_output)
        self._output_tail = b""
        self._output_open = True  # until the worker's output reaches its end (it closed its stdout and stderr)
        self._output_paused_until = 0.0  # output past the call's cap is read at most once per OUTPUT_PAUSE

    def ready(self) -> ImportReport:
        """Wait for the submission to be imported; report what loaded and what broke.

        A worker killed after a hang or crash is restarted here; an import that
        itself hangs or kills the worker is final, so it is not retried per call.
        """
        if self.imported is not None and (self.imported.fatal or self.process is not None):
            return self.imported
        self.start()
        if self.imported is not None and self.imported.fatal:
            return self.imported
        self._outbox += wire.request_frame({"op": "report", "names": sorted(self.graded_names)}, [])  # the worker's first request
        deadline = self._started + self.limits.import_timeout
        waiting = time.monotonic()
        try:
            hello, _ = self._receive(deadline)  # sent before any student code ran, but read as untrusted all the same
            self._greeted = True
            applied = hello.get("protections")
            self.protections = {**(applied if isinstance(applied, dict) else {}), **self.isolation.report()}
            if self.process is not None:
                self.protections["memory"] = self.process.memory
            if self.workers_started > 1:
                self.protections["worker restarts"] = self.workers_started - 1
            message, _ = self._receive(deadline)
            if message.get("type") != "ready":
                raise WorkerGone("broken", "the worker sent something other than its ready message")
            problems = message.get("problems")
            # The worker's own count: ready() is called once the grader has loaded its problems, which is not the
            # file's doing. Untrusted (the file's code ran before it was sent: a red team's said 0 s for 1.5 s), so
            # never less than the grader itself waited here, and within what loading may take.
            seconds = message.get("seconds")
            reported = float(seconds) if type(seconds) is float and seconds >= 0 else 0.0
            self.load_seconds = min(max(reported, time.monotonic() - waiting), self.limits.import_timeout)
            self.imported = ImportReport(
                functions=_texts(message.get("functions"), len(self.graded_names) + loader.MAX_OTHER_FUNCTIONS),
                problems=[_error_report(p) for p in problems[:50]] if isinstance(problems, list) else [],
                output=self._take_output(),
            )
        except WorkerGone as gone:
            output = self._take_output()
            self.stop()
            fatal = {
                "timeout": f"importing your file took longer than {self.limits.import_timeout:g} s",
                "crashed": f"your file stopped the Python process while it was being imported ({gone})",
            }.get(gone.kind, f"your file broke the grader's connection while it was imported ({gone})")
            self.imported = ImportReport(functions=[], problems=[], fatal=fatal + (f"\nOutput:\n{output}" if output else ""))
        return self.imported

    def stop(self) -> None:
        """Kill the worker, everything it started (daemons too), and remove its folder; never raises.

        The process the launcher started is a reaper (zygote.py), the worker's
        parent and a child subreaper: told to stop, it kills the worker and
        every descendant however detached, reaps them, and exits. As root,
        every process of the worker's user is killed too. Whatever fails here
        (or survives the kill) is reported under "clean-up" in ``protections``,
        as data: a grade already decided is never lost to its clean-up.
        """
        problems, swept = [], False
        if self.process is not None:
            process, self.process = self.process, None
            for step, action in (
                ("stopping the worker", lambda: _end(process)),
                ("closing its pipes", lambda: _close_all(self._requests, self._replies, self._output)),
                ("removing its folder", lambda: _remove(self.workdir)),
            ):
                try:
                    action()
                except Exception as error:  # noqa: BLE001 - reported, and the next step still runs
                    problems.append(f"{step} failed: {type(error).__name__}: {error}")
            swept = process.swept
        try:
            survivors = self.isolation.release(swept)
        except Exception as error:  # noqa: BLE001 - reported below
            problems.append(f"killing the worker's user's processes failed: {type(error).__name__}: {error}")
        else:
            if survivors:
                problems.append(
                    f"{len(survivors)} processes of the worker's user survived the kill: pids {', '.join(map(str, survivors[:20]))}"
                )
        self._cleanup_problems += problems
        if self._cleanup_problems:  # every worker's, in the protections of the last: those the report shows
            self.protections["clean-up"] = "; ".join(self._cleanup_problems)

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- calls ---------------------------------------------------------------

    def died_idle(self) -> bool:
        """Whether the worker ended on its own since its last answer (a thread, an exit handler, a signal it left):
        the next stream starts a fresh one."""
        return self.process is not None and self.process.poll() is not None

    def stream(self, calls: Sequence[Call]) -> Generator[Outcome, None, None]:
        """The outcomes of ``calls``, in order, with every request sent ahead of the replies.

        One pipe round trip per call would cost more than most calls do; the
        worker instead finds the next request waiting. Each call still has its
        own deadline, counted from when the previous reply was handed on and judged. The stream ends after a
        call that kills the worker (a hang, a crash, an unreadable reply): the
        caller decides what to send to the next worker. A worker that dies
        before a single byte of a call's answer may have been dying already (an
        atexit hook, a thread left by an earlier call): that outcome says so
        (``died_unanswered``), so the caller can make the call once more.
        A stream abandoned with calls in flight stops the worker, so the next
        stream never reads a reply meant for this one.
        """
        report = self.ready()
        if not report.fatal and (self.process is None or self.process.poll() is not None):
            self.stop()  # died between calls: start afresh rather than blame the next call
            report = self.ready()
        if report.fatal:
            yield Outcome("broken", detail=report.fatal)
            return
        ids = []
        for call in calls:
            self._next_id += 1
            ids.append(self._next_id)
            encoded = call.encoded or wire.encode_call(call.function, call.args, call.kwargs)
            self._outbox += wire.call_frame(self._next_id, encoded)
        self._markers_owed += len(ids)
        answered = 0
        try:
            started = time.monotonic()
            for call_id in ids:
                replied_before = self._reply_bytes
                try:
                    message, reply_blobs = self._receive(started + self.limits.call_timeout)
                    if message.get("id") != call_id or message.get("type") not in ANSWER_KINDS:
                        raise WorkerGone("broken", "the reply did not answer the call")
                    outcome = self._outcome(message, reply_blobs)
                except WorkerGone as gone:
                    unanswered = gone.kind == "crashed" and self._reply_bytes == replied_before
                    outcome = Outcome(gone.kind, detail=str(gone), died_unanswered=unanswered)
                    outcome.output = self._take_output()
                    # a timeout reports the limit it reached, not the moment it was noticed (later on a loaded host)
                    outcome.seconds = self.limits.call_timeout if gone.kind == "timeout" else time.monotonic() - started
                    answered += 1
                    self.stop()
                    yield outcome
                    return
                outcome.output = self._take_output()
                outcome.seconds = time.monotonic() - started
                answered += 1
                yield outcome
                # The next call's time starts once the grader is back, having judged this answer: its judging (a
                # second, for a huge wrong answer) never counts against the call after it.
                started = time.monotonic()
        finally:
            if answered < len(ids):
                self.stop()

    def _outcome(self, message: Untrusted, blobs: list[bytes]) -> Outcome:
        if message["type"] == "missing":  # the name is bound to no callable (the gate says why, when loading does)
            return Outcome("skipped", reason="missing")
        if message["type"] == "raised":
            return Outcome("raised", error=_error_report(message.get("error")))
        try:
            value = decode_reply(message.get("value"), blobs, self.limits.reply_bytes, self.json_budget)
        except ReplyError as error:
            raise WorkerGone("broken", f"the returned value could not be read safely: {error}") from None
        except Exception as error:  # noqa: BLE001 - no reply may stop the grading; its text is not shown
            raise WorkerGone("broken", f"the returned value could not be read safely ({type(error).__name__})") from None
        return Outcome("returned", value=value)

    # -- the pipe ------------------------------------------------------------

    def _receive(self, deadline: float) -> tuple[Untrusted, list[bytes]]:
        try:
            return read_frame(
                lambda size: self._take(size, deadline), self.limits.reply_json_bytes, self.limits.reply_bytes, self.json_budget
            )
        except ReplyError as error:
            raise WorkerGone("broken", str(error)) from None

    def _take(self, size: int, deadline: float) -> bytes:
        while len(self._inbox) < size:
            self._wait(deadline)
            try:
                # Only what is still missing, 64 kB at least and 1 MB at most: os.read allocates all it may read
                # first, and 1 MB is an mmap and a page fault for every 300-byte reply (10 us a read, not 0.6).
                chunk = os.read(self._replies, min(max(size - len(self._inbox), 1 << 16), 1 << 20))
            except BlockingIOError:
                continue
            if not chunk:
                raise WorkerGone("crashed", self._death())
            self._inbox += chunk
            self._reply_bytes += len(chunk)
            if len(chunk) < SMALL_READ and len(self._inbox) < size:
                # An answer is written at once, so its reply comes whole or in pipe-fulls. One that trickles in a
                # byte at a time (a child of the worker writing it so, watching the pipe drain) would wake the
                # grader once a byte, a core's worth of its time for a right answer (red team): it waits instead.
                time.sleep(min(SMALL_READ_PAUSE, max(deadline - time.monotonic(), 0)))
        with memoryview(self._inbox) as inbox:  # one copy: a slice of the bytearray would be a second one
            data = bytes(inbox[:size])
        del self._inbox[:size]
        return data

    def _wait(self, deadline: float) -> None:
        """Block until a reply can be read, writing pending requests and draining the worker's output meanwhile."""
        while True:
            now = time.monotonic()
            remaining = deadline - now
            if remaining <= 0:
                raise WorkerGone("timeout", "no answer before the deadline")
            writers = [self._requests] if self._outbox else []
            # An output at its end is always "readable": watched still, select would return at once, and the grader
            # spin at full CPU until the reply came (a worker that closed its stdout and stderr, then slept). Output
            # past the call's cap is only thrown away: read at pipe speed (a process the submission forked, writing
            # raw to the pipe while calls slept) it cost the grader a core (red team); read in pauses, the writer
            # waits instead. The worker's own output is cut below the cap (worker._CappedOutput), so only raw
            # writes get here; a flood that keeps the pipe full can hold up the worker's end-of-call marker, and so
            # its own answers: its calls then time out, a cost to that submission alone.
            paused = self._output_paused_until - now
            readers = [self._replies, self._output] if self._output_open and paused <= 0 else [self._replies]
            timeout = min(remaining, paused) if self._output_open and paused > 0 else remaining
            ready_read, ready_write, _ = select.select(readers, writers, [], timeout)
            if self._output in ready_read:
                brought = self._drain_output()
                if len(self._captured) >= self.limits.output_bytes:
                    self._output_paused_until = time.monotonic() + OUTPUT_PAUSE
                elif brought < SMALL_READ:  # printing a byte at a time, the rest waits in the pipe a little
                    self._output_paused_until = time.monotonic() + SMALL_READ_PAUSE
            if ready_write:
                self._send_pending()
            if self._replies in ready_read:
                return

    def _send_pending(self) -> None:
        try:
            written = os.write(self._requests, self._outbox)
        except BlockingIOError:
            return
        except BrokenPipeError:
            raise WorkerGone("crashed", self._death()) from None
        del self._outbox[:written]

    def _drain_output(self) -> int:
        """Read what the worker printed, and how many bytes; each end-of-call marker closes one call's output.

        Student code can read the marker and print it: only as many markers as outputs are still owed (one per
        call in flight) close an output, and any more are printed text like the rest, under the same cap. So what
        the grader holds of a worker's output is at most ``output_bytes`` per call in flight, however many
        markers it forges (kept apart, a million forged outputs of 16 kB each were 16 GB).
        """
        try:
            chunk = os.read(self._output, 1 << 16)
        except BlockingIOError:
            return 0
        self._output_open = self._output_open and bool(chunk)
        pending, start = self._output_tail + chunk, 0
        while len(self._finished) < self._markers_owed and (at := pending.find(self._marker, start)) >= 0:
            self._keep(pending[start:at])
            self._finished.append(self._printed())
            start = at + len(self._marker)
        keep = max(len(pending) - (len(self._marker) - 1), start)  # a marker may be split across two reads
        self._keep(pending[start:keep])
        self._output_tail = pending[keep:]
        return len(chunk)

    def _keep(self, data: bytes) -> None:
        room = max(self.limits.output_bytes - len(self._captured), 0)
        self._captured += data[:room]
        self._dropped += max(len(data) - room, 0)

    def _printed(self) -> str:
        """The output captured since the last marker, and how much of it was not kept."""
        text = self._captured.decode("utf-8", errors="replace")
        if self._dropped:
            text += f"\n... ({self._dropped} more bytes of output not kept)"
        self._captured.clear()
        self._dropped = 0
        return text

    def _take_output(self) -> str:
        """What one call printed: up to the worker's end-of-call marker, or all there is when it never came.

        Drained only while this call's marker has not been read yet: most calls' markers were read while waiting
        for their replies, and one more read a call would cost a system call for nothing. At most
        OUTPUT_READS_AFTER_REPLY reads: a process writing raw to the pipe as fast as the grader reads would
        otherwise keep it reading here for as long as it liked.
        """
        for _ in range(OUTPUT_READS_AFTER_REPLY):
            if self._finished or not self._drain_output():
                break
        self._markers_owed = max(self._markers_owed - 1, 0)  # this output is taken now, whether its marker came or not
        if self._finished:
            return self._finished.pop(0)
        self._keep(self._output_tail)
        self._output_tail = b""
        return self._printed()

    def _death(self) -> str:
        if self.process is None:
            return "the worker is gone"
        code = self.process.wait(timeout=1)
        if code is None:
            return "the worker closed its reply channel"
        if code == ISOLATION_FAILED and not self._greeted:  # afterwards, 71 is just a code the student's code chose
            return "the worker could not be isolated (its namespaces or cgroup could not be entered)"
        if self.process.out_of_memory:
            return (
                f"the process ran out of memory (the worker's processes together may hold "
                f"{self.limits.worker_memory_bytes() >> 20} MB, shared memory included) and the kernel killed it"
            )
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            return f"the process was killed by {name}" + (" (a segmentation fault: often runaway recursion)" if name == "SIGSEGV" else "")
        return f"the process exited with code {code}"

    def _rlimits(self) -> ResourceLimits:
        limits = self.limits
        return {
            "data_mb": limits.data_mb,
            "cpu_seconds": limits.cpu_seconds,
            "processes": limits.processes if self.isolation.user else None,
            "file_size_mb": limits.file_size_mb,
            "open_files": limits.open_files,
            "core_size": 0,
        }


def _end(process: WorkerProcess) -> None:
    """Stop a worker's reaper (SIGTERM: it kills all the worker started), or kill it outright after 10 s; close the handle."""
    try:
        process.send_signal(signal.SIGTERM)
        if process.wait(timeout=10.0) is None:
            process.send_signal(signal.SIGKILL)  # its worker follows (PR_SET_PDEATHSIG); release() sweeps the rest
            process.wait()
    finally:
        process.close()


def _new_folder() -> Path:
    """A new folder of the grader's alone (mode 0700) in the temporary folder, as ``tempfile.mkdtemp`` makes one.

    Not ``tempfile`` itself: with ``shutil`` and ``random`` it would cost every grade about 2 ms, for one name.
    """
    places = [value for name in ("TMPDIR", "TEMP", "TMP") if os.path.isdir(value := os.environ.get(name, ""))]
    for root in [*places, "/tmp", "/var/tmp", "/usr/tmp"]:
        while True:
            folder = Path(root, f"ag-worker-{os.urandom(6).hex()}")
            try:
                folder.mkdir(mode=0o700)
                return folder
            except FileExistsError:
                continue
            except OSError:  # not writable here (as tempfile.gettempdir skips it): the next place
                break
    raise FileNotFoundError("no temporary folder can be written: set TMPDIR to a folder this user can write")


def _remove(folder: Path | None) -> None:
    """Remove the worker's folder: it holds the copy of the submission alone, unless the worker wrote there."""
    if folder is None:
        return
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                os.unlink(entry.path)
        folder.rmdir()
    except OSError:  # a folder the worker made in it (only where Landlock could not stop it writing)
        import shutil

        shutil.rmtree(folder)


def _close_all(*fds: int) -> None:
    for fd in fds:
        os.close(fd)


def _texts(value: object, limit: int = 100) -> list[str]:
    """A list of short strings from untrusted data; anything else is dropped."""
    return [item[:200] for item in value[:limit] if isinstance(item, str)] if isinstance(value, list) else []


def _error_report(value: object) -> ErrorReport:
    """An exception report from the worker, reduced to short strings whatever was sent: every key filled."""
    sent = value if isinstance(value, dict) else {}

    def text(key: str) -> str:
        return str(sent.get(key, ""))[: loader.MAX_TEXT]

    return {
        "type": text("type")[:80] or "an unknown error",
        "message": text("message"),
        "traceback": text("traceback"),
        "where": text("where"),
        "mro": _texts(sent.get("mro"), 30),
        "names": _texts(sent.get("names")),
    }


def _python_paths(hidden: Sequence[Path] = ()) -> list[str]:
    """Folders the worker may read: the standard library, the installed packages and the system's libraries.

    Not the installations' whole folders: a virtual environment made at the root of a course's checkout (``python
    -m venv .``) holds the course too, and the worker read its references (red team). Nor, wherever they lie, any
    of ``hidden`` (a course's folder: its problems, solutions, git history...) but the library folders inside one:
    Landlock only adds what may be read, so a folder holding one is given as all it holds but the branch that
    leads to it (:func:`_without`).
    """
    installation = [os.path.realpath(prefix) for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}]
    # the standard library and the packages' folders (site and os are loaded already; sysconfig would cost ~1 ms)
    libraries = {os.path.dirname(os.__file__), *site.getsitepackages()}
    paths = set(libraries)
    paths.update(entry for entry in sys.path if entry and any(_holds(prefix, os.path.realpath(entry)) for prefix in installation))
    paths.update(
        [
            "/usr/lib",
            "/usr/lib64",
            "/lib",
            "/lib64",
            "/usr/local/lib",
            "/usr/share/zoneinfo",
            "/etc/ld.so.cache",
            "/etc/localtime",
            "/dev/urandom",
            "/proc/cpuinfo",
            # Of the CPUs' folder, what libraries read to size their thread pools and caches: not cpuidle's or
            # cpufreq's counters, which show how busy every core is (a channel between gradings side by side).
            *(f"{CPUS}/{name}" for name in ("online", "possible", "present", "kernel_max")),
            *(f"{CPUS}/{cpu}/{part}" for cpu in _cpu_folders() for part in ("topology", "cache")),
        ]
    )
    return _without(sorted(paths), [os.path.realpath(folder) for folder in hidden], libraries)


CPUS = "/sys/devices/system/cpu"


def _cpu_folders() -> list[str]:
    """cpu0, cpu1...: one folder of CPUS per CPU (none where sysfs is not mounted)."""
    try:
        return [name for name in os.listdir(CPUS) if name.startswith("cpu") and name[3:].isdigit()]
    except OSError:
        return []


def _without(paths: list[str], hidden: list[str], libraries: Collection[str] = ()) -> list[str]:
    """``paths`` less every folder of ``hidden`` and all below it: a path holding one is replaced by its entries
    but the one on the way to it, level by level; a path inside one is left out, unless it is one of ``libraries``
    (a virtual environment made in the course's folder: its packages are all it holds)."""
    kept = []
    for path in paths:
        real = os.path.realpath(path)
        if path not in libraries and any(_holds(folder, real) for folder in hidden):
            continue
        inside = [folder for folder in hidden if _holds(real, folder)]
        if not inside:
            kept.append(path)
        elif os.path.isdir(real):
            try:
                kept += _without(sorted(os.path.join(real, name) for name in os.listdir(real)), inside)
            except OSError:  # unreadable here: nothing of it is given
                pass
    return kept


def _holds(folder: str, path: str) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (both resolved)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _clean_environment(workdir: Path) -> dict[str, str]:
    """No variable of the grader's reaches the worker; BLAS is single-threaded."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
