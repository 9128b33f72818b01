"""Q2b reference: a stack of identical conv layers, then one fully connected layer."""

from __future__ import annotations

import sys

import numpy as np

from ..q2a.reference import _count, fc_layer_params  # noqa: F401 - a part of this module's composition (sys.modules[__name__])


def conv_layer_params(c_in: int, c_out: int, kernel_size) -> int:
    """Weights (c_in * kh * kw per output channel) plus one bias per output channel."""
    kh, kw = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    return (c_in * int(kh) * int(kw) + 1) * c_out


def conv_output_size(size_in: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Output side length of a convolution; ValueError when the kernel does not fit."""
    padded = size_in + 2 * padding
    if kernel_size > padded:
        raise ValueError(f"a {kernel_size}-wide kernel does not fit a padded input of {padded}")
    return (padded - kernel_size) // stride + 1


def num_conv_layers(size_in: int, size_out: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Fewest identical conv layers taking size_in exactly to size_out; ValueError if none do."""
    if size_out > size_in:
        raise ValueError("a conv stack cannot grow the input")
    layers, size = 0, size_in
    while size > size_out:
        next_size = conv_output_size(size, kernel_size, stride, padding)
        if next_size >= size:
            raise ValueError("these layers do not shrink the input")
        size, layers = next_size, layers + 1
    if size != size_out:
        raise ValueError(f"the sizes step from above {size_out} to {size}, over {size_out}")
    return layers


def conv_classifier_params(image_shape, kernel_size: int, size_out: int, n_classes: int) -> int:
    """Conv layers C -> C from H down to size_out, then flatten and one FC layer."""
    return conv_classifier_params_from(sys.modules[__name__], image_shape, kernel_size, size_out, n_classes)


def conv_classifier_params_from(parts, image_shape, kernel_size, size_out, n_classes):
    """The composition, over parts that may be the student's own (follow-through credit)."""
    channels, height, _ = image_shape
    layers = parts.num_conv_layers(height, size_out, kernel_size)
    return layers * parts.conv_layer_params(channels, channels, kernel_size) + parts.fc_layer_params(channels * size_out**2, n_classes)


# -- known wrong answers ---------------------------------------------------------


def conv_layer_params_no_bias(c_in: int, c_out: int, kernel_size) -> int:
    return conv_layer_params(c_in, c_out, kernel_size) - c_out


def conv_output_size_rounded(size_in: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """The size rounded to the nearest integer: one form of the rounding mistake, conv_output_size_rounded_up the
    other. The spec gives both one message, since a submission is named only where all its answers fit one form."""
    conv_output_size(size_in, kernel_size, stride, padding)  # the same fit check
    return round((size_in + 2 * padding - kernel_size) / stride) + 1


def conv_output_size_rounded_up(size_in: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """The size rounded up (math.ceil): any partial stride left over counts as a step."""
    conv_output_size(size_in, kernel_size, stride, padding)
    return -(-(size_in + 2 * padding - kernel_size) // stride) + 1


def num_conv_layers_off_by_one(size_in: int, size_out: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    return num_conv_layers(size_in, size_out, kernel_size, stride, padding) + 1


def conv_classifier_params_no_bias(image_shape, kernel_size: int, size_out: int, n_classes: int) -> int:
    channels, height, _ = image_shape
    layers = num_conv_layers(height, size_out, kernel_size)
    return layers * channels * channels * kernel_size**2 + channels * size_out**2 * n_classes


def wrapped_int32(count: int) -> int:
    """What an exact count becomes when accumulated in a 32-bit integer (np.int32 wraps around)."""
    return (int(count) + 2**31) % 2**32 - 2**31


def conv_layer_params_int32(c_in: int, c_out: int, kernel_size) -> int:
    return wrapped_int32(conv_layer_params(c_in, c_out, kernel_size))


def conv_classifier_params_int32(image_shape, kernel_size: int, size_out: int, n_classes: int) -> int:
    return wrapped_int32(conv_classifier_params(image_shape, kernel_size, size_out, n_classes))


# -- hidden case generators --------------------------------------------------------


def random_conv_layer(rng) -> list:
    kernel = int(rng.integers(1, 8))
    if rng.random() < 0.5:
        kernel = (int(rng.integers(1, 8)), int(rng.integers(1, 8)))
    return [int(rng.integers(1, 513)), int(rng.integers(1, 513)), kernel]


def random_output_size(rng) -> list:
    kernel = int(rng.integers(1, 8))
    return [int(rng.integers(kernel, 300)), kernel, int(rng.integers(1, 4)), int(rng.integers(0, 4))]


def random_layer_count(rng) -> list:
    kernel = 2 * int(rng.integers(1, 5)) + 1
    size_out = int(rng.integers(1, 40))
    return [size_out + (kernel - 1) * int(rng.integers(0, 60)), size_out, kernel]


def random_strided_layer_count(rng) -> list:
    """Stride > 1 (sizes that do not divide evenly), padding > 0, even kernels: a size the stack reaches."""
    kernel, stride, padding = int(rng.integers(2, 7)), int(rng.integers(2, 4)), int(rng.integers(0, 3))
    size_in = int(rng.integers(2 * kernel, 300))
    sizes = _sizes(size_in, kernel, stride, padding)
    return [size_in, int(rng.choice(sizes[1:])), kernel, stride, padding]


def random_numpy_ints(rng) -> list:
    """The same questions with NumPy integers (np.int64) as arguments: isinstance(k, int) is False for them."""
    kernel = np.int64(rng.integers(1, 8))
    if rng.random() < 0.5:
        kernel = (np.int64(rng.integers(1, 8)), np.int64(rng.integers(1, 8)))
    return [np.int64(rng.integers(1, 513)), np.int64(rng.integers(1, 513)), kernel]


def random_numpy_square_kernel(rng) -> list:
    """A layer given in NumPy integers with one kernel side, as read off an array's shape (visible: see the spec)."""
    return [np.int64(rng.integers(1, 65)), np.int64(rng.integers(1, 65)), np.int64(2 * rng.integers(0, 4) + 1)]


def random_numpy_output_size(rng) -> list:
    """One layer's output size asked in NumPy integers (np.int64)."""
    return [np.int64(v) for v in random_output_size(rng)]


def random_numpy_layer_count(rng) -> list:
    size_in, size_out, kernel, stride, padding = [int(v) for v in random_strided_layer_count(rng)]
    return [np.int64(v) for v in (size_in, size_out, kernel, stride, padding)]


def random_classifier(rng) -> list:
    kernel = 2 * int(rng.integers(1, 4)) + 1
    size_out = int(rng.integers(2, 20))
    side = size_out + (kernel - 1) * int(rng.integers(1, 40))
    return [(int(rng.integers(1, 9)), side, side), kernel, size_out, int(rng.integers(2, 1000))]


def random_numpy_classifier(rng) -> list:
    """A classifier given in NumPy integers (np.int64), the image shape's entries too."""
    (channels, side, _), kernel, size_out, classes = random_classifier(rng)
    return [(np.int64(channels), np.int64(side), np.int64(side)), np.int64(kernel), np.int64(size_out), np.int64(classes)]


# -- the whole domain, for mutation adequacy (autograder/engine/mutants.py) ---------


def _int(rng, value: int):
    return np.int64(value) if rng.random() < 0.3 else int(value)


def _sizes(size_in, kernel_size, stride=1, padding=0) -> list[int]:
    """size_in and the sizes that identical layers take it to, while they shrink."""
    sizes = [int(size_in)]
    while sizes[-1] + 2 * padding >= kernel_size:
        size = (sizes[-1] + 2 * padding - kernel_size) // stride + 1
        if size >= sizes[-1]:
            break
        sizes.append(size)
    return sizes


def domain_conv_layer_params(rng) -> list:
    kernel = _int(rng, int(rng.integers(1, 16)))
    if rng.random() < 0.5:
        kernel = (_int(rng, int(rng.integers(1, 16))), _int(rng, int(rng.integers(1, 16))))
    return [_count(rng, 65_536), _count(rng, 65_536), kernel]


def domain_conv_output_size(rng) -> list:
    kernel, stride, padding = int(rng.integers(1, 13)), int(rng.integers(1, 6)), int(rng.integers(0, 5))
    return [_int(rng, v) for v in (int(rng.integers(1, 300)), kernel, stride, padding)]


def _stack(rng, strided: bool = True) -> tuple[int, int, int, int, int]:
    """(size_in, size_out, kernel, stride, padding): mostly a size the stack reaches, sometimes not.

    Small inputs are frequent, so kernels larger than an input already at the
    target size and kernels that stop fitting are drawn often.
    """
    kernel = int(rng.integers(1, 10))
    stride = int(rng.integers(1, 5)) if strided and rng.random() < 0.6 else 1
    padding = int(rng.integers(0, 4)) if strided and rng.random() < 0.4 else 0
    size_in = int(rng.integers(1, 13)) if rng.random() < 0.25 else int(rng.integers(1, 300))
    sizes = _sizes(size_in, kernel, stride, padding)
    size_out = int(rng.choice(sizes)) if rng.random() < 0.7 else int(rng.integers(1, size_in + 4))
    return size_in, size_out, kernel, stride, padding


def domain_num_conv_layers(rng) -> list:
    return [_int(rng, v) for v in _stack(rng)]


def domain_conv_classifier_params(rng) -> list:
    size_in, size_out, kernel, _, _ = _stack(rng, strided=False)
    side = _int(rng, size_in)
    return [(_int(rng, int(_count(rng, 1024))), side, side), _int(rng, kernel), _int(rng, size_out), _count(rng, 100_000)]
