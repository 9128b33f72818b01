"""The reference solvers against independent implementations (SciPy, brute force)."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import convolve2d, correlate2d

from autograder.engine.problemset import load as load_problems

REPO = Path(__file__).resolve().parent.parent
I = np.array([[2, 0, -1, -1], [0, 1, 0, 2], [-2, 0, 1, 1], [1, 1, 0, -1]])
K = np.array([[1, -1, 1], [0, 1, 0], [1, -1, 1]])


References = dict[str, types.ModuleType]  # each problem's reference module, by problem key


@pytest.fixture(scope="module")
def ref() -> References:
    """Every reference module, by problem key (loaded the way the grader loads them)."""
    load_problems(REPO / "problems")
    import sys

    return {
        key: next(m for name, m in sys.modules.items() if name.endswith(f".{key}.reference")) for key in ("q2a", "q2b", "q3a", "q3b", "q4")
    }


def test_conv2d_is_scipy_correlate2d(ref: References) -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        x = rng.normal(size=(int(rng.integers(1, 15)), int(rng.integers(1, 15))))
        k = rng.normal(size=(int(rng.integers(1, x.shape[0] + 1)), int(rng.integers(1, x.shape[1] + 1))))
        np.testing.assert_allclose(ref["q3a"].conv2d(x, k), correlate2d(x, k, mode="valid"), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ref["q3a"].conv2d(I, K), [[1, 0], [-1, 4]])


def test_conv_transpose2d_is_scipy_full_convolution_with_flipped_kernel(ref: References) -> None:
    """Scattering K at every input entry equals the full convolution of x with K (SciPy flips K itself)."""
    rng = np.random.default_rng(8)
    for _ in range(50):
        x = rng.normal(size=(int(rng.integers(1, 10)), int(rng.integers(1, 10))))
        k = rng.normal(size=(int(rng.integers(1, 6)), int(rng.integers(1, 6))))
        np.testing.assert_allclose(ref["q3b"].conv_transpose2d(x, k), convolve2d(x, k, mode="full"), rtol=1e-12, atol=1e-12)
    expected = [
        [2, -2, 1, 0, 0, -1],
        [0, 3, -1, 2, -3, 2],
        [0, 0, 1, 0, 2, 0],
        [1, -1, -1, 4, 0, 1],
        [-2, 3, 0, 0, -1, 1],
        [1, 0, 0, 0, 1, -1],
    ]
    np.testing.assert_array_equal(ref["q3b"].conv_transpose2d(I, K), expected)


def test_problem_set_input_is_the_unique_one_behind_the_worked_q3b_answer(ref: References) -> None:
    """The Q3b output printed in the worked answers pins I down: 36 equations, 16 unknowns."""
    expected = ref["q3b"].conv_transpose2d(I, K)
    columns = [ref["q3b"].conv_transpose2d(np.eye(16)[n].reshape(4, 4), K).ravel() for n in range(16)]
    solution, *_ = np.linalg.lstsq(np.array(columns).T, expected.ravel(), rcond=None)
    np.testing.assert_allclose(solution.reshape(4, 4), I, atol=1e-9)


def _brute_force_layers(size_in: int, size_out: int, kernel: int, stride: int = 1, padding: int = 0) -> int | None:
    sizes, size = [size_in], size_in
    while size + 2 * padding >= kernel and len(sizes) < 10_000:
        size = (size + 2 * padding - kernel) // stride + 1
        if size == sizes[-1]:
            break
        sizes.append(size)
    return sizes.index(size_out) if size_out in sizes else None


def test_layer_counts_against_brute_force(ref: References) -> None:
    for size_in in range(1, 60):
        for size_out in range(1, size_in + 3):
            for kernel in (1, 2, 3, 5):
                for stride in (1, 2):
                    want = _brute_force_layers(size_in, size_out, kernel, stride)
                    if want is None:
                        with pytest.raises(ValueError):
                            ref["q2b"].num_conv_layers(size_in, size_out, kernel, stride)
                    else:
                        assert ref["q2b"].num_conv_layers(size_in, size_out, kernel, stride) == want


def test_parameter_counts_by_counting_tensors(ref: References) -> None:
    """Build the actual weight and bias arrays and count their entries."""
    rng = np.random.default_rng(9)
    for _ in range(30):
        c_in, c_out, kh, kw = (int(v) for v in rng.integers(1, 9, size=4))
        tensors = [np.empty((c_out, c_in, kh, kw)), np.empty(c_out)]
        assert ref["q2b"].conv_layer_params(c_in, c_out, (kh, kw)) == sum(t.size for t in tensors)
        d_in, d_out = (int(v) for v in rng.integers(1, 300, size=2))
        assert ref["q2a"].fc_layer_params(d_in, d_out) == np.empty((d_out, d_in)).size + d_out
    layers = [(3, 16)] + [(16, 32), (32, 64), (64, 128), (128, 256)] + [(256, 256)] * 99
    weights = sum((c_in * c_out * 9 + c_out) for c_in, c_out in layers)
    assert ref["q4"].downsampling_params(3, [16, 32, 64, 128, 256], 224, 16, 3) == weights == 58_810_528


def test_domain_generators_stay_in_the_domain_and_agree_with_scipy(ref: References) -> None:
    """The domain_* generators (mutation adequacy) draw valid inputs of every dtype; the references agree with SciPy there."""
    rng = np.random.default_rng(10)
    dtypes = set()
    for _ in range(300):
        x, k = ref["q3a"].domain_conv2d(rng)
        x64, k64 = np.asarray(x, dtype=np.float64), np.asarray(k, dtype=np.float64)
        assert x64.ndim == k64.ndim == 2 and k64.shape[0] <= x64.shape[0] and k64.shape[1] <= x64.shape[1]
        dtypes.add(str(np.asarray(x).dtype))
        np.testing.assert_allclose(ref["q3a"].conv2d(x, k), correlate2d(x64, k64, mode="valid"), rtol=1e-12, atol=1e-9)
        x, k = ref["q3b"].domain_conv_transpose2d(rng)
        x64, k64 = np.asarray(x, dtype=np.float64), np.asarray(k, dtype=np.float64)
        np.testing.assert_allclose(ref["q3b"].conv_transpose2d(x, k), convolve2d(x64, k64, mode="full"), rtol=1e-12, atol=1e-9)
    assert {"int8", "int16", "float32", "float64", "uint8"} <= dtypes


def test_domain_layer_counts_against_brute_force(ref: References) -> None:
    rng = np.random.default_rng(11)
    reached = 0
    for _ in range(500):
        size_in, size_out, kernel, stride, padding = (int(v) for v in ref["q2b"].domain_num_conv_layers(rng))
        assert size_in >= 1 and size_out >= 1 and kernel >= 1 and stride >= 1 and padding >= 0
        want = _brute_force_layers(size_in, size_out, kernel, stride, padding)
        if want is None:
            with pytest.raises(ValueError):
                ref["q2b"].num_conv_layers(size_in, size_out, kernel, stride, padding)
        else:
            reached += 1
            assert ref["q2b"].num_conv_layers(size_in, size_out, kernel, stride, padding) == want
    assert reached > 250  # mostly sizes the stack reaches, not only ValueError


def test_domain_encoders_by_counting_layers(ref: References) -> None:
    rng = np.random.default_rng(12)
    for _ in range(200):
        in_channels, channels, size_in, latent, kernel = ref["q4"].domain_downsampling_params(rng)
        want = _brute_force_layers(int(size_in), int(latent), int(kernel))
        if want is None:
            continue
        c = [int(in_channels)] + [int(channels[min(i, len(channels) - 1)]) for i in range(want)]
        exact = sum(c[i] * c[i + 1] * int(kernel) ** 2 + c[i + 1] for i in range(want))
        assert ref["q4"].downsampling_params(in_channels, channels, size_in, latent, kernel) == exact


def test_the_encoder_composition_is_what_a_loop_over_any_layer_count_adds_up_to(ref: References) -> None:
    """Follow-through credits a total that equals the composition of the student's own parts, so the composition must
    be what a loop over the layers their count gives adds up to, for any count: none for zero or a negative one
    (a part that returns -1 instead of raising gave every listed layer but the last)."""
    q4 = ref["q4"]
    in_channels, channels, kernel = 3, [16, 32, 64], 3
    for count in range(-4, 9):
        parts = types.SimpleNamespace(num_downsampling_layers=lambda *_, count=count: count, conv_layer_params=q4.conv_layer_params)
        c = [in_channels] + [channels[min(i, len(channels) - 1)] for i in range(max(count, 0))]
        looped = sum(q4.conv_layer_params(c[i], c[i + 1], kernel) for i in range(count))
        assert q4.downsampling_params_from(parts, in_channels, channels, 224, 16, kernel) == looped, count
