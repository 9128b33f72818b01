"""The student environment: what the course lists imports and works under the course's limits; anything else says so.

The packages are graded on a fixture assignment (tests/fixtures/lab1) whose running sums a student may
compute with NumPy, SciPy or PyTorch; the message about an unlisted package names the root course's own list.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from conftest import FIXTURES, SOLUTION, GradescopeLayout, Results, course_config, scores_by_function, total_points

LAB = FIXTURES / "lab1"

TORCH_RUNNING_SUM = """
import numpy as np
import torch


def square(x):
    return int(torch.tensor(x) * torch.tensor(x))


def running_sum(values):
    return torch.cumsum(torch.as_tensor(np.asarray(values, dtype=np.float32)), dim=0).numpy()
"""

SCIPY_RUNNING_SUM = """
import numpy as np
from scipy import signal


def square(x):
    return x * x


def running_sum(values):
    return signal.lfilter([1.0], [1.0, -1.0], np.asarray(values, dtype=float))
"""


def _grade_lab(tmp_path: Path, source: str) -> Results:
    lab = GradescopeLayout(tmp_path / "autograder", assignment=LAB)
    lab.submit({course_config(LAB / "problems").starter_name: source})
    return lab.run()


def test_a_correct_pytorch_submission_scores_full_marks_under_the_courses_limits(tmp_path: Path) -> None:
    if importlib.util.find_spec("torch") is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs torch (.ci/run): this test must run there")
        pytest.skip("torch is not installed here; CI installs it")
    data = _grade_lab(tmp_path, TORCH_RUNNING_SUM)
    assert data["score"] == total_points(LAB / "problems"), [t["output"][:300] for t in data["tests"] if t.get("status") == "failed"][:3]


def test_a_correct_scipy_submission_scores_full_marks(tmp_path: Path) -> None:
    data = _grade_lab(tmp_path, SCIPY_RUNNING_SUM)
    assert data["score"] == total_points(LAB / "problems"), [t["output"][:300] for t in data["tests"] if t.get("status") == "failed"][:3]


def test_an_unlisted_package_gets_one_line_naming_the_packages_available(gradescope: GradescopeLayout) -> None:
    course = course_config()
    gradescope.submit({course.starter_name: "import surely_not_a_package_here\n" + SOLUTION.read_text()})
    data = gradescope.run()
    allowed = ", ".join(course.package_names)
    advice = f"Besides Python's standard library you may import: {allowed}." if allowed else "Use only Python's standard library."
    assert f"No module named 'surely_not_a_package_here'. {advice}" in data["output"]  # two sentences, each ended
    assert data["score"] == total_points()  # one failed import costs only what it breaks
    assert all(earned == possible for earned, possible in scores_by_function(data).values())
