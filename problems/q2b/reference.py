"""Q2b reference: a stack of identical conv layers, then one fully connected layer."""

from __future__ import annotations

import sys

from ..q2a.reference import fc_layer_params


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


def num_conv_layers_off_by_one(size_in: int, size_out: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    return num_conv_layers(size_in, size_out, kernel_size, stride, padding) + 1


def conv_classifier_params_no_bias(image_shape, kernel_size: int, size_out: int, n_classes: int) -> int:
    channels, height, _ = image_shape
    layers = num_conv_layers(height, size_out, kernel_size)
    return layers * channels * channels * kernel_size**2 + channels * size_out**2 * n_classes


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


def random_classifier(rng) -> list:
    kernel = 2 * int(rng.integers(1, 4)) + 1
    size_out = int(rng.integers(2, 20))
    side = size_out + (kernel - 1) * int(rng.integers(1, 40))
    return [(int(rng.integers(1, 9)), side, side), kernel, size_out, int(rng.integers(2, 1000))]
