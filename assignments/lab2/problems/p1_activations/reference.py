"""P1 reference: two activations, softmax over a layer's logits and the leaky ReLU."""

from __future__ import annotations

import numpy as np


def softmax(z):
    """The softmax of z along its last axis: exp(z) divided by the sum of exp(z) over that axis.

    z is a 1-D array of logits, or a 2-D array with one row of logits per example;
    the answer has z's shape and each row sums to 1. Subtract each row's maximum
    before exponentiating: softmax does not change, and exp(1000) overflows while exp(0) does not.
    """
    z = np.asarray(z, dtype=np.float64)
    exponentials = np.exp(z - z.max(axis=-1, keepdims=True))
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def leaky_relu(x, slope=0.01):
    """x where x is positive, slope * x elsewhere, entry by entry; the answer has x's shape."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, x, slope * x)


# -- known wrong answers ---------------------------------------------------------


def softmax_over_columns(z):
    z = np.asarray(z, dtype=np.float64)
    exponentials = np.exp(z - z.max(axis=0, keepdims=True))
    return exponentials / exponentials.sum(axis=0, keepdims=True)


def softmax_over_everything(z):
    z = np.asarray(z, dtype=np.float64)
    exponentials = np.exp(z - z.max())
    return exponentials / exponentials.sum()


def leaky_relu_as_relu(x, slope=0.01):
    return np.maximum(np.asarray(x, dtype=np.float64), 0.0)


# -- hidden case generators --------------------------------------------------------


def random_logits(rng) -> list:
    return [rng.normal(0, 3, size=(int(rng.integers(1, 6)), int(rng.integers(2, 9))))]


def random_large_logits(rng) -> list:
    """Logits in the thousands: exp() of them overflows unless each row's maximum is subtracted first."""
    return [rng.normal(0, 2, size=(int(rng.integers(2, 5)), int(rng.integers(2, 7)))) + rng.choice([-1.0, 1.0]) * 1000]


def random_activations(rng) -> list:
    return [rng.normal(0, 2, size=(int(rng.integers(1, 6)), int(rng.integers(1, 6)))), float(rng.uniform(0.01, 0.5))]


# -- the whole domain, for mutation adequacy (autograder/engine/mutants.py) ---------


def domain_softmax(rng) -> list:
    shape = (int(rng.integers(1, 9)),) if rng.random() < 0.4 else (int(rng.integers(1, 6)), int(rng.integers(1, 9)))
    scale = float(rng.choice([1.0, 10.0, 1000.0]))
    z = rng.normal(0, 1, size=shape) * scale + float(rng.choice([0.0, -500.0, 800.0]))
    return [z.astype(rng.choice(["float64", "float32"]))]


def domain_leaky_relu(rng) -> list:
    x = rng.normal(0, 3, size=(int(rng.integers(1, 5)), int(rng.integers(1, 5))))
    if rng.random() < 0.3:
        x = np.round(x).astype(np.int64)
    return [x] if rng.random() < 0.5 else [x, float(rng.uniform(0, 1))]
