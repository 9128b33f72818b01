# Attack: allocate and touch memory until none is left, in conv_transpose2d. The worker's
# data limit (RLIMIT_DATA) turns it into a MemoryError: conv_transpose2d earns nothing, the rest keep
# full marks, and the grader's own memory is untouched.
import numpy as np


def conv_transpose2d(x, kernel):
    hoard = []
    while True:
        hoard.append(np.ones(1 << 23))  # 64 MB each, every page touched
