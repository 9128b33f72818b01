"""Where workers come from: one launcher process that forks every worker with NumPy already loaded.

A worker started as a new interpreter pays for its start-up and for its own
NumPy import: about 80 ms of one core, more than the grading itself. So
workers are forked instead, from a launcher (a "zygote", as Android and
multiprocessing's forkserver call it) that imported NumPy and ``worker.py``
once. The launcher comes to be in one of two ways:

- ``start_here()``: the commands that grade one submission (the Gradescope
  entry point, ``grade``, ``check``) call it first thing, before any problem
  is loaded. It imports NumPy in the grader (which needs it anyway) and
  forks, so a grade imports NumPy once. The launcher then holds the grader's
  memory as it was at that moment: code and the command line, no spec and no
  expected value. The environment it inherited is wiped, so a student cannot
  find the grader's variables in the worker's memory.
- otherwise (batch, the pytest plugin, tests), the first sandbox starts a
  launcher as a fresh interpreter (``python -I -B``) that imports the same
  two modules: nothing of the grader's process is in it at all.

The launcher is checked before each use and replaced by a fresh one if it
died (``launcher()``); a request it does not answer is sent once more, to the
replacement. Workers already running do not depend on it: each reaper watches
the grader itself.

For each worker the launcher forks a *reaper*: a child subreaper that, when
the worker dies, the grader asks, or the grader is gone, kills every
descendant however detached. The worker, before anything of the student's
runs, moves into its own memory cgroup where root can make one (cgroups.py),
asks the kernel to kill it first when memory runs out (``oom_score_adj``
1000), and leaves the grader's reach:

- as root, the reaper enters new network and IPC namespaces, and the worker
  drops to the worker's user;
- otherwise, where the kernel lets any user make them, the reaper enters new
  user, PID, network and IPC namespaces and forks a tiny init (pid 1 there)
  that forks the worker: ``kill(-1)`` reaches only the namespace, whatever
  the worker starts dies with that init, and the worker, in a mount namespace
  of its own, sees every file system read-only and a /proc of its namespace.

Then the worker takes the grader's pipes as its 0, 1 and 2 and runs
``worker.main``, which applies its own limits, Landlock and seccomp.

The grader talks to the launcher over a Unix socket. Each request carries its
own reply socket and the worker's pipes (SCM_RIGHTS), so threads and processes
can share one launcher without a lock. The reply is a pidfd for the reaper (a
signal through it can never reach a recycled pid); the reaper's last act is to
write the worker's wait status to a pipe the grader holds, which is how the
grader learns how the worker ended.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import resource
import select
import signal
import socket
import sys
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, NoReturn, TypeVar, cast

if TYPE_CHECKING:
    import subprocess  # imported where a fresh launcher is started: a grade forks its own

from autograder.boundary import LauncherRequest, NamespaceProbe, Spawned, SpawnRequest
from autograder.sandbox import cgroups, namespaces, seccomp, worker
from autograder.sandbox.libc import libc as shared_libc

PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
MESSAGE_BYTES = 1 << 18
# Exit codes of the processes forked here, as the status pipe reports the worker's.
CHILD_FAILED = 70  # a forked child (the launcher, a reaper, a worker) that raised instead of ending as it should
ISOLATION_FAILED = 71  # the worker's exit code when a protection the grader counts on could not be put in place
USER_NOT_DROPPED = 72  # the worker could not become the worker's user for good
REAPER_GONE = 73  # the worker's reaper died before the worker could be tied to it
SPAWN_FDS = 5  # the reply socket, the worker's stdin, stdout and stderr, and the status pipe
ANSWER_SECONDS = 60.0  # a launcher that takes longer to answer a request is taken for dead
OUT_OF_MEMORY = "out-of-memory"  # follows the wait status on the status pipe when the kernel killed for want of memory
WORKER_OOM_SCORE_ADJ = 1000  # the kernel's OOM killer takes the worker's processes before any other


@dataclass(eq=False)
class WorkerProcess:
    """The grader's handle on one reaper (and so on its worker): what ``subprocess.Popen`` offered, for a process that is not our child."""

    pid: int
    pidfd: int  # -1 once closed: a closed descriptor's number may already name another process
    status: int  # read end of the pipe the reaper writes the worker's wait status to
    memory: str = ""  # how the worker's memory is bounded, as the launcher made it
    returncode: int | None = None
    out_of_memory: bool = False  # the kernel killed a process of the worker's for want of memory
    swept: bool = False  # the reaper wrote how the worker ended, then exited: it had killed and reaped all below it
    _received: bytearray = field(default_factory=bytearray)
    _guard: threading.Lock = field(default_factory=threading.Lock)  # another thread may signal it (stop_all_workers)

    def poll(self) -> int | None:
        return self.wait(0)

    def wait(self, timeout: float | None = None) -> int | None:
        """The worker's exit code (negative: the signal that killed it), once the reaper has finished; None if not within ``timeout``."""
        while self.returncode is None:
            readable, _, _ = select.select([self.status], [], [], timeout)
            if not readable:
                return None
            chunk = os.read(self.status, 64)
            if chunk:
                self._received += chunk
                continue
            status, _, note = self._received.decode("ascii", "replace").partition(" ")
            code = int(status) if status.isdigit() else None
            self.out_of_memory = note == OUT_OF_MEMORY
            self.swept = code is not None
            # No status: the reaper itself was killed (SIGKILL), and the worker with it.
            self.returncode = -signal.SIGKILL if code is None else (-os.WTERMSIG(code) if os.WIFSIGNALED(code) else os.WEXITSTATUS(code))
        return self.returncode

    def send_signal(self, number: int) -> None:
        with self._guard:
            if self.returncode is None and self.pidfd >= 0:
                try:
                    signal.pidfd_send_signal(self.pidfd, number)
                except ProcessLookupError:
                    pass

    def close(self) -> None:
        with self._guard:
            for fd in (self.pidfd, self.status):
                if fd >= 0:
                    os.close(fd)
            self.pidfd = self.status = -1


class LauncherGone(OSError):
    """The launcher did not answer: it died, or stopped answering."""


class Launcher:
    """The grader's end of the launcher's socket."""

    def __init__(self, control: socket.socket, process: subprocess.Popen[bytes] | int) -> None:
        self._control = control
        self._process = process  # the launcher itself: a Popen (fresh interpreter) or a pid (forked here)
        self._exited = False
        self._namespaces: NamespaceProbe | None = None
        self._guard = threading.Lock()

    @property
    def pid(self) -> int:
        return self._process if isinstance(self._process, int) else self._process.pid

    def alive(self) -> bool:
        """Whether the launcher process still runs (a dead one is reaped here)."""
        if not self._exited:
            if isinstance(self._process, int):
                try:
                    self._exited = os.waitpid(self._process, os.WNOHANG)[0] != 0
                except ChildProcessError:
                    self._exited = True
            else:
                self._exited = self._process.poll() is not None
        return not self._exited

    def spawn(self, request: SpawnRequest, stdin: int, stdout: int, stderr: int) -> WorkerProcess:
        """Start a worker on these pipe ends (the caller closes its copies afterwards)."""
        status_read, status_write = os.pipe2(os.O_CLOEXEC)
        try:
            answer, fds = self._ask(request, [stdin, stdout, stderr, status_write])
        except BaseException:
            os.close(status_read)
            raise
        finally:
            os.close(status_write)
        if not isinstance(answer, dict) or "pid" not in answer or len(fds) != 1:
            os.close(status_read)
            for fd in fds:
                os.close(fd)
            error = answer.get("error") if isinstance(answer, dict) else None
            raise OSError(f"the worker could not be started: {error or 'the launcher gave no process'}")
        spawned = cast(Spawned, answer)
        process = WorkerProcess(spawned["pid"], fds[0], status_read, memory=spawned["memory"])
        _running.add(process)
        return process

    def close(self) -> None:
        """End the launcher (it exits when its socket closes) and wait for it, so its CPU time counts as this process's children's."""
        self._control.close()
        if self._exited:
            return
        if isinstance(self._process, int):
            try:
                os.waitpid(self._process, 0)
            except ChildProcessError:
                pass
        else:
            self._process.wait()
        self._exited = True

    def abandon(self) -> None:
        """Kill a launcher that stopped answering, and reap it."""
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.close()

    def kill_everything_of(self, uid: int, gid: int) -> None:
        """SIGKILL every process of the user ``uid``, from a throwaway process of that user (kill(-1))."""
        self._ask({"op": "kill", "user": [uid, gid]}, [])

    def available_namespaces(self) -> NamespaceProbe:
        """Which namespaces the worker can be given here, asked once: see ``namespaces.probe``."""
        with self._guard:
            if self._namespaces is None:
                answer, _ = self._ask({"op": "probe"}, [])
                self._namespaces = cast(NamespaceProbe, answer)
            return self._namespaces

    def _ask(self, message: LauncherRequest, fds: list[int]) -> tuple[object, list[int]]:
        """The launcher's answer and its descriptors: JSON of the shape the request's op names (Spawned or Refused,
        NamespaceProbe, ``{}``), which the caller casts to it, the launcher being the grader's own code."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with mine:
            try:
                socket.send_fds(self._control, [json.dumps(message).encode()], [theirs.fileno(), *fds])
            except OSError as error:
                raise LauncherGone(f"the worker launcher is gone ({error})") from None
            finally:
                theirs.close()
            mine.settimeout(ANSWER_SECONDS)
            try:
                data, received, _, _ = socket.recv_fds(mine, MESSAGE_BYTES, 1)
            except TimeoutError:
                raise LauncherGone(f"the worker launcher did not answer within {ANSWER_SECONDS:g} s") from None
        if not data:
            raise LauncherGone("the worker launcher closed the request without an answer (it died)")
        return json.loads(data), received


_launcher: Launcher | None = None
# The modules that read problems (specs, expected values): once one is imported, this process is not forked.
_LOADERS = ("autograder.engine.problemset", "autograder.engine.specs")
_launcher_guard = threading.Lock()
_running: weakref.WeakSet[WorkerProcess] = weakref.WeakSet()  # the handles given out and still referenced
T = TypeVar("T")


def launcher() -> Launcher:
    """This process's launcher, checked: the one ``start_here`` forked while it lives, else a fresh interpreter started now."""
    global _launcher
    with _launcher_guard:
        if _launcher is not None and not _launcher.alive():
            _launcher.close()
            _launcher = None
        if _launcher is None:
            control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            package_parent = str(Path(__file__).resolve().parents[2])
            boot = f"import sys; sys.path.insert(0, {package_parent!r}); from autograder.sandbox.zygote import _serve_fresh; _serve_fresh()"
            import subprocess

            process = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", boot, str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1"},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
            theirs.close()
            _launcher = Launcher(control, process)
        return _launcher


def _with_launcher(action: Callable[[Launcher], T]) -> T:
    """``action`` on the launcher; if it does not answer, on a fresh one (once)."""
    current = launcher()
    try:
        return action(current)
    except LauncherGone:
        _discard(current)
        return action(launcher())


def _discard(dead: Launcher) -> None:
    """Kill and forget a launcher that did not answer (unless another thread replaced it already)."""
    global _launcher
    with _launcher_guard:
        if _launcher is dead:
            dead.abandon()
            _launcher = None


def spawn(request: SpawnRequest, stdin: int, stdout: int, stderr: int) -> WorkerProcess:
    """Start a worker through this process's launcher (see ``Launcher.spawn``)."""
    return _with_launcher(lambda current: current.spawn(request, stdin, stdout, stderr))


def kill_everything_of(uid: int, gid: int) -> None:
    """SIGKILL every process of the user ``uid`` (see ``Launcher.kill_everything_of``)."""
    _with_launcher(lambda current: current.kill_everything_of(uid, gid))


def available_namespaces() -> NamespaceProbe:
    """Which namespaces a worker can be given here (see ``namespaces.probe``), asked of the launcher once."""
    return _with_launcher(lambda current: current.available_namespaces())


def stop_all_workers() -> None:
    """Ask the reaper of every worker this process started to stop (SIGTERM): each kills its worker and all it started.

    For a Ctrl-C in batch: a grading thread blocked on a hung worker's pipe
    wakes at once, sees the cancellation, and stops its sandbox (folder and all).
    """
    for process in list(_running):
        process.send_signal(signal.SIGTERM)


def shut_down() -> None:
    """End this process's launcher, if it has one; workers already started are not affected."""
    global _launcher
    with _launcher_guard:
        if _launcher is not None:
            _launcher.close()
            _launcher = None


# A process that started a sandbox and never said it was done (tests, the pytest plugin) still ends its launcher:
# its socket closed and the process waited for, not left to the interpreter's exit to warn about.
atexit.register(shut_down)


def start_here() -> None:
    """Fork this process's launcher now, with NumPy loaded, if this process is still fit to be copied.

    Fit means single-threaded (a fork copies one thread; a lock another
    thread held would stay held) and with no problem loaded: call it first
    thing. Afterwards the grader may load whatever it likes: the launcher (and
    every worker) has its own copy of memory as it was here. In a process no
    longer fit, nothing happens and the first sandbox starts a fresh launcher.
    """
    global _launcher
    if _launcher is not None or threading.active_count() > 1 or any(name in sys.modules for name in _LOADERS):
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # no BLAS threads in the grader, so the fork below copies every thread
    import numpy  # noqa: F401 - shared with every worker from here on

    prepare_for_forks()

    control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        try:
            control.close()
            _wipe_inherited_environment()
            _serve(theirs)
        finally:
            os._exit(CHILD_FAILED)
    theirs.close()
    _launcher = Launcher(control, pid)


def prepare_for_forks() -> None:
    """Make, once, what every reaper and worker would otherwise make for itself after its fork.

    Memory a forked process writes to is copied from its parent page by page,
    each copy a page fault: a module imported, a ctypes handle made or a filter
    built in the launcher, in every reaper or in every worker costs more there
    than once here, before the forks, where each process after them only reads it.
    """
    # A worker reports an exception it meets with traceback (loader.describe), and nearly every grade meets one;
    # it names and makes the submission's module with importlib.util (loader.module_name), ~2 ms to import.
    import importlib.util  # noqa: F401
    import traceback  # noqa: F401

    shared_libc()
    if seccomp.machine() in seccomp.ARCHITECTURES:
        seccomp.compiled(seccomp.machine())


# ----------------------------------------------------------------------------- the launcher's side


class _Reaper(NamedTuple):  # a NamedTuple: a dataclass would compile its methods at every grade (~0.2 ms)
    """A reaper the launcher started and has not reaped yet (so its pid is still its own)."""

    pidfd: int  # readable once it has ended
    cgroup: cgroups.WorkerCgroup | None


def _serve_fresh() -> NoReturn:
    """The launcher started as a fresh interpreter (see ``launcher``)."""
    import numpy  # noqa: F401 - loaded once, shared with every worker

    _serve(socket.socket(fileno=int(sys.argv[1])))


def _serve(control: socket.socket) -> NoReturn:
    """Answer requests until the grader closes the socket, or dies (which closes it too).

    Not PR_SET_PDEATHSIG: that fires when the *thread* that started the
    launcher ends, and batch starts it from one of its grading threads.
    Between requests, each reaper that ends is reaped and its cgroup removed.
    """
    prepare_for_forks()  # done already, before the fork, in a launcher that start_here made
    # Every reaper and worker inherits SCHED_BATCH: a process woken under it never preempts the one running.
    # So the grader is not stopped each time it writes a request, nor the worker each time it writes a reply:
    # each runs on until it waits, and on one core a grade switches between them about 55 times, not 290
    # (3-5% of a grade's time). A worker's share of the CPU is the same; only its wake-ups wait their turn.
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except OSError:  # a container's profile may refuse it: a little slower, nothing less safe
        pass
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, control.fileno())
    os.closerange(control.fileno() + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(number, signal.SIG_IGN)  # the grader's Ctrl-C is for the grader; it ends the launcher by closing the socket
    # Blocked here, so each reaper inherits SIGTERM blocked and cannot be killed by one before its handler is in place.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    reapers: dict[int, _Reaper] = {}
    unremoved: list[cgroups.WorkerCgroup] = []  # cgroups whose processes had not all left yet
    while True:
        poller = select.poll()
        for fd in (control.fileno(), *(reaper.pidfd for reaper in reapers.values())):
            poller.register(fd, select.POLLIN)
        ready = {fd for fd, _ in poller.poll()}
        _collect_reapers(reapers, unremoved)
        if control.fileno() not in ready:
            continue
        data, fds, _, _ = socket.recv_fds(control, MESSAGE_BYTES, SPAWN_FDS)
        if not data:  # the grader is done: stop what it left running, and wait, so that their CPU time counts as ours
            for pid in reapers:
                os.kill(pid, signal.SIGTERM)
            _collect_reapers(reapers, unremoved, block=True)
            os._exit(0)
        if not fds:
            continue
        reply_socket = socket.socket(fileno=fds[0])
        try:
            request: LauncherRequest = json.loads(data)
            if request["op"] == "probe":
                socket.send_fds(reply_socket, [json.dumps(namespaces.probe()).encode()], [])
            elif request["op"] == "kill":
                _kill_everything_of(*request["user"])
                socket.send_fds(reply_socket, [b"{}"], [])
            elif request["op"] == "spawn" and len(fds) == SPAWN_FDS:
                cgroup, memory = _worker_cgroup(request)
                try:
                    pid = _fork_reaper(
                        request, fds[1:], cgroup, [control.fileno(), reply_socket.fileno(), *(reaper.pidfd for reaper in reapers.values())]
                    )
                except BaseException:
                    if cgroup is not None:
                        cgroup.remove()
                    raise
                reapers[pid] = _Reaper(os.pidfd_open(pid), cgroup)  # not reaped yet, so the pid is still the reaper's
                spawned: Spawned = {"pid": pid, "memory": memory}
                socket.send_fds(reply_socket, [json.dumps(spawned).encode()], [reapers[pid].pidfd])
        except Exception as error:  # noqa: BLE001 - one bad request must not end the launcher
            try:
                reply_socket.send(json.dumps({"error": f"{type(error).__name__}: {error}"}).encode())
            except OSError:
                pass
        finally:
            reply_socket.close()
            for fd in fds[1:]:
                os.close(fd)


def _collect_reapers(reapers: dict[int, _Reaper], unremoved: list[cgroups.WorkerCgroup], block: bool = False) -> None:
    """Reap the reapers that ended (all of them, with ``block``) and remove their cgroups, or keep those for later."""
    for pid, reaper in list(reapers.items()):
        try:
            ended = os.waitpid(pid, 0 if block else os.WNOHANG)[0] == pid
        except ChildProcessError:
            ended = True
        if ended:
            os.close(reaper.pidfd)
            del reapers[pid]
            if reaper.cgroup is not None:
                unremoved.append(reaper.cgroup)
    unremoved[:] = [cgroup for cgroup in unremoved if not cgroup.remove(cgroups.REMOVAL_SECONDS if block else 0.0)]


_cgroup_places: list[cgroups.Parent] | str | None = None  # where this launcher makes worker cgroups, or why it cannot
_cgroups_made = 0


def _worker_cgroup(request: SpawnRequest) -> tuple[cgroups.WorkerCgroup | None, str]:
    """The cgroup of the worker about to start (None where none can be made), and what bounds its memory, in words.

    The worker's move into it first waits for an RCU grace period (5-17 ms off the CPU), while the grader goes
    on loading its problems. Starting that wait earlier in a throwaway process, moved into the cgroup it was in,
    was measured: no faster for one grade, 3% slower for a class (one more fork a submission).
    """
    global _cgroup_places, _cgroups_made
    fallback = f"the kernel's OOM killer takes the worker's processes first (oom_score_adj {WORKER_OOM_SCORE_ADJ})"
    if not request["memory_bytes"]:
        return None, f"{fallback}; no cgroup was asked for"
    if _cgroup_places is None:
        try:
            _cgroup_places = cgroups.parents()
            cgroups.remove_abandoned(_cgroup_places)
        except cgroups.Unavailable as why:
            _cgroup_places = str(why)
    if isinstance(_cgroup_places, str):
        return None, f"{fallback}, but nothing bounds the total: no cgroup ({_cgroup_places})"
    _cgroups_made += 1
    try:
        made = cgroups.WorkerCgroup.create(
            _cgroup_places, cgroups.worker_cgroup_name(os.getpid(), _cgroups_made), request["memory_bytes"], request["tasks"]
        )
    except OSError as error:
        return None, f"{fallback}, but nothing bounds the total: the cgroup could not be made ({error})"
    return made, f"{made.describe()}; {fallback}"


def _kill_everything_of(uid: int, gid: int) -> None:
    pid = os.fork()
    if pid == 0:
        try:
            if uid != 0 and _become_user(uid, gid):  # never as root, nor as the grader's own user
                os.kill(-1, signal.SIGKILL)  # every process this user may signal: its own, but not the caller
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _become_user(uid: int, gid: int) -> bool:
    """Drop to ``uid`` and ``gid`` for good (real, effective and saved ids), with no other groups; whether it took."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    return os.getresuid() == (uid, uid, uid) and os.getresgid() == (gid, gid, gid)


def _start(function: Callable[[], object]) -> int:
    """Fork a child that runs ``function`` and exits; its pid."""
    pid = os.fork()
    if pid == 0:
        try:
            function()
        finally:
            os._exit(CHILD_FAILED)
    return pid


def _fork_reaper(request: SpawnRequest, pipes: list[int], cgroup: cgroups.WorkerCgroup | None, inherited: list[int]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = CHILD_FAILED
    try:
        for fd in inherited:  # the launcher's: its socket, this request's reply socket, other reapers' pidfds
            os.close(fd)
        code = _reap(request, pipes, cgroup)
    finally:
        os._exit(code)


class _Stop(Exception):
    """The grader asked the reaper to stop (SIGTERM)."""


def _raise_stop(*_: object) -> None:
    raise _Stop


def _reap(request: SpawnRequest, pipes: list[int], cgroup: cgroups.WorkerCgroup | None) -> int:
    """The reaper: start the worker, wait for it, then kill and reap every process it left; report how it ended.

    With a PID namespace the worker's parent is a tiny init of that
    namespace instead (``_init``); this reaper then waits for the init, and
    everything in the namespace dies with it.
    """
    libc = shared_libc()
    signal.signal(signal.SIGTERM, _raise_stop)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    os.setsid()
    *stdio, status_pipe = pipes
    try:
        namespaces.enter(request["network_namespace"], request["ipc_namespace"], request["process_namespace"])
    except OSError:
        os.write(status_pipe, str(ISOLATION_FAILED << 8).encode())  # a protection the grader counts on is missing: run nothing
        return 0
    if request["process_namespace"]:
        child = _start(lambda: _init(request, stdio, status_pipe, cgroup))
        for fd in stdio:
            os.close(fd)
        _watch(child, status_pipe)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _sweep(child, None)
        return 0
    return _supervise(lambda: _become_worker(request, stdio, cgroup), stdio, status_pipe, cgroup, sweep=True)


def _init(request: SpawnRequest, stdio: list[int], status_pipe: int, cgroup: cgroups.WorkerCgroup | None) -> NoReturn:
    """Pid 1 of the worker's PID namespace: the worker's parent. When it exits, the kernel kills all the namespace holds."""
    shared_libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the reaper gone: the namespace goes
    try:
        _supervise(lambda: _become_worker(request, stdio, cgroup), stdio, status_pipe, cgroup, sweep=False)
    finally:
        os._exit(0)


def _supervise(start: Callable[[], object], stdio: list[int], status_pipe: int, cgroup: cgroups.WorkerCgroup | None, sweep: bool) -> int:
    """Fork the worker, wait for it, kill all it left (``sweep``), and write how it ended to the status pipe."""
    counted = cgroup.memory if cgroup is not None else cgroups.memory_folder()
    kills_before = cgroups.oom_kills(counted)
    worker_pid = _start(start)
    for fd in stdio:
        os.close(fd)  # the grader sees the worker's pipes close when the worker dies
    status = _watch(worker_pid, status_pipe)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if sweep:
        status = _sweep(worker_pid, status)
    if status is not None:
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        note = f" {OUT_OF_MEMORY}" if killed and cgroups.oom_kills(counted) > kills_before else ""
        os.write(status_pipe, f"{status}{note}".encode())
    return 0


def _watch(child: int, status_pipe: int) -> int | None:
    """Wait until ``child`` ends (its wait status), the grader asks (SIGTERM) or is gone (None); reap orphans meanwhile.

    The grader is gone when its end of the status pipe is closed: this
    reaper then stops by itself, however the launcher fared.
    """
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that each SIGCHLD writes to the wake-up pipe
    poller = select.poll()
    poller.register(wake_read, select.POLLIN)
    poller.register(status_pipe, 0)  # POLLERR: the grader closed its end
    status = None
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})  # a SIGTERM already pending raises _Stop here
        while True:
            try:
                while pid_and_code := os.waitpid(-1, os.WNOHANG):
                    if pid_and_code[0] == 0:
                        break
                    if pid_and_code[0] == child:
                        status = pid_and_code[1]
            except ChildProcessError:
                break
            if status is not None:
                break
            events = poller.poll()
            if any(fd == status_pipe for fd, _ in events):
                break
            while True:
                try:
                    if not os.read(wake_read, 512):
                        break
                except BlockingIOError:
                    break
    except _Stop:
        pass
    finally:
        signal.set_wakeup_fd(-1)
        os.close(wake_read)
        os.close(wake_write)
    return status


def _sweep(worker_pid: int, status: int | None) -> int | None:
    """Kill every descendant of this process until none is left; the worker's status if it is reaped here.

    Each round kills every descendant there is, then waits for one to die and
    reaps all that have: an orphan of a killed process is reparented to this
    child subreaper before its parent can be reaped, so the next round sees it.
    """
    me = os.getpid()
    while True:
        for pid in _descendants(me):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            pid, code = os.waitpid(-1, 0)
            while pid:
                if pid == worker_pid and status is None:
                    status = code
                pid, code = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status


def _descendants(root: int) -> list[int]:
    """Every process below ``root``, from the kernel's children lists (one per thread: any thread may fork)."""
    found, todo = [], [root]
    while todo:
        parent = todo.pop()
        try:
            threads = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue  # gone already
        for thread in threads:
            try:
                with open(f"/proc/{parent}/task/{thread}/children", "rb") as listing:
                    children = [int(pid) for pid in listing.read().split()]
            except (OSError, ValueError):
                continue
            found += children
            todo += children
    return found


def _become_worker(request: SpawnRequest, stdio: list[int], cgroup: cgroups.WorkerCgroup | None) -> NoReturn:
    """Turn this fork into the worker: a session, the pipes, its cgroup, first in line for the OOM killer, out of reach, the worker's user."""
    libc = shared_libc()
    reaper = os.getppid()
    os.setsid()
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    if request["process_budget"]:
        hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
        budget = request["process_budget"] if hard == resource.RLIM_INFINITY else min(request["process_budget"], hard)
        resource.setrlimit(resource.RLIMIT_NPROC, (budget, budget))
    try:
        if cgroup is not None:
            cgroup.enter()  # while still root: the worker and all it starts are counted there
        # The worker cannot lower it again: as root its /proc files stay root's (see below); otherwise its
        # /proc is read-only (a mount namespace) or out of Landlock's reach.
        Path("/proc/self/oom_score_adj").write_text(str(WORKER_OOM_SCORE_ADJ))
        if request["process_namespace"]:
            namespaces.read_only_filesystem()
    except OSError:
        os._exit(ISOLATION_FAILED)
    if not request["process_namespace"]:
        request["config"]["mounts"] = _read_only_mounts()
    os.chdir(request["workdir"])
    os.environ.clear()
    os.environ.update(request["environment"])
    # Changing user leaves the process undumpable, and so /proc/<pid> root's: the worker's user can neither
    # trace it nor write its oom_score_adj (nor read its memory through /proc). It stays so.
    if request["user"] and not _become_user(*request["user"]):
        os._exit(USER_NOT_DROPPED)
    if request["process_namespace"]:
        try:
            namespaces.drop_capabilities()
        except OSError:
            os._exit(ISOLATION_FAILED)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after the change of user, which clears it
    if os.getppid() != reaper:
        os._exit(REAPER_GONE)  # the reaper died before the line above: nothing may run without it
    _as_a_fresh_interpreter()
    worker.main(request["config"])
    os._exit(0)


def _read_only_mounts() -> str:
    """Every mount read-only for this worker alone, as far as the kernel lets root do it here; what came of it.

    Landlock already keeps the worker from writing; read-only mounts also keep
    its reads from setting files' access times, which other gradings could read.
    Best effort, as the network namespace is: a container without the right to
    make a mount namespace grades on, and the staff notes say what is missing.
    """
    try:
        writable = namespaces.read_only_filesystem(own_proc=False)
    except OSError as error:
        return f"NOT read-only (no mount namespace: {error}): reads set access times other gradings can see"
    return "read-only (a mount namespace of its own)" + (f", except {', '.join(writable)}" if writable else "")


_UNLISTED: list[object] = []  # the engine's modules, no longer in a worker's sys.modules


def _as_a_fresh_interpreter() -> None:
    """Signals, import path and modules as ``python -I -B worker.py`` would have them: nothing of the grader's."""
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    for number in signal.valid_signals():
        if number not in (signal.SIGKILL, signal.SIGSTOP):
            try:
                signal.signal(number, signal.SIG_DFL)
            except (OSError, ValueError):
                pass
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    sys.path[:] = _FRESH_PATH
    # Only unlisted, not freed: freeing them would write to, and so copy, every page they span (~60 page faults).
    _UNLISTED.extend(sys.modules.pop(name) for name in [name for name in sys.modules if name.partition(".")[0] == "autograder"])
    sys.modules["__main__"] = worker  # as when the worker was a script: its own main module
    sys.argv[:] = ["-c"]
    sys.dont_write_bytecode = True


# The import path of ``python -I``: what lies in the installation (the standard library, site-packages),
# not the current folder, $PYTHONPATH or a checkout of the engine.
_INSTALLATION = {Path(prefix).resolve() for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
_FRESH_PATH = [path for path in sys.path if path and any(Path(path).resolve().is_relative_to(p) for p in _INSTALLATION)]


def _wipe_inherited_environment() -> None:
    """Overwrite every copy of the grader's environment in this process, and its command line where the kernel and
    ``sys`` show it, and the import system's listing of the folder it was run in: the launcher forked from the
    grader keeps none.

    The variables live in the block the kernel put on the stack at exec, in
    libc's ``environ`` and in ``os.environ``'s bytes; each is zeroed, not only
    dropped, since a worker can read its own memory. The command line (a TA's
    folders: ``grade ~/class/ps3.py --json ...``) is the block before it, which
    /proc/self/cmdline reads, and ``sys.orig_argv`` (red team).
    """
    sys.orig_argv[:] = [sys.executable]
    # The import system's finders, the current folder's among them, each with its folder's listing: run from a
    # class's folder, grade alice/ps3.py showed alice's worker her classmates' folder names (red team).
    sys.path_importer_cache.clear()
    libc = shared_libc()
    copies = [data for item in os.environb.items() for data in item]  # kept alive until zeroed below
    os.environ.clear()
    libc.clearenv()
    header = sys.getsizeof(b"") - 1  # where a bytes object's payload starts
    for data in copies:
        if len(data) > 1:  # one-byte bytes objects are shared singletons; they reveal nothing
            ctypes.memset(id(data) + header, 0, len(data))
    del copies
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
        # arg_start, arg_end, env_start, env_end: fields 48 to 51 of proc(5)
        blocks = [(int(fields[45]), int(fields[46])), (int(fields[47]), int(fields[48]))]
    except (OSError, IndexError, ValueError):
        return
    for start, end in blocks:
        if 0 < start < end:
            ctypes.memset(start, 0, end - start)


__all__ = [
    "Launcher",
    "LauncherGone",
    "WorkerProcess",
    "available_namespaces",
    "kill_everything_of",
    "launcher",
    "spawn",
    "start_here",
    "stop_all_workers",
    "worker",
]
