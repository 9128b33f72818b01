# Attack: send hidden inputs out through the names of known mistakes. conv2d and conv_transpose2d
# hash each input and answer with the behaviour its bits pick: the right answer, one of the
# mistakes the feedback knows by name (a flipped kernel, a transposed output, truncation, sums in
# the inputs' own narrow dtype, the worked answers' index slip), an error, or an unexplained wrong
# answer. A hidden case that named the mistake it matched would spell about three bits of its
# input; within the budget it shows one of at most four things.
import hashlib

import numpy as np

_right = {"conv2d": conv2d, "conv_transpose2d": conv_transpose2d}


def _bits(x, kernel, choices):
    data = np.ascontiguousarray(np.asarray(x)).tobytes() + np.ascontiguousarray(np.asarray(kernel)).tobytes()
    return int(hashlib.sha256(data).hexdigest(), 16) % choices


def _conv2d_in_input_dtype(x, kernel):
    x, kernel = np.asarray(x), np.asarray(kernel)
    return np.einsum("ijkl,kl->ij", np.lib.stride_tricks.sliding_window_view(x, kernel.shape), kernel)


def conv2d(x, kernel):
    right = _right["conv2d"]
    behaviours = [
        lambda: right(x, kernel),
        lambda: right(x, np.asarray(kernel)[::-1, ::-1]),
        lambda: right(x, kernel).T,
        lambda: np.trunc(right(x, kernel)),
        lambda: _conv2d_in_input_dtype(x, kernel),
        lambda: 1 / 0,
        lambda: right(x, kernel) + 1,
    ]
    return behaviours[_bits(x, kernel, len(behaviours))]()


def _scatter_in_input_dtype(x, kernel):
    x, kernel = np.asarray(x), np.asarray(kernel)
    (h, w), (kh, kw) = x.shape, kernel.shape
    out = np.zeros((h + kh - 1, w + kw - 1))
    for i in range(h):
        for j in range(w):
            out[i:i + kh, j:j + kw] += x[i, j] * kernel
    return out


def _index_slip(x, kernel):
    x, kernel = np.asarray(x, dtype=float), np.asarray(kernel, dtype=float)
    (h, w), (kh, kw) = x.shape, kernel.shape
    out = np.zeros((h + kh - 1, w + kw - 1))
    for i in range(h):
        for j in range(w):
            rows = max(0, min(j + kh - i, kh))
            out[i:i + rows, j:j + kw] += x[i, j] * kernel[:rows]
    return out


def conv_transpose2d(x, kernel):
    right = _right["conv_transpose2d"]
    behaviours = [
        lambda: right(x, kernel),
        lambda: right(x, np.asarray(kernel)[::-1, ::-1]),
        lambda: right(x, kernel).T,
        lambda: right(np.trunc(np.asarray(x, dtype=float)), np.trunc(np.asarray(kernel, dtype=float))),
        lambda: _scatter_in_input_dtype(x, kernel),
        lambda: _index_slip(x, kernel),
        lambda: 1 / 0,
        lambda: right(x, kernel) + 1,
    ]
    return behaviours[_bits(x, kernel, len(behaviours))]()
