# Attack: raise the recursion limit to a million and recurse through C code (map) until the C
# stack overflows: a segmentation fault in conv_classifier_params on every call. The worker is
# restarted after each crash: that function earns nothing, the rest keep full marks.
import sys


def _deeper(depth):
    return list(map(_deeper, [depth + 1]))


def conv_classifier_params(image_shape, kernel_size, size_out, n_classes):
    sys.setrecursionlimit(10**6)
    return _deeper(0)
