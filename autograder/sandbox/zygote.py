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

For each worker the launcher forks a *reaper*: a child subreaper that, as
root, enters new network and IPC namespaces, then forks the worker and, when
the worker dies or the grader asks, kills every descendant however detached.
The worker drops to the worker's user, takes the grader's pipes as its 0, 1
and 2, and runs ``worker.main``; it applies its own limits, Landlock and
seccomp there, as before.

The grader talks to the launcher over a Unix socket. Each request carries its
own reply socket and the worker's pipes (SCM_RIGHTS), so threads and processes
can share one launcher without a lock. The reply is a pidfd for the reaper (a
signal through it can never reach a recycled pid); the reaper's last act is to
write the worker's wait status to a pipe the grader holds, which is how the
grader learns how the worker ended.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from autograder.sandbox import worker

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 4, 36
CLONE_NEWIPC, CLONE_NEWNET = 0x08000000, 0x40000000
MESSAGE_BYTES = 1 << 18
UNSHARE_FAILED = 71  # the worker's exit code when the reaper could not enter its namespaces
SPAWN_FDS = 5  # the reply socket, the worker's stdin, stdout and stderr, and the status pipe


@dataclass
class Spawn:
    """What the launcher needs to start one worker."""

    config: dict[str, Any]  # worker.main's configuration
    workdir: str
    environment: dict[str, str]
    user: tuple[int, int] | None = None  # (uid, gid) to drop to; None keeps the grader's user
    network_namespace: bool = False
    ipc_namespace: bool = False
    process_budget: int = 0  # RLIMIT_NPROC for the worker when it has no user of its own; 0: none


@dataclass(eq=False)
class WorkerProcess:
    """The grader's handle on one reaper (and so on its worker): what ``subprocess.Popen`` offered, for a process that is not our child."""

    pid: int
    pidfd: int  # -1 once closed: a closed descriptor's number may already name another process
    status: int  # read end of the pipe the reaper writes the worker's wait status to
    returncode: int | None = None
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
            code = int(self._received) if self._received.strip().isdigit() else None
            # No status: the reaper itself was killed (SIGKILL), and the worker with it (PR_SET_PDEATHSIG).
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
                os.close(fd)
            self.pidfd = self.status = -1


class Launcher:
    """The grader's end of the launcher's socket."""

    def __init__(self, control: socket.socket, process: subprocess.Popen | int) -> None:
        self._control = control
        self._process = process  # the launcher itself: a Popen (fresh interpreter) or a pid (forked here)
        self._namespaces: tuple[bool, bool] | None = None
        self._guard = threading.Lock()
        self.running: weakref.WeakSet[WorkerProcess] = weakref.WeakSet()  # the handles given out and still referenced

    def spawn(self, request: Spawn, stdin: int, stdout: int, stderr: int) -> WorkerProcess:
        """Start a worker on these pipe ends (the caller closes its copies afterwards)."""
        status_read, status_write = os.pipe2(os.O_CLOEXEC)
        try:
            reply = self._ask({"op": "spawn", **vars(request)}, [stdin, stdout, stderr, status_write])
        except BaseException:
            os.close(status_read)
            raise
        finally:
            os.close(status_write)
        message, fds = reply
        if "pid" not in message or len(fds) != 1:
            os.close(status_read)
            for fd in fds:
                os.close(fd)
            raise OSError(f"the worker could not be started: {message.get('error', 'the launcher gave no process')}")
        process = WorkerProcess(message["pid"], fds[0], status_read)
        self.running.add(process)
        return process

    def close(self) -> None:
        """End the launcher (it exits when its socket closes) and wait for it, so its CPU time counts as this process's children's."""
        self._control.close()
        if isinstance(self._process, int):
            os.waitpid(self._process, 0)
        else:
            self._process.wait()

    def kill_everything_of(self, uid: int, gid: int) -> None:
        """SIGKILL every process of the user ``uid``, from a throwaway process of that user (kill(-1))."""
        self._ask({"op": "kill", "user": [uid, gid]}, [])

    def namespaces(self) -> tuple[bool, bool]:
        """Whether new network and IPC namespaces can be made here (root only), asked once."""
        with self._guard:
            if self._namespaces is None:
                answer, _ = self._ask({"op": "probe"}, [])
                self._namespaces = (answer.get("network") is True, answer.get("ipc") is True)
            return self._namespaces

    def _ask(self, message: dict, fds: list[int]) -> tuple[dict, list[int]]:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with mine:
            try:
                socket.send_fds(self._control, [json.dumps(message).encode()], [theirs.fileno(), *fds])
            except OSError as error:
                raise OSError(f"the worker launcher is gone ({error})") from None
            finally:
                theirs.close()
            data, received, _, _ = socket.recv_fds(mine, MESSAGE_BYTES, 1)
        if not data:
            raise OSError("the worker launcher closed the request without an answer")
        return json.loads(data), received


_launcher: Launcher | None = None
# The modules that read problems (specs, expected values): once one is imported, this process is not forked.
_LOADERS = ("autograder.engine.problemset", "autograder.engine.specs")
_launcher_guard = threading.Lock()


def launcher() -> Launcher:
    """This process's launcher: the one ``start_here`` forked, else a fresh interpreter started now."""
    global _launcher
    with _launcher_guard:
        if _launcher is None:
            control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            package_parent = str(Path(__file__).resolve().parents[2])
            boot = (f"import sys; sys.path.insert(0, {package_parent!r}); "
                    "from autograder.sandbox.zygote import _serve_fresh; _serve_fresh()")
            process = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", boot, str(theirs.fileno())], pass_fds=[theirs.fileno()],
                env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1"},
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True,
            )
            theirs.close()
            _launcher = Launcher(control, process)
        return _launcher


def stop_all_workers() -> None:
    """Ask the reaper of every worker this process started to stop (SIGTERM): each kills its worker and all it started.

    For a Ctrl-C in batch: a grading thread blocked on a hung worker's pipe
    wakes at once, sees the cancellation, and stops its sandbox (folder and all).
    """
    if _launcher is not None:
        for process in list(_launcher.running):
            process.send_signal(signal.SIGTERM)


def shut_down() -> None:
    """End this process's launcher, if it has one; workers already started are not affected."""
    global _launcher
    with _launcher_guard:
        if _launcher is not None:
            _launcher.close()
            _launcher = None


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

    control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        try:
            control.close()
            _wipe_inherited_environment()
            _serve(theirs)
        finally:
            os._exit(70)
    theirs.close()
    _launcher = Launcher(control, pid)


# ----------------------------------------------------------------------------- the launcher's side


def _serve_fresh() -> NoReturn:
    """The launcher started as a fresh interpreter (see ``launcher``)."""
    import numpy  # noqa: F401 - loaded once, shared with every worker

    _serve(socket.socket(fileno=int(sys.argv[1])))


def _serve(control: socket.socket) -> NoReturn:
    """Answer requests until the grader closes the socket, or dies (which closes it too).

    Not PR_SET_PDEATHSIG: that fires when the *thread* that started the
    launcher ends, and batch starts it from one of its grading threads.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, control.fileno())
    os.closerange(control.fileno() + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(number, signal.SIG_IGN)  # the grader's Ctrl-C is for the grader; it ends the launcher by closing the socket
    # Blocked here, so each reaper inherits SIGTERM blocked and cannot be killed by one before its handler is in place.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    reapers: set[int] = set()  # started and not yet reaped here, so their pids are still theirs
    while True:
        _reap_finished_children(reapers)  # reapers that ended: the grader learned how from their status pipes
        data, fds, _, _ = socket.recv_fds(control, MESSAGE_BYTES, SPAWN_FDS)
        if not data:  # the grader is done: stop what it left running, and wait, so that their CPU time counts as ours
            for pid in reapers:
                os.kill(pid, signal.SIGTERM)
            _reap_finished_children(reapers, block=True)
            os._exit(0)
        if not fds:
            continue
        reply_socket = socket.socket(fileno=fds[0])
        try:
            request = json.loads(data)
            if request.get("op") == "probe":
                socket.send_fds(reply_socket, [json.dumps(_probe_namespaces()).encode()], [])
            elif request.get("op") == "kill":
                _kill_everything_of(*request["user"])
                socket.send_fds(reply_socket, [b"{}"], [])
            elif request.get("op") == "spawn" and len(fds) == SPAWN_FDS:
                pid = _fork_reaper(request, fds[1:], control, reply_socket)
                reapers.add(pid)
                pidfd = os.pidfd_open(pid)  # not reaped before the next request, so the pid is still the reaper's
                socket.send_fds(reply_socket, [json.dumps({"pid": pid}).encode()], [pidfd])
                os.close(pidfd)
        except Exception as error:  # noqa: BLE001 - one bad request must not end the launcher
            try:
                reply_socket.send(json.dumps({"error": f"{type(error).__name__}: {error}"}).encode())
            except OSError:
                pass
        finally:
            reply_socket.close()
            for fd in fds[1:]:
                os.close(fd)


def _probe_namespaces() -> dict[str, bool]:
    """Whether new network and IPC namespaces can be entered here: tried in a throwaway child each."""
    def works(flag: int) -> bool:
        if os.geteuid() != 0:
            return False
        pid = os.fork()
        if pid == 0:
            os._exit(0 if ctypes.CDLL(None).unshare(flag) == 0 else 1)
        return os.waitpid(pid, 0)[1] == 0

    return {"network": works(CLONE_NEWNET), "ipc": works(CLONE_NEWIPC)}


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


def _reap_finished_children(reapers: set[int], block: bool = False) -> None:
    try:
        while pid := os.waitpid(-1, 0 if block else os.WNOHANG)[0]:
            reapers.discard(pid)
    except ChildProcessError:
        pass


def _fork_reaper(request: dict, pipes: list[int], control: socket.socket, reply_socket: socket.socket) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 70
    try:
        control.close()
        reply_socket.close()
        code = _reap(request, pipes)
    finally:
        os._exit(code)


def _reap(request: dict, pipes: list[int]) -> int:
    """The reaper: start the worker, wait for it, then kill and reap every process it left; report how it ended."""
    class Stop(Exception):
        pass

    def stop(*_: object) -> None:
        raise Stop

    libc = ctypes.CDLL(None, use_errno=True)
    signal.signal(signal.SIGTERM, stop)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)  # the launcher gone (the grader died): sweep up
    os.setsid()
    *stdio, status_pipe = pipes
    flags = (CLONE_NEWNET if request["network_namespace"] else 0) | (CLONE_NEWIPC if request["ipc_namespace"] else 0)
    if flags and libc.unshare(flags) != 0:
        os.write(status_pipe, str(UNSHARE_FAILED << 8).encode())  # a protection the grader counts on is missing: run nothing
        return 0
    worker_pid = os.fork()
    if worker_pid == 0:
        try:
            _become_worker(request, stdio)
        finally:
            os._exit(70)
    for fd in stdio:
        os.close(fd)  # the grader sees the worker's pipes close when the worker dies
    status = None
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})  # a SIGTERM already pending raises Stop here
        while status is None:
            pid, code = os.waitpid(-1, 0)
            if pid == worker_pid:
                status = code
    except (Stop, ChildProcessError):
        pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    status = _sweep(worker_pid, status)
    if status is not None:
        os.write(status_pipe, str(status).encode())
    return 0


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


def _become_worker(request: dict, stdio: list[int]) -> NoReturn:
    """Turn this fork into the worker: a session of its own, the pipes, a clean environment, the worker's user."""
    libc = ctypes.CDLL(None, use_errno=True)
    reaper = os.getppid()
    os.setsid()
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    if request["process_budget"]:
        hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
        budget = request["process_budget"] if hard == resource.RLIM_INFINITY else min(request["process_budget"], hard)
        resource.setrlimit(resource.RLIMIT_NPROC, (budget, budget))
    os.chdir(request["workdir"])
    os.environ.clear()
    os.environ.update(request["environment"])
    if request["user"]:
        if not _become_user(*request["user"]):
            os._exit(72)
        # Changing user made the process undumpable, which hands /proc/<pid> to root: the grader's sweep by
        # owner would not see it. A worker started by exec was dumpable; so is this one.
        libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after the change of user, which clears it
    if os.getppid() != reaper:
        os._exit(73)  # the reaper died before the line above: nothing may run without it
    _as_a_fresh_interpreter()
    worker.main(request["config"])
    os._exit(0)


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
    for name in [name for name in sys.modules if name == "autograder" or name.startswith("autograder.")]:
        del sys.modules[name]
    sys.modules["__main__"] = worker  # as when the worker was a script: its own main module
    sys.argv[:] = ["-c"]
    sys.dont_write_bytecode = True


# The import path of ``python -I``: what lies in the installation (the standard library, site-packages),
# not the current folder, $PYTHONPATH or a checkout of the engine.
_INSTALLATION = {Path(prefix).resolve() for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
_FRESH_PATH = [path for path in sys.path if path and any(Path(path).resolve().is_relative_to(p) for p in _INSTALLATION)]


def _wipe_inherited_environment() -> None:
    """Overwrite every copy of the grader's environment in this process: the launcher forked from the grader keeps none.

    The variables live in the block the kernel put on the stack at exec, in
    libc's ``environ`` and in ``os.environ``'s bytes; each is zeroed, not only
    dropped, since a worker can read its own memory.
    """
    libc = ctypes.CDLL(None, use_errno=True)
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
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end (fields 50 and 51 of proc(5))
    except (OSError, IndexError, ValueError):
        return
    if 0 < start < end:
        ctypes.memset(start, 0, end - start)


__all__ = ["Launcher", "Spawn", "WorkerProcess", "launcher", "start_here", "worker"]
