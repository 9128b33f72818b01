"""The grader's side of the trust boundary: one persistent worker process per submission.

The worker (``autograder/worker.py``) imports the submission and answers
"call F with these inputs". This module starts it with every protection the
machine allows, keeps time on it with a deadline on the pipe (never a signal
inside the worker, which student code could ignore), reads its replies as
untrusted bytes, and kills and restarts it after a hang or a crash.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import pwd
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import worker as wire

WORKER_SOURCE = Path(wire.__file__).read_text()
DEFAULT_WORKER_USER = "autograder-worker"


@dataclass
class Limits:
    """Resource limits on the worker; defaults fit Gradescope's 768 MB container.

    The worker needs about 100 MB of address space with NumPy loaded; 512 MB
    leaves the grader room inside the container whatever the student allocates.
    """

    call_timeout: float = 5.0
    import_timeout: float = 30.0
    run_deadline: float = 480.0  # the whole submission, well inside Gradescope's 10 minutes
    address_space_mb: int = 512
    cpu_seconds: int = 120
    processes: int = 64
    file_size_mb: int = 16
    open_files: int = 64
    output_bytes: int = 16_000
    reply_bytes: int = 64 << 20  # .npy data: compact, loads into an array of the same size
    reply_json_bytes: int = 2 << 20  # the JSON part: parsed into Python objects, so ~30x its size

    @classmethod
    def from_environment(cls, environ: dict | None = None) -> Limits:
        """Defaults, overridden by ``AUTOGRADER_<FIELD>`` variables (e.g. AUTOGRADER_CALL_TIMEOUT=10)."""
        environ = os.environ if environ is None else environ
        limits = cls()
        for name, default in vars(cls()).items():
            value = environ.get(f"AUTOGRADER_{name.upper()}")
            if value is not None:
                try:
                    setattr(limits, name, type(default)(value))
                except ValueError:
                    raise ValueError(f"AUTOGRADER_{name.upper()}={value!r} is not a {type(default).__name__}") from None
        return limits


@dataclass
class Outcome:
    """What one call came to. ``kind`` is returned, raised, timeout, crashed or broken."""

    kind: str
    value: Any = None
    error: dict = field(default_factory=dict)
    output: str = ""
    seconds: float = 0.0
    detail: str = ""
    died_unanswered: bool = False  # the worker died before sending any of its answer


@dataclass
class ImportReport:
    """What happened when the worker loaded the submission."""

    functions: list[str]
    problems: list[dict]
    fatal: str = ""
    output: str = ""


class WorkerGone(Exception):
    """The worker stopped answering: it hung, crashed, or broke the protocol."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


class Sandbox:
    """A worker that imports ``submission`` and calls its functions on request.

    Start it early (``start()`` returns at once) so that it imports NumPy and
    the submission while the grader loads the specs.
    """

    def __init__(self, submission: Path, limits: Limits | None = None, worker_user: str | None = DEFAULT_WORKER_USER) -> None:
        self.submission = Path(submission)
        self.limits = limits or Limits.from_environment()
        self.isolation = Isolation.detect(worker_user)
        self.process: subprocess.Popen | None = None
        self.workdir: Path | None = None
        self.imported: ImportReport | None = None
        self.protections: dict = {}
        self._next_id = 0
        self._reply_bytes = 0  # ever received: tells a worker that died mid-answer from one that never answered

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        if self.process is not None:
            return
        self.isolation.claim()
        self.workdir = Path(tempfile.mkdtemp(prefix="ag-worker-"))
        copy = self.workdir / self.submission.name
        shutil.copyfile(self.submission, copy)
        self.isolation.hand_over(self.workdir)
        config = {
            "submission": str(copy),
            "workdir": str(self.workdir),
            "limits": self._rlimits(),
            "read_paths": _python_paths(),
        }
        # -u: unbuffered, so output printed just before a crash is not lost with it.
        command = [sys.executable, "-I", "-B", "-u", "-c", WORKER_SOURCE, json.dumps(config)]
        requests_read, self._requests = os.pipe()
        self._replies, replies_write = os.pipe()
        self._output, output_write = os.pipe()
        self._started = time.monotonic()
        self.process = subprocess.Popen(
            self.isolation.wrap(command),
            stdin=requests_read,
            stdout=replies_write,
            stderr=output_write,
            env=_clean_environment(self.workdir),
            cwd=self.workdir,
            start_new_session=True,
        )
        for fd in (requests_read, replies_write, output_write):
            os.close(fd)
        for fd in (self._requests, self._replies, self._output):
            os.set_blocking(fd, False)
        self._inbox = bytearray()
        self._captured = bytearray()
        self._dropped = 0

    def ready(self) -> ImportReport:
        """Wait for the submission to be imported; report what loaded and what broke.

        A worker killed after a hang or crash is restarted here; an import that
        itself hangs or kills the worker is final, so it is not retried per call.
        """
        if self.imported is not None and (self.imported.fatal or self.process is not None):
            return self.imported
        self.start()
        deadline = self._started + self.limits.import_timeout
        try:
            hello, _ = self._receive(deadline)
            self.protections = dict(hello.get("protections", {}), **self.isolation.report())
            message, _ = self._receive(deadline)
            if message.get("type") != "ready":
                raise WorkerGone("broken", "the worker sent something other than its ready message")
            problems = message.get("problems")
            self.imported = ImportReport(
                functions=_texts(message.get("functions")),
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
        """Kill the worker, everything it started (daemons too), and remove its folder."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            for fd in (self._requests, self._replies, self._output):
                os.close(fd)
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.process = None
        self.isolation.release()

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- calls ---------------------------------------------------------------

    def call(self, function: str, args: list, kwargs: dict | None = None) -> Outcome:
        """Call ``function(*args, **kwargs)`` in the worker, restarting it first if it died.

        A worker that dies before a single byte of the answer may have been
        dying already (an atexit hook, a thread left by an earlier call): that
        must not cost this function, so such a call is made once more.
        """
        outcome = self._call_once(function, args, kwargs)
        return self._call_once(function, args, kwargs) if outcome.died_unanswered else outcome

    def _call_once(self, function: str, args: list, kwargs: dict | None) -> Outcome:
        report = self.ready()
        if report.fatal:
            return Outcome("broken", detail=report.fatal)
        if self.process.poll() is not None:  # died between calls: start afresh rather than blame this call
            self.stop()
            report = self.ready()
            if report.fatal:
                return Outcome("broken", detail=report.fatal)
        self._next_id += 1
        blobs: list = []
        request = {
            "op": "call",
            "id": self._next_id,
            "function": function,
            "args": [wire.encode(a, blobs) for a in args],
            "kwargs": {k: wire.encode(v, blobs) for k, v in (kwargs or {}).items()},
        }
        started = time.monotonic()
        replied_before = self._reply_bytes
        try:
            message, reply_blobs = self._exchange(wire.frame(request, blobs), started + self.limits.call_timeout)
            if message.get("id") != self._next_id or message.get("type") not in ("returned", "raised"):
                raise WorkerGone("broken", "the reply did not answer the call")
            outcome = self._outcome(message, reply_blobs)
        except WorkerGone as gone:
            unanswered = gone.kind == "crashed" and self._reply_bytes == replied_before
            outcome = Outcome(gone.kind, detail=str(gone), died_unanswered=unanswered)
            outcome.output = self._take_output()
            self.stop()
        else:
            outcome.output = self._take_output()
        outcome.seconds = time.monotonic() - started
        return outcome

    def _outcome(self, message: dict, blobs: list) -> Outcome:
        if message["type"] == "raised":
            return Outcome("raised", error=_error_report(message.get("error")))
        try:
            return Outcome("returned", value=wire.decode(message.get("value"), blobs))
        except (ValueError, TypeError, RecursionError, EOFError, OSError, MemoryError) as error:
            raise WorkerGone("broken", f"the returned value could not be read safely: {error}") from None

    # -- the pipe ------------------------------------------------------------

    def _exchange(self, request: bytes, deadline: float) -> tuple[dict, list]:
        pending = memoryview(request)
        while pending:
            self._wait(deadline, write=True)
            try:
                written = os.write(self._requests, pending)
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise WorkerGone("crashed", self._death()) from None
            pending = pending[written:]
        return self._receive(deadline)

    def _receive(self, deadline: float) -> tuple[dict, list]:
        (length,) = struct.unpack(">I", self._take(4, deadline))
        if length > self.limits.reply_json_bytes:
            raise WorkerGone("broken", f"a reply of {length:,} bytes of JSON is over the limit (return arrays as NumPy arrays)")
        try:
            message = json.loads(self._take(length, deadline))
            count = int(message.get("blobs", 0))
        except (ValueError, RecursionError, AttributeError, TypeError):
            raise WorkerGone("broken", "the reply was not valid JSON") from None
        if not isinstance(message, dict) or not 0 <= count <= 10_000:
            raise WorkerGone("broken", "the reply was malformed")
        blobs, total = [], length
        for _ in range(count):
            (size,) = struct.unpack(">Q", self._take(8, deadline))
            total += size
            if total > self.limits.reply_bytes:
                raise WorkerGone("broken", f"a reply of over {self.limits.reply_bytes} bytes is over the limit")
            blobs.append(bytes(self._take(size, deadline)))
        return message, blobs

    def _take(self, size: int, deadline: float) -> bytes:
        while len(self._inbox) < size:
            self._wait(deadline)
            try:
                chunk = os.read(self._replies, 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                raise WorkerGone("crashed", self._death())
            self._inbox += chunk
            self._reply_bytes += len(chunk)
        data = bytes(self._inbox[:size])
        del self._inbox[:size]
        return data

    def _wait(self, deadline: float, write: bool = False) -> None:
        """Block until the pipe is ready, draining the worker's output meanwhile."""
        target = self._requests if write else self._replies
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerGone("timeout", "no answer before the deadline")
            readers = [self._replies, self._output] if not write else [self._output]
            writers = [self._requests] if write else []
            ready_read, ready_write, _ = select.select(readers, writers, [], remaining)
            if self._output in ready_read:
                self._drain_output()
            if target in ready_read or target in ready_write:
                return

    def _drain_output(self) -> None:
        try:
            chunk = os.read(self._output, 1 << 16)
        except BlockingIOError:
            return
        room = self.limits.output_bytes - len(self._captured)
        self._captured += chunk[: max(room, 0)]
        self._dropped += max(len(chunk) - max(room, 0), 0)

    def _take_output(self) -> str:
        while True:
            before = len(self._captured) + self._dropped
            self._drain_output()
            if len(self._captured) + self._dropped == before:
                break
        text = self._captured.decode("utf-8", errors="replace")
        if self._dropped:
            text += f"\n... ({self._dropped} more bytes of output not kept)"
        self._captured.clear()
        self._dropped = 0
        return text

    def _death(self) -> str:
        try:
            code = self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return "the worker closed its reply channel"
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            return f"the process was killed by {name}" + (" (a segmentation fault: often runaway recursion)" if name == "SIGSEGV" else "")
        return f"the process exited with code {code}"

    def _rlimits(self) -> dict:
        limits = self.limits
        return {
            "address_space_mb": limits.address_space_mb,
            "cpu_seconds": limits.cpu_seconds,
            "processes": limits.processes if self.isolation.user else None,
            "file_size_mb": limits.file_size_mb,
            "open_files": limits.open_files,
            "core_size": 0,
        }


@dataclass
class Isolation:
    """Operating-system protections that need root: a separate user, no network."""

    user: pwd.struct_passwd | None
    network: bool
    missing: list[str]
    _lock: int | None = None

    @classmethod
    def detect(cls, user_name: str | None) -> Isolation:
        if os.geteuid() != 0:
            return cls(None, False, ["separate user (grader is not root)", "network namespace (grader is not root)"])
        missing, user = [], None
        if user_name:
            try:
                user = pwd.getpwnam(user_name)
            except KeyError:
                missing.append(f"separate user ({user_name!r} does not exist: run setup.sh)")
        else:
            missing.append("separate user (disabled)")
        unreadable = [path for path in _worker_needs() if not _usable_by(path, user)] if user else []
        if unreadable:
            missing.append(f"separate user ({unreadable[0]} is not readable by {user_name!r}; install Python "
                           "and the engine's dependencies where every user can read them)")
            user = None
        if user and not shutil.which("setpriv"):
            missing.append("separate user (setpriv is not installed)")
            user = None
        network = _can_unshare_network()
        if not network:
            missing.append("network namespace (unshare --net is not permitted here)")
        return cls(user, network, missing)

    def wrap(self, command: list[str]) -> list[str]:
        if self.user:
            ids = [f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups"]
            command = ["setpriv", *ids, "--", *command]
        if self.network:
            command = ["unshare", "--net", "--", *command]
        return command

    def hand_over(self, folder: Path) -> None:
        """Give the worker's user its own folder, and nothing else."""
        folder.chmod(0o700)
        if self.user:
            for path in (folder, *folder.iterdir()):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def claim(self) -> None:
        """Take the worker's user for this sandbox alone, waiting while another grading holds it.

        Ending a grading kills every process of that user, so two gradings
        sharing one user at once would kill each other's workers. (Batch
        grading gives each parallel slot a user of its own; this lock makes
        sharing safe rather than fast.)
        """
        if not self.user or self._lock is not None:
            return
        with _CLAIMED_GUARD:
            if self.user.pw_name in _CLAIMED:
                raise RuntimeError(f"user {self.user.pw_name!r} is already in use by another sandbox in this process; "
                                   "give each concurrent sandbox its own worker_user")
            _CLAIMED.add(self.user.pw_name)
        folder = Path(tempfile.gettempdir()) / "autograder-locks"
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o077:
            raise RuntimeError(f"{folder} must be a folder of root's alone (mode 700); remove it and retry")
        self._lock = os.open(folder / f"{self.user.pw_name}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)

    def release(self) -> None:
        """Kill every process of the worker's user, then let another grading have it."""
        self.kill_everything()
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor drops the flock
            self._lock = None
            with _CLAIMED_GUARD:
                _CLAIMED.discard(self.user.pw_name)

    def kill_everything(self) -> None:
        """Kill every process of the worker's user, double-forked daemons included."""
        if not self.user:
            return
        for attempt in range(200):
            if not _processes_of(self.user.pw_uid):
                return
            if attempt % 20 == 0:  # kill(-1) as the user reaches every process it owns, in one call
                subprocess.run(
                    ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups", "--",
                     "kill", "-KILL", "-1"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                )
            time.sleep(0.005)

    def report(self) -> dict:
        return {
            "separate user": self.user.pw_name if self.user else "no",
            "network": "cut (network namespace)" if self.network else "not cut by namespace",
            "not available": self.missing,
        }


def _texts(value: Any, limit: int = 100) -> list[str]:
    """A list of short strings from untrusted data; anything else is dropped."""
    return [item[:200] for item in value[:limit] if isinstance(item, str)] if isinstance(value, list) else []


def _error_report(value: Any) -> dict:
    """An exception report from the worker, reduced to short strings whatever was sent."""
    value = value if isinstance(value, dict) else {}
    report = {key: str(value.get(key, ""))[: wire.MAX_TEXT] for key in ("type", "message", "traceback", "where")}
    report["type"] = report["type"][:80] or "an unknown error"
    report["mro"] = _texts(value.get("mro"), 30)
    report["names"] = _texts(value.get("names"))
    return report


# Worker users claimed by sandboxes of this process (the flock only excludes other processes).
_CLAIMED: set[str] = set()
_CLAIMED_GUARD = threading.Lock()


def _processes_of(uid: int) -> list[int]:
    """Live processes of ``uid``; zombies are left out, as they can no longer run anything."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            with open(f"/proc/{entry}/stat", "rb") as stat:
                state = stat.read().rpartition(b")")[2].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if state != b"Z":
            pids.append(int(entry))
    return pids


_unshare_works: bool | None = None


def _can_unshare_network() -> bool:
    global _unshare_works
    if _unshare_works is None:
        _unshare_works = bool(shutil.which("unshare")) and subprocess.run(
            ["unshare", "--net", "--", "true"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        ).returncode == 0
    return _unshare_works


def _worker_needs() -> list[Path]:
    """What the worker must be able to read: the interpreter, the standard library, NumPy.

    NumPy is located, not imported: this runs before the worker starts, and
    importing NumPy here would delay it.
    """
    numpy = importlib.util.find_spec("numpy")
    paths = [Path(sys.executable), Path(sysconfig.get_paths()["stdlib"])]
    paths += [Path(numpy.origin).parent] if numpy and numpy.origin else []
    return [path.resolve() for path in paths]


def _usable_by(path: Path, user: pwd.struct_passwd) -> bool:
    """Whether ``user`` (no supplementary groups) can reach ``path`` and read (or run) it."""
    def allowed(target: Path, bits: int) -> bool:
        info = target.stat()
        shift = 6 if info.st_uid == user.pw_uid else 3 if info.st_gid == user.pw_gid else 0
        return (info.st_mode >> shift) & bits == bits

    if not all(allowed(folder, 0o1) for folder in reversed(path.parents)):
        return False
    return allowed(path, 0o5)  # read and search a folder; read and run a file


def _python_paths() -> list[str]:
    """Folders the worker may read: the interpreter, its libraries, and system libraries."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, str(Path(sys.executable).resolve().parent.parent)}
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_paths()[name])
    paths.update(["/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib", "/etc/ld.so.cache", "/etc/localtime",
                  "/dev/urandom", "/proc/cpuinfo", "/sys/devices/system/cpu"])
    return sorted(paths)


def _clean_environment(workdir: Path) -> dict:
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
