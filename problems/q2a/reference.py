"""Q2a reference: parameters of fully connected layers."""

from __future__ import annotations

import sys
from itertools import pairwise

import numpy as np


def fc_layer_params(d_in: int, d_out: int) -> int:
    """Weights plus biases of one fully connected layer from d_in to d_out units."""
    return d_in * d_out + d_out


def mlp_layer_params(dims: list[int]) -> list[int]:
    """Per-layer parameter counts of a fully connected net dims[0] -> dims[1] -> ..."""
    return mlp_layer_params_from(sys.modules[__name__], dims)


def mlp_layer_params_from(parts, dims):
    """The composition, over parts that may be the student's own (follow-through credit)."""
    return [parts.fc_layer_params(d_in, d_out) for d_in, d_out in pairwise(dims)]


# -- known wrong answers ---------------------------------------------------------


def fc_layer_params_no_bias(d_in: int, d_out: int) -> int:
    return d_in * d_out


def mlp_layer_params_no_bias(dims: list[int]) -> list[int]:
    return [d_in * d_out for d_in, d_out in pairwise(dims)]


# -- hidden case generators --------------------------------------------------------


def random_fc_sizes(rng) -> list:
    return [int(rng.integers(1, 5000)), int(rng.integers(1, 5000))]


def random_mlp_dims(rng) -> list:
    return [[int(d) for d in rng.integers(1, 2000, size=int(rng.integers(2, 7)))]]


def random_numpy_fc_sizes(rng) -> list:
    """Sizes as NumPy integers (np.int64), as read off an array's shape: isinstance(d, int) is False for them."""
    return [np.int64(d) for d in random_fc_sizes(rng)]


def random_numpy_mlp_dims(rng) -> list:
    """A list of NumPy integer sizes, as list(array.shape) or a slice of an int64 array gives."""
    return [[np.int64(d) for d in random_mlp_dims(rng)[0]]]


# -- the whole domain, for mutation adequacy (autograder/engine/mutants.py) ---------


def _count(rng, high: int = 200_000):
    """A positive size, log-uniform up to high, sometimes as a NumPy integer."""
    value = int(np.exp(rng.uniform(0, np.log(high)))) or 1
    return np.int64(value) if rng.random() < 0.3 else value


def domain_fc_layer_params(rng) -> list:
    return [_count(rng), _count(rng)]


def domain_mlp_layer_params(rng) -> list:
    return [[_count(rng) for _ in range(int(rng.integers(1, 8)))]]
