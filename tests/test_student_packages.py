"""The student environment: what the course lists imports and works under the course's limits; anything else says so.

The packages are graded on a fixture assignment (tests/fixtures/lab1) whose running sums a student may
compute with NumPy, or SciPy or PyTorch where the course lists them; the message about an unlisted package names the root course's own list.
A package installed here but not on Gradescope's image (this environment's test tools) is refused as it is
there (sandbox/importable.py), checked against the metadata ``importlib`` itself reads.
"""

from __future__ import annotations

import importlib.util
import os
import pkgutil
import subprocess
import sys
from importlib import metadata
from importlib.machinery import PathFinder
from pathlib import Path

import pytest
import yaml

from autograder.sandbox import importable

from conftest import (
    FIXTURES,
    SOLUTION,
    GradescopeLayout,
    Results,
    course_config,
    scores_by_function,
    spec_problems,
    total_points,
)

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


def _grade_lab(tmp_path: Path, source: str, also_allowed: tuple[str, ...] = ()) -> Results:
    """``source`` graded as lab1 on Gradescope, with the course's packages and ``also_allowed`` (requirements)."""
    lab = GradescopeLayout(tmp_path / "autograder", assignment=LAB)
    config = lab.root / "source" / "assignment.yaml"
    course = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**course, "student_packages": [*course["student_packages"], *also_allowed]}))
    lab.submit({course_config(LAB / "problems").starter_name: source})
    return lab.run()


def test_a_correct_pytorch_submission_scores_full_marks_under_the_courses_limits(tmp_path: Path) -> None:
    if importlib.util.find_spec("torch") is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs torch (.ci/run): this test must run there")
        pytest.skip("torch is not installed here; CI installs it")
    data = _grade_lab(tmp_path, TORCH_RUNNING_SUM, also_allowed=("torch",))
    assert data["score"] == total_points(LAB / "problems"), [t["output"][:300] for t in data["tests"] if t.get("status") == "failed"][:3]


def test_a_correct_scipy_submission_scores_full_marks(tmp_path: Path) -> None:
    data = _grade_lab(tmp_path, SCIPY_RUNNING_SUM, also_allowed=("scipy",))
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


def test_an_unlisted_package_imported_in_a_function_names_the_packages_available_too(gradescope: GradescopeLayout) -> None:
    """docs/instructors.md: "a failed import names them"; only an import at the top of the file did (adopter)."""
    course = course_config()
    function = sorted({case.function for problem in spec_problems() for case in problem.cases if not case.hidden})[0]
    gradescope.submit(
        {course.starter_name: SOLUTION.read_text() + f"\n\ndef {function}(*args, **kwargs):\n    import surely_not_a_package_here\n"}
    )
    data = gradescope.run()
    allowed = ", ".join(course.package_names)
    advice = f"Besides Python's standard library you may import: {allowed}." if allowed else "Use only Python's standard library."
    failed = [test["output"] for test in data["tests"] if f"`{function}(" in test["output"] and "No module named" in test["output"]]
    assert failed and all(advice in output for output in failed), failed[:1]


def test_a_listed_package_this_python_lacks_is_said_to_be_missing_not_forbidden(tmp_path: Path) -> None:
    """A kit installed in part: "No module named 'scipy'. Besides Python's standard library you may import: numpy,
    scipy." read as if scipy were forbidden (adopter round 7). A package the course lists that this Python does not
    have is said to be allowed and missing, at the top of the file and inside a call alike."""
    source = SCIPY_RUNNING_SUM.replace("from scipy import signal", "import notinstalledpkg").replace(
        "def square(x):\n    return x * x", "def square(x):\n    import notinstalledpkg\n\n    return x * x"
    )
    data = _grade_lab(tmp_path, source, also_allowed=("notinstalledpkg",))
    said = "You may import notinstalledpkg, but this Python does not have it: install the packages the course lists"
    assert said in data["output"], data["output"][:2000]
    assert any(said in test["output"] for test in data["tests"] if "square" in test.get("tags", [])), data["tests"][:2]


HYPOTHESIS_RUNNING_SUM = SCIPY_RUNNING_SUM.replace("from scipy import signal", "import hypothesis")


def test_a_package_installed_here_but_not_on_gradescope_is_refused_as_gradescope_would(tmp_path: Path) -> None:
    """Hypothesis is installed here for the tests, and no part of the engine's or lab1's packages: the file
    that imports it loses what it breaks here too, rather than passing locally and failing on Gradescope."""
    assert importlib.util.find_spec("hypothesis") is not None  # installed: a refusal is the rule's, not a missing package
    course = course_config(LAB / "problems")
    assert "hypothesis" not in importable.top_level_names(course.package_names, sys.path)
    data = _grade_lab(tmp_path, HYPOTHESIS_RUNNING_SUM)
    advice = f"Besides Python's standard library you may import: {', '.join(course.package_names)}."
    assert f"No module named 'hypothesis'. {advice}" in data["output"], data["output"]
    assert data["score"] < total_points(LAB / "problems")  # running_sum needs signal.lfilter: it is not defined


def test_a_dependency_of_a_listed_package_may_be_imported_and_an_unrelated_one_may_not() -> None:
    """The closure follows Requires-Dist (no extras): a course listing nbformat gets jsonschema, which nbformat
    needs, and PyYAML's module by its import name; an unrelated package installed here is not found."""
    finder = importable._Finder(["nbformat", "PyYAML"])
    assert finder.find_spec("jsonschema") is not None  # nbformat -> jsonschema
    assert finder.find_spec("yaml") is not None  # PyYAML: its import name is not its distribution's
    assert finder.find_spec("hypothesis") is None and PathFinder.find_spec("hypothesis") is not None
    assert importable._Finder([]).find_spec("yaml") is None  # the engine needs PyYAML; a course that does not list it hides it


PROBES = """
import importlib.util, sys
import numpy  # loaded in every worker before the submission, as the launcher does
from autograder.sandbox import importable
importable.restrict([])
print(importlib.util.find_spec("hypothesis"), importlib.util.find_spec("numpy") is not None)
try:
    import hypothesis
except ModuleNotFoundError as error:
    print(error)
import importlib.metadata
print(importlib.metadata.version("numpy") == __import__("numpy").__version__)
"""


def test_a_hidden_package_is_one_python_does_not_find_however_it_is_probed() -> None:
    """Code that probes an optional package with importlib.util.find_spec gets None, as where it is not installed,
    and import fails with Python's own message; importlib.metadata still reads the installed distributions."""
    done = subprocess.run([sys.executable, "-c", PROBES], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines() == ["None True", "No module named 'hypothesis'", "True"], done.stdout + done.stderr


ENGINE_PACKAGES_IN_A_FUNCTION = """
def square(x):
    import yaml  # installed wherever the engine is, as are IPython and pytest: the engine's, not the course's

    return x * x


def running_sum(values):
    total, sums = 0, []
    for value in values:
        total += value
        sums.append(total)
    return sums


import IPython  # noqa: E402 - a notebook's leftovers: hidden too, and only this line is lost
"""


def test_the_engines_own_packages_are_hidden_unless_the_course_lists_them(tmp_path: Path) -> None:
    """PyYAML and IPython are on Gradescope's image (setup.sh installs the engine's requirements) but not in every
    student kit, and lab1 lists only NumPy: hidden on Gradescope too, so the grade is the kit's. square, which
    imports yaml, loses its cases; running_sum keeps its; the IPython line is named, and costs nothing more."""
    assert importlib.util.find_spec("yaml") is not None and importlib.util.find_spec("IPython") is not None
    data = _grade_lab(tmp_path, ENGINE_PACKAGES_IN_A_FUNCTION)
    scores = scores_by_function(data)
    assert scores["square"][0] == 0 < scores["square"][1]
    assert scores["running_sum"][0] == scores["running_sum"][1] > 0
    assert "No module named 'IPython'" in data["output"], data["output"]
    assert any("No module named 'yaml'" in test.get("output", "") for test in data["tests"]), data["tests"]


def test_the_standard_librarys_folders_give_the_library_and_the_platforms_modules_not_cpythons_tests() -> None:
    """Every module sys.stdlib_module_names lists is found (but those added after Gradescope's Python: tomllib on
    3.11 and later), and the platform's own that the library imports by computed names (Debian's
    _sysconfigdata__x86_64-linux-gnu, for sysconfig). The folders' other modules are CPython's tests
    (_testinternalcapi showed a worker the grader's command line, red team): none is found."""
    finder = importable._Finder([])
    folders = [importable.STANDARD_LIBRARY, os.path.join(importable.STANDARD_LIBRARY, "lib-dynload")]
    names = {module.name for module in pkgutil.iter_modules(folders)}
    assert len(names) > 150
    found = {name for name in names if PathFinder.find_spec(name) is not None and finder.find_spec(name) is not None}
    newer = {name for name, since in importable.NEWER_STANDARD_MODULES.items() if since > importable.GRADESCOPE_PYTHON}
    listed = {name for name in names if name in sys.stdlib_module_names and PathFinder.find_spec(name) is not None}
    assert listed - newer <= found and not found & newer
    others = found - listed
    assert all(name.startswith(importable.PLATFORM_MODULES) for name in others), others
    tests = {name for name in names if name.startswith(("_test", "_xxtest", "xxlimited", "_ctypes_test"))}
    assert tests and not tests & found, tests  # this Python has CPython's test modules, and none is found


def test_the_closure_reads_each_distribution_as_importlib_metadata_does() -> None:
    """Every installed distribution: its modules (top_level.txt, else its RECORD) and its requirements without
    extras, as read from the metadata files, are what importlib.metadata makes of them."""
    installed = importable._installed(sys.path)
    compared = 0
    for distribution in metadata.distributions():
        folder = installed.get(importable._normalized(distribution.metadata["Name"]))
        if folder is None or os.path.realpath(folder) != os.path.realpath(str(distribution._path)):  # type: ignore[attr-defined]
            continue  # a second copy further down the path, which import never reaches
        declared = distribution.read_text("top_level.txt")
        expected = {line.strip() for line in declared.splitlines() if line.strip()} if declared else _modules_from_files(distribution)
        assert importable._modules_of(folder) == expected, folder
        required = [r.partition(";")[0] for r in distribution.requires or () if "extra" not in r.partition(";")[2]]
        assert sorted(importable._requirements(folder)) == sorted(map(importable.requirement_name, required)), folder
        compared += 1
    assert compared > 30


def _modules_from_files(distribution: metadata.Distribution) -> set[str]:
    modules = set()
    for file in distribution.files or ():
        top = file.parts[0]
        if len(file.parts) > 1 and not top.endswith((".dist-info", ".data", ".egg-info")) and top not in ("..", "__pycache__"):
            modules.add(top)
        elif len(file.parts) == 1 and top.endswith((".py", ".so", ".pyd")):
            modules.add(top.partition(".")[0])
    return modules
