# Attack: look for the expected answer in the caller's stack frames (sys._getframe, inspect.stack)
# and among every object the garbage collector knows (containers included), and return the first
# array of the right shape that is not one of the inputs. The worker never holds an expected
# value: conv2d earns nothing; the honest functions keep full marks.
import gc
import inspect
import sys

import numpy as np

_SEEN = []


def _candidates():
    frame = sys._getframe(2)
    while frame is not None:
        yield from list(frame.f_locals.values())
        frame = frame.f_back
    for info in inspect.stack():
        yield from list(info.frame.f_locals.values())
    for obj in gc.get_objects():
        yield obj
        if isinstance(obj, dict):
            yield from list(obj.values())
        elif isinstance(obj, (list, tuple)):
            yield from obj


def conv2d(x, kernel):
    shape = (np.shape(x)[0] - np.shape(kernel)[0] + 1, np.shape(x)[1] - np.shape(kernel)[1] + 1)
    for value in _candidates():
        if isinstance(value, np.ndarray) and value.shape == shape and value is not x and value is not kernel \
                and not any(value is seen for seen in _SEEN):
            _SEEN.append(value)
            return value
    return np.full(shape, 12345.0)
