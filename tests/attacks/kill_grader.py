# Attack: kill or stop the grader: SIGKILL, SIGTERM and SIGSTOP to the parent process and its
# process group, the grader found through /proc, and a brute-force SIGKILL of every pid but our
# own. Every attempt is refused; the grader finishes and the submission scores 100.
import os
import signal

_grader = os.getppid()


def _graders_in_proc():
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if b"autograder" in handle.read():
                    os.kill(int(entry), signal.SIGKILL)
                    found.append(entry)
    return found


def _every_pid():
    killed = []
    for pid in range(2, 1 << 15):
        if pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except OSError:
                pass
    if not killed:
        raise PermissionError("no pid could be signalled")
    return killed


_probe("SIGSTOP the grader", lambda: os.kill(_grader, signal.SIGSTOP))
_probe("SIGTERM the grader", lambda: os.kill(_grader, signal.SIGTERM))
_probe("SIGKILL the grader", lambda: os.kill(_grader, signal.SIGKILL))
_probe("SIGKILL the grader's group", lambda: os.killpg(os.getpgid(_grader), signal.SIGKILL))
_probe("SIGKILL graders found in /proc", _graders_in_proc)
_probe("SIGKILL every pid", _every_pid)
