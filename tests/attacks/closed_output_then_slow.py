# Attack: close the worker's output (stdout and stderr) at import, then make two calls slow, within their
# time. A grader that kept watching an output at its end would find it "readable" at every select and spin
# at full CPU while it waited for each reply: CPU taken from the gradings beside it. Every answer is right.
import os
import time

os.close(1)
os.close(2)

_right_conv2d = conv2d
_slept = []


def conv2d(x, kernel):
    if len(_slept) < 2:
        _slept.append(1)
        time.sleep(1.0)
    return _right_conv2d(x, kernel)
