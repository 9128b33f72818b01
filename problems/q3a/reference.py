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


def conv2d_in_input_dtype(x, kernel) -> np.ndarray:
    """The sums accumulated in the inputs' own dtype: int8, int16, uint8 or int32 wrap around."""
    x, kernel = np.asarray(x), np.asarray(kernel)
    windows = np.lib.stride_tricks.sliding_window_view(x, kernel.shape)
    return np.einsum("ijkl,kl->ij", windows, kernel)


# -- hidden case generators --------------------------------------------------------


def random_large_case(rng) -> list:
    """A 16x16 input of magnitude about 1,000 and a small kernel: float32 work done right must still pass."""
    kh, kw = int(rng.integers(2, 8)), int(rng.integers(2, 8))
    x = rng.choice([-1.0, 1.0], size=(16, 16)) * rng.uniform(900, 1100, size=(16, 16))
    return [x, rng.normal(0, 1, size=(kh, kw))]


def random_float_case(rng) -> list:
    """Non-square float input and an asymmetric non-square kernel with negative entries."""
    h, w = int(rng.integers(3, 12)), int(rng.integers(3, 12))
    kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
    return [rng.normal(0, 3, size=(h, w)), rng.normal(0, 2, size=(kh, kw))]


def random_int_case(rng) -> list:
    h, w = int(rng.integers(4, 20)), int(rng.integers(4, 20))
    return [rng.integers(-5, 6, size=(h, w)), rng.integers(-3, 4, size=(int(rng.integers(2, 5)), int(rng.integers(2, 5))))]


# The integers each dtype's cases draw: their products and sums leave int8, int16 and uint8 (unsigned: upcasting the
# signed kinds only keeps it), and int32 (2**22 squared passes 2**31); float32's are whole, so its answers are exact.
NARROW_RANGES = {"int8": (-127, 127), "int16": (-3000, 3000), "float32": (-20, 20), "uint8": (0, 255), "int32": (-(2**22), 2**22)}


def narrow_case(rng, dtype: str, transposed: bool = False) -> list:
    """Inputs of a dtype whose products or sums leave it, or float32 with exact answers (see NARROW_RANGES)."""
    h, w = int(rng.integers(2, 7)), int(rng.integers(2, 7))
    kh = int(rng.integers(1, 4)) if transposed else int(rng.integers(1, h + 1))
    kw = int(rng.integers(1, 4)) if transposed else int(rng.integers(1, w + 1))
    low, high = NARROW_RANGES[dtype]
    x = rng.integers(low, high + 1, size=(h, w)).astype(dtype)
    return [x, rng.integers(low, high + 1, size=(kh, kw)).astype(dtype)]


def thin_case(rng, one_row: bool, transposed: bool = False) -> list:
    """An input of one column (or one row) of several entries: squeezing the inputs to tidy their shapes
    (np.atleast_2d(np.squeeze(x))) turns a column into a row, and code that special-cases a single row or
    column meets its own branch."""
    n = int(rng.integers(3, 8))
    x_shape = (1, n) if one_row else (n, 1)
    if transposed:
        kernel_shape = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    else:
        k = int(rng.integers(2, n + 1))
        kernel_shape = (1, k) if one_row else (k, 1)
    return [rng.normal(0, 3, size=x_shape), rng.normal(0, 2, size=kernel_shape)]


def random_int8_case(rng) -> list:
    return narrow_case(rng, "int8")


def random_int16_case(rng) -> list:
    return narrow_case(rng, "int16")


def random_float32_case(rng) -> list:
    return narrow_case(rng, "float32")


def random_uint8_case(rng) -> list:
    return narrow_case(rng, "uint8")


def random_int32_case(rng) -> list:
    return narrow_case(rng, "int32")


def random_column_case(rng) -> list:
    return thin_case(rng, one_row=False)


def random_row_case(rng) -> list:
    return thin_case(rng, one_row=True)


# -- the whole domain, for mutation adequacy (autograder/engine/mutants.py) ---------

DTYPES = ("float64", "float32", "float16", "int8", "int16", "int32", "int64", "uint8", "list")
INTEGER_SCALES = (9, 3000, 2**22)  # 2**22 squared passes 2**31 (an int32 product wraps) yet every sum stays exact in float64


def _matrix(rng, shape: tuple[int, int], dtype: str, high: int = 9):
    """A 2-D input of any real dtype, or nested lists; integers within ``high`` and the dtype's range."""
    if dtype == "list":
        return _matrix(rng, shape, str(rng.choice(["int64", "float64"])), high).tolist()
    if dtype.startswith("float"):
        return rng.normal(0, 3, size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -high), min(info.max, high) + 1, size=shape).astype(dtype)


def _domain_pair(rng, x_shape: tuple[int, int], kernel_shape: tuple[int, int]) -> list:
    """x and a kernel of any two real dtypes (the same one half the time), as the problem set allows.

    Integer pairs range from small values to products past 2**31; an integer
    input beside a fractional one stays small, so the float64 answer is exact
    enough to compare with SciPy at 1e-12.
    """
    x_dtype = str(rng.choice(DTYPES))
    kernel_dtype = x_dtype if rng.random() < 0.5 else str(rng.choice(DTYPES))
    integers = not any(dtype.startswith("float") for dtype in (x_dtype, kernel_dtype))
    high = int(rng.choice(INTEGER_SCALES if integers else INTEGER_SCALES[:2]))
    return [_matrix(rng, x_shape, x_dtype, high), _matrix(rng, kernel_shape, kernel_dtype, high)]


def domain_conv2d(rng) -> list:
    h, w = int(rng.integers(1, 11)), int(rng.integers(1, 11))
    kh = 1 if rng.random() < 0.2 else int(rng.integers(1, h + 1))
    return _domain_pair(rng, (h, w), (kh, int(rng.integers(1, w + 1))))
