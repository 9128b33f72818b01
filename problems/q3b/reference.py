"""Q3b reference: transposed convolution, stride 1, no padding."""

from __future__ import annotations

import numpy as np

from ..q3a.reference import _domain_pair, narrow_case, thin_case


def conv_transpose2d(x, kernel) -> np.ndarray:
    """Each input entry scatters a scaled copy of the kernel: O[i:i+kh, j:j+kw] += x[i, j] * K."""
    x, kernel = np.asarray(x, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    return _scatter(x, kernel)


def _scatter(x, kernel) -> np.ndarray:
    """The scatter, each product computed in the inputs' dtype, summed in float64."""
    (h, w), (kh, kw) = x.shape, kernel.shape
    out = np.zeros((h + kh - 1, w + kw - 1))
    for i in range(kh):
        for j in range(kw):
            out[i : i + h, j : j + w] += kernel[i, j] * x
    return out


# -- known wrong answers ---------------------------------------------------------


def conv_transpose2d_flipped_kernel(x, kernel) -> np.ndarray:
    return conv_transpose2d(x, np.asarray(kernel)[::-1, ::-1])


def conv_transpose2d_transposed(x, kernel) -> np.ndarray:
    return conv_transpose2d(x, kernel).T


def conv_transpose2d_index_slip(x, kernel) -> np.ndarray:
    """The worked answers' Algorithm 1, line 7: O[i : j + K_h, j : j + K_w] (0-indexed here), written with loops.

    The row slice runs from i to j + kh: below the diagonal (j < i) it is
    shorter than the kernel, and only the kernel rows that fit are added.
    (Written with NumPy slices the slip gives other answers: the next solver.)
    """
    x, kernel = np.asarray(x, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    (h, w), (kh, kw) = x.shape, kernel.shape
    out = np.zeros((h + kh - 1, w + kw - 1))
    for i in range(h):
        for j in range(w):
            rows = max(0, min(j + kh - i, kh))
            out[i : i + rows, j : j + kw] += x[i, j] * kernel[:rows]
    return out


def conv_transpose2d_index_slip_as_numpy_runs_it(x, kernel) -> np.ndarray:
    """The same slip written with NumPy slices, as the worked answers write it: off the diagonal the row
    slice is not K_h rows long and NumPy refuses the kernel (a ValueError, which no answer is matched
    against), unless the kernel has one row, which NumPy then adds to every row of the slice."""
    x, kernel = np.asarray(x, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    (h, w), (kh, kw) = x.shape, kernel.shape
    out = np.zeros((h + kh - 1, w + kw - 1))
    for i in range(h):
        for j in range(w):
            out[i : j + kh, j : j + kw] += x[i, j] * kernel
    return out


def conv_transpose2d_truncated(x, kernel) -> np.ndarray:
    return conv_transpose2d(np.trunc(np.asarray(x, dtype=float)), np.trunc(np.asarray(kernel, dtype=float)))


def conv_transpose2d_in_input_dtype(x, kernel) -> np.ndarray:
    """Each x[i, j] * K computed in the inputs' own dtype (int8 or int16 products wrap around)."""
    return _scatter(np.asarray(x), np.asarray(kernel))


def conv_transpose2d_all_in_input_dtype(x, kernel) -> np.ndarray:
    """The whole output kept in the inputs' own dtype: products and their sums wrap around (modular arithmetic, so
    the order of the sums does not matter), as an int8 output buffer or scipy.signal.convolve2d on int8 inputs gives."""
    x, kernel = np.asarray(x), np.asarray(kernel)
    dtype = np.result_type(x, kernel)
    if dtype.kind not in "iu":  # float inputs do not wrap: this is the right answer there, so no case stores it
        return _scatter(x.astype(float), kernel.astype(float))
    exact = _scatter(x.astype(np.int64), kernel.astype(np.int64))
    return exact.astype(np.int64).astype(dtype)


# -- hidden case generators --------------------------------------------------------


def random_large_case(rng) -> list:
    """A 16x16 input of magnitude about 1,000 and a small kernel: float32 work done right must still pass."""
    kh, kw = int(rng.integers(2, 8)), int(rng.integers(2, 8))
    x = rng.choice([-1.0, 1.0], size=(16, 16)) * rng.uniform(900, 1100, size=(16, 16))
    return [x, rng.normal(0, 1, size=(kh, kw))]


def random_float_case(rng) -> list:
    h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    return [rng.normal(0, 3, size=(h, w)), rng.normal(0, 2, size=(int(rng.integers(1, 6)), int(rng.integers(1, 6))))]


def random_int8_case(rng) -> list:
    return narrow_case(rng, "int8", transposed=True)


def random_int16_case(rng) -> list:
    return narrow_case(rng, "int16", transposed=True)


def random_float32_case(rng) -> list:
    return narrow_case(rng, "float32", transposed=True)


def random_uint8_case(rng) -> list:
    return narrow_case(rng, "uint8", transposed=True)


def random_int32_case(rng) -> list:
    return narrow_case(rng, "int32", transposed=True)


def random_column_case(rng) -> list:
    return thin_case(rng, one_row=False, transposed=True)


def random_row_case(rng) -> list:
    return thin_case(rng, one_row=True, transposed=True)


# -- the whole domain, for mutation adequacy (autograder/engine/mutants.py) ---------


def domain_conv_transpose2d(rng) -> list:
    h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    kh = 1 if rng.random() < 0.2 else int(rng.integers(1, 7))
    return _domain_pair(rng, (h, w), (kh, int(rng.integers(1, 7))))
