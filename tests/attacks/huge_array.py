# Attack: answer the Q3a instance with a 10^8-element array (100 MB on the wire, over the reply
# limit) and the Q3b instance with a 10^8-element float64 array (800 MB, over the worker's memory
# limit). Each costs its own case only; the grader's memory and time stay small.
import numpy as np

_honest_conv2d, _honest_conv_transpose2d = conv2d, conv_transpose2d


def conv2d(x, kernel):
    if np.shape(x) == (4, 4) and np.shape(kernel) == (3, 3):
        return np.ones(10**8, dtype=np.int8)
    return _honest_conv2d(x, kernel)


def conv_transpose2d(x, kernel):
    if np.shape(x) == (4, 4) and np.shape(kernel) == (3, 3):
        return np.ones(10**8)
    return _honest_conv_transpose2d(x, kernel)
