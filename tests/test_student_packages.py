"""The student environment: what the course lists imports and works under the default limits; anything else says so."""

from __future__ import annotations

import importlib.util
import os

import pytest

from conftest import SOLUTION, scores_by_function, total_points

TORCH_FUNCTIONS = '''

import torch
import torch.nn.functional as F


def conv2d(x, kernel):
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    k = torch.as_tensor(np.asarray(kernel, dtype=np.float32))
    return F.conv2d(x[None, None], k[None, None])[0, 0].numpy()


def conv_transpose2d(x, kernel):
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    k = torch.as_tensor(np.asarray(kernel, dtype=np.float32))
    return F.conv_transpose2d(x[None, None], k[None, None])[0, 0].numpy()
'''


def test_a_correct_pytorch_submission_scores_full_marks_under_the_default_limits(gradescope):
    if importlib.util.find_spec("torch") is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs torch (.ci/run): this test must run there")
        pytest.skip("torch is not installed here; CI installs it")
    gradescope.submit({"ps3.py": SOLUTION.read_text() + TORCH_FUNCTIONS})
    data = gradescope.run()
    assert data["score"] == total_points(), [t["output"][:300] for t in data["tests"] if t.get("status") == "failed"][:3]


def test_an_unlisted_package_gets_one_line_naming_the_packages_available(gradescope):
    gradescope.submit({"ps3.py": "import surely_not_a_package_here\n" + SOLUTION.read_text()})
    data = gradescope.run()
    assert "No module named 'surely_not_a_package_here'" in data["output"]
    assert "Besides Python's standard library you may import: numpy, scipy." in data["output"]
    assert data["score"] == total_points()  # one failed import costs only what it breaks
    assert all(earned == possible for earned, possible in scores_by_function(data).values())


SCIPY_FUNCTIONS = '''

from scipy import signal


def conv2d(x, kernel):
    return signal.correlate2d(np.asarray(x, dtype=float), np.asarray(kernel, dtype=float), mode="valid")


def conv_transpose2d(x, kernel):
    return signal.convolve2d(np.asarray(x, dtype=float), np.asarray(kernel, dtype=float), mode="full")
'''


def test_a_correct_scipy_submission_scores_full_marks(gradescope):
    gradescope.submit({"ps3.py": SOLUTION.read_text() + SCIPY_FUNCTIONS})
    data = gradescope.run()
    assert data["score"] == total_points(), [t["output"][:300] for t in data["tests"] if t.get("status") == "failed"][:3]
