# Attack: ignore every catchable signal, then loop forever in conv2d. The grader's deadline on
# the pipe and SIGKILL of the process group end it: conv2d times out twice and is not called
# again; the honest functions keep full marks.
import signal

for _signal in signal.valid_signals():
    try:
        signal.signal(_signal, signal.SIG_IGN)
    except (OSError, ValueError, RuntimeError):
        pass


def conv2d(x, kernel):
    while True:
        pass
