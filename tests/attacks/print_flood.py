# Attack: print 100 MB at import and another 100 MB from conv2d on the Q3a instance, while
# answering everything right. Output is captured up to a cap, results.json stays small, and the
# submission scores 100.
import sys

import numpy as np

sys.stdout.write("A" * (100 << 20))
_honest_conv2d = conv2d


def conv2d(x, kernel):
    if np.shape(x) == (4, 4) and np.shape(kernel) == (3, 3):
        print("B" * (100 << 20))
    return _honest_conv2d(x, kernel)
