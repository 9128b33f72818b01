"""P2 reference: max pooling, and the sizes it leaves."""

from __future__ import annotations

import sys

import numpy as np


def pool_output_size(n, size, stride):
    """How many windows fit along a side of n entries: size-wide windows, one every stride entries.

    That is floor((n - size) / stride) + 1; a window that would run past the edge is not counted.
    Raises ValueError when the window is wider than the input.
    """
    if size > n:
        raise ValueError(f"a window of {size} does not fit in {n} entries")
    return (n - size) // stride + 1


def max_pool2d(x, size, stride=None):
    """The maximum of each size x size window of the 2-D array x, windows one every stride entries
    down and across (by default stride = size: side by side, not overlapping).

    Raises ValueError when a window is taller or wider than x, as pool_output_size does.
    """
    x = np.asarray(x, dtype=np.float64)
    stride = size if stride is None else stride
    rows, columns = pool_output_size(x.shape[0], size, stride), pool_output_size(x.shape[1], size, stride)
    pooled = np.empty((rows, columns))
    for i in range(rows):
        for j in range(columns):
            pooled[i, j] = x[i * stride : i * stride + size, j * stride : j * stride + size].max()
    return pooled


def pooled_features(channels, n, size, stride):
    """How many numbers a flatten layer receives after pooling a channels x n x n feature map
    with size x size windows every stride entries: every channel keeps an output of its own."""
    return pooled_features_from(sys.modules[__name__], channels, n, size, stride)


def pooled_features_from(parts, channels, n, size, stride):
    """The composition, over parts that may be the student's own (follow-through credit)."""
    side = parts.pool_output_size(n, size, stride)
    return channels * side * side


# -- known wrong answers ---------------------------------------------------------


def pool_output_size_rounded_up(n, size, stride):
    if size > n:
        raise ValueError(f"a window of {size} does not fit in {n} entries")
    return -(-(n - size) // stride) + 1


def max_pool2d_average(x, size, stride=None):
    x = np.asarray(x, dtype=np.float64)
    stride = size if stride is None else stride
    rows, columns = pool_output_size(x.shape[0], size, stride), pool_output_size(x.shape[1], size, stride)
    return np.array(
        [[x[i * stride : i * stride + size, j * stride : j * stride + size].mean() for j in range(columns)] for i in range(rows)]
    )


def pooled_features_one_side(channels, n, size, stride):
    return channels * pool_output_size(n, size, stride)


# -- hidden case generators --------------------------------------------------------


def random_sizes(rng) -> list:
    size = int(rng.integers(1, 6))
    return [int(rng.integers(size, 300)), size, int(rng.integers(1, 5))]


def random_numpy_sizes(rng) -> list:
    """Sizes as NumPy integers (np.int64), as an array's shape gives them."""
    return [np.int64(v) for v in random_sizes(rng)]


def random_pooling(rng) -> list:
    size, stride = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    shape = (int(rng.integers(size, 10)), int(rng.integers(size, 10)))
    return [rng.normal(0, 5, size=shape), size, stride]


def random_feature_maps(rng) -> list:
    size = int(rng.integers(2, 5))
    return [int(rng.integers(1, 512)), int(rng.integers(size, 128)), size, int(rng.integers(1, 4))]


# -- the whole domain, for mutation adequacy (autograder/engine/mutants.py) ---------


def domain_pool_output_size(rng) -> list:
    n, size = int(rng.integers(1, 400)), int(rng.integers(1, 9))  # some windows do not fit: ValueError
    stride = int(rng.integers(1, 6))
    return [np.int64(n), size, stride] if rng.random() < 0.3 else [n, size, stride]


def domain_max_pool2d(rng) -> list:
    size = int(rng.integers(1, 5))
    shape = (int(rng.integers(1, 11)), int(rng.integers(1, 11)))
    x = rng.normal(0, 5, size=shape).astype(rng.choice(["float64", "float32", "int64"]))
    return [x, size] if rng.random() < 0.4 else [x, size, int(rng.integers(1, 5))]


def domain_pooled_features(rng) -> list:
    size = int(rng.integers(1, 6))
    return [int(rng.integers(1, 8192)), int(rng.integers(size, 2048)), size, int(rng.integers(1, 5))]
