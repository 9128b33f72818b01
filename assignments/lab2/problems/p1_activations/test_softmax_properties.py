"""Properties of softmax that a table of cases shows poorly, written as a gradescope-utils suite.

The submission is imported by its module name, as gradescope-utils' own runner
would; each call of ``softmax`` runs in the sandbox.
"""

import numpy as np
from gradescope_utils.autograder_utils.decorators import number, visibility, weight
from lab2 import softmax


@weight(4)
@number("1.c1")
def test_each_row_is_a_probability_distribution():
    """softmax's rows are probability distributions"""
    z = np.random.default_rng(5).normal(0, 4, size=(6, 9))
    p = np.asarray(softmax(z), dtype=float)
    assert p.shape == z.shape, f"softmax of a 6x9 batch has shape {p.shape}"
    assert np.all(p > 0), "every probability must be positive"
    assert np.allclose(p.sum(axis=1), 1.0), f"the rows sum to {p.sum(axis=1)}"


@weight(3)
@number("1.c2")
def test_adding_a_constant_to_the_logits_changes_nothing():
    """softmax(z + c) equals softmax(z)"""
    z = np.random.default_rng(6).normal(0, 2, size=(3, 5))
    assert np.allclose(np.asarray(softmax(z + 7.0), dtype=float), np.asarray(softmax(z), dtype=float))


@weight(3)
@number("1.c3")
@visibility("after_due_date")
def test_large_logits_neither_overflow_nor_underflow():
    """softmax of logits near +-10,000 is finite and sums to 1"""
    z = np.array([[10_000.0, 9_999.0, 9_990.0], [-10_000.0, -10_001.0, -10_003.0]])
    p = np.asarray(softmax(z), dtype=float)
    assert np.all(np.isfinite(p)), "exp() overflowed: subtract each row's maximum first"
    assert np.allclose(p.sum(axis=1), 1.0)
