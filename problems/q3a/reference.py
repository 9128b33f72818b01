"""Q3a reference: valid 2-D cross-correlation, stride 1 (the deep-learning 'convolution')."""

from __future__ import annotations

import numpy as np


def conv2d(x, kernel) -> np.ndarray:
    """O[i, j] = sum over the window of x at (i, j) times the kernel, unflipped."""
    x, kernel = np.asarray(x, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    kh, kw = kernel.shape
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw))
    return np.einsum("ijkl,kl->ij", windows, kernel)


# -- known wrong answers ---------------------------------------------------------


def conv2d_flipped_kernel(x, kernel) -> np.ndarray:
    """True convolution: the kernel rotated by 180 degrees."""
    return conv2d(x, np.asarray(kernel)[::-1, ::-1])


def conv2d_transposed(x, kernel) -> np.ndarray:
    return conv2d(x, kernel).T


def conv2d_truncated(x, kernel) -> np.ndarray:
    """Inputs truncated to integers (for example an int array used as the output buffer)."""
    return np.trunc(conv2d(x, kernel))


# -- hidden case generators --------------------------------------------------------


def random_float_case(rng) -> list:
    """Non-square float input and an asymmetric non-square kernel with negative entries."""
    h, w = int(rng.integers(3, 12)), int(rng.integers(3, 12))
    kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
    return [rng.normal(0, 3, size=(h, w)), rng.normal(0, 2, size=(kh, kw))]


def random_int_case(rng) -> list:
    h, w = int(rng.integers(4, 20)), int(rng.integers(4, 20))
    return [rng.integers(-5, 6, size=(h, w)), rng.integers(-3, 4, size=(int(rng.integers(2, 5)), int(rng.integers(2, 5))))]
