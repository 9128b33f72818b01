"""P3 reference: how much of the input one unit sees after each layer of a stack."""

from __future__ import annotations

import numpy as np


def receptive_fields(layers):
    """The receptive field of one unit after each layer, in input entries along one side.

    layers is a list of (kernel_size, stride) pairs, first layer first. A layer widens
    the receptive field by (kernel_size - 1) times the distance, in input entries, between
    the units it reads: the product of the strides of the layers before it. An empty
    stack gives [].
    """
    fields = []
    field, spacing = 1, 1
    for kernel_size, stride in layers:
        field = field + (kernel_size - 1) * spacing
        spacing = spacing * stride
        fields.append(field)
    return fields


# -- known wrong answers ---------------------------------------------------------


def receptive_fields_without_strides(layers):
    fields, field = [], 1
    for kernel_size, _stride in layers:
        field = field + kernel_size - 1
        fields.append(field)
    return fields


def receptive_fields_own_stride(layers):
    fields, field, spacing = [], 1, 1
    for kernel_size, stride in layers:
        spacing = spacing * stride
        field = field + (kernel_size - 1) * spacing
        fields.append(field)
    return fields


# -- hidden case generators --------------------------------------------------------


def random_stack(rng) -> list:
    depth = int(rng.integers(2, 8))
    return [[[int(rng.integers(1, 8)), int(rng.integers(1, 4))] for _ in range(depth)]]


def random_numpy_stack(rng) -> list:
    """A stack whose kernel sizes and strides are NumPy integers (np.int64)."""
    return [[[np.int64(value) for value in layer] for layer in random_stack(rng)[0]]]


# -- the whole domain, for mutation adequacy (autograder/engine/mutants.py) ---------


def domain_receptive_fields(rng) -> list:
    layers = []
    wide_strides = rng.random() < 0.2  # their product passes 2**31 within a few layers, and stays below 2**60
    for _ in range(int(rng.integers(0, 6 if wide_strides else 9))):
        kernel = int(rng.integers(1, 12))
        stride = int(rng.integers(1, 4097)) if wide_strides else int(rng.integers(1, 5))
        layers.append((np.int64(kernel), stride) if rng.random() < 0.2 else [kernel, stride])
    return [layers]
