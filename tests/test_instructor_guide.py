"""docs/instructors.md, followed as an instructor would: every file it points to exists, and its steps for starting a
new course, done one by one in a copy of the repository with the fixture course tests/fixtures/lab1 as the new
course, give what the guide says they give.

The guide's commands are run as written, by this interpreter (``python`` in them), in the copy. Step 6 (the
tests) runs the guide's pytest command on the suites about what the guide's steps use (validate, grade,
build and check, for whatever course is at the root); tests/test_assignments.py's slow test runs the whole
fast suite with another course at the root.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO

GUIDE: Path = REPO / "docs" / "instructors.md"
NEW_COURSE = FIXTURES / "lab1"  # problems/, assignment.yaml, and its solution lab1.py beside them
# What each step of "Starting a new course" must say, in order: the test below does exactly these.
STEPS = [
    "copy the folder, leaving out .venv/ and dist/",
    "rm -rf problems solutions assignment.yaml",
    "solutions/",
    "python -m autograder validate",
    "python -m autograder grade solutions",
    "make test",
    "python -m autograder build",
]
# Step 6, the tests: the suites about validate, grade, build and check for the course at the root.
COPY_TESTS = ["tests/test_kit.py", "tests/test_student_tools.py", "tests/test_assignments.py"]
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "dist", "__pycache__", "*.egg-info", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"
)


def guide_text() -> str:
    return GUIDE.read_text(encoding="utf-8")


def new_course_steps(guide: str) -> list[str]:
    """The numbered steps of "Starting a new course", each as written (its indented command blocks included)."""
    section = guide.split("## Starting a new course", 1)[1].split("\n## ", 1)[0]
    return re.split(r"^\d+\. ", section, flags=re.M)[1:]


def commands_in(step: str) -> list[str]:
    """The step's command block: its lines indented as code, without their comments."""
    return [line.split("  #")[0].strip() for line in step.splitlines() if line.startswith("       ") and line.strip()]


def test_every_file_the_guide_points_to_exists() -> None:
    """A path into the engine, the tests or the docs, or any Markdown file, that the guide names is in the repository."""
    named = set(re.findall(r"(?<![\w/.])((?:[A-Za-z_][\w.-]*/)+[\w.*<>-]+\.(?:py|md|yaml|yml|json|txt|toml|sh))\b", guide_text()))
    pointers = {path for path in named if path.split("/")[0] in {"autograder", "tests", "docs", "benchmarks"} or path.endswith(".md")}
    assert pointers, "the guide names no file of the repository"
    assert sorted(path for path in pointers if not (REPO / path).exists()) == []


def test_the_guide_documents_every_key_of_the_course_configuration() -> None:
    from dataclasses import fields

    from autograder.apps.course import CONFIG_KEYS
    from autograder.sandbox.limits import Limits

    section = guide_text().split("## The course configuration: `assignment.yaml`", 1)[1].split("\n## ", 1)[0]
    keys = CONFIG_KEYS
    assert [key for key in keys if not re.search(rf"^\| `{key}` \|", section, flags=re.M)] == []
    for limit in fields(Limits):
        row = re.search(rf"^\| `{limit.name}` \| ([^|]+) \|", section, flags=re.M)
        assert row, f"limits: {limit.name} is not documented"
        default = getattr(Limits(), limit.name)
        assert float(row[1]) == float(default), f"limits: {limit.name} defaults to {default}, not {row[1]}"


def test_the_guide_describes_the_export_batch_reads() -> None:
    from autograder.apps.batch import export

    section = guide_text().split("## Grading a class: `batch` and Gradescope's export", 1)[1]
    assert f"`{export.METADATA_NAME}`" in section and "`submission_<id>/`" in section
    for key in (":submitters", ":name", ":sid", ":email", ":created_at", ":score"):
        assert f"`{key}`" in section, key


@pytest.fixture
def copy() -> Iterator[Path]:
    """Step 1: the repository copied as the guide says, into a folder the worker's user can read (tests run as root)."""
    base = Path(tempfile.mkdtemp(prefix="ag-new-course-"))
    try:
        base.chmod(0o755)
        shutil.copytree(REPO, base / "my-course", ignore=NOT_COPIED)
        yield base / "my-course"
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_a_new_course_started_as_the_guide_says(copy: Path) -> None:
    steps = new_course_steps(guide_text())
    assert len(steps) == len(STEPS), f"the guide's 'Starting a new course' has {len(steps)} steps; this test does {len(STEPS)}"
    for number, (step, needed) in enumerate(zip(steps, STEPS), 1):
        assert needed in " ".join(step.split()), f"step {number} of 'Starting a new course' should say {needed!r}: {step}"

    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "PYTEST_", "AUTOGRADER_"))}

    def run(command: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """A command of the guide, in the copy; its ``python`` is this interpreter."""
        argv = shlex.split(command)
        if argv[0] == "python":
            return subprocess.run(
                [sys.executable, *argv[1:]], cwd=copy, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
        return subprocess.run(["bash", "-c", command], cwd=copy, env=env, capture_output=True, text=True, timeout=timeout, check=False)

    engine = run("python -c 'import autograder; print(autograder.__file__)'").stdout.strip()
    assert Path(engine).parent == copy / "autograder", engine

    # 2. Problem Set 3 out, with the guide's own command.
    (removal,) = commands_in(steps[1])
    assert run(removal).returncode == 0
    assert not any((copy / name).exists() for name in ("problems", "solutions", "assignment.yaml"))

    # 3. The new course in: its problems, its configuration, its solution named as students name theirs.
    shutil.copytree(NEW_COURSE / "problems", copy / "problems", ignore=NOT_COPIED)
    shutil.copy(NEW_COURSE / "assignment.yaml", copy / "assignment.yaml")
    (copy / "solutions").mkdir()
    shutil.copy(NEW_COURSE / "lab1.py", copy / "solutions" / "lab1.py")
    total = 12  # tests/fixtures/lab1/assignment.yaml's total_points: 4 + 6 points of cases, and a Python check's 2

    # 4. validate.
    validated = run("python -m autograder validate")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "All specs are valid." in validated.stdout and f"Total: {total} points" in validated.stdout

    # 5. grade solutions: full marks.
    graded = run("python -m autograder grade solutions")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert "Graded lab1.py." in graded.stdout and f"Autograded score: {total} / {total}" in graded.stdout

    # 6. The tests: `make test` runs the guide's pytest command (the Makefile is the copy's own).
    pytest_command = re.search(r"runs `(python -m pytest [^`]+)`", " ".join(steps[5].split()))
    assert pytest_command, steps[5]
    makefile = (copy / "Makefile").read_text()
    assert re.search(r"^test:.*\n\t\$\(VENV\)/bin/" + re.escape(pytest_command[1]) + "$", makefile, flags=re.M), makefile
    tested = run(f"{pytest_command[1]} -q -p no:cacheprovider {' '.join(COPY_TESTS)}", timeout=900)
    assert tested.returncode == 0, tested.stdout[-6000:] + tested.stderr[-2000:]

    # 7. build: the zips, and a student kit written for the new course.
    built = run("python -m autograder build")
    assert built.returncode == 0, built.stdout + built.stderr
    with zipfile.ZipFile(copy / "dist" / "autograder.zip") as archive:
        assert {"problems/p1/spec.yaml", "problems/p2/test_running_sum.py", "assignment.yaml", "setup.sh"} <= set(archive.namelist())
    with zipfile.ZipFile(copy / "dist" / "student_kit.zip") as archive:
        readme = archive.read("student_kit/README.md").decode()
        starter = archive.read("student_kit/lab1.py").decode()
    assert readme.startswith("# Lab 1: warm-up: ") and "check lab1.py" in readme
    assert "def square(x: int) -> int:" in starter and "def running_sum(values: list) -> np.ndarray:" in starter
    for foreign in ("Problem Set 3", "ps3", "conv2d"):
        assert foreign not in readme + starter, foreign
