"""Q4 reference: the encoder (downsampling path) of a U-Net-like network."""

from __future__ import annotations

import sys

import numpy as np

from ..q2a.reference import _count
from ..q2b.reference import (  # conv_layer_params and num_conv_layers: parts of this module's compositions
    _int,
    _stack,
    conv_layer_params,  # noqa: F401
    num_conv_layers,
    wrapped_int32,
)


def num_downsampling_layers(size_in: int, size_latent: int, kernel_size: int) -> int:
    """Valid convs, stride 1: each takes kernel_size - 1 off the side length."""
    return num_conv_layers(size_in, size_latent, kernel_size)


def num_downsampling_layers_from(parts, size_in, size_latent, kernel_size):
    """The composition, over parts that may be the student's own (follow-through credit)."""
    return parts.num_conv_layers(size_in, size_latent, kernel_size)


def _channels(in_channels: int, channels: list[int], layers: int) -> list[int]:
    """c_0 = in_channels, then the list while it lasts, then its last entry repeated."""
    return [in_channels] + [channels[min(i, len(channels) - 1)] for i in range(layers)]


def downsampling_params(in_channels: int, channels: list[int], size_in: int, size_latent: int, kernel_size: int) -> int:
    """Layer i maps c_(i-1) -> c_i: c_0 = in_channels, then channels, then channels[-1] repeated."""
    return downsampling_params_from(sys.modules[__name__], in_channels, channels, size_in, size_latent, kernel_size)


def downsampling_params_from(parts, in_channels, channels, size_in, size_latent, kernel_size):
    """The composition, over parts that may be the student's own (follow-through credit).

    It asks the parts the same questions whatever they answer (every listed
    transition, and the repeated last one), as follow-through requires; and
    nothing here loops or allocates in proportion to ``layers``, which may be
    a student's answer.
    """
    layers = parts.num_downsampling_layers(size_in, size_latent, kernel_size)
    listed = [in_channels, *channels]
    per_layer = [parts.conv_layer_params(listed[i], listed[i + 1], kernel_size) for i in range(len(channels))]
    repeated = parts.conv_layer_params(channels[-1], channels[-1], kernel_size)
    distinct = max(min(layers, len(channels)), 0)  # a count of zero or less (a part's wrong answer) is no layer at all
    return sum(per_layer[:distinct]) + max(layers - distinct, 0) * repeated


# -- known wrong answers ---------------------------------------------------------


def downsampling_params_double_bias(in_channels, channels, size_in, size_latent, kernel_size) -> int:
    """The worked answers' 'also, there are 104 bias terms': one bias per layer added again."""
    return downsampling_params(in_channels, channels, size_in, size_latent, kernel_size) + num_downsampling_layers(
        size_in, size_latent, kernel_size
    )


def downsampling_params_no_bias(in_channels, channels, size_in, size_latent, kernel_size) -> int:
    layers = num_downsampling_layers(size_in, size_latent, kernel_size)
    c = _channels(in_channels, channels, layers)
    return sum(c[i] * c[i + 1] * kernel_size**2 for i in range(layers))


def downsampling_params_int32(in_channels, channels, size_in, size_latent, kernel_size) -> int:
    return wrapped_int32(downsampling_params(in_channels, channels, size_in, size_latent, kernel_size))


def num_downsampling_layers_off_by_one(size_in, size_latent, kernel_size) -> int:
    return num_downsampling_layers(size_in, size_latent, kernel_size) + 1


# -- hidden case generators --------------------------------------------------------


def random_layer_count(rng) -> list:
    kernel = 2 * int(rng.integers(1, 4)) + 1
    latent = int(rng.integers(1, 32))
    return [latent + (kernel - 1) * int(rng.integers(0, 120)), latent, kernel]


def random_encoder(rng) -> list:
    kernel = 2 * int(rng.integers(1, 3)) + 1
    latent = int(rng.integers(4, 32))
    size_in = latent + (kernel - 1) * int(rng.integers(1, 60))
    channels = sorted(int(c) for c in rng.integers(4, 300, size=int(rng.integers(1, 8))))
    return [int(rng.integers(1, 5)), channels, size_in, latent, kernel]


def random_numpy_layer_count(rng) -> list:
    """The encoder's layer count asked in NumPy integers (np.int64), even kernels too."""
    kernel = int(rng.integers(2, 6))
    latent = int(rng.integers(1, 20))
    return [np.int64(latent + (kernel - 1) * int(rng.integers(0, 40))), np.int64(latent), np.int64(kernel)]


def random_numpy_encoder(rng) -> list:
    """NumPy integer arguments, channel lists in any order, even kernels too."""
    kernel = int(rng.integers(2, 6))
    latent = int(rng.integers(1, 20))
    size_in = latent + (kernel - 1) * int(rng.integers(1, 40))
    channels = [np.int64(c) for c in rng.integers(1, 600, size=int(rng.integers(1, 7)))]
    return [np.int64(rng.integers(1, 5)), channels, np.int64(size_in), np.int64(latent), np.int64(kernel)]


# -- the whole domain, for mutation adequacy (autograder/engine/mutants.py) ---------


def domain_num_downsampling_layers(rng) -> list:
    return [_int(rng, v) for v in _stack(rng, strided=False)[:3]]


def domain_downsampling_params(rng) -> list:
    size_in, latent, kernel, _, _ = _stack(rng, strided=False)
    channels = [_count(rng, 16_384) for _ in range(int(rng.integers(1, 9)))]  # any order, not only growing
    return [_count(rng, 512), channels, _int(rng, size_in), _int(rng, latent), _int(rng, kernel)]
